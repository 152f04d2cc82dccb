package projects

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/preflight"
	"github.com/ferryhq/ferry/internal/store"
)

// preflightParallel bounds the mailboxes one pre-flight surveys at once
// (each holds a connection on both sides), below the project's maximum.
const preflightParallel = 8

// StartPreflight queues a pre-flight of every item of the project: a job
// that signs in on both sides and reads sizes, quotas and folder names,
// and copies nothing. Like Verify credentials, the migration gate does not
// hold it back. While a run of the project is queued or running, it
// returns that run.
func (s *Service) StartPreflight(ctx context.Context, projectID int64) (store.PreflightRun, error) {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return store.PreflightRun{}, err
	}
	if err := authorize(ctx, auth.ActionStartPass, p.CustomerID); err != nil {
		return store.PreflightRun{}, err
	}
	if p.Closed {
		return store.PreflightRun{}, closedProject(p)
	}
	if p.ItemCount == 0 {
		return store.PreflightRun{}, fault.InvalidField("project", "project %q has no mailboxes yet: add or import them first", p.Name)
	}
	// One run at a time per project: a run still queued or running answers
	// for this request too (its findings are the ones this would give).
	latest, err := s.Store.PreflightRuns(ctx, p.ID, 1)
	if err != nil {
		return store.PreflightRun{}, err
	}
	if len(latest) == 1 && (latest[0].State == store.PreflightQueued || latest[0].State == store.PreflightRunning) {
		return latest[0], nil
	}
	run := store.PreflightRun{ProjectID: p.ID, State: store.PreflightQueued, Queued: s.now()}
	if pr := auth.PrincipalFrom(ctx); pr != nil {
		run.RequestedBy = pr.Name
	}
	if err := s.Store.AddPreflightRun(ctx, &run); err != nil {
		return run, err
	}
	if s.Queue == nil {
		return run, fmt.Errorf("no job queue to run the pre-flight")
	}
	if run.JobID, err = s.Queue.EnqueuePreflight(ctx, jobs.PreflightArgs{ProjectID: p.ID, RunID: run.ID}); err != nil {
		run.State, run.Error, run.Finished = store.PreflightFailed, err.Error(), s.now()
		s.Store.UpdatePreflightRun(context.WithoutCancel(ctx), run)
		return run, err
	}
	return run, s.Store.UpdatePreflightRun(ctx, run)
}

// RunPreflight is the pre-flight job: it surveys each item, checks what it
// found against the destination's limits (preflight.Limits), keeps the
// report with the run, and hands the findings to PreflightDone (the
// engagement's remediation checklist).
func (s *Service) RunPreflight(ctx context.Context, jobID int64, args jobs.PreflightArgs) error {
	run, err := s.Store.PreflightRun(ctx, args.RunID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the project was deleted since
	}
	if err != nil {
		return err
	}
	if run.State == store.PreflightDone || run.State == store.PreflightFailed {
		return nil // a rescued copy of a job that finished
	}
	beat := s.preflightBeat()
	if run.State == store.PreflightRunning && s.now().Sub(run.Heartbeat) < 3*beat {
		// Another attempt runs it (River rescued a job that runs long):
		// look again once that one has finished or stopped renewing.
		return &jobs.WaitError{Until: s.now().Add(3 * beat), Reason: fmt.Sprintf("pre-flight %d is running in another attempt", run.ID)}
	}
	run.JobID, run.State, run.Started, run.Heartbeat, run.Error = jobID, store.PreflightRunning, s.now(), s.now(), ""
	if err := s.Store.UpdatePreflightRun(ctx, run); err != nil {
		return err
	}
	surveyCtx, stop := context.WithCancel(ctx)
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		tick := time.NewTicker(beat)
		defer tick.Stop()
		for {
			select {
			case <-surveyCtx.Done():
				return
			case <-tick.C:
				r := run
				r.Heartbeat = s.now()
				s.Store.UpdatePreflightRun(surveyCtx, r)
			}
		}
	}()
	report, err := s.preflight(surveyCtx, run)
	stop()
	<-beating
	bg := context.WithoutCancel(ctx)
	if err != nil && ctx.Err() != nil {
		// Shutting down: the run is queued again and starts over at the next start.
		run.State = store.PreflightQueued
		s.Store.UpdatePreflightRun(bg, run)
		return err
	}
	run.Finished, run.Heartbeat = s.now(), s.now()
	if err != nil {
		run.State, run.Error = store.PreflightFailed, err.Error()
		slog.Warn("pre-flight failed", "project", run.ProjectID, "run", run.ID, "err", err)
		return s.Store.UpdatePreflightRun(bg, run)
	}
	data, err := json.Marshal(report)
	if err != nil {
		return err
	}
	run.State, run.Report = store.PreflightDone, string(data)
	slog.Info("pre-flight done", "project", run.ProjectID, "run", run.ID, "mailboxes", len(report.Mailboxes), "findings", len(report.Findings))
	return s.Store.UpdatePreflightRun(bg, run)
}

// preflightBeat is how often a running pre-flight renews its heartbeat: a
// sixth of the lease TTL, as a pass renews its lease.
func (s *Service) preflightBeat() time.Duration { return s.leaseTTL() / 6 }

func (s *Service) preflight(ctx context.Context, run store.PreflightRun) (*preflight.Report, error) {
	p, src, dst, err := s.openProject(ctx, run.ProjectID)
	if err != nil {
		return nil, err
	}
	items, _, err := s.Store.Items(ctx, p.ID, store.ItemFilter{})
	if err != nil {
		return nil, err
	}
	report := &preflight.Report{Limits: preflight.Limits(dst, p), Mailboxes: make([]preflight.MailboxReport, len(items))}
	findings := make([][]preflight.Finding, len(items))
	opts := s.EngineOptions
	opts.Filter = engine.Filter{Include: p.Include, Exclude: p.Exclude}
	eng := engine.New(nil, opts)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, min(p.MaxConcurrent, preflightParallel)))
	for i, it := range items {
		sem <- struct{}{} // a goroutine per mailbox surveyed now, not per item
		wg.Go(func() {
			defer func() { <-sem }()
			report.Mailboxes[i], findings[i] = s.surveyItem(ctx, eng, p, src, dst, it, report.Limits)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, m := range report.Mailboxes {
		report.Messages += m.Messages
		report.Bytes += m.Bytes
		report.Findings = append(report.Findings, findings[i]...)
	}
	// The throughput measured on this project so far says how long the
	// mail would take at that rate.
	runs, err := s.Store.ProjectRuns(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if tp := throughputOf(runs, s.now()); tp.Pass.MBPerHour > 0 {
		report.ThroughputPass, report.MBPerHour, report.ItemsPerHour = tp.PassName, tp.Pass.MBPerHour, tp.Pass.MessagesPerHour
		report.EstimateHours = float64(report.Bytes) / 1e6 / tp.Pass.MBPerHour
	}
	if s.PreflightDone != nil {
		checklist := make([]store.ChecklistItem, len(report.Findings))
		for i, f := range report.Findings {
			checklist[i] = f.ChecklistItem(p.EngagementID, p.ID)
		}
		if err := s.PreflightDone(context.WithoutCancel(ctx), p, checklist); err != nil {
			return nil, fmt.Errorf("write the findings to the remediation checklist: %w", err)
		}
	}
	return report, nil
}

// surveyItem surveys one item; a survey that fails is itself a finding.
func (s *Service) surveyItem(ctx context.Context, eng *engine.Engine, p store.Project, src, dst store.Endpoint, it store.Item, lim store.Limits) (preflight.MailboxReport, []preflight.Finding) {
	m := preflight.MailboxReport{ItemID: it.ID, Mailbox: it.Source, Destination: it.Dest}
	job, err := s.itemJob(p, src, dst, it)
	if err != nil {
		f := preflight.SurveyFailed(it, err)
		m.Findings = 1
		return m, []preflight.Finding{f}
	}
	sv, err := eng.SurveyMailbox(ctx, job, lim.MaxMessageSize)
	if err != nil {
		m.Findings = 1
		return m, []preflight.Finding{preflight.SurveyFailed(it, err)}
	}
	m.Folders, m.Messages, m.Bytes, m.SizeFrom, m.Quota = len(sv.Folders), sv.Messages, sv.Bytes, sv.SizeFrom, sv.Quota
	out := preflight.Check(it, sv, lim)
	m.Findings = len(out)
	return m, out
}

// PreflightView is a project's latest pre-flight and its report (nil
// until a run is done), with the earlier runs.
type PreflightView struct {
	Latest *store.PreflightRun  `json:"latest,omitempty"`
	Report *preflight.Report    `json:"report,omitempty"`
	Runs   []store.PreflightRun `json:"runs"`
}

// Preflight reads a project's pre-flight runs and the latest report.
func (s *Service) Preflight(ctx context.Context, projectID int64) (*PreflightView, error) {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := authorize(ctx, auth.ActionReadProject, p.CustomerID); err != nil {
		return nil, err
	}
	runs, err := s.Store.PreflightRuns(ctx, projectID, 20)
	if err != nil {
		return nil, err
	}
	v := &PreflightView{Runs: runs}
	if len(runs) == 0 {
		v.Runs = []store.PreflightRun{}
		return v, nil
	}
	v.Latest = &runs[0]
	// The latest report is that of the newest run that finished.
	for _, r := range runs {
		if r.State == store.PreflightDone {
			v.Report = &preflight.Report{}
			if err := json.Unmarshal([]byte(r.Report), v.Report); err != nil {
				return nil, fmt.Errorf("read the report of pre-flight run %d: %w", r.ID, err)
			}
			break
		}
	}
	return v, nil
}
