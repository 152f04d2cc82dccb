package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// demoMailPassword is the password of the demo's mailboxes (cli/serve_demo.go).
const demoMailPassword = "demo-mail-password"

// workShot saves what the browser shows (the viewport: small files) and
// checks the page's basic accessibility.
func workShot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	shot(t, ctx, dir, name)
	accessible(t, ctx, name)
}

// noSidewaysScroll fails when the page is wider than the window (a phone
// would scroll it sideways).
func noSidewaysScroll(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var over int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.documentElement.scrollWidth - document.documentElement.clientWidth`, &over)); err != nil {
		t.Fatal(err)
	}
	if over > 1 {
		t.Logf("%s: the page is %d px wider than the window", name, over)
	}
}

// TestDailyWorkInABrowser drives the migration engineer's day in
// Chromium, at desktop width and at 390 px (a phone): start a pass from
// its summary and watch each mailbox's bytes arrive live, fix a mailbox
// whose login failed and retry it in place, schedule a pass and see why
// the mailbox waits, and export the per-mailbox statistics.
func TestDailyWorkInABrowser(t *testing.T) {
	t.Parallel()
	for _, width := range []int64{1280, 390} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			t.Parallel()
			d := startDemo(t, 3, 150)
			ctx := browser(t)
			if err := chromedp.Run(ctx, emulation.SetDeviceMetricsOverride(width, 900, 1, width < 600)); err != nil {
				t.Fatal(err)
			}
			dir := screenshotDir(t)
			name := func(s string) string { return fmt.Sprintf("work-%d-%s", width, s) }
			signIn(t, ctx, d, "partner@partner.example")
			passFromSummaryLive(t, ctx, d, dir, name)
			fixFailedMailboxAndRetry(t, ctx, d, dir, name)
			scheduledPassSaysWhy(t, ctx, d, dir, name)
			exportStatistics(t, ctx, d)
		})
	}
}

// passFromSummaryLive starts Full on every mailbox from the pass's summary
// and watches, without a reload, each mailbox's Migrated bytes and the
// throughput chart appear.
func passFromSummaryLive(t *testing.T, ctx context.Context, d *demoServer, dir string, name func(string) string) {
	t.Helper()
	if err := chromedp.Run(ctx, openFromDemoCustomer(d, "Mailboxes wave 1", "#pass-form")); err != nil {
		t.Fatalf("open the project: %v", err)
	}
	workShot(t, ctx, dir, name("project"))
	noSidewaysScroll(t, ctx, name("project"))
	var selected, cannot, what string
	err := chromedp.Run(ctx,
		chromedp.Click(`#scope-all`, chromedp.ByQuery),
		chromedp.Click(`#pass-form button[value=full]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#plan-start`, chromedp.ByQuery),
		chromedp.Text(`#plan-selected`, &selected, chromedp.ByQuery),
		chromedp.Text(`#plan-cannot`, &cannot, chromedp.ByQuery),
		chromedp.Text(`#plan-what`, &what, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("open the Full pass's summary: %v", err)
	}
	if selected != "3" || cannot != "0" || !strings.Contains(what, "Full copies everything") {
		t.Errorf("summary: %s selected, %s cannot migrate, %q", selected, cannot, what)
	}
	workShot(t, ctx, dir, name("pass-summary"))
	err = chromedp.Run(ctx,
		chromedp.Click(`#plan-start`, chromedp.ByQuery),
		chromedp.WaitVisible(`//div[@class="notice" and contains(., "Full Migration: 3 mailbox(es) queued")]`),
		chromedp.Evaluate(`window.ferryNotReloaded = true; window.ferrySawProgress = false;
			setInterval(() => { if (document.querySelector("tr[data-item] progress:not([hidden])")) window.ferrySawProgress = true; }, 50)`, nil),
		chromedp.Poll(`(() => {
			const rows = [...document.querySelectorAll("tr[data-item]")];
			return rows.length === 3 && window.ferryNotReloaded === true &&
				rows.every(r => r.querySelector(".js-status").textContent.trim() === "Completed" &&
					/^\d+ msg · [\d.]+ [kMG]B$/.test(r.querySelector(".js-migrated-text").textContent.trim())) &&
				!!document.querySelector("#throughput svg.chart");
		})()`, nil, chromedp.WithPollingTimeout(3*time.Minute)),
	)
	if err != nil {
		var state string
		chromedp.Run(ctx, chromedp.Evaluate(`(async () => [...document.querySelectorAll("tr[data-item]")].map(r => r.innerText).join(" | ") + " || " + document.querySelector("#throughput").innerText +
			" || the server now: " + (await (await fetch(document.querySelector("[data-throughput-url]").dataset.throughputUrl, {headers: {"HX-Request": "true"}})).text()).slice(0, 400))()`,
			&state, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		t.Fatalf("Full from the summary, Migrated and throughput live: %v (%s)", err, state)
	}
	var sawProgress bool
	chromedp.Run(ctx, chromedp.Evaluate(`window.ferrySawProgress`, &sawProgress))
	t.Logf("a progress bar showed while the pass ran: %v", sawProgress)
	if err := chromedp.Run(ctx, chromedp.ScrollIntoView(`#h-items`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	workShot(t, ctx, dir, name("pass-live"))
}

// fixFailedMailboxAndRetry gives a mailbox a wrong password, sees Verify
// credentials fail it live, follows Fix from its row, sets the right
// password and retries it on its page until it completes.
func fixFailedMailboxAndRetry(t *testing.T, ctx context.Context, d *demoServer, dir string, name func(string) string) {
	t.Helper()
	var itemURL string
	err := chromedp.Run(ctx,
		openFromDemoCustomer(d, "Mailboxes wave 1", "#pass-form"),
		chromedp.Evaluate(`document.querySelector('tr[data-item] th a[href^="/items/"]').href`, &itemURL),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Run(ctx,
		chromedp.Navigate(itemURL),
		chromedp.WaitVisible(`#ed-source_password`, chromedp.ByQuery),
		chromedp.SendKeys(`#ed-source_password`, "not-the-password", chromedp.ByQuery),
		chromedp.Click(`//button[text()="Save changes"]`),
		chromedp.WaitVisible(`//div[@class="notice" and contains(., "Changes saved")]`),
	)
	if err != nil {
		t.Fatalf("give the mailbox a wrong password: %v", err)
	}
	id := itemURL[strings.LastIndex(itemURL, "/")+1:]
	row := `tr[data-item="` + id + `"]`
	err = chromedp.Run(ctx,
		openFromDemoCustomer(d, "Mailboxes wave 1", "#pass-form"),
		chromedp.Click(`#item-`+id, chromedp.ByQuery),
		chromedp.Click(`#pass-form button[value=verify]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#plan-start`, chromedp.ByQuery),
		chromedp.Click(`#plan-start`, chromedp.ByQuery),
		chromedp.WaitVisible(`//div[@class="notice" and contains(., "Verify credentials: 1 mailbox(es) queued")]`),
		chromedp.Poll(`document.querySelector('`+row+` .js-status').textContent.trim() === "Failed"`, nil, chromedp.WithPollingTimeout(time.Minute)),
	)
	if err != nil {
		t.Fatalf("Verify credentials fails the mailbox: %v", err)
	}
	// The Fix link appears with the failure (live, or on the next load).
	err = chromedp.Run(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(row+` a.js-fix`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("no Fix link in the failed row: %v", err)
	}
	if err := chromedp.Run(ctx, chromedp.ScrollIntoView(row, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	workShot(t, ctx, dir, name("failed-row"))
	err = chromedp.Run(ctx,
		chromedp.Click(row+` a.js-fix`, chromedp.ByQuery),
		chromedp.WaitVisible(`#fix-box`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("follow Fix: %v", err)
	}
	if body := text(t, ctx, `#h-errors + div, section[aria-labelledby="h-errors"]`, chromedp.ByQuery); !strings.Contains(body, "check the user name and password") {
		t.Errorf("the mailbox page does not say what to fix: %s", body)
	}
	if err := chromedp.Run(ctx, chromedp.ScrollIntoView(`#h-errors`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	workShot(t, ctx, dir, name("item-fix"))
	err = chromedp.Run(ctx,
		chromedp.SendKeys(`#ed-source_password`, demoMailPassword, chromedp.ByQuery),
		chromedp.Click(`//button[text()="Save changes"]`),
		chromedp.WaitVisible(`//div[@class="notice" and contains(., "Changes saved. Run Retry errors")]`),
		chromedp.Click(`#fix-retry`, chromedp.ByQuery),
		chromedp.WaitVisible(`//div[@class="notice" and contains(., "Retry errors queued for this mailbox")]`),
		chromedp.Evaluate(`window.ferryNotReloaded = true`, nil),
		chromedp.Poll(`document.querySelector("tbody[data-item] .js-status").textContent.trim() === "Completed" && window.ferryNotReloaded === true`, nil,
			chromedp.WithPollingTimeout(time.Minute)),
	)
	if err != nil {
		var status string
		chromedp.Run(ctx, chromedp.Text(`tbody[data-item]`, &status, chromedp.ByQuery))
		t.Fatalf("fix the password and retry in place: %v (%s)", err, status)
	}
	workShot(t, ctx, dir, name("item-retried"))
}

// scheduledPassSaysWhy schedules a Trial of one mailbox from the summary
// and sees its row say when it will start.
func scheduledPassSaysWhy(t *testing.T, ctx context.Context, d *demoServer, dir string, name func(string) string) {
	t.Helper()
	at := time.Now().Add(26 * time.Hour).Format("2006-01-02T15:04")
	var id string
	err := chromedp.Run(ctx,
		openFromDemoCustomer(d, "Mailboxes wave 1", "#pass-form"),
		chromedp.Evaluate(`document.querySelectorAll("tr[data-item]")[1].dataset.item`, &id),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Run(ctx,
		chromedp.Click(`#item-`+id, chromedp.ByQuery),
		chromedp.Click(`#pass-form button[value=trial]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#plan-when-at`, chromedp.ByQuery),
		chromedp.Click(`#plan-when-at`, chromedp.ByQuery),
		chromedp.SetValue(`#plan-at`, at, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("schedule a Trial in the summary: %v", err)
	}
	workShot(t, ctx, dir, name("pass-scheduled"))
	var why string
	err = chromedp.Run(ctx,
		chromedp.Click(`#plan-start`, chromedp.ByQuery),
		chromedp.WaitVisible(`//div[@class="notice" and contains(., "Trial: 1 mailbox(es) queued")]`),
		chromedp.Text(`tr[data-item="`+id+`"] .js-wait`, &why, chromedp.ByQuery),
	)
	if err != nil || !strings.HasPrefix(why, "scheduled for ") {
		t.Fatalf("the scheduled mailbox says %q (%v)", why, err)
	}
}

// exportStatistics downloads the per-mailbox statistics the project page
// links, as the browser's session.
func exportStatistics(t *testing.T, ctx context.Context, d *demoServer) {
	t.Helper()
	var got struct {
		CSV  string `json:"csv"`
		JSON string `json:"json"`
	}
	err := chromedp.Run(ctx,
		openFromDemoCustomer(d, "Mailboxes wave 1", "#pass-form"),
		chromedp.Evaluate(`(async () => {
			const link = f => document.querySelector('a[href$="/statistics?format=' + f + '"]');
			return {csv: await (await fetch(link("csv").href)).text(), json: await (await fetch(link("json").href)).text()};
		})()`, &got, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	if err != nil {
		t.Fatalf("export statistics: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(got.CSV), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "source,") || !strings.Contains(got.CSV, "user01@contoso.example") {
		t.Errorf("statistics CSV: %q", got.CSV)
	}
	if !strings.Contains(got.JSON, `"mailboxes"`) || strings.Count(got.JSON, `"item_id"`) != 3 {
		t.Errorf("statistics JSON: %.300s", got.JSON)
	}
}
