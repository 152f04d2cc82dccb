package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/testimap"
	"github.com/ferryhq/ferry/internal/testpg"
)

var ferryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-bin-")
	if err != nil {
		panic(err)
	}
	ferryBin = filepath.Join(dir, "ferry")
	if out, err := exec.Command("go", "build", "-o", ferryBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ferry: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	testpg.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestKilledMidCopyEndsExact kills `ferry migrate` with SIGKILL at random
// moments, several times, between two real Dovecot servers with different
// folder layouts, then lets it finish: the destination must hold exactly
// the source's messages, nothing missing and nothing doubled.
func TestKilledMidCopyEndsExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec corpus.Spec
	}{
		{"many folders", corpus.Spec{Seed: 42, Messages: 4000, Folders: 10, MaxSize: 1 << 20}},
		{"one big folder", corpus.Spec{Seed: 43, Messages: 6000, Folders: 1, MaxSize: 256 << 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			killMidCopy(t, tt.spec)
		})
	}
}

func killMidCopy(t *testing.T, spec corpus.Spec) {
	const user, pw = "carol@example.org", "pw-carol"
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: []testimap.User{{Name: user, Password: pw}}})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: []testimap.User{{Name: user, Password: pw}}})
	c := testimap.Dial(t, src.Addr, user, pw)
	mail := corpus.Generate(spec)
	if err := corpus.Load(context.Background(), c, mail); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	want := testimap.TakeSnapshot(t, src.Addr, user, pw)

	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte(pw), 0o600)
	args := []string{"migrate", "--from", "imap://" + user + "@" + src.Addr, "--to", "imap://" + user + "@" + dst.Addr,
		"--from-password-file", pwFile, "--to-password-file", pwFile, "--allow-plaintext", "--state", filepath.Join(dir, "state.db")}

	kills := killRepeatedly(t, args, 6, 50*time.Millisecond, 400*time.Millisecond, 7)
	if d := want.Diff(testimap.TakeSnapshot(t, dst.Addr, user, pw)); d != "" {
		t.Fatalf("after %d kills the destination differs:\n%s", kills, d)
	}
	requireVerified(t, args)
}

// startFerry starts ferry with args in the background; its output is
// gathered in out, and exited gets its end.
func startFerry(t *testing.T, args ...string) (cmd *exec.Cmd, out *strings.Builder, exited <-chan error) {
	t.Helper()
	cmd = exec.Command(ferryBin, args...)
	out = &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, out, done
}

// killRepeatedly starts `ferry args...` runs times and SIGKILLs each run
// after a random delay in [least, least+spread) unless it ends first; then
// it runs ferry once more to the end. It fails the test when fewer than 3
// runs were killed mid-copy (the corpus is too small for the machine) or
// when the final run fails, and returns how many were killed.
func killRepeatedly(t *testing.T, args []string, runs int, least, spread time.Duration, seed uint64) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	kills := 0
	for i := 0; i < runs; i++ {
		cmd, _, done := startFerry(t, args...)
		select {
		case err := <-done:
			t.Logf("run %d finished before the kill (%v)", i, err)
		case <-time.After(least + time.Duration(rng.Int64N(int64(spread)))):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
		}
	}
	if kills < 3 {
		t.Fatalf("only %d of the runs were killed mid-copy; the corpus is too small for this machine", kills)
	}
	if out, err := exec.Command(ferryBin, args...).CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	return kills
}

// requireVerified runs `ferry verify` on the migrate arguments (without
// --state) and fails the test unless it exits 0.
func requireVerified(t *testing.T, migrateArgs []string) {
	t.Helper()
	verify := append([]string{"verify"}, migrateArgs[1:len(migrateArgs)-2]...)
	if out, err := exec.Command(ferryBin, verify...).CombinedOutput(); err != nil {
		t.Fatalf("ferry verify: %v\n%s", err, out)
	}
}
