package mailboxcsv

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// cell is one value of a row, with where it came from.
type cell struct {
	present bool   // the column exists
	col     int    // 1-based field number
	field   string // column name for messages
	value   string
	line    int // line where the value starts
}

// sideSpec is the raw values of one side of a row and how to talk about them.
type sideSpec struct {
	addr, login, pass, host cell
	needAddr                string // message when the address is empty
	needHost                string // message when the host is empty; "" = optional
	loginHint               string // where a login belongs (for URLs with user@)
}

const badUTF8Msg = "not valid UTF-8; save the file with UTF-8 encoding (in Excel: Save As > CSV UTF-8)"

// usable checks what every value needs and reports the first problem.
// Values are never echoed: any of them may be a password.
func (p *parser) usable(c cell) bool {
	if !c.present {
		return false
	}
	if !utf8.ValidString(c.value) {
		p.add(c.line, c.col, c.field, badUTF8Msg)
		return false
	}
	if n := strings.Count(c.value, "\n"); n > 0 {
		p.add(c.line, c.col, c.field, fmt.Sprintf(
			"the value runs on to line %d, so a double quote is missing or extra here; a quoted value must be closed on the line where it starts",
			c.line+n))
		return false
	}
	return true
}

// side validates one side of a row; ok is false when a problem was reported.
func (p *parser) side(s sideSpec) (side Side, ok bool) {
	ok = true
	if s.addr.present {
		if !p.usable(s.addr) {
			ok = false
		} else if s.addr.value == "" {
			p.add(s.addr.line, s.addr.col, s.addr.field, s.needAddr)
			ok = false
		} else if msg := addressProblem(s.addr.value); msg != "" {
			p.add(s.addr.line, s.addr.col, s.addr.field, msg)
			ok = false
		} else {
			side.Address = s.addr.value
		}
	}
	if s.login.present {
		if !p.usable(s.login) {
			ok = false
		} else if strings.ContainsFunc(s.login.value, unicode.IsControl) {
			p.add(s.login.line, s.login.col, s.login.field, "contains a control character (such as a tab); remove it")
			ok = false
		} else {
			side.Login = s.login.value
		}
	}
	if s.pass.present {
		if !p.usable(s.pass) {
			ok = false
		} else {
			side.Password = s.pass.value
		}
	}
	if s.host.present {
		switch {
		case !p.usable(s.host):
			ok = false
		case s.host.value == "" && s.needHost != "":
			p.add(s.host.line, s.host.col, s.host.field, s.needHost)
			ok = false
		case s.host.value != "":
			h, port, scheme, msg := parseHost(s.host.value, s.loginHint)
			if msg != "" {
				p.add(s.host.line, s.host.col, s.host.field, msg)
				ok = false
			}
			side.Host, side.Port, side.Scheme = h, port, scheme
		}
	}
	return side, ok
}

// addressProblem checks a mailbox address loosely. Logins without '@'
// ("alice") are fine: IMAP logins need not be email addresses.
func addressProblem(v string) string {
	if strings.ContainsFunc(v, unicode.IsControl) {
		return "contains a control character (such as a tab); remove it"
	}
	if strings.ContainsFunc(v, unicode.IsSpace) {
		return "contains a space; an address or login such as alice@example.com has none"
	}
	switch local, domain, _ := strings.Cut(v, "@"); {
	case !strings.Contains(v, "@"):
		return ""
	case strings.Count(v, "@") > 1:
		return "contains more than one '@'; write a single address such as alice@example.com"
	case local == "":
		return "nothing before the '@'; write a full address such as alice@example.com"
	case domain == "":
		return "nothing after the '@'; write a full address such as alice@example.com"
	}
	return ""
}

const hostForms = "write host, host:port, imap://host:143 (STARTTLS) or imaps://host:993 (TLS)"

// parseHost reads host, host:port, [v6]:port, imap://host[:port] or
// imaps://host[:port]. msg is empty when the value is fine. Messages quote
// no part of the value.
func parseHost(v, loginHint string) (host string, port int, scheme, msg string) {
	rest := v
	if before, after, ok := strings.Cut(v, "://"); ok {
		scheme = strings.ToLower(before)
		if scheme != "imap" && scheme != "imaps" {
			return "", 0, "", "unknown URL scheme; " + hostForms
		}
		rest = strings.TrimSuffix(after, "/")
		if strings.ContainsAny(rest, "/?#") {
			return "", 0, "", "a server URL has no path or query; " + hostForms
		}
		if strings.Contains(rest, "@") {
			return "", 0, "", "the host column names only the server, not who logs in; " + loginHint
		}
	}
	if rest == "" {
		return "", 0, "", "no host name; " + hostForms
	}
	host = rest
	if h, p, err := net.SplitHostPort(rest); err == nil {
		host = h
		if p == "" {
			return "", 0, "", "no port after ':'; " + hostForms
		}
		if strings.Trim(p, "0123456789") != "" {
			return "", 0, "", "the port is not a number; use a port from 1 to 65535 (" + hostForms + ")"
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, "", "the port is out of range; use a port from 1 to 65535"
		}
		port = n
	} else if strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") {
		host = rest[1 : len(rest)-1] // [2001:db8::1] without a port
		if _, err := netip.ParseAddr(host); err != nil {
			return "", 0, "", "not a valid IPv6 address between [ ]; " + hostForms
		}
	}
	if host == "" {
		return "", 0, "", "no host name before the port; " + hostForms
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host, port, scheme, ""
	}
	for _, r := range host {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '.' || r == '_' {
			continue
		}
		switch {
		case r == '@':
			return "", 0, "", "contains '@', but a host is a server name such as imap.example.com; " + loginHint
		case r == ':':
			return "", 0, "", "not a valid host (too many ':'); " + hostForms + ", with an IPv6 address in brackets: [2001:db8::1]:993"
		case unicode.IsSpace(r):
			return "", 0, "", "contains a space; " + hostForms
		case r < utf8.RuneSelf && unicode.IsPrint(r):
			return "", 0, "", fmt.Sprintf("contains %q, which a host name cannot; %s", r, hostForms)
		default:
			return "", 0, "", "contains a character a host name cannot; " + hostForms
		}
	}
	return host, port, scheme, ""
}

// mailboxKey identifies a mailbox for duplicate detection: the same address
// on different servers is a different mailbox.
type mailboxKey struct {
	host string
	port int
	addr string
}

func keyOf(s Side) mailboxKey {
	return mailboxKey{strings.ToLower(s.Host), s.Port, strings.ToLower(s.Address)}
}

func describe(s Side) string {
	d := strconv.Quote(s.Address)
	if s.Host != "" {
		d += " on " + s.Host
		if s.Port != 0 {
			d += ":" + strconv.Itoa(s.Port)
		}
	}
	return d
}

// finishRow checks for duplicates and keeps the row when everything is fine.
// A side is compared only when all its values are valid (srcOK, dstOK);
// srcAt and dstAt locate the address columns for messages.
func (p *parser) finishRow(line int, src Side, srcOK bool, dst Side, dstOK, rowOK bool, srcAt, dstAt cell) {
	if p.sources == nil {
		p.sources, p.destinations = map[mailboxKey]int{}, map[mailboxKey]int{}
	}
	ok := srcOK && dstOK && rowOK
	if srcOK {
		k := keyOf(src)
		if prev, dup := p.sources[k]; dup {
			p.add(line, srcAt.col, srcAt.field, fmt.Sprintf(
				"source %s is already listed on line %d; list each source mailbox once (remove one of the two lines)",
				describe(src), prev))
			ok = false
		} else {
			p.sources[k] = line
		}
	}
	if dstOK {
		k := keyOf(dst)
		if prev, dup := p.destinations[k]; dup {
			p.add(line, dstAt.col, dstAt.field, fmt.Sprintf(
				"destination %s is already the destination on line %d; two sources into one destination mailbox is almost always a mistake, so give each row its own destination",
				describe(dst), prev))
			ok = false
		} else {
			p.destinations[k] = line
		}
	}
	if ok {
		p.rows = append(p.rows, Row{Line: line, Source: src, Destination: dst})
	}
}
