package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/store"
)

// TestRunningPassWritesItsProgress: while a pass copies, its run in the
// store shows what it has copied so far and what it plans to copy, so
// that another process (the portal) can show its progress; at the end
// the run holds the final counts.
func TestRunningPassWritesItsProgress(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(7))
	// A slow destination: the pass lasts long enough to be watched.
	b.dst.Faults.Set(func(int, string, int64) error {
		time.Sleep(5 * time.Millisecond)
		return nil
	}, nil)
	done := make(chan *engine.Result, 1)
	go func() {
		done <- b.run(t, func(o *engine.Options) { o.ProgressEvery = 20 * time.Millisecond; o.Connections = 1 })
	}()
	ctx := context.Background()
	mb, err := b.st.Mailbox(ctx, b.job.Key())
	if err != nil {
		t.Fatal(err)
	}
	var seen store.Run
	for seen.ID == 0 {
		select {
		case r := <-done:
			t.Fatalf("the pass ended (%+v) before a running run showed any progress", r.Run)
		case <-time.After(10 * time.Millisecond):
		}
		runs, err := b.st.Runs(ctx, mb)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.Status == "running" && r.Copied > 0 && r.CopiedBytes > 0 && r.ToCopy >= r.Copied && r.ToCopyBytes >= r.CopiedBytes {
				seen = r
			}
		}
	}
	r := <-done
	requireOK(t, r)
	if seen.Copied >= r.Run.Copied {
		t.Errorf("progress %d of %d messages seen, then %d copied in all", seen.Copied, seen.ToCopy, r.Run.Copied)
	}
	runs, _ := b.st.Runs(ctx, mb)
	if last := runs[len(runs)-1]; last.Status != "completed" || last.Copied != r.Run.Copied || last.ToCopy != r.Run.Copied || last.CopiedBytes != last.ToCopyBytes {
		t.Fatalf("finished run %+v", last)
	}
	b.requireExact(t)
}
