package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/store"
)

// TestOneRunPerMailbox: while a pass copies a mailbox, a second one of the
// same mailbox in the same process (a queue that started the job twice)
// is refused, leaves the state alone, and the first ends exact.
func TestOneRunPerMailbox(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(7))
	copying, release := make(chan struct{}), make(chan struct{})
	b.src.Faults.Set(nil, func(n int) error {
		if n == 1 {
			close(copying)
			<-release // the first run holds here, mid-copy
		}
		return nil
	})
	first := make(chan *engine.Result, 1)
	go func() { first <- b.run(t, nil) }()
	select {
	case <-copying:
	case <-time.After(time.Minute):
		t.Fatal("the first run never started copying")
	}

	second := b.run(t, nil)
	close(release)
	if !errors.Is(second.Err, store.ErrMailboxBusy) || !strings.Contains(second.Err.Error(), "pid ") || second.Run.Status != "not started" {
		t.Fatalf("second run: status %q, err %v; want it refused, naming the other run", second.Run.Status, second.Err)
	}
	requireOK(t, <-first)
	b.requireExact(t)

	mb := mustMailbox(t, b)
	runs, _ := b.st.Runs(context.Background(), mb)
	failures, _ := b.st.Failures(context.Background(), mb)
	if len(runs) != 1 || len(failures) != 0 {
		t.Fatalf("the refused run left a trace: runs %+v, failures %+v", runs, failures)
	}
	// The mailbox is free again.
	requireOK(t, b.run(t, nil))
}
