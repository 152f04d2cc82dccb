package cli

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ferryhq/ferry/internal/api"
	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/metrics"
)

// opsRoutes adds /healthz, /readyz and /metrics to a process's mux.
// /metrics is served through guard (nil: open). Health answers carry no
// data and are open to whoever can reach the address (load balancers,
// orchestrators).
func opsRoutes(mux *http.ServeMux, a *app.App, guard func(http.Handler) http.Handler) {
	m := a.Metrics.Handler()
	if guard != nil {
		m = guard(m)
	}
	mux.Handle("GET /metrics", m)
	mux.Handle("GET /healthz", metrics.Healthz())
	mux.Handle("GET /readyz", metrics.Readyz(a.Ready, slog.Default()))
}

// adminToken lets through requests with the API token of an
// administrator (a token made by `ferry token create`, or one of a person
// whose role is Administrator): on `ferry serve`'s listener, which faces
// the portal's users, the metrics are for operators only.
func adminToken(a *app.App) func(http.Handler) http.Handler {
	tokens := api.TokenAuthenticator{Store: a.Store}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := tokens.Authenticate(r)
			switch {
			case err != nil && !errors.Is(err, api.ErrBadCredentials):
				slog.Error("metrics: cannot check the API token", "error", err)
				http.Error(w, "cannot check the token now; try again", http.StatusServiceUnavailable)
			case err != nil || p == nil:
				w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
				http.Error(w, "the metrics need an administrator's API token: send Authorization: Bearer <token> (ferry token create --name prometheus)", http.StatusUnauthorized)
			case p.Role != auth.Administrator:
				http.Error(w, "the metrics are for administrators' tokens", http.StatusForbidden)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// serveOps serves /metrics, /healthz and /readyz on a worker's own
// address (--listen) until ctx ends. /metrics is open there: the address
// is the operator's choice (a private one), and the metrics name projects
// by number, never a customer or a mailbox.
func serveOps(ctx context.Context, ln net.Listener, a *app.App) error {
	mux := http.NewServeMux()
	opsRoutes(mux, a, nil)
	srv := &http.Server{Handler: a.Metrics.Instrument(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-ctx.Done()
	return nil
}
