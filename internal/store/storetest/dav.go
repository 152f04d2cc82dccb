package storetest

import (
	"context"
	"strings"
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
		if n, err := s.DAVCounts(ctx, mb); err != nil || n["calendar"] != 1 || n["tasks"] != 1 || n["contacts"] != 1 || len(n) != 3 {
			t.Fatalf("counts = %v, %v", n, err)
		}
		if n, err := s.DAVCounts(ctx, other); err != nil || len(n) != 0 {
			t.Fatalf("another migration's counts = %v, %v", n, err)
		}

		fa := store.DAVFailure{Workload: "calendar", Collection: "Arbeit", UID: "x@y", Title: "Budget; Q1", Date: "20260301T140000Z", Error: "413 Request Entity Too Large", Action: "remove large attachments"}
		fb := store.DAVFailure{Workload: "contacts", Collection: "Kontakte", UID: "c@y", Title: "Zoë", Error: "refused", Action: "fix it"}
		if err := s.SaveDAVFailures(ctx, mb, []store.DAVFailure{fa, fb}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.DAVFailures(ctx, mb); err != nil || len(got) != 2 || got[0] != fa || got[1] != fb {
			t.Fatalf("failures = %+v, %v", got, err)
		}
		if err := s.SaveDAVFailures(ctx, mb, []store.DAVFailure{fb}); err != nil { // the last pass's replace the older
			t.Fatal(err)
		}
		if got, _ := s.DAVFailures(ctx, mb); len(got) != 1 || got[0] != fb {
			t.Fatalf("failures after the next pass = %+v", got)
		}
		if got, _ := s.DAVFailures(ctx, other); len(got) != 0 {
			t.Fatalf("another migration's failures = %+v", got)
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

// runWorkloads checks an item's workloads and an endpoint's DAV, Graph
// and EWS locations (migration 028).
func runWorkloads(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Run("ItemWorkloadsAndEndpointLocations", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		_, p := projectFixture(t, s)
		src, err := s.Endpoint(ctx, p.SourceID)
		if err != nil {
			t.Fatal(err)
		}
		src.DAVURL, src.EWSURL = "https://dav.contoso.com/", "https://mail.contoso.com/EWS/Exchange.asmx"
		if err := s.UpdateEndpoint(ctx, src); err != nil {
			t.Fatal(err)
		}
		dst := store.Endpoint{CustomerID: src.CustomerID, Name: "m365", Type: "office365", Host: "outlook.office365.com", Port: 993, Security: "tls", GraphURL: "https://graph.microsoft.com/v1.0"}
		if err := s.CreateEndpoint(ctx, &dst); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Endpoint(ctx, src.ID); got.DAVURL != src.DAVURL || got.EWSURL != src.EWSURL || got.GraphURL != "" {
			t.Fatalf("source endpoint %+v", got)
		}
		if got, _ := s.Endpoint(ctx, dst.ID); got.GraphURL != dst.GraphURL {
			t.Fatalf("destination endpoint %+v", got)
		}
		a := &store.Item{ProjectID: p.ID, Source: "a@contoso.com", Dest: "a@contoso.onmicrosoft.com", Workloads: []string{"mail", "calendar", "contacts"}}
		b := &store.Item{ProjectID: p.ID, Source: "b@contoso.com", Dest: "b@contoso.onmicrosoft.com"}
		if err := s.CreateItems(ctx, []*store.Item{a, b}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Item(ctx, a.ID); strings.Join(got.Workloads, ",") != "mail,calendar,contacts" {
			t.Fatalf("item workloads %v", got.Workloads)
		}
		if got, _ := s.Item(ctx, b.ID); strings.Join(got.Workloads, ",") != "mail" {
			t.Fatalf("an item without workloads moves %v, want mail", got.Workloads)
		}
		got, _ := s.Item(ctx, a.ID)
		got.Workloads, got.DAVMailboxID = []string{"tasks"}, 42
		if err := s.UpdateItem(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Item(ctx, a.ID); strings.Join(got.Workloads, ",") != "tasks" || got.DAVMailboxID != 42 {
			t.Fatalf("after update %v %d", got.Workloads, got.DAVMailboxID)
		}
		got.Workloads = []string{"mail", "tasks"}
		if err := s.EditItem(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Item(ctx, a.ID); strings.Join(got.Workloads, ",") != "mail,tasks" {
			t.Fatalf("after edit %v", got.Workloads)
		}
	})
}
