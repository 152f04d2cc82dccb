// Package jobs runs migration passes as River jobs, on the same SQLite file
// or PostgreSQL database as the store, in `ferry serve` or any number of
// `ferry worker` processes.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// PassArgs is one pass over one item. River keeps at most one such job per
// item and pass queued or running (unique by arguments).
type PassArgs struct {
	ItemID        int64  `json:"item_id" river:"unique"`
	Pass          string `json:"pass" river:"unique"`
	OlderThanDays int    `json:"older_than_days,omitempty"`
}

// Kind names the job type.
func (PassArgs) Kind() string { return "ferry_pass" }

// ErrNoSlot tells the queue that the project has no free slot now; the job
// waits and tries again.
var ErrNoSlot = errors.New("the project's maximum of concurrent migrations is reached")

// WaitError asks the queue to run the job again at Until (a daily transfer
// limit reached, another attempt of the job holding the item); the wait is a
// River snooze, which does not count as an attempt.
type WaitError struct {
	Until  time.Time
	Reason string
}

func (e *WaitError) Error() string {
	return e.Reason + "; continues at " + e.Until.UTC().Format(time.RFC3339)
}

// Runner runs one pass for one item. jobID identifies the job so that a
// copy of it (River rescues a job that runs long, even while its worker
// lives) recognises that the job was finished meanwhile.
type Runner interface {
	RunPass(ctx context.Context, jobID int64, args PassArgs) error
}

// PreflightArgs is one pre-flight of a project (its run, already recorded).
type PreflightArgs struct {
	ProjectID int64 `json:"project_id"`
	RunID     int64 `json:"run_id" river:"unique"`
}

// Kind names the job type.
func (PreflightArgs) Kind() string { return "ferry_preflight" }

// PreflightRunner runs a pre-flight: it surveys every item of the project
// and records what it found. A *WaitError snoozes the job (another
// attempt runs the same pre-flight).
type PreflightRunner interface {
	RunPreflight(ctx context.Context, jobID int64, args PreflightArgs) error
}

type preflightWorker struct {
	river.WorkerDefaults[PreflightArgs]
	runner PreflightRunner
}

func (w *preflightWorker) Work(ctx context.Context, job *river.Job[PreflightArgs]) error {
	err := w.runner.RunPreflight(ctx, job.ID, job.Args)
	var wait *WaitError
	if errors.As(err, &wait) {
		return river.JobSnooze(max(time.Until(wait.Until), 0))
	}
	if err != nil && ctx.Err() != nil {
		// Shut down or cancelled: the run starts over at the next start.
		return river.JobSnooze(0)
	}
	return err
}

// Timeout: a pre-flight reads sizes, not mail, but a project may hold thousands of mailboxes.
func (w *preflightWorker) Timeout(*river.Job[PreflightArgs]) time.Duration { return -1 }

// Options tune the queue.
type Options struct {
	Workers int // concurrent jobs in this process; 0 = 20
	// RescueAfter: River runs a job again when it has been running this
	// long (its rescuer looks every 30 s), whether or not its worker lives.
	// The Runner's leases make the copy wait while the first attempt lives
	// and take over when its worker died. 0 = 2 minutes.
	RescueAfter time.Duration
	// Poll is how often idle workers look for jobs; 0 = 1 s.
	Poll time.Duration
	// InsertOnly builds a client that queues jobs and runs none (CLI).
	InsertOnly bool
	// MXWatch, when set, runs every MXInterval (0 = DefaultMXInterval)
	// as a periodic job (see MXWatchArgs).
	MXWatch    MXWatcher
	MXInterval time.Duration
	// Preflight runs pre-flight jobs; nil: this process runs none.
	Preflight PreflightRunner
}

// Queue is the job system, whichever the database.
type Queue interface {
	// Enqueue queues a pass for items inside the caller's transaction tx
	// (the store's: a *sql.Tx on SQLite, a pgx.Tx on PostgreSQL; see
	// store.Projects.QueuePass), so that the jobs become visible to the
	// workers with the rows written beside them, or not at all. at zero
	// means now. It returns the job id per item, 0 for items whose pass
	// was already queued or running.
	Enqueue(ctx context.Context, tx any, args []PassArgs, at time.Time) ([]int64, error)
	// EnqueuePreflight queues a pre-flight run; it returns the job's id
	// (0 when that run's job is queued already).
	EnqueuePreflight(ctx context.Context, args PreflightArgs) (int64, error)
	// Cancel stops a queued or running job.
	Cancel(ctx context.Context, jobID int64) error
	// Resume runs again, at once, a job whose attempt died: its worker
	// stopped renewing the item's lease. River would only notice after
	// RescueAfter. It does nothing to a job that is not running.
	Resume(ctx context.Context, jobID int64, why string) error
	// RunningSince lists the passes whose current attempt started before
	// the given time and still runs, as far as the queue knows (its worker
	// may have died).
	RunningSince(ctx context.Context, before time.Time) ([]RunningPass, error)
	// Scheduled lists the passes waiting for the time they were queued to
	// start at, soonest first, at most max of them.
	Scheduled(ctx context.Context, max int) ([]ScheduledPass, error)
	// SlotFreed tells the jobs waiting for one of the project's slots, in
	// every worker sharing the database, that one is free.
	SlotFreed(ctx context.Context, projectID int64)
	// WaitSlot queues the caller for the project's next freed slot (as far
	// as this process hears): woken is closed at its turn; done must be
	// called when it stops waiting, gotSlot true if it has taken one (a
	// wake-up it had meanwhile then goes to the next in line).
	WaitSlot(projectID int64) (woken <-chan struct{}, done func(gotSlot bool))
	// Jobs says, for each job still known, whether it waits and until
	// when (a queued item's reason to wait); unknown ids are left out.
	Jobs(ctx context.Context, ids []int64) (map[int64]JobInfo, error)
	Start(ctx context.Context) error
	// Stop waits for running jobs to finish or checkpoint, up to ctx's deadline, then cancels them.
	Stop(ctx context.Context) error
}

type queue[TTx any] struct {
	client *river.Client[TTx]
	driver riverdriver.Driver[TTx]
	bell   slotBell
	pool   *pgxpool.Pool      // PostgreSQL: slots freed are announced to every worker
	stop   context.CancelFunc // ends listening for freed slots
}

type passWorker struct {
	river.WorkerDefaults[PassArgs]
	runner Runner
	poll   time.Duration
}

// Timeout: a migration takes as long as it takes.
func (w *passWorker) Timeout(*river.Job[PassArgs]) time.Duration { return -1 }

func (w *passWorker) Work(ctx context.Context, job *river.Job[PassArgs]) error {
	err := w.runner.RunPass(ctx, job.ID, job.Args)
	if errors.Is(err, ErrNoSlot) {
		return river.JobSnooze(w.poll * 2)
	}
	var wait *WaitError
	if errors.As(err, &wait) {
		return river.JobSnooze(max(time.Until(wait.Until), 0))
	}
	if err != nil && ctx.Err() != nil {
		// Shut down or cancelled mid-copy: the engine checkpointed; the job resumes at the next start.
		return river.JobSnooze(0)
	}
	return err
}

func config(runner Runner, o Options) (*river.Config, error) {
	if o.Workers <= 0 {
		o.Workers = 20
	}
	if o.RescueAfter <= 0 {
		o.RescueAfter = 2 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	cfg := &river.Config{
		FetchPollInterval:    o.Poll,
		FetchCooldown:        min(o.Poll, 100*time.Millisecond),
		RescueStuckJobsAfter: o.RescueAfter,
		JobTimeout:           -1,
		MaxAttempts:          5,
		// The queue's warnings and errors go to Ferry's log (text or JSON,
		// see --log-format), not to River's default on standard output.
		Logger: slog.New(warnings{slog.Default().Handler()}),
	}
	if !o.InsertOnly {
		workers := river.NewWorkers()
		if err := river.AddWorkerSafely(workers, &passWorker{runner: runner, poll: o.Poll}); err != nil {
			return nil, err
		}
		if o.MXWatch != nil {
			if err := addMXWatch(workers, cfg, o); err != nil {
				return nil, err
			}
		}
		if o.Preflight != nil {
			if err := river.AddWorkerSafely(workers, &preflightWorker{runner: o.Preflight}); err != nil {
				return nil, err
			}
		}
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Workers}}
	}
	return cfg, nil
}

func migrateRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("prepare the job tables: %w", err)
	}
	return nil
}

// NewSQLite builds the queue on the store's SQLite database.
func NewSQLite(ctx context.Context, db *sql.DB, runner Runner, o Options) (Queue, error) {
	driver := riversqlite.New(db)
	if err := migrateRiver(ctx, driver); err != nil {
		return nil, err
	}
	cfg, err := config(runner, o)
	if err != nil {
		return nil, err
	}
	// SQLite has no LISTEN/NOTIFY: workers poll.
	cfg.PollOnly = true
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, err
	}
	return &queue[*sql.Tx]{client: c, driver: driver}, nil
}

// NewPostgres builds the queue on a PostgreSQL pool.
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, runner Runner, o Options) (Queue, error) {
	driver := riverpgxv5.New(pool)
	if err := migrateRiver(ctx, driver); err != nil {
		return nil, err
	}
	cfg, err := config(runner, o)
	if err != nil {
		return nil, err
	}
	q := &queue[pgx.Tx]{driver: driver, pool: pool}
	q.bell.outage.log = slog.Default()
	q.bell.outage.probe = pool.Ping
	// The queue's warnings and errors, quiet during an outage of the
	// database, which Ferry reports itself.
	cfg.Logger = slog.New(quietLog{cfg.Logger.Handler(), &q.bell.outage})
	if q.client, err = river.NewClient[pgx.Tx](driver, cfg); err != nil {
		return nil, err
	}
	return q, nil
}

var uniqueStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled}

func (q *queue[TTx]) Enqueue(ctx context.Context, tx any, args []PassArgs, at time.Time) ([]int64, error) {
	inTx, ok := tx.(TTx)
	if !ok {
		var want TTx
		return nil, fmt.Errorf("queue passes: the transaction is a %T; this queue's database takes a %T", tx, want)
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		opts := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
		if !at.IsZero() {
			opts.ScheduledAt = at
		}
		params[i] = river.InsertManyParams{Args: a, InsertOpts: opts}
	}
	ids := make([]int64, len(args))
	if len(args) == 0 {
		return ids, nil
	}
	res, err := q.client.InsertManyTx(ctx, inTx, params)
	if err != nil {
		return nil, fmt.Errorf("queue %s for %d items: %w", args[0].Pass, len(args), err)
	}
	// Matched by item, not by position: the database need not return
	// the rows of a multi-row insert in the order they were given.
	index := make(map[int64]int, len(args))
	for i, a := range args {
		index[a.ItemID] = i
	}
	for _, r := range res {
		var a PassArgs
		if err := json.Unmarshal(r.Job.EncodedArgs, &a); err != nil {
			return nil, fmt.Errorf("queue passes: read back job %d: %w", r.Job.ID, err)
		}
		if i, ok := index[a.ItemID]; ok && !r.UniqueSkippedAsDuplicate {
			ids[i] = r.Job.ID
		}
	}
	return ids, nil
}

func (q *queue[TTx]) EnqueuePreflight(ctx context.Context, args PreflightArgs) (int64, error) {
	res, err := q.client.Insert(ctx, args, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}})
	if err != nil {
		return 0, fmt.Errorf("queue the pre-flight of project %d: %w", args.ProjectID, err)
	}
	if res.UniqueSkippedAsDuplicate {
		return 0, nil
	}
	return res.Job.ID, nil
}

func (q *queue[TTx]) Cancel(ctx context.Context, jobID int64) error {
	_, err := q.client.JobCancel(ctx, jobID)
	if errors.Is(err, river.ErrNotFound) {
		return nil
	}
	return err
}

func (q *queue[TTx]) Resume(ctx context.Context, jobID int64, why string) error {
	exec := q.driver.GetExecutor()
	job, err := exec.JobGetByID(ctx, &riverdriver.JobGetByIDParams{ID: jobID})
	if errors.Is(err, rivertype.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if job.State != rivertype.JobStateRunning {
		return nil // finished, or already waiting to run again
	}
	now := time.Now()
	attemptErr, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: max(job.Attempt, 1), Error: why})
	if err != nil {
		return err
	}
	_, err = exec.JobRescueMany(ctx, &riverdriver.JobRescueManyParams{ID: []int64{jobID}, Error: [][]byte{attemptErr},
		FinalizedAt: []*time.Time{nil}, ScheduledAt: []time.Time{now}, State: []string{string(rivertype.JobStateAvailable)}})
	return err
}

// ScheduledPass is a pass queued to start at a time.
type ScheduledPass struct {
	JobID int64
	Args  PassArgs
	At    time.Time
}

func (q *queue[TTx]) Scheduled(ctx context.Context, max int) ([]ScheduledPass, error) {
	params := river.NewJobListParams().States(rivertype.JobStateScheduled).Kinds(PassArgs{}.Kind()).
		OrderBy(river.JobListOrderByScheduledAt, river.SortOrderAsc).First(max)
	res, err := q.client.JobList(ctx, params)
	if err != nil {
		return nil, err
	}
	var out []ScheduledPass
	for _, r := range res.Jobs {
		var args PassArgs
		if json.Unmarshal(r.EncodedArgs, &args) != nil {
			continue
		}
		out = append(out, ScheduledPass{JobID: r.ID, Args: args, At: r.ScheduledAt})
	}
	return out, nil
}

// JobInfo is what the queue knows of a job's wait.
type JobInfo struct {
	// State is River's: "available" (waits for a worker), "scheduled"
	// (waits for ScheduledAt), "running", "retryable", "completed", ...
	State       string
	ScheduledAt time.Time
	// Snoozed: the job ran and asked to wait (no free slot of its project,
	// a daily transfer limit, another run holding the item), rather than
	// being scheduled by a person.
	Snoozed bool
	// Attempt is how many times it has run (snoozes not counted).
	Attempt int
}

func (q *queue[TTx]) Jobs(ctx context.Context, ids []int64) (map[int64]JobInfo, error) {
	out := make(map[int64]JobInfo, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.driver.GetExecutor().JobGetByIDMany(ctx, &riverdriver.JobGetByIDManyParams{ID: ids})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		var meta struct {
			Snoozes int `json:"snoozes"`
		}
		_ = json.Unmarshal(r.Metadata, &meta)
		out[r.ID] = JobInfo{State: string(r.State), ScheduledAt: r.ScheduledAt, Snoozed: meta.Snoozes > 0, Attempt: r.Attempt}
	}
	return out, nil
}

// RunningPass is a job that runs a pass.
type RunningPass struct {
	JobID int64
	Args  PassArgs
}

func (q *queue[TTx]) RunningSince(ctx context.Context, before time.Time) ([]RunningPass, error) {
	rows, err := q.driver.GetExecutor().JobGetStuck(ctx, &riverdriver.JobGetStuckParams{Max: 1000, StuckHorizon: before})
	if err != nil {
		return nil, err
	}
	var out []RunningPass
	for _, r := range rows {
		var args PassArgs
		if r.Kind != args.Kind() || json.Unmarshal(r.EncodedArgs, &args) != nil {
			continue
		}
		out = append(out, RunningPass{JobID: r.ID, Args: args})
	}
	return out, nil
}

func (q *queue[TTx]) SlotFreed(ctx context.Context, projectID int64) {
	if q.pool == nil {
		q.bell.ring(projectID) // SQLite: one process
		return
	}
	// Every worker's listener, this one's included, relays it. If it cannot
	// be sent, waiting jobs still look again on their own after a while.
	q.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, slotChannel, strconv.FormatInt(projectID, 10))
}

func (q *queue[TTx]) WaitSlot(projectID int64) (<-chan struct{}, func(bool)) {
	return q.bell.wait(projectID)
}

func (q *queue[TTx]) Start(ctx context.Context) error {
	if err := q.client.Start(ctx); err != nil {
		return err
	}
	if q.pool != nil {
		lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		q.stop = stop
		go q.bell.listen(lctx, q.pool)
	}
	return nil
}

func (q *queue[TTx]) Stop(ctx context.Context) error {
	if q.stop != nil {
		defer q.stop()
	}
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return q.client.StopAndCancel(context.WithoutCancel(ctx))
	}
	return err
}
