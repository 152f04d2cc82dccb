package dnscheck_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/dnscheck"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testdns"
	"github.com/ferryhq/ferry/internal/testpg"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

var operator = auth.WithPrincipal(context.Background(), auth.Operator("test operator"))

// clock is the test's time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// backend opens a database: a store with the real River queue on it (a
// worker process's pair); open gives another process's pair on the same database.
type backend struct {
	name string
	open func(t *testing.T) (*sqlstore.Store, jobs.Queue, func())
}

func backends(t *testing.T) []backend {
	dir := t.TempDir()
	file := filepath.Join(dir, "ferry.db")
	lite := backend{name: "sqlite", open: func(t *testing.T) (*sqlstore.Store, jobs.Queue, func()) {
		st, err := sqlstore.OpenSQLite(context.Background(), file)
		if err != nil {
			t.Fatal(err)
		}
		q, err := jobs.NewSQLite(context.Background(), st.DB(), nil, jobs.Options{InsertOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		return st, q, func() { st.Close() }
	}}
	var url string
	pg := backend{name: "postgres", open: func(t *testing.T) (*sqlstore.Store, jobs.Queue, func()) {
		if url == "" {
			url = testpg.URL(t)
		}
		st, err := sqlstore.OpenPostgres(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		q, err := jobs.NewPostgres(context.Background(), pool, nil, jobs.Options{InsertOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		return st, q, func() { pool.Close(); st.Close() }
	}}
	return []backend{lite, pg}
}

// fixture is an engagement with the domain contoso.com, a project with
// two mailboxes in it and one in fabrikam.com.
type fixture struct {
	engagement store.Engagement
	inDomain   []int64
	other      int64
}

func seed(t *testing.T, st store.Store, dnsAddr string) fixture {
	t.Helper()
	ctx := operator
	c := store.Customer{Name: "Contoso", Domain: "contoso.com"}
	if err := st.CreateCustomer(ctx, &c); err != nil {
		t.Fatal(err)
	}
	es := &engagements.Service{Store: st, Playbook: playbook.Default()}
	e, _, err := es.Create(ctx, engagements.Input{CustomerID: c.ID, Name: "Onboarding", Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	if err != nil {
		t.Fatal(err)
	}
	src := store.Endpoint{CustomerID: c.ID, Name: "old", Type: "exchange", Host: "mail.contoso.com", Port: 993, Security: "tls"}
	dst := store.Endpoint{CustomerID: c.ID, Name: "m365", Type: "office365", Host: "outlook.office365.com", Port: 993, Security: "tls"}
	for _, ep := range []*store.Endpoint{&src, &dst} {
		if err := st.CreateEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
	}
	p := store.Project{CustomerID: c.ID, EngagementID: e.ID, Name: "Mailboxes", Kind: "mailbox", SourceID: src.ID, DestID: dst.ID, MaxConcurrent: 5}
	if err := st.CreateProject(ctx, &p); err != nil {
		t.Fatal(err)
	}
	items := []*store.Item{
		{ProjectID: p.ID, Source: "alice@contoso.com", Dest: "alice@contoso.com"},
		{ProjectID: p.ID, Source: "bob@contoso.com", Dest: "Bob@Contoso.com"},
		{ProjectID: p.ID, Source: "carol@fabrikam.com", Dest: "carol@fabrikam.com"},
	}
	if err := st.CreateItems(ctx, items); err != nil {
		t.Fatal(err)
	}
	svc := &dnscheck.Service{Store: st}
	if _, err := svc.AddDomain(ctx, e.ID, dnscheck.DomainInput{Domain: "Contoso.com", VerificationTXT: "MS=ms12345678", Resolver: dnsAddr}); err != nil {
		t.Fatal(err)
	}
	return fixture{engagement: e, inDomain: []int64{items[0].ID, items[1].ID}, other: items[2].ID}
}

// finalPasses counts the Full pass jobs queued for each item.
func finalPasses(t *testing.T, db *sql.DB, postgres bool) map[int64]int {
	t.Helper()
	q := `SELECT CAST(json_extract(args, '$.item_id') AS INTEGER) FROM river_job WHERE kind = 'ferry_pass' AND json_extract(args, '$.pass') = 'full'`
	if postgres {
		q = `SELECT (args->>'item_id')::bigint FROM river_job WHERE kind = 'ferry_pass' AND args->>'pass' = 'full'`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id]++
	}
	return out
}

const (
	sourceMX = "contoso.com. 300 IN MX 10 mail.contoso.com."
	m365MX   = "contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com."
)

// TestMXFlipQueuesFinalPassOnce: DNS answers the source MX, then the
// Microsoft 365 MX; two workers check at once, one restarts, and exactly
// one final Full pass is queued per mailbox of the domain, after two
// checks and the largest TTL, on SQLite and PostgreSQL.
func TestMXFlipQueuesFinalPassOnce(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dns := testdns.Start(t)
			dns.Set(t, sourceMX)
			clk := &clock{t: time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)}
			st1, q1, close1 := b.open(t)
			defer func() { close1() }()
			st2, q2, close2 := b.open(t)
			defer close2()
			fx := seed(t, st1, dns.Addr)
			workers := []*dnscheck.Service{{Store: st1, Queue: q1, Now: clk.now}, {Store: st2, Queue: q2, Now: clk.now}}
			round := func() {
				t.Helper()
				var wg sync.WaitGroup
				errs := make([]error, len(workers))
				for i, w := range workers {
					wg.Go(func() { errs[i] = w.WatchMX(context.Background()) })
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
			}
			pg := b.name == "postgres"
			round()
			if n := finalPasses(t, st1.DB(), pg); len(n) != 0 {
				t.Fatalf("passes queued while MX points at the source: %v", n)
			}
			// The customer changes the MX at 18:05.
			dns.Set(t, m365MX)
			clk.add(5 * time.Minute)
			round()
			clk.add(5 * time.Minute)
			round()
			if n := finalPasses(t, st1.DB(), pg); len(n) != 0 {
				t.Fatalf("passes queued before the largest TTL (3600 s) passed: %v", n)
			}
			// A worker restarts.
			close1()
			st1, q1, close1 = b.open(t)
			workers[0] = &dnscheck.Service{Store: st1, Queue: q1, Now: clk.now}
			clk.add(55 * time.Minute)
			round()
			round()
			got := finalPasses(t, st1.DB(), pg)
			want := map[int64]int{fx.inDomain[0]: 1, fx.inDomain[1]: 1}
			if len(got) != len(want) || got[fx.inDomain[0]] != 1 || got[fx.inDomain[1]] != 1 {
				t.Fatalf("final passes per item = %v, want %v (item %d of fabrikam.com none)", got, want, fx.other)
			}
			for _, id := range fx.inDomain {
				it, err := st2.Item(operator, id)
				if err != nil || it.Status != store.StatusQueued || it.LastPass != "full" || it.JobID == 0 {
					t.Fatalf("item %d after the cutover: %+v, %v", id, it, err)
				}
			}
			cs, err := st2.MXCutovers(operator, fx.engagement.ID)
			if err != nil || len(cs) != 1 || cs[0].Trigger != "watch" || cs[0].Queued != 2 || !cs[0].At.Equal(clk.now()) {
				t.Fatalf("cutovers = %+v, %v", cs, err)
			}
			evs, _ := st2.Events(operator, fx.engagement.ID)
			if len(evs) != 1 || evs[0].Kind != store.MXCutoverEventKind || evs[0].Title != "MX cutover: contoso.com" {
				t.Fatalf("engagement events = %+v", evs)
			}
			if tk := task(t, st2, fx.engagement.ID, store.CutoverTaskID); tk.Status != engagements.InProgress {
				t.Fatalf("task 1370 = %s", tk.Status)
			}
			// The operator presses the button too: refused, nothing queued again.
			_, err = workers[1].Cutover(operator, fx.engagement.ID, "contoso.com")
			if fault.KindOf(err) != fault.Conflict {
				t.Fatalf("second cutover by hand: %v", err)
			}
			clk.add(time.Hour)
			round()
			if got := finalPasses(t, st1.DB(), pg); got[fx.inDomain[0]] != 1 || got[fx.inDomain[1]] != 1 || len(got) != 2 {
				t.Fatalf("after more checks and the button: %v", got)
			}
		})
	}
}

func task(t *testing.T, st store.Engagements, engagementID int64, id string) store.EngagementTask {
	t.Helper()
	ts, err := st.EngagementTasks(operator, engagementID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range ts {
		if tk.TaskID == id {
			return tk
		}
	}
	t.Fatalf("engagement %d has no task %s", engagementID, id)
	return store.EngagementTask{}
}

// TestCutoverWaitsForRunningPass: at the cutover alice is running a Full
// pass (it may have read her folders before the last mail arrived) and
// bob's is queued, not started. Bob's queued pass is his final one; alice's
// final pass is queued once hers ends, exactly once across two workers.
func TestCutoverWaitsForRunningPass(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dns := testdns.Start(t)
			dns.Set(t, m365MX)
			clk := &clock{t: time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)}
			st1, q1, close1 := b.open(t)
			defer close1()
			st2, q2, close2 := b.open(t)
			defer close2()
			fx := seed(t, st1, dns.Addr)
			pg := b.name == "postgres"
			alice, bob := fx.inDomain[0], fx.inDomain[1]
			// Full passes of both, as StartPass queues them; alice's runs.
			args := []jobs.PassArgs{{ItemID: alice, Pass: "full"}, {ItemID: bob, Pass: "full"}}
			jobIDs, err := st1.QueuePass(operator, fx.inDomain, "full", func(ctx context.Context, tx any) ([]int64, error) {
				return q1.Enqueue(ctx, tx, args, time.Time{})
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := st1.SetItemStatus(operator, alice, store.StatusRunning, "full", 0); err != nil {
				t.Fatal(err)
			}
			workers := []*dnscheck.Service{{Store: st1, Queue: q1, Now: clk.now}, {Store: st2, Queue: q2, Now: clk.now}}
			c, err := workers[0].Cutover(operator, fx.engagement.ID, "contoso.com")
			if err != nil || c.Queued != 1 || c.Waiting != 1 {
				t.Fatalf("cutover = %+v, %v; want bob's queued pass counted and alice waiting", c, err)
			}
			if it, _ := st1.Item(operator, bob); it.JobID != jobIDs[1] || it.Status != store.StatusQueued {
				t.Fatalf("bob = %+v, want his queued job %d kept", it, jobIDs[1])
			}
			round := func() {
				t.Helper()
				var wg sync.WaitGroup
				errs := make([]error, len(workers))
				for i, w := range workers {
					wg.Go(func() { errs[i] = w.WatchMX(context.Background()) })
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
			}
			round()
			if got := finalPasses(t, st1.DB(), pg); got[alice] != 1 || got[bob] != 1 {
				t.Fatalf("while alice's pass runs: %v", got)
			}
			// Alice's pass ends (its job done, her item completed).
			done := `UPDATE river_job SET state = 'completed', finalized_at = CURRENT_TIMESTAMP WHERE id = ?`
			if pg {
				done = `UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1`
			}
			if _, err := st1.DB().Exec(done, jobIDs[0]); err != nil {
				t.Fatal(err)
			}
			if err := st1.SetItemStatus(operator, alice, store.StatusCompleted, "full", 0); err != nil {
				t.Fatal(err)
			}
			round()
			round()
			if got := finalPasses(t, st1.DB(), pg); got[alice] != 2 || got[bob] != 1 {
				t.Fatalf("after alice's pass ended: %v, want her final pass queued once", got)
			}
			cs := cutovers(t, workers[1])
			if len(cs) != 1 || cs[0].Queued != 2 || cs[0].Waiting != 0 || !cs[0].PostChecked.IsZero() {
				t.Fatalf("cutover = %+v", cs)
			}
		})
	}
}
