package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/testimap"
)

// TestProviderThrottlingIsWaitedForAndSaid: a provider's throttling
// answer is waited out as it asks (or for the preset's back-off), the run
// says which limit it waited for, and nothing is doubled.
func TestProviderThrottlingIsWaitedForAndSaid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answer  error
		backoff time.Duration
		note    string
	}{
		{"microsoft suggests a back-off", testimap.MicrosoftThrottled(30), 0, "Microsoft's request rate limit"},
		{"gmail slows down: the preset's back-off", testimap.GmailThrottled, 40 * time.Millisecond, "Gmail's command rate limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, smallCorpus(3))
			b.dst.Faults.Set(func(n int, _ string, _ int64) error {
				if n == 5 {
					return tt.answer
				}
				return nil
			}, nil)
			started := time.Now()
			r := b.run(t, func(o *engine.Options) { o.ThrottleBackoff = tt.backoff; o.MaxBackoff = time.Millisecond })
			requireOK(t, r)
			if waited := time.Since(started); waited < 30*time.Millisecond {
				t.Errorf("the run took %s: it did not wait as the provider asked", waited)
			}
			if !strings.Contains(strings.Join(r.Notes, "\n"), "waited 1 time(s) for "+tt.note) {
				t.Errorf("notes %q do not say the run waited for %s", r.Notes, tt.note)
			}
			b.requireExact(t)
		})
	}
}

// TestGmailDailyLimitPausesThePass: once Gmail says the account's daily
// bandwidth is spent (downloading from it or uploading into it), the pass
// stops (no retries for hours), ends paused at the limit with the time the
// next may start and no failed message, and the next pass copies the rest
// without doubling anything.
func TestGmailDailyLimitPausesThePass(t *testing.T) {
	t.Parallel()
	for _, side := range []string{"source", "destination"} {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			b := setup(t, smallCorpus(4))
			if side == "source" {
				b.src.Faults.Set(nil, func(n int) error {
					if n >= 2 {
						return testimap.GmailBandwidthExceeded
					}
					return nil
				})
			} else {
				b.dst.Faults.Set(func(n int, _ string, _ int64) error {
					if n >= 7 {
						return testimap.GmailBandwidthExceeded
					}
					return nil
				}, nil)
			}
			now := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
			prog := &engine.Progress{}
			opts := b.opts
			opts.Now = func() time.Time { return now }
			r := engine.New(b.st, opts).Migrate(context.Background(), b.job, prog)
			if r.Err != nil || !r.BudgetReached || r.Run.Status != engine.StatusPausedAtLimit {
				t.Fatalf("err %v, budget reached %v, status %q; want the pass paused at the limit", r.Err, r.BudgetReached, r.Run.Status)
			}
			if want := now.Add(24 * time.Hour); !r.LimitUntil.Equal(want) {
				t.Errorf("limit until %s, want %s", r.LimitUntil, want)
			}
			if prog.Retries.Load() != 0 {
				t.Errorf("%d retries: a spent daily limit is not retried within the run", prog.Retries.Load())
			}
			if !strings.Contains(strings.Join(r.Notes, "\n"), "Gmail's daily bandwidth limit") || len(r.Failures) != 0 || r.Run.Failed != 0 {
				t.Errorf("notes %q, failures %v; want a note naming Gmail's daily limit and no failure", r.Notes, r.Failures)
			}
			b.src.Faults.Set(nil, nil)
			b.dst.Faults.Set(nil, nil)
			requireOK(t, b.run(t, nil))
			b.requireExact(t)
		})
	}
}
