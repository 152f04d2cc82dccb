package davsync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/davsync"
	"github.com/ferryhq/ferry/internal/testdav"
)

// An object edited on the destination after the copy is written over by
// the source's next change (If-Match fails, Ferry reads the current
// version and updates it in place): one object, the source's data.
func TestCopyOverwritesDestinationEditOnSourceChange(t *testing.T) {
	t.Parallel()
	r, src, dst := setup(t)
	ctx := context.Background()
	state := &memState{}
	if _, err := davsync.Copy(ctx, src, davsync.DAV(dst), state, all); err != nil {
		t.Fatal(err)
	}
	ev := testdav.Events(nEvents)[2] // the meeting
	var destPath string
	for _, rec := range state.recs {
		if rec.UID == ev.UID {
			destPath = rec.DestPath
		}
	}
	if destPath == "" {
		t.Fatal("no record of the meeting")
	}
	r.Put(t, "bob", destPath, "text/calendar", []byte(strings.Replace(string(ev.Data), "Budget review", "Edited at the destination", 1)))
	r.Put(t, "alice", "/alice/work/"+ev.Name, "text/calendar", []byte(strings.Replace(string(ev.Data), "Budget review", "Budget review (new room)", 1)))

	rep, err := davsync.Copy(ctx, src, davsync.DAV(dst), state, all)
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Counts[davsync.Calendar]; c.Updated != 1 || c.Copied != 0 || c.Failed != 0 {
		t.Fatalf("calendar counts %+v, failures %+v", *c, rep.Failures)
	}
	sameData(t, src, dst)
}

// An object the destination refuses is one failure in the report, with
// its title, the server's words and what to do; the others are copied.
// Source and destination are two Radicale servers; the destination takes
// requests of at most 1 MB.
func TestCopyReportsRefusedObject(t *testing.T) {
	t.Parallel()
	srcServer := testdav.Start(t, map[string]string{"alice": "alice-pw"})
	dstServer := testdav.StartWith(t, testdav.Options{Users: map[string]string{"alice": "other-pw"}, MaxContentLength: 1 << 20})
	ab := srcServer.MakeAddressBook(t, "alice", "contacts", "Kontakte")
	srcServer.Load(t, "alice", ab, "text/vcard", testdav.Contacts(4, 10_000))
	big := testdav.Contacts(1, 2<<20)[0] // a 2 MB photo
	srcServer.Put(t, "alice", ab+"big.vcf", "text/vcard", []byte(strings.Replace(string(big.Data), "contact-0@", "big@", 1)))

	ctx := context.Background()
	src, err := dav.Dial(ctx, dav.Endpoint{URL: srcServer.URL, User: "alice", Password: "alice-pw"})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := dav.Dial(ctx, dav.Endpoint{URL: dstServer.URL, User: "alice", Password: "other-pw"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := davsync.Copy(ctx, src, davsync.DAV(dst), &memState{}, all)
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Counts[davsync.Contacts]; c.Copied != 4 || c.Failed != 1 {
		t.Fatalf("contacts counts %+v", *c)
	}
	f := rep.Failures[0]
	// Radicale answers 413 and closes the connection without reading the
	// body; when the close overtakes the answer, the size is the hint.
	refused := strings.Contains(f.Err, "413") && strings.Contains(f.Action, "large")
	lost := strings.Contains(f.Err, "may refuse objects this large")
	if f.UID != "big@ferry.test" || !strings.Contains(f.Title, "Zoë") || !refused && !lost {
		t.Fatalf("failure %+v", f)
	}
}

// A destination collection may already hold an object under the name a
// source object has, with another UID: it is not written over; the copy
// goes under a name derived from its UID.
func TestCopyKeepsForeignObjectOfTheSameName(t *testing.T) {
	t.Parallel()
	r, src, dst := setup(t)
	ctx := context.Background()
	r.MakeCalendar(t, "bob", "mine", "Arbeit ✓", "#0000ffff", "VEVENT") // same display name: the copy goes here
	foreign := testdav.Events(2)[1]
	foreignData := strings.ReplaceAll(string(foreign.Data), "allday-1@ferry.test", "bobs-own@ferry.test")
	name := testdav.Events(nEvents)[5].Name
	r.Put(t, "bob", "/bob/mine/"+name, "text/calendar", []byte(foreignData))

	rep, err := davsync.Copy(ctx, src, davsync.DAV(dst), &memState{}, all)
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Counts[davsync.Calendar]; c.Copied != nEvents || c.Failed != 0 {
		t.Fatalf("calendar counts %+v, failures %+v", *c, rep.Failures)
	}
	got := contents(t, dst)
	if _, ok := got["bobs-own@ferry.test"]; !ok {
		t.Fatal("the destination's own object was written over")
	}
	if _, ok := got[testdav.Events(nEvents)[5].UID]; !ok {
		t.Fatal("the source object of the same name was not copied")
	}
}
