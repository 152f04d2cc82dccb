package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/testimap"
	"github.com/ferryhq/ferry/internal/testpg"
)

// TestLongPassesOnTwoWorkersOnPostgresRunOnce: two `ferry worker` processes
// on PostgreSQL run passes that outlast River's rescue interval. River
// rescues every one of them although its worker lives, and hands the copy
// to whichever worker has a free slot; each mailbox must still be copied by
// one run, exactly, and end Completed.
func TestLongPassesOnTwoWorkersOnPostgresRunOnce(t *testing.T) {
	t.Parallel()
	const mailboxes, messages = 4, 400
	var users []testimap.User
	for i := range mailboxes {
		users = append(users, testimap.User{Name: fmt.Sprintf("long%d@contoso.com", i), Password: fmt.Sprintf("pw-long-%d", i)})
	}
	src, dst := testimap.StartMem(t, users...), testimap.StartMem(t, users...)
	for i, u := range users {
		c := testimap.Dial(t, src.Addr, u.Name, u.Password)
		if err := corpus.Load(context.Background(), c, corpus.Generate(corpus.Spec{Seed: int64(500 + i), Messages: messages, Folders: 1, MaxSize: 16 << 10})); err != nil {
			t.Fatal(err)
		}
		c.Logout().Wait()
	}
	// The destination is slow until River has rescued every job and started
	// its copy (its rescuer looks every 30 s), then the rest may go fast.
	var slow atomic.Bool
	slow.Store(true)
	dst.Faults.Set(func(int, string, int64) error {
		if slow.Load() {
			time.Sleep(500 * time.Millisecond)
		}
		return nil
	}, nil)

	ctx := asOperator(context.Background())
	db := testpg.URL(t)
	keyFile := filepath.Join(t.TempDir(), "secret.key")
	a, err := app.Open(ctx, app.Config{Database: db, KeyFile: keyFile, Jobs: jobs.Options{InsertOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	c, err := a.Customers.CreateCustomer(ctx, customers.CustomerInput{Name: "Contoso", Domain: "contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	var eps []store.Endpoint
	for i, addr := range []string{src.Addr, dst.Addr} {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		e, err := a.Customers.CreateEndpoint(ctx, customers.EndpointInput{CustomerID: c.ID, Name: fmt.Sprint("mem", i), Type: "imap", Host: host, Port: p, Security: "starttls", AllowPlaintext: true})
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, e)
	}
	limit := mailboxes
	p, err := a.Service.CreateProject(ctx, projects.ProjectInput{CustomerID: c.ID, Name: "Long", SourceID: eps[0].ID, DestID: eps[1].ID,
		Settings: projects.Settings{MaxConcurrent: &limit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := a.Service.AddItem(ctx, p.ID, projects.ItemInput{Source: u.Name, Dest: u.Name, SourcePassword: u.Password, DestPassword: u.Password}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Service.StartPass(ctx, p.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}

	logs := make([]*strings.Builder, 2)
	for i := range logs {
		cmd := exec.Command(ferryBin, "worker", "--database", db, "--key-file", keyFile, "--concurrency", "4",
			"--rescue-after", "1s", "--lease-ttl", "2s", "--poll", "100ms", "--shutdown-timeout", "2s")
		logs[i] = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = logs[i], logs[i]
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		})
	}
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// A job's copy has started when it runs as attempt 2 or has snoozed.
	for deadline := time.Now().Add(100 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'ferry_pass'
			AND (attempt >= 2 OR metadata ? 'snoozes' OR state = 'completed')`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == mailboxes {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("River rescued %d of %d jobs within 100 s; logs:\n%s\n%s", n, mailboxes, logs[0], logs[1])
		}
	}
	slow.Store(false)

	// Settled: every item has a final status, no lease lives, no job waits.
	var items []store.Item
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		items, _, err = a.Store.Items(ctx, p.ID, store.ItemFilter{})
		if err != nil {
			t.Fatal(err)
		}
		final := true
		for _, it := range items {
			final = final && it.Status != store.StatusQueued && it.Status != store.StatusRunning
		}
		leases, _ := a.Store.Leases(ctx, p.ID)
		var waiting int
		conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'ferry_pass' AND finalized_at IS NULL`).Scan(&waiting)
		if final && len(leases) == 0 && waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after 2 minutes: items %+v, leases %+v, %d jobs waiting; logs:\n%s\n%s", items, leases, waiting, logs[0], logs[1])
		}
	}
	rows, _ := conn.Query(ctx, `SELECT id, state, attempt, attempted_by, metadata::text, jsonb_array_length(to_jsonb(errors)) FROM river_job WHERE kind = 'ferry_pass' ORDER BY id`)
	for rows.Next() {
		var id int64
		var state, metadata string
		var attempt, errs int
		var by []string
		rows.Scan(&id, &state, &attempt, &by, &metadata, &errs)
		t.Logf("job %d: %s, attempt %d, %d errors, attempted by %v, metadata %s", id, state, attempt, errs, by, metadata)
	}
	rows.Close()
	var rescued int
	conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'ferry_pass' AND errors::text LIKE '%Stuck job rescued%'`).Scan(&rescued)
	if rescued == 0 {
		t.Fatal("River rescued no job: the passes did not outlast the rescue interval, so this test proves nothing")
	}
	for _, it := range items {
		runs, _ := a.Store.Runs(ctx, it.MailboxID)
		// One run: a copy waits for the attempt it was rescued from and
		// then sees the job done, it does not run the pass again.
		if len(runs) != 1 || it.Status != store.StatusCompleted {
			t.Errorf("%s ended %s after %d runs, want %s after one; runs %+v", it.Source, it.Status, len(runs), store.StatusCompleted, runs)
		}
	}
	for _, u := range users {
		if d := testimap.TakeSnapshot(t, src.Addr, u.Name, u.Password).Diff(testimap.TakeSnapshot(t, dst.Addr, u.Name, u.Password)); d != "" {
			t.Errorf("%s differs:\n%s", u.Name, d)
		}
	}
	t.Logf("%d of %d jobs rescued while their workers lived", rescued, mailboxes)
}
