package dnscheck

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/miekg/dns"
)

// Record states.
const (
	Present   = "present"
	Missing   = "missing"
	Elsewhere = "elsewhere" // a record is there but points at something else
)

// Records checked.
const (
	RecordVerification = "verification TXT"
	RecordMX           = "MX"
	RecordAutodiscover = "autodiscover CNAME"
	RecordSPF          = "SPF"
)

// The values Microsoft 365 asks for.
const (
	AutodiscoverTarget = "autodiscover.outlook.com"
	SPFInclude         = "include:spf.protection.outlook.com"
)

// RecordCheck is one record of a domain: what DNS holds and what to add.
type RecordCheck struct {
	Record string   `json:"record"`
	Name   string   `json:"name"` // the owner name asked for
	State  string   `json:"state"`
	Found  []string `json:"found,omitempty"`
	// Add is the record to add or change, in zone file syntax, when State
	// is not Present; Hint says it in words.
	Add  string `json:"add,omitempty"`
	Hint string `json:"hint,omitempty"`
}

// Report is a domain's DNS as Microsoft 365 wants it.
type Report struct {
	Domain  string        `json:"domain"`
	Records []RecordCheck `json:"records"`
	MX      []MX          `json:"mx"`
	// Ready: every record present.
	Ready bool `json:"ready"`
}

// Expect is what the records of a domain should hold.
type Expect struct {
	// VerificationTXT is the value the admin center asks for (MS=ms12345678);
	// "" accepts any MS=ms... value.
	VerificationTXT string
}

var msValue = regexp.MustCompile(`^MS=ms[0-9]+$`)

// ValidVerification reports whether v looks like the admin center's value.
func ValidVerification(v string) bool { return msValue.MatchString(v) }

// MXTarget is the Microsoft 365 MX host of a domain: contoso.com's is
// contoso-com.mail.protection.outlook.com.
func MXTarget(domain string) string {
	return strings.ReplaceAll(strings.ToLower(domain), ".", "-") + ".mail.protection.outlook.com"
}

// Check reads the domain's verification TXT, MX, autodiscover CNAME and SPF.
func (r Resolver) Check(ctx context.Context, domain string, want Expect) (Report, error) {
	domain = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(domain), "."))
	rep := Report{Domain: domain}
	txt, err := r.Lookup(ctx, domain, dns.TypeTXT)
	if err != nil {
		return rep, err
	}
	var texts []string
	for _, rr := range txt.Records {
		if t, ok := rr.(*dns.TXT); ok {
			texts = append(texts, strings.Join(t.Txt, ""))
		}
	}
	rep.Records = append(rep.Records, verification(domain, texts, want))
	if rep.MX, err = r.LookupMX(ctx, domain); err != nil {
		return rep, err
	}
	rep.Records = append(rep.Records, mxCheck(domain, rep.MX))
	auto := "autodiscover." + domain
	ad, err := r.Lookup(ctx, auto, dns.TypeCNAME)
	if err != nil {
		return rep, err
	}
	rep.Records = append(rep.Records, autodiscover(auto, ad))
	rep.Records = append(rep.Records, spf(domain, texts))
	rep.Ready = true
	for _, c := range rep.Records {
		if c.State != Present {
			rep.Ready = false
		}
	}
	return rep, nil
}

func verification(domain string, texts []string, want Expect) RecordCheck {
	c := RecordCheck{Record: RecordVerification, Name: domain}
	var ms []string
	for _, t := range texts {
		if strings.HasPrefix(t, "MS=") {
			ms = append(ms, t)
		}
	}
	c.Found = ms
	value := want.VerificationTXT
	for _, t := range ms {
		if (value == "" && msValue.MatchString(t)) || t == value {
			c.State = Present
			return c
		}
	}
	if value == "" {
		value = "MS=ms########"
	}
	c.Add = fmt.Sprintf("%s. 3600 IN TXT %q", domain, value)
	if len(ms) > 0 {
		c.State = Elsewhere
		c.Hint = fmt.Sprintf("the TXT record holds %s, not the value the Microsoft 365 admin center asks for; add %s (Setup > Domains shows it)", strings.Join(ms, ", "), value)
		return c
	}
	c.State = Missing
	c.Hint = fmt.Sprintf("add a TXT record %s at %s (the value is in the Microsoft 365 admin center, Setup > Domains)", value, domain)
	return c
}

func mxCheck(domain string, mx []MX) RecordCheck {
	c := RecordCheck{Record: RecordMX, Name: domain}
	for _, m := range mx {
		c.Found = append(c.Found, fmt.Sprintf("%d %s", m.Preference, m.Host))
	}
	c.Add = fmt.Sprintf("%s. 3600 IN MX 0 %s.", domain, MXTarget(domain))
	switch {
	case len(mx) == 0:
		c.State = Missing
		c.Hint = "add the MX record; mail for the domain has nowhere to go"
	case AllAt(mx, Microsoft365):
		c.State, c.Add = Present, ""
	default:
		c.State = Elsewhere
		var others []string
		for _, m := range mx {
			if m.Provider != Microsoft365 {
				others = append(others, m.Host+" ("+m.Provider.Label()+")")
			}
		}
		c.Hint = "at the cutover, replace the MX records pointing at " + strings.Join(others, ", ") + " with " + MXTarget(domain)
	}
	return c
}

func autodiscover(name string, a Answer) RecordCheck {
	c := RecordCheck{Record: RecordAutodiscover, Name: name, Add: fmt.Sprintf("%s. 3600 IN CNAME %s.", name, AutodiscoverTarget)}
	for _, rr := range a.Records {
		if cn, ok := rr.(*dns.CNAME); ok {
			c.Found = append(c.Found, strings.ToLower(strings.TrimSuffix(cn.Target, ".")))
		}
	}
	switch {
	case len(c.Found) == 0:
		c.State = Missing
		c.Hint = "add a CNAME " + name + " to " + AutodiscoverTarget + " so that Outlook finds the mailbox"
	case c.Found[0] == AutodiscoverTarget:
		c.State, c.Add = Present, ""
	default:
		c.State = Elsewhere
		c.Hint = "the CNAME points at " + c.Found[0] + "; point it at " + AutodiscoverTarget
	}
	return c
}

func spf(domain string, texts []string) RecordCheck {
	c := RecordCheck{Record: RecordSPF, Name: domain}
	for _, t := range texts {
		if strings.HasPrefix(strings.ToLower(t), "v=spf1") {
			c.Found = append(c.Found, t)
		}
	}
	switch {
	case len(c.Found) == 0:
		c.State = Missing
		c.Add = fmt.Sprintf("%s. 3600 IN TXT \"v=spf1 %s -all\"", domain, SPFInclude)
		c.Hint = "add an SPF record that lets Microsoft 365 send for the domain"
	case len(c.Found) > 1:
		c.State = Elsewhere
		c.Hint = "the domain has " + fmt.Sprint(len(c.Found)) + " SPF records; receivers reject all of them: keep one, with " + SPFInclude
		c.Add = fmt.Sprintf("%s. 3600 IN TXT %q", domain, withInclude(c.Found[0]))
	case hasInclude(c.Found[0]):
		c.State = Present
	default:
		c.State = Elsewhere
		c.Add = fmt.Sprintf("%s. 3600 IN TXT %q", domain, withInclude(c.Found[0]))
		c.Hint = "the SPF record does not name Microsoft 365; add " + SPFInclude + " to it (one SPF record per domain)"
	}
	return c
}

func hasInclude(spf string) bool {
	for _, f := range strings.Fields(strings.ToLower(spf)) {
		if f == SPFInclude {
			return true
		}
	}
	return false
}

// withInclude puts the Microsoft 365 include into an SPF record, before its "all".
func withInclude(spf string) string {
	if hasInclude(spf) {
		return spf
	}
	f := strings.Fields(spf)
	out := []string{f[0], SPFInclude}
	out = append(out, f[1:]...)
	return strings.Join(out, " ")
}
