package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/testimap"
)

func gmailMessage(n int, labels ...string) testimap.GmailMessage {
	body := fmt.Sprintf("From: bob@example.org\r\nTo: alice@example.org\r\nSubject: message %d\r\nMessage-ID: <m%d@example.org>\r\nDate: Sun, 1 Mar 2026 09:00:00 +0000\r\n\r\nBody of message %d.\r\n", n, n, n)
	return testimap.GmailMessage{Body: []byte(body), Labels: labels}
}

// folderCounts is how many messages each folder holding mail has.
func folderCounts(s testimap.Snapshot) map[string]int {
	out := map[string]int{}
	for f, ms := range s {
		if len(ms) > 0 {
			out[f] = len(ms)
		}
	}
	return out
}

func sameCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: destination folders %v, want %v", what, got, want)
	}
}

// TestGmailLabelsLandOnceInEachFolder: from Gmail, a message with three
// labels lands once in each label's folder, archived mail (All Mail only)
// in Archive, Sent Mail in Sent, starred mail keeps \Flagged, Spam is left
// out; re-runs, lost state, a label added and a label removed between
// passes never double a message.
func TestGmailLabelsLandOnceInEachFolder(t *testing.T) {
	t.Parallel()
	u := testimap.User{Name: user, Password: pass}
	src := testimap.StartGmail(t, u)
	dst := testimap.StartMem(t, u)
	m1 := gmailMessage(1, "INBOX", "Work", "Work/Clients")
	m2 := gmailMessage(2) // archived: All Mail only
	m3 := gmailMessage(3, "[Gmail]/Sent Mail")
	m4 := gmailMessage(4, "INBOX")
	m4.Starred = true
	m5 := gmailMessage(5, "[Gmail]/Spam")
	m6 := gmailMessage(6) // archived and starred
	m6.Starred = true
	m7 := gmailMessage(7, "[Gmail]/Important", "Work")
	src.GmailDeliver(t, u, m1, m2, m3, m4, m5, m6, m7)

	statePath := filepath.Join(t.TempDir(), "state.db")
	b := &testBundle{statePath: statePath}
	b.openStore(t)
	job := engine.Job{Source: endpoint(src.Addr), Dest: endpoint(dst.Addr)}
	opts := engine.Options{Conn: imapconn.Options{Timeout: 5 * time.Second}, MaxBackoff: 50 * time.Millisecond, SourceLabels: true}
	run := func(what string, wantCopied int64) {
		t.Helper()
		r := engine.New(b.st, opts).Migrate(context.Background(), job, nil)
		requireOK(t, r)
		if r.Run.Copied != wantCopied {
			t.Fatalf("%s: copied %d messages, want %d; destination folders %v", what, r.Run.Copied, wantCopied, folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)))
		}
	}

	run("first pass", 8)
	// All Mail's labels came from one X-GM-LABELS FETCH (not from reading
	// the headers of every label folder).
	if n := src.GmailExtensionCommands(); n != 1 {
		t.Fatalf("%d Gmail extension commands, want 1 (UID FETCH X-GM-LABELS on All Mail)", n)
	}
	// Each message was read from Gmail once: m1's copies in Work and
	// Work/Clients (or Inbox) were made on the destination from its first.
	if n := src.BodiesRead.Load(); n != 6 {
		t.Fatalf("%d message bodies read from Gmail for 6 messages", n)
	}
	want := map[string]int{"INBOX": 2, "Work": 2, "Work/Clients": 1, "Archive": 2, "Sent": 1}
	snap := testimap.TakeSnapshot(t, dst.Addr, user, pass)
	sameCounts(t, "first pass", folderCounts(snap), want)
	for _, f := range []string{"INBOX", "Archive"} {
		flagged := 0
		for _, m := range snap[f] {
			if containsFlag(m, imap.FlagFlagged) {
				flagged++
			}
		}
		if flagged != 1 {
			t.Errorf("%s holds %d starred (\\Flagged) messages, want 1: %v", f, flagged, snap[f])
		}
	}

	run("re-run", 0)
	sameCounts(t, "re-run", folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), want)

	// Lost state: a new state file; the destination is matched by content.
	b.st.Close()
	os.Remove(statePath)
	b.openStore(t)
	run("lost state", 0)
	sameCounts(t, "lost state", folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), want)

	// A label added between passes adds that one copy.
	src.GmailLabel(t, u, "Projects", m2)
	run("label added", 1)
	want["Projects"] = 1
	sameCounts(t, "label added", folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), want)

	// A label removed: the message is in All Mail only now, and at the
	// destination already (in Work): nothing is added to Archive.
	c := testimap.Dial(t, src.Addr, user, pass)
	if _, err := c.Select("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var last imap.UIDSet
	last.AddNum(2) // m7 is Work's second message
	if err := c.Store(last, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	run("label removed", 0)
	sameCounts(t, "label removed", folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), want)

	// A label renamed: its messages stay where they are at the
	// destination (in the folder of the old name); nothing is copied again.
	c = testimap.Dial(t, src.Addr, user, pass)
	if err := c.Rename("Work/Clients", "Customers", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	r := engine.New(b.st, opts).Migrate(context.Background(), job, nil)
	requireOK(t, r)
	if r.Run.Copied != 0 {
		t.Fatalf("label renamed: copied %d messages again", r.Run.Copied)
	}
	sameCounts(t, "label renamed", folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), want)
	if !strings.Contains(strings.Join(r.Notes, "\n"), "Customers") {
		t.Errorf("notes %q do not say where the renamed label's messages are", r.Notes)
	}
	// New mail with the renamed label follows its old messages.
	src.GmailLabel(t, u, "Customers", gmailMessage(8))
	run("mail in the renamed label", 1)
	want["Work/Clients"] = 2
	sameCounts(t, "mail in the renamed label", folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), want)
	run("re-run after the rename", 0)
	sameCounts(t, "re-run after the rename", folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), want)
}

// TestGmailSpamAndTrashWhenAsked: Spam and Trash are copied only when the
// project asks for them.
func TestGmailSpamAndTrashWhenAsked(t *testing.T) {
	t.Parallel()
	u := testimap.User{Name: user, Password: pass}
	src := testimap.StartGmail(t, u)
	dst := testimap.StartMem(t, u)
	src.GmailDeliver(t, u, gmailMessage(1, "INBOX"), gmailMessage(2, "[Gmail]/Spam"), gmailMessage(3, "[Gmail]/Trash"))
	b := &testBundle{statePath: filepath.Join(t.TempDir(), "state.db")}
	b.openStore(t)
	opts := engine.Options{Conn: imapconn.Options{Timeout: 5 * time.Second}, SourceLabels: true, Labels: engine.LabelOptions{SpamAndTrash: true},
		RoleFolders: map[string]string{"junk": "Junk Email", "trash": "Deleted Items"}}
	r := engine.New(b.st, opts).Migrate(context.Background(), engine.Job{Source: endpoint(src.Addr), Dest: endpoint(dst.Addr)}, nil)
	requireOK(t, r)
	sameCounts(t, "spam and trash asked for", folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)),
		map[string]int{"INBOX": 1, "Junk Email": 1, "Deleted Items": 1})
}

// containsFlag reads a snapshot line's flag list.
func containsFlag(line string, f imap.Flag) bool {
	return strings.Contains(line, "["+string(f)+"]") || strings.Contains(line, "["+string(f)+" ") ||
		strings.Contains(line, " "+string(f)+"]") || strings.Contains(line, " "+string(f)+" ")
}

// TestGmailFirstLabelOnly: with FirstLabelOnly a message with several
// labels lands once, in the folder of its first label in the order Gmail's
// X-GM-LABELS gives them (the emulator's: the order they were given, so
// m5 goes to Work before Inbox, m2 to Work/Clients before Work), and a
// re-run adds nothing. A source without X-GM-EXT-1 has its label folders'
// headers read: Inbox first, then by name.
func TestGmailFirstLabelOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		noExtensions bool
		want         map[string]int
	}{
		{"Gmail's label order", false, map[string]int{"INBOX": 1, "Work": 1, "Work/Clients": 2, "Archive": 1}},
		{"without X-GM-EXT-1", true, map[string]int{"INBOX": 2, "Work": 1, "Work/Clients": 1, "Archive": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testGmailFirstLabelOnly(t, tc.noExtensions, tc.want)
		})
	}
}

func testGmailFirstLabelOnly(t *testing.T, noExtensions bool, want map[string]int) {
	u := testimap.User{Name: user, Password: pass}
	src := testimap.StartGmail(t, u)
	src.NoGmailExtensions.Store(noExtensions)
	dst := testimap.StartMem(t, u)
	src.GmailDeliver(t, u, gmailMessage(1, "INBOX", "Work", "Work/Clients"), gmailMessage(2, "Work/Clients", "Work"), gmailMessage(3),
		gmailMessage(4, "[Gmail]/Important", "Work/Clients"), gmailMessage(5, "Work", "INBOX"))
	b := &testBundle{statePath: filepath.Join(t.TempDir(), "state.db")}
	b.openStore(t)
	opts := engine.Options{Conn: imapconn.Options{Timeout: 5 * time.Second}, SourceLabels: true, Labels: engine.LabelOptions{FirstLabelOnly: true}}
	job := engine.Job{Source: endpoint(src.Addr), Dest: endpoint(dst.Addr)}
	for _, step := range []struct {
		name   string
		copied int64
	}{{"first pass", 5}, {"re-run", 0}} {
		r := engine.New(b.st, opts).Migrate(context.Background(), job, nil)
		requireOK(t, r)
		if r.Run.Copied != step.copied {
			t.Fatalf("%s: copied %d, want %d", step.name, r.Run.Copied, step.copied)
		}
		sameCounts(t, step.name, folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), want)
	}
	if n := src.GmailExtensionCommands(); (n == 0) != noExtensions {
		t.Fatalf("%d Gmail extension commands (X-GM-EXT-1 announced: %v)", n, !noExtensions)
	}
}

// TestGmailDetectedByItsCapability: a source that announces X-GM-EXT-1 is
// taken for Gmail without being told: archived mail is not left behind.
func TestGmailDetectedByItsCapability(t *testing.T) {
	t.Parallel()
	u := testimap.User{Name: user, Password: pass}
	src := testimap.StartGmail(t, u)
	dst := testimap.StartMem(t, u)
	src.GmailDeliver(t, u, gmailMessage(1, "INBOX", "Work"), gmailMessage(2))
	b := &testBundle{statePath: filepath.Join(t.TempDir(), "state.db")}
	b.openStore(t)
	r := engine.New(b.st, engine.Options{Conn: imapconn.Options{Timeout: 5 * time.Second}}).Migrate(context.Background(),
		engine.Job{Source: endpoint(src.Addr), Dest: endpoint(dst.Addr)}, nil)
	requireOK(t, r)
	sameCounts(t, "gmail not named", folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), map[string]int{"INBOX": 1, "Work": 1, "Archive": 1})
}

// TestGmailVerifyUsesTheLabelMapping: `ferry verify` from Gmail compares
// with the mapping the copy used: a message in several label folders
// counts once per label it should have (each label by default, its first
// label only when asked), All Mail only for messages without another
// label, Spam and Trash not at all unless asked. A complete copy is
// complete, with nothing missing or doubled; a copy removed at the
// destination is missing where it belongs. Also without a state store
// (verify before any pass, or with lost state).
func TestGmailVerifyUsesTheLabelMapping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		labels engine.LabelOptions
		want   map[string][2]int // source folder -> source, destination messages compared
	}{
		{"each label", engine.LabelOptions{}, map[string][2]int{"INBOX": {2, 2}, "Work": {3, 3}, "Work/Clients": {2, 2}, "[Gmail]/All Mail": {1, 1}, "[Gmail]/Sent Mail": {1, 1}}},
		// m2's first label is Work/Clients (Gmail's order, as given), m7's Work.
		{"first label only", engine.LabelOptions{FirstLabelOnly: true}, map[string][2]int{"INBOX": {2, 2}, "Work": {1, 1}, "Work/Clients": {1, 1}, "[Gmail]/All Mail": {1, 1}, "[Gmail]/Sent Mail": {1, 1}}},
		{"spam and trash asked", engine.LabelOptions{SpamAndTrash: true}, map[string][2]int{"INBOX": {2, 2}, "Work": {3, 3}, "Work/Clients": {2, 2}, "[Gmail]/All Mail": {1, 1}, "[Gmail]/Sent Mail": {1, 1}, "[Gmail]/Spam": {1, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := testimap.User{Name: user, Password: pass}
			src := testimap.StartGmail(t, u)
			dst := testimap.StartMem(t, u)
			src.GmailDeliver(t, u, gmailMessage(1, "INBOX", "Work", "Work/Clients"), gmailMessage(2, "Work/Clients", "Work"), gmailMessage(3),
				gmailMessage(4, "INBOX"), gmailMessage(5, "[Gmail]/Sent Mail"), gmailMessage(6, "[Gmail]/Spam"), gmailMessage(7, "[Gmail]/Important", "Work"))
			b := &testBundle{statePath: filepath.Join(t.TempDir(), "state.db")}
			b.openStore(t)
			opts := engine.Options{Conn: imapconn.Options{Timeout: 5 * time.Second}, SourceLabels: true, Labels: tc.labels}
			job := engine.Job{Source: endpoint(src.Addr), Dest: endpoint(dst.Addr)}
			requireOK(t, engine.New(b.st, opts).Migrate(context.Background(), job, nil))
			for _, st := range []struct {
				name string
				e    *engine.Engine
			}{{"with state", engine.New(b.st, opts)}, {"without state", engine.New(nil, opts)}} {
				cmp, err := st.e.Compare(context.Background(), job)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string][2]int{}
				for _, f := range cmp.Folders {
					if f.Source > 0 || f.Destination > 0 {
						got[f.Folder] = [2]int{f.Source, f.Destination}
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) || !cmp.Complete() || cmp.Doubled != 0 || cmp.Extra != 0 {
					t.Fatalf("%s: compared %v (missing %d doubled %d extra %d), want %v complete", st.name, got, cmp.Missing, cmp.Doubled, cmp.Extra, tc.want)
				}
			}
			// Verify credentials shows the same folder map: All Mail to
			// the archive, Spam only when asked.
			rep, err := engine.New(nil, opts).Check(context.Background(), job)
			if err != nil {
				t.Fatal(err)
			}
			mapped := map[string]string{}
			for _, f := range rep.Folders {
				mapped[f.Source] = f.Dest
			}
			if mapped["[Gmail]/All Mail"] != "Archive" || (mapped["[Gmail]/Spam"] != "") != tc.labels.SpamAndTrash {
				t.Fatalf("Verify credentials' folder map %v", mapped)
			}
			// One copy removed at the destination: missing in its folder.
			c := testimap.Dial(t, dst.Addr, user, pass)
			if _, err := c.Select("Work", nil).Wait(); err != nil {
				t.Fatal(err)
			}
			var first imap.SeqSet
			first.AddNum(1)
			if err := c.Store(first, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Expunge().Close(); err != nil {
				t.Fatal(err)
			}
			c.Logout().Wait()
			cmp, err := engine.New(b.st, opts).Compare(context.Background(), job)
			if err != nil {
				t.Fatal(err)
			}
			if cmp.Missing != 1 || cmp.Complete() {
				t.Fatalf("after removing a copy: missing %d, want 1", cmp.Missing)
			}
			for _, f := range cmp.Folders {
				if f.MissingN > 0 && f.Folder != "Work" {
					t.Fatalf("missing in %s, want Work", f.Folder)
				}
			}
		})
	}
}

// TestIntoGmailAppendOnceThenLabel: into Gmail, a message that is in
// three source folders is appended once and given the other two labels
// with STORE +X-GM-LABELS: Gmail shows it in the three folders and once
// in All Mail. Re-runs, lost state and a source folder renamed append
// nothing more.
func TestIntoGmailAppendOnceThenLabel(t *testing.T) {
	t.Parallel()
	u := testimap.User{Name: user, Password: pass}
	src := testimap.StartMem(t, u)
	dst := testimap.StartGmail(t, u)
	var appends atomic.Int64
	dst.Faults.Set(func(int, string, int64) error { appends.Add(1); return nil }, nil)
	c := testimap.Dial(t, src.Addr, user, pass)
	put := func(folder string, n int) {
		t.Helper()
		if folder != "INBOX" {
			c.Create(folder, nil).Wait()
		}
		body := gmailMessage(n).Body
		cmd := c.Append(folder, int64(len(body)), &imap.AppendOptions{Time: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)})
		cmd.Write(body)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	put("INBOX", 1)
	put("Work", 1)
	put("Travel", 1)
	put("Work", 2)
	put("INBOX", 3)
	c.Logout().Wait()

	statePath := filepath.Join(t.TempDir(), "state.db")
	b := &testBundle{statePath: statePath}
	b.openStore(t)
	job := engine.Job{Source: endpoint(src.Addr), Dest: endpoint(dst.Addr)}
	opts := engine.Options{Conn: imapconn.Options{Timeout: 5 * time.Second}, DestLabels: true}
	want := map[string]int{"INBOX": 2, "Work": 2, "Travel": 1, testimap.GmailAllMail: 3}
	for _, step := range []struct {
		name   string
		copied int64
	}{{"first pass", 5}, {"re-run", 0}, {"lost state", 0}} {
		if step.name == "lost state" {
			b.st.Close()
			os.Remove(statePath)
			b.openStore(t)
		}
		r := engine.New(b.st, opts).Migrate(context.Background(), job, nil)
		requireOK(t, r)
		if r.Run.Copied != step.copied {
			t.Fatalf("%s: copied %d, want %d", step.name, r.Run.Copied, step.copied)
		}
		sameCounts(t, step.name, folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), want)
		if n := appends.Load() - int64(dst.GmailFrontAppends()); n != 3 {
			t.Fatalf("%s: %d APPENDs, want 3 (one a message; the other folders by label)", step.name, n)
		}
	}
	if dst.GmailExtensionCommands() == 0 {
		t.Fatal("no X-GM-LABELS STORE was sent")
	}
	// A source folder renamed between passes: its message, in Gmail
	// already, gets the new name as a label; nothing is appended.
	c = testimap.Dial(t, src.Addr, user, pass)
	if err := c.Rename("Travel", "Trips", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	r := engine.New(b.st, opts).Migrate(context.Background(), job, nil)
	requireOK(t, r)
	want["Trips"] = 1
	sameCounts(t, "folder renamed", folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), want)
	if n := appends.Load() - int64(dst.GmailFrontAppends()); n != 3 {
		t.Fatalf("folder renamed: %d APPENDs, want still 3", n)
	}
}

// TestGmailToDovecotReadsEachMessageOnce: from Gmail into a real Dovecot,
// a message with three labels is read from Gmail once and lands once in
// each label's folder (Dovecot's UID COPY with COPYUID makes the other
// two); a re-run copies and reads nothing.
func TestGmailToDovecotReadsEachMessageOnce(t *testing.T) {
	t.Parallel()
	u := testimap.User{Name: user, Password: pass}
	src := testimap.StartGmail(t, u)
	dst := testimap.StartDovecot(t, testimap.DovecotOptions{Users: []testimap.User{u}})
	src.GmailDeliver(t, u, gmailMessage(1, "INBOX", "Work", "Work/Clients"), gmailMessage(2, "Work"), gmailMessage(3))
	b := &testBundle{statePath: filepath.Join(t.TempDir(), "state.db")}
	b.openStore(t)
	job := engine.Job{Source: endpoint(src.Addr), Dest: dovecotEndpoint(dst, user)}
	opts := engine.Options{Conn: imapconn.Options{Timeout: 10 * time.Second}, SourceLabels: true}
	for _, step := range []struct {
		name          string
		copied, reads int64
	}{{"first pass", 5, 3}, {"re-run", 0, 3}} {
		r := engine.New(b.st, opts).Migrate(context.Background(), job, nil)
		requireOK(t, r)
		if r.Run.Copied != step.copied || src.BodiesRead.Load() != step.reads {
			t.Fatalf("%s: copied %d (want %d), %d bodies read from Gmail (want %d)", step.name, r.Run.Copied, step.copied, src.BodiesRead.Load(), step.reads)
		}
		sameCounts(t, step.name, folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)),
			map[string]int{"INBOX": 1, "Work": 2, "Work/Clients": 1, "Archive": 1})
	}
}

// TestIntoGmailSystemFoldersLabelled: into Gmail, a message that is in
// Sent (or Drafts) and in another source folder is appended once, whichever
// folder is copied first: its first copy in [Gmail]/Sent Mail is labelled
// with the user folder's label, and a first copy in a user folder is given
// Gmail's system label (\Sent, \Draft) rather than appended to Sent Mail
// again. Trash keeps its own copies. Re-runs and lost state append nothing
// more.
func TestIntoGmailSystemFoldersLabelled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		folders map[string][]int // source folder -> messages; the fuller folder is copied first
		want    map[string]int
		appends int64
	}{
		{"sent first", map[string][]int{"Sent": {1, 2, 3}, "Work": {1}},
			map[string]int{"[Gmail]/Sent Mail": 3, "Work": 1, testimap.GmailAllMail: 3}, 3},
		{"user folder first", map[string][]int{"Work": {1, 2, 3}, "Sent": {1}},
			map[string]int{"[Gmail]/Sent Mail": 1, "Work": 3, testimap.GmailAllMail: 3}, 3},
		{"drafts and inbox", map[string][]int{"INBOX": {4, 5}, "Drafts": {4}, "Sent": {5, 6, 7}},
			map[string]int{"INBOX": 2, "[Gmail]/Drafts": 1, "[Gmail]/Sent Mail": 3, testimap.GmailAllMail: 4}, 4},
		// Trash holds its messages alone: a copy there is not labelled
		// into Work, Work's is appended.
		{"trash first", map[string][]int{"Trash": {8, 9, 10}, "Work": {8}},
			map[string]int{"[Gmail]/Trash": 3, "Work": 1, testimap.GmailAllMail: 1}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := testimap.User{Name: user, Password: pass}
			src := testimap.StartMem(t, u)
			dst := testimap.StartGmail(t, u)
			var appends atomic.Int64
			dst.Faults.Set(func(int, string, int64) error { appends.Add(1); return nil }, nil)
			c := testimap.Dial(t, src.Addr, user, pass)
			for folder, ns := range tc.folders {
				if folder != "INBOX" {
					if err := c.Create(folder, nil).Wait(); err != nil {
						t.Fatal(err)
					}
				}
				for _, n := range ns {
					body := gmailMessage(n).Body
					cmd := c.Append(folder, int64(len(body)), &imap.AppendOptions{Time: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)})
					cmd.Write(body)
					cmd.Close()
					if _, err := cmd.Wait(); err != nil {
						t.Fatal(err)
					}
				}
			}
			c.Logout().Wait()
			statePath := filepath.Join(t.TempDir(), "state.db")
			b := &testBundle{statePath: statePath}
			b.openStore(t)
			job := engine.Job{Source: endpoint(src.Addr), Dest: endpoint(dst.Addr)}
			opts := engine.Options{Conn: imapconn.Options{Timeout: 5 * time.Second}, DestLabels: true}
			copied := int64(0)
			for _, ns := range tc.folders {
				copied += int64(len(ns))
			}
			for _, step := range []struct {
				name   string
				copied int64
			}{{"first pass", copied}, {"re-run", 0}, {"lost state", 0}} {
				if step.name == "lost state" {
					b.st.Close()
					os.Remove(statePath)
					b.openStore(t)
				}
				r := engine.New(b.st, opts).Migrate(context.Background(), job, nil)
				requireOK(t, r)
				if r.Run.Copied != step.copied {
					t.Fatalf("%s: copied %d, want %d", step.name, r.Run.Copied, step.copied)
				}
				sameCounts(t, step.name, folderCounts(testimap.TakeSnapshot(t, dst.Addr, user, pass)), tc.want)
				if n := appends.Load() - int64(dst.GmailFrontAppends()); n != tc.appends {
					t.Fatalf("%s: %d APPENDs, want %d (one a message; the other folders by label)", step.name, n, tc.appends)
				}
			}
		})
	}
}
