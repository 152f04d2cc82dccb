package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/testimap"
	"github.com/ferryhq/ferry/internal/testpg"
	"github.com/jackc/pgx/v5"
)

type fleet struct {
	src, dst *testimap.Dovecot
	users    []string
	want     map[string]testimap.Snapshot
}

const fleetPass = "pw-mailbox"

// startFleet: two Dovecots with n mailboxes and an administrator (master user) on each.
func startFleet(t *testing.T, n, messages int) *fleet {
	t.Helper()
	f := &fleet{want: map[string]testimap.Snapshot{}}
	var users []testimap.User
	for i := range n {
		u := fmt.Sprintf("user%02d@contoso.com", i)
		f.users = append(f.users, u)
		users = append(users, testimap.User{Name: u, Password: fleetPass})
	}
	admin := &testimap.User{Name: "ferry-admin", Password: "admin-pw"}
	f.src = testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users, MasterUser: admin})
	f.dst = testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: users, MasterUser: admin})
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, u := range f.users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := testimap.Dial(t, f.src.Addr, u, fleetPass)
			if err := corpus.Load(context.Background(), c, corpus.Generate(corpus.Spec{Seed: int64(100 + i), Messages: messages, Folders: 4, MaxSize: 512 << 10})); err != nil {
				t.Error(err)
			}
			c.Logout().Wait()
		}()
	}
	wg.Wait()
	for _, u := range f.users {
		s := testimap.TakeSnapshot(t, f.src.Addr, u, fleetPass)
		mu.Lock()
		f.want[u] = s
		mu.Unlock()
	}
	return f
}

// asOperator acts as an administrator at the command line: the services
// let only a person with the right role change projects and start passes.
func asOperator(ctx context.Context) context.Context {
	return auth.WithPrincipal(ctx, &auth.Principal{Name: "test operator", Kind: "cli", Role: auth.Administrator})
}

// project creates customer, endpoints with administrator credentials, a project and its items.
func (f *fleet) project(t *testing.T, a *app.App, limit int) store.Project {
	t.Helper()
	ctx := asOperator(context.Background())
	svc := a.Service
	c, err := a.Customers.CreateCustomer(ctx, customers.CustomerInput{Name: "Contoso", Domain: "contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	var eps []store.Endpoint
	for _, d := range []*testimap.Dovecot{f.src, f.dst} {
		e, err := a.Customers.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: c.ID, Name: d.Dir, Type: "dovecot", Host: d.Host, Port: d.Port,
			Security: "starttls", AllowPlaintext: true, AdminUser: "ferry-admin", Password: "admin-pw"})
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, e)
	}
	p, err := svc.CreateProject(ctx, projects.ProjectInput{CustomerID: c.ID, Name: "Mail", SourceID: eps[0].ID, DestID: eps[1].ID,
		Settings: projects.Settings{MaxConcurrent: &limit}})
	if err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("source,destination\n")
	for _, u := range f.users {
		csv.WriteString(u + "," + u + "\n")
	}
	res, err := svc.ImportItems(ctx, p.ID, "fleet.csv", strings.NewReader(csv.String()), projects.ImportOptions{Apply: true})
	if err != nil || res.Added != len(f.users) {
		t.Fatalf("import: %v %+v", err, res)
	}
	return p
}

// fullPassOnPostgres puts the fleet's mailboxes in a project with the limit
// on a throwaway PostgreSQL database and queues a Full pass of all of them,
// for `ferry worker` processes to run. It returns the queueing app (closed
// when the test ends), the project, the database URL and the key file.
func (f *fleet) fullPassOnPostgres(t *testing.T, limit int) (*app.App, store.Project, string, string) {
	t.Helper()
	db := testpg.URL(t)
	keyFile := filepath.Join(t.TempDir(), "secret.key")
	a, err := app.Open(context.Background(), app.Config{Database: db, KeyFile: keyFile, Jobs: jobs.Options{InsertOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	p := f.project(t, a, limit)
	if _, err := a.Service.StartPass(asOperator(context.Background()), p.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}
	return a, p, db, keyFile
}

func (f *fleet) requireExact(t *testing.T) {
	t.Helper()
	for _, u := range f.users {
		if d := f.want[u].Diff(testimap.TakeSnapshot(t, f.dst.Addr, u, fleetPass)); d != "" {
			t.Fatalf("%s differs:\n%s", u, d)
		}
	}
}

// maxOverlap computes the most runs of the project that were running at
// once. A run left unfinished by a killed worker held its slot until its
// lease expired (deadUntil, by item).
func maxOverlap(t *testing.T, st store.Store, items []store.Item, deadUntil map[int64]time.Time) (int, int) {
	type event struct {
		at    time.Time
		delta int
		who   string
	}
	var evs []event
	runs := 0
	for _, it := range items {
		rs, err := st.Runs(context.Background(), it.MailboxID)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rs {
			end := r.Ended
			if end.IsZero() {
				if i+1 == len(rs) {
					t.Fatalf("the last run of %s never ended", it.Source)
				}
				if end = deadUntil[it.ID]; end.IsZero() {
					t.Fatalf("a run of %s never ended, and its worker was not the one killed", it.Source)
				}
			}
			evs = append(evs, event{r.Started, 1, it.Source}, event{end, -1, it.Source})
			runs++
		}
	}
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].at.Equal(evs[j].at) {
			return evs[i].delta < evs[j].delta
		}
		return evs[i].at.Before(evs[j].at)
	})
	cur, most := 0, 0
	running := map[string]time.Time{}
	for _, e := range evs {
		cur += e.delta
		if e.delta > 0 {
			running[e.who] = e.at
		} else {
			delete(running, e.who)
		}
		if cur > most {
			most = cur
			t.Logf("%d at once at %s: %v", cur, e.at.Format("15:04:05.000"), running)
		}
	}
	return most, runs
}

// waitAllDone waits until the project's n items are Completed; on timeout it
// calls dump (when given) so the test can show what the workers were doing.
func waitAllDone(t *testing.T, st store.Store, projectID int64, n int, limit time.Duration, dump func()) []store.Item {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		items, _, err := st.Items(context.Background(), projectID, store.ItemFilter{})
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		var states []string
		for _, it := range items {
			if it.Status == store.StatusCompleted {
				done++
			}
			if it.Status == store.StatusFailed {
				d, _ := st.Failures(context.Background(), it.MailboxID)
				t.Fatalf("item %s failed: %+v", it.Source, d)
			}
			states = append(states, it.Status)
		}
		if done == n {
			return items
		}
		if time.Now().After(deadline) {
			if dump != nil {
				dump()
			}
			t.Fatalf("not done after %v: %v", limit, states)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestWorkersOnPostgresHoldTheLimitAndSurviveAKill: three worker processes
// share 30 mailboxes with a project limit of 4; one is killed mid-run.
func TestWorkersOnPostgresHoldTheLimitAndSurviveAKill(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 30, 40)
	const limit = 4
	a, p, db, keyFile := f.fullPassOnPostgres(t, limit)
	// Starting it again queues nothing twice.
	again, err := a.Service.StartPass(asOperator(context.Background()), p.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}})
	if err != nil || again.Queued != 0 || again.AlreadyQueued != 30 {
		t.Fatalf("second start: %+v %v", again, err)
	}

	workers, logs := startWorkers(t, 3, db, keyFile, "--concurrency", "3", "--rescue-after", "8s", "--lease-ttl", "6s", "--poll", "200ms", "--shutdown-timeout", "2s")
	// Kill a worker while it holds a migration.
	deadline := time.Now().Add(60 * time.Second)
	killed := false
	deadUntil := map[int64]time.Time{}
	for !killed && time.Now().Before(deadline) {
		leases, _ := a.Store.Leases(context.Background(), p.ID)
		for _, l := range leases {
			if strings.HasSuffix(l.Owner, fmt.Sprintf(":%d", workers[0].Process.Pid)) {
				time.Sleep(150 * time.Millisecond)
				workers[0].Process.Signal(syscall.SIGKILL)
				workers[0].Wait()
				// The dead worker's slots stay held until their leases expire.
				after, _ := a.Store.Leases(context.Background(), p.ID)
				for _, l := range after {
					if strings.HasSuffix(l.Owner, fmt.Sprintf(":%d", workers[0].Process.Pid)) {
						deadUntil[l.ItemID] = l.Expires
					}
				}
				killed = true
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !killed {
		t.Fatalf("worker 0 never ran a migration; logs:\n%s", logs[0])
	}
	// SIGTERM another worker while it holds a migration: it checkpoints and
	// exits within its shutdown timeout; the last worker finishes its items.
	stopped := false
	for !stopped && time.Now().Before(deadline) {
		leases, _ := a.Store.Leases(context.Background(), p.ID)
		for _, l := range leases {
			if strings.HasSuffix(l.Owner, fmt.Sprintf(":%d", workers[1].Process.Pid)) {
				workers[1].Process.Signal(syscall.SIGTERM)
				exited := make(chan error, 1)
				go func() { exited <- workers[1].Wait() }()
				select {
				case err := <-exited:
					if err != nil {
						t.Fatalf("worker 1 ended with %v after SIGTERM:\n%s", err, logs[1])
					}
				case <-time.After(15 * time.Second):
					t.Fatalf("worker 1 did not stop within its shutdown timeout:\n%s", logs[1])
				}
				stopped = true
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	items := waitAllDone(t, a.Store, p.ID, 30, 3*time.Minute, func() {
		// Worker 2 is the one left running: its goroutines say where it waits.
		leases, _ := a.Store.Leases(context.Background(), p.ID)
		t.Logf("leases: %+v", leases)
		if conn, err := pgx.Connect(context.Background(), db); err == nil {
			rows, _ := conn.Query(context.Background(), `SELECT id, state, attempt, max_attempts, scheduled_at, attempted_by, errors::text, args::text FROM river_job WHERE state <> 'completed' ORDER BY id`)
			for rows.Next() {
				var id int64
				var state string
				var attempt, maxAttempts int
				var at time.Time
				var by []string
				var errs, args *string
				rows.Scan(&id, &state, &attempt, &maxAttempts, &at, &by, &errs, &args)
				t.Logf("job %d %s attempt %d/%d at %s by %v args %v errors %v", id, state, attempt, maxAttempts, at.Format(time.RFC3339Nano), by, deref(args), deref(errs))
			}
			rows.Close()
			conn.Close(context.Background())
		}
		if conn, err := pgx.Connect(context.Background(), db); err == nil {
			var leader string
			var elected, expires time.Time
			err := conn.QueryRow(context.Background(), `SELECT leader_id, elected_at, expires_at FROM river_leader`).Scan(&leader, &elected, &expires)
			t.Logf("leader %s elected %s expires %s (%v)", leader, elected.Format(time.RFC3339Nano), expires.Format(time.RFC3339Nano), err)
			conn.Close(context.Background())
		}
		t.Logf("now %s; worker pids %d %d %d", time.Now().Format(time.RFC3339Nano), workers[0].Process.Pid, workers[1].Process.Pid, workers[2].Process.Pid)
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", workers[2].Process.Pid))
		t.Logf("worker 2 stat: %s %v", stat, err)
		if err := workers[2].Process.Signal(syscall.SIGQUIT); err != nil {
			t.Logf("worker 2 is gone: %v", err)
		}
		time.Sleep(3 * time.Second)
		for i := range logs {
			t.Logf("worker %d:\n%s", i, logs[i])
		}
	})
	f.requireExact(t)
	most, runs := maxOverlap(t, a.Store, items, deadUntil)
	if most > limit {
		t.Fatalf("%d migrations ran at once; the project limit is %d", most, limit)
	}
	if most < 2 || runs < 30 {
		t.Fatalf("only %d at once over %d runs: the workers did not share the work", most, runs)
	}
	t.Logf("%d runs, at most %d at once (limit %d)", runs, most, limit)

	// The project's throughput, and each worker's: the runs name the process that ran them.
	tp, err := a.Service.Throughput(asOperator(context.Background()), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	byPid := map[int]projects.WorkerThroughput{}
	for _, w := range tp.Workers {
		sum += w.Pass.MBPerHour
		for _, cmd := range workers {
			if strings.HasSuffix(w.Worker, fmt.Sprintf(":%d", cmd.Process.Pid)) {
				byPid[cmd.Process.Pid] = w
			}
		}
	}
	if tp.Pass.Mailboxes != 30 || tp.Pass.MBPerHour <= 0 || math.Abs(sum-tp.Pass.MBPerHour) > 1e-6*tp.Pass.MBPerHour {
		t.Fatalf("throughput over the pass %+v; the workers' add up to %.1f MB/hr", tp.Pass, sum)
	}
	if w := byPid[workers[2].Process.Pid]; w.Pass.Mailboxes == 0 {
		t.Fatalf("the worker left running completed no mailbox, by the throughput: %+v", tp.Workers)
	}
	for _, w := range tp.Workers {
		t.Logf("worker %s: %.1f MB/hr, %.0f messages/hr, %.1f mailboxes/hr over the pass", w.Worker, w.Pass.MBPerHour, w.Pass.MessagesPerHour, w.Pass.MailboxesPerHour)
	}
}

// TestServeOnSQLiteHoldsTheLimit: the same scenario, smaller, in one process on SQLite.
func TestServeOnSQLiteHoldsTheLimit(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 8, 30)
	dir := t.TempDir()
	a, err := app.Open(context.Background(), app.Config{Database: filepath.Join(dir, "ferry.db"), Jobs: jobs.Options{Workers: 6, Poll: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	const limit = 2
	p := f.project(t, a, limit)
	ctx := context.Background()
	if err := a.Queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		a.Queue.Stop(sctx)
	}()
	if _, err := a.Service.StartPass(asOperator(ctx), p.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}
	items := waitAllDone(t, a.Store, p.ID, 8, 2*time.Minute, nil)
	f.requireExact(t)
	most, _ := maxOverlap(t, a.Store, items, nil)
	if most > limit || most < 1 {
		t.Fatalf("%d migrations ran at once; the limit is %d", most, limit)
	}
	d, err := a.Service.Item(asOperator(ctx), items[0].ID)
	if err != nil || len(d.History) != 1 || d.History[0].Copied != 30 || d.History[0].MBPerHour() <= 0 {
		t.Fatalf("item history: %+v %v", d, err)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestKilledWorkersItemsResumeAfterTheirLease: a killed worker's mailboxes
// are taken over about a lease TTL after its death, not at River's rescue
// (--rescue-after, 2 minutes by default, then up to 30 s more).
func TestKilledWorkersItemsResumeAfterTheirLease(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 6, 80)
	a, p, db, keyFile := f.fullPassOnPostgres(t, 4)
	const ttl = 3 * time.Second
	workers, logs := startWorkers(t, 2, db, keyFile, "--concurrency", "2", "--lease-ttl", ttl.String(), "--poll", "200ms", "--shutdown-timeout", "2s")
	victim := fmt.Sprintf(":%d", workers[0].Process.Pid)
	ownedByVictim := func() map[int64]bool {
		held := map[int64]bool{}
		leases, _ := a.Store.Leases(context.Background(), p.ID)
		for _, l := range leases {
			if strings.HasSuffix(l.Owner, victim) {
				held[l.ItemID] = true
			}
		}
		return held
	}
	var orphans map[int64]bool
	for deadline := time.Now().Add(60 * time.Second); len(orphans) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("worker 0 never ran a migration; logs:\n%s", logs[0])
		}
		if held := ownedByVictim(); len(held) > 0 {
			workers[0].Process.Signal(syscall.SIGKILL)
			workers[0].Wait()
			orphans = ownedByVictim()
		}
	}
	killed := time.Now()
	// Each of its items is soon run by the other worker (a lease of its own),
	// or already finished by it.
	for itemID := range orphans {
		for {
			leases, _ := a.Store.Leases(context.Background(), p.ID)
			it, _ := a.Store.Item(context.Background(), itemID)
			takenOver := it.Status == store.StatusCompleted
			for _, l := range leases {
				takenOver = takenOver || (l.ItemID == itemID && !strings.HasSuffix(l.Owner, victim))
			}
			if takenOver {
				t.Logf("item %d taken over %v after the kill", itemID, time.Since(killed).Round(100*time.Millisecond))
				break
			}
			if time.Since(killed) > ttl+7*time.Second {
				t.Fatalf("item %d not taken over %v after its worker was killed (lease TTL %v); leases %+v; worker 1:\n%s",
					itemID, time.Since(killed), ttl, leases, logs[1])
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Jobs the dead worker had taken while they waited for a slot (running
	// for River, without a lease) are taken over too: nothing waits for
	// River's rescue.
	waitAllDone(t, a.Store, p.ID, 6, 45*time.Second, func() { t.Logf("worker 1:\n%s", logs[1]) })
	f.requireExact(t)
}

// TestDatabaseOutageKeepsStatusesTrueToLeases: the database refuses every
// connection for longer than a lease TTL while workers migrate. Afterwards
// no item shows Running without a live lease for longer than the workers
// take to notice, every mailbox ends exact, and each worker logs the outage
// in one line of its own when it starts and one when it ends.
func TestDatabaseOutageKeepsStatusesTrueToLeases(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 8, 80)
	const limit = 3
	a, p, db, keyFile := f.fullPassOnPostgres(t, limit)
	const ttl = 3 * time.Second
	_, logs := startWorkers(t, 2, db, keyFile, "--concurrency", "3", "--lease-ttl", ttl.String(), "--poll", "200ms", "--shutdown-timeout", "2s")
	// Both workers are up (a slow one could still be opening the database
	// when the outage begins, and stop there) and the limit is reached.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		up := strings.Contains(logs[0].String(), "ferry worker: running migrations") && strings.Contains(logs[1].String(), "ferry worker: running migrations")
		if leases, _ := a.Store.Leases(context.Background(), p.ID); up && len(leases) == limit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the workers never ran %d migrations at once", limit)
		}
	}
	// The outage: the database takes no connection and loses those it had.
	admin, err := pgx.ParseConfig(db)
	if err != nil {
		t.Fatal(err)
	}
	name := admin.Database
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	outage := func(allow bool) {
		if _, err := conn.Exec(context.Background(), fmt.Sprintf(`ALTER DATABASE %q ALLOW_CONNECTIONS %v`, name, allow)); err != nil {
			t.Fatal(err)
		}
		if !allow {
			conn.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name)
		}
	}
	outage(false)
	time.Sleep(2 * ttl) // the outage itself: nothing to wait for
	outage(true)
	back := time.Now()

	runningSince := map[int64]time.Time{} // items Running without a live lease
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		items, _, err := a.Store.Items(context.Background(), p.ID, store.ItemFilter{})
		if err != nil {
			continue // the app's own pool reconnects
		}
		leases, _ := a.Store.Leases(context.Background(), p.ID)
		leased := map[int64]bool{}
		for _, l := range leases {
			leased[l.ItemID] = true
		}
		done := 0
		for _, it := range items {
			if it.Status == store.StatusCompleted {
				done++
			}
			if it.Status != store.StatusRunning || leased[it.ID] {
				delete(runningSince, it.ID)
				continue
			}
			if _, ok := runningSince[it.ID]; !ok {
				runningSince[it.ID] = time.Now()
			}
			// The lease of a run cut off by the outage ends a TTL after its
			// last renewal; the workers look every TTL/3.
			if since := runningSince[it.ID]; time.Since(since) > ttl && time.Since(back) > 2*ttl {
				t.Fatalf("item %s shows Running without a lease for %v after the outage; leases %+v\nworker 0:\n%s\nworker 1:\n%s",
					it.Source, time.Since(since), leases, logs[0], logs[1])
			}
		}
		if done == len(items) {
			break
		}
		if time.Now().After(deadline) {
			logJobs(t, db)
			t.Fatalf("not all done 2 minutes after the outage: %+v\nworker 0:\n%s\nworker 1:\n%s", items, logs[0], logs[1])
		}
	}
	f.requireExact(t)
	for i, l := range logs {
		out := l.String()
		went, came := strings.Count(out, "cannot reach the database"), strings.Count(out, "database is reachable again")
		errs := strings.Count(out, "level=ERROR")
		if went != 1 || came != 1 || errs > 3 {
			t.Errorf("worker %d logged the outage %d times, its end %d times, and %d errors; want once, once and hardly any:\n%s", i, went, came, errs, out)
		}
	}
}

// startWorkers starts n `ferry worker` processes on the database with the
// flags given; each one's output is in its log. They die with the test.
func startWorkers(t *testing.T, n int, db, keyFile string, flags ...string) ([]*exec.Cmd, []*syncBuilder) {
	t.Helper()
	var workers []*exec.Cmd
	logs := make([]*syncBuilder, n)
	t.Cleanup(func() {
		for _, w := range workers {
			w.Process.Kill()
			w.Wait()
		}
	})
	for i := range n {
		cmd := exec.Command(ferryBin, append([]string{"worker", "--database", db, "--key-file", keyFile}, flags...)...)
		logs[i] = &syncBuilder{}
		cmd.Stdout, cmd.Stderr = logs[i], logs[i]
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers = append(workers, cmd)
	}
	return workers, logs
}

// syncBuilder is a strings.Builder that a process's output and the test may share.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logJobs logs the queue's unfinished jobs.
func logJobs(t *testing.T, db string) {
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		return
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(context.Background(), `SELECT id, state, attempt, scheduled_at, errors::text, args::text FROM river_job WHERE state <> 'completed' ORDER BY id`)
	defer rows.Close()
	for rows.Next() {
		var id int64
		var state string
		var attempt int
		var at time.Time
		var errs, args *string
		rows.Scan(&id, &state, &attempt, &at, &errs, &args)
		t.Logf("job %d %s attempt %d at %s args %v errors %v", id, state, attempt, at.Format(time.RFC3339Nano), deref(args), deref(errs))
	}
}
