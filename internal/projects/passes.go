package projects

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/presets"
	"github.com/ferryhq/ferry/internal/store"
)

// Selection picks items of a project: all, by status, or a list.
type Selection struct {
	All      bool     `json:"all,omitempty"`
	Statuses []string `json:"statuses,omitempty"`
	ItemIDs  []int64  `json:"item_ids,omitempty"`
}

func (s *Service) selectItems(ctx context.Context, projectID int64, sel Selection) ([]store.Item, error) {
	if !sel.All && len(sel.Statuses) == 0 && len(sel.ItemIDs) == 0 {
		return nil, fault.InvalidField("selection", "say which items: all, by status, or a list of item ids")
	}
	for _, st := range sel.Statuses {
		if !slices.Contains(store.Statuses, st) {
			return nil, fault.InvalidField("statuses", "unknown status %q", st)
		}
	}
	items, _, err := s.Store.Items(ctx, projectID, store.ItemFilter{Status: sel.Statuses, IDs: sel.ItemIDs})
	if err != nil {
		return nil, err
	}
	if len(sel.ItemIDs) > 0 && len(items) != len(sel.ItemIDs) {
		return nil, fault.InvalidField("item_ids", "some of the items are not in project %d", projectID)
	}
	return items, nil
}

// PassRequest starts a pass.
type PassRequest struct {
	Pass          string    `json:"pass"` // verify, trial, prestage, full, retry
	OlderThanDays int       `json:"older_than_days,omitempty"`
	At            time.Time `json:"at,omitzero"` // "automatically start the migration at"
	Selection
}

// PassResult says what a start did.
type PassResult struct {
	Queued        int     `json:"queued"`
	AlreadyQueued int     `json:"already_queued"`
	QueuedItemIDs []int64 `json:"queued_item_ids"`
	// Excluded: selected items left out because their login was refused
	// (a selection of all items or a status; see PlanPass).
	Excluded int `json:"excluded"`
}

// StartPass queues a pass for the selected items, now or at a time. An item
// whose pass is already queued or running is not queued twice.
func (s *Service) StartPass(ctx context.Context, projectID int64, req PassRequest) (*PassResult, error) {
	p, pass, err := s.passProject(ctx, projectID, req.Pass)
	if err != nil {
		return nil, err
	}
	if pass == engine.PassPrestage && req.OlderThanDays < 1 {
		return nil, fault.InvalidField("older_than_days", "Pre-stage copies items older than N days: give older_than_days (e.g. 90)")
	}
	if p.Closed {
		return nil, closedProject(p)
	}
	if s.MigrationGate != nil {
		if err := s.MigrationGate(ctx, p.CustomerID, p.ID, string(pass)); err != nil {
			return nil, err
		}
	}
	if !req.At.IsZero() && req.At.Before(s.now().Add(-time.Minute)) {
		return nil, fault.InvalidField("at", "the start time %s is in the past", req.At.Format(time.RFC3339))
	}
	// What PlanPass showed: the items it leaves out (already queued or
	// running, or a refused login in a selection of all or a status) are
	// not queued.
	pl, err := s.plan(ctx, p, string(pass), req.Selection)
	if err != nil {
		return nil, err
	}
	res := &PassResult{QueuedItemIDs: []int64{}}
	for _, c := range pl.Cannot {
		if !c.Excluded {
			continue
		}
		if strings.HasPrefix(c.Reason, "a pass of it is already") {
			res.AlreadyQueued++
		} else {
			res.Excluded++
		}
	}
	items := pl.Migrate
	args := make([]jobs.PassArgs, len(items))
	itemIDs := make([]int64, len(items))
	for i, id := range items {
		args[i] = jobs.PassArgs{ItemID: id, Pass: string(pass), OlderThanDays: req.OlderThanDays}
		itemIDs[i] = id
	}
	// The jobs and the item rows go in one transaction: a worker that
	// picks a job up at once finds its item Queued (and its own later
	// status is not overwritten), and a start that fails midway leaves
	// neither a job nobody sees nor an item Queued without a job.
	ids, err := s.Store.QueuePass(ctx, itemIDs, string(pass), func(ctx context.Context, tx any) ([]int64, error) {
		return s.Queue.Enqueue(ctx, tx, args, req.At)
	})
	if err != nil {
		return nil, err
	}
	for i, id := range items {
		if ids[i] == 0 {
			res.AlreadyQueued++
			continue
		}
		res.Queued++
		res.QueuedItemIDs = append(res.QueuedItemIDs, id)
	}
	return res, nil
}

// Stop cancels the selected items' queued or running passes.
func (s *Service) Stop(ctx context.Context, projectID int64, sel Selection) (int, error) {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return 0, err
	}
	if err := authorize(ctx, auth.ActionStop, p.CustomerID); err != nil {
		return 0, err
	}
	return s.stop(ctx, projectID, sel)
}

// stop is Stop once authorized (closing a project stops its passes too).
func (s *Service) stop(ctx context.Context, projectID int64, sel Selection) (int, error) {
	items, err := s.selectItems(ctx, projectID, sel)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range items {
		if it.Status != store.StatusQueued && it.Status != store.StatusRunning {
			continue
		}
		if it.JobID != 0 && s.Queue != nil {
			if err := s.Queue.Cancel(ctx, it.JobID); err != nil {
				return n, err
			}
		}
		if err := s.Store.SetItemStatus(ctx, it.ID, store.StatusStopped, "", it.Errors); err != nil {
			return n, err
		}
		// River tells a running job of its cancellation only on PostgreSQL,
		// and not an attempt whose job it rescued: without its lease the
		// attempt stops at its next renewal, whatever the database.
		if err := s.Store.WithdrawLease(ctx, it.ID); err != nil {
			return n, err
		}
		s.slotFreed(ctx, projectID)
		n++
	}
	return n, nil
}

// RunPass is the job: one pass over one item, holding one of the project's
// slots for as long as it runs. The slot is a lease of this attempt alone:
// River may start a second attempt of a job that runs long (its rescuer
// does not know the worker lives), here or in another process; that copy
// waits while the lease lives and ends quietly once the first finished.
func (s *Service) RunPass(ctx context.Context, jobID int64, args jobs.PassArgs) error {
	it, err := s.Store.Item(ctx, args.ItemID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted since it was queued
	}
	if err != nil {
		return err
	}
	if it.DoneJobID == jobID {
		return nil // a rescued copy of a job that finished
	}
	p, src, dst, err := s.openProject(ctx, it.ProjectID)
	if err != nil {
		return err
	}
	if p.Closed || it.Status == store.StatusStopped {
		return nil
	}
	ttl := s.leaseTTL()
	lease, err := s.acquireLease(ctx, it, p)
	if err != nil {
		return err
	}
	defer s.releaseLease(ctx, lease)
	// Look again now that no other attempt runs: the one that held the
	// lease may have finished this job, or the pass been stopped.
	if it, err = s.Store.Item(ctx, it.ID); err != nil {
		return err
	}
	if it.DoneJobID == jobID || it.Status == store.StatusStopped {
		return nil
	}
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	renewing := make(chan struct{})
	go func() {
		defer close(renewing)
		s.keepLease(runCtx, lease, stopRun)
	}()

	job, err := s.itemJob(p, src, dst, it)
	if err != nil {
		s.Store.SetItemStatus(ctx, it.ID, store.StatusFailed, args.Pass, it.Errors)
		return nil
	}
	if err := s.Store.SetItemStatus(ctx, it.ID, store.StatusRunning, args.Pass, it.Errors); err != nil {
		return err
	}
	opts := s.EngineOptions
	opts.Pass = engine.Pass(args.Pass)
	opts.Worker = s.process()
	opts.ItemID = it.ID
	opts.OlderThan = time.Duration(args.OlderThanDays) * 24 * time.Hour
	opts.MaxErrors = p.MaxErrors
	opts.Filter = engine.Filter{Include: p.Include, Exclude: p.Exclude}
	opts.MaxMessageSize = dst.MaxMessageSize
	srcSystem, _ := presets.Lookup(src.Type)
	dstSystem, _ := presets.Lookup(dst.Type)
	opts.ThrottleBackoff = max(srcSystem.Backoff, dstSystem.Backoff)
	for _, sys := range []presets.System{srcSystem, dstSystem} {
		// The provider's connection limit per mailbox (Gmail 15, Exchange 16).
		if n := sys.Connections(); n > 0 && (opts.Connections <= 0 || n < opts.Connections) {
			opts.Connections = n
		}
	}
	opts.SourceLabels, opts.DestLabels = srcSystem.Labels, dstSystem.Labels
	opts.RoleFolders = dstSystem.Folders
	opts.Labels = engine.LabelOptions{FirstLabelOnly: p.FirstLabelOnly, SpamAndTrash: p.SpamAndTrash}
	opts.DateFrom, opts.DateTo = p.DateFrom, p.DateTo
	if p.DoNotRetry {
		opts.MaxAttempts = 1
	}
	if s.Now != nil {
		opts.Now = s.Now // one clock for the runs and their daily limit
	}
	if s.Observe != nil {
		opts.Observer = s.Observe(p.ID)
	}
	workloads := itemWorkloads(it)
	mail := slices.Contains(workloads, store.WorkloadMail)
	limit := transferLimit(src, dst)
	if mail && limit > 0 && opts.Pass != engine.PassVerify {
		left, until, err := s.transferLeft(ctx, job, limit)
		if err != nil {
			return err
		}
		if left <= 0 {
			it.Status = store.StatusQueued
			if err := s.Store.UpdateItem(ctx, it); err != nil {
				return err
			}
			return limitReached(until, limit)
		}
		opts.ByteBudget = left
		// A message larger than a whole day's limit can never go.
		if opts.MaxMessageSize == 0 || limit < opts.MaxMessageSize {
			opts.MaxMessageSize = limit
		}
	}
	res := &engine.Result{}
	if mail {
		res = engine.New(s.Store, opts).Migrate(runCtx, job, nil)
	}
	// Calendars, contacts and tasks: the same pass, after the mail.
	var davMailbox int64
	davFailures := 0
	if len(workloads) > 1 || !mail {
		if res.Err == nil && runCtx.Err() == nil {
			var davErr error
			davMailbox, davFailures, davErr = s.runWorkloads(runCtx, src, dst, it, job, args.Pass, workloads)
			if davErr != nil {
				res.Err = davErr
			}
		}
	}

	bg := context.WithoutCancel(ctx)
	// Only the lease's holder writes the item. A renewal now proves this
	// attempt still holds it, for a whole TTL more: nobody else took over.
	stopRun(nil)
	<-renewing
	var lost *leaseLostError
	if !errors.As(context.Cause(runCtx), &lost) {
		lease.Expires = s.now().Add(ttl)
		if err := s.Store.RenewLease(bg, lease); err != nil {
			lost = s.leaseLost(bg, lease, err)
		}
	}
	if lost != nil {
		// The new holder writes the item; the job looks again later and ends
		// quietly once that attempt finished it.
		return &jobs.WaitError{Until: s.now().Add(ttl), Reason: lost.Error()}
	}
	if errors.Is(res.Err, store.ErrMailboxBusy) {
		// Another run still copies this mailbox (a process whose lease ran out
		// while it went on, or a `ferry migrate` of the same pair): it copied
		// nothing and writes nothing; the job looks again after a lease's time.
		return &jobs.WaitError{Until: s.now().Add(ttl), Reason: res.Err.Error()}
	}
	it.Errors = davFailures
	if mail {
		mbox, _ := s.Store.Mailbox(bg, job.Key())
		it.MailboxID = mbox
		failures, _ := s.Store.Failures(bg, mbox)
		it.Errors += len(failures)
	}
	if davMailbox != 0 {
		it.DAVMailboxID = davMailbox
	}
	it.LastPass = args.Pass
	databaseLost := res.Err != nil && jobs.DatabaseUnreachable(res.Err)
	switch {
	case databaseLost:
		it.Status = store.StatusQueued // the database failed, not the mailbox: run it again
	case res.Err != nil && ctx.Err() != nil:
		if errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely) {
			it.Status = store.StatusStopped
			it.DoneJobID = jobID
		} else {
			it.Status = store.StatusQueued // shutting down: resumes at the next start
		}
	case res.Err != nil:
		it.Status, it.DoneJobID = store.StatusFailed, jobID
	case res.BudgetReached:
		it.Status = store.StatusQueued // the rest goes when the limit allows
	default:
		it.Status, it.DoneJobID = completedStatus(engine.Pass(args.Pass)), jobID
	}
	if err := s.Store.UpdateItem(bg, it); err != nil {
		return err
	}
	logRun(bg, p, it, args, res)
	if s.PassEnded != nil && it.DoneJobID == jobID {
		if err := s.PassEnded(bg, p, it, args.Pass); err != nil {
			slog.Warn("the engagement did not take in the finished pass", "project", p.ID, "item", it.ID, "pass", args.Pass, "err", err)
		}
	}
	if databaseLost {
		return &jobs.WaitError{Until: s.now().Add(ttl / 6), Reason: fmt.Sprintf("the run of item %d stopped because the database could not be reached (%v)", it.ID, res.Err)}
	}
	if it.Status == store.StatusQueued && !res.LimitUntil.IsZero() && ctx.Err() == nil {
		// The provider said its daily limit is spent (Gmail): that, not our count, says when.
		return &jobs.WaitError{Until: res.LimitUntil, Reason: "the provider's daily transfer limit is reached"}
	}
	if it.Status == store.StatusQueued && res.BudgetReached && ctx.Err() == nil {
		_, until, err := s.transferLeft(bg, job, limit)
		if err != nil {
			return err
		}
		return limitReached(until, limit)
	}
	if it.Status == store.StatusQueued {
		return ctx.Err()
	}
	return nil
}

func (s *Service) leaseTTL() time.Duration {
	if s.LeaseTTL == 0 {
		return 30 * time.Second
	}
	return s.LeaseTTL
}

// acquireLease takes one of the project's slots for this attempt of the
// pass. Without a free slot it waits for one rather than snoozing at once
// (a snoozed job comes back only when the queue's scheduler next runs,
// seconds later), but without asking the database again and again: jobs
// waiting for slots must not slow down the runs that hold them. The queue
// wakes one waiting job per freed slot, in whichever worker; a job asks
// again on its own only every TTL/3, in case a wake-up was lost. It waits
// no longer than a lease TTL, below River's rescue interval: a job still
// running at the rescue is run again, and each rescue costs an attempt.
// When another attempt holds the item's lease the job waits (snoozes) for
// it, without spinning and without counting an attempt.
func (s *Service) acquireLease(ctx context.Context, it store.Item, p store.Project) (store.Lease, error) {
	ttl := s.leaseTTL()
	lease := store.Lease{ItemID: it.ID, ProjectID: p.ID, Owner: s.attemptOwner()}
	giveUp := s.now().Add(min(time.Minute, ttl))
	for {
		// In the queue before asking, so that a slot freed meanwhile wakes it.
		woken, done := s.waitSlot(p.ID)
		lease.Expires = s.now().Add(ttl)
		ok, err := s.Store.AcquireLease(ctx, lease, p.MaxConcurrent)
		if errors.Is(err, store.ErrLeaseHeld) {
			done(false)
			// Its holder renews every TTL/6: if it is still held a TTL
			// from now, the holder lives; if not, it died and this attempt takes over.
			return lease, &jobs.WaitError{Until: s.now().Add(ttl),
				Reason: fmt.Sprintf("item %d is being migrated by another run (this job rescued while it runs, or another pass)", it.ID)}
		}
		if err != nil || ok {
			done(ok)
			return lease, err
		}
		if s.now().After(giveUp) {
			done(false)
			return lease, jobs.ErrNoSlot
		}
		select {
		case <-ctx.Done():
			done(false)
			return lease, ctx.Err()
		case <-woken:
		case <-time.After(ttl / 3):
		}
		done(false)
	}
}

// waitSlot queues the job for the project's next freed slot.
func (s *Service) waitSlot(projectID int64) (<-chan struct{}, func(gotSlot bool)) {
	if s.Queue == nil {
		return nil, func(bool) {}
	}
	return s.Queue.WaitSlot(projectID)
}

// slotFreed wakes a job waiting for one of the project's slots.
func (s *Service) slotFreed(ctx context.Context, projectID int64) {
	if s.Queue != nil {
		s.Queue.SlotFreed(context.WithoutCancel(ctx), projectID)
	}
}

// releaseLease ends the attempt's hold on its slot and hands the slot on.
func (s *Service) releaseLease(ctx context.Context, lease store.Lease) {
	ctx = context.WithoutCancel(ctx)
	if err := s.Store.ReleaseLease(ctx, lease.ItemID, lease.Owner); err == nil {
		s.slotFreed(ctx, lease.ProjectID)
	}
}

// TakeOverDeadAttempts runs until ctx ends, in every worker, keeps the
// items' statuses true to the leases (Running only with a live lease), and
// has the jobs of dead workers run again at once; they resume from the engine's
// checkpoint. River's own rescue would come only --rescue-after after the
// job started (2 minutes), then up to 30 s more. Each TTL/3 it looks for
//   - expired leases: attempts whose worker died while they ran (a live
//     attempt renews its lease, or stops before it expires);
//   - jobs River sees running for longer than a job waits for a slot (one
//     TTL) whose item has no lease: they died waiting for a slot.
//
// Running a job again is harmless when its attempt lives after all: the
// copy finds the item's lease held, or the job finished, and waits or ends.
func (s *Service) TakeOverDeadAttempts(ctx context.Context) {
	if s.Queue == nil {
		return
	}
	ttl := s.leaseTTL()
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		dead, err := s.Store.ReapExpiredLeases(ctx)
		if err != nil {
			continue // the database is unreachable: the queue says so once
		}
		for _, l := range dead {
			if it, err := s.Store.Item(ctx, l.ItemID); err == nil && it.JobID != 0 {
				s.Queue.Resume(ctx, it.JobID, fmt.Sprintf("the run of item %d by %s stopped renewing its lease (its worker died): taken over", l.ItemID, l.Owner))
			}
			s.slotFreed(ctx, l.ProjectID)
		}
		// A job runs those items again: until then they are Queued.
		s.Store.RequeueUnleased(ctx)
		running, err := s.Queue.RunningSince(ctx, s.now().Add(-ttl-ttl/2))
		if err != nil {
			continue
		}
		leased := map[int64]map[int64]bool{} // by project, the items with a live lease
		for _, r := range running {
			it, err := s.Store.Item(ctx, r.Args.ItemID)
			if err != nil {
				continue
			}
			if leased[it.ProjectID] == nil {
				leases, err := s.Store.Leases(ctx, it.ProjectID)
				if err != nil {
					continue
				}
				leased[it.ProjectID] = map[int64]bool{}
				for _, l := range leases {
					leased[it.ProjectID][l.ItemID] = true
				}
			}
			if leased[it.ProjectID][it.ID] {
				continue
			}
			s.Queue.Resume(ctx, r.JobID, fmt.Sprintf("the job of item %d has waited for a slot longer than a job waits (its worker died): taken over", it.ID))
		}
	}
}

// keepLease renews the attempt's lease every TTL/6 until ctx ends. When the
// lease was taken over, or could not be renewed before it would expire (so
// another worker may take the item), it stops the run with a
// *leaseLostError: two attempts must never copy one mailbox at once.
func (s *Service) keepLease(ctx context.Context, lease store.Lease, stopRun context.CancelCauseFunc) {
	ttl := s.leaseTTL()
	held := lease.Expires
	t := time.NewTicker(ttl / 6)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lease.Expires = s.now().Add(ttl)
		err := s.Store.RenewLease(ctx, lease)
		switch {
		case err == nil:
			held = lease.Expires
		case ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrNotFound) || s.now().Add(ttl/6).After(held):
			stopRun(s.leaseLost(ctx, lease, err))
			return
		}
		// Any other error (the database busy for a moment): try again at
		// the next tick, while the lease still holds.
	}
}

// leaseLostError stops a run that no longer holds its item's lease.
type leaseLostError struct {
	itemID  int64
	holder  string // the attempt holding the lease now, if any
	stopped bool   // the pass was stopped (Stop withdrew the lease)
	err     error  // the failed renewal
}

func (e *leaseLostError) Error() string {
	switch {
	case e.holder != "":
		return fmt.Sprintf("stopped because another worker took over this mailbox (item %d is now run by %s); this run's copy is checkpointed and the other goes on from there", e.itemID, e.holder)
	case e.stopped:
		return fmt.Sprintf("stopped: the pass of item %d was stopped; what was copied is checkpointed, and the next pass goes on from there", e.itemID)
	}
	return fmt.Sprintf("stopped because this run could not keep its lease on item %d (%v): its worker was too slow to renew it, so another worker may take the mailbox over; the pass resumes from the checkpoint", e.itemID, e.err)
}

// leaseLost says who holds the item's lease now, or that the pass was stopped.
func (s *Service) leaseLost(ctx context.Context, lease store.Lease, renewal error) *leaseLostError {
	ctx = context.WithoutCancel(ctx)
	lost := &leaseLostError{itemID: lease.ItemID, err: renewal}
	leases, _ := s.Store.Leases(ctx, lease.ProjectID)
	for _, l := range leases {
		if l.ItemID == lease.ItemID && l.Owner != lease.Owner {
			lost.holder = l.Owner
		}
	}
	if it, err := s.Store.Item(ctx, lease.ItemID); err == nil && lost.holder == "" {
		lost.stopped = it.Status == store.StatusStopped
	}
	return lost
}

// limitReached asks the queue to run the pass again when the daily limit
// allows.
func limitReached(until time.Time, limit int64) error {
	return &jobs.WaitError{Until: until, Reason: fmt.Sprintf("the daily transfer limit of %s is reached", engine.HumanBytes(limit))}
}

// transferLimit is the bytes a mailbox may move a day: the smaller of the
// source's download and the destination's upload limit (Gmail's), 0 for none.
func transferLimit(src, dst store.Endpoint) int64 {
	limit := src.DailyDownload
	if l := dst.DailyUpload; l > 0 && (limit == 0 || l < limit) {
		limit = l
	}
	return limit
}

// transferLeft is what the mailbox may still move under a daily limit:
// the limit less the bytes its runs copied in the last 24 hours, and when
// the oldest of those runs leaves that window (when more may go).
func (s *Service) transferLeft(ctx context.Context, job engine.Job, limit int64) (left int64, until time.Time, err error) {
	now := s.now()
	mbox, err := s.Store.Mailbox(ctx, job.Key()) // made on first use: a new pair has no runs
	if err != nil {
		return 0, now, err
	}
	runs, err := s.Store.Runs(ctx, mbox)
	if err != nil {
		return 0, now, err
	}
	var used int64
	var oldest time.Time
	for _, r := range runs {
		if r.Started.After(now.Add(-24*time.Hour)) && r.CopiedBytes > 0 {
			used += r.CopiedBytes
			if oldest.IsZero() || r.Started.Before(oldest) {
				oldest = r.Started
			}
		}
	}
	until = now.Add(time.Hour) // nothing in the window: only asked for when the limit is used up
	if !oldest.IsZero() {
		until = oldest.Add(24 * time.Hour)
	}
	return limit - used, until, nil
}

func completedStatus(p engine.Pass) string {
	switch p {
	case engine.PassVerify:
		return store.StatusCompletedVerify
	case engine.PassTrial:
		return store.StatusCompletedTrial
	case engine.PassPrestage:
		return store.StatusCompletedPrestage
	}
	return store.StatusCompleted
}

// itemJob builds the engine's job: the endpoints' servers, and either the
// endpoint's administrator acting for the mailbox or the item's own login.
func (s *Service) itemJob(p store.Project, src, dst store.Endpoint, it store.Item) (engine.Job, error) {
	side := func(ep store.Endpoint, mailbox, login, sealedItem, what string) (imapconn.Endpoint, error) {
		out := imapconn.Endpoint{Host: ep.Host, Port: ep.Port, Security: imapconn.SecurityTLS, AllowPlaintext: ep.AllowPlaintext}
		if ep.Security == "starttls" {
			out.Security = imapconn.SecurityStartTLS
		}
		if login == "" {
			login = mailbox
		}
		var err error
		if sealedItem != "" {
			out.User = login
			out.Password, err = s.Sealer.Open(sealedItem, itemAAD(p.ID, it.Source, what))
			return out, err
		}
		if !ep.HasCredentials {
			return out, fmt.Errorf("endpoint %q has no administrator credentials and the item no password", ep.Name)
		}
		if ep.SealedOAuth2 != "" {
			// The app signs in to the mailbox itself (XOAUTH2 user=<mailbox>).
			out.User, out.OAuth2Mechanism = login, imapconn.OAuth2Mechanism(ep.OAuth2Mechanism)
			out.Tokens, err = s.endpointTokens(ep)
			return out, err
		}
		out.User, out.ActAs = ep.AdminUser, login
		if ep.SealedToken != "" {
			out.OAuth2Mechanism = imapconn.OAuth2Mechanism(ep.OAuth2Mechanism)
			out.OAuth2Token, err = s.Sealer.Open(ep.SealedToken, EndpointAAD(ep.ID, "token"))
		} else {
			out.Password, err = s.Sealer.Open(ep.SealedPassword, EndpointAAD(ep.ID, "password"))
		}
		return out, err
	}
	a, err := side(src, it.Source, it.SourceLogin, it.SealedSourcePassword, "source")
	if err != nil {
		return engine.Job{}, err
	}
	b, err := side(dst, it.Dest, it.DestLogin, it.SealedDestPassword, "destination")
	if err != nil {
		return engine.Job{}, err
	}
	return engine.Job{Source: a, Dest: b}, nil
}

var (
	_ jobs.Runner          = (*Service)(nil)
	_ jobs.PreflightRunner = (*Service)(nil)
)
