package projects

import (
	"math"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

func TestThroughputOf(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)
	at := func(hhmm string) time.Time {
		d, err := time.Parse("15:04", hhmm)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2026, 12, 7, d.Hour(), d.Minute(), 0, 0, time.UTC)
	}
	id := int64(0)
	run := func(item int64, worker, pass, from, to string, mb, msgs int64) store.ItemRun {
		id++
		r := store.Run{ID: id, Pass: pass, Started: at(from), Copied: msgs, CopiedBytes: mb * 1e6, Worker: worker, Status: "completed"}
		if to != "" {
			r.Ended = at(to)
		} else {
			r.Status, r.Copied, r.CopiedBytes = "running", 0, 0 // counts are written at the end
		}
		return store.ItemRun{ItemID: item, Run: r}
	}
	type rates struct{ mb, msgs, mailboxes float64 }
	tests := []struct {
		name     string
		runs     []store.ItemRun
		lastHour rates
		pass     rates
		passName string
		running  int
		workers  map[string]float64 // MB/hr of each worker over the pass
	}{
		{name: "no runs"},
		{
			name: "two mailboxes in the last half hour, one worker",
			runs: []store.ItemRun{
				run(1, "a:1", "full", "13:30", "13:40", 100, 1000),
				run(2, "a:1", "full", "13:40", "13:50", 50, 500),
			},
			// The last hour spans from the first run (30 min), the pass from its first start to its last end (20 min).
			lastHour: rates{300, 3000, 4}, pass: rates{450, 4500, 6}, passName: "full",
			workers: map[string]float64{"a:1": 450},
		},
		{
			name: "a run across the start of the hour counts for its share",
			runs: []store.ItemRun{
				run(1, "a:1", "full", "12:30", "13:30", 120, 1200),
				run(2, "a:1", "full", "13:30", "14:00", 30, 300),
			},
			lastHour: rates{60 + 30, 600 + 300, 2}, pass: rates{150.0 / 1.5, 1500 / 1.5, 2 / 1.5}, passName: "full",
			workers: map[string]float64{"a:1": 100},
		},
		{
			name: "two workers add up to the project",
			runs: []store.ItemRun{
				run(1, "a:1", "full", "13:00", "14:00", 100, 1000),
				run(2, "b:2", "full", "13:00", "14:00", 300, 3000),
				run(3, "b:2", "full", "13:00", "14:00", 0, 0),
			},
			lastHour: rates{400, 4000, 3}, pass: rates{400, 4000, 3}, passName: "full",
			workers: map[string]float64{"a:1": 100, "b:2": 300},
		},
		{
			name: "the current pass is the latest run's, from each item's runs since its last other pass",
			runs: []store.ItemRun{
				run(1, "a:1", "trial", "10:00", "10:30", 500, 5000),
				run(1, "a:1", "full", "13:00", "13:30", 100, 1000),
				run(2, "a:1", "trial", "11:00", "11:30", 700, 7000),
				run(3, "a:1", "full", "13:30", "14:00", 100, 1000),
			},
			lastHour: rates{200, 2000, 2}, pass: rates{200, 2000, 2}, passName: "full",
			workers: map[string]float64{"a:1": 200},
		},
		{
			name: "a running pass spans to now; a run that never ended and was taken over is not running",
			runs: []store.ItemRun{
				run(1, "dead:9", "full", "13:00", "", 0, 0),
				run(1, "a:1", "full", "13:10", "13:40", 60, 600),
				run(2, "a:1", "full", "13:30", "", 0, 0),
			},
			lastHour: rates{60, 600, 1}, pass: rates{60, 600, 1}, passName: "full", running: 1,
			workers: map[string]float64{"a:1": 60, "dead:9": 0},
		},
		{
			name: "runs without a worker (ferry migrate, older runs) are under no name",
			runs: []store.ItemRun{
				run(1, "", "full", "13:00", "14:00", 10, 100),
			},
			lastHour: rates{10, 100, 1}, pass: rates{10, 100, 1}, passName: "full",
			workers: map[string]float64{"": 10},
		},
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := throughputOf(tt.runs, now)
			for _, c := range []struct {
				what string
				r    Rate
				want rates
			}{{"last hour", got.LastHour, tt.lastHour}, {"pass", got.Pass, tt.pass}} {
				if !near(c.r.MBPerHour, c.want.mb) || !near(c.r.MessagesPerHour, c.want.msgs) || !near(c.r.MailboxesPerHour, c.want.mailboxes) {
					t.Errorf("%s: %.2f MB/hr, %.2f messages/hr, %.2f mailboxes/hr; want %+v", c.what, c.r.MBPerHour, c.r.MessagesPerHour, c.r.MailboxesPerHour, c.want)
				}
			}
			if got.PassName != tt.passName || got.Running != tt.running {
				t.Errorf("pass %q, %d running; want %q, %d", got.PassName, got.Running, tt.passName, tt.running)
			}
			if len(got.Workers) != len(tt.workers) {
				t.Fatalf("workers %+v, want %v", got.Workers, tt.workers)
			}
			var sum float64
			for _, w := range got.Workers {
				if want, ok := tt.workers[w.Worker]; !ok || !near(w.Pass.MBPerHour, want) {
					t.Errorf("worker %q: %.2f MB/hr over the pass, want %v", w.Worker, w.Pass.MBPerHour, tt.workers[w.Worker])
				}
				sum += w.Pass.MBPerHour
			}
			if !near(sum, got.Pass.MBPerHour) {
				t.Errorf("the workers' rates add up to %.2f MB/hr, the project's is %.2f", sum, got.Pass.MBPerHour)
			}
		})
	}
}

func TestThroughputHourly(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 9, 14, 30, 0, 0, time.UTC)
	runs := []store.ItemRun{
		{ItemID: 1, Run: store.Run{ID: 1, Started: now.Add(-2 * time.Hour), Ended: now.Add(-time.Hour), CopiedBytes: 100e6}}, // 12:30–13:30: half in each of two hours
		{ItemID: 2, Run: store.Run{ID: 2, Started: now.Add(-10 * time.Minute), Ended: now.Add(-10 * time.Minute), CopiedBytes: 10e6}},
	}
	h := throughputOf(runs, now).Hourly
	if len(h) != 24 || !h[23].Hour.Equal(time.Date(2024, 5, 9, 14, 0, 0, 0, time.UTC)) {
		t.Fatalf("hours: %+v", h)
	}
	var total float64
	for _, x := range h {
		total += x.MB
	}
	if !near6(total, 110) || !near6(h[21].MB, 50) || !near6(h[22].MB, 50) || !near6(h[23].MB, 10) {
		t.Fatalf("total %.1f, last three hours %.1f %.1f %.1f", total, h[21].MB, h[22].MB, h[23].MB)
	}
	if h := throughputOf(nil, now).Hourly; len(h) != 0 {
		t.Fatalf("hours without runs: %+v", h)
	}
}

func near6(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
