package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/preflight"
	"github.com/ferryhq/ferry/internal/store"
)

// TestPreflightOnTheProjectPage: the project page's button queues a
// pre-flight (for those who may start passes), the page shows the latest
// run and its findings with a CSV, and the engagement page lets a
// checklist item be waived with a reason and exports the list.
func TestPreflightOnTheProjectPage(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 2)
	ctx := asOperator(context.Background())
	path := fmt.Sprintf("/projects/%d", b.project.ID)
	page := b.partner.get(path)
	if !strings.Contains(page.body, "Run pre-flight") || !strings.Contains(page.body, "No pre-flight yet") {
		t.Fatalf("project page before a pre-flight: %d", page.status)
	}
	res := b.partner.post(path+"/preflight", url.Values{})
	if res.status != http.StatusSeeOther {
		t.Fatalf("run pre-flight: %d %s", res.status, res.body)
	}
	runs, err := b.tp.app.Store.PreflightRuns(ctx, b.project.ID, 0)
	if err != nil || len(runs) != 1 || runs[0].State != store.PreflightQueued || runs[0].RequestedBy == "" {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	page = b.partner.get(path + "?preflight=queued")
	if !strings.Contains(page.body, "Pre-flight queued") || !strings.Contains(page.body, "queued") {
		t.Fatal("the page does not say the pre-flight was queued")
	}

	// The job's result, as RunPreflight keeps it.
	report := preflight.Report{Messages: 5, Bytes: 50e6, Mailboxes: []preflight.MailboxReport{{ItemID: b.items[0].ID, Mailbox: b.items[0].Source, Findings: 1}, {ItemID: b.items[1].ID}},
		Findings: []preflight.Finding{{ItemID: b.items[0].ID, Mailbox: b.items[0].Source, Check: preflight.CheckQuota, Severity: "high",
			Found: "the source holds 50.0 MB but the destination's quota leaves 10.0 MB", Action: "raise the destination mailbox's quota", Key: "q"}}}
	data, _ := json.Marshal(report)
	run := runs[0]
	run.State, run.Report = store.PreflightDone, string(data)
	if err := b.tp.app.Store.UpdatePreflightRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	page = b.partner.get(path)
	if !strings.Contains(page.body, `id="preflight-findings"`) || !strings.Contains(page.body, `data-check="quota"`) ||
		!strings.Contains(page.body, "raise the destination mailbox&#39;s quota") || !strings.Contains(page.body, "2 mailbox(es), 5 messages, 50.0 MB") {
		t.Fatalf("findings not shown:\n%s", page.body)
	}
	checkAccessible(t, path, page.body)
	csv := b.partner.get(path + "/preflight.csv")
	if csv.status != http.StatusOK || !strings.HasPrefix(csv.body, "Mailbox,Check,Severity,Found,Action\n") || !strings.Contains(csv.body, "quota,high") {
		t.Fatalf("csv: %d %s", csv.status, csv.body)
	}

	// The project's own limits, in the settings form.
	form := url.Values{"max_concurrent": {"10"}, "item_types": {"mail"}, "limit_folder_depth": {"-2"}}
	if res := b.partner.post(path+"/settings", form); res.status != http.StatusBadRequest || !strings.Contains(res.body, "positive number") {
		t.Fatalf("a negative limit: %d", res.status)
	}
	form.Set("limit_folder_depth", "12")
	form.Set("limit_message_size_mb", "150")
	form.Set("limit_folder_path", "")
	if res := b.partner.post(path+"/settings", form); res.status != http.StatusSeeOther {
		t.Fatalf("limits: %d %s", res.status, res.body)
	}
	if p, _ := b.tp.app.Store.Project(ctx, b.project.ID); p.Limits != (store.Limits{MaxFolderDepth: 12, MaxMessageSize: 150e6}) {
		t.Fatalf("limits saved as %+v", p.Limits)
	}
	if page := b.partner.get(path); !strings.Contains(page.body, `name="limit_folder_depth" value="12"`) || !strings.Contains(page.body, `name="limit_message_size_mb" value="150"`) {
		t.Fatal("the settings form does not show the limits")
	}

	// Who may not start passes sees no button and is refused; another
	// tenant's project is not found.
	b.tp.user("vic@contoso.example", auth.Viewer, b.customer.ID)
	v := b.tp.signedIn("vic@contoso.example")
	if page := v.get(path); strings.Contains(page.body, "Run pre-flight") || !strings.Contains(page.body, `data-check="quota"`) {
		t.Fatal("a viewer's page")
	}
	if res := v.post(path+"/preflight", url.Values{}); res.status != http.StatusForbidden {
		t.Fatalf("viewer runs pre-flight: %d", res.status)
	}
	if res := b.partner.get(fmt.Sprintf("/projects/%d/preflight.csv", b.otherProject.ID)); res.status != http.StatusNotFound {
		t.Fatalf("another tenant's findings: %d", res.status)
	}

	// The engagement's checklist: waive with a reason, export.
	e, _, err := b.tp.app.Engagements.Create(ctx, engagements.Input{CustomerID: b.customer.ID, Name: "Onboarding", Seats: 800, Services: []string{"exchange"}})
	if err != nil {
		t.Fatal(err)
	}
	item, err := b.tp.app.Engagements.AddChecklistItem(ctx, e.ID, engagements.ChecklistInput{Title: "user0000: over quota", Severity: "high", Source: preflight.Source})
	if err != nil {
		t.Fatal(err)
	}
	epath := fmt.Sprintf("/engagements/%d", e.ID)
	if page := b.partner.get(epath); !strings.Contains(page.body, ">Waive<") || !strings.Contains(page.body, "checklist.csv") {
		t.Fatal("the engagement page offers no waiver")
	} else {
		checkAccessible(t, epath, page.body)
	}
	if res := b.partner.post(fmt.Sprintf("%s/checklist/%d/waive", epath, item.ID), url.Values{"reason": {""}}); res.status != http.StatusBadRequest || !strings.Contains(res.body, "say why") {
		t.Fatalf("waive without a reason: %d", res.status)
	}
	if res := b.partner.post(fmt.Sprintf("%s/checklist/%d/waive", epath, item.ID), url.Values{"reason": {"the customer buys more storage next month"}}); res.status != http.StatusSeeOther {
		t.Fatalf("waive: %d %s", res.status, res.body)
	}
	if page := b.partner.get(epath); !strings.Contains(page.body, "the customer buys more storage next month") || !strings.Contains(page.body, ">waived<") {
		t.Fatal("the waiver is not shown")
	}
	if res := b.partner.get(epath + "/checklist.csv"); res.status != http.StatusOK || !strings.Contains(res.body, "waived") {
		t.Fatalf("checklist csv: %d %s", res.status, res.body)
	}
}
