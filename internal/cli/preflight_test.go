package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/testimap"
)

// TestProjectPreflightCommands: 'ferry project preflight' queues the job,
// a worker on the same database runs it, --wait prints the findings,
// 'ferry project findings' shows and exports them, and the engagement's
// checklist holds them: a waiver needs a reason, the export is CSV.
func TestProjectPreflightCommands(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	users := []testimap.User{{Name: "alice", Password: secretAlice}}
	master := &testimap.User{Name: "master", Password: secretAdmin}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Users: append(users, testimap.User{Name: "bob", Password: secretAlice}), MasterUser: master})
	// Bob has no mailbox at the destination.
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users, MasterUser: master, AppendLimit: 100 << 10})
	c := testimap.Dial(t, src.Addr, "alice", secretAlice)
	msg := "Subject: =big\r\n\r\n" + strings.Repeat("z", 200<<10) + "\r\n"
	cmd := c.Append("INBOX", int64(len(msg)), nil)
	cmd.Write([]byte(msg))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}

	var v idJSON
	e.okJSON(&v, "customer", "add", "--name", "Contoso", "--domain", "contoso.com")
	cust := id(v.ID)
	for _, ep := range []struct {
		name string
		d    *testimap.Dovecot
	}{{"old", src}, {"new", dst}} {
		e.ok("endpoint", "add", "--customer", cust, "--name", ep.name, "--type", "dovecot", "--host", ep.d.Host, "--port", id(int64(ep.d.Port)),
			"--security", "starttls", "--allow-plaintext", "--admin", "master", "--password-file", e.adminPW, "--limit-folder-depth", "16")
	}
	var eng idJSON
	e.okJSON(&eng, "engagement", "create", "--customer", cust, "--name", "Onboarding", "--seats", "800", "--service", "exchange", "--workload", "imap")
	e.okJSON(&v, "project", "create", "--customer", cust, "--name", "Mailboxes", "--source", "old", "--destination", "new", "--engagement", id(eng.ID))
	project := id(v.ID)
	for _, u := range []string{"alice", "bob"} {
		e.ok("item", "add", "--project", project, "--source", u, "--destination", u)
	}
	if out := e.ok("project", "settings", project, "--limit-folder-items", "500"); !strings.Contains(out, "settings changed") {
		t.Fatalf("settings:\n%s", out)
	}
	var shown struct {
		Limits store.Limits `json:"preflight_limits"`
	}
	e.okJSON(&shown, "project", "show", project)
	if shown.Limits.MaxFolderItems != 500 {
		t.Fatalf("project show: %+v", shown)
	}
	if out := e.ok("project", "show", project); !strings.Contains(out, "500 messages a folder; the rest the destination's") {
		t.Fatalf("project show:\n%s", out)
	}
	if _, errOut := e.usage("project", "settings", project, "--limit-folder-depth", "-1"); !strings.Contains(errOut, "--limit-folder-depth") {
		t.Fatalf("a negative limit: %s", errOut)
	}

	if out := e.ok("project", "findings", project); !strings.Contains(out, "no pre-flight yet") {
		t.Fatalf("findings before a run:\n%s", out)
	}
	var first, again store.PreflightRun
	e.okJSON(&first, "project", "preflight", project)
	// While it is queued, another request answers with the same run.
	e.okJSON(&again, "project", "preflight", project)
	if first.ID == 0 || again.ID != first.ID || first.State != store.PreflightQueued {
		t.Fatalf("preflight: %+v then %+v", first, again)
	}

	// A worker on the same state file runs it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := app.Open(ctx, app.Config{Database: e.db, KeyFile: e.key, Jobs: jobs.Options{Poll: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer a.Queue.Stop(context.WithoutCancel(ctx))

	out := e.ok("project", "preflight", project, "--wait", "1m")
	if !strings.Contains(out, "2 mailboxes") || !strings.Contains(out, "destination-mailbox") || !strings.Contains(out, "message-size") {
		t.Fatalf("preflight --wait:\n%s", out)
	}
	csvOut := e.ok("project", "findings", project, "--format", "csv")
	if !strings.HasPrefix(csvOut, "Mailbox,Check,Severity,Found,Action\n") || !strings.Contains(csvOut, `"message ""=big"" in INBOX (UID 1)`) || !strings.Contains(csvOut, "bob,destination-mailbox,critical") {
		t.Fatalf("findings csv:\n%s", csvOut)
	}

	var items []store.ChecklistItem
	e.okJSON(&items, "checklist", "list", "--engagement", id(eng.ID))
	if len(items) != 2 {
		t.Fatalf("checklist: %+v", items)
	}
	var big store.ChecklistItem
	for _, it := range items {
		if it.Check == "message-size" {
			big = it
		}
	}
	if _, errOut := e.usage("checklist", "waive", id(big.ID), "--engagement", id(eng.ID)); !strings.Contains(errOut, "--reason") {
		t.Fatalf("waive without a reason: %s", errOut)
	}
	if out := e.ok("checklist", "waive", id(big.ID), "--engagement", id(eng.ID), "--reason", "the customer keeps it on the old server"); !strings.Contains(out, "waived") {
		t.Fatalf("waive:\n%s", out)
	}
	// The waiver is in the audit log, under the person who made it.
	entries, err := a.Store.Audit(ctx, store.AuditFilter{EngagementID: eng.ID})
	if err != nil {
		t.Fatal(err)
	}
	audited := false
	for _, en := range entries {
		if en.Action == "checklist.update" && strings.Contains(en.After, "the customer keeps it on the old server") && strings.Contains(en.After, "waived") && en.Who != "" {
			audited = true
		}
	}
	if !audited {
		t.Fatalf("the waiver is not audited: %+v", entries)
	}
	export := e.ok("checklist", "export", "--engagement", id(eng.ID))
	if !strings.Contains(export, "waived") || !strings.Contains(export, "the customer keeps it on the old server") || !strings.Contains(export, ",preflight,bob,destination-mailbox,") {
		t.Fatalf("export:\n%s", export)
	}
}
