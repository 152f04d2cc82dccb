package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// demoServer is `ferry serve --demo` running as a process.
type demoServer struct {
	base     string // http://127.0.0.1:PORT
	password string // of the demo accounts
	cmd      *exec.Cmd
}

var demoPassword = regexp.MustCompile(`password for all: (\S+)\)`)

// startDemo runs `ferry serve --demo` on a free port (with the flags
// given besides) and reads the sign-in details it prints.
func startDemo(t *testing.T, mailboxes, messages int, flags ...string) *demoServer {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(ferryBin, append([]string{"serve", "--demo", "--listen", addr, "--demo-mailboxes", fmt.Sprint(mailboxes),
		"--demo-messages", fmt.Sprint(messages), "--shutdown-timeout", "5s"}, flags...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &demoServer{base: "http://" + addr, cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Error("ferry serve --demo did not stop within 20 s of SIGTERM")
		}
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := demoPassword.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case d.password = <-found:
	case <-time.After(2 * time.Minute):
		t.Fatal("ferry serve --demo printed no sign-in details")
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		res, err := http.Get(d.base + "/signin")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the portal does not answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return d
}

// browser starts headless Debian Chromium.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1280, 900),
		// A reader far from the server: times are shown and read in the browser's zone.
		chromedp.Env("TZ=Asia/Tokyo"))
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		opts = append(opts, chromedp.ExecPath("/usr/bin/chromium"))
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 6*time.Minute)
	t.Cleanup(cancel3)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium: %v (make test installs the chromium package)", err)
	}
	return ctx
}

// screenshotDir is where the browser tests leave their pictures for
// review (test artefacts): $FERRY_SCREENSHOTS, relative to the
// repository's root (FERRY_SCREENSHOTS=docs/img makes the pictures of the
// docs), else bin/screenshots.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("FERRY_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("bin", "screenshots")
	}
	if !filepath.IsAbs(dir) {
		// go test runs in cmd/ferry: a relative directory is the repository's.
		dir = filepath.Join("..", "..", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// page checks the page now shown: a screenshot for review, then basic
// accessibility: one h1, no skipped heading level, a label (or an
// accessible name) on every control, and no missing image text.
func page(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("%s: screenshot: %v", name, err)
	}
	path := filepath.Join(screenshotDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	accessible(t, ctx, name)
}

// accessible checks basic accessibility of the page now shown: one h1,
// no skipped heading level, a label (or an accessible name) on every
// control, and no missing image text.
func accessible(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var problems []string
	err := chromedp.Run(ctx, chromedp.Evaluate(`(() => {
		const out = [];
		const h1 = document.querySelectorAll("h1").length;
		if (h1 !== 1) out.push(h1 + " h1 headings");
		let last = 0;
		document.querySelectorAll("h1,h2,h3,h4,h5,h6").forEach(h => {
			const n = +h.tagName[1];
			if (last && n > last + 1) out.push("heading " + h.tagName + " '" + h.textContent.trim() + "' skips a level");
			last = n;
		});
		document.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(e => {
			if (!(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
				out.push("control without a label: " + e.outerHTML.slice(0, 120));
		});
		document.querySelectorAll("button, a[href]").forEach(e => {
			if (!e.textContent.trim() && !e.getAttribute("aria-label") && !e.getAttribute("title"))
				out.push("control without a name: " + e.outerHTML.slice(0, 120));
		});
		document.querySelectorAll("img:not([alt])").forEach(e => out.push("image without alt: " + e.outerHTML.slice(0, 120)));
		return out;
	})()`, &problems))
	if err != nil {
		t.Fatalf("%s: accessibility check: %v", name, err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", name, p)
	}
}

// signIn signs in through the sign-in form.
func signIn(t *testing.T, ctx context.Context, d *demoServer, email string) {
	t.Helper()
	err := chromedp.Run(ctx,
		chromedp.Navigate(d.base+"/signin"),
		chromedp.WaitVisible(`#email`, chromedp.ByID),
		chromedp.SendKeys(`#email`, email, chromedp.ByID),
		chromedp.SendKeys(`#password`, d.password, chromedp.ByID),
		chromedp.Submit(`#password`, chromedp.ByID),
		chromedp.WaitVisible(`//h1[text()="Dashboard"]`),
	)
	if err != nil {
		t.Fatalf("sign in as %s: %v", email, err)
	}
}

// text returns the text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string, opts ...chromedp.QueryOption) string {
	t.Helper()
	var s string
	if err := chromedp.Run(ctx, chromedp.Text(sel, &s, opts...)); err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// TestPortalInABrowser drives `ferry serve --demo` in Chromium the way a
// newcomer would.
func TestPortalInABrowser(t *testing.T) {
	t.Parallel()
	d := startDemo(t, 6, 40)
	ctx := browser(t)

	// Sign-in page, then the dashboard.
	if err := chromedp.Run(ctx, chromedp.Navigate(d.base+"/signin"), chromedp.WaitVisible(`#email`, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	page(t, ctx, "01-signin")
	signIn(t, ctx, d, "admin@ferry.example")
	page(t, ctx, "02-dashboard")

	// Create a customer.
	err := chromedp.Run(ctx,
		chromedp.Navigate(d.base+"/customers"),
		chromedp.WaitVisible(`#c-name`, chromedp.ByID),
		chromedp.SendKeys(`#c-name`, "Fabrikam", chromedp.ByID),
		chromedp.SendKeys(`#c-domain`, "fabrikam.example", chromedp.ByID),
		chromedp.Submit(`#c-name`, chromedp.ByID),
		chromedp.WaitVisible(`//h1[text()="Fabrikam"]`),
	)
	if err != nil {
		t.Fatalf("create a customer: %v", err)
	}
	page(t, ctx, "03-customer")

	// An endpoint of the new customer, with credentials (write-only).
	err = chromedp.Run(ctx,
		chromedp.Click(`//a[text()="New endpoint"]`),
		chromedp.WaitVisible(`#f-name`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-name`, "Fabrikam Exchange", chromedp.ByQuery),
		chromedp.SendKeys(`#f-host`, "mail.fabrikam.example", chromedp.ByQuery),
		chromedp.Click(`#f-cred-provide`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-admin_user`, "migration-admin", chromedp.ByQuery),
		chromedp.SendKeys(`#f-password`, "endpoint-browser-secret", chromedp.ByQuery),
		chromedp.Submit(`#f-name`, chromedp.ByQuery),
		chromedp.WaitVisible(`//h1[contains(., "Fabrikam Exchange")]`),
	)
	if err != nil {
		t.Fatalf("create an endpoint: %v", err)
	}
	page(t, ctx, "03b-endpoint")
	var html string
	if err := chromedp.Run(ctx, chromedp.OuterHTML(`html`, &html, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "endpoint-browser-secret") {
		t.Error("the endpoint page shows the password it was given")
	}

	for _, p := range []struct{ path, name, h1 string }{
		{"/customers", "04-customers", "Customers"},
		{"/users", "05-people", "People"},
		{"/account", "06-account", "My account"},
	} {
		if err := chromedp.Run(ctx, chromedp.Navigate(d.base+p.path), chromedp.WaitVisible(`//h1[text()="`+p.h1+`"]`)); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		page(t, ctx, p.name)
	}

	engagementTaskChangesItsGate(t, ctx, d)
	fullPassCompletesLive(t, ctx, d)
	wavesPlannedAndAccepted(t, ctx, d)
	t.Logf("screenshots in %s", screenshotDir(t))
}

// openFromDemoCustomer goes to the demo customer's page, follows the link
// named link and waits for the element ready (a CSS selector).
func openFromDemoCustomer(d *demoServer, link, ready string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(d.base + "/customers"),
		chromedp.Click(`//a[text()="Contoso (demo)"]`),
		chromedp.WaitVisible(`//a[text()="` + link + `"]`),
		chromedp.Click(`//a[text()="` + link + `"]`),
		chromedp.WaitVisible(ready, chromedp.ByQuery),
	}
}

// engagementTaskChangesItsGate opens the demo engagement, completes a task
// that blocks a phase's exit gate in the task dialog, and sees the gate stop
// listing it without reloading the page.
func engagementTaskChangesItsGate(t *testing.T, ctx context.Context, d *demoServer) {
	t.Helper()
	err := chromedp.Run(ctx, openFromDemoCustomer(d, "Contoso onboarding", "#gates-section"))
	if err != nil {
		t.Fatalf("open the engagement: %v", err)
	}
	page(t, ctx, "07-engagement")
	var blocker struct {
		Row  string `json:"row"`
		Text string `json:"text"`
		Task string `json:"task"`
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(`(() => {
		// A task in the way (not a phase or a criterion, and not an exit
		// task, which waits for the others).
		const li = [...document.querySelectorAll("#gates-section ul.blockers li")].find(l =>
			/^\d+ /.test(l.firstChild.textContent.trim()) && !l.textContent.includes("exit task"));
		if (!li) return {};
		const text = li.firstChild.textContent.trim();
		return {row: li.closest("tr").id, text: text, task: text.split(" ")[0]};
	})()`, &blocker)); err != nil || blocker.Task == "" {
		t.Fatalf("no gate blocker on the page: %+v %v", blocker, err)
	}
	// All services, so the task is in the table, then its dialog.
	err = chromedp.Run(ctx,
		chromedp.SetValue(`#f-service`, "", chromedp.ByQuery),
		// Mark the table, change the filter, and wait for htmx to swap in a new one.
		chromedp.Evaluate(`document.querySelector("#tasks").dataset.old = "1"; document.querySelector("#f-service").dispatchEvent(new Event("change", {bubbles: true}))`, nil),
		// Clicked only once htmx has processed the swapped-in link (before
		// that, a click follows its href to a page of its own), and in the
		// same step as it is found: htmx may swap the table again.
		chromedp.Poll(`(() => { const t = document.querySelector("#tasks"); if (!t || t.dataset.old) return false;
			const a = t.querySelector('a[aria-label="Edit task `+blocker.Task+`"]');
			if (!a || !(a["htmx-internal-data"] && a["htmx-internal-data"].initHash)) return false;
			a.click(); return true; })()`, nil,
			chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.WaitVisible(`#task-dialog #t-status`, chromedp.ByQuery),
		// The dialog's form, too, is sent by htmx only once processed.
		chromedp.Poll(`(() => { const f = document.querySelector("#task-dialog form"); return !!(f && f["htmx-internal-data"] && f["htmx-internal-data"].initHash); })()`, nil,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	if err != nil {
		t.Fatalf("open the dialog of task %s: %v", blocker.Task, err)
	}
	page(t, ctx, "08-task-dialog")
	dctx, dcancel := context.WithTimeout(ctx, time.Minute) // a dialog that never closes fails here, not at the test's deadline
	defer dcancel()
	err = chromedp.Run(dctx,
		chromedp.SetValue(`#t-status`, "Complete", chromedp.ByQuery),
		chromedp.Click(`#task-dialog button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitNotVisible(`#task-dialog`, chromedp.ByQuery),
		chromedp.Poll(`!document.querySelector("#`+blocker.Row+`").innerText.includes(`+"`"+blocker.Text+"`"+`)`, nil,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	if err != nil {
		t.Fatalf("complete task %s and see gate row %s update: %v", blocker.Task, blocker.Row, err)
	}
	if got := text(t, ctx, `#task-dialog`+"", chromedp.ByQuery); got != "" && strings.Contains(got, "error") {
		t.Errorf("the dialog shows: %s", got)
	}
}

// fullPassCompletesLive opens the demo project, runs Full on every mailbox,
// watches every row turn Completed through the live updates (no reload),
// then opens a mailbox's detail page.
func fullPassCompletesLive(t *testing.T, ctx context.Context, d *demoServer) {
	t.Helper()
	err := chromedp.Run(ctx, openFromDemoCustomer(d, "Mailboxes wave 1", "#pass-form"))
	if err != nil {
		t.Fatalf("open the project: %v", err)
	}
	page(t, ctx, "09-project")

	// Bulk add from CSV with one bad row: the preview names it, nothing is added yet.
	pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
	defer pcancel()
	err = chromedp.Run(pctx,
		chromedp.SendKeys(`#bulk-csv`, "source,destination,source_password,destination_password\nnew1@contoso.example,new1@contoso.example,pw1,pw1\nbroken@contoso.example,,pw2,pw2\n", chromedp.ByQuery),
		chromedp.Click(`//button[text()="Preview"]`),
		chromedp.WaitVisible(`//*[contains(., "1 row(s) can be added, 1 problem(s) found")]`),
	)
	if err != nil {
		var body string
		chromedp.Run(ctx, chromedp.Text(`main`, &body, chromedp.ByQuery))
		t.Fatalf("CSV preview with a bad row: %v\n%.3000s", err, body)
	}
	page(t, ctx, "09b-csv-preview")
	err = chromedp.Run(ctx, openFromDemoCustomer(d, "Mailboxes wave 1", "#pass-form"))
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("tr[data-item]").length`, &rows)); err != nil || rows != 6 {
		t.Fatalf("mailboxes after an unconfirmed preview: %d (%v), want the demo's 6", rows, err)
	}
	err = chromedp.Run(ctx,
		chromedp.Click(`#scope-all`, chromedp.ByQuery),
		// The pass's summary opens; it starts from there.
		chromedp.Click(`#pass-form button[value=full]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#plan-start`, chromedp.ByQuery),
		chromedp.Click(`#plan-start`, chromedp.ByQuery),
		chromedp.WaitVisible(`//tr[@data-item]//*[contains(@class,"js-status") and not(normalize-space()="Not Submitted")]`),
		chromedp.WaitReady(`body`, chromedp.ByQuery),
		// From here on the page is not reloaded: rows change through the event stream.
		chromedp.Evaluate(`window.ferryNotReloaded = true`, nil),
		chromedp.Poll(`(() => {
			const s = [...document.querySelectorAll("tr[data-item] .js-status")].map(e => e.textContent.trim());
			return s.length > 0 && s.every(x => x === "Completed") && window.ferryNotReloaded === true;
		})()`, nil, chromedp.WithPollingTimeout(3*time.Minute)),
	)
	if err != nil {
		var statuses []string
		chromedp.Run(ctx, chromedp.Evaluate(`[...document.querySelectorAll("tr[data-item] .js-status")].map(e => e.textContent)`, &statuses))
		t.Fatalf("Full on every mailbox, completed live: %v (statuses %v)", err, statuses)
	}
	page(t, ctx, "10-project-completed")
	err = chromedp.Run(ctx,
		chromedp.Click(`tr[data-item] a[href^="/items/"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//h2[contains(., "istory")]`),
	)
	if err != nil {
		t.Fatalf("open a mailbox's detail: %v", err)
	}
	if body := text(t, ctx, `main`, chromedp.ByQuery); !strings.Contains(strings.ToLower(body), "full") {
		t.Errorf("the item page shows no Full pass in its history: %.500s", body)
	}
	page(t, ctx, "11-item")

	// The browser told the server its time zone, and instants on the page
	// are shown in it (Tokyo: UTC+9, no daylight saving time).
	var zone struct {
		Cookie  bool     `json:"cookie"`
		Times   []string `json:"times"`
		Shown   []string `json:"shown"`
		Stamped int      `json:"stamped"`
	}
	if err := chromedp.Run(ctx, chromedp.Evaluate(`(() => {
		const ts = [...document.querySelectorAll("time[datetime]")];
		return {cookie: document.cookie.includes("ferry_tz=Asia%2FTokyo"), times: ts.map(t => t.getAttribute("datetime")),
			shown: ts.map(t => t.textContent), stamped: ts.filter(t => t.dataset.localized).length};
	})()`, &zone)); err != nil {
		t.Fatal(err)
	}
	if !zone.Cookie || len(zone.Times) == 0 || zone.Stamped != len(zone.Times) {
		t.Fatalf("time zone: %+v", zone)
	}
	for i, at := range zone.Times {
		u, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatal(err)
		}
		if want := u.In(time.FixedZone("JST", 9*3600)).Format("2006-01-02 15:04"); zone.Shown[i] != want {
			t.Errorf("%s shown as %q, want %q (Tokyo)", at, zone.Shown[i], want)
		}
	}
}

// wavesPlannedAndAccepted plans waves for the demo project from an uploaded
// permissions export (the timeline and the permission graph are pictures
// on the page), then accepts them.
func wavesPlannedAndAccepted(t *testing.T, ctx context.Context, d *demoServer) {
	t.Helper()
	perms := filepath.Join(t.TempDir(), "Permissions.csv")
	os.WriteFile(perms, []byte("Mailbox,User,AccessRights\n"+
		"user01@contoso.example,CONTOSO\\user02,FullAccess\n"+
		"user02@contoso.example:\\Calendar,user03@contoso.example,Editor\n"+
		"user04@contoso.example,user05@contoso.example,SendAs\n"+
		"user06@contoso.example,NT AUTHORITY\\SELF,FullAccess\n"), 0o644)
	start := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	err := chromedp.Run(ctx,
		openFromDemoCustomer(d, "Mailboxes wave 1", "#pass-form"),
		chromedp.Click(`//a[text()="Waves"]`),
		chromedp.WaitVisible(`#w-perms`, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#w-perms`, []string{perms}, chromedp.ByQuery),
		chromedp.SetValue(`#w-max`, "2", chromedp.ByQuery),
		chromedp.SetValue(`#w-start`, start, chromedp.ByQuery),
		chromedp.Click(`//button[text()="Plan"]`),
		chromedp.WaitVisible(`//h3[text()="Permission graph"]`),
	)
	if err != nil {
		var body string
		chromedp.Run(ctx, chromedp.Text(`main`, &body, chromedp.ByQuery))
		t.Fatalf("plan waves: %v\n%.2000s", err, body)
	}
	var circles int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("figure.graph svg circle").length`, &circles)); err != nil || circles != 5 {
		t.Errorf("the permission graph draws %d mailboxes (%v), want the 5 tied ones", circles, err)
	}
	page(t, ctx, "12-waves-plan")
	err = chromedp.Run(ctx,
		chromedp.Click(`//button[text()="Accept these waves"]`),
		chromedp.WaitVisible(`//h2[text()="Accepted waves"]`),
	)
	if err != nil {
		var body string
		chromedp.Run(ctx, chromedp.Text(`main`, &body, chromedp.ByQuery))
		t.Fatalf("accept the waves: %v\n%.2000s", err, body)
	}
	if body := text(t, ctx, `main`, chromedp.ByQuery); !strings.Contains(body, "scheduled pass(es)") {
		t.Errorf("after accepting: %.1000s", body)
	}
	page(t, ctx, "13-waves-accepted")
}
