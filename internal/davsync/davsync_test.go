package davsync_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/davsync"
	"github.com/ferryhq/ferry/internal/testdav"
)

// memState is a State in memory; the store's is tested by storetest.
type memState struct {
	mu     sync.Mutex
	recs   map[string]davsync.Record
	tokens map[string]string
}

func (m *memState) SyncToken(_ context.Context, coll string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokens[coll], nil
}

func (m *memState) SaveSyncToken(_ context.Context, coll, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		m.tokens = map[string]string{}
	}
	m.tokens[coll] = token
	return nil
}

func (m *memState) DAVObjects(_ context.Context, coll string) ([]davsync.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []davsync.Record
	for _, r := range m.recs {
		if r.Collection == coll {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memState) SaveDAVObject(_ context.Context, r davsync.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[string]davsync.Record{}
	}
	m.recs[r.Collection+"\x00"+r.UID] = r
	return nil
}

var all = map[davsync.Workload]bool{davsync.Calendar: true, davsync.Tasks: true, davsync.Contacts: true}

const (
	nEvents   = 60 // more than one multiget batch
	nTasks    = 6
	nContacts = 12
)

// setup starts one Radicale with a source user (alice) holding the corpus
// and an empty destination user (bob).
func setup(t *testing.T) (*testdav.Radicale, *dav.Client, *dav.Client) {
	t.Helper()
	r := testdav.Start(t, map[string]string{"alice": "alice-pw", "bob": "bob-pw"})
	cal := r.MakeCalendar(t, "alice", "work", "Arbeit ✓", "#ff8800ff", "VEVENT")
	tasks := r.MakeCalendar(t, "alice", "todo", "Aufgaben", "#00ff00ff", "VTODO")
	ab := r.MakeAddressBook(t, "alice", "contacts", "Kontakte")
	r.Load(t, "alice", cal, "text/calendar", testdav.Events(nEvents))
	r.Load(t, "alice", tasks, "text/calendar", testdav.Tasks(nTasks))
	r.Load(t, "alice", ab, "text/vcard", testdav.Contacts(nContacts, 150_000))
	// bob needs his principal to exist: Radicale creates it on first login.
	ctx := context.Background()
	src, err := dav.Dial(ctx, dav.Endpoint{URL: r.URL, User: "alice", Password: "alice-pw"})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := dav.Dial(ctx, dav.Endpoint{URL: r.URL, User: "bob", Password: "bob-pw"})
	if err != nil {
		t.Fatal(err)
	}
	return r, src, dst
}

// contents maps UID to the canonical parsed form of every object of every
// collection of the account, failing on a UID seen twice (a duplicate).
func contents(t *testing.T, c *dav.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	colls, err := c.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, coll := range colls {
		objs, err := c.All(ctx, coll)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			uid := davsync.Describe(o).UID
			if _, dup := out[uid]; dup {
				t.Fatalf("UID %s is on the server twice (in %s)", uid, coll.Path)
			}
			out[uid] = davsync.Canonical(o)
		}
	}
	return out
}

func sameData(t *testing.T, src, dst *dav.Client) {
	t.Helper()
	want, got := contents(t, src), contents(t, dst)
	if len(want) != nEvents+nTasks+nContacts {
		t.Fatalf("source holds %d objects, corpus has %d", len(want), nEvents+nTasks+nContacts)
	}
	for uid, w := range want {
		g, ok := got[uid]
		if !ok {
			t.Errorf("%s: missing at the destination", uid)
		} else if g != w {
			t.Errorf("%s differs:\nsource:\n%s\ndestination:\n%s", uid, w, g)
		}
	}
	if len(got) != len(want) {
		t.Errorf("destination holds %d objects, source %d", len(got), len(want))
	}
}

func counts(rep *davsync.Report) map[davsync.Workload]davsync.Counts {
	out := map[davsync.Workload]davsync.Counts{}
	for w, c := range rep.Counts {
		out[w] = *c
	}
	return out
}

func TestCopyRadicaleExactAndOnce(t *testing.T) {
	t.Parallel()
	_, src, dst := setup(t)
	ctx := context.Background()
	state := &memState{}

	rep, err := davsync.Copy(ctx, src, davsync.DAV(dst), state, all)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) > 0 {
		t.Fatalf("failures: %+v", rep.Failures)
	}
	want := map[davsync.Workload]davsync.Counts{
		davsync.Calendar: {Copied: nEvents}, davsync.Tasks: {Copied: nTasks}, davsync.Contacts: {Copied: nContacts}}
	if got := counts(rep); !equalCounts(got, want) {
		t.Fatalf("first pass counts %+v, want %+v", got, want)
	}
	sameData(t, src, dst)

	// Second pass: nothing changed, nothing is read or written again.
	rep, err = davsync.Copy(ctx, src, davsync.DAV(dst), state, all)
	if err != nil {
		t.Fatal(err)
	}
	want = map[davsync.Workload]davsync.Counts{
		davsync.Calendar: {Unchanged: nEvents}, davsync.Tasks: {Unchanged: nTasks}, davsync.Contacts: {Unchanged: nContacts}}
	if got := counts(rep); !equalCounts(got, want) {
		t.Fatalf("second pass counts %+v, want %+v", got, want)
	}

	// Radicale offers sync-collection: every collection has a token now.
	if len(state.tokens) != 3 {
		t.Fatalf("sync tokens %v, want one per collection", state.tokens)
	}
	// A token the server no longer knows: the collection is listed whole.
	for coll := range state.tokens {
		state.tokens[coll] = "http://radicale.org/ns/sync/forgotten"
	}
	rep, err = davsync.Copy(ctx, src, davsync.DAV(dst), state, all)
	if err != nil {
		t.Fatal(err)
	}
	if got := counts(rep); !equalCounts(got, want) {
		t.Fatalf("pass with a forgotten token counts %+v, want %+v", got, want)
	}

	// State lost: matched on the destination by UID, nothing doubled.
	rep, err = davsync.Copy(ctx, src, davsync.DAV(dst), &memState{}, all)
	if err != nil {
		t.Fatal(err)
	}
	if got := counts(rep); !equalCounts(got, want) {
		t.Fatalf("pass without state counts %+v, want %+v", got, want)
	}
	sameData(t, src, dst)
}

func TestCopyRadicaleUpdatesInPlace(t *testing.T) {
	t.Parallel()
	r, src, dst := setup(t)
	ctx := context.Background()
	state := &memState{}
	if _, err := davsync.Copy(ctx, src, davsync.DAV(dst), state, all); err != nil {
		t.Fatal(err)
	}
	// Change one event and one contact at the source.
	ev := testdav.Events(nEvents)[1]
	r.Put(t, "alice", "/alice/work/"+ev.Name, "text/calendar",
		[]byte(strings.Replace(string(ev.Data), "Valentinstag", "Valentinstag (verschoben)", 1)))
	ct := testdav.Contacts(nContacts, 150_000)[2]
	r.Put(t, "alice", "/alice/contacts/"+ct.Name, "text/vcard",
		[]byte(strings.Replace(string(ct.Data), "TEL;TYPE=CELL:+49 170 7654321", "TEL;TYPE=CELL:+49 170 0000000", 1)))

	rep, err := davsync.Copy(ctx, src, davsync.DAV(dst), state, all)
	if err != nil {
		t.Fatal(err)
	}
	want := map[davsync.Workload]davsync.Counts{
		davsync.Calendar: {Updated: 1, Unchanged: nEvents - 1}, davsync.Tasks: {Unchanged: nTasks}, davsync.Contacts: {Updated: 1, Unchanged: nContacts - 1}}
	if got := counts(rep); !equalCounts(got, want) || len(rep.Failures) > 0 {
		t.Fatalf("counts %+v failures %+v, want %+v", got, rep.Failures, want)
	}
	sameData(t, src, dst)
}

// Meetings arrive with SCHEDULE-AGENT=CLIENT on organizer and attendees
// (RFC 6638 §7.1), so a scheduling server sends no invitations.
func TestCopyMarksMeetingsClientScheduled(t *testing.T) {
	t.Parallel()
	_, src, dst := setup(t)
	ctx := context.Background()
	if _, err := davsync.Copy(ctx, src, davsync.DAV(dst), &memState{}, map[davsync.Workload]bool{davsync.Calendar: true}); err != nil {
		t.Fatal(err)
	}
	colls, err := dst.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, coll := range colls {
		if coll.Kind == dav.AddressBook {
			t.Errorf("address book %s copied though only calendar was asked", coll.Path)
		}
		objs, err := dst.All(ctx, coll)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if davsync.Describe(o).UID != "meeting-1@ferry.test" {
				continue
			}
			found = true
			for _, comp := range o.Cal.Children {
				for _, name := range []string{"ORGANIZER", "ATTENDEE"} {
					for _, p := range comp.Props[name] {
						if got := p.Params.Get("SCHEDULE-AGENT"); got != "CLIENT" {
							t.Errorf("%s %s: SCHEDULE-AGENT=%q, want CLIENT", name, p.Value, got)
						}
					}
				}
			}
		}
	}
	if !found {
		t.Fatal("meeting not copied")
	}
}

func equalCounts(a, b map[davsync.Workload]davsync.Counts) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
