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
