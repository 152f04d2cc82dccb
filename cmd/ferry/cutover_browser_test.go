package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ferryhq/ferry/internal/testdns"
)

// docShot keeps a picture of one element of the page for docs/cutover.md:
// in $FERRY_DOC_IMAGES when set (make docs-images: docs/img), else beside
// the other screenshots.
func docShot(t *testing.T, ctx context.Context, name, sel string) {
	t.Helper()
	dir := os.Getenv("FERRY_DOC_IMAGES")
	if dir == "" {
		dir = screenshotDir(t)
	}
	var png []byte
	if err := chromedp.Run(ctx, chromedp.ScrollIntoView(sel, chromedp.ByQuery), chromedp.Screenshot(sel, &png, chromedp.ByQuery)); err != nil {
		t.Fatalf("%s: screenshot of %s: %v", name, sel, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitText reloads the page until the element's text holds want.
func waitText(t *testing.T, ctx context.Context, url, sel, want string, limit time.Duration) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(limit); ; {
		err := chromedp.Run(ctx, chromedp.Navigate(url), chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Text(sel, &got, chromedp.ByQuery))
		if err == nil && strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q; it shows %q (%v)", sel, want, got, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestCutoverInABrowser walks through docs/cutover.md in Chromium on
// `ferry serve --demo` with a local DNS server for the demo's domain: add
// the domain, check its records, watch the MX flip start the final Full
// pass, and see the post-migration check pass once the records are there.
func TestCutoverInABrowser(t *testing.T) {
	t.Parallel()
	dns := testdns.Start(t)
	dns.Set(t, "contoso.example. 1 IN MX 10 mail.contoso.example.", `contoso.example. 3600 IN TXT "v=spf1 mx -all"`,
		"autodiscover.contoso.example. 3600 IN CNAME mail.contoso.example.")
	d := startDemo(t, 4, 20, "--mx-interval", "1s", "--dns-resolver", dns.Addr)
	ctx := browser(t)
	signIn(t, ctx, d, "admin@ferry.example")
	if err := chromedp.Run(ctx, openFromDemoCustomer(d, "Contoso onboarding", "#domains-section")); err != nil {
		t.Fatalf("open the engagement: %v", err)
	}
	var engURL string
	if err := chromedp.Run(ctx, chromedp.Location(&engURL)); err != nil {
		t.Fatal(err)
	}
	engURL = strings.SplitN(engURL, "#", 2)[0]

	// 1. Add the domain with the admin center's TXT value.
	err := chromedp.Run(ctx,
		chromedp.SendKeys(`#dom-name`, "contoso.example", chromedp.ByID),
		chromedp.SendKeys(`#dom-txt`, "MS=ms12345678", chromedp.ByID),
		chromedp.Submit(`#dom-name`, chromedp.ByID),
		chromedp.WaitVisible(`#domain-contoso-example`, chromedp.ByID),
	)
	if err != nil {
		t.Fatalf("add the domain: %v", err)
	}
	waitText(t, ctx, engURL, "#domain-contoso-example", "mail goes to the source", 60*time.Second)
	docShot(t, ctx, "cutover-1-domain-watched", "#domains-section")
	page(t, ctx, "20-engagement-domains")

	// 2. The records Microsoft 365 asks for.
	if err := chromedp.Run(ctx, chromedp.Click(`//a[text()="Check the records now"]`), chromedp.WaitVisible(`//h1[starts-with(text(), "DNS records of")]`)); err != nil {
		t.Fatalf("open the DNS check: %v", err)
	}
	if got := text(t, ctx, `tr[data-record="verification TXT"]`, chromedp.ByQuery); !strings.Contains(got, "missing") || !strings.Contains(got, `"MS=ms12345678"`) {
		t.Fatalf("verification TXT row: %q", got)
	}
	docShot(t, ctx, "cutover-2-dns-check", "main")
	page(t, ctx, "21-dns-check")

	// 3. The customer adds the TXT record and changes the MX: the watch
	// sees it twice, waits out the TTL, and starts the final pass.
	dns.Set(t, `contoso.example. 3600 IN TXT "MS=ms12345678"`, `contoso.example. 3600 IN TXT "v=spf1 mx -all"`,
		"contoso.example. 1 IN MX 0 contoso-example.mail.protection.outlook.com.")
	waitText(t, ctx, engURL, "#domain-contoso-example", "(watch)", 90*time.Second)
	if got := text(t, ctx, "#domain-contoso-example", chromedp.ByQuery); !strings.Contains(got, "(watch)") || !strings.Contains(got, "for 4 items") {
		t.Fatalf("cutover row: %q", got)
	}
	docShot(t, ctx, "cutover-3-cut-over", "#domains-section")
	if got := text(t, ctx, "#events", chromedp.ByQuery); got == "" {
		t.Fatal("no events section")
	}
	// The page reads its events before its domains: a cutover recorded
	// between the two reads shows in the row and not yet in the events,
	// so the events are read from a page loaded after the cutover.
	waitText(t, ctx, engURL, `section[aria-labelledby="events"]`, "MX cutover: contoso.example", 30*time.Second)
	docShot(t, ctx, "cutover-4-event", `section[aria-labelledby="events"]`)

	// 4. After the final passes, the post-migration check (1370) waits for
	// the autodiscover CNAME and SPF; once they are there it passes.
	waitText(t, ctx, engURL, "#domain-contoso-example", "records missing", 120*time.Second)
	dns.Set(t, `contoso.example. 3600 IN TXT "v=spf1 include:spf.protection.outlook.com -all"`, `contoso.example. 3600 IN TXT "MS=ms12345678"`,
		"autodiscover.contoso.example. 3600 IN CNAME autodiscover.outlook.com.")
	waitText(t, ctx, engURL, "#domain-contoso-example", "every record present", 60*time.Second)
	docShot(t, ctx, "cutover-5-post-migration", "#domains-section")
}
