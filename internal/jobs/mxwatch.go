package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// MXWatchArgs is one round of the MX watch (dnscheck.Service.WatchMX): a
// River periodic job, inserted by the queue's leader every
// Options.MXInterval and unique within it, so several workers check once
// per interval between them.
type MXWatchArgs struct{}

// Kind names the job type.
func (MXWatchArgs) Kind() string { return "ferry_mx_watch" }

// MXWatcher checks every domain's MX once and starts the cutovers it finds.
type MXWatcher interface {
	WatchMX(ctx context.Context) error
}

// DefaultMXInterval is how often the MX watch runs unless told.
const DefaultMXInterval = 5 * time.Minute

type mxWorker struct {
	river.WorkerDefaults[MXWatchArgs]
	watcher MXWatcher
	every   time.Duration
}

// Timeout: a round asks a name server a few times per domain; it must
// end before the next round is due.
func (w *mxWorker) Timeout(*river.Job[MXWatchArgs]) time.Duration { return max(w.every, time.Minute) }

func (w *mxWorker) Work(ctx context.Context, _ *river.Job[MXWatchArgs]) error {
	return w.watcher.WatchMX(ctx)
}

// addMXWatch registers the watch's worker and periodic job.
func addMXWatch(workers *river.Workers, cfg *river.Config, o Options) error {
	every := o.MXInterval
	if every <= 0 {
		every = DefaultMXInterval
	}
	if err := river.AddWorkerSafely(workers, &mxWorker{watcher: o.MXWatch, every: every}); err != nil {
		return err
	}
	cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) {
			return MXWatchArgs{}, &river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: every}}
		}, &river.PeriodicJobOpts{RunOnStart: true}))
	return nil
}
