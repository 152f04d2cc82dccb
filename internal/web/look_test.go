package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
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
	for _, code := range []string{"<td>ftm</td>", "<td>frp</td>"} {
		if strings.Contains(my.body, code) {
			t.Errorf("My tasks shows the role code %s", code)
		}
	}
	if !strings.Contains(my.body, "<td>FastTrack Manager</td>") {
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
