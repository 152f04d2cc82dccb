package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// TestWavesPage: a partner plans waves from an uploaded permissions export
// (the page shows the timeline and the permission graph as inline SVG,
// no script), accepts them (scheduled passes), and sees the accepted
// waves; another customer's project answers 404.
func TestWavesPage(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 4)
	c := b.partner
	base := fmt.Sprintf("/projects/%d/waves", b.project.ID)
	page := c.get(base)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Plan waves") {
		t.Fatalf("GET %s: %d\n%s", base, page.status, page.body)
	}
	checkAccessible(t, base, page.body)
	perms := "Mailbox,User,AccessRights\n" +
		"user0000@old.contoso.example,user0001@old.contoso.example,FullAccess\n" +
		"user0001@old.contoso.example:\\Calendar,user0002@old.contoso.example,Editor\n" +
		"user0003@old.contoso.example,NT AUTHORITY\\SELF,FullAccess\n"
	start := time.Now().AddDate(0, 0, 9).Format("2006-01-02")
	fields := map[string]string{"max_per_wave": "2", "start": start, "every": "Fri 18:00", "time_zone": "Europe/Berlin"}
	res := c.postMultipart(base+"/plan", fields, "permissions_file", "Permissions.csv", perms)
	if res.status != http.StatusOK {
		t.Fatalf("plan: %d\n%s", res.status, res.body)
	}
	for _, want := range []string{"BATCH-1 is larger than a wave", "Calendar/folder delegate between user0001@old.contoso.example and user0002@old.contoso.example",
		`<svg xmlns="http://www.w3.org/2000/svg"`, "Permission graph", "Accept these waves", "No measurement yet"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the plan page does not say %q", want)
		}
	}
	if i := strings.Index(res.body, `<figure class="graph">`); i < 0 || strings.Contains(res.body[i:i+strings.Index(res.body[i:], "</figure>")], "<script") {
		t.Errorf("the permission graph is not inline SVG without script")
	}
	checkAccessible(t, base+"/plan", res.body)

	form := url.Values{"permissions": {perms}, "max_per_wave": {"2"}, "start": {start}, "every": {"Fri 18:00"}, "time_zone": {"Europe/Berlin"},
		"prestage_days_before": {"7"}, "older_than_days": {"30"}, "go_no_go_hours_before": {"24"}}
	res = c.post(base, form)
	if res.status != http.StatusOK || !strings.Contains(res.body, "2 wave(s); 8 scheduled pass(es)") || !strings.Contains(res.body, "Accepted waves") {
		t.Fatalf("accept: %d\n%s", res.status, res.body)
	}
	entries, err := b.tp.app.Store.Audit(context.Background(), store.AuditFilter{ProjectID: b.project.ID})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
		if e.Action == "waves.accept" && (e.Who != b.partnerEmail || !strings.Contains(e.After, `"mailboxes":`)) {
			t.Errorf("audit entry %+v", e)
		}
	}
	if actions["waves.accept"] != 2 || actions["passes.start"] != 8 {
		t.Errorf("audited %v, want each wave accepted and each pass started on record", actions)
	}
	res = c.post(base, form)
	if !strings.Contains(res.body, "These waves were accepted already") || !strings.Contains(res.body, "0 scheduled pass(es)") {
		t.Errorf("accept again:\n%s", res.body)
	}
	form.Set("start", time.Now().AddDate(0, 0, 30).Format("2006-01-02"))
	if res := c.post(base, form); res.status != http.StatusBadRequest || !strings.Contains(res.body, "accepted waves already") {
		t.Errorf("a different plan: %d", res.status)
	}

	other := fmt.Sprintf("/projects/%d/waves", b.otherProject.ID)
	if res := c.get(other); res.status != http.StatusNotFound {
		t.Errorf("GET %s: %d, want 404", other, res.status)
	}
	if res := c.post(other, form); res.status != http.StatusNotFound {
		t.Errorf("POST %s: %d, want 404", other, res.status)
	}
}
