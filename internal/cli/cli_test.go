package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/testimap"
)

const (
	srcPass = "s3cret-source"
	dstPass = "s3cret-destination"
)

type bundle struct {
	src, dst *testimap.MemServer
	dir      string
	srcFile  string
	dstFile  string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{dir: t.TempDir()}
	users := []string{"alice@example.org", "bob@example.org"}
	var su, du []testimap.User
	for _, u := range users {
		su = append(su, testimap.User{Name: u, Password: srcPass})
		du = append(du, testimap.User{Name: u, Password: dstPass})
	}
	b.src, b.dst = testimap.StartMem(t, su...), testimap.StartMem(t, du...)
	for i, u := range users {
		c := testimap.Dial(t, b.src.Addr, u, srcPass)
		if err := corpus.Load(context.Background(), c, corpus.Generate(corpus.Spec{Seed: int64(i + 1), Messages: 40, Folders: 4, MaxSize: 64 << 10})); err != nil {
			t.Fatal(err)
		}
		c.Logout()
	}
	b.srcFile = filepath.Join(b.dir, "src.pw")
	b.dstFile = filepath.Join(b.dir, "dst.pw")
	os.WriteFile(b.srcFile, []byte(srcPass+"\n"), 0o600)
	os.WriteFile(b.dstFile, []byte(dstPass+"\n"), 0o600)
	return b
}

func (b *bundle) url(addr, user string) string { return "imap://" + user + "@" + addr }

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	csvBad := filepath.Join(b.dir, "bad.csv")
	os.WriteFile(csvBad, []byte("source,destination\nalice@example.org,\n"), 0o600)
	state := filepath.Join(b.dir, "state.db")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing to migrate", []string{"migrate"}, "--from URL --to URL"},
		{"password in URL", []string{"migrate", "--from", "imap://alice:" + srcPass + "@" + b.src.Addr, "--to", b.url(b.dst.Addr, "alice@example.org")}, "password-file"},
		{"no password", []string{"migrate", "--from", b.url(b.src.Addr, "alice@example.org"), "--to", b.url(b.dst.Addr, "alice@example.org"), "--state", state}, "no source password"},
		{"bad scheme", []string{"migrate", "--from", "pop3://a@b", "--to", "imap://a@b"}, "unknown scheme"},
		{"unknown pass", []string{"migrate", "--pass", "fast", "--from", "imap://a@b", "--to", "imap://a@b"}, "use verify, trial, prestage, full or retry"},
		{"prestage without age", []string{"migrate", "--pass", "prestage", "--from", "imap://a@b", "--to", "imap://a@b"}, "--older-than"},
		{"bad age", []string{"migrate", "--pass", "prestage", "--older-than", "ninety", "--from", "imap://a@b", "--to", "imap://a@b"}, "90d"},
		{"bad size", []string{"migrate", "--max-message-size", "big", "--from", "imap://a@b", "--to", "imap://a@b"}, "35MB"},
		{"unknown flag", []string{"migrate", "--frm", "x"}, "unknown flag"},
		{"broken csv", []string{"migrate", "--csv", csvBad, "--to", "imap://x@" + b.dst.Addr}, "line 2"},
		{"missing csv", []string{"migrate", "--csv", filepath.Join(b.dir, "none.csv")}, "cannot open --csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := run(tt.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, ExitUsage, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Fatalf("stderr %q does not say %q", errOut, tt.want)
			}
			if strings.Contains(out+errOut, srcPass) || strings.Contains(errOut, "goroutine") {
				t.Fatalf("output shows a secret or a stack trace: %s", out+errOut)
			}
		})
	}
}

func TestMigrateVerifyAndExitCodes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	state := filepath.Join(b.dir, "state.db")
	common := []string{"--from-password-file", b.srcFile, "--to-password-file", b.dstFile, "--allow-plaintext"}
	alice := append([]string{"--from", b.url(b.src.Addr, "alice@example.org"), "--to", b.url(b.dst.Addr, "alice@example.org")}, common...)

	// Before the copy, verify reports the destination incomplete.
	code, out, _ := run(append([]string{"verify"}, alice...)...)
	if code != ExitFailures || !strings.Contains(out, "INCOMPLETE") {
		t.Fatalf("verify before copy: exit %d\n%s", code, out)
	}

	code, out, errOut := run(append([]string{"migrate", "--state", state, "--json"}, alice...)...)
	if code != ExitOK {
		t.Fatalf("migrate exit %d\n%s\n%s", code, out, errOut)
	}
	var summary struct {
		Mailboxes []struct {
			Status  string
			Copied  int64
			Skipped int64
		}
	}
	if err := json.Unmarshal([]byte(out), &summary); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if len(summary.Mailboxes) != 1 || summary.Mailboxes[0].Copied != 40 || summary.Mailboxes[0].Status != "completed" {
		t.Fatalf("summary = %+v", summary)
	}

	code, out, _ = run(append([]string{"verify"}, alice...)...)
	if code != ExitOK || !strings.Contains(out, "complete") {
		t.Fatalf("verify after copy: exit %d\n%s", code, out)
	}

	// The table for people.
	code, out, _ = run(append([]string{"migrate", "--state", state}, alice...)...)
	if code != ExitOK || !strings.Contains(out, "MB/HR") || !strings.Contains(out, "ITEMS/HR") || !strings.Contains(out, "Full pass") {
		t.Fatalf("exit %d, table:\n%s", code, out)
	}

	// A wrong destination password: exit 1, a clear reason, no secret.
	bad := filepath.Join(b.dir, "bad.pw")
	os.WriteFile(bad, []byte("not-the-password"), 0o600)
	code, out, errOut = run("migrate", "--state", state, "--from", b.url(b.src.Addr, "bob@example.org"), "--to", b.url(b.dst.Addr, "bob@example.org"),
		"--from-password-file", b.srcFile, "--to-password-file", bad, "--allow-plaintext")
	if code != ExitFailures || !strings.Contains(out, "check the user name and password") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "not-the-password") || strings.Contains(out+errOut, srcPass) {
		t.Fatal("a password was printed")
	}
}

func TestMigrateCSV(t *testing.T) {
	t.Parallel()
	b := setup(t)
	list := filepath.Join(b.dir, "mailboxes.csv")
	os.WriteFile(list, []byte("source,destination\nalice@example.org,alice@example.org\nbob@example.org,bob@example.org\n"), 0o600)
	code, out, errOut := run("migrate", "--csv", list, "--from", "imap://"+b.src.Addr, "--to", "imap://"+b.dst.Addr,
		"--from-password-file", b.srcFile, "--to-password-file", b.dstFile, "--allow-plaintext", "--state", filepath.Join(b.dir, "s.db"))
	if code != ExitOK || strings.Count(out, "completed") != 2 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, u := range []string{"alice@example.org", "bob@example.org"} {
		if d := testimap.TakeSnapshot(t, b.src.Addr, u, srcPass).Diff(testimap.TakeSnapshot(t, b.dst.Addr, u, dstPass)); d != "" {
			t.Fatalf("%s differs:\n%s", u, d)
		}
	}
}

func TestPlaintextNeedsExplicitFlag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	code, out, errOut := run("migrate", "--from", b.url(b.src.Addr, "alice@example.org"), "--to", b.url(b.dst.Addr, "alice@example.org"),
		"--from-password-file", b.srcFile, "--to-password-file", b.dstFile, "--state", filepath.Join(b.dir, "s.db"))
	if code != ExitFailures || !strings.Contains(out, "--allow-plaintext") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestVerifyCredentialsShowsTheFolderMap: `migrate --pass verify` says
// where each folder goes, which folders the first pass creates and which
// are renamed because two source folders would meet; the Full pass then
// says so too.
func TestVerifyCredentialsShowsTheFolderMap(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := testimap.Dial(t, b.src.Addr, "alice@example.org", srcPass)
	for _, f := range []string{"Projects", "projects"} {
		if err := c.Create(f, nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	c.Logout()
	state := filepath.Join(b.dir, "state.db")
	alice := []string{"--state", state, "--from", b.url(b.src.Addr, "alice@example.org"), "--to", b.url(b.dst.Addr, "alice@example.org"),
		"--from-password-file", b.srcFile, "--to-password-file", b.dstFile, "--allow-plaintext"}
	code, out, errOut := run(append([]string{"migrate", "--pass", "verify"}, alice...)...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"folder map (source → destination):", "    Projects → Projects  (created by the first pass)\n",
		"    projects → projects (2)  (created by the first pass; renamed: source folder Projects already goes to Projects)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = run(append([]string{"migrate"}, alice...)...)
	if code != ExitOK || !strings.Contains(out, "note: folder projects goes to projects (2): source folder Projects already goes to Projects") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}
