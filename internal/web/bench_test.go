package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/store"
)

// BenchmarkProjectPage is the server time to render a project page with
// 10,000 items on SQLite (the first page of 50, the breakdown, the
// throughput from the project's runs: 100 items ran a Full pass).
// Target: under 200 ms a page.
//
//	go test -run '^$' -bench ProjectPage ./internal/web/
func BenchmarkProjectPage(b *testing.B) {
	const items, active = 10000, 100
	ctx := context.Background()
	dir := b.TempDir()
	a, err := app.Open(ctx, app.Config{Database: filepath.Join(dir, "ferry.db"), KeyFile: filepath.Join(dir, "key"), Jobs: jobs.Options{InsertOnly: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	as := &auth.Service{Store: a.Store}
	h, err := New(Options{Store: a.Store, Projects: a.Service, Engagements: a.Engagements, Customers: a.Customers, DNS: a.DNS, Auth: as, LivePoll: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer h.(Closer).Close()
	c, _, _, p, its := migrationTenant(b, a, "Contoso", items)
	// Some history: the last items ran a Full pass each, one an hour apart in bursts.
	now := time.Now()
	for i, it := range its[len(its)-active:] {
		mb, err := a.Store.Mailbox(ctx, store.MailboxKey{Source: it.Source, Destination: it.Dest})
		if err != nil {
			b.Fatal(err)
		}
		start := now.Add(-time.Duration(i%20) * time.Hour)
		run := &store.Run{Pass: "full", Started: start, ItemID: it.ID}
		if err := a.Store.StartRun(ctx, mb, run); err != nil {
			b.Fatal(err)
		}
		run.Ended, run.Status, run.Copied, run.CopiedBytes = start.Add(20*time.Minute), "completed", 3000, 250e6
		if err := a.Store.FinishRun(ctx, mb, run); err != nil {
			b.Fatal(err)
		}
		it.MailboxID, it.Status, it.LastPass = mb, store.StatusCompleted, "full"
		if err := a.Store.UpdateItem(ctx, it); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := as.CreateUser(operator(), auth.UserInput{Email: "pat@partner.example", Name: "Pat", Role: string(auth.Partner), Password: testPassword,
		Customers: []int64{c.ID}}); err != nil {
		b.Fatal(err)
	}
	si, err := as.SignIn(ctx, "pat@partner.example", testPassword, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, query string }{
		{"first page", ""},
		{"sorted by errors, page 100", "?sort=-errors&page=100"},
		{"search", "?q=user09"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", fmt.Sprintf("/projects/%d%s", p.ID, bc.query), nil)
			req.AddCookie(&http.Cookie{Name: SessionCookie, Value: si.Token})
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<svg") {
					b.Fatalf("%d %.300s", rec.Code, rec.Body.String())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/page")
		})
	}
}

// TestLiveHubOneReadPerProjectPerPoll: 50 browsers watching one project and
// one watching another cost the store the same reads per poll as one
// browser per project: two per project (changed items, breakdown).
func TestLiveHubOneReadPerProjectPerPoll(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 20)
	ctx := context.Background()
	const watchers, polls = 50, 10
	// Streams over HTTP, as browsers open them.
	open := func(projectID int64) (*bufio.Scanner, func()) {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/projects/%d/live", b.tp.srv.URL, projectID), nil)
		u := *req.URL
		u.Scheme = "https"
		for _, ck := range b.partner.http.Jar.Cookies(&u) {
			req.AddCookie(ck)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("live: %v %v", err, res)
		}
		return bufio.NewScanner(res.Body), func() { res.Body.Close() }
	}
	// A second project of the same customer.
	p2, err := b.svc().CreateProject(asOperator(ctx), projectsInput(b))
	if err != nil {
		t.Fatal(err)
	}
	hub := b.tp.web.live
	type stream struct {
		sc    *bufio.Scanner
		close func()
	}
	var streams []stream
	for range watchers {
		sc, cl := open(b.project.ID)
		streams = append(streams, stream{sc, cl})
	}
	sc2, cl2 := open(p2.ID)
	streams = append(streams, stream{sc2, cl2})
	defer func() {
		for _, s := range streams {
			s.close()
		}
	}()
	// Wait for every watcher to be registered, then count from the next update.
	for {
		hub.mu.Lock()
		n := len(hub.watchers[b.project.ID]) + len(hub.watchers[p2.ID])
		hub.mu.Unlock()
		if n == watchers+1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	before := hub.reads.Load()
	// Items change while the browsers watch: the updates carry them. The
	// change is made before the watchers count their polls (not beside
	// them: under the race detector a goroutine could run after all of them).
	if err := b.tp.app.Store.SetItemStatus(ctx, b.items[3].ID, store.StatusRunning, "full", 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]int, len(streams))
	sawRunning := make([]bool, len(streams))
	for i, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// At least `polls` updates, and on until the change shows:
			// updates sent before it may still be on their way (the second
			// project's watcher, the last, never sees it).
			for (got[i] < polls || (i < watchers && !sawRunning[i])) && got[i] < 10*polls && s.sc.Scan() {
				line := s.sc.Text()
				if line == "event: update" {
					got[i]++
				}
				if strings.Contains(line, `"status":"Running"`) {
					sawRunning[i] = true
				}
			}
		}()
	}
	wg.Wait()
	reads := hub.reads.Load() - before
	for i, n := range got {
		if n < polls {
			t.Fatalf("watcher %d got %d updates", i, n)
		}
	}
	if !sawRunning[0] || !sawRunning[watchers-1] {
		t.Error("the watchers did not see the item start running")
	}
	// Each stream received `polls` updates; with two projects the hub read
	// the store 2 × 3 per poll (items, project, runs; plus the polls in
	// flight around the window, as a slow watcher may miss one of its 8
	// buffered updates).
	most := slices.Max(got)
	limit := int64(2 * 3 * (most + 3))
	t.Logf("%d watchers, %d polls: %d store reads", watchers+1, polls, reads)
	if reads > limit || reads < 2*3*(polls-1) {
		t.Fatalf("%d store reads for %d polls of 2 projects and %d watchers; want about %d", reads, most, watchers+1, 2*3*most)
	}
}
