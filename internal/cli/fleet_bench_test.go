package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/testimap"
)

// BenchmarkMigrateSmallFleet runs `ferry migrate --csv --parallel 10
// --json` in-process over a fleet of small mailboxes (20 messages of 1 to
// 16 KiB in INBOX and 3 folders, as bench's ManySmallMailboxes), Dovecot to
// Dovecot, each round into a fresh destination, and reports Ferry's own CPU
// (this process's user+system time, the servers not counted) per mailbox.
// FERRY_FLEET_MAILBOXES sets the fleet's size (default 40);
// FERRY_FLEET_CPUPROFILE writes a CPU profile of the migrations alone
// (not of the servers' set-up).
func BenchmarkMigrateSmallFleet(b *testing.B) {
	n := 40
	if v := os.Getenv("FERRY_FLEET_MAILBOXES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("FERRY_FLEET_MAILBOXES=%q: want a number of mailboxes", v)
		}
	}
	const admin, pass = "admin", "fleet-pass"
	var users []testimap.User
	var names []string
	for i := range n {
		u := fmt.Sprintf("user%03d@contoso.com", i)
		names = append(names, u)
		users = append(users, testimap.User{Name: u, Password: pass})
	}
	master := &testimap.User{Name: admin, Password: pass}
	src := testimap.StartDovecot(b, testimap.DovecotOptions{Users: users, MasterUser: master})
	for i, u := range names {
		c := testimap.Dial(b, src.Addr, u, pass)
		if err := corpus.Load(context.Background(), c, corpus.Generate(corpus.Spec{Seed: int64(1000 + i), Messages: 20, Folders: 3, MinSize: 1 << 10, MaxSize: 16 << 10})); err != nil {
			b.Fatal(err)
		}
		c.Logout().Wait()
	}
	dir := b.TempDir()
	pw := filepath.Join(dir, "pw")
	csvFile := filepath.Join(dir, "fleet.csv")
	var list strings.Builder
	list.WriteString("source,destination\n")
	for _, u := range names {
		list.WriteString(u + "," + u + "\n")
	}
	if err := os.WriteFile(pw, []byte(pass), 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(csvFile, []byte(list.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	var prof *os.File
	if p := os.Getenv("FERRY_FLEET_CPUPROFILE"); p != "" {
		var err error
		if prof, err = os.Create(p); err != nil {
			b.Fatal(err)
		}
		defer prof.Close()
	}
	var cpu, wall time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dst := testimap.StartDovecot(b, testimap.DovecotOptions{Users: users, MasterUser: master})
		state := filepath.Join(b.TempDir(), "state.db")
		if prof != nil && i == 0 {
			if err := pprof.StartCPUProfile(prof); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		before, start := cpuTime(b), time.Now()
		code, out, errOut := run("migrate", "--csv", csvFile, "--from", "imap://"+src.Addr, "--to", "imap://"+dst.Addr,
			"--from-admin", admin, "--to-admin", admin, "--from-password-file", pw, "--to-password-file", pw,
			"--allow-plaintext", "--parallel", "10", "--state", state, "--json")
		cpu += cpuTime(b) - before
		wall += time.Since(start)
		b.StopTimer()
		if prof != nil && i == 0 {
			pprof.StopCPUProfile()
		}
		if code != ExitOK || strings.Count(out, `"status": "completed"`)+strings.Count(out, `"status":"completed"`) != n {
			b.Fatalf("exit %d, want %d mailboxes completed\n%s\n%s", code, n, tail(out), tail(errOut))
		}
		dst.Stop()
		b.StartTimer()
	}
	b.ReportMetric(cpu.Seconds()*1e3/float64(b.N*n), "cpu-ms/mailbox")
	b.ReportMetric(wall.Seconds()*1e3/float64(b.N*n), "wall-ms/mailbox")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}
