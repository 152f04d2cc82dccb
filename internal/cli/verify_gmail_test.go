package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testimap"
)

// TestVerifyFromGmailUsesTheLabelMapping: `ferry verify` with the flags
// the copy had (--from-type gmail, --first-label-only) finds the copy
// complete; verified with the default mapping (each label), the same
// destination lacks the copies of the other labels.
func TestVerifyFromGmailUsesTheLabelMapping(t *testing.T) {
	t.Parallel()
	const user, pw = "alice@example.org", "gmail-pw"
	u := testimap.User{Name: user, Password: pw}
	src, dst := testimap.StartGmail(t, u), testimap.StartMem(t, u)
	msg := func(n int, labels ...string) testimap.GmailMessage {
		return testimap.GmailMessage{Body: fmt.Appendf(nil, "From: b@example.org\r\nSubject: m%d\r\nMessage-ID: <m%d@example.org>\r\nDate: Sun, 1 Mar 2026 09:00:00 +0000\r\n\r\nbody %d\r\n", n, n, n), Labels: labels}
	}
	src.GmailDeliver(t, u, msg(1, "INBOX", "Work"), msg(2), msg(3, "Work", "Travel"), msg(4, "[Gmail]/Spam"))
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte(pw), 0o600)
	conn := []string{"--from", "imap://" + user + "@" + src.Addr, "--to", "imap://" + user + "@" + dst.Addr, "--from-type", "gmail",
		"--from-password-file", pwFile, "--to-password-file", pwFile, "--allow-plaintext", "--first-label-only"}
	if code, out, errs := run(append([]string{"migrate", "--state", filepath.Join(dir, "state.db")}, conn...)...); code != ExitOK {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := run(append([]string{"verify"}, conn...)...)
	if code != ExitOK || !strings.Contains(out, "complete") || strings.Contains(out, "INCOMPLETE") {
		t.Fatalf("verify with the copy's mapping: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = run(append([]string{"verify"}, conn[:len(conn)-1]...)...)
	if code != ExitFailures || !strings.Contains(out, "INCOMPLETE") {
		t.Fatalf("verify with each label: exit %d\n%s", code, out)
	}
}
