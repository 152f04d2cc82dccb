package audit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
)

// TestDomainsAndCutoverAudited: a person's domain changes and cutover are
// in the engagement's audit log; the MX watch's (no principal) are not.
func TestDomainsAndCutoverAudited(t *testing.T) {
	t.Parallel()
	f := setup(t)
	pat := auth.WithPrincipal(context.Background(), &auth.Principal{Name: "pat@partner.example", Kind: "session", Role: auth.Partner})
	d := store.EngagementDomain{EngagementID: f.eng.ID, Domain: "contoso.example", VerificationTXT: "MS=ms1"}
	must(t, f.s.AddEngagementDomain(pat, &d))
	none := func(context.Context, any) ([]int64, error) { return []int64{}, nil }
	c := store.MXCutover{EngagementID: f.eng.ID, Domain: "contoso.example", Trigger: "watch", MX: "0 contoso-example.mail.protection.outlook.com"}
	if ok, err := f.s.RecordMXCutover(context.Background(), &c, "ferry (MX watch)", nil, "full", none); !ok || err != nil {
		t.Fatalf("watch's cutover: %v %v", ok, err)
	}
	other := store.EngagementDomain{EngagementID: f.eng.ID, Domain: "fabrikam.example"}
	must(t, f.s.AddEngagementDomain(context.Background(), &other))
	c2 := store.MXCutover{EngagementID: f.eng.ID, Domain: "fabrikam.example", Trigger: "operator pat@partner.example", MX: "not checked"}
	if ok, err := f.s.RecordMXCutover(pat, &c2, "pat@partner.example", nil, "full", none); !ok || err != nil {
		t.Fatalf("pat's cutover: %v %v", ok, err)
	}
	must(t, f.s.RemoveEngagementDomain(pat, f.eng.ID, "fabrikam.example"))
	got, err := f.s.Audit(context.Background(), store.AuditFilter{EngagementID: f.eng.ID})
	must(t, err)
	var lines []string
	for _, e := range got {
		if e.Who != "pat@partner.example" || e.CustomerID != f.customer.ID {
			t.Errorf("entry %+v", e)
		}
		lines = append(lines, e.Action+" "+e.Object)
	}
	want := "domains.manage domain fabrikam.example|dns.cutover domain fabrikam.example|domains.manage domain contoso.example"
	if strings.Join(lines, "|") != want {
		t.Fatalf("audit = %q, want %q", strings.Join(lines, "|"), want)
	}
}
