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

	first := exec.Command(ferryBin, args...)
	var firstOut strings.Builder
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- first.Wait() }()
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
	cmd := exec.Command(ferryBin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitRunning(t, state, exited)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
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
