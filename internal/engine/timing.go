package engine

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// Timing says where a mailbox's run spent its time, so that the next fixed
// cost of a small mailbox is visible (bench ManySmallMailboxes prints it).
// Connect, Plan and Copy follow each other; State is the time spent in the
// state store, counted inside them (and in the start and end of the run).
type Timing struct {
	Connect time.Duration // the first connection pair: dial, greeting, login
	Plan    time.Duration // listing, mapping and creating folders
	Copy    time.Duration // the folders, from the first SELECT to the last answer
	State   time.Duration // all calls to the state store, summed
	Total   time.Duration
}

// timedStore counts the time a run spends in the state store.
type timedStore struct {
	store.EngineState
	spent *atomic.Int64 // nanoseconds
}

func (t timedStore) since(start time.Time) { t.spent.Add(int64(time.Since(start))) }

func (t timedStore) Folder(ctx context.Context, mailbox int64, source string) (store.FolderState, error) {
	defer t.since(time.Now())
	return t.EngineState.Folder(ctx, mailbox, source)
}

func (t timedStore) SaveFolder(ctx context.Context, mailbox int64, f store.FolderState) error {
	defer t.since(time.Now())
	return t.EngineState.SaveFolder(ctx, mailbox, f)
}

func (t timedStore) CopiesRange(ctx context.Context, mailbox int64, source string, from, to uint32, fn func(store.Copy) error) error {
	defer t.since(time.Now())
	return t.EngineState.CopiesRange(ctx, mailbox, source, from, to, fn)
}

func (t timedStore) RecordCopies(ctx context.Context, mailbox int64, source string, copies []store.Copy) error {
	defer t.since(time.Now())
	return t.EngineState.RecordCopies(ctx, mailbox, source, copies)
}

func (t timedStore) FolderMap(ctx context.Context, mailbox int64) ([]store.FolderMapping, error) {
	defer t.since(time.Now())
	return t.EngineState.FolderMap(ctx, mailbox)
}

func (t timedStore) SaveFolderMap(ctx context.Context, mailbox int64, mappings []store.FolderMapping) error {
	defer t.since(time.Now())
	return t.EngineState.SaveFolderMap(ctx, mailbox, mappings)
}

func (t timedStore) Failures(ctx context.Context, mailbox int64) ([]store.Failure, error) {
	defer t.since(time.Now())
	return t.EngineState.Failures(ctx, mailbox)
}

func (t timedStore) StartRun(ctx context.Context, mailbox int64, run *store.Run) error {
	defer t.since(time.Now())
	return t.EngineState.StartRun(ctx, mailbox, run)
}

func (t timedStore) FinishRun(ctx context.Context, mailbox int64, run *store.Run) error {
	defer t.since(time.Now())
	return t.EngineState.FinishRun(ctx, mailbox, run)
}

func (t timedStore) ClearMailboxFailures(ctx context.Context, mailbox int64) error {
	defer t.since(time.Now())
	return t.EngineState.ClearMailboxFailures(ctx, mailbox)
}

func (t timedStore) RecordFailures(ctx context.Context, mailbox int64, failures []store.Failure) error {
	defer t.since(time.Now())
	return t.EngineState.RecordFailures(ctx, mailbox, failures)
}

func (t timedStore) Mailbox(ctx context.Context, key store.MailboxKey) (int64, error) {
	defer t.since(time.Now())
	return t.EngineState.Mailbox(ctx, key)
}

func (t timedStore) LockMailbox(ctx context.Context, mailbox int64) (func(), error) {
	defer t.since(time.Now())
	return t.EngineState.LockMailbox(ctx, mailbox)
}
