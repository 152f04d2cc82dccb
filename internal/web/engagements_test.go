package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/audit"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// wrapAudit records people's changes in the audit log, as `ferry serve` does.
func wrapAudit(a *app.App) {
	st := audit.Wrap(a.Store)
	a.Service.Store, a.Engagements.Store = st, st
}

// engFixture: two customers with an engagement each; a partner and a
// viewer of the first customer, a partner of the second.
type engFixture struct {
	tp              *testPortal
	own, other      store.Customer
	eng, otherEng   store.Engagement
	tasks           []store.EngagementTask
	otherTask       store.EngagementTask
	partner, viewer *client
	outsider        *client
}

func setupEngagements(t *testing.T) *engFixture {
	t.Helper()
	tp := newTestPortal(t)
	ctx := asOperator(context.Background())
	f := &engFixture{tp: tp}
	var err error
	if f.own, err = tp.app.Customers.CreateCustomer(ctx, customers.CustomerInput{Name: "Contoso", Domain: "contoso.example"}); err != nil {
		t.Fatal(err)
	}
	if f.other, err = tp.app.Customers.CreateCustomer(ctx, customers.CustomerInput{Name: "Fabrikam", Domain: "fabrikam.example"}); err != nil {
		t.Fatal(err)
	}
	in := engagements.Input{CustomerID: f.own.ID, Name: "Contoso onboarding", Seats: 800, Services: []string{"exchange", "teams"}, Workloads: []string{"imap"}}
	if f.eng, f.tasks, err = tp.app.Engagements.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	in.CustomerID, in.Name = f.other.ID, "Fabrikam onboarding"
	var others []store.EngagementTask
	if f.otherEng, others, err = tp.app.Engagements.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	f.otherTask = others[0]
	tp.user("pat@partner.example", auth.Partner, f.own.ID)
	tp.user("vic@contoso.example", auth.Viewer, f.own.ID)
	tp.user("oz@other.example", auth.Partner, f.other.ID)
	f.partner, f.viewer, f.outsider = tp.signedIn("pat@partner.example"), tp.signedIn("vic@contoso.example"), tp.signedIn("oz@other.example")
	// The partner holds every role of the engagement, so may change any of
	// its tasks (TestCustomerCannotChangeAnotherRolesTask tries another's).
	for _, tk := range f.tasks {
		if err := tp.app.Engagements.Assign(ctx, f.eng.ID, tk.Role, "pat@partner.example"); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// task returns the engagement's task with a playbook ID.
func (f *engFixture) task(t *testing.T, id string) store.EngagementTask {
	t.Helper()
	i := slices.IndexFunc(f.tasks, func(x store.EngagementTask) bool { return x.TaskID == id })
	if i < 0 {
		t.Fatalf("no task %s in the engagement", id)
	}
	return f.tasks[i]
}

// hx sends what htmx sends: the HX-Request header and the CSRF token as a header.
func (c *client) hx(method, path string, form url.Values) response {
	c.tp.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, c.tp.srv.URL+path, body)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", c.csrf)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return c.do(req)
}

var taskRowID = regexp.MustCompile(`<tr id="task-(\d+)"`)

// rows lists the task row ids of a page or partial.
func rows(body string) []string {
	var out []string
	for _, m := range taskRowID.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestEngagementPageForPartner(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	res := f.partner.get(fmt.Sprintf("/engagements/%d", f.eng.ID))
	if res.status != http.StatusOK {
		t.Fatalf("engagement page: %d %s", res.status, res.body)
	}
	for _, want := range []string{
		"<h1>Contoso onboarding</h1>",
		`<option value="" selected>All services</option>`, // the default task view
		`<th scope="col">Due</th>`,
		`id="gates-section"`, `hx-trigger="gates-changed from:body"`,
		"Remediate", "1700", "Blocked",
		`hx-get="/tasks/`, `<dialog id="task-dialog"`,
		`action="/engagements/` + itoa(f.eng.ID) + `/checklist"`,
		`action="/engagements/` + itoa(f.eng.ID) + `/people"`,
		`href="/engagements/` + itoa(f.eng.ID) + `/audit"`,
		"By phase", "By service",
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Every form control has a label.
	for _, m := range regexp.MustCompile(`<(?:input|select|textarea)[^>]*\bid="([^"]+)"`).FindAllStringSubmatch(res.body, -1) {
		if !strings.Contains(res.body, `for="`+m[1]+`"`) {
			t.Errorf("control %s has no label", m[1])
		}
	}
	// Headings go h1, h2, h3 without skipping a level.
	level := 0
	for _, m := range regexp.MustCompile(`<h([1-6])`).FindAllStringSubmatch(res.body, -1) {
		l := int(m[1][0] - '0')
		if l > level+1 {
			t.Errorf("heading h%d follows h%d", l, level)
		}
		level = l
	}
	if strings.Contains(res.body, "<th>") {
		t.Error("a table header has no scope")
	}
	// The customer page links to the engagement and the form; the form serves.
	if res := f.partner.get(fmt.Sprintf("/customers/%d/engagements/new", f.own.ID)); res.status != http.StatusOK ||
		!strings.Contains(res.body, `<label for="e-svc-exchange">`) {
		t.Fatalf("new engagement form: %d", res.status)
	}
}

func TestEngagementOfAnotherTenant(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	e, task := itoa(f.otherEng.ID), itoa(f.otherTask.ID)
	cases := []struct {
		method, path string
		form         url.Values
		want         int
	}{
		{"GET", "/engagements/" + e, nil, http.StatusNotFound},
		{"GET", "/engagements/" + e + "/tasks?service=", nil, http.StatusNotFound},
		{"GET", "/engagements/" + e + "/gates", nil, http.StatusNotFound},
		{"GET", "/engagements/" + e + "/progress", nil, http.StatusNotFound},
		{"GET", "/engagements/" + e + "/audit", nil, http.StatusNotFound},
		{"GET", "/tasks/" + task + "/edit", nil, http.StatusNotFound},
		{"POST", "/tasks/" + task, url.Values{"status": {"Complete"}, "minutes": {"30"}}, http.StatusNotFound},
		{"POST", "/engagements/" + e + "/phases/Initiate/exit", url.Values{}, http.StatusNotFound},
		{"POST", "/engagements/" + e + "/checklist", url.Values{"title": {"x"}, "severity": {"low"}}, http.StatusNotFound},
		{"POST", "/engagements/" + e + "/checklist/1", url.Values{"state": {"resolved"}}, http.StatusNotFound},
		{"POST", "/engagements/" + e + "/issues", url.Values{"mailbox": {"a@b.c"}, "description": {"x"}, "migrated_at": {"2026-01-05T10:00"}}, http.StatusNotFound},
		{"POST", "/engagements/" + e + "/events", url.Values{"kind": {"wave"}, "title": {"x"}, "starts": {"2026-01-05T10:00"}, "ends": {"2026-01-05T11:00"}, "time_zone": {"UTC"}}, http.StatusNotFound},
		{"POST", "/engagements/" + e + "/people", url.Values{"role": {"ftm"}, "person": {"Oz"}}, http.StatusNotFound},
		{"POST", "/engagements/" + e + "/migration-gate/override", url.Values{"as": {"Oz"}, "reason": {"x"}}, http.StatusNotFound},
		{"GET", "/customers/" + itoa(f.other.ID) + "/engagements/new", nil, http.StatusNotFound},
		{"POST", "/customers/" + itoa(f.other.ID) + "/engagements", url.Values{"name": {"x"}, "seats": {"900"}}, http.StatusNotFound},
		{"GET", "/customers/" + itoa(f.other.ID) + "/audit", nil, http.StatusNotFound},
		{"GET", "/engagements/999999", nil, http.StatusNotFound},
		{"GET", "/tasks/999999/edit", nil, http.StatusNotFound},
		{"POST", "/tasks/999999", url.Values{"status": {"Complete"}}, http.StatusNotFound},
		{"GET", "/projects/999999/audit", nil, http.StatusNotFound},
		{"GET", "/engagements/abc", nil, http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var res response
			if tc.method == "GET" {
				res = f.partner.get(tc.path)
			} else {
				res = f.partner.post(tc.path, tc.form)
			}
			if res.status != tc.want {
				t.Errorf("%d, want %d: %s", res.status, tc.want, res.body)
			}
			if strings.Contains(res.body, "Fabrikam onboarding") {
				t.Error("the answer shows the other tenant's engagement")
			}
		})
	}
	got, err := f.tp.app.Store.EngagementTask(context.Background(), f.otherTask.ID)
	if err != nil || got.Status != engagements.NotStarted || got.Minutes != 0 {
		t.Fatalf("the other tenant's task changed: %+v %v", got, err)
	}
	if cl, _ := f.tp.app.Store.ChecklistItems(context.Background(), f.otherEng.ID); len(cl) != 0 {
		t.Fatalf("a checklist item was added to the other tenant: %+v", cl)
	}
	// Its own partner sees it.
	if res := f.outsider.get("/engagements/" + e); res.status != http.StatusOK {
		t.Fatalf("the other customer's partner: %d", res.status)
	}
}

// exitInitiate holds the kickoff and exits Initiate, as the FastTrack
// Manager would (setupEngagements named a person for every role).
func exitInitiate(t *testing.T, f *engFixture) {
	t.Helper()
	ctx := asOperator(context.Background())
	svc := f.tp.app.Engagements
	kickoff := time.Now().Add(-48 * time.Hour).UTC()
	if _, err := svc.ScheduleEvent(ctx, f.eng.ID, engagements.EventInput{Kind: "meeting", Title: "Kickoff", TimeZone: "UTC",
		Starts: kickoff.Format("2006-01-02 15:04"), Ends: kickoff.Add(time.Hour).Format("2006-01-02 15:04")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetSuccessPlan(ctx, f.eng.ID, engagements.SuccessPlanInput{Goals: "mail in Exchange Online", Owner: "pat@partner.example",
		Agreed: kickoff.Format("2006-01-02")}); err != nil {
		t.Fatal(err)
	}
	if err := svc.ExitPhase(ctx, f.eng.ID, "Initiate", "Fiona"); err != nil {
		t.Fatal(err)
	}
}

func TestCompletingTasksOpensTheGate(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	gates := "/engagements/" + itoa(f.eng.ID) + "/gates"
	gateRow := func(body, phase string) string {
		i := strings.Index(body, `<tr id="gate-`+strings.ToLower(phase)+`">`)
		if i < 0 {
			t.Fatalf("no row for %s in %s", phase, body)
		}
		j := strings.Index(body[i:], "</tr>")
		return body[i : i+j]
	}
	res := f.partner.hx("GET", gates, nil)
	if res.status != http.StatusOK || !strings.Contains(gateRow(res.body, "Assess"), "Blocked") {
		t.Fatalf("Assess gate before: %d %s", res.status, res.body)
	}
	if strings.Contains(res.body, "<html") {
		t.Fatal("the gates partial is a whole page")
	}
	exitInitiate(t, f)
	// Complete every mandatory Assess task, as the task dialog does.
	var done int
	for _, task := range f.tasks {
		if task.Phase != "Assess" || !task.Mandatory {
			continue
		}
		if res := f.partner.get("/tasks/" + itoa(task.ID) + "/edit"); res.status != http.StatusOK || !strings.Contains(res.body, `<label for="t-status">`) {
			t.Fatalf("edit task %s: %d", task.TaskID, res.status)
		}
		res := f.partner.hx("POST", "/tasks/"+itoa(task.ID), url.Values{"status": {engagements.Complete}, "percent": {"0"}, "notes": {"done in the workshop"},
			"minutes": {"30"}, "time_note": {"workshop"}})
		if res.status != http.StatusOK {
			t.Fatalf("complete %s: %d %s", task.TaskID, res.status, res.body)
		}
		if !strings.Contains(res.header.Get("HX-Trigger"), "gates-changed") {
			t.Errorf("no gates-changed event: %q", res.header.Get("HX-Trigger"))
		}
		if !strings.HasPrefix(res.body, `<tr id="task-`+itoa(task.ID)+`"`) || !strings.Contains(res.body, "Complete") || !strings.Contains(res.body, "30 min") ||
			!strings.Contains(res.body, "100%") {
			t.Errorf("the answer is not the task's new row: %s", res.body)
		}
		done++
	}
	if done == 0 {
		t.Fatal("no mandatory Assess task")
	}
	res = f.partner.hx("GET", gates, nil)
	row := gateRow(res.body, "Assess")
	if !strings.Contains(row, "Ready to exit") || !strings.Contains(row, "Pass the Assess gate") {
		t.Fatalf("Assess gate after its tasks are complete: %s", row)
	}
	if res := f.partner.post("/engagements/"+itoa(f.eng.ID)+"/phases/Assess/exit", nil); res.status != http.StatusSeeOther {
		t.Fatalf("pass the gate: %d %s", res.status, res.body)
	}
	if row := gateRow(f.partner.hx("GET", gates, nil).body, "Assess"); !strings.Contains(row, "Exited") {
		t.Fatalf("Assess after passing: %s", row)
	}
	// A gate with work left refuses, saying what is in the way.
	res = f.partner.post("/engagements/"+itoa(f.eng.ID)+"/phases/Remediate/exit", nil)
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "cannot be exited yet") {
		t.Fatalf("Remediate exit: %d", res.status)
	}
	// Bad input answers in the dialog.
	task := f.task(t, "1700")
	res = f.partner.hx("POST", "/tasks/"+itoa(task.ID), url.Values{"status": {"Finished"}})
	if res.status != http.StatusBadRequest || res.header.Get("HX-Retarget") != "#task-dialog-body" || !strings.Contains(res.body, "unknown status") {
		t.Fatalf("unknown status: %d %v %s", res.status, res.header, res.body)
	}
	res = f.partner.hx("POST", "/tasks/"+itoa(task.ID), url.Values{"status": {"In Progress"}, "minutes": {"5000"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "1440") {
		t.Fatalf("too many minutes: %d %s", res.status, res.body)
	}
	if got, _ := f.tp.app.Store.EngagementTask(context.Background(), task.ID); got.Status != engagements.NotStarted {
		t.Fatalf("a refused form changed the task: %+v", got)
	}
}

func TestTaskFilters(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	base := "/engagements/" + itoa(f.eng.ID)
	// Due dates: two overdue (one of them finished, so not late), one ahead.
	day := func(d int) time.Time {
		y, m, dd := time.Now().AddDate(0, 0, d).Date()
		return time.Date(y, m, dd, 0, 0, 0, 0, time.Local)
	}
	for i, due := range map[int]time.Time{3: day(-3), 7: day(-10), 11: day(5), 12: day(-1)} {
		f.tasks[i].Due = due
		if i == 7 { // (Not Required: a Complete exit task could be reopened by its gate)
			f.tasks[i].Status = engagements.NotRequired
		}
		if err := f.tp.app.Store.UpdateEngagementTask(context.Background(), f.tasks[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	late := func(task store.EngagementTask) bool {
		return !task.Due.IsZero() && task.Due.Before(time.Now()) && !engagements.Finished(task.Status)
	}
	byDue := func() []string {
		var due, rest []string
		for _, i := range []int{7, 3, 12, 11} { // soonest first
			due = append(due, itoa(f.tasks[i].ID))
		}
		for _, task := range f.tasks {
			if task.Due.IsZero() && !task.Retired {
				rest = append(rest, itoa(task.ID))
			}
		}
		return append(due, rest...)
	}()
	expect := func(keep func(store.EngagementTask) bool) []string {
		var out []string
		for _, task := range f.tasks {
			if !task.Retired && keep(task) {
				out = append(out, itoa(task.ID))
			}
		}
		return out
	}
	forService := func(sv string) func(store.EngagementTask) bool {
		return func(task store.EngagementTask) bool {
			return len(task.Services) == 0 || slices.Contains(task.Services, sv)
		}
	}
	cases := []struct {
		name, query string
		keep        func(store.EngagementTask) bool
	}{
		{"default is all services", "", func(store.EngagementTask) bool { return true }},
		{"core", "?service=core", forService("core")},
		{"overdue", "?due=late", late},
		{"overdue of a phase", "?due=late&phase=" + url.QueryEscape(f.tasks[3].Phase), func(task store.EngagementTask) bool { return late(task) && task.Phase == f.tasks[3].Phase }},
		{"all services", "?service=", func(store.EngagementTask) bool { return true }},
		{"exchange", "?service=exchange", forService("exchange")},
		{"phase", "?service=&phase=Remediate", func(task store.EngagementTask) bool { return task.Phase == "Remediate" }},
		{"role", "?service=&role=ftm", func(task store.EngagementTask) bool { return task.Role == "ftm" }},
		{"status", "?service=&status=Not+Started", func(task store.EngagementTask) bool { return task.Status == engagements.NotStarted }},
		{"none", "?service=&status=Complete", func(store.EngagementTask) bool { return false }},
		{"combined", "?service=core&phase=Enable&role=frp", func(task store.EngagementTask) bool {
			return forService("core")(task) && task.Phase == "Enable" && task.Role == "frp"
		}},
	}
	cases = append(cases, struct {
		name, query string
		keep        func(store.EngagementTask) bool
	}{"sorted by due date", "?sort=due", nil})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := byDue
			if tc.keep != nil {
				want = expect(tc.keep)
			}
			page := f.partner.get(base + tc.query)
			if page.status != http.StatusOK {
				t.Fatalf("page: %d", page.status)
			}
			if got := rows(page.body); !slices.Equal(got, want) {
				t.Errorf("page rows %v, want %v", got, want)
			}
			part := f.partner.hx("GET", base+"/tasks"+tc.query, nil)
			if part.status != http.StatusOK || strings.Contains(part.body, "<html") {
				t.Fatalf("partial: %d", part.status)
			}
			if got := rows(part.body); !slices.Equal(got, want) {
				t.Errorf("partial rows %v, want %v", got, want)
			}
		})
	}
	if n := len(expect(forService("core"))); n == 0 || n == len(expect(func(store.EngagementTask) bool { return true })) {
		t.Fatalf("the Core Onboarding view does not narrow anything (%d tasks)", n)
	}
}

func TestViewerSeesNoControls(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	task := f.task(t, "1700")
	res := f.viewer.get("/engagements/" + itoa(f.eng.ID) + "?service=")
	if res.status != http.StatusOK {
		t.Fatalf("viewer: %d", res.status)
	}
	if len(rows(res.body)) == 0 {
		t.Fatal("the viewer sees no task")
	}
	for _, hidden := range []string{"/edit", `method="post" action="/engagements/`, "Pass the", "Add item", "Report issue", "Schedule an event", "Assign someone"} {
		if strings.Contains(res.body, hidden) {
			t.Errorf("the viewer sees %q", hidden)
		}
	}
	cases := []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/tasks/" + itoa(task.ID) + "/edit", nil},
		{"POST", "/tasks/" + itoa(task.ID), url.Values{"status": {"Complete"}}},
		{"POST", "/engagements/" + itoa(f.eng.ID) + "/checklist", url.Values{"title": {"x"}, "severity": {"low"}}},
		{"POST", "/engagements/" + itoa(f.eng.ID) + "/people", url.Values{"role": {"ftm"}, "person": {"Vic"}}},
		{"POST", "/engagements/" + itoa(f.eng.ID) + "/phases/Initiate/exit", nil},
		{"POST", "/engagements/" + itoa(f.eng.ID) + "/migration-gate/override", url.Values{"as": {"Vic"}, "reason": {"x"}}},
		{"GET", "/customers/" + itoa(f.own.ID) + "/engagements/new", nil},
		{"POST", "/customers/" + itoa(f.own.ID) + "/engagements", url.Values{"name": {"Mine"}, "seats": {"900"}}},
	}
	for _, tc := range cases {
		var res response
		if tc.method == "GET" {
			res = f.viewer.get(tc.path)
		} else {
			res = f.viewer.post(tc.path, tc.form)
		}
		if res.status != http.StatusForbidden {
			t.Errorf("viewer %s %s: %d", tc.method, tc.path, res.status)
		}
	}
	if got, _ := f.tp.app.Store.EngagementTask(context.Background(), task.ID); got.Status != engagements.NotStarted {
		t.Fatalf("the viewer changed a task: %+v", got)
	}
	// Reading the audit log is reading.
	if res := f.viewer.get("/engagements/" + itoa(f.eng.ID) + "/audit"); res.status != http.StatusOK {
		t.Fatalf("viewer audit: %d", res.status)
	}
}

func TestAuditShowsTaskChanges(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	task := f.task(t, "3190")
	if res := f.partner.post("/tasks/"+itoa(task.ID), url.Values{"status": {engagements.InProgress}, "percent": {"40"}, "notes": {"checking UPNs"}}); res.status != http.StatusSeeOther {
		t.Fatalf("update without htmx: %d %s", res.status, res.body)
	}
	f.tp.user("fran@fasttrack.example", auth.FastTrackManager)
	if res := f.partner.post("/engagements/"+itoa(f.eng.ID)+"/people", url.Values{"role": {"ftm"}, "person": {"fran@fasttrack.example"}}); res.status != http.StatusSeeOther {
		t.Fatalf("assign: %d", res.status)
	}
	for _, path := range []string{"/engagements/" + itoa(f.eng.ID) + "/audit", "/customers/" + itoa(f.own.ID) + "/audit"} {
		res := f.partner.get(path)
		if res.status != http.StatusOK {
			t.Fatalf("%s: %d", path, res.status)
		}
		for _, want := range []string{"tasks.update", "task 3190", "&#34;status&#34;:&#34;Not Started&#34;", "&#34;status&#34;:&#34;In Progress&#34;",
			"&#34;percent&#34;:&#34;40&#34;", "checking UPNs", "<td>pat@partner.example</td>", "people.assign", "fran@fasttrack.example"} {
			if !strings.Contains(res.body, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
	}
	// The other engagement's log is empty, and the other partner may not read this one.
	if res := f.outsider.get("/engagements/" + itoa(f.otherEng.ID) + "/audit"); res.status != http.StatusOK || strings.Contains(res.body, "task 3190") {
		t.Fatalf("the other engagement's log: %d", res.status)
	}
	if res := f.outsider.get("/customers/" + itoa(f.own.ID) + "/audit"); res.status != http.StatusNotFound {
		t.Fatalf("another tenant's audit log: %d", res.status)
	}
}

func TestNewEngagementForm(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	path := "/customers/" + itoa(f.own.ID) + "/engagements"
	f.partner.get(path + "/new")
	cases := []struct {
		name string
		form url.Values
		want int
		says string
	}{
		{"no name", url.Values{"name": {" "}, "seats": {"900"}}, http.StatusBadRequest, "needs a name"},
		{"seats not a number", url.Values{"name": {"X"}, "seats": {"many"}}, http.StatusBadRequest, "number of licensed seats"},
		{"too few seats", url.Values{"name": {"X"}, "seats": {"100"}}, http.StatusBadRequest, "not eligible"},
		{"migration needs 500", url.Values{"name": {"X"}, "seats": {"300"}, "workloads": {"gmail"}}, http.StatusBadRequest, "data migration"},
		{"unknown service", url.Values{"name": {"X"}, "seats": {"300"}, "services": {"lotus"}}, http.StatusBadRequest, "unknown service"},
		{"same name", url.Values{"name": {"Contoso onboarding"}, "seats": {"300"}}, http.StatusBadRequest, "already"},
		{"created", url.Values{"name": {"Wave two"}, "seats": {"900"}, "services": {"exchange", "sharepoint"}, "workloads": {"gmail"}, "hybrid": {"1"}},
			http.StatusSeeOther, ""},
	}
	for _, tc := range cases {
		res := f.partner.post(path, tc.form)
		if res.status != tc.want || !strings.Contains(res.body, tc.says) {
			t.Errorf("%s: %d %s", tc.name, res.status, res.body)
		}
		if tc.want == http.StatusBadRequest && !strings.Contains(res.body, `value="`+tc.form.Get("name")+`"`) {
			t.Errorf("%s: the form lost what was typed", tc.name)
		}
		if tc.want == http.StatusSeeOther {
			loc := res.header.Get("Location")
			page := f.partner.get(loc)
			if !strings.HasPrefix(loc, "/engagements/") || page.status != http.StatusOK || !strings.Contains(page.body, "Wave two") ||
				!strings.Contains(page.body, "hybrid") || !strings.Contains(page.body, "Gmail") {
				t.Errorf("created engagement at %q: %d", loc, page.status)
			}
		}
	}
}

func TestChecklistIssuesEventsPeople(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	base := "/engagements/" + itoa(f.eng.ID)
	for _, who := range []string{"mia@partner.example", "lee@partner.example", "fran@fasttrack.example"} {
		f.tp.user(who, auth.FastTrackEngineer)
	}
	f.partner.get(base)
	steps := []struct {
		name, path string
		form       url.Values
		want       int
		shows      string // on the page afterwards (or in the error)
	}{
		{"add checklist item", base + "/checklist", url.Values{"title": {"Fix duplicate UPNs"}, "severity": {"high"}, "owner": {"pat@partner.example"}}, http.StatusSeeOther,
			"checklist: Fix duplicate UPNs"},
		{"checklist needs a title", base + "/checklist", url.Values{"title": {""}, "severity": {"high"}}, http.StatusBadRequest, "needs a title"},
		{"report issue", base + "/issues", url.Values{"mailbox": {"ann@contoso.example"}, "description": {"calendar missing"}, "migrated_at": {"2026-01-05T10:00"}},
			http.StatusSeeOther, "calendar missing"},
		{"issue needs a time", base + "/issues", url.Values{"mailbox": {"ann@contoso.example"}, "description": {"x"}, "migrated_at": {"soon"}},
			http.StatusBadRequest, "migrated_at"},
		{"schedule event", base + "/events", url.Values{"kind": {"wave"}, "title": {"Wave 1"}, "starts": {"2026-12-05T18:00"}, "ends": {"2026-12-05T23:00"},
			"time_zone": {"Europe/Berlin"}}, http.StatusSeeOther, "2026-12-05 18:00"},
		{"event in an unknown zone", base + "/events", url.Values{"kind": {"wave"}, "title": {"W"}, "starts": {"2026-12-05T18:00"}, "ends": {"2026-12-05T23:00"},
			"time_zone": {"Mars/Olympus"}}, http.StatusBadRequest, "not a time zone"},
		{"assign free text", base + "/people", url.Values{"role": {"mvm"}, "person": {"Mia"}}, http.StatusBadRequest, "Mia has no account"},
		{"assign", base + "/people", url.Values{"role": {"mvm"}, "person": {"Mia@partner.example"}}, http.StatusSeeOther, `<span class="badge">mia &lt;mia@partner.example&gt;`},
		{"assign one to leave", base + "/people", url.Values{"role": {"mvm"}, "person": {"lee@partner.example"}}, http.StatusSeeOther, `aria-label="Remove lee@partner.example from`},
		{"remove from a role not held", base + "/people/remove", url.Values{"role": {"ftm"}, "person": {"lee@partner.example"}}, http.StatusBadRequest, "they hold mvm"},
		{"remove", base + "/people/remove", url.Values{"role": {"mvm"}, "person": {"lee@partner.example"}}, http.StatusSeeOther, `<span class="badge">mia &lt;mia@partner.example&gt;`},
		{"assign to no role", base + "/people", url.Values{"role": {"boss"}, "person": {"mia@partner.example"}}, http.StatusBadRequest, "unknown role"},
		{"assign a manager", base + "/people", url.Values{"role": {"ftm"}, "person": {"fran@fasttrack.example"}}, http.StatusSeeOther, "Override the migration gate"},
		{"override needs a reason", base + "/migration-gate/override", url.Values{"reason": {" "}}, http.StatusBadRequest, "needs a reason"},
		// The override is the signed-in person's (who holds the ftm role),
		// whatever name the form sends.
		{"override", base + "/migration-gate/override", url.Values{"as": {"Fran"}, "reason": {"pilot users only"}}, http.StatusSeeOther,
			"by pat@partner.example: pilot users only"},
	}
	for _, st := range steps {
		res := f.partner.post(st.path, st.form)
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
	if page := f.partner.get(base).body; strings.Contains(page, `aria-label="Remove lee@partner.example`) {
		t.Error("Lee still shows in a role after being removed")
	}
	// A partner of the customer without the gate's role may not override.
	f.tp.user("quinn@partner.example", auth.Partner, f.own.ID)
	if res := f.tp.signedIn("quinn@partner.example").post(base+"/migration-gate/override", url.Values{"as": {"Fran"}, "reason": {"x"}}); res.status != http.StatusForbidden ||
		!strings.Contains(res.body, "FastTrack Manager") {
		t.Errorf("a partner without the ftm role overrode: %d %s", res.status, res.body)
	}
	// Resolving the item takes it out of gate 1700's way.
	items, _ := f.tp.app.Store.ChecklistItems(context.Background(), f.eng.ID)
	if len(items) != 1 {
		t.Fatalf("checklist: %+v", items)
	}
	if res := f.partner.post(fmt.Sprintf("%s/checklist/%d", base, items[0].ID), url.Values{"state": {"resolved"}, "owner": {"pat@partner.example"}}); res.status != http.StatusSeeOther {
		t.Fatalf("resolve: %d %s", res.status, res.body)
	}
	if res := f.partner.post(fmt.Sprintf("%s/checklist/%d", base, items[0].ID), url.Values{"state": {"gone"}}); res.status != http.StatusBadRequest {
		t.Fatalf("unknown state: %d", res.status)
	}
	if res := f.partner.post(fmt.Sprintf("%s/checklist/%d", base, 99999), url.Values{"state": {"resolved"}}); res.status != http.StatusBadRequest {
		t.Fatalf("an item of no engagement: %d", res.status)
	}
	if body := f.partner.get(base).body; strings.Contains(body, "checklist: Fix duplicate UPNs") {
		t.Error("a resolved item still blocks gate 1700")
	}
}

// TestChangeScopeInThePortal: the engagement's scope form starts from its
// scope; a bad number is refused next to the field; dropping a workload
// retires its tasks, adding it back brings them back, and the page says so.
func TestChangeScopeInThePortal(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	base := "/engagements/" + itoa(f.eng.ID)
	if page := f.partner.get(base); !strings.Contains(page.body, `href="`+base+`/scope"`) {
		t.Fatal("no Change scope link on the engagement page")
	}
	form := f.partner.get(base + "/scope")
	if form.status != http.StatusOK || !strings.Contains(form.body, "Change the scope of Contoso onboarding") ||
		!strings.Contains(form.body, `value="800"`) || !regexp.MustCompile(`value="imap" checked`).MatchString(form.body) {
		t.Fatalf("scope form: %d %.2000s", form.status, form.body)
	}
	active := func() int {
		tasks, _ := f.tp.app.Store.EngagementTasks(context.Background(), f.eng.ID)
		n := 0
		for _, tk := range tasks {
			if !tk.Retired {
				n++
			}
		}
		return n
	}
	before := active()
	steps := []struct {
		name      string
		form      url.Values
		want      int
		shows     string
		fewer     bool
		sameAsNow bool
	}{
		{"seats not a number", url.Values{"seats": {"many"}, "services": {"exchange", "teams"}}, http.StatusBadRequest, "number of licensed seats", false, true},
		{"below the onboarding minimum", url.Values{"seats": {"10"}, "services": {"exchange", "teams"}}, http.StatusBadRequest, "seats", false, true},
		{"drop the workload", url.Values{"seats": {"800"}, "services": {"exchange", "teams"}}, http.StatusSeeOther, "Scope changed: 0 task(s) added", true, false},
		{"add it back", url.Values{"seats": {"800"}, "services": {"exchange", "teams"}, "workloads": {"imap"}}, http.StatusSeeOther, "task(s) added, 0 retired.", false, true},
	}
	for _, st := range steps {
		res := f.partner.post(base+"/scope", st.form)
		if res.status != st.want {
			t.Fatalf("%s: %d %.1000s", st.name, res.status, res.body)
		}
		body := res.body
		if st.want == http.StatusSeeOther {
			body = f.partner.get(res.header.Get("Location")).body
		}
		if !strings.Contains(body, st.shows) || st.name == "add it back" && strings.Contains(body, "Scope changed: 0 task(s) added") {
			t.Errorf("%s: the page does not show %q", st.name, st.shows)
		}
		if n := active(); st.fewer && n >= before || st.sameAsNow && n != before {
			t.Errorf("%s: %d tasks apply, %d before", st.name, n, before)
		}
	}
	// A customer technical lead may not change the scope.
	f.tp.user("lead@contoso.example", auth.CustomerTechnicalLead, f.own.ID)
	lead := f.tp.signedIn("lead@contoso.example")
	if page := lead.get(base); strings.Contains(page.body, base+"/scope") {
		t.Error("a technical lead sees Change scope")
	}
	if res := lead.post(base+"/scope", url.Values{"seats": {"800"}, "services": {"exchange"}}); res.status != http.StatusForbidden {
		t.Errorf("a technical lead changed the scope: %d", res.status)
	}
}

// TestTaskTablePages: more tasks than a page are shown a page at a time,
// the pages cover every selected task once, and the filter is kept.
func TestTaskTablePages(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	// Every service and workload in scope: more tasks than a page.
	pb := f.tp.app.Engagements.Playbook
	in := engagements.Input{CustomerID: f.own.ID, Name: "Everything", Seats: 25000, Hybrid: true}
	for _, sv := range pb.Services {
		in.Services = append(in.Services, sv.ID)
	}
	for _, w := range pb.Workloads {
		in.Workloads = append(in.Workloads, w.ID)
	}
	e, tasks, err := f.tp.app.Engagements.Create(asOperator(context.Background()), in)
	if err != nil {
		t.Fatal(err)
	}
	base := "/engagements/" + itoa(e.ID)
	active := 0
	for _, tk := range tasks {
		if !tk.Retired {
			active++
		}
	}
	if active <= tasksPerPage {
		t.Fatalf("the fixture has %d tasks; the test needs more than a page (%d)", active, tasksPerPage)
	}
	row := regexp.MustCompile(`<tr id="task-(\d+)"`)
	seen := map[string]bool{}
	pages := (active + tasksPerPage - 1) / tasksPerPage
	for page := 1; page <= pages; page++ {
		res := f.partner.get(fmt.Sprintf("%s?service=&page=%d", base, page))
		if res.status != http.StatusOK {
			t.Fatalf("page %d: %d", page, res.status)
		}
		rows := row.FindAllStringSubmatch(res.body, -1)
		if want := min(tasksPerPage, active-(page-1)*tasksPerPage); len(rows) != want {
			t.Fatalf("page %d has %d rows, want %d", page, len(rows), want)
		}
		for _, m := range rows {
			if seen[m[1]] {
				t.Fatalf("task %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		if !strings.Contains(res.body, fmt.Sprintf("Page %d of %d", page, pages)) ||
			(page < pages) != strings.Contains(res.body, fmt.Sprintf(`/tasks?page=%d&amp;service=" hx-target="#tasks" hx-swap="outerHTML">Next</a>`, page+1)) ||
			(page > 1) != strings.Contains(res.body, ">Previous</a>") {
			t.Errorf("page %d: pager %q", page, regexp.MustCompile(`(?s)<nav class="pager".*?</nav>`).FindString(res.body))
		}
	}
	if len(seen) != active {
		t.Fatalf("the pages showed %d tasks of %d", len(seen), active)
	}
	// A filtered selection that fits one page has no pager.
	if res := f.partner.get(base + "?service=&role=frp"); res.status != http.StatusOK || strings.Contains(res.body, `class="pager"`) {
		t.Error("a one-page selection shows a pager")
	}
}

// TestReportIssueWithoutTheMigrationTime: the issue form's time is
// optional; left empty, the issue takes the end of the mailbox's last
// completed Full pass in the customer's projects, and a mailbox without one
// is refused next to the form saying so.
func TestReportIssueWithoutTheMigrationTime(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	ctx := context.Background()
	st := f.tp.app.Store
	fullEnd := time.Date(2026, 11, 13, 18, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		customer     int64
		source, dest string
		pass         string
	}{
		{f.own.ID, "ann@contoso.example", "ann@contoso.onmicrosoft.com", "full"},
		{f.own.ID, "bob@contoso.example", "bob@contoso.onmicrosoft.com", "prestage"},
		{f.other.ID, "cy@contoso.example", "cy@fabrikam.onmicrosoft.com", "full"}, // another customer's project
	} {
		var eps []store.Endpoint
		for _, side := range []string{"old", "new"} {
			ep := store.Endpoint{CustomerID: c.customer, Name: c.source + " " + side, Type: "imap", Host: "imap.example", Port: 993, Security: "tls"}
			if err := st.CreateEndpoint(ctx, &ep); err != nil {
				t.Fatal(err)
			}
			eps = append(eps, ep)
		}
		p := store.Project{CustomerID: c.customer, Name: "Mail " + c.source, Kind: "mailbox", SourceID: eps[0].ID, DestID: eps[1].ID, MaxConcurrent: 10, MaxErrors: 50}
		if err := st.CreateProject(ctx, &p); err != nil {
			t.Fatal(err)
		}
		it := store.Item{ProjectID: p.ID, Source: c.source, Dest: c.dest}
		if err := st.CreateItems(ctx, []*store.Item{&it}); err != nil {
			t.Fatal(err)
		}
		mb, err := st.Mailbox(ctx, store.MailboxKey{Source: "imaps://" + c.source, Destination: "imaps://" + c.dest})
		if err != nil {
			t.Fatal(err)
		}
		run := &store.Run{Pass: c.pass, Started: fullEnd.Add(-time.Hour), ItemID: it.ID}
		if err := st.StartRun(ctx, mb, run); err != nil {
			t.Fatal(err)
		}
		run.Ended, run.Status = fullEnd, "completed"
		if err := st.FinishRun(ctx, mb, run); err != nil {
			t.Fatal(err)
		}
		it.MailboxID, it.Status, it.LastPass = mb, store.StatusCompleted, c.pass
		if err := st.UpdateItem(ctx, it); err != nil {
			t.Fatal(err)
		}
	}

	base := "/engagements/" + itoa(f.eng.ID)
	page := f.partner.get(base).body
	if !strings.Contains(page, `<input id="is-migrated" name="migrated_at" type="datetime-local" aria-describedby="is-migrated-hint">`) ||
		!strings.Contains(page, `id="is-migrated-hint"`) || !strings.Contains(page, "last completed Full pass") {
		t.Fatalf("the issue form's time is not optional with a hint:\n%s", page)
	}
	given := time.Date(2026, 11, 16, 9, 0, 0, 0, time.Local) // no zone cookie: the server's zone
	for _, tc := range []struct {
		name, mailbox, migratedAt string
		want                      int
		shows                     string // the issue's migration time on the page, or the error
	}{
		{"from the Full pass, by destination address in another case", "Ann@Contoso.onmicrosoft.com", "", http.StatusSeeOther,
			`<th scope="row">Ann@Contoso.onmicrosoft.com</th><td>mail gone</td><td><time datetime="2026-11-13T18:30:00Z">`},
		{"a given time wins", "ann@contoso.example", "2026-11-16T09:00", http.StatusSeeOther,
			`<th scope="row">ann@contoso.example</th><td>mail gone</td><td><time datetime="` + given.UTC().Format(time.RFC3339) + `">`},
		{"only a Pre-stage", "bob@contoso.example", "", http.StatusBadRequest,
			"Ferry found no completed Full pass for bob@contoso.example in this customer&#39;s migration projects; give the time"},
		{"only in another customer's project", "cy@contoso.example", "", http.StatusBadRequest, "no completed Full pass for cy@contoso.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.partner.post(base+"/issues", url.Values{"mailbox": {tc.mailbox}, "description": {"mail gone"}, "migrated_at": {tc.migratedAt}})
			if res.status != tc.want {
				t.Fatalf("%d %s", res.status, res.body)
			}
			body := res.body
			if tc.want == http.StatusSeeOther {
				body = f.partner.get(base).body
			}
			if !strings.Contains(body, tc.shows) {
				t.Errorf("the page does not show %q:\n%s", tc.shows, body)
			}
		})
	}
}

// TestCustomerCannotChangeAnotherRolesTask: the customer's project manager
// may not change the FastTrack Manager's exit task 1701, whatever the
// portal's form sends; the person holding the role may.
func TestCustomerCannotChangeAnotherRolesTask(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	f.tp.user("carl@contoso.example", auth.CustomerProjectManager, f.own.ID)
	if err := f.tp.app.Engagements.Assign(asOperator(context.Background()), f.eng.ID, "customer-pm", "carl@contoso.example"); err != nil {
		t.Fatal(err)
	}
	carl := f.tp.signedIn("carl@contoso.example")
	exit := f.task(t, "1701")
	res := carl.hx("POST", "/tasks/"+itoa(exit.ID), url.Values{"status": {engagements.Complete}, "percent": {"100"}, "notes": {"all on"}})
	if res.status != http.StatusForbidden || !strings.Contains(res.body, "FastTrack Manager") {
		t.Fatalf("the customer PM set 1701: %d %s", res.status, res.body)
	}
	got, err := f.tp.app.Store.EngagementTask(context.Background(), exit.ID)
	if err != nil || got.Status != engagements.NotStarted {
		t.Fatalf("1701 changed: %+v %v", got, err)
	}
	// The FastTrack Manager's role holder may.
	res = f.partner.hx("POST", "/tasks/"+itoa(exit.ID), url.Values{"status": {engagements.InProgress}, "percent": {"10"}, "notes": {"started"}})
	if res.status != http.StatusOK {
		t.Fatalf("the holder of the ftm role on 1701: %d %s", res.status, res.body)
	}
}

// TestMyTasksPage: the signed-in person's tasks, from the roles they hold,
// in the engagements of customers they may see.
func TestMyTasksPage(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	carl := f.tp.user("carl@contoso.example", auth.CustomerProjectManager, f.own.ID)
	ctx := asOperator(context.Background())
	if err := f.tp.app.Engagements.Assign(ctx, f.eng.ID, "mvm", "carl@contoso.example"); err != nil {
		t.Fatal(err)
	}
	// Carl cannot be given a role in the other tenant's engagement, which he may not see...
	if err := f.tp.app.Engagements.Assign(ctx, f.otherEng.ID, "frp", "carl@contoso.example"); err == nil {
		t.Fatal("Carl was given a role at a customer he may not see")
	}
	// ...and a role held from before (his account since limited) stays off his page.
	if err := f.tp.app.Store.Assign(ctx, store.Assignment{EngagementID: f.otherEng.ID, Role: "frp", Person: carl.Email, UserID: carl.ID}); err != nil {
		t.Fatal(err)
	}
	res := f.tp.signedIn("carl@contoso.example").get("/my/tasks")
	if res.status != http.StatusOK {
		t.Fatalf("my tasks: %d %s", res.status, res.body)
	}
	mvm := f.task(t, "2474")
	if !strings.Contains(res.body, mvm.Name) || !strings.Contains(res.body, "Contoso onboarding") {
		t.Errorf("my tasks lack the mvm task %s", mvm.Name)
	}
	if strings.Contains(res.body, "Fabrikam onboarding") || strings.Contains(res.body, f.task(t, "1141").Name) {
		t.Error("my tasks show another role's or another tenant's task")
	}
	if res := f.viewer.get("/my/tasks"); res.status != http.StatusOK || !strings.Contains(res.body, "no tasks") {
		t.Errorf("a person without roles: %d %s", res.status, res.body)
	}
}

// TestEngagementShowsItsMigrations: the engagement page lists its projects
// with their items by status and failures; another engagement's is not there.
func TestEngagementShowsItsMigrations(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	ctx := asOperator(context.Background())
	st := f.tp.app.Store
	var eps []store.Endpoint
	for _, name := range []string{"old", "new"} {
		ep := store.Endpoint{CustomerID: f.own.ID, Name: name, Type: "imap", Host: name + ".example", Port: 993, Security: "tls"}
		if err := st.CreateEndpoint(ctx, &ep); err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	for _, p := range []store.Project{
		{CustomerID: f.own.ID, EngagementID: f.eng.ID, Name: "Wave 1 mailboxes", Kind: "mailbox", SourceID: eps[0].ID, DestID: eps[1].ID, MaxConcurrent: 10, MaxErrors: 50},
		{CustomerID: f.own.ID, EngagementID: f.eng.ID + 1000, Name: "Someone else's wave", Kind: "mailbox", SourceID: eps[0].ID, DestID: eps[1].ID, MaxConcurrent: 10, MaxErrors: 50},
	} {
		if err := st.CreateProject(ctx, &p); err != nil {
			t.Fatal(err)
		}
		items := []*store.Item{{ProjectID: p.ID, Source: "a@x", Dest: "a@y", Status: store.StatusCompleted}, {ProjectID: p.ID, Source: "b@x", Dest: "b@y", Status: store.StatusFailed}}
		if err := st.CreateItems(ctx, items); err != nil {
			t.Fatal(err)
		}
	}
	// A pass queued for later shows as the project's next scheduled pass.
	ps, _ := st.ProjectsOf(ctx, f.own.ID)
	wave1 := ps[slices.IndexFunc(ps, func(p store.Project) bool { return p.Name == "Wave 1 mailboxes" })]
	items, _, _ := st.Items(ctx, wave1.ID, store.ItemFilter{})
	at := time.Now().Add(3 * time.Hour)
	if res, err := f.tp.app.Service.StartPass(ctx, wave1.ID, projects.PassRequest{Pass: "verify", At: at, Selection: projects.Selection{ItemIDs: []int64{items[0].ID}}}); err != nil || res.Queued != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	body := f.partner.get("/engagements/" + itoa(f.eng.ID)).body
	i := strings.Index(body, `id="migrations-section"`)
	if i < 0 {
		t.Fatal("the engagement page has no migrations section")
	}
	section := body[i:]
	section = section[:strings.Index(section, "</section>")]
	for _, want := range []string{"Wave 1 mailboxes", "Queued: 1", "Failed: 1", "MB/h", "Next scheduled passes", "verify of a@x at <time datetime=\"" + at.UTC().Format(time.RFC3339)} {
		if !strings.Contains(section, want) {
			t.Errorf("the migrations section lacks %q: %s", want, section)
		}
	}
	if strings.Contains(section, "Someone else") {
		t.Error("another engagement's project is shown")
	}
}
