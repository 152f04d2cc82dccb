package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestRolesInABrowser: the playbook's roles hold in the portal itself, as
// the people of an engagement use it in Chromium. The customer's project
// manager cannot complete the FastTrack Manager's exit task 1701 through
// the page; a partner cannot override the migration gate in another's
// name: the form has no such field, a forged one is ignored, and the
// record names the partner.
func TestRolesInABrowser(t *testing.T) {
	t.Parallel()
	d := startDemo(t, 2, 5)
	ctx := browser(t)

	// The customer's project manager opens 1701 and tries to complete it.
	signIn(t, ctx, d, "pm@contoso.example")
	var engURL string
	err := chromedp.Run(ctx, openFromDemoCustomer(d, "Contoso onboarding", "#gates-section"),
		chromedp.Evaluate(`location.origin + location.pathname`, &engURL))
	if err != nil {
		t.Fatalf("open the engagement as the customer PM: %v", err)
	}
	var edit string
	err = chromedp.Run(ctx,
		chromedp.Navigate(engURL+"?service=&phase=Enable"),
		chromedp.WaitVisible(`#tasks`, chromedp.ByQuery),
		chromedp.Evaluate(`(() => { const a = document.querySelector('a[aria-label="Edit task 1701"]'); return a ? a.getAttribute("href") : ""; })()`, &edit))
	if err != nil || edit == "" {
		t.Fatalf("no edit link of task 1701 for the customer PM (%q): %v", edit, err)
	}
	status := func() string {
		t.Helper()
		var v string
		if err := chromedp.Run(ctx, chromedp.Navigate(d.base+edit), chromedp.WaitVisible(`#t-status`, chromedp.ByQuery),
			chromedp.Value(`#t-status`, &v, chromedp.ByQuery)); err != nil {
			t.Fatalf("open task 1701: %v", err)
		}
		return v
	}
	before := status()
	var refusal string
	err = chromedp.Run(ctx,
		chromedp.SetValue(`#t-status`, "Complete", chromedp.ByQuery),
		chromedp.Submit(`#t-status`, chromedp.ByQuery),
		chromedp.WaitVisible(`//*[contains(text(), "belongs to the FastTrack Manager")]`),
		chromedp.Evaluate(`document.body.innerText`, &refusal))
	if err != nil {
		t.Fatalf("the customer PM's attempt on 1701 was not refused on the page: %v\n%s", err, refusal)
	}
	page(t, ctx, "20-roles-customer-pm-refused")
	if after := status(); after != before || after == "Complete" {
		t.Fatalf("task 1701 went from %q to %q for the customer PM", before, after)
	}

	// The partner, not holding the gate's role, is refused whatever the request names.
	signOut := func() {
		t.Helper()
		if err := chromedp.Run(ctx, network.ClearBrowserCookies()); err != nil {
			t.Fatal(err)
		}
	}
	override := func(reason string) (int, string) {
		t.Helper()
		var res struct {
			Status int    `json:"status"`
			Body   string `json:"body"`
		}
		err := chromedp.Run(ctx, chromedp.Navigate(engURL), chromedp.WaitVisible(`#gates-section`, chromedp.ByQuery),
			chromedp.Evaluate(fmt.Sprintf(`(async () => {
				const form = document.querySelector('form[action$="/migration-gate/override"]');
				if (form && [...form.elements].some(e => ["as", "who", "person", "by"].includes(e.name) || e.tagName === "SELECT"))
					return {status: -1, body: "the override form lets the partner name someone: " + form.outerHTML};
				const body = new URLSearchParams({csrf: document.querySelector('input[name=csrf]').value, reason: %q, as: "admin@ferry.example", who: "Ada Admin"});
				const r = await fetch(location.pathname + "/migration-gate/override", {method: "POST", body, redirect: "follow"});
				const html = await r.text();
				const main = new DOMParser().parseFromString(html, "text/html").querySelector("main");
				return {status: r.status, body: main ? main.innerText : html};
			})()`, reason), &res, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		if err != nil {
			t.Fatalf("override: %v", err)
		}
		if res.Status == -1 {
			t.Fatal(res.Body)
		}
		return res.Status, res.Body
	}
	signOut()
	signIn(t, ctx, d, "partner@partner.example")
	if code, body := override("customer deadline"); code != 403 || !strings.Contains(body, "FastTrack Manager") {
		t.Fatalf("the partner without the gate's role overrode: %d %.300s", code, body)
	}

	// Given the gate's role by the administrator through the page, the
	// partner overrides in their own name: the record says the partner.
	signOut()
	signIn(t, ctx, d, "admin@ferry.example")
	// The People form, filled in and sent as the page would (its answer
	// followed), then the page read again.
	var assigned int
	err = chromedp.Run(ctx, chromedp.Navigate(engURL), chromedp.WaitVisible(`#as-person`, chromedp.ByID),
		chromedp.SetValue(`#as-role`, "ftm", chromedp.ByID),
		chromedp.SendKeys(`#as-person`, "partner@partner.example", chromedp.ByID),
		chromedp.Evaluate(`(async () => { const f = document.querySelector("#as-person").form;
			return (await fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f))})).status; })()`, &assigned,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
		chromedp.Navigate(engURL), chromedp.WaitVisible(`#people`, chromedp.ByID),
		chromedp.Poll(`[...document.querySelector("#people").closest("section").querySelectorAll("tr")].some(tr =>
			tr.querySelector("th") && tr.querySelector("th").innerText.trim() === "FastTrack Manager" && tr.innerText.includes("partner@partner.example"))`, nil,
			chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("assign the partner to ftm (answer %d): %v", assigned, err)
	}
	signOut()
	signIn(t, ctx, d, "partner@partner.example")
	if code, body := override("pilot users move first"); code != 200 || !strings.Contains(body, "by partner@partner.example: pilot users move first") {
		t.Fatalf("the partner's override: %d %.300s", code, body)
	}
	var gate string
	if err := chromedp.Run(ctx, chromedp.Navigate(engURL), chromedp.WaitVisible(`#gates-section`, chromedp.ByQuery),
		chromedp.Text(`#gates-section`, &gate, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(gate, "by admin@ferry.example: pilot") || strings.Contains(gate, "Ada Admin") {
		t.Fatalf("the override names someone else:\n%s", gate)
	}
	page(t, ctx, "21-roles-partner-override")
}
