package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/preflight"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/testimap"
	"github.com/ferryhq/ferry/internal/testpg"
)

const (
	masterName = "migrator"
	masterPass = "master-secret"
	userPass   = "user-secret"
)

// appendSized stores a message of about size bytes in folder.
func appendSized(t *testing.T, c *imapclient.Client, folder, subject string, size int) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "From: a@contoso.com\r\nTo: b@contoso.com\r\nSubject: %s\r\nMessage-ID: <%d.%s@contoso.com>\r\n\r\n", subject, size, strings.ReplaceAll(subject, " ", "."))
	for b.Len() < size {
		b.WriteString(strings.Repeat("y", 70) + "\r\n")
	}
	cmd := c.Append(folder, int64(b.Len()), nil)
	cmd.Write([]byte(b.String()))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append to %s: %v", folder, err)
	}
}

// TestPreflightFindsPlantedProblemsAndGate1700Opens runs pre-flight as a
// job of a real queue (SQLite, then PostgreSQL) against two real Dovecot
// servers, acting for each mailbox as an administrator (master user). The
// destination keeps folders in one file name per path (maildir++: it
// refuses a path longer than a file name, which its endpoint's limit
// says), has an APPENDLIMIT and a quota. Alice's mailbox has a message over
// the limit, a folder whose path the destination refuses and more mail
// than her quota; Bob's has nothing wrong. The checklist gets exactly
// those three items and gate 1700 waits for them (signing it off is
// refused, naming them); once they are fixed a second run resolves them
// and 1700 is signed off.
func TestPreflightFindsPlantedProblemsAndGate1700Opens(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			database := filepath.Join(t.TempDir(), "ferry.db")
			if db == "postgres" {
				database = testpg.URL(t)
			}
			testPreflightEndToEnd(t, database)
		})
	}
}

func testPreflightEndToEnd(t *testing.T, database string) {
	users := []testimap.User{{Name: "alice", Password: userPass}, {Name: "bob", Password: userPass}}
	master := &testimap.User{Name: masterName, Password: masterPass}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users, MasterUser: master})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: users, MasterUser: master,
		AppendLimit: 200 << 10, Quota: 50 << 20})
	dst.SetQuota(t, "alice", 100<<10)

	alice := testimap.Dial(t, src.Addr, "alice", userPass)
	longPath := strings.Repeat("a", 100) + "/" + strings.Repeat("b", 100) + "/" + strings.Repeat("c", 60)
	if err := alice.Create(longPath, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	appendSized(t, alice, "INBOX", "hello", 2000)
	appendSized(t, alice, "INBOX", "quarterly video", 300<<10)
	appendSized(t, alice, longPath, "deep down", 1000)
	bob := testimap.Dial(t, src.Addr, "bob", userPass)
	appendSized(t, bob, "INBOX", "hi bob", 2000)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a, err := app.Open(ctx, app.Config{Database: database, KeyFile: filepath.Join(t.TempDir(), "secret.key"), Jobs: jobs.Options{Poll: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer a.Queue.Stop(context.WithoutCancel(ctx))
	op := auth.WithPrincipal(ctx, auth.Operator("test operator"))

	c, err := a.Customers.CreateCustomer(op, customers.CustomerInput{Name: "Contoso", Domain: "contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := func(name string, d *testimap.Dovecot, limits store.Limits) store.Endpoint {
		e, err := a.Customers.CreateEndpoint(op, customers.EndpointInput{CustomerID: c.ID, Name: name, Type: "dovecot", Host: d.Host, Port: d.Port,
			Security: "starttls", AllowPlaintext: true, AdminUser: masterName, Password: masterPass, Limits: limits})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	srcEP := endpoint("old", src, store.Limits{})
	// maildir++ keeps a folder's whole path in one file name (255 bytes,
	// with a leading '.' and the INBOX. prefix's place).
	dstEP := endpoint("new", dst, store.Limits{MaxFolderPathLength: 250})
	e, _, err := a.Engagements.Create(op, engagements.Input{CustomerID: c.ID, Name: "Onboarding", Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Service.CreateProject(op, projects.ProjectInput{CustomerID: c.ID, Name: "Mailboxes", SourceID: srcEP.ID, DestID: dstEP.ID, EngagementID: e.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := a.Service.AddItem(op, p.ID, projects.ItemInput{Source: u, Dest: u}); err != nil {
			t.Fatal(err)
		}
	}

	runPreflight := func() *preflight.Report {
		t.Helper()
		run, err := a.Service.StartPreflight(op, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				t.Fatalf("pre-flight run %d did not finish", run.ID)
			case <-tick.C:
			}
			v, err := a.Service.Preflight(op, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if v.Latest == nil || v.Latest.ID != run.ID {
				t.Fatalf("latest run %+v, want %d", v.Latest, run.ID)
			}
			switch v.Latest.State {
			case store.PreflightFailed:
				t.Fatalf("pre-flight failed: %s", v.Latest.Error)
			case store.PreflightDone:
				return v.Report
			}
		}
	}
	checklistOf := func() map[string]store.ChecklistItem {
		items, err := a.Store.ChecklistItems(op, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.ChecklistItem{}
		for _, it := range items {
			if it.Source != preflight.Source {
				t.Fatalf("checklist item from %q: %+v", it.Source, it)
			}
			out[it.Mailbox+" "+it.Check] = it
		}
		return out
	}
	gate1700 := func() []string {
		gates, err := a.Engagements.Gates(op, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gates {
			for _, bl := range g.Blockers {
				if g.ExitTask == "1700" && strings.HasPrefix(bl.Name, "checklist: ") {
					out = append(out, bl.Name)
				}
			}
		}
		return out
	}

	report := runPreflight()
	if len(report.Mailboxes) != 2 || report.Messages != 4 {
		t.Fatalf("report: %+v", report)
	}
	items := checklistOf()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range items {
			if !yield(k) {
				return
			}
		}
	})
	want := []string{"alice " + preflight.CheckFolderPath, "alice " + preflight.CheckMessageSize, "alice " + preflight.CheckQuota}
	if !slices.Equal(keys, want) {
		t.Fatalf("checklist %q, want %q:\n%+v", keys, want, items)
	}
	for _, it := range items {
		if it.State != "open" || it.ProjectID != p.ID || it.Found == "" || it.Action == "" {
			t.Errorf("item %+v", it)
		}
	}
	if f := items["alice "+preflight.CheckMessageSize].Found; !strings.Contains(f, `"quarterly video"`) || !strings.Contains(f, "UID 2") || !strings.Contains(f, "INBOX") {
		t.Errorf("the oversized message is not named: %s", f)
	}
	if f := items["alice "+preflight.CheckFolderPath].Found; !strings.Contains(f, longPath) {
		t.Errorf("the refused folder is not named: %s", f)
	}
	if got := gate1700(); len(got) != 3 {
		t.Fatalf("gate 1700 waits for %q, want the three findings", got)
	}
	// Everything else of Remediate is done: signing off 1700 is refused,
	// naming the findings.
	tasks, err := a.Store.EngagementTasks(op, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	var gateTask store.EngagementTask
	for _, tk := range tasks {
		if tk.Phase != "Remediate" || tk.Retired {
			continue
		}
		if tk.TaskID == "1700" {
			gateTask = tk
			continue
		}
		st := engagements.Complete
		if !tk.Mandatory {
			st = engagements.NotRequired
		}
		if _, err := a.Engagements.UpdateTask(op, tk.ID, engagements.TaskUpdate{Status: &st}, "test operator"); err != nil {
			t.Fatal(err)
		}
	}
	complete := engagements.Complete
	if _, err := a.Engagements.UpdateTask(op, gateTask.ID, engagements.TaskUpdate{Status: &complete}, "test operator"); err == nil ||
		!strings.Contains(err.Error(), "quarterly video") {
		t.Fatalf("1700 signed off with open findings: %v", err)
	}

	// Fix them: the message leaves the source, the folder gets a short
	// name, the quota grows.
	if _, err := alice.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := alice.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := alice.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	if err := alice.Rename(longPath, "Archive 2019", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	dst.SetQuota(t, "alice", 10<<20)

	report = runPreflight()
	if len(report.Findings) != 0 {
		t.Fatalf("findings after the fixes: %+v", report.Findings)
	}
	for k, it := range checklistOf() {
		if it.State != "resolved" {
			t.Errorf("%s is %s after the fix: %+v", k, it.State, it)
		}
	}
	if got := gate1700(); len(got) != 0 {
		t.Fatalf("gate 1700 still waits for %q", got)
	}
	if _, err := a.Engagements.UpdateTask(op, gateTask.ID, engagements.TaskUpdate{Status: &complete}, "test operator"); err != nil {
		t.Fatalf("gate 1700 does not open: %v", err)
	}
}
