package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testimap"
)

// peer is one side of a migration: where it listens and who logs in.
type peer struct {
	addr           string
	ep             imapconn.Endpoint
	user, password string
}

func cyrusPeer(t *testing.T, sep rune) peer {
	srv := testimap.SharedCyrus(t, testimap.CyrusSeparator(sep))
	u := srv.NewUser(t)
	return peer{addr: srv.Addr, user: u.Name, password: u.Password,
		ep: imapconn.Endpoint{Host: srv.Host, Port: srv.Port, Security: imapconn.SecurityStartTLS, User: u.Name, Password: u.Password, AllowPlaintext: true}}
}

func dovecotPeer(t *testing.T) peer {
	d := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: []testimap.User{{Name: user, Password: pass}}})
	return peer{addr: d.Addr, ep: dovecotEndpoint(d, user), user: user, password: pass}
}

func (p peer) snapshot(t *testing.T) testimap.Snapshot {
	t.Helper()
	return testimap.TakeSnapshot(t, p.addr, p.user, p.password)
}

// fieldMessages are messages real mailboxes hold that Cyrus changes on
// APPEND: 8-bit bytes in headers (munge8bit turns them into 'X') and an
// internal date at the epoch (Cyrus stores the time of the APPEND).
func fieldMessages() []struct {
	folder string
	date   time.Time
	body   string
} {
	return []struct {
		folder string
		date   time.Time
		body   string
	}{
		{"INBOX", time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC), "From: J\xc3\xbcrgen M\xc3\xbcller <jm@example.com>\r\nTo: alice@example.org\r\nSubject: Gr\xc3\xbc\xc3\x9fe aus M\xc3\xbcnchen\r\nDate: Mon, 6 May 2019 07:08:09 +0000\r\nMessage-ID: <raw8bit@example.com>\r\n\r\nServus!\r\n"},
		{"INBOX", time.Unix(0, 0).UTC(), "From: old@example.com\r\nTo: alice@example.org\r\nSubject: restored from a broken archive\r\nMessage-ID: <epoch@example.com>\r\n\r\nNo date survived.\r\n"},
		{"Projects", time.Date(2018, 1, 2, 3, 4, 5, 0, time.UTC), "From: Fran\xc3\xa7ois <f@example.com>\r\nTo: alice@example.org\r\nSubject: =?utf-8?q?R=C3=A9union?=\r\nDate: Tue, 2 Jan 2018 03:04:05 +0000\r\n\r\nSans Message-ID, avec en-t\xc3\xaate 8 bits.\r\n"},
	}
}

// loadMatrixMail fills the source with a generated mailbox and the field
// messages.
func loadMatrixMail(t *testing.T, src peer) int {
	t.Helper()
	c := testimap.Dial(t, src.addr, src.user, src.password)
	mail := corpus.Generate(corpus.Spec{Seed: 42, Messages: 120, Folders: 12, MaxSize: 64 << 10})
	if err := corpus.Load(context.Background(), c, mail); err != nil {
		t.Fatal(err)
	}
	_, prefix, err := corpus.ServerNaming(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range fieldMessages() {
		name := m.folder
		if name != "INBOX" {
			name = prefix + name
		}
		cmd := c.Append(name, int64(len(m.body)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: m.date})
		cmd.Write([]byte(m.body))
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("append to %s: %v", name, err)
		}
	}
	c.Logout().Wait()
	return len(mail.Messages) + len(fieldMessages())
}

// alterable counts the source's messages that Cyrus changes on APPEND
// (8-bit header bytes, an internal date at the epoch).
func alterable(t *testing.T, src peer) int {
	t.Helper()
	c := testimap.Dial(t, src.addr, src.user, src.password)
	defer c.Logout()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range list {
		if hasAttr(l, imap.MailboxAttrNoSelect) {
			continue
		}
		sel, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if sel.NumMessages == 0 {
			continue
		}
		hdr := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
		msgs, err := c.Fetch(allMessages(), &imap.FetchOptions{InternalDate: true, BodySection: []*imap.FetchItemBodySection{hdr}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.InternalDate.Unix() == 0 || bytes.ContainsFunc(m.FindBodySection(hdr), func(r rune) bool { return r >= 0x80 }) {
				n++
			}
		}
	}
	return n
}

func hasAttr(l *imap.ListData, attr imap.MailboxAttr) bool {
	for _, a := range l.Attrs {
		if a == attr {
			return true
		}
	}
	return false
}

func allMessages() imap.SeqSet {
	var s imap.SeqSet
	s.AddRange(1, 0)
	return s
}

// compareCopy checks the destination against the source: every folder
// holds as many messages as the source's (nothing missing, nothing
// doubled), sizes and flags agree, and all but altered messages are
// byte-for-byte the same with the same internal date.
func compareCopy(t *testing.T, want, got testimap.Snapshot, altered int) {
	t.Helper()
	var problems []string
	for _, folder := range unionKeys(want, got) {
		w, g := want[folder], got[folder]
		if len(w) != len(g) {
			problems = append(problems, fmt.Sprintf("%s: %d messages, want %d", folder, len(g), len(w)))
			continue
		}
		if a, b := sizesAndFlags(w), sizesAndFlags(g); a != b {
			problems = append(problems, fmt.Sprintf("%s: sizes and flags differ:\n  want %s\n  got  %s", folder, a, b))
		}
	}
	if differ := len(onlyIn(want, got)); differ > altered {
		problems = append(problems, fmt.Sprintf("%d messages differ in content or date, only %d are ones the destination alters:\n%s", differ, altered, want.Diff(got)))
	}
	if len(problems) > 0 {
		t.Fatalf("destination differs from source:\n%s", strings.Join(problems, "\n"))
	}
}

func unionKeys(a, b testimap.Snapshot) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sizesAndFlags drops hash and date from snapshot lines ("hash size date
// [flags]").
func sizesAndFlags(lines []string) string {
	var out []string
	for _, l := range lines {
		f := strings.SplitN(l, " ", 4)
		out = append(out, f[1]+" "+f[3])
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// onlyIn lists want's messages (folder and line) that got lacks.
func onlyIn(want, got testimap.Snapshot) []string {
	var out []string
	for folder, lines := range want {
		have := map[string]int{}
		for _, l := range got[folder] {
			have[l]++
		}
		for _, l := range lines {
			if have[l] > 0 {
				have[l]--
				continue
			}
			out = append(out, folder+": "+l)
		}
	}
	return out
}

// TestCyrusMatrix migrates to and from a real Cyrus IMAP 3.6: first copy,
// a re-run with the state, a re-run that lost the state, and a run
// cancelled mid-copy then resumed. After each, every folder holds what the
// source holds, once.
func TestCyrusMatrix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		toCyrus bool
		sep     rune
	}{
		{"dovecot to cyrus '.'", true, '.'},
		{"dovecot to cyrus '/'", true, '/'},
		{"cyrus '.' to dovecot", false, '.'},
		{"cyrus '/' to dovecot", false, '/'},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			newPair := func(t *testing.T) (src, dst peer, total, altered int) {
				if tc.toCyrus {
					src, dst = dovecotPeer(t), cyrusPeer(t, tc.sep)
				} else {
					src, dst = cyrusPeer(t, tc.sep), dovecotPeer(t)
				}
				total = loadMatrixMail(t, src)
				if tc.toCyrus {
					altered = alterable(t, src)
					if altered < len(fieldMessages()) {
						t.Fatalf("only %d messages Cyrus alters in the source", altered)
					}
				}
				return src, dst, total, altered
			}
			opts := engine.Options{Conn: imapconn.Options{Timeout: 10 * time.Second}, MaxBackoff: 50 * time.Millisecond}
			openState := func(t *testing.T) *sqlstore.Store {
				st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			migrate := func(t *testing.T, st *sqlstore.Store, job engine.Job, prog *engine.Progress, ctx context.Context) *engine.Result {
				ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
				defer cancel()
				return engine.New(st, opts).Migrate(ctx, job, prog)
			}

			t.Run("first copy, re-run with state, re-run without", func(t *testing.T) {
				t.Parallel()
				src, dst, total, altered := newPair(t)
				want := src.snapshot(t)
				job := engine.Job{Source: src.ep, Dest: dst.ep}
				st := openState(t)
				prog := &engine.Progress{}
				r := migrate(t, st, job, prog, context.Background())
				requireOK(t, r)
				if r.Run.Copied != int64(total) {
					got := dst.snapshot(t)
					for _, f := range unionKeys(want, got) {
						t.Logf("%s: source %d destination %d", f, len(want[f]), len(got[f]))
					}
					t.Fatalf("first copy copied %d, want %d (%d retries): %+v", r.Run.Copied, total, prog.Retries.Load(), r.Run)
				}
				compareCopy(t, want, dst.snapshot(t), altered)

				r = migrate(t, st, job, nil, context.Background())
				requireOK(t, r)
				if r.Run.Copied != 0 {
					t.Errorf("re-run with state copied %d, want 0", r.Run.Copied)
				}
				compareCopy(t, want, dst.snapshot(t), altered)

				r = migrate(t, openState(t), job, nil, context.Background())
				requireOK(t, r)
				if r.Run.Copied != 0 {
					t.Errorf("re-run without state copied %d, want 0", r.Run.Copied)
				}
				compareCopy(t, want, dst.snapshot(t), altered)
			})

			t.Run("cancelled mid-copy, then resumed", func(t *testing.T) {
				t.Parallel()
				src, dst, total, altered := newPair(t)
				want := src.snapshot(t)
				job := engine.Job{Source: src.ep, Dest: dst.ep}
				st := openState(t)
				ctx, cancel := context.WithCancel(context.Background())
				prog := &engine.Progress{}
				done := make(chan *engine.Result)
				go func() { done <- migrate(t, st, job, prog, ctx) }()
				var r *engine.Result
				for r == nil {
					select {
					case r = <-done:
					case <-time.After(time.Millisecond):
						if prog.Copied.Load() >= int64(total)/2 {
							cancel()
						}
					}
				}
				cancel()
				if r.Run.Copied >= int64(total) {
					t.Fatalf("the run was not cancelled mid-copy: copied %d of %d", r.Run.Copied, total)
				}
				r = migrate(t, st, job, nil, context.Background())
				requireOK(t, r)
				compareCopy(t, want, dst.snapshot(t), altered)
			})
		})
	}
}

// appendTo creates folder (unless INBOX) on c and appends the messages.
func appendTo(t *testing.T, c *imapclient.Client, folder string, msgs ...string) {
	t.Helper()
	if folder != "INBOX" {
		if err := c.Create(folder, nil).Wait(); err != nil {
			t.Fatalf("create %q: %v", folder, err)
		}
	}
	for _, m := range msgs {
		cmd := c.Append(folder, int64(len(m)), &imap.AppendOptions{Time: time.Date(2022, 2, 3, 4, 5, 6, 0, time.UTC)})
		cmd.Write([]byte(m))
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatalf("append to %q: %v", folder, err)
		}
	}
}

func plainMessage(id, subject string, size int) string {
	return fmt.Sprintf("From: bob@example.com\r\nTo: alice@example.org\r\nSubject: %s\r\nDate: Thu, 3 Feb 2022 04:05:06 +0000\r\nMessage-ID: <%s@example.com>\r\n\r\n%s\r\n", subject, id, strings.Repeat("x", size))
}

// TestCyrusRefusedFolderNames: Cyrus refuses folder names with some
// characters ("NO Invalid mailbox name"). Each such folder is one reported
// failure; every other folder is copied.
func TestCyrusRefusedFolderNames(t *testing.T) {
	t.Parallel()
	src, dst := dovecotPeer(t), cyrusPeer(t, '.')
	c := testimap.Dial(t, src.addr, src.user, src.password)
	appendTo(t, c, "INBOX", plainMessage("in1", "inbox", 100))
	appendTo(t, c, "Budget|2024", plainMessage("b1", "budget", 100))
	appendTo(t, c, "Plans {draft}", plainMessage("p1", "plans", 100))
	appendTo(t, c, "Work", plainMessage("w1", "work one", 100), plainMessage("w2", "work two", 100))
	want := src.snapshot(t)

	r := migrateOnce(t, engine.Job{Source: src.ep, Dest: dst.ep}, engine.Options{})
	if r.Err != nil {
		t.Fatalf("the mailbox failed over refused folder names: %v", r.Err)
	}
	got := dst.snapshot(t)
	for _, folder := range []string{"INBOX", "Work"} {
		if d := (testimap.Snapshot{folder: want[folder]}).Diff(testimap.Snapshot{folder: got[folder]}); d != "" {
			t.Errorf("%s was not copied:\n%s", folder, d)
		}
	}
	for _, refused := range []string{"Budget|2024", "Plans {draft}"} {
		found := false
		for _, f := range r.Failures {
			if strings.Contains(f.Folder, refused) && strings.Contains(f.ServerText, "Invalid mailbox name") {
				found = true
			}
		}
		if !found {
			t.Errorf("no failure reports folder %q with Cyrus's words; failures: %+v", refused, r.Failures)
		}
	}
}

// TestCyrusFoldersThatMeet: under Cyrus's '.' separator "Reports.2024"
// cannot keep its dot; it must not land in the same folder as
// "Reports_2024", and a message both hold is copied into each.
func TestCyrusFoldersThatMeet(t *testing.T) {
	t.Parallel()
	src, dst := dovecotPeer(t), cyrusPeer(t, '.')
	c := testimap.Dial(t, src.addr, src.user, src.password)
	same := plainMessage("same", "in both folders", 200)
	appendTo(t, c, "Reports.2024", same, plainMessage("r1", "dotted", 200))
	appendTo(t, c, "Reports_2024", same, plainMessage("r2", "underscored", 200))
	want := src.snapshot(t)

	r := migrateOnce(t, engine.Job{Source: src.ep, Dest: dst.ep}, engine.Options{})
	requireOK(t, r)
	got := dst.snapshot(t)
	if got.Count() != want.Count() {
		t.Errorf("destination holds %d messages, source %d", got.Count(), want.Count())
	}
	for folder, msgs := range got {
		if len(msgs) > 2 {
			t.Errorf("destination folder %q holds %d messages: two source folders met in it", folder, len(msgs))
		}
	}
}

// TestCyrusQuotaWithoutOverQuotaCode: Cyrus answers "NO Over quota" without
// [OVERQUOTA]. The failures still say the mailbox is full, and the mailbox
// stops at MaxErrors.
func TestCyrusQuotaWithoutOverQuotaCode(t *testing.T) {
	t.Parallel()
	srv := testimap.SharedCyrus(t)
	u := srv.NewUser(t)
	srv.SetQuota(t, u.Name, 100) // KB: room for about ten of the messages below
	dst := peer{addr: srv.Addr, user: u.Name, password: u.Password,
		ep: imapconn.Endpoint{Host: srv.Host, Port: srv.Port, Security: imapconn.SecurityStartTLS, User: u.Name, Password: u.Password, AllowPlaintext: true}}
	src := dovecotPeer(t)
	c := testimap.Dial(t, src.addr, src.user, src.password)
	var msgs []string
	for i := range 40 {
		msgs = append(msgs, plainMessage(fmt.Sprintf("q%d", i), fmt.Sprintf("quota %d", i), 8<<10))
	}
	appendTo(t, c, "INBOX", msgs...)

	const maxErrors = 5
	r := migrateOnce(t, engine.Job{Source: src.ep, Dest: dst.ep}, engine.Options{MaxErrors: maxErrors})
	if r.Run.Failed == 0 || r.Run.Failed > maxErrors {
		qc := testimap.Dial(t, dst.addr, dst.user, dst.password)
		q, err := qc.GetQuotaRoot("INBOX").Wait()
		t.Logf("quota: %+v %v", q, err)
		t.Fatalf("%d messages failed, want between 1 and --max-errors %d (copied %d, err %v)", r.Run.Failed, maxErrors, r.Run.Copied, r.Err)
	}
	for _, f := range r.Failures {
		if !strings.Contains(f.ServerText, "Over quota") || !strings.Contains(strings.ToLower(f.Hint), "quota") {
			t.Errorf("failure %+v: want Cyrus's words and the quota hint", f)
		}
	}
}
