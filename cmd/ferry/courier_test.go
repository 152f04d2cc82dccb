package main

import (
	"context"
	"os"
	"path/filepath"
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

	kills := killRepeatedly(t, args, 5, 200*time.Millisecond, 500*time.Millisecond, 9)
	if d := want.Diff(testimap.TakeSnapshot(t, dst.Addr, user, pw)); d != "" {
		t.Fatalf("after %d kills the destination differs:\n%s", kills, d)
	}
	requireVerified(t, args)
}
