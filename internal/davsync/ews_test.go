package davsync_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/davsync"
	"github.com/ferryhq/ferry/internal/ews"
	"github.com/ferryhq/ferry/internal/testdav"
	"github.com/ferryhq/ferry/internal/testews"
)

// exchangeMailbox fills the EWS double with alice's mailbox as Exchange
// exports it (METHOD:PUBLISH on calendar items) and lets svc-migrate
// impersonate her.
func exchangeMailbox(t *testing.T, events, contacts int) *testews.Server {
	t.Helper()
	s := testews.Start(t)
	s.AddAccount("svc-migrate", "svc-pw")
	s.GrantImpersonation("svc-migrate")
	m := s.AddMailbox("alice@contoso.test", "alice")
	cal, sub := s.Folder(m, "calendar", ""), s.Folder(m, "calendar", "Projekte")
	for i, it := range testdav.Events(events) {
		f := cal
		if i%10 == 9 {
			f = sub
		}
		s.Add(f, &testews.Item{Mime: []byte(strings.Replace(string(it.Data), "VERSION:2.0\r\n", "METHOD:PUBLISH\r\nVERSION:2.0\r\n", 1))})
	}
	for _, it := range testdav.Contacts(contacts, 3000) {
		s.Add(s.Folder(m, "contacts", ""), &testews.Item{Mime: it.Data})
	}
	tasks := s.Folder(m, "tasks", "")
	s.Add(tasks, &testews.Item{Task: &testews.Task{Subject: "Steuern prüfen", Status: "NotStarted", Importance: "High", DueDate: "2026-05-01T00:00:00Z"}})
	s.Add(tasks, &testews.Item{Task: &testews.Task{Subject: "Erledigt", Status: "Completed", CompleteDate: "2026-01-10T12:00:00Z"}})
	return s
}

// TestCopyExchangeToMicrosoft365 reads an Exchange mailbox through EWS with
// impersonation and writes it into Microsoft 365 through Graph: every
// object once, the series one series, no meeting message; a second pass
// writes nothing.
func TestCopyExchangeToMicrosoft365(t *testing.T) {
	t.Parallel()
	es := exchangeMailbox(t, 40, 9)
	srv, _, g := startGraph(t)
	src, err := ews.New(ews.Endpoint{URL: es.URL, User: "svc-migrate", Password: "svc-pw", Mailbox: "alice@contoso.test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	state := &memState{}
	rep, err := davsync.Copy(ctx, src, g, state, all)
	if err != nil {
		t.Fatal(err)
	}
	want := map[davsync.Workload]davsync.Counts{davsync.Calendar: {Copied: 40}, davsync.Tasks: {Copied: 2}, davsync.Contacts: {Copied: 9}}
	if got := counts(rep); !equalCounts(got, want) || len(rep.Failures) > 0 {
		t.Fatalf("first pass %v %+v, want %v", got, rep.Failures, want)
	}
	m := srv.Snapshot(graphMailbox)
	items := graphContents(t, m)
	if len(items) != 51 {
		t.Fatalf("the mailbox holds %d items, want 51", len(items))
	}
	if names := strings.Join(m.SortedNames(), "|"); names != "Calendar|Contacts|Projekte|Tasks" {
		t.Errorf("containers %s", names)
	}
	if s := items["series-1@ferry.test"]; s == nil || len(s.Cancelled) != 1 || len(s.Overrides) != 1 {
		t.Errorf("series not one series with its exceptions: %+v", s)
	}
	if sent := srv.Sent(); len(sent) > 0 {
		t.Errorf("meeting messages sent: %v", sent)
	}
	rep, err = davsync.Copy(ctx, src, g, state, all)
	if err != nil {
		t.Fatal(err)
	}
	want = map[davsync.Workload]davsync.Counts{davsync.Calendar: {Unchanged: 40}, davsync.Tasks: {Unchanged: 2}, davsync.Contacts: {Unchanged: 9}}
	if got := counts(rep); !equalCounts(got, want) {
		t.Fatalf("second pass %v, want %v", got, want)
	}
}

// TestMigrateFromEWSCommand runs `ferry migrate --from-ews ... --from-admin
// ... --to-graph ...` twice and `ferry verify` with the same flags.
func TestMigrateFromEWSCommand(t *testing.T) {
	t.Parallel()
	bin := ferry(t)
	es := exchangeMailbox(t, 12, 3)
	srv, ts, _ := startGraph(t)
	dir := t.TempDir()
	for name, secret := range map[string]string{"svc": "svc-pw", "app": "app-secret"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ewsURL := strings.Replace(es.URL, "http://", "http://alice%40contoso.test@", 1)
	args := []string{"--workloads", "calendar,contacts,tasks",
		"--from-ews", ewsURL, "--from-admin", "svc-migrate", "--from-password-file", filepath.Join(dir, "svc"),
		"--to-graph", graphMailbox, "--graph-url", srv.URL,
		"--to-oauth2-tenant", "contoso", "--to-oauth2-client-id", "ferry-app",
		"--to-oauth2-client-secret-file", filepath.Join(dir, "app"), "--to-oauth2-token-url", ts.TokenURL}
	env := append(os.Environ(), "SSL_CERT_FILE="+srv.CertFile(t, dir))
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ferry %s: %v\n%s", args[0], err, out)
		}
		return string(out)
	}
	state := []string{"--state", filepath.Join(dir, "state.db")}
	out := run(append(append([]string{"migrate"}, args...), state...)...)
	for _, line := range []string{"calendar  12 copied", "contacts  3 copied", "tasks     2 copied"} {
		if !strings.Contains(out, line) {
			t.Errorf("first run lacks %q:\n%s", line, out)
		}
	}
	out = run(append(append([]string{"migrate"}, args...), state...)...)
	if !strings.Contains(out, "calendar  0 copied, 0 updated, 12 unchanged, 0 failed") {
		t.Errorf("second run:\n%s", out)
	}
	if out := run(append([]string{"verify"}, args...)...); !strings.Contains(out, "complete: every source object") {
		t.Errorf("verify:\n%s", out)
	}
	if strings.Contains(out, "svc-pw") || strings.Contains(out, "app-secret") {
		t.Errorf("output shows a secret")
	}
}
