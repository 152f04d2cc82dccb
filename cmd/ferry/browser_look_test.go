package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The widths the portal is checked at: a desktop, and a phone (390 px).
const (
	desktopWidth = 1280
	phoneWidth   = 390
	// docsWidth is the width of the screenshots docs/portal.md shows.
	docsWidth = 1000
)

// shot saves what the browser shows now (the viewport) as name.png.
func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// step runs actions within 30 s; when they fail, it says what the page
// showed and leaves a screenshot of it.
func step(t *testing.T, ctx context.Context, dir, what string, actions ...chromedp.Action) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, actions...); err != nil {
		var url, body string
		chromedp.Run(ctx, chromedp.Location(&url), chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 1500) : ""`, &body))
		shot(t, ctx, dir, "failed-"+regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(what), "-"))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, url, body)
	}
}

// viewport sets the browser's width (and a height to go with it).
func viewport(width int64) chromedp.Action {
	height := int64(900)
	if width <= phoneWidth {
		height = 844
	} else if width == docsWidth {
		height = 700
	}
	return chromedp.EmulateViewport(width, height)
}

// lookChecker is the accessibility checker run on every page: it returns
// the problems it finds.
//   - Text contrast (WCAG 2.2 1.4.3): 4.5:1, or 3:1 for large text (24 px,
//     or 18.66 px bold), against the background behind it.
//   - Every form control has a label; every button and link a name.
//   - Focus (2.4.7, 1.4.11): every control shows an outline of at least
//     2 px when focused from the keyboard, with 3:1 against what is behind it.
//   - Focus order (2.4.3): no positive tabindex, so the keyboard follows
//     the page's order.
//
// Run it after one Tab key press, so that focus() shows the keyboard's focus ring.
const lookChecker = `(() => {
	const out = [];
	const cs = e => getComputedStyle(e);
	const parse = c => {
		const m = c && c.match(/rgba?\(([^)]+)\)/);
		if (!m) return null;
		const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
		return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
	};
	const over = (top, bottom) => ({r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
		b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
	const bgOf = e => {
		const layers = [];
		for (; e && e.nodeType === 1; e = e.parentElement) {
			const bg = parse(cs(e).backgroundColor);
			if (bg && bg.a > 0) { layers.push(bg); if (bg.a >= 1) break; }
		}
		let c = {r: 255, g: 255, b: 255, a: 1};
		for (let i = layers.length - 1; i >= 0; i--) c = over(layers[i], c);
		return c;
	};
	const lum = c => {
		const ch = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
		return 0.2126 * ch(c.r) + 0.7152 * ch(c.g) + 0.0722 * ch(c.b);
	};
	const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
	const shown = e => {
		if (!e.getClientRects().length) return false;
		const s = cs(e);
		if (s.visibility !== "visible") return false;
		const r = e.getBoundingClientRect();
		return r.width > 1 && r.height > 1;
	};
	const name = e => (e.id ? "#" + e.id : e.tagName.toLowerCase() + (e.className && typeof e.className === "string" ? "." + e.className.split(" ")[0] : "")) +
		" '" + (e.textContent || e.value || "").trim().slice(0, 40) + "'";

	// Text contrast.
	const seen = new Set();
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		const e = n.parentElement;
		if (!n.textContent.trim() || !e || seen.has(e)) continue;
		seen.add(e);
		if (e.closest("script,style,noscript,option,select,[aria-hidden=true]") || e.closest(":disabled") || !shown(e)) continue;
		const s = cs(e);
		const inSVG = !!e.closest("svg");
		let fg = parse(inSVG ? s.fill : s.color);
		if (!fg) continue;
		const bg = bgOf(inSVG ? e.closest("svg").parentElement : e);
		if (fg.a < 1) fg = over(fg, bg);
		const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
		const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
		const r = ratio(fg, bg);
		if (r < need) out.push("text contrast " + r.toFixed(2) + ":1 (needs " + need + ":1): " + name(e));
	}

	// Labels and names.
	document.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(e => {
		if (!(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby") && !e.title)
			out.push("control without a label: " + e.outerHTML.slice(0, 100));
	});
	document.querySelectorAll("button, a[href]").forEach(e => {
		if (!e.textContent.trim() && !e.getAttribute("aria-label") && !e.title)
			out.push("control without a name: " + e.outerHTML.slice(0, 100));
	});

	// Focus order and the focus ring.
	document.querySelectorAll("[tabindex]").forEach(e => {
		if (e.tabIndex > 0) out.push("tabindex " + e.tabIndex + " takes " + name(e) + " out of the page's order");
	});
	const focusable = [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex='-1'])")]
		.filter(e => !e.disabled && !e.closest("dialog:not([open])"));
	const was = document.activeElement;
	let checked = 0;
	for (const e of focusable) {
		e.focus();
		if (document.activeElement !== e || !shown(e)) continue;
		checked++;
		const s = cs(e);
		const width = parseFloat(s.outlineWidth);
		if (s.outlineStyle === "none" || !(width >= 2)) {
			out.push("no visible focus ring on " + name(e) + " (outline " + s.outlineStyle + " " + s.outlineWidth + ")");
			continue;
		}
		const oc = parse(s.outlineColor), bg = bgOf(e.parentElement);
		const r = oc ? ratio(oc, bg) : 0;
		if (r < 3) out.push("focus ring contrast " + r.toFixed(2) + ":1 (needs 3:1) on " + name(e));
	}
	if (was && was.focus) was.focus();
	if (focusable.length && !checked) out.push("no control could be focused");
	return out;
})()`

// pagesOf lists the portal's pages a signed-in person can reach by
// following links from the dashboard, one page of each kind (a path with
// its ids taken out), leaving out downloads, streams and signing out.
func pagesOf(t *testing.T, ctx context.Context, d *demoServer) []string {
	t.Helper()
	skip := regexp.MustCompile(`^/(static|api|signout|signin|setup)\b|/live\b|format=|/report|/export|/statistics|\.(csv|json|md)$`)
	ids := regexp.MustCompile(`/\d+`)
	queue, kinds := []string{"/"}, map[string]bool{"/": true}
	var pages []string
	for len(queue) > 0 && len(pages) < 40 {
		p := queue[0]
		queue = queue[1:]
		var links []string
		if err := chromedp.Run(ctx, chromedp.Navigate(d.base+p), chromedp.WaitReady(`body`, chromedp.ByQuery),
			chromedp.Evaluate(`[...document.querySelectorAll("a[href]:not([download])")].map(a => a.getAttribute("href"))`, &links)); err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		pages = append(pages, p)
		for _, l := range links {
			l, _, _ = strings.Cut(l, "#")
			if !strings.HasPrefix(l, "/") || strings.HasPrefix(l, "//") || skip.MatchString(l) {
				continue
			}
			path, _, _ := strings.Cut(l, "?")
			kind := ids.ReplaceAllString(path, "/{id}")
			if !kinds[kind] {
				kinds[kind] = true
				queue = append(queue, l)
			}
		}
	}
	return pages
}

// checkPage checks the page shown at the desktop width and at a phone's:
// the accessibility checker, and no sideways scrolling at 390 px. A page
// with a problem leaves a screenshot of itself.
func checkPage(t *testing.T, ctx context.Context, dir, who, path string) {
	t.Helper()
	var problems []string
	err := chromedp.Run(ctx,
		viewport(desktopWidth),
		chromedp.Navigate(path),
		chromedp.WaitReady(`body`, chromedp.ByQuery),
		// One key press, so the focus ring is the keyboard's.
		chromedp.KeyEvent(kb.Tab),
		chromedp.Evaluate(lookChecker, &problems),
	)
	if err != nil {
		t.Fatalf("%s %s: %v", who, path, err)
	}
	var sideways struct {
		Width int      `json:"width"`
		Wide  []string `json:"wide"`
	}
	err = chromedp.Run(ctx,
		viewport(phoneWidth),
		chromedp.Evaluate(`(() => {
			const w = document.documentElement.scrollWidth;
			// What sticks out, to say what to fix.
			const wide = [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > innerWidth + 1)
				.filter(e => !e.parentElement.closest("table, .scroll, pre"))
				.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className : "") +
					" " + Math.round(e.getBoundingClientRect().right) + "px");
			return {width: w, wide: wide};
		})()`, &sideways),
	)
	if err != nil {
		t.Fatalf("%s %s at %d px: %v", who, path, phoneWidth, err)
	}
	if sideways.Width > phoneWidth {
		problems = append(problems, fmt.Sprintf("at %d px the page is %d px wide (scrolls sideways): %v", phoneWidth, sideways.Width, sideways.Wide))
	}
	if len(problems) == 0 {
		return
	}
	page := path
	if u, err := url.Parse(path); err == nil {
		page = u.Path
	}
	name := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.Split(who, "@")[0]+"-"+page, "-"), "-")
	shot(t, ctx, dir, "problem-"+name+"-phone")
	chromedp.Run(ctx, viewport(desktopWidth))
	shot(t, ctx, dir, "problem-"+name)
	for _, p := range problems {
		t.Errorf("%s %s: %s", who, path, p)
	}
}

// TestPortalLook signs in as each person of the demo (administrator,
// FastTrack Manager, FastTrack Engineer, partner, customer project
// manager), opens every page they can reach, and checks each at a
// desktop's width and a phone's (390 px): text contrast, labels, the
// focus ring and focus order (lookChecker), and no page wider than the
// phone. On the way it takes the screenshots docs/portal.md shows, walking
// each role through its day.
func TestPortalLook(t *testing.T) {
	t.Parallel()
	d := startDemo(t, 4, 20)
	ctx := browser(t)
	dir := screenshotDir(t)
	t.Logf("screenshots in %s", dir)

	// The onboarding manager's day: the dashboard, a task due yesterday
	// set, the overdue tasks one click from the dashboard, the gates.
	signIn(t, ctx, d, "ftm@ferry.example")
	// The task's own page (its form without the dialog), to set a due date.
	var taskPath, engagement string
	step(t, ctx, dir, "open the engagement", viewport(docsWidth), openFromDemoCustomer(d, "Contoso onboarding", "#tasks"),
		chromedp.Location(&engagement))
	step(t, ctx, dir, "the FastTrack Manager's tasks", chromedp.Navigate(engagement+"?role=ftm"), chromedp.WaitVisible(`#tasks`, chromedp.ByQuery),
		chromedp.AttributeValue(`#tasks tbody tr:nth-child(1) a[href$="/edit"]`, "href", &taskPath, nil, chromedp.ByQuery))
	step(t, ctx, dir, "set a task's due date",
		chromedp.Navigate(d.base+taskPath),
		chromedp.WaitVisible(`#t-due`, chromedp.ByQuery),
		chromedp.SetValue(`#t-due`, time.Now().AddDate(0, 0, -1).Format("2006-01-02"), chromedp.ByQuery),
		chromedp.Click(`main form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#tasks`, chromedp.ByQuery))
	step(t, ctx, dir, "the dashboard",
		chromedp.Navigate(d.base+"/"),
		chromedp.WaitVisible(`//h1[text()="Dashboard"]`))
	shot(t, ctx, dir, "ftm-1-dashboard")
	step(t, ctx, dir, "the dashboard's overdue tasks",
		chromedp.Click(`//a[starts-with(., "All 1 overdue task")]`),
		chromedp.WaitVisible(`#tasks tr[data-late]`, chromedp.ByQuery))
	var overdue int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("#tasks tbody tr").length`, &overdue)); err != nil || overdue != 1 {
		t.Errorf("overdue tasks listed: %d (%v), want 1", overdue, err)
	}
	step(t, ctx, dir, "scroll to the tasks", chromedp.ScrollIntoView(`#tasks-h`, chromedp.ByQuery))
	shot(t, ctx, dir, "ftm-2-overdue-tasks")
	step(t, ctx, dir, "scroll to the progress", chromedp.ScrollIntoView(`#progress`, chromedp.ByQuery))
	shot(t, ctx, dir, "ftm-3-progress-and-gates")
	// The task dialog on a phone: it fits, and passes the checker.
	var dialog struct {
		Width    int      `json:"width"`
		Right    int      `json:"right"`
		Problems []string `json:"problems"`
	}
	step(t, ctx, dir, "the task dialog on a phone", viewport(phoneWidth),
		chromedp.Poll(`(() => { const a = document.querySelector("#tasks tr[data-late] a[hx-get]");
			if (!a || !(a["htmx-internal-data"] && a["htmx-internal-data"].initHash)) return false;
			a.click(); return true; })()`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.WaitVisible(`#task-dialog #t-status`, chromedp.ByQuery),
		chromedp.KeyEvent(kb.Tab),
		chromedp.Evaluate(`({width: document.documentElement.scrollWidth, right: Math.round(document.querySelector("#task-dialog").getBoundingClientRect().right),
			problems: `+lookChecker+`})`, &dialog))
	if dialog.Width > phoneWidth || dialog.Right > phoneWidth {
		t.Errorf("the task dialog on a phone: page %d px, dialog's right edge at %d px", dialog.Width, dialog.Right)
	}
	for _, p := range dialog.Problems {
		t.Errorf("the task dialog: %s", p)
	}
	shot(t, ctx, dir, "ftm-4-task-dialog-phone")
	step(t, ctx, dir, "close the task dialog", chromedp.Click(`#task-dialog [data-close]`, chromedp.ByQuery),
		chromedp.WaitNotVisible(`#task-dialog`, chromedp.ByQuery))

	// The migration engineer's day: the project and a mailbox.
	signOut(t, ctx)
	signIn(t, ctx, d, "engineer@ferry.example")
	step(t, ctx, dir, "open the project", viewport(docsWidth), openFromDemoCustomer(d, "Mailboxes wave 1", "#pass-form"))
	shot(t, ctx, dir, "engineer-1-project")
	step(t, ctx, dir, "open a mailbox", chromedp.Click(`tr[data-item] a[href^="/items/"]`, chromedp.ByQuery), chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	shot(t, ctx, dir, "engineer-2-mailbox")
	// On a phone, each radio button sits beside its label.
	var apart []string
	step(t, ctx, dir, "the project on a phone", viewport(phoneWidth), chromedp.NavigateBack(), chromedp.WaitVisible(`#pass-form`, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll("input[type=radio]")].filter(r => r.labels.length && r.getClientRects().length).filter(r => {
			const a = r.getBoundingClientRect(), b = r.labels[0].getBoundingClientRect();
			return Math.abs((a.top + a.bottom) / 2 - (b.top + b.bottom) / 2) > 8 || b.left < a.right;
		}).map(r => r.id)`, &apart))
	if len(apart) > 0 {
		t.Errorf("on a phone, radio buttons not beside their labels: %v", apart)
	}

	// The customer's project manager, on a phone.
	signOut(t, ctx)
	signIn(t, ctx, d, "pm@contoso.example")
	step(t, ctx, dir, "the dashboard on a phone", viewport(phoneWidth), chromedp.Navigate(d.base+"/"), chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	shot(t, ctx, dir, "pm-1-dashboard-phone")
	step(t, ctx, dir, "my tasks on a phone", chromedp.Navigate(d.base+"/my/tasks"), chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	shot(t, ctx, dir, "pm-2-my-tasks-phone")
	step(t, ctx, dir, "the engagement on a phone", openFromDemoCustomer(d, "Contoso onboarding", "#tasks"), chromedp.ScrollIntoView(`#tasks-h`, chromedp.ByQuery))
	shot(t, ctx, dir, "pm-3-engagement-tasks-phone")

	// The checker finds what it looks for: text too pale, the old focus
	// ring (#f0b400 on white, 1.9:1), and a control without a label.
	var caught []string
	step(t, ctx, dir, "the checker on a page made wrong", viewport(desktopWidth), chromedp.Navigate(d.base+"/my/tasks"), chromedp.WaitVisible(`h1`, chromedp.ByQuery),
		chromedp.Evaluate(`(() => { const s = document.createElement("style");
			s.textContent = "main p { color: #aaa !important } main :focus-visible { outline-color: #f0b400 !important }";
			document.head.append(s); document.querySelector("main").append(document.createElement("input")); })()`, nil),
		chromedp.KeyEvent(kb.Tab), chromedp.Evaluate(lookChecker, &caught))
	for _, want := range []string{"text contrast 2.", "focus ring contrast 1.", "control without a label"} {
		if !slices.ContainsFunc(caught, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("the checker misses %q on a page made wrong: %q", want, caught)
		}
	}

	// Every page of every role, at both widths.
	for _, who := range []string{"admin@ferry.example", "ftm@ferry.example", "engineer@ferry.example", "partner@partner.example", "pm@contoso.example"} {
		signOut(t, ctx)
		signIn(t, ctx, d, who)
		if err := chromedp.Run(ctx, viewport(desktopWidth)); err != nil {
			t.Fatal(err)
		}
		pages := pagesOf(t, ctx, d)
		if len(pages) < 6 {
			t.Errorf("%s reaches only %v", who, pages)
		}
		t.Logf("%s: %d kinds of page", who, len(pages))
		for _, p := range pages {
			checkPage(t, ctx, dir, who, d.base+p)
		}
	}
	// And the sign-in page.
	signOut(t, ctx)
	checkPage(t, ctx, dir, "nobody", d.base+"/signin")
}

// signOut signs out with the menu's button, if someone is signed in.
func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	var signedIn bool
	if err := chromedp.Run(ctx, chromedp.Evaluate(`!!document.querySelector("form.signout button")`, &signedIn)); err != nil {
		t.Fatal(err)
	}
	if !signedIn {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(sctx, chromedp.Click(`form.signout button`, chromedp.ByQuery), chromedp.WaitVisible(`#email`, chromedp.ByID)); err != nil {
		t.Fatalf("sign out: %v", err)
	}
}
