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

// TestChecklistDueDateAndOwnerAreEdited: an item's due date and owner
// change after it was added, and are cleared with "".
func TestChecklistDueDateAndOwnerAreEdited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}})
	b.person(t, "eve@partner.com", auth.FastTrackEngineer)
	b.person(t, "carl@northwind.com", auth.CustomerProjectManager)
	c, err := b.svc.AddChecklistItem(operator, e.ID, engagements.ChecklistInput{Title: "Establish the remediation timeline", Severity: "medium", Source: "person", Owner: "eve@partner.com"})
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name      string
		edit      engagements.ChecklistEdit
		field     string // refused on; "" when accepted
		wantOwner string
		wantDue   string
	}{
		{"a due date", engagements.ChecklistEdit{Due: str("2026-12-18")}, "", "eve@partner.com", "2026-12-18"},
		{"a due date that is no date", engagements.ChecklistEdit{Due: str("next Friday")}, "due", "", ""},
		{"a due date of another century", engagements.ChecklistEdit{Due: str("2226-12-18")}, "due", "", ""},
		{"another owner and date", engagements.ChecklistEdit{Owner: str("CARL@northwind.com"), Due: str("2027-01-08")}, "", "carl@northwind.com", "2027-01-08"},
		{"no due date", engagements.ChecklistEdit{Due: str("")}, "", "carl@northwind.com", ""},
		{"no owner", engagements.ChecklistEdit{Owner: str("")}, "", "", ""},
	} {
		got, err := b.svc.EditChecklistItem(operator, e.ID, c.ID, tc.edit)
		if tc.field != "" {
			if fe, ok := fault.As(err); !ok || fe.Field != tc.field {
				t.Fatalf("%s: %v, want invalid %s", tc.name, err, tc.field)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		items, _ := b.st.ChecklistItems(operator, e.ID)
		due := ""
		if !items[0].Due.IsZero() {
			due = items[0].Due.Format("2006-01-02")
		}
		if items[0].Owner != tc.wantOwner || due != tc.wantDue || got.Owner != tc.wantOwner {
			t.Fatalf("%s: owner %q due %q, want %q %q", tc.name, items[0].Owner, due, tc.wantOwner, tc.wantDue)
		}
	}
}
