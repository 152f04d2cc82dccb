package app_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/metrics"
	"github.com/ferryhq/ferry/internal/testpg"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

// lockedBuffer is a log destination the handler and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestReadyzFollowsTheDatabaseAndTheQueue: /readyz is 503 until the queue
// runs, 200 then, 503 while PostgreSQL takes no connection (and lost those
// it had), 200 again once it does. The reason shown names no host, user
// or database; the log gets the error, once per change.
func TestReadyzFollowsTheDatabaseAndTheQueue(t *testing.T) {
	t.Parallel()
	db := testpg.URL(t)
	a, err := app.Open(context.Background(), app.Config{Database: db, KeyFile: filepath.Join(t.TempDir(), "secret.key")})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var logs lockedBuffer
	readyz := metrics.Readyz(a.Ready, slog.New(slog.NewTextHandler(&logs, nil)))

	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	admin, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	allowConnections := func(allow bool) {
		if _, err := admin.Exec(context.Background(), fmt.Sprintf(`ALTER DATABASE %q ALLOW_CONNECTIONS %v`, name, allow)); err != nil {
			t.Fatal(err)
		}
		if !allow {
			if _, err := admin.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
				t.Fatal(err)
			}
		}
	}
	probe := func(step string, want int, reason string) {
		t.Helper()
		rec := httptest.NewRecorder()
		readyz.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		body := strings.TrimSpace(rec.Body.String())
		if rec.Code != want || !strings.Contains(body, reason) {
			t.Fatalf("%s: /readyz answered %d %q, want %d %q; log:\n%s", step, rec.Code, body, want, reason, logs.String())
		}
		for _, secret := range []string{name, cfg.User, cfg.Host} {
			if want != http.StatusOK && strings.Contains(body, secret) {
				t.Fatalf("%s: /readyz tells %q to anyone: %q", step, secret, body)
			}
		}
	}

	probe("before the queue starts", http.StatusServiceUnavailable, "job queue not running")
	if err := a.Queue.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Queue.Stop(ctx)
	}()
	probe("queue running", http.StatusOK, "ok")
	allowConnections(false)
	probe("database gone", http.StatusServiceUnavailable, "database unreachable")
	probe("database still gone", http.StatusServiceUnavailable, "database unreachable")
	allowConnections(true)
	probe("database back", http.StatusOK, "ok")

	out := logs.String()
	if strings.Count(out, "not ready") != 2 || strings.Count(out, "ready again") != 2 || !strings.Contains(out, "error=") {
		t.Fatalf("the log should say each change once, with its error:\n%s", out)
	}
}
