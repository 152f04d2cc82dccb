package projects_test

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/davsync"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/secrets"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testdav"
	"github.com/ferryhq/ferry/internal/testews"
	"github.com/ferryhq/ferry/internal/testgraph"
	"github.com/ferryhq/ferry/internal/testoauth"
)

// TestItemWorkloadsExchangeToMicrosoft365 runs the passes of an item that
// moves calendar, contacts and tasks (no mail) from an Exchange endpoint
// (EWS, the administrator impersonating the mailbox) to a Microsoft 365
// endpoint (Graph, the endpoint's OAuth2 app): Verify credentials signs in
// on both, Full copies every object once, a second Full writes nothing
// new, and the statistics count each workload.
func TestItemWorkloadsExchangeToMicrosoft365(t *testing.T) {
	t.Parallel()
	ctx := operator
	es := testews.Start(t)
	es.AddAccount("svc-migrate", "svc-pw")
	es.GrantImpersonation("svc-migrate")
	m := es.AddMailbox("alice@contoso.test", "alice")
	for _, it := range testdav.Events(12) {
		es.Add(es.Folder(m, "calendar", ""), &testews.Item{Mime: it.Data})
	}
	for _, it := range testdav.Contacts(3, 500) {
		es.Add(es.Folder(m, "contacts", ""), &testews.Item{Mime: it.Data})
	}
	es.Add(es.Folder(m, "tasks", ""), &testews.Item{Task: &testews.Task{Subject: "Belege", Status: "NotStarted"}})
	es.Add(es.Folder(m, "tasks", ""), &testews.Item{Task: &testews.Task{Subject: "Steuern", Status: "Completed"}})
	ts := testoauth.Start(t)
	ts.AddApp(&testoauth.App{ClientID: "ferry-app", Secret: "app-secret"})
	gs := testgraph.Start(t, ts.IntrospectURL)
	gs.AddMailbox("alice@contoso.test")

	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	keys, _ := secrets.NewKeyring(key)
	svc := &projects.Service{Store: st, Sealer: keys, WorkloadHTTP: gs.Client}
	cs := customers.New(st, keys, svc)
	c, err := cs.CreateCustomer(ctx, customers.CustomerInput{Name: "Contoso", Domain: "contoso.test"})
	if err != nil {
		t.Fatal(err)
	}
	src, err := cs.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: c.ID, Name: "Exchange 2016", Type: "exchange", Host: "mail.contoso.test",
		AdminUser: "svc-migrate", Password: "svc-pw"})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := cs.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: c.ID, Name: "Microsoft 365", Type: "office365",
		OAuth2: oauth.Config{Tenant: "contoso", ClientID: "ferry-app", ClientSecret: "app-secret", TokenURL: ts.TokenURL}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.CreateProject(ctx, projects.ProjectInput{CustomerID: c.ID, Name: "Calendars", SourceID: src.ID, DestID: dst.ID})
	if err != nil {
		t.Fatal(err)
	}
	in := projects.ItemInput{Source: "alice@contoso.test", Dest: "alice@contoso.test", Workloads: []string{"tasks", "calendar", "contacts"}}
	if _, err := svc.AddItem(ctx, p.ID, in); err == nil || !strings.Contains(err.Error(), "set a DAV URL or an EWS URL on endpoint \"Exchange 2016\"") {
		t.Fatalf("calendar workloads without locations: %v", err)
	}
	if _, err := cs.SetEndpointLocations(ctx, src.ID, customers.Locations{EWSURL: es.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.SetEndpointLocations(ctx, dst.ID, customers.Locations{GraphURL: gs.URL, DAVURL: "https://dav.x/"}); err == nil {
		t.Fatal("a DAV and a Graph URL together were taken")
	}
	if _, err := cs.SetEndpointLocations(ctx, dst.ID, customers.Locations{GraphURL: gs.URL}); err != nil {
		t.Fatal(err)
	}
	it, err := svc.AddItem(ctx, p.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(it.Workloads, ",") != "calendar,contacts,tasks" {
		t.Fatalf("item workloads %v", it.Workloads)
	}
	for i, pass := range []string{"verify", "full", "full"} {
		if err := svc.RunPass(ctx, int64(100+i), jobs.PassArgs{ItemID: it.ID, Pass: pass}); err != nil {
			t.Fatalf("%s: %v", pass, err)
		}
		got, _ := st.Item(ctx, it.ID)
		want := store.StatusCompletedVerify
		if pass == "full" {
			want = store.StatusCompleted
		}
		if got.Status != want || got.Errors != 0 {
			t.Fatalf("after %s the item is %q with %d errors", pass, got.Status, got.Errors)
		}
		n := 0
		snap := gs.Snapshot("alice@contoso.test")
		for _, cs := range [][]*testgraph.Container{snap.Calendars, snap.Lists, snap.Folders} {
			for _, c := range cs {
				n += len(c.Items)
			}
		}
		if wantN := map[string]int{"verify": 0, "full": 17}[pass]; n != wantN {
			t.Fatalf("after %s Microsoft 365 holds %d items, want %d", pass, n, wantN)
		}
	}
	stats, err := svc.MailboxStatistics(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, s := range stats {
		rows = append(rows, fmt.Sprintf("%s=%d", s.Workload, s.Items))
	}
	if got := strings.Join(rows, " "); got != "calendar=12 contacts=3 tasks=2" {
		t.Errorf("statistics %s", got)
	}
	if sent := gs.Sent(); len(sent) > 0 {
		t.Errorf("meeting messages sent: %v", sent)
	}

	// An event Microsoft 365 cannot hold is the item's error, with its
	// title, date, Graph's limit and what to do.
	es.Add(es.Folder(m, "calendar", ""), &testews.Item{Mime: []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:hourly@t\r\n" +
		"DTSTAMP:20260101T000000Z\r\nDTSTART:20260301T080000Z\r\nDTEND:20260301T081000Z\r\nRRULE:FREQ=HOURLY;COUNT=5\r\nSUMMARY:Hourly check\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")})
	if err := svc.RunPass(ctx, 200, jobs.PassArgs{ItemID: it.ID, Pass: "retry"}); err != nil {
		t.Fatal(err)
	}
	d, err := svc.Item(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Errors != 1 || len(d.WorkloadFailures) != 1 {
		t.Fatalf("item errors %d, workload failures %+v", d.Errors, d.WorkloadFailures)
	}
	f := d.WorkloadFailures[0]
	if f.Workload != "calendar" || f.Title != "Hourly check" || f.Date != "20260301T080000Z" || !strings.Contains(f.Error, "cannot hold the recurrence rule") || f.Action == "" {
		t.Errorf("failure %+v", f)
	}
}

// TestItemWorkloadsDAVToDAV: an item of two IMAP endpoints with DAV
// locations moves mail-less calendars and tasks with its own mailbox
// passwords; Trial copies them all (objects are small), Retry finds
// nothing new.
func TestItemWorkloadsDAVToDAV(t *testing.T) {
	t.Parallel()
	ctx := operator
	r := testdav.Start(t, map[string]string{"alice": "alice-pw", "bob": "bob-pw"})
	cal := r.MakeCalendar(t, "alice", "work", "Arbeit", "#ff8800ff", "VEVENT")
	todo := r.MakeCalendar(t, "alice", "todo", "Aufgaben", "#00ff00ff", "VTODO")
	r.Load(t, "alice", cal, "text/calendar", testdav.Events(8))
	r.Load(t, "alice", todo, "text/calendar", testdav.Tasks(3))

	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	keys, _ := secrets.NewKeyring(key)
	svc := &projects.Service{Store: st, Sealer: keys}
	cs := customers.New(st, keys, svc)
	c, err := cs.CreateCustomer(ctx, customers.CustomerInput{Name: "Fabrikam", Domain: "fabrikam.test"})
	if err != nil {
		t.Fatal(err)
	}
	var eps []int64
	for _, name := range []string{"old", "new"} {
		e, err := cs.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: c.ID, Name: name, Type: "imap", Host: name + ".fabrikam.test",
			Locations: customers.Locations{DAVURL: r.URL}})
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, e.ID)
	}
	p, err := svc.CreateProject(ctx, projects.ProjectInput{CustomerID: c.ID, Name: "Calendars", SourceID: eps[0], DestID: eps[1]})
	if err != nil {
		t.Fatal(err)
	}
	it, err := svc.AddItem(ctx, p.ID, projects.ItemInput{Source: "alice", Dest: "bob", SourcePassword: "alice-pw", DestPassword: "bob-pw", Workloads: []string{"calendar", "tasks"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, pass := range []string{"trial", "retry"} {
		if err := svc.RunPass(ctx, int64(200+i), jobs.PassArgs{ItemID: it.ID, Pass: pass}); err != nil {
			t.Fatalf("%s: %v", pass, err)
		}
		if got, _ := st.Item(ctx, it.ID); got.Errors != 0 || (got.Status != store.StatusCompletedTrial && got.Status != store.StatusCompleted) {
			t.Fatalf("after %s the item is %q with %d errors", pass, got.Status, got.Errors)
		}
	}
	stats, err := svc.MailboxStatistics(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, s := range stats {
		rows = append(rows, fmt.Sprintf("%s=%d", s.Workload, s.Items))
	}
	if got := strings.Join(rows, " "); got != "calendar=8 tasks=3" {
		t.Errorf("statistics %s", got)
	}
	// Bob's account holds each object once.
	src, _ := svc.Store.Item(ctx, it.ID)
	if src.DAVMailboxID == 0 {
		t.Fatal("no state recorded for the item's calendars")
	}
	bob, err := dav.Dial(ctx, dav.Endpoint{URL: r.URL, User: "bob", Password: "bob-pw"})
	if err != nil {
		t.Fatal(err)
	}
	colls, err := bob.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]int{}
	for _, coll := range colls {
		objs, err := bob.All(ctx, coll)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			uids[davsync.Describe(o).UID]++
		}
	}
	if len(uids) != 11 {
		t.Errorf("bob holds %d UIDs, want 11", len(uids))
	}
	for uid, n := range uids {
		if n != 1 {
			t.Errorf("%s is there %d times", uid, n)
		}
	}
}
