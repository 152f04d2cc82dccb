package engagements_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

func finding(key, found string) store.ChecklistItem {
	return store.ChecklistItem{Title: "alice@northwind.com: " + found, Severity: "high", Mailbox: "alice@northwind.com", Check: strings.Split(key, "|")[1],
		Found: found, Action: "fix it", Key: key}
}

// TestSyncFindingsAddsResolvesAndWaives: a tool's findings become open
// checklist items; a later run that no longer finds one resolves it, one
// found again comes back; a waived item (with its reason, who and when)
// stays waived and lets gate 1700 through like a resolved one.
func TestSyncFindingsAddsResolvesAndWaives(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	bg := context.Background() // the projects service's job: no person
	quota, big, other := finding("alice|quota|", "over quota"), finding("alice|message-size|INBOX|7", "message too large"), finding("bob|quota|", "over quota")
	res, err := b.svc.SyncFindings(bg, e.ID, 5, "preflight", []store.ChecklistItem{quota, big})
	if err != nil || res.Added != 2 {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	// Another project's findings are its own.
	if _, err := b.svc.SyncFindings(bg, e.ID, 6, "preflight", []store.ChecklistItem{other}); err != nil {
		t.Fatal(err)
	}
	// A person's item is not the tool's to resolve.
	if _, err := b.svc.AddChecklistItem(operator, e.ID, engagements.ChecklistInput{Title: "Enable TLS 1.2", Severity: "high", Source: "person"}); err != nil {
		t.Fatal(err)
	}
	items := checklist(t, b, e)
	if got := items["alice|quota|"]; got.State != "open" || got.Source != "preflight" || got.ProjectID != 5 || got.Found != "over quota" || got.Action != "fix it" {
		t.Fatalf("finding as checklist item: %+v", got)
	}

	// Waiving needs a reason; the waiver is recorded.
	bigID := items["alice|message-size|INBOX|7"].ID
	if _, err := b.svc.WaiveChecklistItem(operator, e.ID, bigID, "  "); fieldOf(err) != "reason" {
		t.Fatalf("waive without a reason: %v", err)
	}
	waived := engagements.StateWaived
	if _, err := b.svc.UpdateChecklistItem(operator, e.ID, bigID, &waived, nil, nil); fieldOf(err) != "state" {
		t.Fatalf("waived through an update, without a reason: %v", err)
	}
	w, err := b.svc.WaiveChecklistItem(operator, e.ID, bigID, "the customer keeps the video on the old server")
	if err != nil || w.State != "waived" || w.WaivedBy != "test operator" || w.WaivedAt.IsZero() {
		t.Fatalf("waived %+v, %v", w, err)
	}

	// The quota is fixed: the next run finds only the message (still waived).
	res, err = b.svc.SyncFindings(bg, e.ID, 5, "preflight", []store.ChecklistItem{big})
	if err != nil || res.Resolved != 1 || res.Added != 0 {
		t.Fatalf("second run: %+v, %v", res, err)
	}
	items = checklist(t, b, e)
	if items["alice|quota|"].State != "resolved" || items["alice|message-size|INBOX|7"].State != "waived" || items["bob|quota|"].State != "open" || items[""].State != "open" {
		t.Fatalf("after the second run: %+v", items)
	}
	// It comes back: open again.
	res, err = b.svc.SyncFindings(bg, e.ID, 5, "preflight", []store.ChecklistItem{quota, big})
	if err != nil || res.Reopened != 1 || checklist(t, b, e)["alice|quota|"].State != "open" {
		t.Fatalf("third run: %+v, %v", res, err)
	}

	// Gate 1700 reads the list: open items hold it, waived ones do not.
	gateBlockers := func() []string {
		gates, err := b.svc.Gates(operator, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gates {
			if g.ExitTask != "1700" {
				continue
			}
			for _, bl := range g.Blockers {
				if strings.HasPrefix(bl.Name, "checklist: ") {
					out = append(out, strings.TrimPrefix(bl.Name, "checklist: "))
				}
			}
		}
		return out
	}
	if got := strings.Join(gateBlockers(), "; "); !strings.Contains(got, "over quota") || strings.Contains(got, "message too large") {
		t.Fatalf("gate 1700 waits for %q", got)
	}
	if _, err := b.svc.SyncFindings(bg, e.ID, 5, "preflight", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.SyncFindings(bg, e.ID, 6, "preflight", nil); err != nil {
		t.Fatal(err)
	}
	resolved := "resolved"
	if _, err := b.svc.UpdateChecklistItem(operator, e.ID, checklist(t, b, e)[""].ID, &resolved, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := gateBlockers(); len(got) != 0 {
		t.Fatalf("gate 1700 still waits for %q", got)
	}

	// The checklist as CSV, cells safe for spreadsheets.
	var csv bytes.Buffer
	if err := b.svc.ChecklistCSV(operator, e.ID, &csv); err != nil {
		t.Fatal(err)
	}
	if out := csv.String(); !strings.HasPrefix(out, "ID,Title,Severity,State,Owner,Source,Mailbox,Check,Found,Action,") ||
		!strings.Contains(out, "waived") || !strings.Contains(out, "the customer keeps the video on the old server") || !strings.Contains(out, "test operator") {
		t.Fatalf("csv:\n%s", out)
	}
}

func checklist(t *testing.T, b *bundle, e store.Engagement) map[string]store.ChecklistItem {
	t.Helper()
	items, err := b.st.ChecklistItems(operator, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.ChecklistItem{}
	for _, c := range items {
		out[c.Key] = c
	}
	return out
}

func fieldOf(err error) string {
	if fe, ok := fault.As(err); ok && fe.Kind == fault.Invalid {
		return fe.Field
	}
	return ""
}
