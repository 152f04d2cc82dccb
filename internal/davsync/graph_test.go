package davsync_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/davsync"
	"github.com/ferryhq/ferry/internal/graph"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/testdav"
	"github.com/ferryhq/ferry/internal/testgraph"
	"github.com/ferryhq/ferry/internal/testoauth"
)

const graphMailbox = "alice@contoso.test"

func startGraph(t *testing.T) (*testgraph.Server, *testoauth.Server, *graph.Client) {
	t.Helper()
	ts := testoauth.Start(t)
	ts.AddApp(&testoauth.App{ClientID: "ferry-app", Secret: "app-secret"})
	srv := testgraph.Start(t, ts.IntrospectURL)
	srv.AddMailbox(graphMailbox)
	src, err := oauth.New(oauth.Config{Tenant: "contoso", ClientID: "ferry-app", ClientSecret: "app-secret", TokenURL: ts.TokenURL, Scope: graph.Scope}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := graph.New(graph.Config{URL: srv.URL, Mailbox: graphMailbox, Tokens: src, HTTP: srv.Client})
	if err != nil {
		t.Fatal(err)
	}
	return srv, ts, g
}

// graphContents checks that every item of the mailbox carries a UID held
// by no other item, and returns the items by UID.
func graphContents(t *testing.T, m *testgraph.Mailbox) map[string]*testgraph.Item {
	t.Helper()
	out := map[string]*testgraph.Item{}
	add := func(uid string, it *testgraph.Item, where string) {
		if uid == "" {
			t.Fatalf("item %s in %s has no UID", it.ID, where)
		}
		if out[uid] != nil {
			t.Fatalf("UID %s is in the mailbox twice (in %s)", uid, where)
		}
		out[uid] = it
	}
	for _, c := range append(m.Calendars, m.Folders...) {
		for _, it := range c.Items {
			add(it.Ext(graph.PropUID), it, c.Name)
		}
	}
	for _, c := range m.Lists {
		for _, it := range c.Items {
			uid := ""
			for _, l := range it.Links {
				if l["applicationName"] == "Ferry" {
					uid, _ = l["externalId"].(string)
				}
			}
			add(uid, it, c.Name)
		}
	}
	return out
}

// TestCopyRadicaleToGraphExactlyOnce copies the corpus from Radicale into
// Microsoft 365 (the Graph double): every object once, in a calendar, To
// Do list and contact folder named as at the source; the series is one
// item with its cancelled and moved occurrences; the all-day event is
// all-day; the meeting invites nobody and keeps its people as data. A
// second pass, and a pass with the state lost, write nothing new.
func TestCopyRadicaleToGraphExactlyOnce(t *testing.T) {
	t.Parallel()
	_, src, _ := setup(t)
	srv, _, g := startGraph(t)
	srv.SetPageSize(25) // the lost-state pass lists the destination in pages
	ctx := context.Background()
	state := &memState{}
	rep, err := davsync.Copy(ctx, src, g, state, all)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) > 0 {
		t.Fatalf("failures: %+v", rep.Failures)
	}
	want := map[davsync.Workload]davsync.Counts{davsync.Calendar: {Copied: nEvents}, davsync.Tasks: {Copied: nTasks}, davsync.Contacts: {Copied: nContacts}}
	if got := counts(rep); !equalCounts(got, want) {
		t.Fatalf("first pass %v, want %v", got, want)
	}
	m := srv.Snapshot(graphMailbox)
	items := graphContents(t, m)
	if len(items) != nEvents+nTasks+nContacts {
		t.Fatalf("the mailbox holds %d items, want %d", len(items), nEvents+nTasks+nContacts)
	}
	names := strings.Join(m.SortedNames(), "|")
	if names != "Arbeit ✓|Aufgaben|Calendar|Kontakte|Tasks" {
		t.Errorf("containers %s", names)
	}
	series := items["series-1@ferry.test"]
	if series.Data["recurrence"] == nil || len(series.Cancelled) != 1 || len(series.Overrides) != 1 {
		t.Errorf("series: recurrence %v, %d cancelled, %d changed occurrences (want 1 and 1)", series.Data["recurrence"], len(series.Cancelled), len(series.Overrides))
	}
	allday := items["allday-1@ferry.test"]
	start, _ := allday.Data["start"].(map[string]any)
	if allday.Data["isAllDay"] != true || start["dateTime"] != "2026-02-14T00:00:00.0000000" {
		t.Errorf("all-day event written as isAllDay=%v start=%v", allday.Data["isAllDay"], start)
	}
	meeting := items["meeting-1@ferry.test"]
	if meeting.Data["attendees"] != nil {
		t.Errorf("meeting written with attendees %v", meeting.Data["attendees"])
	}
	if p := meeting.Ext(graph.PropParticipants); !strings.Contains(p, "anna@ferry.test") || !strings.Contains(p, "ACCEPTED") || !strings.Contains(p, "boss@ferry.test") {
		t.Errorf("meeting participants kept as %q", p)
	}
	photos := 0
	for uid, it := range items {
		if strings.HasPrefix(uid, "contact-") && len(it.Photo) == 150_000 {
			photos++
		}
	}
	if photos != (nContacts+2)/3 {
		t.Errorf("%d contacts have their photo, want %d", photos, (nContacts+2)/3)
	}

	rep, err = davsync.Copy(ctx, src, g, state, all)
	if err != nil {
		t.Fatal(err)
	}
	want = map[davsync.Workload]davsync.Counts{davsync.Calendar: {Unchanged: nEvents}, davsync.Tasks: {Unchanged: nTasks}, davsync.Contacts: {Unchanged: nContacts}}
	if got := counts(rep); !equalCounts(got, want) {
		t.Fatalf("second pass %v, want %v", got, want)
	}

	// State lost: every object is found by its UID and updated in place.
	rep, err = davsync.Copy(ctx, src, g, &memState{}, all)
	if err != nil {
		t.Fatal(err)
	}
	for w, c := range counts(rep) {
		if c.Copied != 0 || c.Failed != 0 {
			t.Errorf("pass with the state lost: %s %+v", w, c)
		}
	}
	if n := len(graphContents(t, srv.Snapshot(graphMailbox))); n != nEvents+nTasks+nContacts {
		t.Errorf("after the pass with the state lost the mailbox holds %d items", n)
	}
	if sent := srv.Sent(); len(sent) > 0 {
		t.Errorf("the migration made Exchange send %v", sent)
	}
	cmp, err := davsync.Compare(ctx, src, g, all)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Complete() {
		t.Errorf("compare: %+v %v", cmp.Workloads, cmp.Problems)
	}
}

// TestKilledMidCopyToGraphEndsExact kills `ferry migrate --workloads
// calendar,contacts,tasks --to-graph` with SIGKILL mid-copy, then lets it
// finish: the mailbox holds every source object once.
func TestKilledMidCopyToGraphEndsExact(t *testing.T) {
	t.Parallel()
	bin := ferry(t)
	r := testdav.Start(t, map[string]string{"alice": "alice-pw"})
	cal := r.MakeCalendar(t, "alice", "work", "Arbeit", "#ff8800ff", "VEVENT")
	tasks := r.MakeCalendar(t, "alice", "todo", "Aufgaben", "#00ff00ff", "VTODO")
	ab := r.MakeAddressBook(t, "alice", "contacts", "Kontakte")
	const events, nTasks, contacts = 120, 10, 30
	r.Load(t, "alice", cal, "text/calendar", testdav.Events(events))
	r.Load(t, "alice", tasks, "text/calendar", testdav.Tasks(nTasks))
	r.Load(t, "alice", ab, "text/vcard", testdav.Contacts(contacts, 20_000))
	srv, ts, _ := startGraph(t)

	dir := t.TempDir()
	for name, secret := range map[string]string{"alice": "alice-pw", "app": "app-secret"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(secret), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(dir, "state.db")
	args := []string{"migrate", "--workloads", "calendar,contacts,tasks",
		"--from-dav", "http://alice@" + strings.TrimPrefix(r.URL, "http://"), "--from-password-file", filepath.Join(dir, "alice"),
		"--to-graph", graphMailbox, "--graph-url", srv.URL,
		"--to-oauth2-tenant", "contoso", "--to-oauth2-client-id", "ferry-app",
		"--to-oauth2-client-secret-file", filepath.Join(dir, "app"), "--to-oauth2-token-url", ts.TokenURL,
		"--state", state}
	env := append(os.Environ(), "SSL_CERT_FILE="+srv.CertFile(t, dir))
	run := func() *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		return cmd
	}
	total := events + nTasks + contacts
	kills := 0
	for i := range 4 {
		before := len(graphContents(t, srv.Snapshot(graphMailbox)))
		target := before + 10 + 7*i
		cmd := run()
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		tick := time.NewTicker(5 * time.Millisecond)
	watch:
		for {
			select {
			case err := <-done:
				t.Logf("run %d finished before the kill (%v):\n%s", i, err, out.String())
				break watch
			case <-tick.C:
				if n := len(graphContents(t, srv.Snapshot(graphMailbox))); n >= target && n < total {
					cmd.Process.Kill()
					<-done
					kills++
					break watch
				}
			}
		}
		tick.Stop()
	}
	if kills < 3 {
		t.Fatalf("only %d runs were killed mid-copy", kills)
	}
	cmd := run()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	t.Logf("after %d kills, final run:\n%s", kills, out)
	items := graphContents(t, srv.Snapshot(graphMailbox)) // fails on a UID seen twice
	if len(items) != total {
		t.Fatalf("the mailbox holds %d items, want %d", len(items), total)
	}
	verify := exec.Command(bin, append([]string{"verify"}, args[1:len(args)-2]...)...)
	verify.Env = env
	if vout, err := verify.CombinedOutput(); err != nil || !strings.Contains(string(vout), "complete: every source object") {
		t.Fatalf("ferry verify after the final run: %v\n%s", err, vout)
	}
	if sent := srv.Sent(); len(sent) > 0 {
		t.Errorf("the migration made Exchange send %v", sent)
	}
}
