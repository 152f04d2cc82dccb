package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testimap"
)

var courierUsers atomic.Int64

// courierPeer is a new user on the test binary's Courier-IMAP 5.0, which
// sends no [UIDNEXT] on SELECT and stores the time of the APPEND for an
// internal date at the epoch.
func courierPeer(t *testing.T) peer {
	name := fmt.Sprintf("matching%d", courierUsers.Add(1))
	srv := testimap.StartCourier(t, testimap.User{Name: name, Password: pass})
	return peer{addr: srv.Addr, user: name, password: pass,
		ep: imapconn.Endpoint{Host: srv.Host, Port: srv.Port, Security: imapconn.SecurityStartTLS, User: name, Password: pass, AllowPlaintext: true}}
}

// requireComplete checks what `ferry verify` says of a pair: every source
// message has its own copy, none doubled or extra, and altered the ones the
// destination changes.
func requireComplete(t *testing.T, job engine.Job, opts engine.Options, altered int) {
	t.Helper()
	cmp, err := engine.New(nil, opts).Compare(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Complete() || cmp.Doubled != 0 || cmp.Extra != 0 || cmp.Altered != altered {
		t.Fatalf("verify: missing %d, doubled %d, extra %d, altered %d (want %d): %+v", cmp.Missing, cmp.Doubled, cmp.Extra, cmp.Altered, altered, cmp.Folders)
	}
}

// TestRealServersMatchWhatSurvives migrates to and from Courier-IMAP (no
// UIDNEXT on SELECT, epoch dates replaced) and to Cyrus (8-bit header
// bytes munged, epoch dates replaced): first copy, re-run with the state,
// re-run without it, a run cancelled mid-copy then resumed; after each,
// every folder holds what the source holds, once, and verify agrees.
func TestRealServersMatchWhatSurvives(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		src, dst func(*testing.T) peer
		// altered: the destination changes the epoch-dated message, and
		// (Cyrus) those with 8-bit header bytes.
		altered func(*testing.T, peer) int
	}{
		{"dovecot to courier", dovecotPeer, courierPeer, func(*testing.T, peer) int { return 1 }},
		{"courier to dovecot", courierPeer, dovecotPeer, func(*testing.T, peer) int { return 0 }},
		{"dovecot to cyrus", dovecotPeer, func(t *testing.T) peer { return cyrusPeer(t, '.') }, alterable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := engine.Options{Conn: imapconn.Options{Timeout: 10 * time.Second}, MaxBackoff: 50 * time.Millisecond}
			migrate := func(t *testing.T, st *sqlstore.Store, job engine.Job, ctx context.Context, prog *engine.Progress) *engine.Result {
				ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
				defer cancel()
				return engine.New(st, opts).Migrate(ctx, job, prog)
			}
			openState := func(t *testing.T) *sqlstore.Store {
				st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			t.Run("first copy, re-run with state, re-run without", func(t *testing.T) {
				t.Parallel()
				src, dst := tc.src(t), tc.dst(t)
				total := loadMatrixMail(t, src)
				altered := tc.altered(t, src)
				want := src.snapshot(t)
				job := engine.Job{Source: src.ep, Dest: dst.ep}
				st := openState(t)
				r := migrate(t, st, job, context.Background(), nil)
				requireOK(t, r)
				if r.Run.Copied != int64(total) {
					t.Fatalf("first copy copied %d, want %d", r.Run.Copied, total)
				}
				compareCopy(t, want, dst.snapshot(t), altered)
				for _, again := range []struct {
					name string
					st   *sqlstore.Store
				}{{"with the state", st}, {"without the state", openState(t)}} {
					r = migrate(t, again.st, job, context.Background(), nil)
					requireOK(t, r)
					if r.Run.Copied != 0 {
						t.Fatalf("re-run %s copied %d, want 0", again.name, r.Run.Copied)
					}
					compareCopy(t, want, dst.snapshot(t), altered)
				}
				requireComplete(t, job, opts, altered)
			})
			t.Run("cancelled mid-copy, then resumed", func(t *testing.T) {
				t.Parallel()
				src, dst := tc.src(t), tc.dst(t)
				total := loadMatrixMail(t, src)
				altered := tc.altered(t, src)
				want := src.snapshot(t)
				job := engine.Job{Source: src.ep, Dest: dst.ep}
				st := openState(t)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				prog := &engine.Progress{}
				done := make(chan *engine.Result)
				go func() { done <- migrate(t, st, job, ctx, prog) }()
				var r *engine.Result
				for r == nil {
					select {
					case r = <-done:
					case <-time.After(time.Millisecond):
						if prog.Copied.Load() >= int64(total)/2 {
							cancel()
						}
					}
				}
				if r.Run.Copied >= int64(total) {
					t.Fatalf("the run was not cancelled mid-copy: copied %d of %d", r.Run.Copied, total)
				}
				requireOK(t, migrate(t, st, job, context.Background(), nil))
				compareCopy(t, want, dst.snapshot(t), altered)
				requireComplete(t, job, opts, altered)
			})
		})
	}
}
