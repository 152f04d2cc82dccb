package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store"
)

// refuseLogin makes an item Failed the way a refused login leaves it: a
// failure of the whole mailbox in the server's words.
func refuseLogin(t *testing.T, st store.Store, it store.Item) store.Item {
	t.Helper()
	ctx := context.Background()
	mb, err := st.Mailbox(ctx, store.MailboxKey{Source: "imap://" + it.Source, Destination: "imap://" + it.Dest})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordFailures(ctx, mb, []store.Failure{{Pass: "verify", ServerText: imapconn.LoginRefused + "; the server said: NO [AUTHENTICATIONFAILED]",
		Hint: "check the user name and password", At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	it.MailboxID, it.Status, it.LastPass, it.Errors = mb, store.StatusFailed, "verify", 1
	if err := st.UpdateItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	got, err := st.Item(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestPassSummaryBeforeItStarts: a pass button opens the summary (what
// the pass does, items selected, those that cannot migrate and why, the
// estimate, the schedule); starting from it leaves out the refused login.
func TestPassSummaryBeforeItStarts(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 3)
	refuseLogin(t, b.tp.app.Store, b.items[0])
	path := fmt.Sprintf("/projects/%d", b.project.ID)
	b.partner.get(path)
	for _, tc := range []struct {
		name string
		hx   bool
	}{{"page without script", false}, {"dialog by htmx", true}} {
		form := url.Values{"pass": {"full"}, "scope": {"all"}, "step": {"plan"}}
		var res response
		if tc.hx {
			res = b.partner.hx("POST", path+"/passes/plan", form)
		} else {
			res = b.partner.post(path+"/passes/plan", form)
		}
		for _, want := range []string{`<strong id="plan-selected">3</strong> Items Selected`, `<strong id="plan-cannot">1</strong> Cannot Migrate`,
			b.items[0].Source + "</a>: its login was refused", "Full copies everything not copied yet", "Estimated duration: not known yet",
			"Migration scheduling", "Automatically start the migration at", `id="plan-start"`, "Start Full"} {
			if !strings.Contains(res.body, want) {
				t.Errorf("%s: the summary lacks %q", tc.name, want)
			}
		}
		if res.status != http.StatusOK || tc.hx == strings.Contains(res.body, "<html") {
			t.Fatalf("%s: %d %.300s", tc.name, res.status, res.body)
		}
		if !tc.hx && !strings.Contains(res.body, `<dialog id="pass-dialog" aria-labelledby="pass-dialog-title" open>`) {
			t.Errorf("without script the summary is not shown open")
		}
		if !tc.hx {
			checkAccessible(t, "summary", res.body)
		}
	}
	// Nothing selected: the refusal says what to do.
	res := b.partner.hx("POST", path+"/passes/plan", url.Values{"pass": {"full"}, "scope": {"selected"}})
	if res.status != http.StatusBadRequest || res.header.Get("HX-Retarget") != "#pass-dialog-body" || !strings.Contains(res.body, "select mailboxes in the table first") {
		t.Fatalf("nothing selected: %d %v %s", res.status, res.header, res.body)
	}
	// Started from the summary, scheduled: two queued, the refused login left out.
	at := time.Now().Add(2 * time.Hour).Format("2006-01-02T15:04")
	res = b.partner.post(path+"/passes", url.Values{"pass": {"full"}, "scope": {"all"}, "when": {"at"}, "at": {at}})
	if res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Location"), "queued=2") || !strings.Contains(res.header.Get("Location"), "excluded=1") {
		t.Fatalf("start: %d %s", res.status, res.header.Get("Location"))
	}
	page := b.partner.get(res.header.Get("Location")).body
	if !strings.Contains(page, "Full Migration: 2 mailbox(es) queued; 1 left out because their login was refused") {
		t.Errorf("no confirmation: %s", page)
	}
	// The Queued mailboxes say why they wait.
	if n := strings.Count(page, "scheduled for "); n != 2 {
		t.Errorf("%d mailboxes say they are scheduled, want 2", n)
	}
}

// TestNoPassWithoutMailboxes: the pass buttons are disabled, saying why.
func TestNoPassWithoutMailboxes(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 0)
	path := fmt.Sprintf("/projects/%d", b.project.ID)
	page := b.partner.get(path).body
	if n := strings.Count(page, `disabled aria-describedby="pass-none"`); n != 5 || !strings.Contains(page, "the project has no mailbox yet") {
		t.Fatalf("%d disabled pass buttons: %s", n, page)
	}
	res := b.partner.post(path+"/passes/plan", url.Values{"pass": {"verify"}, "scope": {"all"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "the project has no mailbox yet") {
		t.Fatalf("plan in an empty project: %d", res.status)
	}
}

// TestMigratedColumnAndLiveProgress: the table shows what each mailbox's
// passes copied and the running pass's progress; the live stream carries
// it as the pass writes its counts, and the throughput draws it.
func TestMigratedColumnAndLiveProgress(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 2)
	st := b.tp.app.Store
	ctx := context.Background()
	it := b.items[0]
	mb, _ := st.Mailbox(ctx, store.MailboxKey{Source: "imap://" + it.Source, Destination: "imap://" + it.Dest})
	run := &store.Run{Pass: "full", Started: time.Now().Add(-time.Minute), ItemID: it.ID}
	if err := st.StartRun(ctx, mb, run); err != nil {
		t.Fatal(err)
	}
	if err := st.SetItemStatus(ctx, it.ID, store.StatusRunning, "full", 0); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/projects/%d", b.project.ID)
	page := b.partner.get(path).body
	if !strings.Contains(page, "<th scope=\"col\">Migrated</th>") || !strings.Contains(page, `value="0" aria-label="Progress of the running pass of `+it.Source+`">`) {
		t.Fatalf("no Migrated column or progress: %s", page)
	}
	// The page says what it was drawn with, so that the live updates redraw the throughput on any change after it.
	if !strings.Contains(page, `data-copied="1/1/0/0"`) {
		t.Error("the throughput section does not say what it shows")
	}
	if !strings.Contains(page, "copied no message yet") {
		t.Error("the throughput does not say that nothing was copied yet")
	}

	stream := openLive(t, b, path+"/live")
	run.Copied, run.CopiedBytes, run.ToCopy, run.ToCopyBytes = 40, 2_500_000, 100, 10_000_000
	if err := st.ProgressRun(ctx, mb, run); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"id":%d,"errors":0,"migrated":"40 msg · 2.5 MB · 25%%","running":true,"percent":25}`, it.ID)
	if !stream.waitFor(want) {
		t.Fatalf("the live stream never said %s", want)
	}
	page = b.partner.get(path).body
	if !strings.Contains(page, "40 msg · 2.5 MB") || !strings.Contains(page, `value="25"`) {
		t.Errorf("the page does not show the progress")
	}
	tp := b.partner.hx("GET", path+"/throughput", nil)
	if tp.status != http.StatusOK || !strings.Contains(tp.body, `<svg class="chart"`) || strings.Contains(tp.body, "<html") {
		t.Fatalf("throughput while the pass runs: %d %s", tp.status, tp.body)
	}
	// Finished: the mailbox's total stays, the bar goes.
	run.Ended, run.Status, run.Copied, run.CopiedBytes = time.Now(), "completed", 100, 10_000_000
	st.FinishRun(ctx, mb, run)
	page = b.partner.get(path).body
	if !strings.Contains(page, "100 msg · 10.0 MB") || strings.Contains(page, "25%") {
		t.Errorf("after the pass: %s", page)
	}
}

type liveStream struct {
	lines chan string
}

func openLive(t *testing.T, b *migrationBundle, path string) *liveStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", b.tp.srv.URL+path, nil)
	u := *req.URL
	u.Scheme = "https"
	for _, ck := range b.partner.http.Jar.Cookies(&u) {
		req.AddCookie(ck)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("live: %v %v", err, res)
	}
	t.Cleanup(func() { res.Body.Close() })
	s := &liveStream{lines: make(chan string, 100)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			default:
			}
		}
	}()
	return s
}

func (s *liveStream) waitFor(want string) bool {
	for line := range s.lines {
		if strings.Contains(line, want) {
			return true
		}
	}
	return false
}

// TestPagerNumbersPages: 1 2 3 … N, not only Previous and Next.
func TestPagerNumbersPages(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 10*pageSize)
	path := fmt.Sprintf("/projects/%d", b.project.ID)
	for _, tc := range []struct {
		page  int
		links []int
	}{
		{1, []int{2, 3, 10}},
		{5, []int{1, 3, 4, 6, 7, 10}},
		{10, []int{1, 8, 9}},
	} {
		body := b.partner.get(fmt.Sprintf("%s?page=%d", path, tc.page)).body
		var got []int
		for _, m := range regexp.MustCompile(`aria-label="Page (\d+)"`).FindAllStringSubmatch(body, -1) {
			var n int
			fmt.Sscan(m[1], &n)
			got = append(got, n)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.links) || !strings.Contains(body, fmt.Sprintf(`<span aria-current="page" class="current">%d</span>`, tc.page)) ||
			!strings.Contains(body, "…") {
			t.Errorf("page %d links to %v, want %v", tc.page, got, tc.links)
		}
	}
}

// TestFixAFailedMailboxAndRetry: the mailbox page offers Edit, Retry
// errors and Remove where its failure shows; saved and retried, it says so.
func TestFixAFailedMailboxAndRetry(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 2)
	it := refuseLogin(t, b.tp.app.Store, b.items[0])
	itemPath := fmt.Sprintf("/items/%d", it.ID)
	page := b.partner.get(itemPath).body
	for _, want := range []string{`id="fix-box"`, `href="#h-edit" id="fix-edit"`, `id="fix-retry"`, "Remove this mailbox", "check the user name and password"} {
		if !strings.Contains(page, want) {
			t.Errorf("the failed mailbox's page lacks %q", want)
		}
	}
	// The table offers the fix where the failure shows.
	table := b.partner.get(fmt.Sprintf("/projects/%d", b.project.ID)).body
	if !strings.Contains(table, fmt.Sprintf(`<a class="js-fix" href="/items/%d#h-edit" aria-label="Fix %s">Fix</a>`, it.ID, it.Source)) {
		t.Error("the table offers no Fix for the failed mailbox")
	}
	res := b.partner.post(itemPath+"/edit", url.Values{"destination": {it.Dest}, "source_login": {"alice.admin"}, "source_password": {"the-right-one"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", res.status, res.body)
	}
	page = b.partner.get(res.header.Get("Location")).body
	if !strings.Contains(page, "Changes saved. Run Retry errors") || strings.Contains(page, "the-right-one") {
		t.Error("no confirmation after the edit (or the password shown)")
	}
	res = b.partner.post(fmt.Sprintf("/projects/%d/passes", b.project.ID), url.Values{"pass": {"retry"}, "scope": {"selected"}, "item": {itoa(it.ID)}, "back": {"item"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != fmt.Sprintf("%s?queued=1&pass=retry", itemPath) {
		t.Fatalf("retry: %d %s", res.status, res.header.Get("Location"))
	}
	page = b.partner.get(res.header.Get("Location")).body
	if !strings.Contains(page, "Retry errors queued for this mailbox") || !strings.Contains(page, ">Queued</span>") {
		t.Errorf("after Retry errors: %s", page)
	}
	if strings.Contains(page, `id="fix-retry"`) {
		t.Error("Retry errors offered again while the retry is queued")
	}
}

// TestEngagementReportFiles: the engagement page links its report, as
// Markdown, CSV and JSON files; another customer's answers 404.
func TestEngagementReportFiles(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	path := "/engagements/" + itoa(f.eng.ID)
	page := f.partner.get(path).body
	for _, format := range []string{"markdown", "csv", "json"} {
		link := fmt.Sprintf(`href="%s/report?format=%s" download`, path, format)
		if !strings.Contains(page, link) {
			t.Errorf("no link %s", link)
		}
	}
	for _, tc := range []struct{ format, ct, name, want string }{
		{"markdown", "text/markdown", ".md", "# Contoso"},
		{"csv", "text/csv", ".csv", "task_id,phase,name"},
		{"json", "application/json", ".json", `"tasks"`},
	} {
		res := f.partner.get(path + "/report?format=" + tc.format)
		if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), tc.ct) ||
			!strings.Contains(res.header.Get("Content-Disposition"), tc.name) || !strings.Contains(res.body, tc.want) {
			t.Errorf("%s: %d %v %.200s", tc.format, res.status, res.header, res.body)
		}
	}
	if res := f.partner.get(path + "/report?format=pdf"); res.status != http.StatusBadRequest {
		t.Errorf("pdf: %d", res.status)
	}
	if res := f.partner.get("/engagements/" + itoa(f.otherEng.ID) + "/report"); res.status != http.StatusNotFound && res.status != http.StatusForbidden {
		t.Errorf("another customer's report: %d", res.status)
	}
}

// TestConfirmationsAfterForms: a passed gate and a saved task say so.
func TestConfirmationsAfterForms(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	ctx := asOperator(context.Background())
	kickoff := time.Now().Add(-48 * time.Hour).UTC()
	if _, err := f.tp.app.Engagements.ScheduleEvent(ctx, f.eng.ID, engagements.EventInput{Kind: "meeting", Title: "Kickoff", TimeZone: "UTC",
		Starts: kickoff.Format("2006-01-02 15:04"), Ends: kickoff.Add(time.Hour).Format("2006-01-02 15:04")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tp.app.Engagements.SetSuccessPlan(ctx, f.eng.ID, engagements.SuccessPlanInput{Goals: "mail in Exchange Online", Owner: "pat@partner.example",
		Agreed: time.Now().AddDate(0, 0, -1).Format("2006-01-02")}); err != nil {
		t.Fatal(err)
	}
	f.partner.get("/engagements/" + itoa(f.eng.ID))
	res := f.partner.post("/engagements/"+itoa(f.eng.ID)+"/phases/Initiate/exit", nil)
	if res.status != http.StatusSeeOther {
		t.Fatalf("pass the Initiate gate: %d %s", res.status, res.body)
	}
	if page := f.partner.get(res.header.Get("Location")).body; !strings.Contains(page, `<div class="notice" role="status">Gate passed`) {
		t.Errorf("no confirmation after the gate: %s", res.header.Get("Location"))
	}
	task := f.task(t, "1700")
	res = f.partner.hx("POST", "/tasks/"+itoa(task.ID), url.Values{"status": {engagements.InProgress}})
	if res.status != http.StatusOK || !strings.Contains(res.header.Get("HX-Trigger"), `"ferry-flash":"Task 1700 saved."`) {
		t.Errorf("task saved in the dialog: %d %q", res.status, res.header.Get("HX-Trigger"))
	}
	res = f.partner.post("/tasks/"+itoa(task.ID), url.Values{"status": {engagements.InProgress}})
	if page := f.partner.get(res.header.Get("Location")).body; res.status != http.StatusSeeOther || !strings.Contains(page, "Task saved.") {
		t.Errorf("task saved without script: %d %s", res.status, res.header.Get("Location"))
	}
}

// TestProjectFormsFeedback: the new-project form does not offer one
// endpoint for both sides; a failed bulk add's error is brought into view.
func TestProjectFormsFeedback(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 1)
	form := b.partner.get(fmt.Sprintf("/customers/%d/projects/new", b.customer.ID)).body
	selected := regexp.MustCompile(`<option value="(\d*)" selected>`).FindAllStringSubmatch(form, -1)
	if len(selected) != 2 || selected[0][1] != "" || selected[1][1] != "" || !strings.Contains(form, "Choose the source") {
		t.Errorf("preselected %v, want none (the person chooses each side)", selected)
	}
	res := b.partner.postMultipart(fmt.Sprintf("/projects/%d/import", b.project.ID), map[string]string{"step": "preview", "csv": "   "}, "", "", "")
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, `id="import-error" tabindex="-1" data-scroll-into-view>The bulk add did not go through: choose a CSV file`) {
		t.Fatalf("failed bulk add: %d %s", res.status, res.body)
	}
}

// TestLiveStreamCatchesUpFromItsPage: a stream opened with the time its
// page was read (?since=, Unix ms) carries what changed since. (The hub's
// own polls look back 3 s too; the browser journeys, on a loaded machine,
// are where a later connection showed the need.)
func TestLiveStreamCatchesUpFromItsPage(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 2)
	drawn := time.Now().Add(-30 * time.Second)
	b.partner.get(fmt.Sprintf("/projects/%d", b.project.ID))
	it := refuseLogin(t, b.tp.app.Store, b.items[1])
	stream := openLive(t, b, fmt.Sprintf("/projects/%d/live?since=%d", b.project.ID, drawn.UnixMilli()))
	want := fmt.Sprintf(`{"id":%d,"status":"Failed"`, it.ID)
	if !stream.waitFor(want) {
		t.Fatalf("the stream never said %s", want)
	}
}
