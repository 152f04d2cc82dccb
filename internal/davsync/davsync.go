// Package davsync copies calendars, tasks and address books from one DAV
// account to another with the guarantees Ferry gives mail: every object
// keeps its UID, which is the key against duplicates; what was copied is
// recorded (State) so that a later pass writes only what changed, updated
// in place with If-Match; and when the record is lost the destination is
// searched by UID before anything is created.
package davsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// Workload names what a person has beside mail.
type Workload string

const (
	Calendar Workload = "calendar" // VEVENT
	Tasks    Workload = "tasks"    // VTODO
	Contacts Workload = "contacts" // vCard
)

// Record is what Ferry knows of one copied object: where its source was
// and which version, where its copy is and which version.
type Record = store.DAVObject

// State keeps the records of one migration (one source account to one
// destination account); StoreState keeps them in Ferry's store.
type State interface {
	// DAVObjects lists the records of a source collection.
	DAVObjects(ctx context.Context, collection string) ([]Record, error)
	// SaveDAVObject stores a record, replacing the one of the same
	// collection and UID.
	SaveDAVObject(ctx context.Context, r Record) error
	// SyncToken returns the source collection's RFC 6578 sync token after
	// the last complete pass ("" for none); SaveSyncToken stores it.
	SyncToken(ctx context.Context, collection string) (string, error)
	SaveSyncToken(ctx context.Context, collection, token string) error
}

// Counts is one workload's tally for a pass.
type Counts struct {
	Copied    int `json:"copied"`    // created on the destination
	Updated   int `json:"updated"`   // changed at the source, updated in place
	Unchanged int `json:"unchanged"` // already there
	Failed    int `json:"failed"`
}

// Failure is one object that could not be copied, said so that a person
// can find it and act.
type Failure struct {
	Workload   Workload `json:"workload"`
	Collection string   `json:"collection"` // source collection's name
	UID        string   `json:"uid"`
	Title      string   `json:"title"`          // SUMMARY or FN
	Date       string   `json:"date,omitempty"` // DTSTART (or DUE), when there is one
	Err        string   `json:"error"`          // what failed, with the server's words
	Action     string   `json:"action"`         // what to do
}

// Report is the outcome of one pass.
type Report struct {
	Counts   map[Workload]*Counts `json:"counts"`
	Failures []Failure            `json:"failures"`
}

func (r *Report) count(w Workload) *Counts {
	if r.Counts[w] == nil {
		r.Counts[w] = &Counts{}
	}
	return r.Counts[w]
}

// batch is how many objects one multiget REPORT reads: memory stays flat
// on large collections and round trips stay few.
const batch = 50

// Source is where Copy reads: a DAV account (*dav.Client) or an Exchange
// mailbox through EWS (ews.Client).
type Source interface {
	Collections(ctx context.Context) ([]dav.Collection, error)
	// Changes names what changed since token and returns the new token;
	// dav.ErrNoSync when the source cannot say (then List is used).
	Changes(ctx context.Context, coll dav.Collection, token string) ([]dav.Ref, string, error)
	List(ctx context.Context, coll dav.Collection) ([]dav.Ref, error)
	Get(ctx context.Context, coll dav.Collection, paths []string) ([]dav.Object, error)
	// All reads a collection whole (verify).
	All(ctx context.Context, coll dav.Collection) ([]dav.Object, error)
}

var _ Source = (*dav.Client)(nil)

// Destination is where Copy writes: another DAV account (DAV) or a
// Microsoft 365 mailbox through Graph (graph.Client), both seen as
// collections of iCalendar and vCard objects.
type Destination interface {
	// Collections lists the destination's collections.
	Collections(ctx context.Context) ([]dav.Collection, error)
	// CreateCollection makes a collection like the given one (kind, name,
	// components; the path's last segment as a hint) and returns it.
	CreateCollection(ctx context.Context, like dav.Collection) (dav.Collection, error)
	// List names a collection's objects with their versions.
	List(ctx context.Context, coll dav.Collection) ([]dav.Ref, error)
	// Get reads objects of a collection; those gone are left out.
	Get(ctx context.Context, coll dav.Collection, paths []string) ([]dav.Object, error)
	// Put creates obj in coll (etag "": never a second copy of the same
	// path) or updates the object at obj.Path if it is still the version
	// etag (else dav.ErrPrecondition). It returns where the object is and
	// its new version.
	Put(ctx context.Context, coll dav.Collection, obj dav.Object, etag string) (path, newETag string, err error)
	// SplitsComponents reports whether events and tasks need collections
	// of their own (Graph's calendars and To Do lists).
	SplitsComponents() bool
}

// DAV is a DAV account as a Destination.
func DAV(c *dav.Client) Destination { return davDestination{c} }

type davDestination struct{ *dav.Client }

func (d davDestination) SplitsComponents() bool { return false }

func (d davDestination) CreateCollection(ctx context.Context, like dav.Collection) (dav.Collection, error) {
	seg := path.Base(strings.TrimSuffix(like.Path, "/"))
	home := d.Home(like.Kind)
	if home == "" {
		return dav.Collection{}, fault.New(fault.Refused, "the destination offers no %s service for %q: check --to-dav", like.Kind, like.Name)
	}
	made := like
	made.Path = strings.TrimSuffix(home, "/") + "/" + seg + "/"
	return made, d.Create(ctx, made)
}

func (d davDestination) Put(ctx context.Context, _ dav.Collection, obj dav.Object, etag string) (string, string, error) {
	tag, err := d.Client.Put(ctx, obj, etag)
	return obj.Path, tag, err
}

// Copy runs one pass: every collection of src whose workload is wanted is
// copied to the collection of the same name on dst (created when missing).
// Objects deleted at the source are not deleted at the destination.
func Copy(ctx context.Context, src Source, dst Destination, state State, want map[Workload]bool) (*Report, error) {
	rep := &Report{Counts: map[Workload]*Counts{}}
	for w, on := range want {
		if on {
			rep.count(w)
		}
	}
	srcColls, err := src.Collections(ctx)
	if err != nil {
		return rep, fmt.Errorf("source: %w", err)
	}
	dstColls, err := dst.Collections(ctx)
	if err != nil {
		return rep, fmt.Errorf("destination: %w", err)
	}
	for _, coll := range srcColls {
		if !wanted(coll, want) {
			continue
		}
		c := &collectionRun{src: src, dst: dst, state: state, want: want, rep: rep, from: coll, existing: &dstColls, targets: map[string]*target{}}
		if err := c.run(ctx); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func wanted(coll dav.Collection, want map[Workload]bool) bool {
	if coll.Kind == dav.AddressBook {
		return want[Contacts]
	}
	return (want[Calendar] && coll.Holds("VEVENT")) || (want[Tasks] && coll.Holds("VTODO"))
}

// destination finds the collection a source collection goes to: the one of
// the same kind with the same display name, else the same last path
// segment, else a new one made with that segment in the destination home.
// When the destination splits components, only collections that hold the
// one asked for (like.Components[0]) are candidates.
func destination(ctx context.Context, dst Destination, like dav.Collection, existing *[]dav.Collection, split bool) (dav.Collection, error) {
	cands := *existing
	if split && like.Kind == dav.Calendar {
		cands = nil
		for _, d := range *existing {
			if d.Kind == dav.Calendar && d.Holds(like.Components[0]) {
				cands = append(cands, d)
			}
		}
	}
	if d, ok := existingDestination(like, cands); ok {
		return d, nil
	}
	made, err := dst.CreateCollection(ctx, like)
	if err != nil {
		return dav.Collection{}, fmt.Errorf("destination: %w", err)
	}
	*existing = append(*existing, made)
	return made, nil
}

type collectionRun struct {
	src      Source
	dst      Destination
	state    State
	want     map[Workload]bool
	rep      *Report
	from     dav.Collection
	existing *[]dav.Collection

	byUID  map[string]Record
	byPath map[string]Record
	// targets are the destination collections this source collection's
	// objects go to, by component ("" when the destination keeps events
	// and tasks together).
	targets map[string]*target
}

// target is one destination collection of a run.
type target struct {
	coll dav.Collection
	// index maps UID to the destination object, loaded once, only when
	// an object has no record (first pass, or the state was lost).
	index map[string]destObject
}

// to returns the destination collection for an object of the component.
func (c *collectionRun) to(ctx context.Context, component string) (*target, error) {
	key := ""
	like := c.from
	split := c.dst.SplitsComponents()
	if split && c.from.Kind == dav.Calendar {
		key = component
		like.Components = []string{component}
	}
	if t := c.targets[key]; t != nil {
		return t, nil
	}
	coll, err := destination(ctx, c.dst, like, c.existing, split)
	if err != nil {
		return nil, err
	}
	t := &target{coll: coll}
	c.targets[key] = t
	return t, nil
}

// destObject is what the index keeps of a destination object: where it
// is, its version and a digest of its parsed data, not the data (memory
// stays flat on large address books with photos).
type destObject struct {
	path, etag string
	digest     [sha256.Size]byte
}

func digest(o dav.Object) [sha256.Size]byte { return sha256.Sum256([]byte(Canonical(o))) }

func (c *collectionRun) run(ctx context.Context) error {
	recs, err := c.state.DAVObjects(ctx, c.from.Path)
	if err != nil {
		return err
	}
	c.byUID, c.byPath = map[string]Record{}, map[string]Record{}
	for _, r := range recs {
		c.byUID[r.UID] = r
		c.byPath[r.SourcePath] = r
	}
	// Ask only for what changed since the last complete pass (RFC 6578);
	// a server without sync-collection, or one that forgot the token, is
	// listed whole and its ETags compared with the records.
	token, err := c.state.SyncToken(ctx, c.from.Path)
	if err != nil {
		return err
	}
	refs, newToken, err := c.src.Changes(ctx, c.from, token)
	delta := token != ""
	if errors.Is(err, dav.ErrNoSync) {
		delta, newToken = false, ""
		refs, err = c.src.List(ctx, c.from)
	}
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if delta {
		// Members the server does not name are unchanged since the token.
		named := make(map[string]bool, len(refs))
		for _, ref := range refs {
			named[ref.Path] = true
		}
		for _, r := range recs {
			if !named[r.SourcePath] && c.want[Workload(r.Workload)] {
				c.rep.count(Workload(r.Workload)).Unchanged++
			}
		}
	}
	failedBefore := len(c.rep.Failures)
	var changed []string
	for _, ref := range refs {
		r, ok := c.byPath[ref.Path]
		if ok && ref.ETag != "" && r.SourceETag == ref.ETag {
			// Unchanged since the copy: counted without reading it.
			if c.want[Workload(r.Workload)] {
				c.rep.count(Workload(r.Workload)).Unchanged++
			}
			continue
		}
		changed = append(changed, ref.Path)
	}
	for len(changed) > 0 {
		n := min(batch, len(changed))
		objs, err := c.src.Get(ctx, c.from, changed[:n])
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		changed = changed[n:]
		for _, o := range objs {
			if err := c.copyOne(ctx, o); err != nil {
				return err
			}
		}
	}
	if len(c.rep.Failures) > failedBefore {
		// Keep the old token: the failed objects come again next pass.
		return nil
	}
	return c.state.SaveSyncToken(ctx, c.from.Path, newToken)
}

// copyOne writes one source object to the destination. Object-level
// problems become failures in the report; only state errors stop the pass.
func (c *collectionRun) copyOne(ctx context.Context, o dav.Object) error {
	info := Describe(o)
	w := info.Workload
	if !c.want[w] {
		return nil
	}
	fail := func(err error, action string) {
		c.rep.count(w).Failed++
		name := c.from.Name
		if name == "" {
			name = c.from.Path
		}
		c.rep.Failures = append(c.rep.Failures, Failure{Workload: w, Collection: name, UID: info.UID,
			Title: info.Title, Date: info.Date, Err: err.Error(), Action: action})
	}
	if info.UID == "" {
		fail(errors.New("the object has no UID"), "give it a UID at the source (edit and save it in a calendar or contacts app), then run again")
		return nil
	}
	if o.Cal != nil {
		noScheduling(o.Cal)
	}
	comp := ""
	switch w {
	case Calendar:
		comp = ical.CompEvent
	case Tasks:
		comp = ical.CompToDo
	}
	to, err := c.to(ctx, comp)
	if err != nil {
		return err
	}
	rec, known := c.byUID[info.UID]
	out := o
	updated := false
	var etag string
	if known {
		out.Path = rec.DestPath
		etag = rec.DestETag
		updated = true
	} else if err := c.loadDestIndex(ctx, to); err != nil {
		return err
	} else if d, ok := to.index[info.UID]; ok {
		// Copied before, but the record is lost: update that object.
		if d.digest == digest(o) {
			return c.save(ctx, w, o, info.UID, d.path, d.etag, false, true)
		}
		out.Path, etag = d.path, d.etag
		updated = true
	} else {
		out.Path = to.coll.Path + resourceName(o, info.UID)
	}
	dstPath, newTag, err := c.dst.Put(ctx, to.coll, out, etag)
	if errors.Is(err, dav.ErrPrecondition) {
		// The destination object is not the version recorded: changed there
		// since, or a pass died between the PUT and its record. Read what is
		// there now and write over it (the source is what is migrated).
		cur, rerr := c.dst.Get(ctx, to.coll, []string{out.Path})
		switch {
		case (rerr == nil && len(cur) == 0) || errors.Is(rerr, fault.ErrNotFound):
			// Deleted at the destination since: copy it again.
			dstPath, newTag, err = c.dst.Put(ctx, to.coll, out, "")
			updated = false
		case rerr != nil:
			fail(fmt.Errorf("write %s: %w; then reading it: %v", out.Path, err, rerr), "run the migration again")
			return nil
		case Describe(cur[0]).UID != info.UID:
			// Another object of the destination has this name: never write
			// over it; the copy goes under a name made from its UID.
			out.Path = to.coll.Path + uidName(o, info.UID)
			dstPath, newTag, err = c.dst.Put(ctx, to.coll, out, "")
			updated = false
		case Equal(cur[0], o):
			return c.save(ctx, w, o, info.UID, out.Path, cur[0].ETag, false, true)
		default:
			dstPath, newTag, err = c.dst.Put(ctx, to.coll, out, cur[0].ETag)
			updated = true
		}
	}
	if err != nil {
		fail(err, actionFor(err))
		return nil
	}
	return c.save(ctx, w, o, info.UID, dstPath, newTag, updated, false)
}

func (c *collectionRun) save(ctx context.Context, w Workload, src dav.Object, uid, destPath, destETag string, updated, unchanged bool) error {
	rec := Record{Collection: c.from.Path, UID: uid, Workload: string(w), SourcePath: src.Path, SourceETag: src.ETag, DestPath: destPath, DestETag: destETag}
	if err := c.state.SaveDAVObject(ctx, rec); err != nil {
		return fmt.Errorf("record the copy of %s: %w", uid, err)
	}
	c.byUID[uid] = rec
	switch {
	case unchanged:
		c.rep.count(w).Unchanged++
	case updated:
		c.rep.count(w).Updated++
	default:
		c.rep.count(w).Copied++
	}
	return nil
}

func (c *collectionRun) loadDestIndex(ctx context.Context, to *target) error {
	if to.index != nil {
		return nil
	}
	refs, err := c.dst.List(ctx, to.coll)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	to.index = make(map[string]destObject, len(refs))
	for len(refs) > 0 {
		n := min(batch, len(refs))
		paths := make([]string, n)
		for i, ref := range refs[:n] {
			paths[i] = ref.Path
		}
		refs = refs[n:]
		objs, err := c.dst.Get(ctx, to.coll, paths)
		if err != nil {
			return fmt.Errorf("destination: %w", err)
		}
		for _, o := range objs {
			if uid := Describe(o).UID; uid != "" {
				to.index[uid] = destObject{path: o.Path, etag: o.ETag, digest: digest(o)}
			}
		}
	}
	return nil
}

func actionFor(err error) string {
	switch fault.KindOf(err) {
	case fault.TooLarge:
		return "the destination refuses objects this large: remove large attachments or photos at the source, then run again"
	case fault.Temporary:
		return "run the migration again (a later pass retries it)"
	case fault.Unauthenticated, fault.Forbidden:
		return "check the destination login and its rights on this collection, then run again"
	case fault.Conflict:
		return "an object with the same UID exists elsewhere on the destination: remove the other copy, then run again"
	default:
		return "fix the object at the source (or remove it) and run again"
	}
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,120}$`)

// resourceName is the destination resource's name: the source's when it
// is plain, else one derived from the UID (stable, so that a retried
// create meets If-None-Match instead of making a second object).
func resourceName(o dav.Object, uid string) string {
	if base := path.Base(o.Path); safeName.MatchString(base) {
		return base
	}
	return uidName(o, uid)
}

// uidName is a resource name made from the UID alone.
func uidName(o dav.Object, uid string) string {
	sum := sha256.Sum256([]byte(uid))
	ext := ".ics"
	if o.Cal == nil {
		ext = ".vcf"
	}
	return hex.EncodeToString(sum[:16]) + ext
}

// Info is what a person recognises an object by.
type Info struct {
	Workload Workload
	UID      string
	Title    string
	Date     string
}

// Describe returns the object's workload, UID, title and date.
func Describe(o dav.Object) Info {
	if o.Cal == nil {
		in := Info{Workload: Contacts, UID: o.Card.Value(vcard.FieldUID), Title: o.Card.Value(vcard.FieldFormattedName)}
		return in
	}
	in := Info{Workload: Calendar}
	for _, comp := range o.Cal.Children {
		if comp.Name != ical.CompEvent && comp.Name != ical.CompToDo {
			continue
		}
		if comp.Name == ical.CompToDo {
			in.Workload = Tasks
		}
		if in.UID == "" {
			in.UID = propValue(comp, ical.PropUID)
		}
		// The master (no RECURRENCE-ID) names the series.
		if comp.Props.Get(ical.PropRecurrenceID) == nil || in.Title == "" {
			in.Title = propValue(comp, ical.PropSummary)
			in.Date = propValue(comp, ical.PropDateTimeStart)
			if in.Date == "" {
				in.Date = propValue(comp, ical.PropDue)
			}
		}
	}
	return in
}

func propValue(comp *ical.Component, name string) string {
	if p := comp.Props.Get(name); p != nil {
		return p.Value
	}
	return ""
}

// noScheduling marks every organizer and attendee SCHEDULE-AGENT=CLIENT
// (RFC 6638 §7.1): a destination that implements CalDAV scheduling then
// sends no invitation, update or cancellation for the copied meeting. The
// people and their answers (PARTSTAT) stay as data.
func noScheduling(cal *ical.Calendar) {
	for _, comp := range cal.Children {
		for _, name := range []string{ical.PropOrganizer, ical.PropAttendee} {
			for i := range comp.Props[name] {
				comp.Props[name][i].Params.Set("SCHEDULE-AGENT", "CLIENT")
			}
		}
	}
}

// StoreState keeps a migration's records in the store, under the
// migration's mailbox id.
type StoreState struct {
	Store   store.DAV
	Mailbox int64
}

func (s StoreState) DAVObjects(ctx context.Context, collection string) ([]Record, error) {
	return s.Store.DAVObjects(ctx, s.Mailbox, collection)
}

func (s StoreState) SaveDAVObject(ctx context.Context, r Record) error {
	return s.Store.SaveDAVObject(ctx, s.Mailbox, r)
}

func (s StoreState) SyncToken(ctx context.Context, collection string) (string, error) {
	return s.Store.DAVSyncToken(ctx, s.Mailbox, collection)
}

func (s StoreState) SaveSyncToken(ctx context.Context, collection, token string) error {
	return s.Store.SaveDAVSyncToken(ctx, s.Mailbox, collection, token)
}
