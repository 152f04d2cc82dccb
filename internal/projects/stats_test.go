package projects_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

// TestMailboxStatistics: the project's per-mailbox export sums each item's
// own runs (not another project's runs of the same mailbox state).
func TestMailboxStatistics(t *testing.T) {
	t.Parallel()
	ctx := operator
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := &projects.Service{Store: st}
	c := store.Customer{Name: "Contoso", Domain: "contoso.com"}
	st.CreateCustomer(ctx, &c)
	var eps []store.Endpoint
	for _, n := range []string{"old", "new"} {
		ep := store.Endpoint{CustomerID: c.ID, Name: n, Type: "imap", Host: n + ".contoso.com", Port: 993, Security: "tls", HasCredentials: true}
		st.CreateEndpoint(ctx, &ep)
		eps = append(eps, ep)
	}
	var ps []store.Project
	for _, n := range []string{"Mail", "Other"} {
		p := store.Project{CustomerID: c.ID, Name: n, Kind: "mailbox", SourceID: eps[0].ID, DestID: eps[1].ID, MaxConcurrent: 5, MaxErrors: 50}
		if err := st.CreateProject(ctx, &p); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	alice := &store.Item{ProjectID: ps[0].ID, Source: "alice@contoso.com", Dest: "alice@contoso.onmicrosoft.com", Status: store.StatusCompleted, Errors: 2}
	bob := &store.Item{ProjectID: ps[0].ID, Source: "bob@contoso.com", Dest: "bob@contoso.onmicrosoft.com"}
	elsewhere := &store.Item{ProjectID: ps[1].ID, Source: "alice@contoso.com", Dest: "alice@contoso.onmicrosoft.com"}
	st.CreateItems(ctx, []*store.Item{alice, bob})
	st.CreateItems(ctx, []*store.Item{elsewhere})
	st.UpdateItem(ctx, *alice)
	mb, _ := st.Mailbox(ctx, store.MailboxKey{Source: "imaps://alice@old", Destination: "imaps://alice@new"})
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, r := range []store.Run{
		{ItemID: alice.ID, Pass: "trial", Started: t0, Ended: t0.Add(30 * time.Minute), Status: "completed", Copied: 100, CopiedBytes: 50e6},
		{ItemID: alice.ID, Pass: "full", Started: t0.Add(24 * time.Hour), Ended: t0.Add(24*time.Hour + 90*time.Minute), Status: "completed with errors", Copied: 900, CopiedBytes: 1950e6, Failed: 2},
		{ItemID: elsewhere.ID, Pass: "full", Started: t0, Ended: t0.Add(time.Hour), Status: "completed", Copied: 5000, CopiedBytes: 9e9},
	} {
		if err := st.StartRun(ctx, mb, &r); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishRun(ctx, mb, &r); err != nil {
			t.Fatal(err)
		}
	}

	stats, err := svc.MailboxStatistics(ctx, ps[0].ID)
	if err != nil || len(stats) != 2 {
		t.Fatalf("%+v %v", stats, err)
	}
	a := stats[0]
	// 2000 MB and 1000 items over the two hours the passes ran.
	if a.Source != alice.Source || a.Status != store.StatusCompleted || a.Workload != "mail" || a.Items != 1000 || a.Bytes != 2000e6 ||
		a.TransferSeconds != 7200 || math.Abs(a.MBPerHour-1000) > 0.01 || math.Abs(a.ItemsPerHour-500) > 0.01 || a.Passes != 2 ||
		!a.FirstPass.Equal(t0) || !a.LastPass.Equal(t0.Add(24*time.Hour+90*time.Minute)) || a.Failures != 2 || a.LastPassName != "full" {
		t.Fatalf("alice %+v", a)
	}
	if b := stats[1]; b.Source != bob.Source || b.Passes != 0 || b.Bytes != 0 || !b.FirstPass.IsZero() {
		t.Fatalf("bob %+v", b)
	}

	var out bytes.Buffer
	if err := projects.WriteMailboxStatistics(&out, "csv", stats); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "source" || rows[1][0] != alice.Source || rows[2][0] != bob.Source {
		t.Fatalf("csv %q %v", rows, err)
	}
	out.Reset()
	if err := projects.WriteMailboxStatistics(&out, "json", stats); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Mailboxes []map[string]any `json:"mailboxes"`
	}
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || len(back.Mailboxes) != 2 || back.Mailboxes[0]["mb_per_hour"].(float64) != 1000 {
		t.Fatalf("json %s %v", out.Bytes(), err)
	}
	if err := projects.WriteMailboxStatistics(&out, "xlsx", stats); err == nil {
		t.Fatal("an unknown format was accepted")
	}
}

// TestMailboxStatisticsCSVIsData: addresses and names people typed that a
// spreadsheet would run as formulas get a leading quote in the CSV.
func TestMailboxStatisticsCSVIsData(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	stats := []projects.MailboxStatistic{{Source: "=HYPERLINK(\"http://evil.example\")@contoso.com", Dest: "+1@contoso.com", Status: "Completed",
		Workload: "mail", LastPassName: "@SUM(A1)"}}
	if err := projects.WriteMailboxStatistics(&out, "csv", stats); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%v %v", rows, err)
	}
	for _, cell := range rows[1] {
		if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
			t.Errorf("the cell %q would run as a formula", cell)
		}
	}
	if rows[1][0] != "'=HYPERLINK(\"http://evil.example\")@contoso.com" {
		t.Errorf("source cell %q", rows[1][0])
	}
}
