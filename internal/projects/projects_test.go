package projects_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/secrets"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testimap"
)

type bundle struct {
	svc *projects.Service
	// customers creates the customer and endpoints (the one door for them).
	customers *customers.Service
	st        *sqlstore.Store
	project   store.Project
	src, dst  *testimap.MemServer
	users     []string
}

// setup: two in-process servers with n mailboxes, endpoints without
// administrator credentials (each item has its passwords), a running queue.
func setup(t *testing.T, n int) *bundle {
	t.Helper()
	return setupWith(t, n, setupOptions{})
}

// setupOptions change setup's defaults (zero values keep them).
type setupOptions struct {
	messages, folders int           // per mailbox; 20 and 3
	leaseTTL          time.Duration // 5 s
	jobs              jobs.Options  // 4 workers polling every 50 ms
	// wrapStore, when set, stands between the service and the store (to count calls).
	wrapStore func(store.Store) store.Store
}

func setupWith(t *testing.T, n int, o setupOptions) *bundle {
	t.Helper()
	if o.messages == 0 {
		o.messages, o.folders = 20, 3
	}
	if o.leaseTTL == 0 {
		o.leaseTTL = 5 * time.Second
	}
	if o.jobs.Workers == 0 {
		o.jobs.Workers, o.jobs.Poll = 4, 50*time.Millisecond
	}
	ctx := operator
	b := &bundle{}
	var users []testimap.User
	for i := range n {
		u := fmt.Sprintf("u%d@fabrikam.com", i)
		b.users = append(b.users, u)
		users = append(users, testimap.User{Name: u, Password: "pw-" + u})
	}
	b.src, b.dst = testimap.StartMem(t, users...), testimap.StartMem(t, users...)
	for i, u := range b.users {
		c := testimap.Dial(t, b.src.Addr, u, "pw-"+u)
		if err := corpus.Load(ctx, c, corpus.Generate(corpus.Spec{Seed: int64(i), Messages: o.messages, Folders: o.folders, MaxSize: 32 << 10})); err != nil {
			t.Fatal(err)
		}
	}
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	keys, _ := secrets.NewKeyring(key)
	b.st = st
	b.svc = &projects.Service{Store: st, Sealer: keys, LeaseTTL: o.leaseTTL}
	if o.wrapStore != nil {
		b.svc.Store = o.wrapStore(st)
	}
	o.jobs.Preflight = b.svc
	q, err := jobs.NewSQLite(ctx, st.DB(), b.svc, o.jobs)
	if err != nil {
		t.Fatal(err)
	}
	b.svc.Queue = q
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	reaping, stopReaping := context.WithCancel(ctx)
	go b.svc.TakeOverDeadAttempts(reaping)
	t.Cleanup(func() {
		stopReaping()
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		q.Stop(sctx)
	})
	b.customers = customers.New(st, keys, b.svc)
	c, err := b.customers.CreateCustomer(ctx, customers.CustomerInput{Name: "Fabrikam", Domain: "fabrikam.com"})
	if err != nil {
		t.Fatal(err)
	}
	var eps []store.Endpoint
	for i, addr := range []string{b.src.Addr, b.dst.Addr} {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		e, err := b.customers.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: c.ID, Name: fmt.Sprint("ep", i), Type: "imap", Host: host, Port: p, Security: "starttls", AllowPlaintext: true})
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, e)
	}
	b.project, err = b.svc.CreateProject(ctx, projects.ProjectInput{CustomerID: c.ID, Name: "Mail", SourceID: eps[0].ID, DestID: eps[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range b.users {
		if _, err := b.svc.AddItem(ctx, b.project.ID, projects.ItemInput{Source: u, Dest: u, SourcePassword: "pw-" + u, DestPassword: "pw-" + u}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func (b *bundle) waitStatus(t *testing.T, want string, timeout time.Duration) []store.Item {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		items, _, _ := b.st.Items(operator, b.project.ID, store.ItemFilter{})
		ok := true
		var got []string
		for _, it := range items {
			got = append(got, it.Status)
			ok = ok && it.Status == want
		}
		if ok {
			return items
		}
		if time.Now().After(deadline) {
			t.Fatalf("statuses %v, want all %q", got, want)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func TestPassesMoveItemsThroughTheirStatuses(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	ctx := operator
	res, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "verify", Selection: projects.Selection{All: true}})
	if err != nil || res.Queued != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	b.waitStatus(t, store.StatusCompletedVerify, 20*time.Second)
	b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "trial", Selection: projects.Selection{All: true}})
	b.waitStatus(t, store.StatusCompletedTrial, 20*time.Second)
	b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{Statuses: []string{store.StatusCompletedTrial}}})
	items := b.waitStatus(t, store.StatusCompleted, 20*time.Second)
	for i, u := range b.users {
		if d := testimap.TakeSnapshot(t, b.src.Addr, u, "pw-"+u).Diff(testimap.TakeSnapshot(t, b.dst.Addr, u, "pw-"+u)); d != "" {
			t.Fatalf("%s differs:\n%s", u, d)
		}
		detail, err := b.svc.Item(ctx, items[i].ID)
		if err != nil || len(detail.History) != 3 {
			t.Fatalf("history %+v %v", detail, err)
		}
		var passes []string
		for _, r := range detail.History {
			passes = append(passes, r.Pass)
		}
		if strings.Join(passes, ",") != "verify,trial,full" {
			t.Fatalf("passes %v", passes)
		}
	}
}

func TestScheduledPassWaitsAndStopCancelsIt(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	ctx := operator
	at := time.Now().Add(1500 * time.Millisecond)
	res, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", At: at, Selection: projects.Selection{ItemIDs: []int64{1}}})
	if err != nil || res.Queued != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	it, _ := b.st.Item(ctx, 1)
	if it.Status != store.StatusQueued {
		t.Fatalf("status %q", it.Status)
	}
	// Item 2: scheduled far ahead, then stopped: it never runs.
	b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", At: time.Now().Add(time.Hour), Selection: projects.Selection{ItemIDs: []int64{2}}})
	if n, err := b.svc.Stop(ctx, b.project.ID, projects.Selection{ItemIDs: []int64{2}}); err != nil || n != 1 {
		t.Fatalf("stop: %d %v", n, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		it, _ = b.st.Item(ctx, 1)
		if it.Status == store.StatusCompleted {
			break
		}
		if it.Status == store.StatusRunning && time.Now().Before(at) {
			t.Fatal("the scheduled pass started early")
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %q", it.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d, _ := b.svc.Item(ctx, 1)
	if d.History[0].Started.Before(at.Add(-50 * time.Millisecond)) {
		t.Fatalf("started %v, scheduled for %v", d.History[0].Started, at)
	}
	it2, _ := b.st.Item(ctx, 2)
	if it2.Status != store.StatusStopped || it2.MailboxID != 0 {
		t.Fatalf("stopped item: %+v", it2)
	}
}

func TestRetryErrorsAndFailedItems(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	ctx := operator
	b.dst.Faults.Set(func(n int, _ string, _ int64) error {
		if n == 5 {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Message rejected by policy"}
		}
		return nil
	}, nil)
	b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}})
	b.waitStatus(t, store.StatusCompleted, 20*time.Second)
	withErrors, _, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{})
	total := 0
	for _, it := range withErrors {
		total += it.Errors
	}
	if total != 1 {
		t.Fatalf("%d errors recorded, want 1", total)
	}
	b.dst.Faults.Set(nil, nil)
	b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "retry", Selection: projects.Selection{All: true}})
	items := b.waitStatus(t, store.StatusCompleted, 20*time.Second)
	for _, it := range items {
		if it.Errors != 0 || it.LastPass != "retry" {
			t.Fatalf("after Retry errors: %+v", it)
		}
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	ctx := operator
	seven := 7
	zero := 0
	tests := []struct {
		name  string
		call  func() error
		field string
		want  string
	}{
		{"item without its password", func() error {
			_, err := b.svc.AddItem(ctx, b.project.ID, projects.ItemInput{Source: "a@fabrikam.com", Dest: "a@fabrikam.com"})
			return err
		}, "source_password", "no administrator credentials"},
		{"duplicate item", func() error {
			_, err := b.svc.AddItem(ctx, b.project.ID, projects.ItemInput{Source: b.users[0], Dest: "other@x.com", SourcePassword: "p", DestPassword: "p"})
			return err
		}, "source", "already in the project"},
		{"prestage without days", func() error {
			_, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "prestage", Selection: projects.Selection{All: true}})
			return err
		}, "older_than_days", "90"},
		{"unknown pass", func() error {
			_, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "fast", Selection: projects.Selection{All: true}})
			return err
		}, "pass", "trial"},
		{"no selection", func() error {
			_, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full"})
			return err
		}, "selection", "all"},
		{"unknown status", func() error {
			_, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{Statuses: []string{"Done"}}})
			return err
		}, "statuses", "Done"},
		{"start in the past", func() error {
			_, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", At: time.Now().Add(-time.Hour), Selection: projects.Selection{All: true}})
			return err
		}, "at", "past"},
		{"zero concurrency", func() error {
			_, err := b.svc.UpdateSettings(ctx, b.project.ID, projects.Settings{MaxConcurrent: &zero})
			return err
		}, "max_concurrent_migrations", "1 to 1000"},
		{"document project", func() error {
			_, err := b.svc.CreateProject(ctx, projects.ProjectInput{CustomerID: 1, Name: "Docs", Kind: "document", SourceID: 1, DestID: 2, Settings: projects.Settings{MaxErrors: &seven}})
			return err
		}, "kind", "not available yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			fe, ok := fault.As(err)
			if !ok || (fe.Kind != fault.Invalid && fe.Kind != fault.Conflict) {
				t.Fatalf("err = %v (kind %v), want invalid input or a conflict", err, fault.KindOf(err))
			}
			if fe.Field != tt.field || !strings.Contains(fe.Msg, tt.want) {
				t.Fatalf("field %q message %q; want %q and %q", fe.Field, fe.Msg, tt.field, tt.want)
			}
		})
	}
}

func TestImportPreviewAndSkipInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	ctx := operator
	csv := "source,destination,source password,destination password\nnew1@fabrikam.com,new1@fabrikam.com,p,p\nbroken,,p,p\n" + b.users[0] + ",x@fabrikam.com,p,p\nnew2@fabrikam.com,new2@fabrikam.com,p,p\n"
	res, err := b.svc.ImportItems(ctx, b.project.ID, "list.csv", strings.NewReader(csv), projects.ImportOptions{})
	if err != nil || !res.Preview || len(res.Valid) != 2 || len(res.Errors) != 2 {
		t.Fatalf("preview %+v %v", res, err)
	}
	if !strings.Contains(res.Errors[0].Msg, "line 3") || !strings.Contains(res.Errors[1].Msg, "already in the project") {
		t.Fatalf("errors %+v", res.Errors)
	}
	if _, err := b.svc.ImportItems(ctx, b.project.ID, "list.csv", strings.NewReader(csv), projects.ImportOptions{Apply: true}); err != projects.ErrImportHasErrors {
		t.Fatalf("err = %v", err)
	}
	if _, n, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{}); n != 1 {
		t.Fatalf("%d items after a refused import", n)
	}
	res, err = b.svc.ImportItems(ctx, b.project.ID, "list.csv", strings.NewReader(csv), projects.ImportOptions{Apply: true, SkipInvalid: true})
	if err != nil || res.Added != 2 {
		t.Fatalf("%+v %v", res, err)
	}
}

// TestDailyTransferLimitPausesAndGoesOnTheNextDay: with a destination that
// accepts only so many bytes a day per mailbox (Gmail's upload limit), a
// Full pass copies up to the limit, leaves the item Queued and asks the
// queue to come back when the oldest run of the last 24 hours leaves that
// window; day after day the rest goes, and the copy ends exact.
func TestDailyTransferLimitPausesAndGoesOnTheNextDay(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	ctx := operator
	total := corpus.Generate(corpus.Spec{Seed: 0, Messages: 20, Folders: 3, MaxSize: 32 << 10}).TotalBytes()
	limit := total / 3
	var eps []store.Endpoint
	for i, addr := range []string{b.src.Addr, b.dst.Addr} {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		in := customers.EndpointInput{CustomerID: b.project.CustomerID, Name: fmt.Sprint("limited", i), Type: "imap", Host: host, Port: p, Security: "starttls", AllowPlaintext: true}
		if i == 1 {
			in.DailyUpload = limit
		}
		e, err := b.customers.CreateEndpoint(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, e)
	}
	p, err := b.svc.CreateProject(ctx, projects.ProjectInput{CustomerID: b.project.CustomerID, Name: "Limited", SourceID: eps[0].ID, DestID: eps[1].ID})
	if err != nil {
		t.Fatal(err)
	}
	u := b.users[0]
	it, err := b.svc.AddItem(ctx, p.ID, projects.ItemInput{Source: u, Dest: u, SourcePassword: "pw-" + u, DestPassword: "pw-" + u})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now()
	svc := *b.svc // its own clock; the shared service's queue runs nothing here
	svc.Now = func() time.Time { return day }
	dstCount := func() int {
		n := 0
		for _, msgs := range testimap.TakeSnapshot(t, b.dst.Addr, u, "pw-"+u) {
			n += len(msgs)
		}
		return n
	}
	days := 0
	for ; days < 6; days++ {
		err := svc.RunPass(ctx, int64(1000+days), jobs.PassArgs{ItemID: it.ID, Pass: "full"})
		got, _ := b.st.Item(ctx, it.ID)
		if err == nil {
			if got.Status != store.StatusCompleted {
				t.Fatalf("day %d: finished with status %s", days, got.Status)
			}
			break
		}
		var wait *jobs.WaitError
		if !errors.As(err, &wait) || got.Status != store.StatusQueued {
			t.Fatalf("day %d: %v, item %s", days, err, got.Status)
		}
		if d := wait.Until.Sub(day); d < 23*time.Hour || d > 24*time.Hour+time.Minute {
			t.Fatalf("day %d: comes back in %v, want about 24 h", days, d)
		}
		// The same day again: nothing more goes.
		before := dstCount()
		if err := svc.RunPass(ctx, int64(2000+days), jobs.PassArgs{ItemID: it.ID, Pass: "full"}); !errors.As(err, &wait) {
			t.Fatalf("day %d, again: %v", days, err)
		}
		if after := dstCount(); after != before {
			t.Fatalf("day %d: a second pass on the same day copied %d more", days, after-before)
		}
		day = day.Add(25 * time.Hour)
	}
	t.Logf("the mailbox took %d days at %d bytes a day (%d in all)", days+1, limit, total)
	if days < 2 {
		t.Fatalf("done after %d days; a third of the mailbox a day should take three", days+1)
	}
	d, _ := b.svc.Item(ctx, it.ID)
	var bytes int64
	for _, r := range d.History {
		bytes += r.CopiedBytes
		if r.CopiedBytes > limit {
			t.Fatalf("a run copied %d bytes; the daily limit is %d", r.CopiedBytes, limit)
		}
	}
	if bytes != total {
		t.Fatalf("copied %d bytes in all, the mailbox has %d", bytes, total)
	}
	if diff := testimap.TakeSnapshot(t, b.src.Addr, u, "pw-"+u).Diff(testimap.TakeSnapshot(t, b.dst.Addr, u, "pw-"+u)); diff != "" {
		t.Fatalf("destination differs:\n%s", diff)
	}
}

// TestActivity: the dashboard's figures of the customers' projects: items
// per status, those running, and the latest with errors or failed.
func TestActivity(t *testing.T) {
	t.Parallel()
	// A lease TTL of an hour: the rescuer (every TTL/3) must not set the
	// item marked Running here, which holds no lease, back to Queued.
	b := setupWith(t, 4, setupOptions{leaseTTL: time.Hour})
	ctx := operator
	items, _, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{})
	set := func(i int, status string, errs int) {
		t.Helper()
		if err := b.st.SetItemStatus(ctx, items[i].ID, status, "full", errs); err != nil {
			t.Fatal(err)
		}
	}
	set(0, store.StatusRunning, 0)
	set(1, store.StatusCompleted, 2) // completed with errors
	set(2, store.StatusFailed, 0)
	set(3, store.StatusCompleted, 0) // clean: not listed
	c, err := b.st.Customer(ctx, b.project.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	a, err := b.svc.Activity(ctx, []store.Customer{c})
	if err != nil {
		t.Fatal(err)
	}
	if a.Totals[store.StatusRunning] != 1 || a.Totals[store.StatusCompleted] != 2 || a.Totals[store.StatusFailed] != 1 {
		t.Errorf("totals %v", a.Totals)
	}
	if len(a.Running) != 1 || a.Running[0].Item.ID != items[0].ID || a.Running[0].Project.ID != b.project.ID || a.Running[0].Customer.ID != c.ID {
		t.Errorf("running %+v", a.Running)
	}
	var errs []int64
	for _, e := range a.Errors {
		errs = append(errs, e.Item.ID)
	}
	slices.Sort(errs)
	if fmt.Sprint(errs) != fmt.Sprint([]int64{items[1].ID, items[2].ID}) {
		t.Errorf("with errors: %v, want items %d and %d", errs, items[1].ID, items[2].ID)
	}
	if a, _ := b.svc.Activity(ctx, nil); len(a.Totals)+len(a.Running)+len(a.Errors) != 0 {
		t.Errorf("with no customers: %+v", a)
	}
}
