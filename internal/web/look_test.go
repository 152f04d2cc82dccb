package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// TestDashboardLinksLateTasks: a late task on the dashboard is a link to
// the task, and the engagement's overdue tasks are one click away.
func TestDashboardLinksLateTasks(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	tk := f.tasks[4]
	tk.Due = time.Now().AddDate(0, 0, -2)
	if err := f.tp.app.Store.UpdateEngagementTask(context.Background(), tk, nil); err != nil {
		t.Fatal(err)
	}
	res := f.partner.get("/")
	for _, want := range []string{
		`<a href="/tasks/` + itoa(tk.ID) + `/edit">` + tk.TaskID + " ",
		`href="/engagements/` + itoa(f.eng.ID) + `?due=late&amp;sort=due#tasks-h"`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
	if task := f.partner.get("/tasks/" + itoa(tk.ID) + "/edit"); task.status != http.StatusOK {
		t.Errorf("the late task's link answers %d", task.status)
	}
	page := f.partner.get("/engagements/" + itoa(f.eng.ID) + "?due=late&sort=due")
	if got := rows(page.body); len(got) != 1 || got[0] != itoa(tk.ID) || !strings.Contains(page.body, "(overdue)") {
		t.Errorf("the overdue tasks: %v", got)
	}
}

// TestPortalSpeaksThePersonsWords: errors name the form's labels, not the
// code's fields; tasks name the playbook's roles; counts have thousands
// separators.
func TestPortalSpeaksThePersonsWords(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	f.partner.get("/customers/" + itoa(f.own.ID) + "/engagements/new")
	res := f.partner.post("/customers/"+itoa(f.own.ID)+"/engagements", url.Values{"name": {"Second"}, "seats": {"many"}, "services": {"exchange"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "Licensed seats: write the number") || strings.Contains(res.body, ">seats: ") {
		t.Errorf("a bad seat count: %d %s", res.status, errorOf(res.body))
	}
	f.partner.get("/customers/" + itoa(f.own.ID) + "/endpoints/new")
	res = f.partner.post("/customers/"+itoa(f.own.ID)+"/endpoints", url.Values{"name": {"Old server"}, "type": {"imap"}, "host": {"mail.contoso.example"},
		"port": {"993"}, "security": {"tls"}, "credentials": {"provide"}})
	if !strings.Contains(res.body, "Administrator user name</a>: give the administrator") || strings.Contains(res.body, ">admin_user<") {
		t.Errorf("an endpoint without its administrator: %d %s", res.status, errorOf(res.body))
	}
	my := f.partner.get("/my/tasks")
	for _, code := range []string{">ftm</td>", ">frp</td>"} {
		if strings.Contains(my.body, code) {
			t.Errorf("My tasks shows the role code %s", code)
		}
	}
	if !strings.Contains(my.body, `<td data-label="Role">FastTrack Manager</td>`) {
		t.Error("My tasks does not name the FastTrack Manager role")
	}
}

func errorOf(body string) string {
	if i := strings.Index(body, `class="error"`); i >= 0 {
		return body[i:min(len(body), i+300)]
	}
	return "(no error shown)"
}

// TestFavicon: the portal has an icon, where browsers look and where the pages say.
func TestFavicon(t *testing.T) {
	t.Parallel()
	tp := newTestPortal(t)
	tp.user("ada@ferry.example", "administrator")
	c := tp.client()
	res := c.get("/favicon.ico")
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(res.body, "<svg") {
		t.Errorf("/favicon.ico: %d %s %.40s", res.status, res.header.Get("Content-Type"), res.body)
	}
	if page := c.get("/signin"); !strings.Contains(page.body, `<link rel="icon" href="/static/favicon.svg"`) {
		t.Error("the pages name no icon")
	}
	if res := c.get("/static/favicon.svg"); res.status != http.StatusOK {
		t.Errorf("/static/favicon.svg: %d", res.status)
	}
}

// TestPassUnderASecondHasNoRate: a mailbox's pass history names passes as
// the seeds do, writes counts with thousands separators, and gives no rate
// for a pass that took under a second ("0s, 27692 MB/hr" said nothing).
func TestPassUnderASecondHasNoRate(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 1)
	ctx := context.Background()
	st := b.tp.app.Store
	mb, err := st.Mailbox(ctx, store.MailboxKey{Source: "imaps://user0000@old:993", Destination: "imaps://user0000@new:993"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	run := &store.Run{Pass: "prestage", Started: start, ItemID: b.items[0].ID}
	if err := st.StartRun(ctx, mb, run); err != nil {
		t.Fatal(err)
	}
	run.Ended, run.Status, run.Copied, run.CopiedBytes = start.Add(300*time.Millisecond), "completed", 12345, 2_307_000
	if err := st.FinishRun(ctx, mb, run); err != nil {
		t.Fatal(err)
	}
	res := b.partner.get("/items/" + itoa(b.items[0].ID))
	row := `<th scope="row">Pre-stage</th>`
	i := strings.Index(res.body, row)
	if i < 0 {
		t.Fatalf("no Pre-stage row in the history: %.2000s", res.body)
	}
	got := res.body[i:min(len(res.body), i+400)]
	for _, want := range []string{"under a second", "<td>12,345", "<td>2.3 MB</td>", "<td>—</td><td>—</td>"} {
		if !strings.Contains(got, want) {
			t.Errorf("the Pre-stage row lacks %q: %s", want, got)
		}
	}
}
