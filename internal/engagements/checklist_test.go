package engagements_test

import (
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// TestChecklistItemsHaveOwnersDueDatesAndSources: an item names where it
// came from, is owned by an account that may work the customer's
// checklist, and can have a due date.
func TestChecklistItemsHaveOwnersDueDatesAndSources(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	if err := b.st.CreateUser(operator, &store.User{Email: "eng@partner.com", Name: "Eve", Role: string(auth.FastTrackEngineer)}); err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 12, 18, 17, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		in    engagements.ChecklistInput
		field string // refused on; "" when accepted
	}{
		{"no source", engagements.ChecklistInput{Title: "Establish the remediation timeline", Severity: "medium"}, "source"},
		{"owner without an account", engagements.ChecklistInput{Title: "t", Severity: "low", Source: "person", Owner: "Cy"}, "owner"},
		{"by a person, owned and due", engagements.ChecklistInput{Title: "Establish the remediation timeline", Severity: "medium", Source: "person", Owner: "eng@partner.com", Due: due}, ""},
		{"from the pre-flight tool", engagements.ChecklistInput{Title: "Mailbox over quota", Severity: "high", Source: "pre-flight"}, ""},
	}
	for _, tc := range tests {
		c, err := b.svc.AddChecklistItem(operator, e.ID, tc.in)
		if tc.field != "" {
			if fe, ok := fault.As(err); !ok || fe.Field != tc.field || fe.Kind != fault.Invalid {
				t.Fatalf("%s: %+v %v, want invalid %s", tc.name, c, err, tc.field)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	items, _ := b.st.ChecklistItems(operator, e.ID)
	if len(items) != 2 || items[0].Owner != "eng@partner.com" || !items[0].Due.Equal(due) || items[0].Source != "person" || items[1].Source != "pre-flight" {
		t.Fatalf("checklist %+v", items)
	}
	nobody := "Cy"
	if _, err := b.svc.UpdateChecklistItem(operator, e.ID, items[1].ID, nil, &nobody, nil); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("reassigning to a name without an account: %v", err)
	}
}
