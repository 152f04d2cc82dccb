package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/testimap"
)

// TestKilledMidCopyToCyrusEndsComplete kills `ferry migrate` with SIGKILL at
// random moments, several times, while it copies from Dovecot to a real
// Cyrus IMAP 3.6, which rewrites 8-bit header bytes as 'X' (munge8bit); then
// lets it finish. Every folder must hold the source's messages once (the
// rewritten ones altered, nothing else), and `ferry verify` must agree.
func TestKilledMidCopyToCyrusEndsComplete(t *testing.T) {
	t.Parallel()
	const user, pw = "carol@example.org", "pw-carol"
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: []testimap.User{{Name: user, Password: pw}}})
	cyrus := testimap.SharedCyrus(t)
	dstUser := cyrus.NewUser(t)
	c := testimap.Dial(t, src.Addr, user, pw)
	mail := corpus.Generate(corpus.Spec{Seed: 45, Messages: 600, Folders: 12, MaxSize: 96 << 10})
	if err := corpus.Load(context.Background(), c, mail); err != nil {
		t.Fatal(err)
	}
	// Messages Cyrus alters, among the others so that kills meet them.
	const eightBit = 40
	for i := range eightBit {
		msg := fmt.Sprintf("From: J\xc3\xbcrgen <j@example.com>\r\nSubject: Gr\xc3\xbc\xc3\x9fe %d\r\nDate: Mon, 6 May 2019 07:08:09 +0000\r\nMessage-ID: <eight-%d@example.com>\r\n\r\n%s\r\n", i, i, strings.Repeat("Servus! ", 200))
		cmd := c.Append("INBOX", int64(len(msg)), &imap.AppendOptions{Time: time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)})
		cmd.Write([]byte(msg))
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	c.Logout().Wait()
	want := testimap.TakeSnapshot(t, src.Addr, user, pw)

	dir := t.TempDir()
	srcPW, dstPW := filepath.Join(dir, "src-pw"), filepath.Join(dir, "dst-pw")
	os.WriteFile(srcPW, []byte(pw), 0o600)
	os.WriteFile(dstPW, []byte(dstUser.Password), 0o600)
	args := []string{"migrate", "--from", "imap://" + user + "@" + src.Addr, "--to", "imap://" + dstUser.Name + "@" + cyrus.Addr,
		"--from-password-file", srcPW, "--to-password-file", dstPW, "--allow-plaintext", "--state", filepath.Join(dir, "state.db")}

	kills := killRepeatedly(t, args, 5, 200*time.Millisecond, 500*time.Millisecond, 11)
	got := testimap.TakeSnapshot(t, cyrus.Addr, dstUser.Name, dstUser.Password)
	for folder, msgs := range want {
		if len(got[folder]) != len(msgs) {
			t.Errorf("after %d kills %s holds %d messages, the source %d", kills, folder, len(got[folder]), len(msgs))
		}
	}
	if differ := changedLines(want, got); differ > eightBit {
		t.Errorf("after %d kills %d messages differ, only the %d with 8-bit headers may:\n%s", kills, differ, eightBit, want.Diff(got))
	}
	requireVerified(t, args)
}

// changedLines counts want's snapshot lines that got lacks, folder by folder.
func changedLines(want, got testimap.Snapshot) int {
	n := 0
	for folder, lines := range want {
		have := slices.Clone(got[folder])
		for _, l := range lines {
			if i := slices.Index(have, l); i >= 0 {
				have = slices.Delete(have, i, i+1)
			} else {
				n++
			}
		}
	}
	return n
}
