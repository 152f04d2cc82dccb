package bench

import (
	"context"
	"fmt"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
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
)

const (
	fleetAdmin     = "ferry-admin"
	fleetAdminPass = "bench-admin-1"
	fleetParallel  = 10 // --parallel for migrate --csv, and the project's maximum concurrent migrations
)

type fleetBench struct {
	users    []string
	src      *testimap.Dovecot
	messages int
	bytes    int64
}

func startFleetSource(b *testing.B, n, perMailbox int) *fleetBench {
	f := &fleetBench{}
	var users []testimap.User
	for i := range n {
		u := fmt.Sprintf("user%03d@contoso.com", i)
		f.users = append(f.users, u)
		users = append(users, testimap.User{Name: u, Password: benchPass})
	}
	f.src = testimap.StartDovecot(b, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users, MasterUser: &testimap.User{Name: fleetAdmin, Password: fleetAdminPass}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	for i, u := range f.users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c := corpus.Generate(corpus.Spec{Seed: int64(1000 + i), Messages: perMailbox, Folders: 3, MinSize: 1 << 10, MaxSize: 16 << 10})
			cl := testimap.Dial(b, f.src.Addr, u, benchPass)
			if err := corpus.Load(context.Background(), cl, c); err != nil {
				b.Error(err)
			}
			cl.Logout().Wait()
			mu.Lock()
			f.messages += len(c.Messages)
			f.bytes += c.TotalBytes()
			mu.Unlock()
		}()
	}
	wg.Wait()
	return f
}

func (f *fleetBench) freshDest(b *testing.B) *testimap.Dovecot {
	var users []testimap.User
	for _, u := range f.users {
		users = append(users, testimap.User{Name: u, Password: benchPass})
	}
	return testimap.StartDovecot(b, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users, MasterUser: &testimap.User{Name: fleetAdmin, Password: fleetAdminPass}})
}

// checkFleetCopied counts the destination's messages of every mailbox.
func (f *fleetBench) checkFleetCopied(b *testing.B, dst *testimap.Dovecot) {
	total := 0
	for _, u := range f.users {
		total += testimap.TakeSnapshot(b, dst.Addr, u, benchPass).Count()
	}
	if total != f.messages {
		b.Fatalf("the destination holds %d messages, the source %d", total, f.messages)
	}
}

// runProject drives the project path: a database, endpoints with the
// administrator, the mailboxes imported from CSV, a Full pass, and the
// given worker processes until every item is Completed.
func (f *fleetBench) runProject(b *testing.B, bs bins, db string, dst *testimap.Dovecot, workers [][]string) time.Duration {
	took, _ := f.runProjectLimit(b, bs, db, dst, fleetParallel, workers, nil)
	return took
}

// runProjectLimit is runProject with the project's limit of migrations at
// once, and the CPU that cpu() (when not nil) counts from the start of the
// pass to its end.
func (f *fleetBench) runProjectLimit(b *testing.B, bs bins, db string, dst *testimap.Dovecot, limit int, workers [][]string, cpu func() time.Duration) (time.Duration, time.Duration) {
	// The services let only a person with the right role set up projects: an administrator, as at the command line.
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{Name: "bench", Kind: "cli", Role: auth.Administrator})
	dir := b.TempDir()
	keyFile := filepath.Join(dir, "secret.key")
	a, err := app.Open(ctx, app.Config{Database: db, KeyFile: keyFile, Jobs: jobs.Options{InsertOnly: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	svc := a.Service
	c, err := a.Customers.CreateCustomer(ctx, customers.CustomerInput{Name: "Contoso", Domain: "contoso.com"})
	if err != nil {
		b.Fatal(err)
	}
	var eps []store.Endpoint
	for i, d := range []*testimap.Dovecot{f.src, dst} {
		e, err := a.Customers.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: c.ID, Name: fmt.Sprint("ep", i), Type: "dovecot", Host: d.Host, Port: d.Port,
			Security: "starttls", AllowPlaintext: true, AdminUser: fleetAdmin, Password: fleetAdminPass})
		if err != nil {
			b.Fatal(err)
		}
		eps = append(eps, e)
	}
	p, err := svc.CreateProject(ctx, projects.ProjectInput{CustomerID: c.ID, Name: "Mail", SourceID: eps[0].ID, DestID: eps[1].ID, Settings: projects.Settings{MaxConcurrent: &limit}})
	if err != nil {
		b.Fatal(err)
	}
	var list strings.Builder
	list.WriteString("source,destination\n")
	for _, u := range f.users {
		list.WriteString(u + "," + u + "\n")
	}
	if _, err := svc.ImportItems(ctx, p.ID, "fleet.csv", strings.NewReader(list.String()), projects.ImportOptions{Apply: true}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var cpu0 time.Duration
	if cpu != nil {
		cpu0 = cpu()
	}
	if _, err := svc.StartPass(ctx, p.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}}); err != nil {
		b.Fatal(err)
	}
	var procs []*exec.Cmd
	for _, args := range workers {
		cmd := exec.Command(bs.ferry, append(args, "--database", db, "--key-file", keyFile, "--poll", "200ms")...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	defer func() {
		for _, c := range procs {
			c.Process.Signal(syscall.SIGTERM)
			c.Wait()
		}
	}()
	deadline := time.Now().Add(toolTimeout)
	for {
		_, done, err := a.Store.Items(ctx, p.ID, store.ItemFilter{Status: []string{store.StatusCompleted}, Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		_, failed, _ := a.Store.Items(ctx, p.ID, store.ItemFilter{Status: []string{store.StatusFailed}, Limit: 1})
		if failed > 0 {
			b.Fatalf("%d mailboxes failed", failed)
		}
		if done == len(f.users) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d mailboxes completed", done, len(f.users))
		}
		// Not more often: these two queries are PostgreSQL work too, and
		// every 100 ms they were an eighth of a pass's statements.
		time.Sleep(500 * time.Millisecond)
	}
	took := time.Since(start)
	var used time.Duration
	if cpu != nil {
		used = cpu() - cpu0
	}
	return took, used
}

// BenchmarkProjects: 200 small mailboxes moved three ways — plain `ferry
// migrate --csv`, a project run by `ferry serve` on its SQLite file, and a
// project run by two `ferry worker` processes on PostgreSQL — each into a
// fresh destination, with 10 mailboxes at a time. It prints aggregate
// messages per second and the job system's overhead per mailbox.
func BenchmarkProjects(b *testing.B) {
	n, per := 200, 20
	if quick() {
		n = 40
	}
	f := startFleetSource(b, n, per)
	bs := buildBins(b)
	fmt.Printf("%d mailboxes, %d messages, %.1f MB in all; %d mailboxes at a time\n", n, f.messages, float64(f.bytes)/1e6, fleetParallel)

	// 1. ferry migrate --csv
	dst := f.freshDest(b)
	dir := b.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte(fleetAdminPass), 0o600)
	var list strings.Builder
	list.WriteString("source,destination\n")
	for _, u := range f.users {
		list.WriteString(u + "," + u + "\n")
	}
	csvFile := filepath.Join(dir, "fleet.csv")
	os.WriteFile(csvFile, []byte(list.String()), 0o600)
	csvRun, _ := bs.run(b, "ferry migrate --csv", bs.ferry, []string{"migrate", "--csv", csvFile,
		"--from", "imap://" + direct(f.src).addr(), "--to", "imap://" + direct(dst).addr(), "--from-admin", fleetAdmin, "--to-admin", fleetAdmin,
		"--from-password-file", pw, "--to-password-file", pw, "--allow-plaintext", "--parallel", fmt.Sprint(fleetParallel),
		"--state", filepath.Join(dir, "state.db")}, dir)
	f.checkFleetCopied(b, dst)

	// 2. ferry serve on SQLite
	dst = f.freshDest(b)
	sqlite := f.runProject(b, bs, filepath.Join(b.TempDir(), "ferry.db"), dst,
		[][]string{{"serve", "--listen", "127.0.0.1:0", "--concurrency", fmt.Sprint(fleetParallel)}})
	f.checkFleetCopied(b, dst)

	// 3. two workers on PostgreSQL
	dst = f.freshDest(b)
	pg := f.runProject(b, bs, testpg.URL(b), dst,
		[][]string{{"worker", "--concurrency", fmt.Sprint(fleetParallel)}, {"worker", "--concurrency", fmt.Sprint(fleetParallel)}})
	f.checkFleetCopied(b, dst)
	testpg.Stop()

	rate := func(d time.Duration) float64 { return float64(f.messages) / d.Seconds() }
	overhead := func(d time.Duration) float64 { return float64(d-csvRun.wall) / float64(time.Millisecond) / float64(n) }
	fmt.Printf("%-34s %10s %12s %22s\n", "path", "time", "messages/s", "overhead per mailbox")
	fmt.Printf("%-34s %9.1fs %12.0f %22s\n", "ferry migrate --csv", csvRun.wall.Seconds(), rate(csvRun.wall), "(baseline)")
	fmt.Printf("%-34s %9.1fs %12.0f %19.1f ms\n", "ferry serve (SQLite)", sqlite.Seconds(), rate(sqlite), overhead(sqlite))
	fmt.Printf("%-34s %9.1fs %12.0f %19.1f ms\n", "2 × ferry worker (PostgreSQL)", pg.Seconds(), rate(pg), overhead(pg))
	b.ReportMetric(rate(csvRun.wall), "csv_msgs/s")
	b.ReportMetric(rate(sqlite), "sqlite_msgs/s")
	b.ReportMetric(rate(pg), "pg_msgs/s")
	b.ReportMetric(overhead(sqlite), "sqlite_overhead_ms/mailbox")
	b.ReportMetric(overhead(pg), "pg_overhead_ms/mailbox")
}

// BenchmarkProjectWorkers: the case of issue 13 — one project on
// PostgreSQL with a limit of 20 migrations at once, run by 1 `ferry worker`
// at the default --concurrency 20, 2 at --concurrency 20, 2 at 10 and 4 at
// 20, each time into a fresh destination and database — with the CPU
// PostgreSQL used (postmaster and backends, from /proc). More workers than
// the project's limit needs must not slow the pass down: jobs beyond the
// limit wait for a slot without asking the database for one.
func BenchmarkProjectWorkers(b *testing.B) {
	n, per := 200, 20
	if quick() {
		n = 60
	}
	const limit = 20
	f := startFleetSource(b, n, per)
	bs := buildBins(b)
	fmt.Printf("%d mailboxes, %d messages, %.1f MB in all; project limit %d\n", n, f.messages, float64(f.bytes)/1e6, limit)
	var one time.Duration
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "workers\t--concurrency\ttime\tmessages/s\tratio to 1 worker\tPostgreSQL CPU")
	for _, run := range []struct{ workers, concurrency int }{{1, 20}, {2, 20}, {2, 10}, {4, 20}} {
		dst := f.freshDest(b)
		args := make([][]string, run.workers)
		for i := range args {
			args[i] = []string{"worker", "--concurrency", fmt.Sprint(run.concurrency)}
		}
		url := testpg.URL(b)
		took, pgUsed := f.runProjectLimit(b, bs, url, dst, limit, args, func() time.Duration { return postgresCPU(b, url) })
		f.checkFleetCopied(b, dst)
		dst.Stop()
		if one == 0 {
			one = took
		}
		fmt.Fprintf(w, "%d\t%d\t%.1f s\t%.0f\t%.2f\t%.1f s\n", run.workers, run.concurrency, took.Seconds(), float64(f.messages)/took.Seconds(), took.Seconds()/one.Seconds(), pgUsed.Seconds())
		b.ReportMetric(took.Seconds()/one.Seconds(), fmt.Sprintf("time_%dx%d/1x20", run.workers, run.concurrency))
		b.ReportMetric(pgUsed.Seconds(), fmt.Sprintf("pg_cpu_s_%dx%d", run.workers, run.concurrency))
	}
	w.Flush()
	fmt.Print(sb.String())
	testpg.Stop()
}

// postgresCPU is the CPU time used so far by the PostgreSQL server that
// serves url: its postmaster (the process started with "-c port=N"), the
// backends and helpers it runs now, and those it has reaped.
func postgresCPU(tb testing.TB, url string) time.Duration {
	tb.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		tb.Fatal(err)
	}
	arg := "port=" + u.Port()
	stats := readProcStats(tb)
	master := -1
	for pid := range stats {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if slices.Contains(strings.Split(string(cmdline), "\x00"), arg) {
			master = pid
			break
		}
	}
	if master < 0 {
		tb.Fatalf("no running PostgreSQL with %s", arg)
	}
	ticks := stats[master].ticks + stats[master].childTicks
	for _, s := range stats {
		if s.ppid == int64(master) {
			ticks += s.ticks
		}
	}
	return time.Duration(ticks) * time.Second / clockTick
}
