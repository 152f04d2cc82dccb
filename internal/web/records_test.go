package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
)

// TestSuccessPlanGoNoGoAndDueDatesOnThePage: the engagement page records
// the success plan, a go/no-go decision (as the signed-in person, with the
// evidence shown) and a checklist item's due date.
func TestSuccessPlanGoNoGoAndDueDatesOnThePage(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	base := "/engagements/" + itoa(f.eng.ID)
	ctx := asOperator(context.Background())
	if _, err := f.tp.app.Engagements.ScheduleEvent(ctx, f.eng.ID, engagements.EventInput{Kind: "go-no-go", Title: "Wave 1 go/no-go", TimeZone: "UTC",
		Starts: "2026-12-05 09:00", Ends: "2026-12-05 09:30"}); err != nil {
		t.Fatal(err)
	}
	events, _ := f.tp.app.Store.Events(ctx, f.eng.ID)
	event := itoa(events[0].ID)
	item, err := f.tp.app.Engagements.AddChecklistItem(ctx, f.eng.ID, engagements.ChecklistInput{Title: "Remediation timeline", Severity: "medium", Source: "person"})
	if err != nil {
		t.Fatal(err)
	}
	if page := f.partner.get(base).body; !strings.Contains(page, "No success plan yet") || !strings.Contains(page, "No go/no-go decision yet") {
		t.Fatal("the page lacks the success plan and go/no-go sections")
	}
	f.tp.user("carl@contoso.example", auth.CustomerProjectManager, f.own.ID)
	carl := f.tp.signedIn("carl@contoso.example")
	for _, st := range []struct {
		name  string
		who   *client
		path  string
		form  url.Values
		want  int
		shows string
	}{
		{"a plan without an owner's account", f.partner, base + "/success-plan", url.Values{"goals": {"mail in Exchange Online"}, "owner": {"Carl"}, "agreed": {"2026-12-03"}},
			http.StatusBadRequest, "Carl has no account"},
		{"the plan, by the customer's project manager", carl, base + "/success-plan", url.Values{"goals": {"mail in Exchange Online"}, "outcomes": {"IMAP retired"},
			"owner": {"carl@contoso.example"}, "agreed": {"2026-12-03"}}, http.StatusSeeOther, "IMAP retired"},
		{"a go/no-go by the customer's project manager", carl, base + "/go-no-go", url.Values{"event_id": {event}, "decision": {"go"}}, http.StatusForbidden, ""},
		{"a no-go without notes", f.partner, base + "/go-no-go", url.Values{"event_id": {event}, "decision": {"no-go"}}, http.StatusBadRequest, "a no-go says why"},
		// Recorded as the signed-in person, whatever name the form sends.
		{"a go", f.partner, base + "/go-no-go", url.Values{"event_id": {event}, "decision": {"go"}, "notes": {"pilot clean"}, "who": {"Fiona"}},
			http.StatusSeeOther, "pat@partner.example"},
		{"a due date", f.partner, base + "/checklist/" + itoa(item.ID), url.Values{"state": {"open"}, "owner": {"carl@contoso.example"}, "due": {"2026-12-18"}},
			http.StatusSeeOther, `value="2026-12-18"`},
		{"a due date that is no date", f.partner, base + "/checklist/" + itoa(item.ID), url.Values{"due": {"Friday"}}, http.StatusBadRequest, "2026-12-24"},
	} {
		res := st.who.post(st.path, st.form)
		if res.status != st.want {
			t.Fatalf("%s: %d %s", st.name, res.status, res.body)
		}
		body := res.body
		if st.want == http.StatusSeeOther {
			body = f.partner.get(base).body
		}
		if !strings.Contains(body, st.shows) {
			t.Errorf("%s: the page does not show %q", st.name, st.shows)
		}
	}
	ds, err := f.tp.app.Engagements.GoNoGoDecisions(ctx, f.eng.ID)
	if err != nil || len(ds) != 1 || ds[0].Who != "pat@partner.example" || ds[0].Decision != "go" {
		t.Fatalf("decisions %+v %v", ds, err)
	}
}

// TestCustomerResponsibilitiesOnThePage: the customer's people tick off
// the customer's responsibilities on the engagement page; a customer
// project manager with no playbook task sees them (and the checklist items
// they own) as their tasks, instead of an empty list.
func TestCustomerResponsibilitiesOnThePage(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	base := "/engagements/" + itoa(f.eng.ID)
	ctx := asOperator(context.Background())
	f.tp.user("carl@contoso.example", auth.CustomerProjectManager, f.own.ID)
	carl := f.tp.signedIn("carl@contoso.example")
	if _, err := f.tp.app.Engagements.AddChecklistItem(ctx, f.eng.ID, engagements.ChecklistInput{Title: "Open firewall ports", Severity: "high", Source: "person",
		Owner: "carl@contoso.example"}); err != nil {
		t.Fatal(err)
	}
	duties, err := f.tp.app.Engagements.Responsibilities(ctx, f.eng.ID)
	if err != nil || len(duties) == 0 {
		t.Fatalf("duties %d %v", len(duties), err)
	}
	mine := carl.get("/my/tasks")
	if mine.status != http.StatusOK || !strings.Contains(mine.body, "Open firewall ports") || !strings.Contains(mine.body, duties[0].Text) ||
		!strings.Contains(mine.body, itoa(int64(len(duties)))+" of "+itoa(int64(len(duties)))+" customer responsibilities open") {
		t.Fatalf("my tasks of a customer PM without tasks: %d %s", mine.status, mine.body)
	}
	// The partner is not the customer's.
	if res := f.partner.post(base+"/responsibilities", url.Values{"key": {duties[0].Key}, "done": {"true"}}); res.status != http.StatusForbidden {
		t.Fatalf("the partner ticked: %d", res.status)
	}
	if res := carl.post(base+"/responsibilities", url.Values{"key": {duties[0].Key}, "done": {"true"}}); res.status != http.StatusSeeOther {
		t.Fatalf("tick: %d %s", res.status, res.body)
	}
	if page := carl.get(base).body; !strings.Contains(page, "done by carl@contoso.example") {
		t.Fatal("the tick does not show on the page")
	}
	if mine := carl.get("/my/tasks").body; !strings.Contains(mine, itoa(int64(len(duties)-1))+" of "+itoa(int64(len(duties)))+" customer responsibilities open") {
		t.Fatalf("my tasks after the tick: %s", mine)
	}
}
