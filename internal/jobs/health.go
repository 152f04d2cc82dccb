package jobs

import (
	"context"
	"errors"
	"log/slog"

	"github.com/riverqueue/river/riverdriver"
)

// Health is what the queue tells operators (internal/metrics, /readyz).
type Health interface {
	// JobCounts counts the jobs by state (available, running, scheduled,
	// retryable, completed...), of every process sharing the database.
	JobCounts(ctx context.Context) (map[string]int, error)
	// Working says why this process's queue works no jobs (not started,
	// stopped), or nil when it does.
	Working() error
}

var (
	_ Health = (*queue[any])(nil)

	errQueueNotStarted = errors.New("the job queue is not started")
	errQueueStopped    = errors.New("the job queue has stopped")
)

func (q *queue[TTx]) JobCounts(ctx context.Context) (map[string]int, error) {
	counts, err := q.driver.GetExecutor().JobCountByAllStates(ctx, &riverdriver.JobCountByAllStatesParams{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(counts))
	for state, n := range counts {
		out[string(state)] = n
	}
	return out, nil
}

// Working reads the client's stopped channel, which Start sets: /readyz
// is served only once Start has returned (runWorkers starts the queue
// before the listener), so the read does not race with it.
func (q *queue[TTx]) Working() error {
	stopped := q.client.Stopped()
	if stopped == nil {
		return errQueueNotStarted
	}
	select {
	case <-stopped:
		return errQueueStopped
	default:
		return nil
	}
}

// warnings passes on the queue's warnings and errors only: its
// informational records are about River's own machinery.
type warnings struct{ slog.Handler }

func (h warnings) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn && h.Handler.Enabled(ctx, level)
}

func (h warnings) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnings{h.Handler.WithAttrs(attrs)}
}

func (h warnings) WithGroup(name string) slog.Handler { return warnings{h.Handler.WithGroup(name)} }
