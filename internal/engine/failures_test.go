package engine_test

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
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testimap"
)

// without is the snapshot with one message of a folder left out.
func without(s testimap.Snapshot, folder string, message string) testimap.Snapshot {
	out := testimap.Snapshot{}
	for f, ms := range s {
		out[f] = slices.Clone(ms)
		if f == folder {
			i := slices.Index(out[f], message)
			out[f] = slices.Delete(out[f], i, i+1)
		}
	}
	return out
}

// missingOne finds the one message of want that got lacks.
func missingOne(t *testing.T, want, got testimap.Snapshot) (folder, message string) {
	t.Helper()
	for f, ms := range want {
		for _, m := range ms {
			if !slices.Contains(got[f], m) {
				if folder != "" {
					t.Fatalf("more than one message missing: %s and %s", folder, f)
				}
				folder, message = f, m
			}
		}
	}
	if folder == "" {
		t.Fatal("no message is missing")
	}
	return folder, message
}

func requireOneFailure(t *testing.T, r *engine.Result, folder string, uid uint32, words ...string) store.Failure {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("the mailbox failed: %v", r.Err)
	}
	if r.Run.Failed != 1 || len(r.Failures) != 1 {
		t.Fatalf("failed %d, failures %+v; want exactly one", r.Run.Failed, r.Failures)
	}
	f := r.Failures[0]
	if f.Folder != folder || (uid != 0 && f.UID != uid) || f.UID == 0 || f.Hint == "" || f.ServerText == "" {
		t.Fatalf("failure = %+v, want folder %s UID %d with the server's words and a hint", f, folder, uid)
	}
	for _, w := range words {
		if !strings.Contains(f.ServerText+" "+f.Hint, w) {
			t.Fatalf("failure %+v does not say %q", f, w)
		}
	}
	return f
}

// TestUnreadableSourceMessageIsSetAside: the source answers BYE whenever a
// FETCH reaches one message's headers or body (Dovecot with a message file
// it cannot read), or only its body (the headers in the server's cache).
// That message is one reported failure, the rest of the mailbox is copied,
// and Retry errors copies it once it can be read.
func TestUnreadableSourceMessageIsSetAside(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		bodiesOnly bool
	}{{"headers and body", false}, {"body only", true}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, smallCorpus(13))
			folder, biggest := "", 0
			for f, ms := range b.sourceSnap {
				if len(ms) > biggest {
					folder, biggest = f, len(ms)
				}
			}
			uid := uint32(biggest/2 + 1)
			b.src.Faults.Unreadable = map[string][]uint32{folder: {uid}}
			b.src.Faults.UnreadableBodiesOnly = tt.bodiesOnly
			prog := &engine.Progress{}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			r := engine.New(b.st, b.opts).Migrate(ctx, b.job, prog)
			f := requireOneFailure(t, r, folder, uid, "Internal error", "Retry errors")
			if f.Size == 0 || tt.bodiesOnly && f.Subject == "" {
				t.Fatalf("failure without the message's size or subject: %+v", f)
			}
			if r.Run.Copied != int64(len(b.corpus.Messages))-1 {
				t.Fatalf("copied %d of %d", r.Run.Copied, len(b.corpus.Messages))
			}
			got := testimap.TakeSnapshot(t, b.dst.Addr, user, pass)
			if _, m := missingOne(t, b.sourceSnap, got); without(b.sourceSnap, folder, m).Diff(got) != "" {
				t.Fatalf("destination differs beyond the unreadable message:\n%s", without(b.sourceSnap, folder, m).Diff(got))
			}
			if prog.Retries.Load() > 8 {
				t.Fatalf("%d reconnections for one unreadable message", prog.Retries.Load())
			}

			// Still unreadable: Full reports it again and copies nothing else.
			r = b.run(t, nil)
			requireOneFailure(t, r, folder, uid)
			if r.Run.Copied != 0 {
				t.Fatalf("copied %d", r.Run.Copied)
			}

			// Readable again: Retry errors copies it.
			b.src.Faults.Unreadable = nil
			r = b.run(t, func(o *engine.Options) { o.Pass = engine.PassRetry })
			requireOK(t, r)
			if r.Run.Copied != 1 || len(r.Failures) != 0 {
				t.Fatalf("retry copied %d, failures left %+v", r.Run.Copied, r.Failures)
			}
			b.requireExact(t)
		})
	}
}

// TestDovecotUnreadableMessage: a real Dovecot whose message file cannot be
// read answers BYE on the FETCH that reaches it.
func TestDovecotUnreadableMessage(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("this test makes a message file unreadable for Dovecot's mail user; it runs as root")
	}
	users := []testimap.User{{Name: user, Password: pass}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: users})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutMaildirPP, Users: users})
	c := testimap.Dial(t, src.Addr, user, pass)
	mail := corpus.Generate(corpus.Spec{Seed: 41, Messages: 200, Folders: 3, MaxSize: 64 << 10})
	if err := corpus.Load(context.Background(), c, mail); err != nil {
		t.Fatal(err)
	}
	want := testimap.TakeSnapshot(t, src.Addr, user, pass)
	files, _ := filepath.Glob(filepath.Join(src.MailDir(user), "cur", "*"))
	if len(files) < 3 {
		t.Fatalf("INBOX holds %d message files", len(files))
	}
	slices.Sort(files)
	unreadable := files[len(files)/2]
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	job := engine.Job{Source: dovecotEndpoint(src, user), Dest: dovecotEndpoint(dst, user)}
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	opts := engine.Options{MaxBackoff: 20 * time.Millisecond}
	prog := &engine.Progress{}
	run := func(pass engine.Pass) *engine.Result {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		o := opts
		o.Pass = pass
		return engine.New(st, o).Migrate(ctx, job, prog)
	}
	r := run(engine.PassFull)
	t.Logf("%d reconnections; failure %+v", prog.Retries.Load(), r.Failures)
	f := requireOneFailure(t, r, "INBOX", 0, "Internal error", "Retry errors")
	if f.Size == 0 {
		t.Fatalf("failure without the message's size: %+v", f)
	}
	if r.Run.Copied != int64(len(mail.Messages))-1 {
		t.Fatalf("copied %d of %d", r.Run.Copied, len(mail.Messages))
	}
	got := testimap.TakeSnapshot(t, dst.Addr, user, pass)
	if _, m := missingOne(t, want, got); without(want, "INBOX", m).Diff(got) != "" {
		t.Fatalf("destination differs beyond the unreadable message:\n%s", without(want, "INBOX", m).Diff(got))
	}

	if err := os.Chmod(unreadable, 0o600); err != nil {
		t.Fatal(err)
	}
	prog = &engine.Progress{}
	r = run(engine.PassRetry)
	requireOK(t, r)
	if r.Run.Copied != 1 || len(r.Failures) != 0 {
		t.Fatalf("retry copied %d, failures left %+v", r.Run.Copied, r.Failures)
	}
	if d := want.Diff(testimap.TakeSnapshot(t, dst.Addr, user, pass)); d != "" {
		t.Fatalf("after Retry errors the destination differs:\n%s", d)
	}
}

// TestRefusedFlagUpdateIsReported: the destination refuses a STORE past
// its keyword limit (Cyrus: "Too many user flags in mailbox"). Each run
// reports it once for the folder and goes on; other flag changes arrive.
func TestRefusedFlagUpdateIsReported(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(14))
	b.dst.Faults.KeywordLimit = 20
	requireOK(t, b.run(t, nil))

	c := testimap.Dial(t, b.src.Addr, user, pass)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var many []imap.Flag
	for i := range 30 {
		many = append(many, imap.Flag(fmt.Sprintf("$Project%d", i)))
	}
	var first, rest imap.UIDSet
	first.AddNum(1)
	rest.AddRange(2, 4)
	if err := c.Store(first, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: many}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(rest, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		r := b.run(t, nil)
		f := requireOneFailure(t, r, "INBOX", 1, "Too many user flags")
		if f.Subject == "" || f.Size == 0 {
			t.Fatalf("run %d: failure lacks the message's subject or size: %+v", run, f)
		}
		if run == 0 && r.Run.FlagsUpdated != 3 {
			t.Fatalf("flags updated on %d messages, want the 3 the destination accepts", r.Run.FlagsUpdated)
		}
	}
	// The limit raised: the next Full pass stores the keywords and clears the failure.
	b.dst.Faults.KeywordLimit = 0
	b.sourceSnap = testimap.TakeSnapshot(t, b.src.Addr, user, pass)
	r := b.run(t, nil)
	requireOK(t, r)
	if len(r.Failures) != 0 {
		t.Fatalf("failures left: %+v", r.Failures)
	}
	b.requireExact(t)
}

// TestKeywordsTheDestinationWillNotStoreAreReported: PERMANENTFLAGS with
// $Forwarded only, without \*: the other keywords cannot be kept, and
// each folder that had them says which, once.
func TestKeywordsTheDestinationWillNotStoreAreReported(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(15))
	b.dst.Faults.OnlyKeywords = []imap.Flag{corpus.KeywordFwd}
	want := map[string]map[string]bool{} // folder -> keywords lost
	for _, m := range b.corpus.Messages {
		for _, f := range m.Flags {
			if !strings.HasPrefix(f, `\`) && f != corpus.KeywordFwd {
				folder := b.corpus.Folders[m.Folder].Name()
				if want[folder] == nil {
					want[folder] = map[string]bool{}
				}
				want[folder][f] = true
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("the corpus has no keyword but $Forwarded")
	}
	r := b.run(t, func(o *engine.Options) { o.MaxErrors = 1000 })
	if r.Err != nil || r.Run.Copied != int64(len(b.corpus.Messages)) {
		t.Fatalf("err %v, copied %d of %d", r.Err, r.Run.Copied, len(b.corpus.Messages))
	}
	got := map[string]bool{}
	for _, f := range r.Failures {
		if got[f.Folder] || strings.Contains(f.ServerText, corpus.KeywordFwd) || f.Hint == "" || f.Subject == "" {
			t.Fatalf("failure %+v: want one per folder, without $Forwarded", f)
		}
		for k := range want[f.Folder] {
			if !strings.Contains(strings.ToLower(f.ServerText), strings.ToLower(k)) { // keywords are case-insensitive
				t.Fatalf("failure %+v does not name %s", f, k)
			}
		}
		got[f.Folder] = true
	}
	if len(got) != len(want) || r.Run.Failed != int64(len(want)) {
		t.Fatalf("reported folders %v (failed %d), want %v", got, r.Run.Failed, want)
	}

	// A keyword added at the source later is reported by the flag update.
	c := testimap.Dial(t, b.src.Addr, user, pass)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var set imap.UIDSet
	set.AddRange(2, 3)
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{"$Later", imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	r = b.run(t, nil)
	if r.Err != nil || r.Run.Failed != 1 || r.Run.FlagsUpdated != 2 {
		t.Fatalf("err %v, failed %d, flags updated %d; want one report and both updates", r.Err, r.Run.Failed, r.Run.FlagsUpdated)
	}
	for _, f := range r.Failures {
		if f.Folder == "INBOX" && f.UID == 2 {
			if !strings.Contains(strings.ToLower(f.ServerText), "$later") || f.Subject == "" {
				t.Fatalf("failure %+v: want $Later named, with the subject", f)
			}
			return
		}
	}
	t.Fatalf("no report for INBOX UID 2: %+v", r.Failures)
}

// TestMaxErrorsHoldsExactly: a full destination refuses every APPEND with
// Cyrus's words (no [OVERQUOTA] code). With pipelined APPENDs in flight,
// no more than --max-errors are recorded as failed, each with the quota
// hint, and the mailbox says it stopped at the limit.
func TestMaxErrorsHoldsExactly(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"Over quota", "Quota exceeded (mailbox for user is full)", "Mailbox is full"} {
		t.Run(text, func(t *testing.T) {
			t.Parallel()
			b := setup(t, smallCorpus(6))
			b.dst.Faults.Set(func(int, string, int64) error {
				return &imap.Error{Type: imap.StatusResponseTypeNo, Text: text}
			}, nil)
			r := b.run(t, func(o *engine.Options) { o.MaxErrors = 7 })
			if r.Err == nil || !strings.Contains(r.Err.Error(), "--max-errors") || r.Run.Status != "failed" {
				t.Fatalf("err = %v (%s), want the --max-errors stop", r.Err, r.Run.Status)
			}
			if r.Run.Failed != 7 || len(r.Failures) != 7 {
				t.Fatalf("failed %d, %d failures recorded; the limit is 7", r.Run.Failed, len(r.Failures))
			}
			for _, f := range r.Failures {
				if !strings.Contains(f.Hint, "quota") {
					t.Fatalf("failure without the quota hint: %+v", f)
				}
			}
		})
	}
}
