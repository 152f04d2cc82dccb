// Package storetest is the conformance suite every store.Store
// implementation passes: the embedded SQLite store now, PostgreSQL later.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// Run runs the suite. open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	key := store.MailboxKey{Source: "imaps://alice@old.example:993", Destination: "imaps://alice@new.example:993"}

	t.Run("MailboxIsStable", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		a, err := s.Mailbox(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Mailbox(ctx, key)
		c, _ := s.Mailbox(ctx, store.MailboxKey{Source: key.Source, Destination: "imaps://alice@other.example:993"})
		if a != b || a == c {
			t.Fatalf("ids %d %d %d", a, b, c)
		}
	})

	t.Run("FolderStateAndCopies", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mb, _ := s.Mailbox(ctx, key)
		if _, err := s.Folder(ctx, mb, "INBOX"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		f := store.FolderState{Source: "INBOX", SourceValidity: 7, Dest: "INBOX", DestValidity: 9, DestScannedUID: 12, Appending: true}
		if err := s.SaveFolder(ctx, mb, f); err != nil {
			t.Fatal(err)
		}
		got, err := s.Folder(ctx, mb, "INBOX")
		if err != nil || got != f {
			t.Fatalf("got %+v, %v", got, err)
		}
		copies := []store.Copy{{SourceUID: 1, DestUID: 10, Fingerprint: []byte{1, 2}, Flags: `\Seen`, Size: 100}, {SourceUID: 2, DestUID: 0, Fingerprint: []byte{3}, Size: 5}}
		if err := s.RecordCopies(ctx, mb, "INBOX", copies); err != nil {
			t.Fatal(err)
		}
		copies[0].Flags = `\Flagged \Seen`
		if err := s.RecordCopies(ctx, mb, "INBOX", copies[:1]); err != nil { // an update, not a second row
			t.Fatal(err)
		}
		var read []store.Copy
		s.Copies(ctx, mb, "INBOX", func(c store.Copy) error { read = append(read, c); return nil })
		if len(read) != 2 || read[0].Flags != `\Flagged \Seen` || read[1].DestUID != 0 || !bytes.Equal(read[0].Fingerprint, []byte{1, 2}) {
			t.Fatalf("copies = %+v", read)
		}
		// Same validity: copies stay. New validity: they are forgotten.
		f.DestScannedUID, f.Appending = 20, false
		s.SaveFolder(ctx, mb, f)
		if n := count(t, s, mb, "INBOX"); n != 2 {
			t.Fatalf("%d copies after saving the same generation", n)
		}
		f.SourceValidity = 8
		s.SaveFolder(ctx, mb, f)
		if n := count(t, s, mb, "INBOX"); n != 0 {
			t.Fatalf("%d copies survived a UIDVALIDITY change", n)
		}
	})

	t.Run("CopiesRange", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mb, _ := s.Mailbox(ctx, key)
		other, _ := s.Mailbox(ctx, store.MailboxKey{Source: "imap://other@old", Destination: "imap://other@new"})
		var copies []store.Copy
		for _, u := range []uint32{1, 2, 5, 9, 10, 11, 4000, math.MaxUint32} {
			copies = append(copies, store.Copy{SourceUID: u, DestUID: u + 100, Fingerprint: []byte{byte(u)}, Size: int64(u)})
		}
		for _, c := range []struct {
			mb     int64
			folder string
		}{{mb, "INBOX"}, {mb, "Sent"}, {other, "INBOX"}} {
			if err := s.RecordCopies(ctx, c.mb, c.folder, copies); err != nil {
				t.Fatal(err)
			}
		}
		s.RecordCopies(ctx, mb, "INBOX", []store.Copy{{SourceUID: 7, DestUID: 3, Fingerprint: []byte{7}}})
		for _, tc := range []struct {
			from, to uint32
			want     []uint32
		}{
			{1, 1, []uint32{1}},
			{2, 9, []uint32{2, 5, 7, 9}},
			{3, 4, nil},
			{10, 3999, []uint32{10, 11}},
			{12, math.MaxUint32, []uint32{4000, math.MaxUint32}},
			{0, math.MaxUint32, []uint32{1, 2, 5, 7, 9, 10, 11, 4000, math.MaxUint32}},
		} {
			var got []uint32
			err := s.CopiesRange(ctx, mb, "INBOX", tc.from, tc.to, func(c store.Copy) error {
				if c.DestUID != c.SourceUID+100 && c.SourceUID != 7 {
					t.Errorf("copy %+v read back wrong", c)
				}
				got = append(got, c.SourceUID)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("CopiesRange(%d, %d) = %v, want %v", tc.from, tc.to, got, tc.want)
			}
		}
	})

	t.Run("FolderProgress", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mb, _ := s.Mailbox(ctx, key)
		other, _ := s.Mailbox(ctx, store.MailboxKey{Source: key.Source, Destination: "imaps://alice@other.example:993"})
		if got, err := s.FolderProgress(ctx, mb); err != nil || len(got) != 0 {
			t.Fatalf("a new mailbox: %+v %v", got, err)
		}
		for _, m := range []int64{mb, other} {
			for _, f := range []store.FolderState{{Source: "INBOX", SourceValidity: 1, Dest: "INBOX", DestValidity: 1}, {Source: "Sent", SourceValidity: 1, Dest: "INBOX.Sent", DestValidity: 1},
				{Source: "Archive/2019", SourceValidity: 1, Dest: "INBOX.Archive.2019", DestValidity: 1}} {
				if err := s.SaveFolder(ctx, m, f); err != nil {
					t.Fatal(err)
				}
			}
		}
		s.RecordCopies(ctx, mb, "INBOX", []store.Copy{{SourceUID: 1, DestUID: 1, Fingerprint: []byte{1}, Size: 3 << 30}, {SourceUID: 2, DestUID: 2, Fingerprint: []byte{2}, Size: 7}})
		s.RecordCopies(ctx, mb, "Sent", []store.Copy{{SourceUID: 5, DestUID: 1, Fingerprint: []byte{5}, Size: 11}})
		s.RecordCopies(ctx, other, "INBOX", []store.Copy{{SourceUID: 9, DestUID: 9, Fingerprint: []byte{9}, Size: 1000}})
		s.RecordFailures(ctx, mb, []store.Failure{{Folder: "Sent", UID: 6, Pass: "full", ServerText: "NO"}, {Folder: "Sent", UID: 7, Pass: "full", ServerText: "NO"},
			{Pass: "full", ServerText: "login failed"}})
		got, err := s.FolderProgress(ctx, mb)
		want := []store.FolderProgress{
			{Source: "Archive/2019", Dest: "INBOX.Archive.2019"},
			{Source: "INBOX", Dest: "INBOX", Copied: 2, CopiedBytes: 3<<30 + 7},
			{Source: "Sent", Dest: "INBOX.Sent", Copied: 1, CopiedBytes: 11, Failed: 2},
		}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("folder progress = %+v, %v; want %+v", got, err, want)
		}
	})

	t.Run("FailuresClearedByCopies", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mb, _ := s.Mailbox(ctx, key)
		fs := []store.Failure{
			{Folder: "INBOX", UID: 3, Subject: "Hi", Size: 40 << 20, Pass: "full", ServerText: "NO [TOOBIG]", Hint: "split it", At: time.Now()},
			{Folder: "Sent", UID: 4, Pass: "full", Temporary: true, ServerText: "NO throttled"},
			{Pass: "full", ServerText: "login failed"},
			{Folder: "Reports.2024", Pass: "full", ServerText: "NO Invalid mailbox name"}, // the whole folder
		}
		if err := s.RecordFailures(ctx, mb, fs); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordFailures(ctx, mb, fs[:1]); err != nil { // replaces, does not add
			t.Fatal(err)
		}
		got, _ := s.Failures(ctx, mb)
		if len(got) != 4 {
			t.Fatalf("failures = %+v", got)
		}
		s.RecordCopies(ctx, mb, "INBOX", []store.Copy{{SourceUID: 3, DestUID: 1, Fingerprint: []byte{1}}})
		s.ClearMailboxFailures(ctx, mb) // the mailbox's, not the folder's
		got, _ = s.Failures(ctx, mb)
		if len(got) != 2 || got[0].Folder != "Reports.2024" || got[1].Folder != "Sent" || !got[1].Temporary {
			t.Fatalf("failures = %+v", got)
		}
		s.ClearFolderFailure(ctx, mb, "Reports.2024")
		s.ClearFolderFailure(ctx, mb, "Sent") // a message failure of the folder stays
		got, _ = s.Failures(ctx, mb)
		if len(got) != 1 || got[0].Folder != "Sent" || got[0].UID != 4 {
			t.Fatalf("failures = %+v", got)
		}
	})

	t.Run("ManyCopiesAtOnce", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mb, _ := s.Mailbox(ctx, key)
		// More copies than one statement takes, each with a failure to
		// clear, and a UID given twice: its last copy is the one kept.
		var fs []store.Failure
		var copies []store.Copy
		for u := uint32(1); u <= 250; u++ {
			fs = append(fs, store.Failure{Folder: "INBOX", UID: u, Pass: "full", ServerText: "NO"})
			copies = append(copies, store.Copy{SourceUID: u, DestUID: u + 1000, Fingerprint: []byte{byte(u)}, Flags: `\Seen`, Size: int64(u)})
		}
		copies = append(copies, store.Copy{SourceUID: 7, DestUID: 7007, Fingerprint: []byte{7}, Flags: `\Flagged`, Size: 7})
		fs = append(fs, store.Failure{Folder: "Sent", UID: 3, Pass: "full", ServerText: "NO"}) // another folder's: stays
		if err := s.RecordFailures(ctx, mb, fs); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordCopies(ctx, mb, "INBOX", copies); err != nil {
			t.Fatal(err)
		}
		read := map[uint32]store.Copy{}
		s.Copies(ctx, mb, "INBOX", func(c store.Copy) error { read[c.SourceUID] = c; return nil })
		if len(read) != 250 || read[250].DestUID != 1250 || read[7].DestUID != 7007 || read[7].Flags != `\Flagged` {
			t.Fatalf("%d copies; 7: %+v, 250: %+v", len(read), read[7], read[250])
		}
		got, _ := s.Failures(ctx, mb)
		if len(got) != 1 || got[0].Folder != "Sent" {
			t.Fatalf("failures left: %d, want only Sent's", len(got))
		}
	})

	t.Run("FolderMap", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mb, _ := s.Mailbox(ctx, key)
		other, _ := s.Mailbox(ctx, store.MailboxKey{Source: key.Source, Destination: "imaps://alice@other.example:993"})
		if got, err := s.FolderMap(ctx, mb); err != nil || len(got) != 0 {
			t.Fatalf("a new mailbox: %+v %v", got, err)
		}
		first := []store.FolderMapping{{Source: "Work", Dest: "INBOX.Work"}, {Source: "INBOX/Work", Dest: "INBOX.Work (2)", Renamed: "Work also goes to INBOX.Work"}}
		if err := s.SaveFolderMap(ctx, mb, first); err != nil {
			t.Fatal(err)
		}
		s.SaveFolderMap(ctx, other, []store.FolderMapping{{Source: "Work", Dest: "Work"}})
		// Saved again with one changed: replaced, not added.
		if err := s.SaveFolderMap(ctx, mb, []store.FolderMapping{{Source: "Work", Dest: "INBOX.Work_", Renamed: "refused"}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.FolderMap(ctx, mb)
		want := []store.FolderMapping{first[1], {Source: "Work", Dest: "INBOX.Work_", Renamed: "refused"}}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("folder map = %+v, %v; want %+v", got, err, want)
		}
	})

	t.Run("Runs", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mb, _ := s.Mailbox(ctx, key)
		start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
		r := &store.Run{Pass: "full", Started: start}
		if err := s.StartRun(ctx, mb, r); err != nil || r.ID == 0 {
			t.Fatalf("start: %v id %d", err, r.ID)
		}
		r.Ended, r.Status, r.Copied, r.CopiedBytes, r.Skipped, r.Failed = start.Add(30*time.Minute), "completed", 500, 250e6, 3, 1
		if err := s.FinishRun(ctx, mb, r); err != nil {
			t.Fatal(err)
		}
		runs, err := s.Runs(ctx, mb)
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs %+v %v", runs, err)
		}
		got := runs[0]
		if !got.Started.Equal(start) || got.Copied != 500 || got.Status != "completed" || got.MBPerHour() != 500 || got.ItemsPerHour() != 1000 {
			t.Fatalf("run = %+v (MB/hr %v items/hr %v)", got, got.MBPerHour(), got.ItemsPerHour())
		}
	})

	t.Run("ProgressRun", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mb, _ := s.Mailbox(ctx, key)
		r := &store.Run{Pass: "full", Started: time.Now().Add(-time.Minute)}
		if err := s.StartRun(ctx, mb, r); err != nil {
			t.Fatal(err)
		}
		r.Copied, r.CopiedBytes, r.Skipped, r.Failed, r.FailedBytes, r.ToCopy, r.ToCopyBytes = 40, 4e6, 2, 1, 1000, 100, 10e6
		if err := s.ProgressRun(ctx, mb, r); err != nil {
			t.Fatal(err)
		}
		runs, err := s.Runs(ctx, mb)
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs %+v %v", runs, err)
		}
		if got := runs[0]; got.Status != "running" || !got.Ended.IsZero() || got.Copied != 40 || got.CopiedBytes != 4e6 || got.Skipped != 2 ||
			got.Failed != 1 || got.FailedBytes != 1000 || got.ToCopy != 100 || got.ToCopyBytes != 10e6 {
			t.Fatalf("running run = %+v", got)
		}
		// Finished, a late progress write changes nothing.
		r.Ended, r.Status, r.Copied, r.CopiedBytes = time.Now(), "completed", 100, 10e6
		if err := s.FinishRun(ctx, mb, r); err != nil {
			t.Fatal(err)
		}
		late := *r
		late.Copied, late.CopiedBytes = 50, 5e6
		if err := s.ProgressRun(ctx, mb, &late); err != nil {
			t.Fatal(err)
		}
		runs, _ = s.Runs(ctx, mb)
		if got := runs[0]; got.Status != "completed" || got.Copied != 100 || got.CopiedBytes != 10e6 || got.ToCopy != 100 {
			t.Fatalf("finished run = %+v", got)
		}
	})

	t.Run("ConcurrentWriters", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mb, _ := s.Mailbox(ctx, key)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					uid := uint32(w*1000 + i + 1)
					if err := s.RecordCopies(ctx, mb, "INBOX", []store.Copy{{SourceUID: uid, DestUID: uid, Fingerprint: []byte{byte(i)}}}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if n := count(t, s, mb, "INBOX"); n != 400 {
			t.Fatalf("%d copies, want 400", n)
		}
	})

	t.Run("LockMailbox", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		a, _ := s.Mailbox(ctx, key)
		b, _ := s.Mailbox(ctx, store.MailboxKey{Source: key.Source, Destination: "imaps://alice@other.example:993"})
		release, err := s.LockMailbox(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.LockMailbox(ctx, a)
		var busy *store.BusyError
		if !errors.Is(err, store.ErrMailboxBusy) || !errors.As(err, &busy) || !strings.Contains(busy.Holder, "pid ") {
			t.Fatalf("second lock of one mailbox: %v, want a BusyError naming the holder's pid", err)
		}
		releaseB, err := s.LockMailbox(ctx, b) // another mailbox goes in parallel
		if err != nil {
			t.Fatalf("lock of another mailbox: %v", err)
		}
		releaseB()
		release()
		release() // twice is harmless
		again, err := s.LockMailbox(ctx, a)
		if err != nil {
			t.Fatalf("lock after release: %v", err)
		}
		again()
	})

	runProjects(t, open)
	runTokens(t, open)
	runPortal(t, open)
	runGauges(t, open)
	runDAV(t, open)
	runDNS(t, open)
	runWorkloads(t, open)
	runEngagements(t, open)
	runWaves(t, open)
	runPreflight(t, open)
	runEngagementRecords(t, open)
}

func count(t *testing.T, s store.Store, mb int64, folder string) int {
	n := 0
	if err := s.Copies(context.Background(), mb, folder, func(store.Copy) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
