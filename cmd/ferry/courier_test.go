package main

import (
	"context"
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
)

// TestKilledMidCopyToCourierEndsExact kills `ferry migrate` with SIGKILL at
// random moments, several times, while it copies from Dovecot to a real
// Courier-IMAP 5.0, which sends no [UIDNEXT] on SELECT; then lets it
// finish. The destination must hold exactly the source's messages, and
// `ferry verify` must agree.
func TestKilledMidCopyToCourierEndsExact(t *testing.T) {
	t.Parallel()
	const user, pw = "killed-to-courier", "pw-killed"
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: []testimap.User{{Name: user, Password: pw}}})
	dst := testimap.StartCourier(t, testimap.User{Name: user, Password: pw})
	c := testimap.Dial(t, src.Addr, user, pw)
	// 12 folders: the 13th, "🎉 Events", is one Courier refuses.
	mail := corpus.Generate(corpus.Spec{Seed: 44, Messages: 600, Folders: 12, MaxSize: 96 << 10})
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

	rng := rand.New(rand.NewPCG(9, 9))
	kills := 0
	for i := 0; i < 5; i++ {
		cmd := exec.Command(ferryBin, args...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			t.Logf("run %d finished before the kill (%v)", i, err)
		case <-time.After(time.Duration(200+rng.IntN(500)) * time.Millisecond):
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
	if d := want.Diff(testimap.TakeSnapshot(t, dst.Addr, user, pw)); d != "" {
		t.Fatalf("after %d kills the destination differs:\n%s", kills, d)
	}
	verify := append([]string{"verify"}, args[1:len(args)-2]...)
	if out, err := exec.Command(ferryBin, verify...).CombinedOutput(); err != nil {
		t.Fatalf("ferry verify: %v\n%s", err, out)
	}
}
