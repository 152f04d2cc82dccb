package projects_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// passStartHooks stands between the service and the store around the
// write that marks items Queued when a pass starts: a worker that picks
// the job up before that write, or a crash in the middle of it.
type passStartHooks struct {
	store.Store
	// finished is closed when a job wrote its item's final status.
	finished chan struct{}
	// beforeQueued runs before the rows of a pass start are written.
	beforeQueued func()
	// crash fails the pass start after its jobs went in, before it ends.
	crash error
}

func isPassStart(it store.Item) bool {
	return it.Status == store.StatusQueued && it.JobID != 0 && it.DoneJobID == 0
}

func (h *passStartHooks) UpdateItem(ctx context.Context, it store.Item) error {
	if isPassStart(it) {
		if h.beforeQueued != nil {
			h.beforeQueued()
		}
		if h.crash != nil {
			return h.crash
		}
	}
	err := h.Store.UpdateItem(ctx, it)
	if it.DoneJobID != 0 && h.finished != nil {
		close(h.finished)
		h.finished = nil
	}
	return err
}

func (h *passStartHooks) QueuePass(ctx context.Context, ids []int64, pass string, enqueue store.EnqueueFunc) ([]int64, error) {
	if h.beforeQueued != nil {
		h.beforeQueued()
	}
	if h.crash != nil {
		return h.Store.QueuePass(ctx, ids, pass, func(ctx context.Context, tx any) ([]int64, error) {
			if _, err := enqueue(ctx, tx); err != nil {
				return nil, err
			}
			return nil, h.crash
		})
	}
	return h.Store.QueuePass(ctx, ids, pass, enqueue)
}

// TestFastWorkerFindsItsItemQueued: a worker that picks a job up the
// moment it is queued must find its item marked Queued already, and its
// final status must not be overwritten by the start that queued it. The
// hook gives the job up to a second to run to its end before the start
// writes the item rows: with the jobs and the rows in one transaction,
// the job cannot run before then.
func TestFastWorkerFindsItsItemQueued(t *testing.T) {
	t.Parallel()
	hooks := &passStartHooks{finished: make(chan struct{})}
	finished := hooks.finished
	hooks.beforeQueued = func() {
		select {
		case <-finished:
		case <-time.After(time.Second):
		}
	}
	b := setupWith(t, 1, setupOptions{wrapStore: func(s store.Store) store.Store { hooks.Store = s; return hooks }})
	ctx := operator
	res, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "verify", Selection: projects.Selection{All: true}})
	if err != nil || res.Queued != 1 {
		t.Fatalf("start: %+v %v", res, err)
	}
	items := b.waitStatus(t, store.StatusCompletedVerify, 15*time.Second)
	if items[0].LastPass != "verify" {
		t.Fatalf("item %+v", items[0])
	}
}

// TestCrashDuringPassStartQueuesNothing: when the start fails after the
// jobs went in but before it ended (the process died, the database
// failed), neither the jobs nor the item rows remain: the items are as
// before, and starting again queues them (rather than finding a job
// nobody sees in the item list).
func TestCrashDuringPassStartQueuesNothing(t *testing.T) {
	t.Parallel()
	crash := errors.New("the process died here")
	hooks := &passStartHooks{crash: crash}
	b := setupWith(t, 2, setupOptions{wrapStore: func(s store.Store) store.Store { hooks.Store = s; return hooks }})
	ctx := operator
	later := time.Now().Add(time.Hour) // the jobs stay queued: only the queue's view matters here
	before, _, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{})
	if _, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", At: later, Selection: projects.Selection{All: true}}); !errors.Is(err, crash) {
		t.Fatalf("start: %v, want the crash", err)
	}
	after, _, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{})
	for i := range after {
		if after[i].Status != before[i].Status || after[i].JobID != before[i].JobID {
			t.Fatalf("item %d after a failed start: %+v (before: %+v)", after[i].ID, after[i], before[i])
		}
	}
	hooks.crash = nil
	res, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", At: later, Selection: projects.Selection{All: true}})
	if err != nil || res.Queued != 2 || res.AlreadyQueued != 0 {
		t.Fatalf("start again: %+v %v; want both items queued (no job left by the failed start)", res, err)
	}
	items, _, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{})
	for _, it := range items {
		if it.Status != store.StatusQueued || it.JobID == 0 {
			t.Fatalf("item %+v", it)
		}
	}
}
