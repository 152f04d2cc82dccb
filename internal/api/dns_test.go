package api

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/testdns"
)

func init() {
	for name, v := range map[string]any{
		"EngagementDomain": EngagementDomain{}, "DomainInput": DomainInput{}, "MXCutover": MXCutover{},
		"DNSReport": DNSReport{}, "MXRecord": MXRecord{}, "DNSRecordCheck": DNSRecordCheck{},
	} {
		engagementSchemaTypes[name] = v
	}
	untypedSchemas = append(untypedSchemas, "DomainList", "DNSCheckList")
}

// TestDNSRoutes: add a domain, check its records against a local DNS
// server, cut over by hand once (409 the second time), and another
// customer's people see none of it.
func TestDNSRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	other := e.fixture("Fabrikam")
	var bob Item
	e.must("POST", fmt.Sprintf("/api/v1/projects/%d/items", f.project.ID), map[string]any{"source": "bob@contoso.com", "destination": "bob@contoso.com", "destination_password": itemPassword}, 201, &bob)
	var eng Engagement
	e.must("POST", fmt.Sprintf("/api/v1/customers/%d/engagements", f.customer.ID), map[string]any{"name": "Onboarding", "seats": 800,
		"services": []string{"exchange"}, "workloads": []string{"imap"}}, 201, &eng)
	dns := testdns.Start(t)
	dns.Set(t, "contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com.", `contoso.com. 3600 IN TXT "MS=ms12345678"`)
	base := fmt.Sprintf("/api/v1/engagements/%d", eng.ID)

	if code, b := e.call("POST", base+"/domains", map[string]any{"domain": "not a domain"}); code != 400 || !strings.Contains(string(b), "contoso.com") {
		t.Fatalf("bad domain: %d %s", code, b)
	}
	var d EngagementDomain
	e.must("POST", base+"/domains", DomainInput{Domain: "contoso.com", VerificationTXT: "MS=ms12345678", Resolver: dns.Addr}, 201, &d)
	if d.Domain != "contoso.com" || d.Resolver != dns.Addr || d.State == "" {
		t.Fatalf("domain = %+v", d)
	}
	if code, _ := e.call("POST", base+"/domains", DomainInput{Domain: "contoso.com"}); code != 409 {
		t.Fatalf("second contoso.com: %d", code)
	}
	var check struct{ Domains []DNSReport }
	e.must("GET", base+"/dns-check", nil, 200, &check)
	if len(check.Domains) != 1 || len(check.Domains[0].Records) != 4 || check.Domains[0].Ready {
		t.Fatalf("check = %+v", check)
	}
	states := map[string]string{}
	for _, c := range check.Domains[0].Records {
		states[c.Record] = c.State
	}
	if states["MX"] != "present" || states["verification TXT"] != "present" || states["SPF"] != "missing" || check.Domains[0].MX[0].Provider != "microsoft365" {
		t.Fatalf("records = %+v", check.Domains[0].Records)
	}

	// Another customer's viewer: 404; this customer's viewer may look, not cut over.
	for _, tc := range []struct {
		role     auth.Role
		customer int64
		method   string
		path     string
		want     int
	}{
		{auth.Viewer, other.customer.ID, "GET", base + "/domains", 404},
		{auth.Viewer, other.customer.ID, "GET", base + "/dns-check", 404},
		{auth.Viewer, f.customer.ID, "GET", base + "/domains", 200},
		{auth.Viewer, f.customer.ID, "POST", base + "/domains/contoso.com/cutover", 403},
		{auth.CustomerTechnicalLead, f.customer.ID, "POST", base + "/domains/contoso.com/cutover", 403},
	} {
		h := NewWithOptions(e.svc, e.st, Options{Authenticators: []Authenticator{roleAuthenticator{tc.role, tc.customer}}})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s as %s of customer %d: %d, want %d: %s", tc.method, tc.path, tc.role, tc.customer, rec.Code, tc.want, rec.Body)
		}
	}

	var c MXCutover
	e.must("POST", base+"/domains/contoso.com/cutover", nil, 200, &c)
	if c.Queued != 1 || c.Domain != "contoso.com" || !strings.HasPrefix(c.Trigger, "operator ") || !strings.Contains(c.MX, "Microsoft 365") {
		t.Fatalf("cutover = %+v", c)
	}
	if it, _ := e.st.Item(operator(), bob.ID); it.Status != "Queued" || it.LastPass != "full" {
		t.Fatalf("bob after the cutover: %+v", it)
	}
	if it, _ := e.st.Item(operator(), f.item.ID); it.Status == "Queued" {
		t.Fatalf("alice (contoso.onmicrosoft.com) was queued: %+v", it)
	}
	if code, b := e.call("POST", base+"/domains/contoso.com/cutover", nil); code != 409 || !strings.Contains(string(b), "recorded at") {
		t.Fatalf("second cutover: %d %s", code, b)
	}
	var list struct{ Domains []EngagementDomain }
	e.must("GET", base+"/domains", nil, 200, &list)
	if len(list.Domains) != 1 || list.Domains[0].Cutover == nil || list.Domains[0].Cutover.Queued != 1 {
		t.Fatalf("domains = %+v", list)
	}
	e.must("DELETE", base+"/domains/contoso.com", nil, 204, nil)
	if code, _ := e.call("DELETE", base+"/domains/contoso.com", nil); code != 404 {
		t.Fatalf("removing it twice: %d", code)
	}
}
