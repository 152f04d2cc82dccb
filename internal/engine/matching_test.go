package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/testimap"
)

// awkwardExtra is a message appended to the source INBOX beside the
// generated corpus: the kinds of message real destinations alter.
type awkwardExtra struct {
	date    time.Time
	header  string // raw header lines, without the blank line
	body    string
	altered bool // a munging destination changes it (8-bit header bytes or a date before 1980)
}

func awkwardExtras() []awkwardExtra {
	recent := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	old := time.Date(1975, 3, 1, 12, 0, 0, 0, time.UTC)
	twin := "Message-ID: <twin@example.org>\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\nFrom: bank@example.org\r\nTo: alice@example.org\r\nSubject: \xc3\x9cberweisung\r\n"
	return []awkwardExtra{
		{recent, "Message-ID: <gruss@example.org>\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\nFrom: J\xfcrgen <j@example.org>\r\nTo: alice@example.org\r\nSubject: Gr\xc3\xbc\xc3\x9fe aus M\xc3\xbcnchen\r\n", "Hallo\r\n", true},
		{old, "Message-ID: <old@example.org>\r\nDate: Sat, 1 Mar 1975 12:00:00 +0000\r\nFrom: archive@example.org\r\nTo: alice@example.org\r\nSubject: from the archive\r\n", "Old mail.\r\n", true},
		{old.Add(24 * time.Hour), "Date: Sun, 2 Mar 1975 12:00:00 +0000\r\nFrom: archiv@example.org\r\nTo: alice@example.org\r\nSubject: Gr\xc3\xbc\xc3\x9fe von 1975, no Message-ID\r\n", "Sehr alt.\r\n", true},
		// Two different messages with one Message-ID, headers and size: both must be copied.
		{recent, twin, "first body\r\n", true},
		{recent, twin, "other body\r\n", true},
		{recent, "Message-ID: <xylophon@example.org>\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\nFrom: music@example.org\r\nTo: alice@example.org\r\nSubject: Xylophon XL\r\n", "plain ASCII with X\r\n", false},
	}
}

// setupWithExtras loads a small corpus and the awkward extras into the source.
func setupWithExtras(t *testing.T, seed int64) *testBundle {
	t.Helper()
	b := setup(t, smallCorpus(seed))
	c := testimap.Dial(t, b.src.Addr, user, pass)
	for _, m := range awkwardExtras() {
		msg := m.header + "\r\n" + m.body
		app := c.Append("INBOX", int64(len(msg)), &imap.AppendOptions{Time: m.date, Flags: []imap.Flag{imap.FlagSeen}})
		if _, err := app.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if err := app.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := app.Wait(); err != nil {
			t.Fatalf("append extra: %v", err)
		}
	}
	c.Logout().Wait()
	b.sourceSnap = testimap.TakeSnapshot(t, b.src.Addr, user, pass)
	return b
}

// requireSameCounts checks that every folder holds as many messages on the
// destination as on the source: nothing missing, nothing doubled.
func (b *testBundle) requireSameCounts(t *testing.T) {
	t.Helper()
	got := testimap.TakeSnapshot(t, b.dst.Addr, user, pass)
	var diffs []string
	for folder, ms := range b.sourceSnap {
		if len(got[folder]) != len(ms) {
			diffs = append(diffs, fmt.Sprintf("%s: %d on the destination, %d at the source", folder, len(got[folder]), len(ms)))
		}
	}
	for folder, ms := range got {
		if _, ok := b.sourceSnap[folder]; !ok && len(ms) > 0 {
			diffs = append(diffs, fmt.Sprintf("%s: %d on the destination, none at the source", folder, len(ms)))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("message counts differ:\n%s", strings.Join(diffs, "\n"))
	}
}

// destinationBehaviours are the ways real destinations differ from an
// exact, complete IMAP server that matter to matching.
var destinationBehaviours = []struct {
	name   string
	set    func(*testimap.MemServer)
	alters int // how many of the extras the destination changes
}{
	{"exact server", func(*testimap.MemServer) {}, 0},
	{"no UIDNEXT on SELECT", func(ms *testimap.MemServer) { ms.NoUIDNext.Store(true) }, 0},
	{"no UIDPLUS", func(ms *testimap.MemServer) { ms.NoUIDPlus.Store(true) }, 0},
	{"no UIDNEXT and no UIDPLUS", func(ms *testimap.MemServer) { ms.NoUIDNext.Store(true); ms.NoUIDPlus.Store(true) }, 0},
	{"no LITERAL+", func(ms *testimap.MemServer) { ms.NoLiteralPlus.Store(true) }, 0},
	{"Courier-like: no UIDNEXT, no LITERAL+", func(ms *testimap.MemServer) { ms.NoUIDNext.Store(true); ms.NoLiteralPlus.Store(true) }, 0},
	{"8-bit header bytes become X", func(ms *testimap.MemServer) { ms.Munge8bitHeaders.Store(true) }, 4},
	{"dates before 1980 become the append time", func(ms *testimap.MemServer) { ms.OldDatesBecomeToday.Store(true) }, 2},
	{"Cyrus-like: munged headers and dates", func(ms *testimap.MemServer) {
		ms.Munge8bitHeaders.Store(true)
		ms.OldDatesBecomeToday.Store(true)
	}, 5},
}

// requireVerified checks what `ferry verify` says: complete, nothing
// doubled, and the messages the destination changed reported as altered.
func (b *testBundle) requireVerified(t *testing.T, altered int) {
	t.Helper()
	cmp, err := engine.New(nil, b.opts).Compare(context.Background(), b.job)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Complete() || cmp.Missing != 0 || cmp.Doubled != 0 || cmp.Extra != 0 || cmp.Altered != altered {
		t.Fatalf("verify: missing %d, doubled %d, extra %d, altered %d (want %d): %+v", cmp.Missing, cmp.Doubled, cmp.Extra, cmp.Altered, altered, cmp.Folders)
	}
}

func TestMatchingOnDestinationsThatOmitOrAlter(t *testing.T) {
	t.Parallel()
	for i, bh := range destinationBehaviours {
		t.Run(bh.name, func(t *testing.T) {
			t.Parallel()
			t.Run("first copy, re-run, lost state", func(t *testing.T) {
				t.Parallel()
				b := setupWithExtras(t, int64(40+i))
				bh.set(b.dst)
				n := int64(b.sourceSnap.Count())
				r := b.run(t, nil)
				requireOK(t, r)
				if r.Run.Copied != n {
					t.Fatalf("first copy copied %d, want %d", r.Run.Copied, n)
				}
				b.requireSameCounts(t)
				if bh.alters == 0 {
					b.requireExact(t)
				}
				r = b.run(t, nil)
				requireOK(t, r)
				if r.Run.Copied != 0 {
					t.Fatalf("re-run copied %d, want 0", r.Run.Copied)
				}
				// Flag changes at the source reach copies whose UID the
				// destination did not tell at APPEND time too.
				c := testimap.Dial(t, b.src.Addr, user, pass)
				if _, err := c.Select("INBOX", nil).Wait(); err != nil {
					t.Fatal(err)
				}
				var set imap.UIDSet
				set.AddRange(1, 5)
				if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
					t.Fatal(err)
				}
				c.Logout().Wait()
				b.sourceSnap = testimap.TakeSnapshot(t, b.src.Addr, user, pass)
				r = b.run(t, nil)
				requireOK(t, r)
				if r.Run.Copied != 0 || r.Run.FlagsUpdated == 0 {
					t.Fatalf("flag re-run copied %d, updated flags of %d, want 0 and some", r.Run.Copied, r.Run.FlagsUpdated)
				}
				if bh.alters == 0 {
					b.requireExact(t)
				}
				b.statePath = filepath.Join(t.TempDir(), "lost.db")
				b.openStore(t)
				r = b.run(t, nil)
				requireOK(t, r)
				if r.Run.Copied != 0 {
					t.Fatalf("after a lost state copied %d again, want 0", r.Run.Copied)
				}
				b.requireSameCounts(t)
				if bh.alters == 0 {
					b.requireExact(t)
				}
				b.requireVerified(t, bh.alters)
			})
			t.Run("connection dropped after messages were stored", func(t *testing.T) {
				t.Parallel()
				b := setupWithExtras(t, int64(60+i))
				bh.set(b.dst)
				b.dst.Faults.AfterAppend = func(n int) error {
					if n == 30 || n == 100 || n == 150 {
						return testimap.ErrDrop
					}
					return nil
				}
				prog := &engine.Progress{}
				r := engine.New(b.st, b.opts).Migrate(context.Background(), b.job, prog)
				requireOK(t, r)
				if prog.Retries.Load() == 0 {
					t.Fatal("no retry happened: the fault was not injected")
				}
				b.requireSameCounts(t)
				if bh.alters == 0 {
					b.requireExact(t)
				}
				b.requireVerified(t, bh.alters)
			})
			t.Run("run cancelled mid-copy, then run again", func(t *testing.T) {
				t.Parallel()
				b := setupWithExtras(t, int64(80+i))
				bh.set(b.dst)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				b.dst.Faults.AfterAppend = func(n int) error {
					if n == 70 {
						// Stored, but the run is cancelled and never hears
						// so: whatever was in flight is found next time.
						cancel()
						return testimap.ErrDrop
					}
					return nil
				}
				r := engine.New(b.st, b.opts).Migrate(ctx, b.job, nil)
				if r.Err == nil {
					t.Fatalf("the cancelled run did not stop: %s %+v", r.Run.Status, r.Failures)
				}
				r = b.run(t, nil)
				requireOK(t, r)
				b.requireSameCounts(t)
				if bh.alters == 0 {
					b.requireExact(t)
				}
				b.requireVerified(t, bh.alters)
			})
		})
	}
}

func appendRaw(t *testing.T, addr, folder string, msg []byte, date time.Time) {
	t.Helper()
	c := testimap.Dial(t, addr, user, pass)
	app := c.Append(folder, int64(len(msg)), &imap.AppendOptions{Time: date})
	if _, err := app.Write(msg); err != nil {
		t.Fatalf("append to %s: write: %v", addr, err)
	}
	if err := app.Close(); err != nil {
		t.Fatalf("append to %s: close: %v", addr, err)
	}
	if _, err := app.Wait(); err != nil {
		t.Fatalf("append to %s: %v", addr, err)
	}
	c.Logout().Wait()
}

// TestLostStateHashesLookAlikeBodiesWithoutHoldingThem: two large
// messages with one Message-ID and the same headers, one of them already
// at the destination, and no state: the bodies decide which one is
// there, and are hashed as they arrive, not held. Not parallel: it
// measures what the process allocates.
func TestLostStateHashesLookAlikeBodiesWithoutHoldingThem(t *testing.T) {
	users := []testimap.User{{Name: user, Password: pass}}
	src := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users})
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Users: users})
	const bodySize = 12 << 20
	header := "Message-ID: <big-twin@example.org>\r\nDate: Mon, 6 May 2024 07:08:09 +0000\r\nFrom: scanner@example.org\r\nTo: alice@example.org\r\nSubject: scan\r\n\r\n"
	date := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	twin := func(last byte) []byte {
		line := strings.Repeat("0123456789abcdef", 4) + "\r\n" // 66 bytes a line
		body := []byte(header + strings.Repeat(line, bodySize/len(line)))
		body[len(body)-3] = last
		return body
	}
	appendRaw(t, src.Addr, "INBOX", twin('A'), date)
	appendRaw(t, src.Addr, "INBOX", twin('B'), date)
	appendRaw(t, dst.Addr, "INBOX", twin('B'), date)
	want := testimap.TakeSnapshot(t, src.Addr, user, pass)

	job := engine.Job{Source: dovecotEndpoint(src, user), Dest: dovecotEndpoint(dst, user)}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := migrateOnce(t, job, engine.Options{})
	runtime.ReadMemStats(&after)
	requireOK(t, r)
	if r.Run.Copied != 1 {
		t.Fatalf("copied %d, want the one look-alike the destination lacks", r.Run.Copied)
	}
	if d := want.Diff(testimap.TakeSnapshot(t, dst.Addr, user, pass)); d != "" {
		t.Fatalf("destination differs:\n%s", d)
	}
	// Four bodies are hashed and one is copied: 60 MB went through; a
	// run that holds none of them whole allocates far less than one.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("the run allocated %.1f MB", float64(alloc)/(1<<20))
	if alloc > bodySize {
		t.Fatalf("the run allocated %d MB for 12 MB messages: bodies are held whole", alloc>>20)
	}
}

// TestCompareCountsMissingDoubledAndExtra: every source message needs its
// own copy; a second copy is doubled, new mail is extra, and one remaining
// look-alike does not stand in for its missing twin.
func TestCompareCountsMissingDoubledAndExtra(t *testing.T) {
	t.Parallel()
	b := setupWithExtras(t, 120)
	requireOK(t, b.run(t, nil))
	b.requireVerified(t, 0)

	c := testimap.Dial(t, b.dst.Addr, user, pass)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// Remove the copy of the first twin ("first body") and of one ordinary message.
	uids, err := c.UIDSearch(&imap.SearchCriteria{Body: []string{"first body"}}, nil).Wait()
	if err != nil || len(uids.AllUIDs()) != 1 {
		t.Fatalf("search the twin: %v %v", err, uids)
	}
	var gone imap.UIDSet
	gone.AddNum(uids.AllUIDs()[0], 1)
	if err := c.Store(gone, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.UIDExpunge(gone).Close(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	// A second copy of an extra, and mail that arrived at the destination.
	extra := awkwardExtras()[5]
	appendRaw(t, b.dst.Addr, "INBOX", []byte(extra.header+"\r\n"+extra.body), extra.date)
	appendRaw(t, b.dst.Addr, "INBOX", []byte("Subject: arrived after cutover\r\n\r\nhello\r\n"), time.Now())

	cmp, err := engine.New(nil, b.opts).Compare(context.Background(), b.job)
	if err != nil {
		t.Fatal(err)
	}
	var inbox engine.FolderDiff
	for _, f := range cmp.Folders {
		if f.Folder == "INBOX" {
			inbox = f
		}
	}
	if cmp.Complete() || cmp.Missing != 2 || cmp.Doubled != 1 || cmp.Extra != 1 || cmp.Altered != 0 ||
		inbox.MissingN != 2 || inbox.DoubledN != 1 || inbox.Extra != 1 {
		t.Fatalf("missing %d, doubled %d, extra %d, altered %d; INBOX %+v", cmp.Missing, cmp.Doubled, cmp.Extra, cmp.Altered, inbox)
	}
	if !strings.Contains(strings.Join(inbox.DoubledList, ""), "Xylophon") || !strings.Contains(strings.Join(inbox.ExtraList, ""), "arrived after cutover") ||
		!strings.Contains(strings.Join(inbox.Missing, ""), "berweisung") {
		t.Fatalf("INBOX lists: %+v", inbox)
	}
}
