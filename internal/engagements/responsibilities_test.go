package engagements_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/audit"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// TestCustomerTicksOffItsResponsibilities: the customer's responsibilities
// of each phase (seed 001) show on the engagement for its scope, are ticked
// off by the customer's people only, and every tick is audited.
func TestCustomerTicksOffItsResponsibilities(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.svc.Store = audit.Wrap(b.st)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}})
	_, carl := b.person(t, "carl@northwind.com", auth.CustomerProjectManager)
	pat, patCtx := b.person(t, "pat@partner.com", auth.Partner)
	_, vic := b.person(t, "vic@northwind.com", auth.Viewer)
	list, err := b.svc.Responsibilities(operator, e.ID)
	if err != nil || len(list) < 20 {
		t.Fatalf("responsibilities %d %v", len(list), err)
	}
	phases := map[string]int{}
	for _, r := range list {
		phases[r.Phase]++
		if r.Service == "skype" {
			t.Errorf("a Skype responsibility without Skype in scope: %s", r.Text)
		}
	}
	if phases["Initiate"] != 4 || phases["Remediate"] != 2 {
		t.Fatalf("by phase %v", phases)
	}
	kickoff := list[slicesIndex(list, "Initiate", "kickoff")]

	if _, err := b.svc.TickResponsibility(patCtx, e.ID, kickoff.Key, true); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("the partner ticked the customer's responsibility: %v", err)
	}
	if _, err := b.svc.TickResponsibility(vic, e.ID, kickoff.Key, true); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("a viewer ticked: %v", err)
	}
	if _, err := b.svc.TickResponsibility(carl, e.ID, "initiate-nothing", true); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("an unknown key: %v", err)
	}
	r, err := b.svc.TickResponsibility(carl, e.ID, kickoff.Key, true)
	if err != nil || !r.Done || r.Who != "carl@northwind.com" {
		t.Fatalf("tick %+v %v", r, err)
	}
	// A partner holding the customer's project manager role on the engagement is one of the customer's people there.
	if err := b.svc.Assign(operator, e.ID, "customer-pm", pat.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.TickResponsibility(patCtx, e.ID, kickoff.Key, false); err != nil {
		t.Fatal(err)
	}
	list, _ = b.svc.Responsibilities(operator, e.ID)
	if got := list[slicesIndex(list, "Initiate", "kickoff")]; got.Done || got.Who != pat.Email {
		t.Fatalf("after unticking: %+v", got)
	}
	entries, err := b.st.Audit(operator, store.AuditFilter{EngagementID: e.ID})
	if err != nil {
		t.Fatal(err)
	}
	var ticks int
	for _, en := range entries {
		if en.Action == string(auth.ActionTickResponsibility) {
			ticks++
		}
	}
	if ticks != 2 {
		t.Fatalf("%d ticks audited, want 2: %+v", ticks, entries)
	}
}

func slicesIndex(list []engagements.Responsibility, phase, word string) int {
	for i, r := range list {
		if r.Phase == phase && strings.Contains(strings.ToLower(r.Text), word) {
			return i
		}
	}
	panic("no responsibility " + word)
}
