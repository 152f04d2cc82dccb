package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/store"
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

// TestPlaintextAndCAPerSide: --from-allow-plaintext and --to-allow-plaintext
// allow an unencrypted login on their side only (--allow-plaintext on both),
// and --from-ca-file / --to-ca-file trust a CA for their side only.
func TestPlaintextAndCAPerSide(t *testing.T) {
	t.Parallel()
	b := setup(t) // in-process servers without STARTTLS
	tests := []struct {
		name     string
		flags    []string
		wantCode int
		want     string
	}{
		{"both sides", []string{"--allow-plaintext"}, ExitOK, ""},
		{"each side", []string{"--from-allow-plaintext", "--to-allow-plaintext"}, ExitOK, ""},
		{"source only", []string{"--from-allow-plaintext"}, ExitFailures, "destination: connect to"},
		{"destination only", []string{"--to-allow-plaintext"}, ExitFailures, "source: connect to"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"migrate", "--pass", "verify", "--from", b.url(b.src.Addr, "alice@example.org"), "--to", b.url(b.dst.Addr, "alice@example.org"),
				"--from-password-file", b.srcFile, "--to-password-file", b.dstFile, "--state", filepath.Join(b.dir, "plain"+string(rune('a'+i))+".db")}, tt.flags...)
			code, out, errs := run(args...)
			if code != tt.wantCode || !strings.Contains(out+errs, tt.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s%s", code, tt.wantCode, tt.want, out, errs)
			}
			if tt.want != "" && !strings.Contains(out+errs, "STARTTLS") {
				t.Fatalf("the refusal does not say why:\n%s%s", out, errs)
			}
		})
	}

	ca := filepath.Join(b.dir, "ca.pem")
	os.WriteFile(ca, selfSignedPEM(t), 0o600)
	notPEM := filepath.Join(b.dir, "not.pem")
	os.WriteFile(notPEM, []byte("nothing here"), 0o600)
	for _, tt := range []struct {
		name           string
		flags          []string
		srcCA, dstCA   bool
		wantUsageInErr string
	}{
		{"both", []string{"--ca-file", ca}, true, true, ""},
		{"source", []string{"--from-ca-file", ca}, true, false, ""},
		{"destination", []string{"--to-ca-file", ca}, false, true, ""},
		{"destination overrides", []string{"--ca-file", notPEM, "--to-ca-file", ca, "--from-ca-file", ca}, true, true, ""},
		{"bad destination file", []string{"--to-ca-file", notPEM}, false, false, "--to-ca-file"},
	} {
		t.Run("CA/"+tt.name, func(t *testing.T) {
			t.Parallel()
			var f connFlags
			cmd := &cobra.Command{}
			f.register(cmd)
			cmd.Flags().Parse(append([]string{"--from", "imaps://a@src.example", "--to", "imaps://a@dst.example", "--from-password-file", b.srcFile, "--to-password-file", b.dstFile}, tt.flags...))
			jobs, err := f.jobs()
			if tt.wantUsageInErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantUsageInErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantUsageInErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := jobs[0].Source.TLSConfig != nil; got != tt.srcCA {
				t.Errorf("source trusts the CA: %v, want %v", got, tt.srcCA)
			}
			if got := jobs[0].Dest.TLSConfig != nil; got != tt.dstCA {
				t.Errorf("destination trusts the CA: %v, want %v", got, tt.dstCA)
			}
		})
	}
}

// selfSignedPEM is a throwaway CA certificate in PEM.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestProgressOutsideATerminal: written to a file or a pipe, progress is one
// line per mailbox event (a new phase, the end), never a progress bar.
func TestProgressOutsideATerminal(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	jobs := []engine.Job{{}, {}}
	jobs[0].Source.User, jobs[0].Dest.User = "alice", "alice"
	jobs[1].Source.User, jobs[1].Dest.User = "bob", "bob"
	progs := []*engine.Progress{{}, {}}
	d := newDisplay(&buf, jobs, progs)
	progs[0].Phase.Store("copying")
	progs[0].ToCopy.Store(10)
	d.draw(false)
	d.draw(false) // nothing new: nothing written
	progs[0].Copied.Store(4)
	progs[0].Phase.Store("retrying in 1s: connection reset")
	progs[1].Phase.Store("connecting")
	d.draw(false)
	d.finished(0, &engine.Result{Job: jobs[0], Run: store.Run{Status: "completed", Copied: 10}})
	d.draw(true)
	want := "alice → alice: copying (0/10 messages, 0 B)\n" +
		"alice → alice: retrying in 1s: connection reset (4/10 messages, 0 B)\n" +
		"bob → bob: connecting (0/0 messages, 0 B)\n" +
		"alice → alice: completed, 10 copied, 0 failed\n"
	if got := buf.String(); got != want {
		t.Fatalf("log lines:\n%s\nwant:\n%s", got, want)
	}
}
