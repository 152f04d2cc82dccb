package web

import (
	"context"
	"fmt"
	"html"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/store"
)

// The item page lists the calendar objects, contacts and tasks the last
// pass could not copy, with the server's words and what to do, and counts
// each workload's objects copied and not copied.
func TestItemPageWorkloadFailures(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 1)
	ctx := context.Background()
	st := b.tp.app.Store
	mb, err := st.Mailbox(ctx, store.MailboxKey{Source: "workloads:dav:old#user0000", Destination: "workloads:dav:new#user0000"})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []string{"calendar", "calendar", "calendar", "contacts"} {
		if err := st.SaveDAVObject(ctx, mb, store.DAVObject{Collection: "/cal/", UID: fmt.Sprintf("u%d", i), Workload: w}); err != nil {
			t.Fatal(err)
		}
	}
	failures := []store.DAVFailure{
		{Workload: "calendar", Collection: "/cal/", UID: "ev-1", Title: "Board meeting", Date: "2024-05-08", Error: "403 Forbidden: <quota exceeded>", Action: "Free space in the destination calendar, then Retry errors"},
		{Workload: "tasks", Collection: "/tasks/", UID: "t-1", Title: "File taxes", Error: "415 Unsupported Media Type", Action: "Recreate the task by hand"},
		{Workload: "calendar", Collection: "/cal/", UID: "ev-2", Title: "", Error: "timeout", Action: "Retry errors"},
	}
	if err := st.SaveDAVFailures(ctx, mb, failures); err != nil {
		t.Fatal(err)
	}
	it := b.items[0]
	it.DAVMailboxID, it.Status, it.Workloads = mb, store.StatusCompleted, []string{"mail", "calendar", "contacts", "tasks"}
	if err := st.UpdateItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	res := b.partner.get(fmt.Sprintf("/items/%d", it.ID))
	if res.status != 200 {
		t.Fatalf("item page: %d", res.status)
	}
	for _, w := range []string{
		`<h2 id="h-workloads">Calendars, contacts and tasks</h2>`,
		// Counts: copied and not copied per workload, in the workloads' order.
		`<tr data-workload="calendar"><th scope="row">Calendar</th><td class="num">3</td><td class="num">2</td></tr>`,
		`<tr data-workload="contacts"><th scope="row">Contacts</th><td class="num">1</td><td class="num">0</td></tr>`,
		`<tr data-workload="tasks"><th scope="row">Tasks</th><td class="num">0</td><td class="num">1</td></tr>`,
		// Each failure: title, date, workload, the server's words, what to do.
		`<tr data-uid="ev-1"><th scope="row">Board meeting</th><td>2024-05-08</td><td>Calendar</td><td>` + html.EscapeString("403 Forbidden: <quota exceeded>") + `</td><td>Free space in the destination calendar, then Retry errors</td></tr>`,
		`<tr data-uid="t-1"><th scope="row">File taxes</th><td>—</td><td>Tasks</td><td>415 Unsupported Media Type</td><td>Recreate the task by hand</td></tr>`,
		`<tr data-uid="ev-2"><th scope="row">(no title) <span class="muted">ev-2</span></th>`,
		// The failures can be retried from the page.
		`id="fix-retry"`,
	} {
		if !strings.Contains(res.body, w) {
			t.Errorf("item page: no %q", w)
		}
	}
	if strings.Contains(res.body, "<p class=\"muted\">No errors.</p>") {
		t.Error("item page says no errors beside workload failures")
	}
	checkAccessible(t, "item with workload failures", res.body)

	// A mailbox moving mail only has no such section.
	it.Workloads, it.DAVMailboxID = []string{"mail"}, 0
	if err := st.UpdateItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	if res := b.partner.get(fmt.Sprintf("/items/%d", it.ID)); strings.Contains(res.body, `id="h-workloads"`) {
		t.Error("mail-only item shows the workloads section")
	}
	// Another customer's item answers 404.
	if res := b.partner.get(fmt.Sprintf("/items/%d", b.otherItem.ID)); res.status != 404 {
		t.Errorf("other tenant's item: %d, want 404", res.status)
	}
}
