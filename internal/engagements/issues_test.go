package engagements_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// TestIssueLifecycle: a post-migration issue is assigned to an account,
// worked, closed and reopened, each change on record with who made it.
func TestIssueLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	other := store.Customer{Name: "Contoso", Domain: "contoso.com"}
	if err := b.st.CreateCustomer(operator, &other); err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.User{
		{Email: "eng@partner.com", Name: "Eve Engineer", Role: string(auth.FastTrackEngineer)},
		{Email: "pm@contoso.com", Name: "Other PM", Role: string(auth.CustomerProjectManager), Customers: []int64{other.ID}},
		{Email: "gone@partner.com", Name: "Gone", Role: string(auth.FastTrackEngineer), Disabled: true},
	} {
		if err := b.st.CreateUser(operator, &u); err != nil {
			t.Fatal(err)
		}
	}
	migrated := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC) // a Friday: T+5 is the next Friday
	issue, err := b.svc.ReportIssue(operator, e.ID, engagements.IssueInput{Mailbox: "a@northwind.com", MigratedAt: migrated, Description: "calendar missing"})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 11, 18, 0, 0, 0, time.UTC); !issue.Deadline.Equal(want) {
		t.Fatalf("T+5 window ends %v, want %v", issue.Deadline, want)
	}
	if _, err := b.svc.ReportIssue(operator, e.ID, engagements.IssueInput{Mailbox: "b@northwind.com", MigratedAt: migrated, Description: "rules missing", Owner: "Cy"}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("reported with an owner who has no account: %v", err)
	}
	as := func(name string) context.Context {
		return auth.WithPrincipal(context.Background(), &auth.Principal{Name: name, Kind: "user", Role: auth.FastTrackEngineer})
	}
	str := func(s string) *string { return &s }
	steps := []struct {
		name  string
		who   string
		u     engagements.IssueUpdate
		field string // refused on this field; "" when accepted
		state string // the issue's status after
	}{
		{"assign to someone who has no account", "eve", engagements.IssueUpdate{Owner: str("nobody@partner.com")}, "owner", "open"},
		{"assign to a disabled account", "eve", engagements.IssueUpdate{Owner: str("gone@partner.com")}, "owner", "open"},
		{"assign to another customer's person", "eve", engagements.IssueUpdate{Owner: str("pm@contoso.com")}, "owner", "open"},
		{"assign to the engineer", "pat", engagements.IssueUpdate{Owner: str("Eng@Partner.com")}, "", "open"},
		{"unknown status", "eve", engagements.IssueUpdate{Status: str("done")}, "status", "open"},
		{"investigate", "eve", engagements.IssueUpdate{Status: str("investigating")}, "", "investigating"},
		{"close", "eve", engagements.IssueUpdate{Status: str("closed"), Note: "calendar permissions restored"}, "", "closed"},
		{"reopen without a reason", "pat", engagements.IssueUpdate{Status: str("open")}, "note", "closed"},
		{"reopen", "pat", engagements.IssueUpdate{Status: str("open"), Note: "the calendar is missing again"}, "", "open"},
	}
	for _, st := range steps {
		got, err := b.svc.UpdateIssue(as(st.who), e.ID, issue.ID, st.u)
		if st.field != "" {
			if fe, ok := fault.As(err); !ok || fe.Field != st.field || fe.Kind != fault.Invalid {
				t.Fatalf("%s: %v, want invalid %s", st.name, err, st.field)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got.Status != st.state {
			t.Fatalf("%s: status %q, want %q", st.name, got.Status, st.state)
		}
	}
	list, _ := b.svc.Issues(operator, e.ID)
	if len(list) != 1 || list[0].Owner != "eng@partner.com" || list[0].Status != "open" {
		t.Fatalf("issues %+v", list)
	}
	history, err := b.svc.IssueHistory(operator, e.ID, issue.ID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ev := range history {
		lines = append(lines, ev.Who+": "+ev.Field+" "+ev.Before+" → "+ev.After+" ("+ev.Note+")")
	}
	want := []string{
		"pat: owner  → eng@partner.com ()",
		"eve: status open → investigating ()",
		"eve: status investigating → closed (calendar permissions restored)",
		"pat: status closed → open (the calendar is missing again)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Another engagement's issue is not found through this one.
	e2, _, err := b.svc.Create(operator, engagements.Input{CustomerID: b.customer.ID, Name: "Second", Seats: 800, Services: []string{"exchange"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.UpdateIssue(operator, e2.ID, issue.ID, engagements.IssueUpdate{Status: str("closed")}); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("update through another engagement: %v", err)
	}
}
