// Package dnscheck reads a mail domain's DNS the way a cutover needs it:
// the records Microsoft 365 asks for (the verification TXT, MX, the
// autodiscover CNAME, SPF), each present, missing or pointing elsewhere
// with the record to add, and where the MX records send mail now
// (Microsoft 365, Google or the source system), with their TTLs. It asks a
// resolver of the user's choice directly (github.com/miekg/dns), not the
// system's, so the server, the TTLs and the record types are under control.
// Watcher turns the MX answers into the cutover: the final Full (delta)
// pass, queued once.
package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/ferryhq/ferry/internal/fault"
)

// ResolvConf is the file DefaultResolver reads.
var ResolvConf = "/etc/resolv.conf"

// DefaultResolver is the first name server of /etc/resolv.conf, as host:port.
func DefaultResolver() (string, error) {
	cfg, err := dns.ClientConfigFromFile(ResolvConf)
	if err != nil {
		return "", fmt.Errorf("read the system's resolver from %s: %w; give one with --resolver HOST:PORT", ResolvConf, err)
	}
	if len(cfg.Servers) == 0 {
		return "", fmt.Errorf("%s names no name server; give one with --resolver HOST:PORT", ResolvConf)
	}
	return net.JoinHostPort(cfg.Servers[0], cfg.Port), nil
}

// CheckResolver validates a resolver address: host:port, or a host (port 53).
func CheckResolver(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = strings.Trim(addr, "[]"), "53"
	}
	if host == "" || strings.ContainsAny(host, " /") {
		return "", fault.InvalidField("resolver", "%q is not a resolver address; write it as HOST:PORT, e.g. 1.1.1.1:53", addr)
	}
	return net.JoinHostPort(host, port), nil
}

// Resolver asks one name server.
type Resolver struct {
	// Addr is host:port; "" is DefaultResolver.
	Addr string
	// Timeout per query; 0 is 5 s.
	Timeout time.Duration
}

// Answer is the records of one name and type, with the smallest TTL.
type Answer struct {
	Records []dns.RR
	// NXDomain: the name does not exist.
	NXDomain bool
}

// Lookup asks for name's records of type qtype (UDP, then TCP when the
// answer was truncated). A name without records is an empty answer, not an
// error; a server failure or no answer is an error.
func (r Resolver) Lookup(ctx context.Context, name string, qtype uint16) (Answer, error) {
	addr := r.Addr
	if addr == "" {
		var err error
		if addr, err = DefaultResolver(); err != nil {
			return Answer{}, err
		}
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(4096, false)
	c := &dns.Client{Net: "udp", Timeout: timeout}
	in, _, err := c.ExchangeContext(ctx, m, addr)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, addr)
	}
	if err != nil {
		return Answer{}, fmt.Errorf("ask %s for %s %s: %w", addr, dns.TypeToString[qtype], name, err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return Answer{NXDomain: true}, nil
	default:
		return Answer{}, fmt.Errorf("ask %s for %s %s: the server answered %s", addr, dns.TypeToString[qtype], name, dns.RcodeToString[in.Rcode])
	}
	var out Answer
	for _, rr := range in.Answer {
		if rr.Header().Rrtype == qtype || rr.Header().Rrtype == dns.TypeCNAME {
			out.Records = append(out.Records, rr)
		}
	}
	return out, nil
}

// Provider is where an MX record sends mail.
type Provider string

// The providers an MX target is classified as.
const (
	Microsoft365 Provider = "microsoft365"
	Google       Provider = "google"
	Source       Provider = "source"
)

// Label is how people name a provider.
func (p Provider) Label() string {
	switch p {
	case Microsoft365:
		return "Microsoft 365"
	case Google:
		return "Google"
	case Source:
		return "the source system"
	}
	return string(p)
}

// Classify says where an MX target host sends mail:
// *.mail.protection.outlook.com and *.mx.microsoft are Microsoft 365,
// *.google.com and *.googlemail.com are Google, anything else the source.
func Classify(host string) Provider {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, s := range []string{".mail.protection.outlook.com", ".mx.microsoft"} {
		if strings.HasSuffix(h, s) {
			return Microsoft365
		}
	}
	for _, s := range []string{".google.com", ".googlemail.com"} {
		if strings.HasSuffix(h, s) || h == strings.TrimPrefix(s, ".") {
			return Google
		}
	}
	return Source
}

// MX is one MX record.
type MX struct {
	Host       string   `json:"host"`
	Preference uint16   `json:"preference"`
	TTL        uint32   `json:"ttl"`
	Provider   Provider `json:"provider"`
}

// LookupMX returns a domain's MX records, by preference, classified.
func (r Resolver) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	a, err := r.Lookup(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	var out []MX
	for _, rr := range a.Records {
		if mx, ok := rr.(*dns.MX); ok {
			out = append(out, MX{Host: strings.ToLower(strings.TrimSuffix(mx.Mx, ".")), Preference: mx.Preference, TTL: mx.Hdr.Ttl, Provider: Classify(mx.Mx)})
		}
	}
	slices.SortFunc(out, func(a, b MX) int {
		if a.Preference != b.Preference {
			return int(a.Preference) - int(b.Preference)
		}
		return strings.Compare(a.Host, b.Host)
	})
	return out, nil
}

// AllAt reports whether there is an MX record and every one sends mail to p.
func AllAt(mx []MX, p Provider) bool {
	if len(mx) == 0 {
		return false
	}
	for _, m := range mx {
		if m.Provider != p {
			return false
		}
	}
	return true
}

// MaxTTL is the largest TTL of the records, as a duration.
func MaxTTL(mx []MX) time.Duration {
	var ttl uint32
	for _, m := range mx {
		ttl = max(ttl, m.TTL)
	}
	return time.Duration(ttl) * time.Second
}

// FormatMX writes MX records as "0 host (Microsoft 365, TTL 300)", joined.
func FormatMX(mx []MX) string {
	if len(mx) == 0 {
		return "no MX record"
	}
	parts := make([]string, len(mx))
	for i, m := range mx {
		parts[i] = fmt.Sprintf("%d %s (%s, TTL %d)", m.Preference, m.Host, m.Provider.Label(), m.TTL)
	}
	return strings.Join(parts, "; ")
}

// ErrNoDomain: the domain does not exist in DNS.
var ErrNoDomain = errors.New("the domain does not exist in DNS (NXDOMAIN)")
