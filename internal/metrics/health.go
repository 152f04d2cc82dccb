package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// ReadyCheck says whether the process can do its work: "" when it can,
// else a short reason for anyone who asks (no host, user or database
// name in it) and the error behind it, which only the log gets.
type ReadyCheck func(ctx context.Context) (reason string, err error)

// Healthz answers 200 while the process serves at all.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
}

// readyTimeout bounds one readiness check: a database that does not answer
// within it is as good as gone for the probe.
const readyTimeout = 3 * time.Second

// Readyz answers 200 when check passes and 503 with its short reason
// otherwise. It logs once when the process stops being ready (with the
// error) and once when it is ready again, not at every probe.
func Readyz(check ReadyCheck, log *slog.Logger) http.Handler {
	var mu sync.Mutex
	lastReason := ""
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		reason, err := check(ctx)
		mu.Lock()
		switch {
		case reason != "" && reason != lastReason:
			log.Warn("not ready", "reason", reason, "error", err)
		case reason == "" && lastReason != "":
			log.Info("ready again")
		}
		lastReason = reason
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if reason != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(reason + "\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
}
