package storetest

import (
	"context"
	"testing"

	"github.com/ferryhq/ferry/internal/store"
)

// runDAV checks the records of copied calendar objects and contacts.
func runDAV(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Run("DAVObjects", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		mb, err := s.Mailbox(ctx, store.MailboxKey{Source: "dav:https://alice@old.example/", Destination: "dav:https://alice@new.example/"})
		if err != nil {
			t.Fatal(err)
		}
		other, _ := s.Mailbox(ctx, store.MailboxKey{Source: "dav:https://bob@old.example/", Destination: "dav:https://bob@new.example/"})
		a := store.DAVObject{Collection: "/alice/work/", UID: "ü;1@x", Workload: "calendar", SourcePath: "/alice/work/1.ics", SourceETag: "e1", DestPath: "/a/work/1.ics", DestETag: "d1"}
		b := store.DAVObject{Collection: "/alice/work/", UID: "2@x", Workload: "tasks", SourcePath: "/alice/work/2.ics", DestPath: "/a/work/2.ics"}
		c := store.DAVObject{Collection: "/alice/contacts/", UID: "2@x", Workload: "contacts", SourcePath: "/alice/contacts/2.vcf", DestPath: "/a/contacts/2.vcf"}
		for _, o := range []store.DAVObject{a, b, c} {
			if err := s.SaveDAVObject(ctx, mb, o); err != nil {
				t.Fatal(err)
			}
		}
		a.SourceETag, a.DestETag = "e2", "d2"
		if err := s.SaveDAVObject(ctx, mb, a); err != nil { // an update, not a second row
			t.Fatal(err)
		}
		got, err := s.DAVObjects(ctx, mb, "/alice/work/")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != b || got[1] != a {
			t.Fatalf("records = %+v, want %+v and %+v", got, b, a)
		}
		if got, _ := s.DAVObjects(ctx, other, "/alice/work/"); len(got) != 0 {
			t.Fatalf("another migration sees %+v", got)
		}

		if tok, err := s.DAVSyncToken(ctx, mb, "/alice/work/"); tok != "" || err != nil {
			t.Fatalf("token before any = %q, %v", tok, err)
		}
		for _, tok := range []string{"http://radicale.org/ns/sync/1", "http://radicale.org/ns/sync/2"} {
			if err := s.SaveDAVSyncToken(ctx, mb, "/alice/work/", tok); err != nil {
				t.Fatal(err)
			}
			if got, err := s.DAVSyncToken(ctx, mb, "/alice/work/"); got != tok || err != nil {
				t.Fatalf("token = %q, %v, want %q", got, err, tok)
			}
		}
		if got, _ := s.DAVSyncToken(ctx, other, "/alice/work/"); got != "" {
			t.Fatalf("another migration sees token %q", got)
		}
		if err := s.SaveDAVSyncToken(ctx, mb, "/alice/work/", ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.DAVSyncToken(ctx, mb, "/alice/work/"); got != "" {
			t.Fatalf("forgotten token = %q", got)
		}
	})
}
