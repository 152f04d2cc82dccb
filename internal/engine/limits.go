package engine

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/imapconn"
)

// providerDailyLimit is how long a provider's spent daily limit keeps a
// mailbox shut when it does not say: Gmail documents "up to 24 hours".
const providerDailyLimit = 24 * time.Hour

// limitReachedError stops a pass when the provider says its daily
// transfer limit is spent: waiting inside the run would only hold a
// worker for hours. The run ends paused at the limit; the rest goes when
// the limit allows (Result.LimitUntil).
type limitReachedError struct {
	err   *imapconn.Error
	until time.Time
}

func (e *limitReachedError) Error() string {
	return fmt.Sprintf("%s is reached; the rest goes after %s (%s)", e.err.Limit, e.until.UTC().Format("2006-01-02 15:04 UTC"), imapconn.ServerWords(e.err.Err))
}

func (e *limitReachedError) Unwrap() error { return e.err }

// waits remembers the provider limits a run waited for, to say so in its
// notes: which limit, how often, and until when the last wait lasted.
type waits struct {
	mu   sync.Mutex
	seen map[string]*waitNote
}

type waitNote struct {
	times int
	until time.Time
}

func (w *waits) add(limit string, until time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[string]*waitNote{}
	}
	n := w.seen[limit]
	if n == nil {
		n = &waitNote{}
		w.seen[limit] = n
	}
	n.times++
	n.until = until
}

func (w *waits) notes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for limit, n := range w.seen {
		out = append(out, fmt.Sprintf("waited %d time(s) for %s, the last until %s", n.times, limit, n.until.UTC().Format("15:04:05 UTC")))
	}
	sort.Strings(out)
	return out
}

// throttleWait is how long to wait after a temporary error: what the
// server asked, else the provider's documented back-off when it
// throttles without saying (Options.ThrottleBackoff), else 0 (the
// caller's exponential back-off).
func (e *Engine) throttleWait(ie *imapconn.Error) time.Duration {
	if ie.RetryAfter > 0 {
		return ie.RetryAfter
	}
	if ie.Throttled {
		return e.Opts.ThrottleBackoff
	}
	return 0
}

// waitPhase says what the mailbox waits for and until when.
func waitPhase(ie *imapconn.Error, wait time.Duration, now time.Time) string {
	if ie.Limit != "" {
		return fmt.Sprintf("waiting for %s until %s: %s", ie.Limit, now.Add(wait).UTC().Format("15:04:05 UTC"), imapconn.ServerWords(ie.Err))
	}
	return fmt.Sprintf("retrying in %s: %s", wait.Round(time.Millisecond), imapconn.ServerWords(ie.Err))
}

func isLimitReached(err error) (*limitReachedError, bool) {
	var l *limitReachedError
	return l, errors.As(err, &l)
}
