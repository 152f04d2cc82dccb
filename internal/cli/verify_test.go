package cli

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/testimap"
)

// TestVerifyReportsAlteredCopiesAndExitsZero: a destination that munges
// 8-bit header bytes and replaces dates before 1980 (as Cyrus does) keeps
// every message; verify says which copies it altered, and exits 0.
func TestVerifyReportsAlteredCopiesAndExitsZero(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.dst.Munge8bitHeaders.Store(true)
	b.dst.OldDatesBecomeToday.Store(true)
	c := testimap.Dial(t, b.src.Addr, "alice@example.org", srcPass)
	for _, m := range []struct {
		raw  string
		date time.Time
	}{
		{"Message-ID: <gruss@example.org>\r\nFrom: J\xfcrgen <j@example.org>\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nHallo\r\n", time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)},
		{"Message-ID: <old@example.org>\r\nSubject: from the archive\r\n\r\nOld mail.\r\n", time.Date(1975, 3, 1, 12, 0, 0, 0, time.UTC)},
	} {
		app := c.Append("INBOX", int64(len(m.raw)), &imap.AppendOptions{Time: m.date})
		app.Write([]byte(m.raw))
		app.Close()
		if _, err := app.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	c.Logout().Wait()
	alice := []string{"--from", b.url(b.src.Addr, "alice@example.org"), "--to", b.url(b.dst.Addr, "alice@example.org"),
		"--from-password-file", b.srcFile, "--to-password-file", b.dstFile, "--allow-plaintext"}
	state := filepath.Join(b.dir, "state.db")
	if code, out, errOut := run(append([]string{"migrate", "--state", state}, alice...)...); code != ExitOK {
		t.Fatalf("migrate exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ := run(append([]string{"verify"}, alice...)...)
	if code != ExitOK || !strings.Contains(out, "complete: every source message has its own copy") || strings.Count(out, "altered by the destination (") != 2 ||
		!strings.Contains(out, "internal date changed by the destination from 1975-03-01 12:00:00") || !strings.Contains(out, "headers changed by the destination") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	// A lost state copies nothing again, and verify still agrees.
	if code, out, errOut := run(append([]string{"migrate", "--state", filepath.Join(b.dir, "lost.db"), "--json"}, alice...)...); code != ExitOK || !strings.Contains(out, `"copied": 0,`) {
		t.Fatalf("migrate after a lost state: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ = run(append([]string{"verify"}, alice...)...); code != ExitOK || !strings.Contains(out, "0 doubled") {
		t.Fatalf("verify after a lost state: exit %d\n%s", code, out)
	}
}
