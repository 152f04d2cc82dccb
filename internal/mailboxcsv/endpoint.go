package mailboxcsv

import "github.com/ferryhq/ferry/internal/imapconn"

// Endpoint applies this side of a row to base, the endpoint given on the
// command line (--from for the source, --to for the destination; the zero
// Endpoint when none was given). Values in the row win; whatever the row
// leaves out comes from base:
//
//   - The login becomes Login, or Address when no login is given: the
//     address in the row replaces the user of the URL. When base logs in as
//     an administrator on behalf of users (base.ActAs set), the address
//     replaces ActAs instead and the administrator login stays, unless the
//     row gives a login.
//   - A password in the row replaces base's password (and any OAuth2 token).
//   - A host in the row replaces base's host. The scheme is the row's when
//     given as a URL; else a row port of 143 means imap:// (STARTTLS) and 993
//     means imaps:// (TLS); else base's scheme is kept. The port is the row's
//     when given; else the default of the row's scheme (imap 143, imaps 993)
//     when the row gives a URL; else base's port, or the scheme's default
//     when base has none.
//
// The result has an empty Host when neither the row nor base names a
// server; the caller should report that.
func (s Side) Endpoint(base imapconn.Endpoint) imapconn.Endpoint {
	ep := base
	if base.ActAs != "" {
		ep.ActAs = s.Address
		if s.Login != "" {
			ep.User = s.Login
		}
	} else {
		ep.User = s.Login
		if ep.User == "" {
			ep.User = s.Address
		}
	}
	if s.Password != "" {
		ep.Password = s.Password
		ep.OAuth2Token, ep.Tokens = "", nil
	}
	if s.Host != "" {
		ep.Host = s.Host
		switch {
		case s.Scheme == "imaps":
			ep.Security = imapconn.SecurityTLS
		case s.Scheme == "imap":
			ep.Security = imapconn.SecurityStartTLS
		case s.Port == 143:
			ep.Security = imapconn.SecurityStartTLS
		case s.Port == 993:
			ep.Security = imapconn.SecurityTLS
		}
		switch {
		case s.Port != 0:
			ep.Port = s.Port
		case s.Scheme != "" || ep.Port == 0:
			ep.Port = defaultPort(ep.Security)
		}
	}
	if ep.Host != "" && ep.Port == 0 {
		ep.Port = defaultPort(ep.Security)
	}
	return ep
}

func defaultPort(s imapconn.Security) int {
	if s == imapconn.SecurityStartTLS {
		return 143
	}
	return 993
}
