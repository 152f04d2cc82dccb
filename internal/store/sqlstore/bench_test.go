package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

// BenchmarkSmallMailboxState is the state a Full pass of one small mailbox
// writes and reads in the SQLite file, in the engine's order: the mailbox,
// its lock and run, its folder map, then per folder (INBOX and 3 others,
// 5 messages each) its state, copies and checkpoints, and the run's end.
// One op is one mailbox.
func BenchmarkSmallMailboxState(b *testing.B) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	folders := []string{"INBOX", "Archive", "Projects", "Sent"}
	var maps []store.FolderMapping
	for _, f := range folders {
		maps = append(maps, store.FolderMapping{Source: f, Dest: f})
	}
	fp := make([]byte, 32)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := fmt.Sprintf("user%06d@contoso.com", i)
		mbox, err := s.Mailbox(ctx, store.MailboxKey{Source: u, Destination: u})
		if err != nil {
			b.Fatal(err)
		}
		release, err := s.LockMailbox(ctx, mbox)
		if err != nil {
			b.Fatal(err)
		}
		run := &store.Run{Pass: "full", Started: time.Now()}
		if err := s.StartRun(ctx, mbox, run); err != nil {
			b.Fatal(err)
		}
		if _, err := s.FolderMap(ctx, mbox); err != nil {
			b.Fatal(err)
		}
		if err := s.SaveFolderMap(ctx, mbox, maps); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Failures(ctx, mbox); err != nil {
			b.Fatal(err)
		}
		for _, f := range folders {
			if _, err := s.Folder(ctx, mbox, f); err != store.ErrNotFound {
				b.Fatal(err)
			}
			st := store.FolderState{Source: f, SourceValidity: 1, Dest: f, DestValidity: 2, Appending: true}
			if err := s.SaveFolder(ctx, mbox, st); err != nil {
				b.Fatal(err)
			}
			if err := s.CopiesRange(ctx, mbox, f, 1, 5, func(store.Copy) error { return nil }); err != nil {
				b.Fatal(err)
			}
			var copies []store.Copy
			for uid := uint32(1); uid <= 5; uid++ {
				copies = append(copies, store.Copy{SourceUID: uid, DestUID: uid, Fingerprint: fp, Size: 4096})
			}
			if err := s.RecordCopies(ctx, mbox, f, copies); err != nil {
				b.Fatal(err)
			}
			st.Appending, st.DestScannedUID = false, 6
			if err := s.SaveFolder(ctx, mbox, st); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.ClearMailboxFailures(ctx, mbox); err != nil {
			b.Fatal(err)
		}
		run.Ended, run.Status, run.Copied = time.Now(), "completed", 20
		if err := s.FinishRun(ctx, mbox, run); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Failures(ctx, mbox); err != nil {
			b.Fatal(err)
		}
		release()
	}
}

// BenchmarkRecordCopies records copies in batches of 100 (a large folder's
// checkpoints); one op is one batch.
func BenchmarkRecordCopies(b *testing.B) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	mbox, err := s.Mailbox(ctx, store.MailboxKey{Source: "a@contoso.com", Destination: "a@contoso.com"})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.SaveFolder(ctx, mbox, store.FolderState{Source: "INBOX", SourceValidity: 1, Dest: "INBOX", DestValidity: 1}); err != nil {
		b.Fatal(err)
	}
	fp := make([]byte, 32)
	copies := make([]store.Copy, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range copies {
			uid := uint32(i*len(copies) + j + 1)
			copies[j] = store.Copy{SourceUID: uid, DestUID: uid, Fingerprint: fp, Flags: `\Seen`, Size: 4096}
		}
		if err := s.RecordCopies(ctx, mbox, "INBOX", copies); err != nil {
			b.Fatal(err)
		}
	}
}
