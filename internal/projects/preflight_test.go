package projects_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/preflight"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// waitPreflight waits for the project's run to be done or failed.
func waitPreflight(t *testing.T, b *bundle, runID int64) *projects.PreflightView {
	t.Helper()
	ctx, cancel := context.WithTimeout(operator, time.Minute)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		v, err := b.svc.Preflight(ctx, b.project.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Latest != nil && v.Latest.ID == runID && (v.Latest.State == store.PreflightDone || v.Latest.State == store.PreflightFailed) {
			return v
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pre-flight %d did not finish: %+v", runID, v.Latest)
		case <-tick.C:
		}
	}
}

// TestPreflightJobSurveysEveryItem: on the in-process servers, with each
// item's own passwords, the job surveys every mailbox, reports a
// destination mailbox that does not exist, and hands the findings to
// PreflightDone as checklist items of the project; a closed project is
// refused.
func TestPreflightJobSurveysEveryItem(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	var mu sync.Mutex
	var got [][]store.ChecklistItem
	b.svc.PreflightDone = func(ctx context.Context, p store.Project, found []store.ChecklistItem) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, found)
		return nil
	}
	// A mailbox neither server has.
	if _, err := b.svc.AddItem(operator, b.project.ID, projects.ItemInput{Source: "ghost@fabrikam.com", Dest: "ghost@fabrikam.com", SourcePassword: "x", DestPassword: "x"}); err != nil {
		t.Fatal(err)
	}
	run, err := b.svc.StartPreflight(operator, b.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	v := waitPreflight(t, b, run.ID)
	if v.Latest.State != store.PreflightDone || v.Report == nil || len(v.Report.Mailboxes) != 3 {
		t.Fatalf("run %+v report %+v", v.Latest, v.Report)
	}
	var checks []string
	for _, f := range v.Report.Findings {
		if f.Mailbox != "ghost@fabrikam.com" {
			t.Errorf("finding for a mailbox without problems: %+v", f)
		}
		checks = append(checks, f.Check)
	}
	slices.Sort(checks)
	if !slices.Equal(checks, []string{preflight.CheckDestSignIn, preflight.CheckSourceSignIn}) {
		t.Fatalf("checks %q", checks)
	}
	for _, m := range v.Report.Mailboxes {
		if m.Mailbox != "ghost@fabrikam.com" && (m.Messages != 20 || m.Bytes == 0 || m.Folders == 0) {
			t.Errorf("mailbox %+v: want its 20 messages counted", m)
		}
	}
	mu.Lock()
	if len(got) != 1 || len(got[0]) != 2 || got[0][0].Source != preflight.Source || got[0][0].ProjectID != b.project.ID || got[0][0].Key == "" {
		t.Fatalf("PreflightDone got %+v", got)
	}
	mu.Unlock()

	// A closed project takes no pre-flight.
	if _, err := b.svc.CloseProject(operator, b.project.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.StartPreflight(operator, b.project.ID); !errors.Is(err, fault.ErrRefused) {
		t.Fatalf("closed project: %v", err)
	}
}

// TestPreflightRunsOnce: a copy of the job (River rescues a job that runs
// long, its worker alive) waits while the attempt that runs it renews its
// heartbeat, and takes over once it stopped.
func TestPreflightRunsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	now := time.Now()
	run := store.PreflightRun{ProjectID: b.project.ID, State: store.PreflightRunning, Queued: now, Started: now, Heartbeat: now, JobID: 1}
	if err := b.st.AddPreflightRun(operator, &run); err != nil {
		t.Fatal(err)
	}
	args := jobs.PreflightArgs{ProjectID: b.project.ID, RunID: run.ID}
	var wait *jobs.WaitError
	if err := b.svc.RunPreflight(operator, 2, args); !errors.As(err, &wait) || !wait.Until.After(now) {
		t.Fatalf("a copy of a running pre-flight: %v", err)
	}
	if got, _ := b.st.PreflightRun(operator, run.ID); got.JobID != 1 || got.State != store.PreflightRunning {
		t.Fatalf("the copy changed the run: %+v", got)
	}
	// The first attempt's worker died: its heartbeat is old.
	run.Heartbeat = now.Add(-time.Hour)
	if err := b.st.UpdatePreflightRun(operator, run); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.RunPreflight(operator, 2, args); err != nil {
		t.Fatal(err)
	}
	got, _ := b.st.PreflightRun(operator, run.ID)
	if got.State != store.PreflightDone || got.JobID != 2 {
		t.Fatalf("taken over: %+v", got)
	}
	// Done: another copy ends at once.
	if err := b.svc.RunPreflight(operator, 3, args); err != nil {
		t.Fatal(err)
	}
}
