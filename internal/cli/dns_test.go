package cli

import (
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testdns"
)

// TestDNSCommands: add a domain, check its records (with and without an
// engagement) against a local DNS server, watch it once, cut over by hand
// once, with the exit statuses scripts read.
func TestDNSCommands(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	f := e.fixture() // alice@contoso.com
	dns := testdns.Start(t)
	dns.Set(t, "contoso.com. 300 IN MX 10 mail.contoso.com.", `contoso.com. 3600 IN TXT "MS=ms12345678"`)
	var created idJSON
	e.okJSON(&created, "engagement", "create", "--customer", id(f.customer), "--name", "Onboarding", "--seats", "800",
		"--service", "exchange", "--workload", "imap")
	eng := id(created.ID)

	if _, errOut := e.usage("dns", "domain", "add", "contoso", "--engagement", eng); !strings.Contains(errOut, "write it like contoso.com") {
		t.Errorf("bad domain: %s", errOut)
	}
	if _, errOut := e.usage("dns", "domain", "add", "contoso.com", "--engagement", eng, "--verification", "ms=1"); !strings.Contains(errOut, "MS=ms12345678") {
		t.Errorf("bad verification value: %s", errOut)
	}
	if out := e.ok("dns", "domain", "add", "contoso.com", "--engagement", eng, "--verification", "MS=ms12345678", "--domain-resolver", dns.Addr); !strings.Contains(out, "domain contoso.com added") {
		t.Errorf("add: %s", out)
	}
	if out := e.ok("dns", "domain", "list", "--engagement", eng); !strings.Contains(out, "not checked yet") {
		t.Errorf("list before a check:\n%s", out)
	}

	// Records: TXT present, MX at the source, no autodiscover, no SPF: exit 1.
	code, out, errOut := e.ferry("dns", "check", "--engagement", eng)
	if code != ExitFailures || !strings.Contains(out, "verification TXT    present") || !strings.Contains(out, "autodiscover.contoso.com. 3600 IN CNAME autodiscover.outlook.com.") ||
		!strings.Contains(errOut, "add the records above") {
		t.Errorf("check --engagement: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = e.ferry("dns", "check", "contoso.com", "--resolver", dns.Addr, "--json")
	if code != ExitFailures || !strings.Contains(out, `"state": "elsewhere"`) {
		t.Errorf("check DOMAIN --json: exit %d\n%s", code, out)
	}
	e.usage("dns", "check")
	e.usage("dns", "check", "contoso.com", "--resolver", "not a resolver/")
	dns.Set(t, "contoso.com. 300 IN MX 0 contoso-com.mail.protection.outlook.com.", `contoso.com. 3600 IN TXT "MS=ms12345678"`,
		`contoso.com. 3600 IN TXT "v=spf1 include:spf.protection.outlook.com -all"`, "autodiscover.contoso.com. 3600 IN CNAME autodiscover.outlook.com.")
	if out := e.ok("dns", "check", "contoso.com", "--resolver", dns.Addr); strings.Contains(out, "missing") || strings.Contains(out, "elsewhere") {
		t.Errorf("check with every record:\n%s", out)
	}

	// One round of the watch: the MX points at Microsoft 365 (1 of 2 checks).
	if out := e.ok("dns", "watch", "--once"); !strings.Contains(out, "1 of 2 checks") || !strings.Contains(out, "contoso-com.mail.protection.outlook.com") {
		t.Errorf("watch --once:\n%s", out)
	}
	// By hand: the final Full pass for alice, once.
	if out := e.ok("dns", "cutover", "contoso.com", "--engagement", eng); !strings.Contains(out, "final Full pass queued for 1 mailbox ") {
		t.Errorf("cutover:\n%s", out)
	}
	if _, errOut := e.usage("dns", "cutover", "contoso.com", "--engagement", eng); !strings.Contains(errOut, "was recorded at") {
		t.Errorf("second cutover: %s", errOut)
	}
	if it := e.items(f.project); it.Items[0].Status != "Queued" {
		t.Errorf("alice after the cutover: %+v", it.Items[0])
	}
	if out := e.ok("dns", "domain", "list", "--engagement", eng); !strings.Contains(out, "final Full pass queued for 1 items") {
		t.Errorf("list after the cutover:\n%s", out)
	}
	e.ok("dns", "domain", "remove", "contoso.com", "--engagement", eng)
	if out := e.ok("dns", "domain", "list", "--engagement", eng); !strings.Contains(out, "no domain") {
		t.Errorf("list after remove:\n%s", out)
	}
}
