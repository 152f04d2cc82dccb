package projects

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
)

// Rate is how fast a project (or one worker of it) moved mail over a span
// of time: megabytes (10^6 bytes), messages and mailboxes per hour, and
// the totals they come from. A mailbox counts when its run completes.
type Rate struct {
	MBPerHour        float64       `json:"mb_per_hour"`
	MessagesPerHour  float64       `json:"messages_per_hour"`
	MailboxesPerHour float64       `json:"mailboxes_per_hour"`
	Bytes            int64         `json:"bytes"`
	Messages         int64         `json:"messages"`
	Mailboxes        int           `json:"mailboxes"`
	Span             time.Duration `json:"-"`
}

// WorkerThroughput is the share of one worker process (host:pid), over
// the same spans as the project's: the workers' rates add up to the
// project's. Runs that recorded no worker (`ferry migrate`, older runs)
// are under "".
type WorkerThroughput struct {
	Worker   string `json:"worker"`
	Running  int    `json:"running"`
	LastHour Rate   `json:"last_hour"`
	Pass     Rate   `json:"pass"`
}

// HourMB is the megabytes copied in one clock hour.
type HourMB struct {
	Hour time.Time `json:"hour"`
	MB   float64   `json:"mb"`
}

// Throughput is what a project's passes moved: over the last hour, over
// the current pass since it started, per worker, and hour by hour over
// the last day of activity (the chart).
type Throughput struct {
	At time.Time `json:"at"`
	// LastHour spans the last hour, or less when the project's runs began later.
	LastHour Rate `json:"last_hour"`
	// Pass is the current pass: that of the latest run, over each item's
	// runs of it since the item last ran another pass; it spans from the
	// first of those runs to the last end (now while one runs).
	Pass        Rate               `json:"pass"`
	PassName    string             `json:"pass_name,omitempty"`
	PassStarted time.Time          `json:"pass_started,omitzero"`
	Running     int                `json:"running"`
	Workers     []WorkerThroughput `json:"workers"`
	// Hourly is the MB copied in each of the 24 hours up to the last
	// activity (a run's bytes spread evenly over the time it ran); empty
	// when nothing was copied.
	Hourly []HourMB `json:"hourly"`
	// Mailboxes is how many of the project's mailboxes have run a pass.
	Mailboxes int `json:"mailboxes_with_runs"`
}

// Throughput measures a project's passes from their runs.
func (s *Service) Throughput(ctx context.Context, projectID int64) (*Throughput, error) {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := authorize(ctx, auth.ActionReadProject, p.CustomerID); err != nil {
		return nil, err
	}
	runs, err := s.Store.ProjectRuns(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return throughputOf(runs, s.now()), nil
}

// runEnd is when a run ended, or now while it runs.
func runEnd(r store.Run, now time.Time) time.Time {
	if r.Ended.IsZero() || r.Ended.After(now) {
		return now
	}
	return r.Ended
}

func running(r store.Run) bool { return r.Ended.IsZero() }

// completedMailbox: the run took its mailbox to the end of its pass.
func completedMailbox(r store.Run) bool {
	return !running(r) && (r.Status == "completed" || r.Status == "completed with errors")
}

// share is the part of a run's copying that fell in [from, to): its
// counts are known at its end only, and are spread evenly over the time
// it ran.
func share(r store.Run, from, to, now time.Time) float64 {
	start, end := r.Started, runEnd(r, now)
	if !end.After(start) {
		if !start.Before(from) && start.Before(to) || start.Equal(to) && to.Equal(now) {
			return 1
		}
		return 0
	}
	lo, hi := max(start.UnixNano(), from.UnixNano()), min(end.UnixNano(), to.UnixNano())
	if hi <= lo {
		return 0
	}
	return float64(hi-lo) / float64(end.Sub(start))
}

// rateOver adds up runs over [from, to).
func rateOver(runs []store.ItemRun, from, to, now time.Time) Rate {
	var rt Rate
	var bytes, msgs float64
	for _, r := range runs {
		f := share(r.Run, from, to, now)
		bytes += f * float64(r.CopiedBytes)
		msgs += f * float64(r.Copied)
		if completedMailbox(r.Run) && !r.Ended.Before(from) && !r.Ended.After(to) {
			rt.Mailboxes++
		}
	}
	rt.Bytes, rt.Messages, rt.Span = int64(bytes+0.5), int64(msgs+0.5), to.Sub(from)
	if h := rt.Span.Hours(); h > 0 {
		rt.MBPerHour = bytes / 1e6 / h
		rt.MessagesPerHour = msgs / h
		rt.MailboxesPerHour = float64(rt.Mailboxes) / h
	}
	return rt
}

// currentPass is each item's runs of the latest run's pass since the item
// last ran another pass.
func currentPass(runs []store.ItemRun) (pass string, out []store.ItemRun) {
	var latest store.ItemRun
	for _, r := range runs {
		if r.Started.After(latest.Started) || latest.ID == 0 {
			latest = r
		}
	}
	if latest.ID == 0 {
		return "", nil
	}
	byItem := map[int64][]store.ItemRun{}
	for _, r := range runs {
		byItem[r.ItemID] = append(byItem[r.ItemID], r)
	}
	for _, rs := range byItem {
		slices.SortFunc(rs, func(a, b store.ItemRun) int { return a.Started.Compare(b.Started) })
		i := len(rs)
		for i > 0 && rs[i-1].Pass == latest.Pass {
			i--
		}
		out = append(out, rs[i:]...)
	}
	return latest.Pass, out
}

func throughputOf(runs []store.ItemRun, now time.Time) *Throughput {
	t := &Throughput{At: now, Workers: []WorkerThroughput{}, Hourly: []HourMB{}}
	if len(runs) == 0 {
		return t
	}
	// A run without an end that is not its item's latest never finished
	// (its worker died, and a later run took over): it ran no longer than
	// it took to start, and is not running.
	latest := map[int64]store.ItemRun{}
	for _, r := range runs {
		if l, ok := latest[r.ItemID]; !ok || r.Started.After(l.Started) || r.Started.Equal(l.Started) && r.ID > l.ID {
			latest[r.ItemID] = r
		}
	}
	runs = slices.Clone(runs)
	for i, r := range runs {
		if running(r.Run) && latest[r.ItemID].ID != r.ID {
			runs[i].Ended, runs[i].Status = r.Started, "stopped"
		}
	}
	items := map[int64]bool{}
	first := now
	for _, r := range runs {
		items[r.ItemID] = true
		first = earlier(first, r.Started)
		if running(r.Run) {
			t.Running++
		}
	}
	t.Mailboxes = len(items)
	hourFrom := later(now.Add(-time.Hour), first)
	t.LastHour = rateOver(runs, hourFrom, now, now)

	pass, passRuns := currentPass(runs)
	t.PassName = pass
	passFrom, passTo := now, time.Time{}
	for _, r := range passRuns {
		passFrom, passTo = earlier(passFrom, r.Started), later(passTo, runEnd(r.Run, now))
	}
	t.PassStarted = passFrom
	t.Pass = rateOver(passRuns, passFrom, passTo, now)

	byWorker := map[string][]store.ItemRun{}
	for _, r := range runs {
		byWorker[r.Worker] = append(byWorker[r.Worker], r)
	}
	inPass := map[int64]bool{}
	for _, r := range passRuns {
		inPass[r.ID] = true
	}
	for w, rs := range byWorker {
		wt := WorkerThroughput{Worker: w, LastHour: rateOver(rs, hourFrom, now, now)}
		var wp []store.ItemRun
		for _, r := range rs {
			if inPass[r.ID] {
				wp = append(wp, r)
			}
			if running(r.Run) {
				wt.Running++
			}
		}
		wt.Pass = rateOver(wp, passFrom, passTo, now)
		t.Workers = append(t.Workers, wt)
	}
	slices.SortFunc(t.Workers, func(a, b WorkerThroughput) int { return strings.Compare(a.Worker, b.Worker) })
	t.Hourly = hourly(runs, now)
	return t
}

// hourly is the MB copied in each of the 24 clock hours up to the last
// activity, or nothing when no run copied anything.
func hourly(runs []store.ItemRun, now time.Time) []HourMB {
	const hours = 24
	var last time.Time
	copied := false
	for _, r := range runs {
		last = later(last, runEnd(r.Run, now))
		copied = copied || r.CopiedBytes > 0
	}
	if !copied {
		return []HourMB{}
	}
	to := last.Truncate(time.Hour).Add(time.Hour)
	from := to.Add(-hours * time.Hour)
	out := make([]HourMB, hours)
	for i := range out {
		h0 := from.Add(time.Duration(i) * time.Hour)
		out[i].Hour = h0
		for _, r := range runs {
			if r.CopiedBytes > 0 {
				out[i].MB += float64(r.CopiedBytes) / 1e6 * share(r.Run, h0, h0.Add(time.Hour), now)
			}
		}
	}
	return out
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
