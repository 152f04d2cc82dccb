package engine_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testimap"
)

// BenchmarkSmallMailboxOverSlowLink copies small mailboxes (20 messages of
// 1 to 16 KiB in INBOX and 3 folders, as in bench ManySmallMailboxes) one
// at a time, Dovecot to Dovecot, with what Ferry sends to either server
// arriving 20 ms late (writes are not held up: pipelined commands arrive
// together): a far link, where a small mailbox's time is its round trips.
// It reports the median mailbox's time and its parts, and the planning
// time of a later pass over the same mailbox (nothing new to copy). It
// uses only the engine's public API, so the same file measures an older
// commit too.
//
//	go test -run '^$' -bench SmallMailboxOverSlowLink -benchtime 1x ./internal/engine/
func BenchmarkSmallMailboxOverSlowLink(b *testing.B) {
	const mailboxes, delay = 5, 20 * time.Millisecond
	var users []testimap.User
	for i := range mailboxes {
		users = append(users, testimap.User{Name: fmt.Sprintf("small%d", i), Password: pass})
	}
	src := testimap.StartDovecot(b, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users})
	for i, u := range users {
		c := corpus.Generate(corpus.Spec{Seed: int64(1000 + i), Messages: 20, Folders: 3, MinSize: 1 << 10, MaxSize: 16 << 10})
		cl := testimap.Dial(b, src.Addr, u.Name, pass)
		if err := corpus.Load(context.Background(), cl, c); err != nil {
			b.Fatal(err)
		}
		cl.Logout().Wait()
	}
	slow := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return testimap.Latency(c, delay), nil
	}
	var total, connect, plan, copying, replan []time.Duration
	for i := 0; i < b.N; i++ {
		dst := testimap.StartDovecot(b, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users})
		st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "state.db"))
		if err != nil {
			b.Fatal(err)
		}
		for _, u := range users {
			job := engine.Job{Source: endpoint(src.Addr), Dest: endpoint(dst.Addr)}
			job.Source.User, job.Dest.User = u.Name, u.Name
			res := engine.New(st, engine.Options{Conn: imapconn.Options{DialContext: slow}}).Migrate(context.Background(), job, nil)
			if res.Err != nil || res.Run.Copied != 20 {
				b.Fatalf("%s: copied %d: %v", u.Name, res.Run.Copied, res.Err)
			}
			total, connect = append(total, res.Timing.Total), append(connect, res.Timing.Connect)
			plan, copying = append(plan, res.Timing.Plan), append(copying, res.Timing.Copy)
			// A later pass: the folders exist, nothing new to copy.
			res = engine.New(st, engine.Options{Conn: imapconn.Options{DialContext: slow}}).Migrate(context.Background(), job, nil)
			if res.Err != nil || res.Run.Copied != 0 {
				b.Fatalf("%s, later pass: copied %d: %v", u.Name, res.Run.Copied, res.Err)
			}
			replan = append(replan, res.Timing.Plan)
		}
		st.Close()
		dst.Stop()
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds()) / 1000
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median(total), "ms/mailbox")
	b.ReportMetric(median(connect), "connect_ms")
	b.ReportMetric(median(plan), "plan_ms")
	b.ReportMetric(median(copying), "copy_ms")
	b.ReportMetric(median(replan), "later_pass_plan_ms")
}
