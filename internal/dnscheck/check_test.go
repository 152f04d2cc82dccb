package dnscheck_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/dnscheck"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/testdns"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]dnscheck.Provider{
		"contoso-com.mail.protection.outlook.com.": dnscheck.Microsoft365,
		"CONTOSO-COM.MAIL.PROTECTION.OUTLOOK.COM":  dnscheck.Microsoft365,
		"contoso-com.l-v1.mx.microsoft":            dnscheck.Microsoft365,
		"smtp.google.com":                          dnscheck.Google,
		"aspmx.l.google.com.":                      dnscheck.Google,
		"alt1.aspmx.l.googlemail.com":              dnscheck.Google,
		"mail.contoso.com":                         dnscheck.Source,
		"outlook.com.evil.example":                 dnscheck.Source,
		"mail.protection.outlook.com.contoso.com":  dnscheck.Source,
		"notgoogle.com":                            dnscheck.Source,
	} {
		if got := dnscheck.Classify(host); got != want {
			t.Errorf("Classify(%q) = %s, want %s", host, got, want)
		}
	}
}

// TestCheckRecords: each record present, missing or pointing elsewhere,
// with the record to add, as a local DNS server answers.
func TestCheckRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		records []string
		want    map[string]string // record -> state
		add     map[string]string // record -> part of the record to add
	}{
		{"nothing yet", nil,
			map[string]string{dnscheck.RecordVerification: dnscheck.Missing, dnscheck.RecordMX: dnscheck.Missing, dnscheck.RecordAutodiscover: dnscheck.Missing, dnscheck.RecordSPF: dnscheck.Missing},
			map[string]string{
				dnscheck.RecordVerification: `contoso.com. 3600 IN TXT "MS=ms12345678"`,
				dnscheck.RecordMX:           "contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com.",
				dnscheck.RecordAutodiscover: "autodiscover.contoso.com. 3600 IN CNAME autodiscover.outlook.com.",
				dnscheck.RecordSPF:          `"v=spf1 include:spf.protection.outlook.com -all"`,
			}},
		{"before the cutover", []string{
			`contoso.com. 3600 IN TXT "MS=ms12345678"`,
			`contoso.com. 3600 IN TXT "v=spf1 mx ip4:192.0.2.1 -all"`,
			"contoso.com. 300 IN MX 10 mail.contoso.com.",
			"autodiscover.contoso.com. 3600 IN CNAME mail.contoso.com.",
		},
			map[string]string{dnscheck.RecordVerification: dnscheck.Present, dnscheck.RecordMX: dnscheck.Elsewhere, dnscheck.RecordAutodiscover: dnscheck.Elsewhere, dnscheck.RecordSPF: dnscheck.Elsewhere},
			map[string]string{dnscheck.RecordSPF: `"v=spf1 include:spf.protection.outlook.com mx ip4:192.0.2.1 -all"`}},
		{"wrong verification value", []string{`contoso.com. 3600 IN TXT "MS=ms99999999"`},
			map[string]string{dnscheck.RecordVerification: dnscheck.Elsewhere}, nil},
		{"two SPF records", []string{`contoso.com. 3600 IN TXT "v=spf1 include:spf.protection.outlook.com -all"`, `contoso.com. 3600 IN TXT "v=spf1 mx -all"`},
			map[string]string{dnscheck.RecordSPF: dnscheck.Elsewhere}, nil},
		{"after the cutover", []string{
			`contoso.com. 3600 IN TXT "MS=ms12345678"`,
			`contoso.com. 3600 IN TXT "v=spf1 include:spf.protection.outlook.com -all"`,
			"contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com.",
			"autodiscover.contoso.com. 3600 IN CNAME autodiscover.outlook.com.",
		},
			map[string]string{dnscheck.RecordVerification: dnscheck.Present, dnscheck.RecordMX: dnscheck.Present, dnscheck.RecordAutodiscover: dnscheck.Present, dnscheck.RecordSPF: dnscheck.Present}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dns := testdns.Start(t)
			dns.Set(t, tc.records...)
			rep, err := dnscheck.Resolver{Addr: dns.Addr}.Check(context.Background(), "contoso.com", dnscheck.Expect{VerificationTXT: "MS=ms12345678"})
			if err != nil {
				t.Fatal(err)
			}
			ready := true
			for _, c := range rep.Records {
				if c.State != dnscheck.Present {
					ready = false
					if c.Add == "" || c.Hint == "" {
						t.Errorf("%s %s without the record to add or a hint: %+v", c.Record, c.State, c)
					}
				}
				if want, ok := tc.want[c.Record]; ok && c.State != want {
					t.Errorf("%s: %s (%v), want %s", c.Record, c.State, c.Found, want)
				}
				if add, ok := tc.add[c.Record]; ok && !strings.Contains(c.Add, add) {
					t.Errorf("%s: add %q, want it to hold %q", c.Record, c.Add, add)
				}
			}
			if rep.Ready != ready || len(rep.Records) != 4 {
				t.Fatalf("report = %+v", rep)
			}
		})
	}
}

// TestResolverErrors: a server that does not answer is an error saying which.
func TestResolverErrors(t *testing.T) {
	t.Parallel()
	_, err := dnscheck.Resolver{Addr: "127.0.0.1:1", Timeout: 200e6}.LookupMX(context.Background(), "contoso.com")
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("err = %v", err)
	}
	if _, err := dnscheck.CheckResolver("not a resolver/"); err == nil {
		t.Fatal("a bad resolver address was taken")
	}
	if got, _ := dnscheck.CheckResolver("192.0.2.53"); got != "192.0.2.53:53" {
		t.Fatalf("CheckResolver = %q", got)
	}
}

// TestPostMigrationCheck: once the final passes ended, the watch checks
// every record (FTOP 1370); task 1370 is Complete when all are present.
func TestPostMigrationCheck(t *testing.T) {
	t.Parallel()
	s, dns, clk, fx := single(t)
	dns.Set(t, m365MX)
	if _, err := s.Cutover(operator, fx.engagement.ID, "contoso.com"); err != nil {
		t.Fatal(err)
	}
	watch(t, s) // passes still queued: no check
	if cs := cutovers(t, s); !cs[0].PostChecked.IsZero() {
		t.Fatalf("post-migration check while the final passes are queued: %+v", cs[0])
	}
	for _, id := range fx.inDomain {
		if err := s.Store.SetItemStatus(operator, id, store.StatusCompleted, "full", 0); err != nil {
			t.Fatal(err)
		}
	}
	clk.add(5 * 60e9)
	watch(t, s)
	cs := cutovers(t, s)
	if cs[0].PostChecked.IsZero() || cs[0].PostReady {
		t.Fatalf("post check with records missing: %+v", cs[0])
	}
	if tk := task(t, s.Store, fx.engagement.ID, store.CutoverTaskID); tk.Status != engagements.InProgress {
		t.Fatalf("1370 = %s", tk.Status)
	}
	dns.Set(t, `contoso.com. 3600 IN TXT "MS=ms12345678"`, `contoso.com. 3600 IN TXT "v=spf1 include:spf.protection.outlook.com -all"`,
		"autodiscover.contoso.com. 3600 IN CNAME autodiscover.outlook.com.")
	watch(t, s)
	cs = cutovers(t, s)
	rep, ok := dnscheck.PostReport(cs[0])
	if !cs[0].PostReady || !ok || !rep.Ready {
		t.Fatalf("post check with every record: %+v", cs[0])
	}
	if tk := task(t, s.Store, fx.engagement.ID, store.CutoverTaskID); tk.Status != engagements.Complete || tk.Percent != 100 {
		t.Fatalf("1370 = %s %d%%", tk.Status, tk.Percent)
	}
}

// TestAddDomainValidates: clear errors for what to fix.
func TestAddDomainValidates(t *testing.T) {
	t.Parallel()
	s, _, _, fx := single(t)
	for _, in := range []dnscheck.DomainInput{
		{Domain: "contoso"}, {Domain: "con toso.com"}, {Domain: "fabrikam.com", VerificationTXT: "ms=123"}, {Domain: "fabrikam.com", Resolver: "a b"},
		{Domain: "contoso.com"}, // already there
	} {
		if _, err := s.AddDomain(operator, fx.engagement.ID, in); err == nil {
			t.Errorf("AddDomain(%+v) took it", in)
		}
	}
	if _, err := s.AddDomain(operator, fx.engagement.ID, dnscheck.DomainInput{Domain: "fabrikam.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddDomain(operator, 999, dnscheck.DomainInput{Domain: "fabrikam.com"}); err == nil {
		t.Fatal("domain added to an engagement that does not exist")
	}
}
