package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/preflight"
	"github.com/ferryhq/ferry/internal/store"
)

// TestPreflightRoutes: POST queues a pre-flight job, GET shows the run and,
// once done, its report (or the findings as CSV); project settings take
// pre-flight limits; a checklist item is waived with a reason and the
// checklist exports as CSV.
func TestPreflightRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	base := fmt.Sprintf("/api/v1/projects/%d/preflight", f.project.ID)

	var pf Preflight
	e.must("GET", base, nil, 200, &pf)
	if pf.Latest != nil || pf.Report != nil || pf.Runs == nil {
		t.Fatalf("before any run: %+v", pf)
	}
	var run PreflightRun
	e.must("POST", base, nil, 202, &run)
	if run.State != "queued" || run.ProjectID != f.project.ID {
		t.Fatalf("queued %+v", run)
	}
	e.queue.mu.Lock()
	queued := e.queue.preflights
	e.queue.mu.Unlock()
	if len(queued) != 1 || queued[0].RunID != run.ID || queued[0].ProjectID != f.project.ID {
		t.Fatalf("jobs %+v", queued)
	}

	// The job's result, as RunPreflight keeps it.
	report := preflight.Report{Limits: store.Limits{MaxMessageSize: 35 << 20}, Messages: 3, Bytes: 40 << 20,
		Mailboxes: []preflight.MailboxReport{{ItemID: f.item.ID, Mailbox: f.item.Source, Destination: f.item.Dest, Folders: 1, Messages: 3, Bytes: 40 << 20,
			Quota: &engine.Quota{Usage: 1, Limit: 50 << 30}, Findings: 1}},
		Findings: []preflight.Finding{{ItemID: f.item.ID, Mailbox: f.item.Source, Check: preflight.CheckMessageSize, Severity: "medium",
			Found: `message "=video" in INBOX (UID 3) is 40 MB`, Action: "remove it", Key: "k"}}}
	data, _ := json.Marshal(report)
	r, err := e.st.PreflightRun(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.State, r.Report = store.PreflightDone, string(data)
	if err := e.st.UpdatePreflightRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	e.must("GET", base, nil, 200, &pf)
	if pf.Latest == nil || pf.Latest.State != "done" || pf.Report == nil || len(pf.Report.Findings) != 1 || pf.Report.Mailboxes[0].QuotaLimit != 50<<30 ||
		pf.Report.Limits.MaxMessageSize != 35<<20 || pf.Report.Findings[0].Check != "message-size" {
		t.Fatalf("done: %+v", pf)
	}
	resp, b := e.send("GET", base+"?format=csv", "Bearer "+e.token, "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		string(b) != "Mailbox,Check,Severity,Found,Action\nalice@contoso.com,message-size,medium,\"message \"\"=video\"\" in INBOX (UID 3) is 40 MB\",remove it\n" {
		t.Fatalf("csv: %d %q", resp.StatusCode, b)
	}
	code, b := e.call("GET", base+"?format=xml", nil)
	wantError(t, code, b, 400, "format", "csv")

	// Limits on the project's settings.
	code, b = e.call("PATCH", fmt.Sprintf("/api/v1/projects/%d/settings", f.project.ID), map[string]any{"preflight_limits": map[string]any{"max_folder_depth": -1}})
	wantError(t, code, b, 400, "preflight_limits.max_folder_depth", "positive")
	var p Project
	e.must("PATCH", fmt.Sprintf("/api/v1/projects/%d/settings", f.project.ID), map[string]any{"preflight_limits": map[string]any{"max_folder_depth": 5}}, 200, &p)
	if p.PreflightLimits == nil || p.PreflightLimits.MaxFolderDepth != 5 {
		t.Fatalf("project %+v", p)
	}

	// Waive a checklist item with a reason; export the list.
	d := e.engagement(f.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}})
	var item ChecklistItem
	e.must("POST", fmt.Sprintf("/api/v1/engagements/%d/checklist", d.ID), map[string]any{"title": "Video too large", "severity": "medium", "source": "preflight"}, 201, &item)
	waive := fmt.Sprintf("/api/v1/engagements/%d/checklist/%d/waive", d.ID, item.ID)
	code, b = e.call("POST", waive, map[string]any{"reason": " "})
	wantError(t, code, b, 400, "reason", "why")
	code, b = e.call("PATCH", fmt.Sprintf("/api/v1/engagements/%d/checklist/%d", d.ID, item.ID), map[string]any{"state": "waived"})
	wantError(t, code, b, 400, "state", "waive")
	e.must("POST", waive, map[string]any{"reason": "kept on the old server"}, 200, &item)
	if item.State != "waived" || item.WaiveReason != "kept on the old server" || item.WaivedBy == "" || item.WaivedAt.IsZero() {
		t.Fatalf("waived %+v", item)
	}
	code, _ = e.call("POST", fmt.Sprintf("/api/v1/engagements/%d/checklist/%d/waive", d.ID, item.ID+100), map[string]any{"reason": "x"})
	if code != 404 {
		t.Fatalf("waive of another item: %d", code)
	}
	resp, b = e.send("GET", fmt.Sprintf("/api/v1/engagements/%d/checklist?format=csv", d.ID), "Bearer "+e.token, "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Video too large,medium,waived") || !strings.Contains(string(b), "kept on the old server") {
		t.Fatalf("checklist csv: %d\n%s", resp.StatusCode, b)
	}
}
