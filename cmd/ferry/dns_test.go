package main

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/dnscheck"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/testdns"
	"github.com/ferryhq/ferry/internal/testpg"
)

// TestMXFlipStartsFinalPassOnceAcrossWorkers: two `ferry worker`
// processes run the MX watch (River's periodic job) against a local DNS
// server on PostgreSQL. While the MX points at the source nothing
// happens; once it points at Microsoft 365 (and one worker was killed
// and started again), exactly one final Full pass runs per mailbox of the
// domain, and the destination holds every message.
func TestMXFlipStartsFinalPassOnceAcrossWorkers(t *testing.T) {
	t.Parallel()
	f := startFleet(t, 3, 20)
	db := testpg.URL(t)
	keyFile := filepath.Join(t.TempDir(), "secret.key")
	a, err := app.Open(context.Background(), app.Config{Database: db, KeyFile: keyFile, Jobs: jobs.Options{InsertOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p := f.project(t, a, 3)
	ctx := asOperator(context.Background())
	e, _, err := a.Engagements.Create(ctx, engagements.Input{CustomerID: p.CustomerID, Name: "Onboarding", Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.DNS.AddDomain(ctx, e.ID, dnscheck.DomainInput{Domain: "contoso.com"}); err != nil {
		t.Fatal(err)
	}
	dns := testdns.Start(t)
	dns.Set(t, "contoso.com. 1 IN MX 10 mail.contoso.com.")
	flags := []string{"--concurrency", "3", "--poll", "200ms", "--shutdown-timeout", "2s", "--mx-interval", "1s", "--dns-resolver", dns.Addr}
	workers, logs := startWorkers(t, 2, db, keyFile, flags...)
	domain := func() store.EngagementDomain {
		ds, err := a.Store.EngagementDomains(context.Background(), e.ID)
		if err != nil || len(ds) != 1 {
			t.Fatalf("domains: %+v %v", ds, err)
		}
		return ds[0]
	}
	// The watch runs and sees the source.
	for deadline := time.Now().Add(30 * time.Second); domain().LastChecked.IsZero(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the MX watch never ran; worker logs:\n%s\n%s", logs[0], logs[1])
		}
	}
	first := domain().LastChecked
	for deadline := time.Now().Add(30 * time.Second); !domain().LastChecked.After(first); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the MX watch ran once only; worker logs:\n%s\n%s", logs[0], logs[1])
		}
	}
	if d := domain(); d.Streak != 0 || d.LastMX != "10 mail.contoso.com (the source system, TTL 1)" {
		t.Fatalf("watch state while the MX points at the source: %+v", d)
	}
	if n := finalJobs(t, a); len(n) != 0 {
		t.Fatalf("passes queued while the MX points at the source: %v", n)
	}

	// The customer changes the MX; a worker dies and comes back.
	dns.Set(t, "contoso.com. 1 IN MX 0 contoso-com.mail.protection.outlook.com.")
	workers[0].Process.Signal(syscall.SIGKILL)
	workers[0].Wait()
	startWorkers(t, 1, db, keyFile, flags...)
	waitAllDone(t, a.Store, p.ID, len(f.users), 90*time.Second, func() { t.Logf("worker 1:\n%s", logs[1]) })
	cs, err := a.Store.MXCutovers(context.Background(), e.ID)
	if err != nil || len(cs) != 1 || cs[0].Trigger != "watch" || cs[0].Queued != len(f.users) {
		t.Fatalf("cutovers = %+v, %v", cs, err)
	}
	f.requireExact(t)
	// A later round of the watch (it checks the records again once the
	// final passes ended: post-migration DNS) queues nothing more.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		cs, _ := a.Store.MXCutovers(context.Background(), e.ID)
		if len(cs) == 1 && !cs[0].PostChecked.IsZero() {
			if cs[0].PostReady {
				t.Fatalf("post-migration check passed without the TXT, autodiscover and SPF records: %+v", cs[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no post-migration check after the final passes; worker 1:\n%s", logs[1])
		}
	}
	got := finalJobs(t, a)
	if len(got) != len(f.users) {
		t.Fatalf("final passes by item: %v, want one for each of %d items", got, len(f.users))
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("item %d has %d final passes", id, n)
		}
	}
}

// finalJobs counts the Full pass jobs per item in River's table.
func finalJobs(t *testing.T, a *app.App) map[int64]int {
	t.Helper()
	rows, err := a.Store.DB().Query(`SELECT (args->>'item_id')::bigint FROM river_job WHERE kind = 'ferry_pass' AND args->>'pass' = 'full'`)
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
