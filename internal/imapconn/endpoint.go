// Package imapconn connects to IMAP servers the way a migration needs:
// TLS rules, administrator (act-as) logins, dead-connection detection and a
// single classification of errors into temporary and permanent.
package imapconn

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Security says how the connection is protected.
type Security int

const (
	// SecurityTLS is implicit TLS (imaps://, port 993).
	SecurityTLS Security = iota
	// SecurityStartTLS upgrades a plain connection when the server offers STARTTLS (imap://).
	SecurityStartTLS
)

func (s Security) String() string {
	if s == SecurityTLS {
		return "imaps"
	}
	return "imap"
}

// Endpoint is one side of a mailbox migration: where to connect and who to log in as.
type Endpoint struct {
	Host     string
	Port     int
	Security Security

	// User is the login name (SASL authentication identity).
	User string
	// ActAs, when set, is the mailbox the login acts for (SASL PLAIN
	// authorization identity): an administrator or Dovecot master user logs
	// in as User on behalf of ActAs.
	ActAs string
	// Password is never printed; String() and errors leave it out.
	Password string
	// OAuth2Token, when set, logs in with XOAUTH2 instead of a password.
	OAuth2Token string
	// Tokens, when set, gives the OAuth2 tokens (renewed as they expire)
	// instead of OAuth2Token.
	Tokens TokenSource
	// OAuth2Mechanism is the SASL mechanism an OAuth2 login uses; empty
	// chooses from the server's capabilities (XOAUTH2 unless it offers
	// only OAUTHBEARER).
	OAuth2Mechanism OAuth2Mechanism

	// AllowPlaintext permits sending credentials over a connection that is
	// not encrypted (a server without STARTTLS).
	AllowPlaintext bool
	// TLSConfig overrides the TLS settings (tests pass their own CA here).
	TLSConfig *tls.Config
}

// Mailbox is the mailbox this endpoint reaches: ActAs when set, else User.
func (e Endpoint) Mailbox() string {
	if e.ActAs != "" {
		return e.ActAs
	}
	return e.User
}

// Addr is host:port.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// String names the endpoint for people, without any secret.
func (e Endpoint) String() string {
	who := e.User
	if e.ActAs != "" {
		who = e.ActAs + " (as " + e.User + ")"
	}
	return fmt.Sprintf("%s://%s@%s", e.Security, who, e.Addr())
}

// ParseURL reads imap://user@host[:port] or imaps://user@host[:port].
// The user part may be percent-encoded; an unencoded '@' inside it is
// accepted (the last '@' separates the host). A password in the URL is
// refused so that it never lands in shell history or process lists.
func ParseURL(raw string) (Endpoint, error) {
	var ep Endpoint
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ep, fmt.Errorf("%q is not an IMAP URL: write imap://user@host:143 or imaps://user@host:993", raw)
	}
	switch strings.ToLower(scheme) {
	case "imaps":
		ep.Security, ep.Port = SecurityTLS, 993
	case "imap":
		ep.Security, ep.Port = SecurityStartTLS, 143
	default:
		return ep, fmt.Errorf("unknown scheme %q in %q: use imap:// (STARTTLS) or imaps:// (implicit TLS)", scheme, raw)
	}
	rest = strings.TrimSuffix(rest, "/")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return ep, fmt.Errorf("%q: an IMAP URL has no path or query here; write imap://user@host:port", raw)
	}
	at := strings.LastIndex(rest, "@")
	hostport := rest
	if at >= 0 {
		userinfo := rest[:at]
		hostport = rest[at+1:]
		if strings.Contains(userinfo, ":") {
			return ep, fmt.Errorf("%q contains a password: pass it with --from-password-file/--to-password-file or FERRY_FROM_PASSWORD/FERRY_TO_PASSWORD instead", redact(raw))
		}
		u, err := url.PathUnescape(userinfo)
		if err != nil {
			return ep, fmt.Errorf("bad user name in %q: %v", raw, err)
		}
		ep.User = u
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	} else {
		p, perr := strconv.Atoi(port)
		if perr != nil || p < 1 || p > 65535 {
			return ep, fmt.Errorf("bad port %q in %q: use a number from 1 to 65535", port, raw)
		}
		ep.Port = p
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return ep, fmt.Errorf("%q has no host: write %s://user@host", raw, scheme)
	}
	ep.Host = host
	return ep, nil
}

func redact(raw string) string {
	scheme, rest, _ := strings.Cut(raw, "://")
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return raw
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return scheme + "://" + user + ":***@" + rest[at+1:]
}
