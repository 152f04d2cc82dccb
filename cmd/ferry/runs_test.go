package main

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/testimap"
)

// migrateSetup fills a Dovecot source with a corpus and returns the
// arguments of `ferry migrate` to an empty Dovecot destination, the state
// file, the source's snapshot and a function that snapshots the destination.
func migrateSetup(t *testing.T, spec corpus.Spec) (args []string, state string, want testimap.Snapshot, got func() testimap.Snapshot) {
	t.Helper()
	const user, pw = "dora@example.org", "pw-dora"
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: []testimap.User{{Name: user, Password: pw}}})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: []testimap.User{{Name: user, Password: pw}}})
	c := testimap.Dial(t, src.Addr, user, pw)
	if err := corpus.Load(context.Background(), c, corpus.Generate(spec)); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	want = testimap.TakeSnapshot(t, src.Addr, user, pw)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte(pw), 0o600)
	state = filepath.Join(dir, "state.db")
	args = []string{"migrate", "--from", "imap://" + user + "@" + src.Addr, "--to", "imap://" + user + "@" + dst.Addr,
		"--from-password-file", pwFile, "--to-password-file", pwFile, "--allow-plaintext", "--state", state}
	return args, state, want, func() testimap.Snapshot { return testimap.TakeSnapshot(t, dst.Addr, user, pw) }
}

// waitRunning waits until the state file records a run in progress.
func waitRunning(t *testing.T, state string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("the first run ended (%v) before the test could overlap it; make the corpus larger", err)
		default:
		}
		if db, err := sql.Open("sqlite", "file:"+state+"?mode=ro&_pragma=busy_timeout(1000)"); err == nil {
			var n int
			db.QueryRow(`SELECT COUNT(*) FROM runs WHERE status = 'running'`).Scan(&n)
			db.Close()
			if n > 0 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond) // polling another process's file; nothing to wait on
	}
	t.Fatal("no run started within a minute")
}

// TestOverlappingRunsOfOneMailbox starts a second `ferry migrate` of the
// same mailbox on the same state file while the first copies: the second
// must refuse, naming the other run, and the destination must end exact.
func TestOverlappingRunsOfOneMailbox(t *testing.T) {
	t.Parallel()
	args, state, want, got := migrateSetup(t, corpus.Spec{Seed: 61, Messages: 3000, Folders: 4, MaxSize: 256 << 10})

	first, firstOut, exited := startFerry(t, args...)
	waitRunning(t, state, exited)

	out, err := exec.Command(ferryBin, args...).CombinedOutput()
	t.Logf("second run:\n%s", out)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("second run: %v, want exit status 1\n%s", err, out)
	}
	for _, words := range []string{"another ferry run", "pid " + itoa(first.Process.Pid), "dora@example.org"} {
		if !strings.Contains(string(out), words) {
			t.Errorf("second run's output lacks %q:\n%s", words, out)
		}
	}
	if err := <-exited; err != nil {
		t.Fatalf("first run: %v\n%s", err, firstOut.String())
	}
	if d := want.Diff(got()); d != "" {
		t.Fatalf("after two overlapping runs the destination differs:\n%s", d)
	}
	// The lock went with the first run: a third run starts and has nothing to copy.
	if out, err := exec.Command(ferryBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("run after the first ended: %v\n%s", err, out)
	}
}

// TestSignalStopsRunAndRerunCompletes sends SIGTERM during a copy: ferry
// must end promptly, and a re-run must complete the copy exactly.
func TestSignalStopsRunAndRerunCompletes(t *testing.T) {
	t.Parallel()
	args, state, want, got := migrateSetup(t, corpus.Spec{Seed: 62, Messages: 3000, Folders: 3, MaxSize: 256 << 10})
	cmd, out, exited := startFerry(t, args...)
	waitRunning(t, state, exited)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		// SIGQUIT: Go prints every goroutine's stack, to tell who waits on what.
		cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		t.Fatalf("ferry did not end within 10s of SIGTERM:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("the summary does not say the run stopped:\n%s", out.String())
	}
	if out, err := exec.Command(ferryBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	if d := want.Diff(got()); d != "" {
		t.Fatalf("after SIGTERM and a re-run the destination differs:\n%s", d)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSilentServerEndsRun: with --timeout, a source that accepts and never
// greets, or greets and never answers LOGIN, ends `ferry migrate` within
// the timeout (not retried for minutes) with an error that says so; and
// SIGTERM ends a run stuck on such a server at once, whatever the timeout.
func TestSilentServerEndsRun(t *testing.T) {
	t.Parallel()
	const user, pw = "erin@example.org", "pw-erin"
	dst := testimap.StartMem(t, testimap.User{Name: user, Password: pw})
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte(pw), 0o600)
	args := func(src, timeout, state string) []string {
		return []string{"migrate", "--from", "imap://" + user + "@" + src, "--to", "imap://" + user + "@" + dst.Addr,
			"--from-password-file", pwFile, "--to-password-file", pwFile, "--allow-plaintext", "--timeout", timeout,
			"--state", filepath.Join(dir, state)}
	}
	tests := []struct {
		name string
		addr string
		op   string
	}{
		{"accepts and never greets", testimap.StartSilent(t), "greeting"},
		{"greets and never answers LOGIN", testimap.StartMuteAfterGreeting(t), "log in"},
	}
	for i, tt := range tests {
		t.Run(tt.name+"/timeout", func(t *testing.T) {
			t.Parallel()
			const timeout = 2 * time.Second
			start := time.Now()
			cmd := exec.Command(ferryBin, args(tt.addr, timeout.String(), "t"+strconv.Itoa(i)+".db")...)
			out, err := runBounded(t, cmd, 10*timeout)
			if took := time.Since(start); took > 3*timeout {
				t.Errorf("ferry took %s with --timeout %s", took, timeout)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Errorf("exit: %v, want status 1", err)
			}
			if !strings.Contains(out, tt.op) || !strings.Contains(out, "sent nothing for 2s") {
				t.Errorf("output does not say the server went silent at %q:\n%s", tt.op, out)
			}
		})
		t.Run(tt.name+"/SIGTERM", func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(ferryBin, args(tt.addr, "1h", "s"+strconv.Itoa(i)+".db")...)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			waitRunning(t, filepath.Join(dir, "s"+strconv.Itoa(i)+".db"), exited)
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("ferry did not end within 5s of SIGTERM:\n%s", out.String())
			}
			if !strings.Contains(out.String(), "stopped") {
				t.Errorf("the summary does not say the run stopped:\n%s", out.String())
			}
		})
	}
}

// runBounded runs cmd and kills it if it outlives limit.
func runBounded(t *testing.T, cmd *exec.Cmd, limit time.Duration) (string, error) {
	t.Helper()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		return out.String(), err
	case <-time.After(limit):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("ferry still ran after %s:\n%s", limit, out.String())
		return "", nil
	}
}

// TestSilentAtAppendContinuation: a destination without LITERAL+ (Gmail,
// Exchange) that stops answering while ferry waits for its "+" before a
// message: the connection is declared dead after --timeout, the copy goes
// on on a new one, and the destination ends exact.
func TestSilentAtAppendContinuation(t *testing.T) {
	t.Parallel()
	const user, pw = "fay@example.org", "pw-fay"
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: []testimap.User{{Name: user, Password: pw}}})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: []testimap.User{{Name: user, Password: pw}}})
	c := testimap.Dial(t, src.Addr, user, pw)
	// Messages over 4 KiB: go-imap sends smaller ones without waiting for "+".
	if err := corpus.Load(context.Background(), c, corpus.Generate(corpus.Spec{Seed: 63, Messages: 60, Folders: 2, MinSize: 8 << 10, MaxSize: 64 << 10})); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	want := testimap.TakeSnapshot(t, src.Addr, user, pw)
	proxy := testimap.StartNoLiteralPlusProxy(t, dst.Addr)
	proxy.MuteAppends(2)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte(pw), 0o600)
	cmd := exec.Command(ferryBin, "migrate", "--from", "imap://"+user+"@"+src.Addr, "--to", "imap://"+user+"@"+proxy.Addr,
		"--from-password-file", pwFile, "--to-password-file", pwFile, "--allow-plaintext", "--timeout", "2s", "--state", filepath.Join(dir, "state.db"))
	out, err := runBounded(t, cmd, 90*time.Second)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if proxy.Muted() == 0 {
		t.Fatal("no APPEND went silent: the test did not test anything")
	}
	if d := want.Diff(testimap.TakeSnapshot(t, dst.Addr, user, pw)); d != "" {
		t.Fatalf("the destination differs:\n%s", d)
	}
}
