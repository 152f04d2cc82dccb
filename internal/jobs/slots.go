package jobs

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// slotChannel is the PostgreSQL channel on which a freed slot is announced
// (payload: the project's id) to the jobs of every worker waiting for one.
const slotChannel = "ferry_slot_freed"

// slotBell wakes the jobs of this process that wait for one of a project's
// slots, when one frees here or (PostgreSQL) in any other worker. Waiting
// for it costs the database nothing, unlike asking for a slot again and
// again: a job without a slot must not slow down those that have one.
type slotBell struct {
	// unreachable is set while the database cannot be reached: the queue's
	// own errors, several a second, are then left out of the log (quietLog).
	unreachable atomic.Bool
	mu          sync.Mutex
	waiting     map[int64][]chan struct{} // by project, first come first woken
}

// wait queues a waiter for the project's next freed slot. woken is closed
// when it is its turn; done takes it out of the queue. A waiter that got a
// slot says handOn: a wake-up it received meanwhile may have been for a
// second slot, and goes to the next waiter. One that found no slot keeps
// it (the slot went elsewhere), or wake-ups would circle among waiters.
func (b *slotBell) wait(projectID int64) (woken <-chan struct{}, done func(handOn bool)) {
	ch := make(chan struct{})
	b.mu.Lock()
	if b.waiting == nil {
		b.waiting = map[int64][]chan struct{}{}
	}
	b.waiting[projectID] = append(b.waiting[projectID], ch)
	b.mu.Unlock()
	return ch, func(handOn bool) {
		b.mu.Lock()
		defer b.mu.Unlock()
		queue := b.waiting[projectID]
		if i := slices.Index(queue, ch); i >= 0 {
			b.waiting[projectID] = slices.Delete(queue, i, i+1)
			return
		}
		if handOn { // it was woken
			b.wakeLocked(projectID)
		}
	}
}

// ring wakes the first of this process's jobs waiting for the project's
// slots: one slot freed, one job asks for it (the others stay quiet).
func (b *slotBell) ring(projectID int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.wakeLocked(projectID)
}

func (b *slotBell) wakeLocked(projectID int64) {
	queue := b.waiting[projectID]
	if len(queue) == 0 {
		return
	}
	close(queue[0])
	b.waiting[projectID] = queue[1:]
}

// ringAll wakes every waiting job (the notifications may have been missed).
func (b *slotBell) ringAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, queue := range b.waiting {
		for _, ch := range queue {
			close(ch)
		}
		delete(b.waiting, id)
	}
}

// listen relays the slots freed in every worker to this process's waiting
// jobs until ctx ends. When the database cannot be reached it says so once,
// and once more when it is back.
func (b *slotBell) listen(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) {
	var lostSince time.Time
	for ctx.Err() == nil {
		err := b.listenOnce(ctx, pool, func() {
			if !lostSince.IsZero() {
				b.unreachable.Store(false)
				log.Info("ferry: the database is reachable again; migrations go on", "unreachable_for", time.Since(lostSince).Round(time.Second).String())
				lostSince = time.Time{}
			}
			b.ringAll() // slots freed while nobody listened
		})
		if ctx.Err() != nil {
			return
		}
		if lostSince.IsZero() {
			lostSince = time.Now()
			b.unreachable.Store(true)
			log.Error("ferry: cannot reach the database; running migrations stop when their leases can no longer be renewed, and everything resumes when it is back", "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (b *slotBell) listenOnce(ctx context.Context, pool *pgxpool.Pool, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+slotChannel); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if id, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			b.ring(id)
		}
	}
}

// quietLog passes the queue's log records on, except while the database is
// known to be unreachable: Ferry says so once when it goes and once when it
// is back, instead of River's errors several times a second.
type quietLog struct {
	slog.Handler
	unreachable *atomic.Bool
}

func (h quietLog) Enabled(ctx context.Context, level slog.Level) bool {
	return !h.unreachable.Load() && h.Handler.Enabled(ctx, level)
}

func (h quietLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietLog{h.Handler.WithAttrs(attrs), h.unreachable}
}

func (h quietLog) WithGroup(name string) slog.Handler {
	return quietLog{h.Handler.WithGroup(name), h.unreachable}
}
