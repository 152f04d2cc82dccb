package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/store"
)

// TestItemEditAndDeleteInThePortal: a partner fixes a mailbox's
// destination and log-in on its page, deletes it there, and deletes the
// selected mailboxes of the project at once; a viewer sees no forms and
// is refused.
func TestItemEditAndDeleteInThePortal(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 4)
	st := b.tp.app.Store
	ctx := context.Background()
	first := b.items[0]
	page := b.partner.get(fmt.Sprintf("/items/%d", first.ID))
	for _, w := range []string{`action="/items/` + itoa(first.ID) + `/edit"`, `action="/items/` + itoa(first.ID) + `/delete"`} {
		if !strings.Contains(page.body, w) {
			t.Fatalf("item page: no %q", w)
		}
	}
	checkAccessible(t, "item", page.body)

	res := b.partner.post(fmt.Sprintf("/items/%d/edit", first.ID), url.Values{"destination": {"moved@new.contoso.example"}, "source_login": {"legacy-user0"},
		"destination_login": {""}, "source_password": {""}, "destination_password": {""}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", res.status, res.body)
	}
	it, _ := st.Item(ctx, first.ID)
	if it.Dest != "moved@new.contoso.example" || it.SourceLogin != "legacy-user0" {
		t.Fatalf("after edit %+v", it)
	}
	res = b.partner.post(fmt.Sprintf("/items/%d/edit", first.ID), url.Values{"destination": {b.items[1].Dest}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "already the destination") {
		t.Fatalf("edit to another item's destination: %d", res.status)
	}

	// Not while a pass runs it.
	if err := st.SetItemStatus(ctx, b.items[3].ID, store.StatusRunning, "full", 0); err != nil {
		t.Fatal(err)
	}
	b.partner.get(fmt.Sprintf("/projects/%d", b.project.ID))
	res = b.partner.post(fmt.Sprintf("/projects/%d/items/delete", b.project.ID), url.Values{"item": {itoa(b.items[2].ID), itoa(b.items[3].ID)}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "stop the item") {
		t.Fatalf("bulk delete with a running item: %d", res.status)
	}
	res = b.partner.post(fmt.Sprintf("/projects/%d/items/delete", b.project.ID), url.Values{"item": {itoa(b.items[1].ID), itoa(b.items[2].ID)}})
	if res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Location"), "deleted=2") {
		t.Fatalf("bulk delete: %d %s", res.status, res.header.Get("Location"))
	}
	b.partner.get(fmt.Sprintf("/items/%d", first.ID))
	res = b.partner.post(fmt.Sprintf("/items/%d/delete", first.ID), nil)
	if res.status != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	if _, n, _ := st.Items(ctx, b.project.ID, store.ItemFilter{}); n != 1 {
		t.Fatalf("%d items left, want the running one", n)
	}

	b.tp.user("vera@contoso.example", auth.Viewer, b.customer.ID)
	viewer := b.tp.signedIn("vera@contoso.example")
	page = viewer.get(fmt.Sprintf("/items/%d", b.items[3].ID))
	if strings.Contains(page.body, "/edit\"") || strings.Contains(page.body, "/delete\"") {
		t.Fatal("a viewer sees the edit and delete forms")
	}
	if res := viewer.post(fmt.Sprintf("/items/%d/delete", b.items[3].ID), nil); res.status != http.StatusForbidden {
		t.Fatalf("a viewer deleting: %d", res.status)
	}
}

func TestMailboxStatisticsLink(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 2)
	page := b.partner.get(fmt.Sprintf("/projects/%d", b.project.ID))
	link := fmt.Sprintf(`href="/projects/%d/statistics?format=csv"`, b.project.ID)
	if !strings.Contains(page.body, link) {
		t.Fatalf("project page: no %s", link)
	}
	res := b.partner.get(fmt.Sprintf("/projects/%d/statistics?format=csv", b.project.ID))
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") || !strings.Contains(res.body, b.items[1].Source+",") {
		t.Fatalf("csv: %d %s\n%s", res.status, res.header, res.body)
	}
	if res := b.partner.get(fmt.Sprintf("/projects/%d/statistics?format=csv", b.otherProject.ID)); res.status != http.StatusForbidden && res.status != http.StatusNotFound {
		t.Fatalf("another customer's statistics: %d", res.status)
	}
}

// TestWeeklyCheckpointOnTheEngagementPage: a recurring event scheduled in
// the portal shows its next occurrences on the engagement page.
func TestWeeklyCheckpointOnTheEngagementPage(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	base := "/engagements/" + itoa(f.eng.ID)
	f.partner.get(base)
	start := time.Now().Add(48 * time.Hour).UTC()
	res := f.partner.post(base+"/events", url.Values{"kind": {"meeting"}, "title": {"Weekly checkpoint"}, "starts": {start.Format("2006-01-02T15:04")},
		"ends": {start.Add(time.Hour).Format("2006-01-02T15:04")}, "time_zone": {"UTC"}, "recurrence": {"FREQ=WEEKLY;COUNT=3"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("schedule: %d %s", res.status, res.body)
	}
	page := f.partner.get(base)
	if n := strings.Count(page.body, `<tr data-occurrence="`); n != 3 || !strings.Contains(page.body, "repeats: FREQ=WEEKLY;COUNT=3") {
		t.Fatalf("engagement page: %d occurrences", n)
	}
	checkAccessible(t, "engagement", page.body)
}

// TestIssueClosedAndReopenedInThePortal: an issue is assigned and closed
// on the engagement page, and reopened only with a reason.
func TestIssueClosedAndReopenedInThePortal(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	base := "/engagements/" + itoa(f.eng.ID)
	ctx := asOperator(context.Background())
	issue, err := f.tp.app.Engagements.ReportIssue(ctx, f.eng.ID, engagements.IssueInput{Mailbox: "ann@contoso.example", MigratedAt: time.Now().Add(-time.Hour), Description: "calendar missing"})
	if err != nil {
		t.Fatal(err)
	}
	page := f.partner.get(base)
	if !strings.Contains(page.body, fmt.Sprintf(`action="%s/issues/%d"`, base, issue.ID)) {
		t.Fatal("engagement page: no form to change the issue")
	}
	checkAccessible(t, "engagement", page.body)
	one := fmt.Sprintf("%s/issues/%d", base, issue.ID)
	if res := f.partner.post(one, url.Values{"status": {"closed"}, "owner": {"pat@partner.example"}, "note": {"permissions restored"}}); res.status != http.StatusSeeOther {
		t.Fatalf("close: %d %s", res.status, res.body)
	}
	if res := f.partner.post(one, url.Values{"status": {"open"}, "owner": {"pat@partner.example"}}); res.status != http.StatusBadRequest || !strings.Contains(res.body, "say why it is reopened") {
		t.Fatalf("reopen without a reason: %d", res.status)
	}
	history, _ := f.tp.app.Engagements.IssueHistory(ctx, f.eng.ID, issue.ID)
	if len(history) != 2 || history[1].Who != "pat@partner.example" || history[1].Note != "permissions restored" {
		t.Fatalf("history %+v", history)
	}
}
