package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testdns"
)

// TestDomainsSection: the engagement page's domains section adds a domain,
// shows its MX and cutover state, checks its records against a local DNS
// server, and cuts over by hand; a viewer sees no controls, another
// tenant's partner gets 404.
func TestDomainsSection(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	dns := testdns.Start(t)
	dns.Set(t, "contoso.example. 3600 IN MX 0 contoso-example.mail.protection.outlook.com.", `contoso.example. 3600 IN TXT "MS=ms12345678"`,
		"autodiscover.contoso.example. 3600 IN CNAME mail.contoso.example.")
	page := "/engagements/" + itoa(f.eng.ID)

	if res := f.partner.post(page+"/domains", url.Values{"domain": {"contoso"}}); res.status != http.StatusBadRequest ||
		!strings.Contains(res.body, "write it like contoso.com") {
		t.Fatalf("bad domain: %d", res.status)
	}
	if res := f.partner.post(page+"/domains", url.Values{"domain": {"contoso.example"}, "verification_txt": {"MS=ms12345678"}, "resolver": {dns.Addr}}); res.status != http.StatusSeeOther {
		t.Fatalf("add domain: %d %s", res.status, res.body)
	}
	res := f.partner.get(page)
	for _, want := range []string{`<h2 id="domains">Domains and MX cutover</h2>`, "contoso.example", "not checked yet", "Cut over now",
		`href="` + page + `/dns"`, `action="` + page + `/domains"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the engagement page lacks %q", want)
		}
	}
	res = f.partner.get(page + "/dns")
	if res.status != http.StatusOK {
		t.Fatalf("DNS page: %d %s", res.status, res.body)
	}
	for _, want := range []string{"DNS records of Contoso onboarding", `data-record="verification TXT"`, "present", "elsewhere",
		"autodiscover.contoso.example. 3600 IN CNAME autodiscover.outlook.com.", "include:spf.protection.outlook.com", "Microsoft 365, TTL 3600 s"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the DNS page lacks %q", want)
		}
	}
	if res := f.viewer.get(page); strings.Contains(res.body, "Cut over now") || strings.Contains(res.body, `action="`+page+`/domains"`) || !strings.Contains(res.body, "contoso.example") {
		t.Error("a viewer sees the domain controls, or not the domain")
	}
	if res := f.viewer.post(page+"/domains/contoso.example/cutover", nil); res.status != http.StatusForbidden {
		t.Errorf("viewer's cutover: %d", res.status)
	}
	for _, p := range []string{page + "/dns"} {
		if res := f.outsider.get(p); res.status != http.StatusNotFound {
			t.Errorf("another tenant's partner GET %s: %d", p, res.status)
		}
	}
	if res := f.outsider.post(page+"/domains/contoso.example/cutover", nil); res.status != http.StatusNotFound {
		t.Errorf("another tenant's partner cutover: %d", res.status)
	}
	if res := f.partner.post(page+"/domains/contoso.example/cutover", nil); res.status != http.StatusSeeOther {
		t.Fatalf("cutover: %d %s", res.status, res.body)
	}
	res = f.partner.get(page)
	if !strings.Contains(res.body, "Cut over</span>") || strings.Contains(res.body, "Cut over now") || !strings.Contains(res.body, "MX cutover: contoso.example") {
		t.Error("the page does not show the cutover (section and scheduled events)")
	}
	if res := f.partner.post(page+"/domains/contoso.example/cutover", nil); res.status != http.StatusBadRequest || !strings.Contains(res.body, "was recorded at") {
		t.Errorf("second cutover: %d", res.status)
	}
}
