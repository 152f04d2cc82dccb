package engine_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testimap"
)

const (
	user = "alice@example.org"
	pass = "secret-pw"
)

type testBundle struct {
	src, dst   *testimap.MemServer
	job        engine.Job
	statePath  string
	st         store.Store
	corpus     *corpus.Corpus
	opts       engine.Options
	sourceSnap testimap.Snapshot
}

func endpoint(addr string) imapconn.Endpoint {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return imapconn.Endpoint{Host: host, Port: p, Security: imapconn.SecurityStartTLS, User: user, Password: pass, AllowPlaintext: true}
}

func setup(t *testing.T, c *corpus.Corpus) *testBundle {
	t.Helper()
	b := &testBundle{corpus: c}
	b.src = testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	b.dst = testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	cl := testimap.Dial(t, b.src.Addr, user, pass)
	if err := corpus.Load(context.Background(), cl, c); err != nil {
		t.Fatalf("load corpus: %v", err)
	}
	cl.Logout().Wait()
	b.job = engine.Job{Source: endpoint(b.src.Addr), Dest: endpoint(b.dst.Addr)}
	b.statePath = filepath.Join(t.TempDir(), "state.db")
	b.openStore(t)
	b.opts = engine.Options{Conn: imapconn.Options{Timeout: 5 * time.Second}, MaxBackoff: 50 * time.Millisecond}
	b.sourceSnap = testimap.TakeSnapshot(t, b.src.Addr, user, pass)
	return b
}

func (b *testBundle) openStore(t *testing.T) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), b.statePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b.st = st
}

func (b *testBundle) run(t *testing.T, mutate func(*engine.Options)) *engine.Result {
	t.Helper()
	opts := b.opts
	if mutate != nil {
		mutate(&opts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return engine.New(b.st, opts).Migrate(ctx, b.job, nil)
}

func (b *testBundle) requireExact(t *testing.T) {
	t.Helper()
	got := testimap.TakeSnapshot(t, b.dst.Addr, user, pass)
	if d := b.sourceSnap.Diff(got); d != "" {
		t.Fatalf("destination differs from source:\n%s", d)
	}
}

func smallCorpus(seed int64) *corpus.Corpus {
	return corpus.Generate(corpus.Spec{Seed: seed, Messages: 150, Folders: 8, MaxSize: 200 << 10})
}

func requireOK(t *testing.T, r *engine.Result) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("mailbox failed: %v", r.Err)
	}
	if r.Run.Failed != 0 {
		t.Fatalf("%d messages failed: %+v", r.Run.Failed, r.Failures)
	}
}

func TestFullCopyIsExactAndRerunCopiesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(1))
	r := b.run(t, nil)
	requireOK(t, r)
	if r.Run.Copied != int64(len(b.corpus.Messages)) {
		t.Fatalf("copied %d, want %d", r.Run.Copied, len(b.corpus.Messages))
	}
	b.requireExact(t)

	r = b.run(t, nil)
	requireOK(t, r)
	if r.Run.Copied != 0 || r.Run.Skipped != int64(len(b.corpus.Messages)) {
		t.Fatalf("re-run copied %d skipped %d, want 0 and %d", r.Run.Copied, r.Run.Skipped, len(b.corpus.Messages))
	}
	b.requireExact(t)
	runs, _ := b.st.Runs(context.Background(), mustMailbox(t, b))
	if len(runs) != 2 || runs[0].Copied != int64(len(b.corpus.Messages)) || runs[0].CopiedBytes != b.corpus.TotalBytes() {
		t.Fatalf("stored runs = %+v", runs)
	}
}

func mustMailbox(t *testing.T, b *testBundle) int64 {
	id, err := b.st.Mailbox(context.Background(), b.job.Key())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestLostStateMatchesDestinationByContent(t *testing.T) {
	t.Parallel()
	b := setup(t, corpus.Awkward(7))
	requireOK(t, b.run(t, nil))
	// A fresh state file: the destination must be recognised, not copied again.
	b.statePath = filepath.Join(t.TempDir(), "other.db")
	b.openStore(t)
	r := b.run(t, nil)
	requireOK(t, r)
	if r.Run.Copied != 0 {
		t.Logf("diff: %s", b.sourceSnap.Diff(testimap.TakeSnapshot(t, b.dst.Addr, user, pass)))
		t.Fatalf("copied %d messages again after losing the state", r.Run.Copied)
	}
	b.requireExact(t)
}

func TestPartialDestinationWithLookAlikesCopiesTheMissingOne(t *testing.T) {
	t.Parallel()
	// Two different messages share Message-ID, Date and size: only bodies differ.
	b := setup(t, corpus.Awkward(3))
	// Copy everything but fail the second of the look-alikes permanently, then forget the state.
	var twins []int64
	for _, m := range b.corpus.Messages {
		if m.MessageID != "" {
			n := 0
			for _, o := range b.corpus.Messages {
				if o.MessageID == m.MessageID {
					n++
				}
			}
			if n == 2 {
				twins = append(twins, m.Size)
			}
		}
	}
	if len(twins) != 2 {
		t.Fatalf("awkward corpus has %d look-alike messages, want 2", len(twins))
	}
	var seen atomic.Int32
	b.dst.Faults.Set(func(n int, mailbox string, size int64) error {
		if size == twins[0] && seen.Add(1) == 2 {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "rejected for the test"}
		}
		return nil
	}, nil)
	r := b.run(t, nil)
	if r.Run.Failed != 1 {
		t.Fatalf("failed %d, want 1", r.Run.Failed)
	}
	b.dst.Faults.Set(nil, nil)
	b.statePath = filepath.Join(t.TempDir(), "other.db")
	b.openStore(t)
	r = b.run(t, nil)
	requireOK(t, r)
	if r.Run.Copied != 1 {
		t.Fatalf("copied %d, want exactly the missing look-alike", r.Run.Copied)
	}
	b.requireExact(t)
}

func TestTemporaryFaultsAreRetriedWithoutDuplicates(t *testing.T) {
	t.Parallel()
	throttled := &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Request is throttled. Suggested Backoff Time: 20 milliseconds"}
	tests := []struct {
		name   string
		append func(n int, mailbox string, size int64) error
		fetch  func(n int) error
		after  func(n int) error
	}{
		{"connection dropped after the message was stored", nil, nil, func(n int) error {
			if n%29 == 0 && n < 150 {
				return testimap.ErrDrop
			}
			return nil
		}},
		{"connection dropped during APPEND", func(n int, _ string, _ int64) error {
			if n%37 == 0 && n < 150 {
				return testimap.ErrDrop
			}
			return nil
		}, nil, nil},
		{"throttled", func(n int, _ string, _ int64) error {
			if n%41 == 0 && n < 150 {
				return throttled
			}
			return nil
		}, nil, nil},
		{"unavailable", func(n int, _ string, _ int64) error {
			if n == 20 || n == 90 {
				return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "try later"}
			}
			return nil
		}, nil, nil},
		{"connection dropped during FETCH", nil, func(n int) error {
			if n == 2 || n == 5 {
				return testimap.ErrDrop
			}
			return nil
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, smallCorpus(2))
			if tt.append != nil {
				b.dst.Faults.Set(tt.append, nil)
			}
			b.dst.Faults.AfterAppend = tt.after
			if tt.fetch != nil {
				b.src.Faults.Set(nil, tt.fetch)
			}
			ctx := context.Background()
			prog := &engine.Progress{}
			r := engine.New(b.st, b.opts).Migrate(ctx, b.job, prog)
			requireOK(t, r)
			if prog.Retries.Load() == 0 {
				t.Fatal("no retry happened: the fault was not injected")
			}
			b.requireExact(t)
		})
	}
}

func TestBigFolderSurvivesFaults(t *testing.T) {
	t.Parallel()
	b := setup(t, corpus.Generate(corpus.Spec{Seed: 31, Messages: 4200, Folders: 1, MaxSize: 8 << 10}))
	b.dst.Faults.AfterAppend = func(n int) error {
		if n == 1200 || n == 2900 {
			return testimap.ErrDrop // stored, but the client never hears so
		}
		return nil
	}
	b.src.Faults.Set(nil, func(n int) error {
		if n == 9 {
			return testimap.ErrDrop
		}
		return nil
	})
	prog := &engine.Progress{}
	r := engine.New(b.st, b.opts).Migrate(context.Background(), b.job, prog)
	requireOK(t, r)
	if prog.Retries.Load() == 0 {
		t.Fatal("no fault happened")
	}
	b.requireExact(t)
}

func TestSilentServerIsDetected(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(4))
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	b.src.Faults.Set(nil, func(n int) error {
		if n == 1 {
			<-release // never answers while the test runs
		}
		return nil
	})
	prog := &engine.Progress{}
	opts := b.opts
	opts.Conn.Timeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := engine.New(b.st, opts).Migrate(ctx, b.job, prog)
	requireOK(t, r)
	if prog.Retries.Load() == 0 {
		t.Fatal("expected a retry after the dead connection")
	}
	b.requireExact(t)
}

func TestPermanentRejectionsAreReportedAndMailboxGoesOn(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(5))
	var rejectedSize atomic.Int64
	b.dst.Faults.Set(func(n int, _ string, size int64) error {
		if n == 10 {
			rejectedSize.Store(size)
			return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Message contains invalid header"}
		}
		return nil
	}, nil)
	r := b.run(t, nil)
	if r.Err != nil || r.Run.Failed != 1 || r.Run.Copied != int64(len(b.corpus.Messages))-1 {
		t.Fatalf("err=%v failed=%d copied=%d", r.Err, r.Run.Failed, r.Run.Copied)
	}
	f := r.Failures[0]
	if f.UID == 0 || f.Folder == "" || f.Size != rejectedSize.Load() || !strings.Contains(f.ServerText, "invalid header") || f.Hint == "" || f.Subject == "" {
		t.Fatalf("failure lacks detail: %+v", f)
	}
	// Retry errors copies just that one.
	b.dst.Faults.Set(nil, nil)
	r = b.run(t, func(o *engine.Options) { o.Pass = engine.PassRetry })
	requireOK(t, r)
	if r.Run.Copied != 1 || len(r.Failures) != 0 {
		t.Fatalf("retry copied %d, failures left %d", r.Run.Copied, len(r.Failures))
	}
	b.requireExact(t)
}

func TestMessageRefusedAgainAndAgainIsSetAside(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(12))
	// The victim is the one message of its size, so the hook knows it.
	sizes := map[int64]int{}
	for _, m := range b.corpus.Messages {
		sizes[m.Size]++
	}
	var victim int64
	for _, m := range b.corpus.Messages {
		if sizes[m.Size] == 1 {
			victim = m.Size
			break
		}
	}
	if victim == 0 {
		t.Fatal("no message of a unique size in the corpus")
	}
	b.dst.Faults.Set(func(n int, _ string, size int64) error {
		if size == victim {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit, Text: "message exceeds a limit"}
		}
		return nil
	}, nil)
	r := b.run(t, nil)
	if r.Err != nil || r.Run.Failed != 1 || r.Run.Copied != int64(len(b.corpus.Messages))-1 {
		t.Fatalf("err=%v failed=%d copied=%d", r.Err, r.Run.Failed, r.Run.Copied)
	}
	if f := r.Failures[0]; !f.Temporary || !strings.Contains(f.Hint, "Retry errors") {
		t.Fatalf("failure = %+v", f)
	}
}

func TestMaxErrorsStopsTheMailbox(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(6))
	b.dst.Faults.Set(func(int, string, int64) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "no"}
	}, nil)
	r := b.run(t, func(o *engine.Options) { o.MaxErrors = 5; o.Connections = 1 })
	if r.Err == nil || !strings.Contains(r.Err.Error(), "--max-errors") {
		t.Fatalf("err = %v, want the max-errors stop", r.Err)
	}
	if r.Run.Failed != 5 {
		t.Fatalf("failed = %d", r.Run.Failed)
	}
}

func TestOversizedMessagesAreReportedNotSent(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(7))
	const limit = 50 << 10
	var big int
	for _, m := range b.corpus.Messages {
		if m.Size > limit {
			big++
		}
	}
	if big == 0 {
		t.Fatal("corpus has no message above the limit")
	}
	var sentBig atomic.Bool
	b.dst.Faults.Set(func(_ int, _ string, size int64) error {
		if size > limit {
			sentBig.Store(true)
		}
		return nil
	}, nil)
	r := b.run(t, func(o *engine.Options) { o.MaxMessageSize = limit; o.MaxErrors = 1000 })
	if sentBig.Load() {
		t.Fatal("an oversized message was sent")
	}
	if r.Run.Failed != int64(big) || !strings.Contains(r.Failures[0].ServerText, "larger than the limit") {
		t.Fatalf("failed %d (want %d): %+v", r.Run.Failed, big, r.Failures)
	}
}

func TestPasses(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(8))
	// Pre-stage with the cut-off at the median date copies exactly the older half.
	now := time.Now()
	dates := make([]time.Time, len(b.corpus.Messages))
	for i, m := range b.corpus.Messages {
		dates[i] = m.Date
	}
	slices.SortFunc(dates, func(a, b time.Time) int { return a.Compare(b) })
	cutoff := dates[len(dates)/2]
	old := 0
	for _, d := range dates {
		if d.Before(cutoff) {
			old++
		}
	}
	r := b.run(t, func(o *engine.Options) {
		o.Pass = engine.PassPrestage
		o.Now = func() time.Time { return now }
		o.OlderThan = now.Sub(cutoff)
	})
	requireOK(t, r)
	if r.Run.Copied != int64(old) || testimap.TakeSnapshot(t, b.dst.Addr, user, pass).Count() != old {
		t.Fatalf("pre-stage copied %d, want the %d older than the cut-off", r.Run.Copied, old)
	}

	// Trial adds at most 10 per folder.
	r = b.run(t, func(o *engine.Options) { o.Pass = engine.PassTrial })
	requireOK(t, r)
	if r.Run.Copied == 0 || r.Run.Copied > int64(engine.TrialLimit*len(b.sourceSnap)) {
		t.Fatalf("trial copied %d", r.Run.Copied)
	}
	before := testimap.TakeSnapshot(t, b.dst.Addr, user, pass)
	for folder := range before {
		if n := len(before[folder]) - countOlder(b, folder, cutoff); n > engine.TrialLimit {
			t.Fatalf("trial copied %d into %s", n, folder)
		}
	}

	// Full: the rest, and nothing twice.
	r = b.run(t, nil)
	requireOK(t, r)
	if r.Run.Copied != int64(len(b.corpus.Messages)-before.Count()) {
		t.Fatalf("full copied %d, want %d", r.Run.Copied, len(b.corpus.Messages)-before.Count())
	}
	b.requireExact(t)

	// Verify credentials moves nothing and reports counts.
	r = b.run(t, func(o *engine.Options) { o.Pass = engine.PassVerify })
	if r.Err != nil || r.Check == nil || r.Check.Source.Messages != int64(len(b.corpus.Messages)) || r.Run.Copied != 0 {
		t.Fatalf("verify: err=%v check=%+v", r.Err, r.Check)
	}
}

func countOlder(b *testBundle, folder string, cutoff time.Time) int {
	n := 0
	for _, m := range b.corpus.Messages {
		if b.corpus.Folders[m.Folder].Name() == folder && m.Date.Before(cutoff) {
			n++
		}
	}
	return n
}

func TestFlagChangesReachTheDestination(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(9))
	requireOK(t, b.run(t, nil))
	c := testimap.Dial(t, b.src.Addr, user, pass)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var set imap.UIDSet
	set.AddRange(1, 5)
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Project"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsDel, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	b.sourceSnap = testimap.TakeSnapshot(t, b.src.Addr, user, pass)
	r := b.run(t, nil)
	requireOK(t, r)
	if r.Run.FlagsUpdated == 0 || r.Run.Copied != 0 {
		t.Fatalf("flags updated %d, copied %d", r.Run.FlagsUpdated, r.Run.Copied)
	}
	b.requireExact(t)
}

func TestWrongPasswordIsAClearPermanentError(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(10))
	b.job.Dest.Password = "wrong"
	r := b.run(t, nil)
	var ie *imapconn.Error
	if r.Err == nil || !errors.As(r.Err, &ie) || ie.Temporary || !strings.Contains(r.Err.Error(), "destination") || !strings.Contains(r.Err.Error(), "password") {
		t.Fatalf("err = %v", r.Err)
	}
	if strings.Contains(r.Err.Error(), "wrong") {
		t.Fatal("the error shows the password")
	}
}

func TestCompareFindsMissingMessages(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(11))
	b.dst.Faults.Set(func(n int, _ string, _ int64) error {
		if n == 3 || n == 4 {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "no"}
		}
		return nil
	}, nil)
	if r := b.run(t, nil); r.Run.Failed != 2 {
		t.Fatalf("failed %d, want the 2 rejected", r.Run.Failed)
	}
	cmp, err := engine.New(nil, b.opts).Compare(context.Background(), b.job)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Missing != 2 || cmp.Complete() || cmp.Extra != 0 {
		t.Fatalf("missing = %d, want 2; extra %d", cmp.Missing, cmp.Extra)
	}
	// New mail at the destination is extra, and does not make it incomplete.
	c := testimap.Dial(t, b.dst.Addr, user, pass)
	msg := "Subject: arrived after cutover\r\n\r\nhello\r\n"
	app := c.Append("INBOX", int64(len(msg)), nil)
	app.Write([]byte(msg))
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}
	b.dst.Faults.Set(nil, nil)
	requireOK(t, b.run(t, func(o *engine.Options) { o.Pass = engine.PassRetry }))
	cmp, err = engine.New(nil, b.opts).Compare(context.Background(), b.job)
	var extras []string
	for _, f := range cmp.Folders {
		extras = append(extras, f.ExtraList...)
	}
	if err != nil || !cmp.Complete() || cmp.Extra != 1 || !strings.Contains(strings.Join(extras, ""), "arrived after cutover") {
		t.Fatalf("after retry: %v %+v", err, cmp)
	}
}

// TestByteBudgetPausesThePassAndTheNextOneGoesOn: a pass with a byte budget
// (what is left of a daily transfer limit) sends no more than that, ends
// paused, and later passes copy the rest: nothing lost, nothing doubled.
func TestByteBudgetPausesThePassAndTheNextOneGoesOn(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(9))
	total, n := b.corpus.TotalBytes(), int64(len(b.corpus.Messages))
	budget := total / 3
	var copied, bytes int64
	for i, tc := range []struct {
		budget int64
		paused bool
	}{{budget, true}, {budget, true}, {0, false}} {
		r := b.run(t, func(o *engine.Options) { o.ByteBudget = tc.budget })
		requireOK(t, r)
		if r.BudgetReached != tc.paused || (r.Run.Status == engine.StatusPausedAtLimit) != tc.paused {
			t.Fatalf("pass %d: paused %v (%s), want %v", i, r.BudgetReached, r.Run.Status, tc.paused)
		}
		if tc.budget > 0 && (r.Run.CopiedBytes > tc.budget || r.Run.CopiedBytes < tc.budget/2 || r.Run.Copied == 0) {
			t.Fatalf("pass %d sent %d bytes (%d messages) on a budget of %d", i, r.Run.CopiedBytes, r.Run.Copied, tc.budget)
		}
		copied += r.Run.Copied
		bytes += r.Run.CopiedBytes
	}
	if copied != n || bytes != total {
		t.Fatalf("copied %d messages, %d bytes over three passes; the mailbox has %d, %d", copied, bytes, n, total)
	}
	b.requireExact(t)
}

// loadFolders fills a source with the folders named (levels separated by
// '/'): each holds two messages of its own and one message every folder
// shares (the same headers, date and body). Where two source folders meet
// in one destination folder, the shared message would be there only once.
func loadFolders(t *testing.T, addr string, folders []string) {
	t.Helper()
	c := testimap.Dial(t, addr, user, pass)
	defer c.Logout()
	date := time.Date(2023, 1, 2, 10, 0, 0, 0, time.UTC)
	put := func(folder, subject, id string, flags []imap.Flag) {
		msg := "From: Ann <ann@example.org>\r\nTo: bob@example.org\r\nSubject: " + subject + "\r\nMessage-ID: <" + id + "@example.org>\r\n" +
			"Date: Mon, 2 Jan 2023 10:00:00 +0000\r\n\r\n" + subject + "\r\n"
		app := c.Append(folder, int64(len(msg)), &imap.AppendOptions{Flags: flags, Time: date})
		app.Write([]byte(msg))
		app.Close()
		if _, err := app.Wait(); err != nil {
			t.Fatalf("append to %s: %v", folder, err)
		}
	}
	for _, f := range folders {
		if f != "INBOX" {
			if err := c.Create(f, nil).Wait(); err != nil {
				t.Fatalf("create %s: %v", f, err)
			}
		}
		put(f, "shared by every folder", "shared", nil)
		put(f, "only in "+f, "one."+f, []imap.Flag{imap.FlagSeen})
		put(f, "also only in "+f, "two."+f, []imap.Flag{imap.FlagFlagged})
	}
}

// requireFolderMap checks that each source folder's mail is exactly in
// the destination folder want names (snapshot paths), and that no other
// destination folder holds mail.
func requireFolderMap(t *testing.T, src, dst testimap.Snapshot, want map[string]string) {
	t.Helper()
	targets := map[string]bool{}
	for from, to := range want {
		targets[to] = true
		if len(src[from]) == 0 {
			t.Fatalf("source folder %s holds no mail", from)
		}
		if d := (testimap.Snapshot{from: src[from]}).Diff(testimap.Snapshot{from: dst[to]}); d != "" {
			t.Errorf("source folder %s → destination %s differs:\n%s", from, to, d)
		}
	}
	for p, ms := range dst {
		if !targets[p] && len(ms) > 0 {
			t.Errorf("destination folder %s holds %d messages no source folder goes to", p, len(ms))
		}
	}
}

func folderMapOf(t *testing.T, st store.Store, job engine.Job) []store.FolderMapping {
	t.Helper()
	mb, err := st.Mailbox(context.Background(), job.Key())
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.FolderMap(context.Background(), mb)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// folderBundle is a source mailbox of named folders (loadFolders) and a
// destination, with one state file.
func folderBundle(t *testing.T, folders []string, dest imapconn.Endpoint) *testBundle {
	t.Helper()
	b := &testBundle{}
	b.src = testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	loadFolders(t, b.src.Addr, folders)
	b.job = engine.Job{Source: endpoint(b.src.Addr), Dest: dest}
	b.statePath = filepath.Join(t.TempDir(), "state.db")
	b.openStore(t)
	b.opts = engine.Options{Conn: imapconn.Options{Timeout: 5 * time.Second}, MaxBackoff: 50 * time.Millisecond}
	b.sourceSnap = testimap.TakeSnapshot(t, b.src.Addr, user, pass)
	return b
}

// secondPassKeepsTheMap runs Full again with the source listing its
// folders in another order: nothing is copied and the map is the one the
// first pass made (before).
func (b *testBundle) secondPassKeepsTheMap(t *testing.T, dstAddr string, want map[string]string, before []store.FolderMapping) {
	t.Helper()
	for from := range want {
		if !slices.ContainsFunc(before, func(m store.FolderMapping) bool { return m.Source == from }) {
			t.Fatalf("the first pass kept the map %+v, without %s", before, from)
		}
	}
	b.src.ListReversed.Store(true)
	r := b.run(t, nil)
	requireOK(t, r)
	if r.Run.Copied != 0 || r.Run.Skipped != int64(b.sourceSnap.Count()) {
		t.Fatalf("second pass copied %d, skipped %d of %d", r.Run.Copied, r.Run.Skipped, b.sourceSnap.Count())
	}
	if after := folderMapOf(t, b.st, b.job); !slices.Equal(before, after) {
		t.Fatalf("the folder map changed with the LIST order:\n%+v\nthen\n%+v", before, after)
	}
	requireFolderMap(t, b.sourceSnap, testimap.TakeSnapshot(t, dstAddr, user, pass), want)
}

// TestFoldersDifferingInCaseOnACaseInsensitiveDestination: "Case" and
// "case" would be one folder on a server that ignores case; the second
// gets a name of its own, and the run says so.
func TestFoldersDifferingInCaseOnACaseInsensitiveDestination(t *testing.T) {
	t.Parallel()
	dst := testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	dst.CaseInsensitiveNames.Store(true)
	b := folderBundle(t, []string{"INBOX", "case", "Case"}, endpoint(dst.Addr))
	want := map[string]string{"INBOX": "INBOX", "Case": "Case", "case": "case (2)"}
	r := b.run(t, nil)
	requireOK(t, r)
	requireFolderMap(t, b.sourceSnap, testimap.TakeSnapshot(t, dst.Addr, user, pass), want)
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "case (2)") {
		t.Fatalf("notes = %q, want the renamed folder", r.Notes)
	}
	b.secondPassKeepsTheMap(t, dst.Addr, want, folderMapOf(t, b.st, b.job))
}

// TestRefusedFolderIsOneFailure: a name the destination refuses
// ([CANNOT], or no code) gets a fallback name; a folder it may not create ([NOPERM])
// is one failure, the others are copied, and Retry errors copies that
// folder whole once the destination lets it be created.
func TestRefusedFolderIsOneFailure(t *testing.T) {
	t.Parallel()
	dst := testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	var mayCreateSecret atomic.Bool
	dst.Faults.BeforeCreate = func(name string) error {
		switch {
		case strings.Contains(name, "~"):
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Invalid mailbox name"}
		case name == "INBOX/Inbox": // as a destination with INBOX. refuses INBOX.Inbox, without a code
			return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Invalid mailbox name"}
		case name == "Secret" && !mayCreateSecret.Load():
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm, Text: "Permission denied"}
		}
		return nil
	}
	b := folderBundle(t, []string{"INBOX", "Work", "~tilde", "INBOX/Inbox", "Secret"}, endpoint(dst.Addr))
	want := map[string]string{"INBOX": "INBOX", "Work": "Work", "~tilde": "_tilde", "INBOX/Inbox": "INBOX/Inbox (2)", "Secret": "Secret"}

	r := b.run(t, nil)
	if r.Err != nil || r.Run.Failed != 1 || r.Run.Copied != int64(b.sourceSnap.Count()-len(b.sourceSnap["Secret"])) || r.Run.Status != "completed with errors" {
		t.Fatalf("err=%v failed=%d copied=%d status %q", r.Err, r.Run.Failed, r.Run.Copied, r.Run.Status)
	}
	if len(r.Failures) != 1 {
		t.Fatalf("failures = %+v", r.Failures)
	}
	if f := r.Failures[0]; f.Folder != "Secret" || f.UID != 0 || !strings.Contains(f.ServerText, "Permission denied") || !strings.Contains(f.Hint, "--exclude") {
		t.Fatalf("failure = %+v", f)
	}
	if len(r.Notes) != 2 || !strings.Contains(r.Notes[0], "refused") || !strings.Contains(r.Notes[1], "refused") {
		t.Fatalf("notes = %q, want the two refused names", r.Notes)
	}
	got := testimap.TakeSnapshot(t, dst.Addr, user, pass)
	if len(got["Secret"]) != 0 {
		t.Fatal("Secret was copied although the destination refused it")
	}
	delete(want, "Secret")
	requireFolderMap(t, b.sourceSnap, got, want)

	mayCreateSecret.Store(true)
	r = b.run(t, func(o *engine.Options) { o.Pass = engine.PassRetry })
	requireOK(t, r)
	if r.Run.Copied != int64(len(b.sourceSnap["Secret"])) || len(r.Failures) != 0 {
		t.Fatalf("Retry errors copied %d, failures left %+v", r.Run.Copied, r.Failures)
	}
	want["Secret"] = "Secret"
	requireFolderMap(t, b.sourceSnap, testimap.TakeSnapshot(t, dst.Addr, user, pass), want)
	b.secondPassKeepsTheMap(t, dst.Addr, want, folderMapOf(t, b.st, b.job))
}

// TestCreateOfAnExistingFolderAnsweredWithoutCode: Cyrus answers a CREATE
// of an existing folder "NO Mailbox already exists" without
// [ALREADYEXISTS]. A folder that exists by the time it is created
// (another run, a user, a resumed run) is used, not a failure.
func TestCreateOfAnExistingFolderAnsweredWithoutCode(t *testing.T) {
	t.Parallel()
	dst := testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	dst.AlreadyExistsWithoutCode.Store(true)
	var created atomic.Bool
	dst.Faults.BeforeCreate = func(name string) error {
		if name == "Work" && !created.Swap(true) {
			// Someone else creates it between Ferry's LIST and its CREATE.
			c := testimap.Dial(t, dst.Addr, user, pass)
			defer c.Logout()
			return c.Create("Work", nil).Wait()
		}
		return nil
	}
	b := folderBundle(t, []string{"INBOX", "Work", "Work/Deep"}, endpoint(dst.Addr))
	want := map[string]string{"INBOX": "INBOX", "Work": "Work", "Work/Deep": "Work/Deep"}
	r := b.run(t, nil)
	requireOK(t, r)
	if !created.Load() {
		t.Fatal("the folder was not created behind Ferry's back")
	}
	requireFolderMap(t, b.sourceSnap, testimap.TakeSnapshot(t, dst.Addr, user, pass), want)
	// Resumed without the state, the source listing in another order: the
	// same map, nothing copied twice.
	first := folderMapOf(t, b.st, b.job)
	b.statePath = filepath.Join(t.TempDir(), "other.db")
	b.openStore(t)
	b.secondPassKeepsTheMap(t, dst.Addr, want, first)
}

// TestFolderTheSourceWillNotOpenIsOneFailure: a folder the source refuses
// to open for good (a shared folder without read rights, a name its own
// store cannot take) is that folder's failure; every other folder is
// copied, and a Retry errors pass copies it whole once it can be read.
func TestFolderTheSourceWillNotOpenIsOneFailure(t *testing.T) {
	t.Parallel()
	dst := testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	b := folderBundle(t, []string{"INBOX", "Work", "Shared", "Zeta"}, endpoint(dst.Addr))
	var readable atomic.Bool
	b.src.Faults.BeforeSelect = func(name string) error {
		if name == "Shared" && !readable.Load() {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNoPerm, Text: "Permission denied"}
		}
		return nil
	}
	all := map[string]string{"INBOX": "INBOX", "Work": "Work", "Shared": "Shared", "Zeta": "Zeta"}

	r := b.run(t, nil)
	if r.Err != nil || r.Run.Status != "completed with errors" || r.Run.Failed != 1 ||
		r.Run.Copied != int64(b.sourceSnap.Count()-len(b.sourceSnap["Shared"])) {
		t.Fatalf("err=%v status %q failed=%d copied=%d", r.Err, r.Run.Status, r.Run.Failed, r.Run.Copied)
	}
	if len(r.Failures) != 1 {
		t.Fatalf("failures = %+v", r.Failures)
	}
	if f := r.Failures[0]; f.Folder != "Shared" || f.UID != 0 || !strings.Contains(f.ServerText, "Permission denied") ||
		!strings.Contains(f.Hint, "open folder Shared") || !strings.Contains(f.Hint, "Retry errors") {
		t.Fatalf("failure = %+v", f)
	}
	got := testimap.TakeSnapshot(t, dst.Addr, user, pass)
	if len(got["Shared"]) != 0 {
		t.Fatalf("Shared holds %d messages although the source would not open it", len(got["Shared"]))
	}
	others := maps.Clone(all)
	delete(others, "Shared")
	requireFolderMap(t, b.sourceSnap, got, others)

	readable.Store(true)
	r = b.run(t, func(o *engine.Options) { o.Pass = engine.PassRetry })
	requireOK(t, r)
	if r.Run.Copied != int64(len(b.sourceSnap["Shared"])) || len(r.Failures) != 0 {
		t.Fatalf("Retry errors copied %d, failures left %+v", r.Run.Copied, r.Failures)
	}
	requireFolderMap(t, b.sourceSnap, testimap.TakeSnapshot(t, dst.Addr, user, pass), all)
}

// A mailbox opens as many connection pairs as its mail is worth: a small
// one copies its folders over one pair (each pair costs the servers
// logins), a large one uses every pair allowed. A small mailbox appends on
// its one destination connection, near or far.
func TestConnectionPairsFitTheMailbox(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                      string
		messages                  int
		oneWay                    time.Duration // added before each write to the destination
		wantSrcLogins, wantDstLog int64
	}{
		{"small mailbox: one pair, no appender", 20, 0, 1, 1},
		// Its APPENDs do not wait for the server's "+" (LITERAL+): a far
		// destination is no reason for a second login.
		{"small mailbox over a slow link: one pair, no appender", 20, 5 * time.Millisecond, 1, 1},
		{"large mailbox: four pairs", 2400, 0, 4, 8}, // each destination connection with its appender
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, corpus.Generate(corpus.Spec{Seed: 13, Messages: tc.messages, Folders: 3, MinSize: 512, MaxSize: 2048}))
			srcBefore, dstBefore := b.src.Logins.Load(), b.dst.Logins.Load()
			srcNS, dstNS := b.src.Namespaces.Load(), b.dst.Namespaces.Load()
			res := b.run(t, func(o *engine.Options) {
				o.Connections = 4
				if tc.oneWay > 0 {
					o.Conn.DialContext = slowToward(b.dst.Addr, tc.oneWay)
				}
			})
			if res.Err != nil {
				t.Fatalf("migrate: %v", res.Err)
			}
			if res.Run.Copied != int64(tc.messages) {
				t.Fatalf("copied %d, want %d", res.Run.Copied, tc.messages)
			}
			if got := b.src.Logins.Load() - srcBefore; got != tc.wantSrcLogins {
				t.Errorf("source logins: %d, want %d", got, tc.wantSrcLogins)
			}
			if got := b.dst.Logins.Load() - dstBefore; got != tc.wantDstLog {
				t.Errorf("destination logins: %d, want %d", got, tc.wantDstLog)
			}
			// Only the first pair reads the namespaces (with its LIST).
			if src, dst := b.src.Namespaces.Load()-srcNS, b.dst.Namespaces.Load()-dstNS; src != 1 || dst != 1 {
				t.Errorf("NAMESPACE asked %d times at the source, %d at the destination, want once each", src, dst)
			}
			b.requireExact(t)
		})
	}
}

// TestPlanCountsFoldersWithTheirListing: a source that announces
// LIST-STATUS counts its folders in the answer to the LIST planning sends
// anyway: no STATUS command, one round trip less. A source without it, or
// one that leaves the STATUS answers out of the LIST, is asked STATUS for
// each folder, and the connection pairs still fit the mailbox.
func TestPlanCountsFoldersWithTheirListing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		messages     int
		server       func(*testimap.MemServer)
		wantStatuses int64 // at the source, while planning
		wantLogins   int64 // at the source: the connection pairs
	}{
		{"LIST-STATUS: no STATUS", 20, func(*testimap.MemServer) {}, 0, 1},
		{"LIST-STATUS, large mailbox: four pairs", 2400, func(*testimap.MemServer) {}, 0, 4},
		{"LIST-STATUS without STATUS=SIZE: counts without sizes, no STATUS", 2400, func(s *testimap.MemServer) { s.NoStatusSize.Store(true) }, 0, 4},
		{"no LIST-STATUS: STATUS per folder", 20, func(s *testimap.MemServer) { s.NoListStatus.Store(true) }, 4, 1},
		{"LIST without the STATUS answers: STATUS per folder", 2400, func(s *testimap.MemServer) { s.ListWithoutStatus.Store(true) }, 4, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, corpus.Generate(corpus.Spec{Seed: 14, Messages: tc.messages, Folders: 3, MinSize: 512, MaxSize: 2048}))
			tc.server(b.src)
			statuses, logins := b.src.Statuses.Load(), b.src.Logins.Load()
			res := b.run(t, func(o *engine.Options) { o.Connections = 4 })
			if res.Err != nil {
				t.Fatalf("migrate: %v", res.Err)
			}
			if res.Run.Copied != int64(tc.messages) {
				t.Fatalf("copied %d, want %d", res.Run.Copied, tc.messages)
			}
			if got := b.src.Statuses.Load() - statuses; got != tc.wantStatuses {
				t.Errorf("STATUS commands at the source: %d, want %d", got, tc.wantStatuses)
			}
			if got := b.src.Logins.Load() - logins; got != tc.wantLogins {
				t.Errorf("source logins: %d, want %d", got, tc.wantLogins)
			}
			b.requireExact(t)
		})
	}
}

// slowToward dials like net.Dialer, but each write to addr waits oneWay
// first: a far destination, as the client sees it.
func slowToward(addr string, oneWay time.Duration) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, address)
		if err != nil || address != addr {
			return c, err
		}
		return &delayedWrites{Conn: c, delay: oneWay}, nil
	}
}

type delayedWrites struct {
	net.Conn
	delay time.Duration
}

func (d *delayedWrites) Write(p []byte) (int, error) {
	time.Sleep(d.delay) // the link's latency, not a wait for something to settle
	return d.Conn.Write(p)
}

// saveCounter counts the folder state writes of a run.
type saveCounter struct {
	store.Store
	saves atomic.Int64
}

func (c *saveCounter) SaveFolder(ctx context.Context, mailbox int64, f store.FolderState) error {
	c.saves.Add(1)
	return c.Store.SaveFolder(ctx, mailbox, f)
}

// A folder new to the state whose destination is empty has its state
// written when its copy starts (Appending) and when it ends, not also
// before; an empty folder once. A second run still copies nothing.
func TestNewFolderStateIsWrittenWhenTheCopyStarts(t *testing.T) {
	t.Parallel()
	b := setup(t, corpus.Generate(corpus.Spec{Seed: 21, Messages: 30, Folders: 3, MinSize: 512, MaxSize: 2048}))
	counter := &saveCounter{Store: b.st}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := engine.New(counter, b.opts).Migrate(ctx, b.job, nil)
	requireOK(t, res)
	want := int64(0)
	for _, msgs := range b.sourceSnap {
		if len(msgs) > 0 {
			want += 2
		} else {
			want++
		}
	}
	if got := counter.saves.Load(); got != want {
		t.Errorf("%d folder state writes for %d folders, want %d", got, len(b.sourceSnap), want)
	}
	b.requireExact(t)
	again := b.run(t, nil)
	requireOK(t, again)
	if again.Run.Copied != 0 {
		t.Fatalf("second run copied %d", again.Run.Copied)
	}
}

// A first copy into empty destination folders reads each folder with one
// FETCH (identities and bodies together), and each message once; a later
// pass, with copies recorded, reads identities first again. When the
// destination drops the connection in the middle, the next attempt goes
// the usual way and the copy is exact, without duplicates.
func TestFirstCopyReadsEachFolderOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		dropAfter int // the destination drops the connection after this APPEND (0: never)
	}{
		{"clean", 0},
		{"destination drops the connection after the 7th message", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, corpus.Generate(corpus.Spec{Seed: 31, Messages: 40, Folders: 3, MinSize: 512, MaxSize: 8 << 10}))
			if tc.dropAfter > 0 {
				b.dst.Faults.AfterAppend = func(n int) error {
					if n == tc.dropAfter {
						return testimap.ErrDrop
					}
					return nil
				}
			}
			folders := int64(0)
			for _, msgs := range b.sourceSnap {
				if len(msgs) > 0 {
					folders++
				}
			}
			fetches := b.src.Fetches.Load()
			res := b.run(t, nil)
			requireOK(t, res)
			b.requireExact(t)
			got := b.src.Fetches.Load() - fetches
			if tc.dropAfter == 0 {
				if res.Run.Copied != int64(len(b.corpus.Messages)) || res.Run.ToCopy != res.Run.Copied {
					t.Fatalf("copied %d of %d to copy, want %d", res.Run.Copied, res.Run.ToCopy, len(b.corpus.Messages))
				}
				if got != folders {
					t.Errorf("%d source FETCHes for %d folders holding mail, want one each", got, folders)
				}
			} else if got <= folders {
				t.Errorf("%d source FETCHes: the dropped connection was not retried", got)
			}
			again := b.run(t, nil)
			requireOK(t, again)
			if again.Run.Copied != 0 {
				t.Fatalf("second run copied %d", again.Run.Copied)
			}
			b.requireExact(t)
		})
	}
}

// A run stopped in the middle of first copies (as SIGTERM stops it: the
// run's context ends while APPENDs are in flight) ends within seconds, and
// the next run makes the copy exact: nothing lost, nothing doubled.
func TestFirstCopyStoppedThenRerunIsExact(t *testing.T) {
	t.Parallel()
	for _, stopAt := range []int{1, 4, 12} {
		t.Run("stopped at APPEND "+strconv.Itoa(stopAt), func(t *testing.T) {
			t.Parallel()
			b := setup(t, corpus.Generate(corpus.Spec{Seed: 32, Messages: 40, Folders: 3, MinSize: 512, MaxSize: 8 << 10}))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.dst.Faults.Set(func(n int, _ string, _ int64) error {
				if n == stopAt {
					cancel()
				}
				return nil
			}, nil)
			done := make(chan *engine.Result, 1)
			go func() { done <- engine.New(b.st, b.opts).Migrate(ctx, b.job, nil) }()
			select {
			case res := <-done:
				if res.Run.Status != "stopped" {
					t.Fatalf("run ended %q (%v), want stopped", res.Run.Status, res.Err)
				}
			case <-ctx.Done():
				select {
				case res := <-done:
					if res.Run.Status != "stopped" {
						t.Fatalf("run ended %q (%v), want stopped", res.Run.Status, res.Err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the run did not end within 10 s of its stop")
				}
			case <-time.After(time.Minute):
				t.Fatal("the run neither stopped nor ended")
			}
			b.dst.Faults.Set(nil, nil)
			requireOK(t, b.run(t, nil))
			b.requireExact(t)
		})
	}
}
