package jobs

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	outage  outage
	mu      sync.Mutex
	waiting map[int64][]chan struct{} // by project, first come first woken
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
// jobs until ctx ends. Its connection is also how the queue knows whether
// the database can be reached (see outage).
func (b *slotBell) listen(ctx context.Context, pool *pgxpool.Pool) {
	for ctx.Err() == nil {
		err := b.listenOnce(ctx, pool, func() {
			b.outage.end()
			b.ringAll() // slots freed while nobody listened
		})
		if ctx.Err() != nil {
			return
		}
		b.outage.begin(err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// outage says once that the database cannot be reached, and once that it
// is back, in place of the queue's own errors (several a second, and some
// more as its retries give up just after).
type outage struct {
	log *slog.Logger
	// probe reaches the database; during an outage it is tried every
	// second, and its first success ends the outage.
	probe func(context.Context) error
	mu    sync.Mutex
	since time.Time // zero while the database is reachable
	ended time.Time
}

// quietAfter: the queue's errors this long after the database is back
// are the late echoes of the outage (its retries giving up).
const quietAfter = 5 * time.Second

func (o *outage) begin(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.since.IsZero() {
		return
	}
	o.since = time.Now()
	go o.watch()
	o.log.Error("ferry: cannot reach the database; running migrations stop when their leases can no longer be renewed, and all resume when it is back", "error", err)
}

func (o *outage) end() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		return
	}
	o.log.Info("ferry: the database is reachable again; the migrations it interrupted are taken over within a lease TTL", "unreachable_for", time.Since(o.since).Round(time.Second).String())
	o.since, o.ended = time.Time{}, time.Now()
}

// watch ends the outage when the database answers again.
func (o *outage) watch() {
	for {
		time.Sleep(time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := o.probe(ctx)
		cancel()
		if err == nil {
			o.end()
			return
		}
	}
}

// echo reports whether an error now belongs to the outage just ended.
func (o *outage) echo() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.since.IsZero() && time.Since(o.ended) < quietAfter
}

// quiet reports whether the queue's log records are to be left out now.
func (o *outage) quiet() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.since.IsZero() || time.Since(o.ended) < quietAfter
}

// lostConnection reports whether err, from the queue, is the database
// being unreachable: a failed connect, a dropped connection, a server
// shutting down.
func lostConnection(err error) bool {
	var netErr net.Error
	return DatabaseUnreachable(err) || errors.As(err, &netErr) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "conn closed")
}

// DatabaseUnreachable reports whether err is PostgreSQL refusing or
// dropping the connection (not an error of a mail server): the work that
// failed with it was not at fault and is to be run again.
func DatabaseUnreachable(err error) bool {
	var connect *pgconn.ConnectError
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &connect), errors.Is(err, sql.ErrConnDone):
		return true
	case errors.As(err, &pgErr):
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") || pgErr.Code == "55000"
	}
	return false
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

// quietLog passes the queue's log records on, except during an outage of
// the database and just after it: Ferry says so once when it goes and once
// when it is back, instead of River's errors several times a second. A
// record whose error is a lost connection starts the outage (River may
// notice first).
type quietLog struct {
	slog.Handler
	outage *outage
}

func (h quietLog) Handle(ctx context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && lostConnection(err) && !h.outage.echo() {
			h.outage.begin(err)
			return false
		}
		return true
	})
	if h.outage.quiet() {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietLog{h.Handler.WithAttrs(attrs), h.outage}
}

func (h quietLog) WithGroup(name string) slog.Handler {
	return quietLog{h.Handler.WithGroup(name), h.outage}
}
