package app

import (
	"context"
	"fmt"
	"os"

	"github.com/ferryhq/ferry/internal/jobs"
)

// ProcessName is how this process is named in leases and metrics: name,
// or host:pid when it is "".
func ProcessName(name string) string {
	if name != "" {
		return name
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// Ready says whether this process can do its work: its database answers
// (the store's and, on PostgreSQL, the queue's connections) and its job
// queue runs. It returns "" when ready, else a short reason fit for anyone
// to read, and the error behind it for the log (metrics.ReadyCheck).
func (a *App) Ready(ctx context.Context) (reason string, err error) {
	if err := a.Store.DB().PingContext(ctx); err != nil {
		return "database unreachable", err
	}
	if a.pool != nil {
		// A connection that an outage broke fails its ping and is dropped:
		// the pool is reachable when a ping succeeds before every
		// connection it may hold has been tried (not only those it holds
		// now: the queue's goroutines put broken ones back meanwhile).
		err := a.pool.Ping(ctx)
		for range max(a.pool.Stat().TotalConns(), a.pool.Config().MaxConns) {
			if err == nil || ctx.Err() != nil {
				break
			}
			err = a.pool.Ping(ctx)
		}
		if err != nil {
			return "database unreachable (job queue)", err
		}
	}
	if h, ok := a.Queue.(jobs.Health); ok {
		if err := h.Working(); err != nil {
			return "job queue not running", err
		}
	}
	return "", nil
}
