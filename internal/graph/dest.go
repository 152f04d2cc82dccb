package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/fault"
)

// The mailbox's containers, as DAV collections: calendars hold events
// (Components VEVENT), To Do lists hold tasks (VTODO), contact folders
// hold contacts. A collection's Path is its Graph path relative to the
// user ("calendars/{id}/"), an object's its item's ("calendars/{id}/events/{id}").
const (
	calendarsPath = "calendars/"
	todoPath      = "todo/lists/"
	foldersPath   = "contactFolders/"
)

// SplitsComponents reports that events and tasks live in containers of
// their own (a calendar and a To Do list), unlike CalDAV.
func (c *Client) SplitsComponents() bool { return true }

// Collections lists the mailbox's calendars, To Do lists and contact
// folders.
func (c *Client) Collections(ctx context.Context) ([]dav.Collection, error) {
	var out []dav.Collection
	add := func(kind dav.Kind, base, nameField string, comps []string) func(json.RawMessage) error {
		return func(raw json.RawMessage) error {
			var v map[string]any
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			id, _ := v["id"].(string)
			name, _ := v[nameField].(string)
			out = append(out, dav.Collection{Kind: kind, Path: base + id + "/", Name: name, Components: comps})
			return nil
		}
	}
	if err := c.list(ctx, c.userPath(calendarsPath[:len(calendarsPath)-1]+"?$select=id,name"), add(dav.Calendar, calendarsPath, "name", []string{"VEVENT"})); err != nil {
		return nil, err
	}
	if err := c.list(ctx, c.userPath("todo/lists"), add(dav.Calendar, todoPath, "displayName", []string{"VTODO"})); err != nil {
		return nil, err
	}
	if err := c.list(ctx, c.userPath("contactFolders?$select=id,displayName"), add(dav.AddressBook, foldersPath, "displayName", nil)); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateCollection makes a calendar, To Do list or contact folder named
// like coll (a calendar that holds only tasks becomes a To Do list).
func (c *Client) CreateCollection(ctx context.Context, coll dav.Collection) (dav.Collection, error) {
	name := coll.Name
	if name == "" {
		name = strings.Trim(coll.Path[strings.LastIndex(strings.TrimSuffix(coll.Path, "/"), "/")+1:], "/")
	}
	var base, rel string
	var body map[string]string
	comps := coll.Components
	switch {
	case coll.Kind == dav.AddressBook:
		base, rel, body = foldersPath, "contactFolders", map[string]string{"displayName": name}
	case len(comps) == 1 && strings.EqualFold(comps[0], "VTODO"):
		base, rel, body = todoPath, "todo/lists", map[string]string{"displayName": name}
	default:
		base, rel, body, comps = calendarsPath, "calendars", map[string]string{"name": name}, []string{"VEVENT"}
	}
	resp, err := c.do(ctx, http.MethodPost, c.userPath(rel), body, nil)
	if err != nil {
		return dav.Collection{}, err
	}
	var made struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.Body, &made); err != nil || made.ID == "" {
		return dav.Collection{}, fault.New(fault.Refused, "create %q: Microsoft Graph's answer has no id", name)
	}
	return dav.Collection{Kind: coll.Kind, Path: base + made.ID + "/", Name: name, Components: comps}, nil
}

func itemsOf(coll dav.Collection) string {
	switch {
	case coll.Kind == dav.AddressBook:
		return "contacts"
	case strings.HasPrefix(coll.Path, todoPath):
		return "tasks"
	}
	return "events"
}

// List returns the collection's items with their ETags (series masters
// and single events for a calendar, not the occurrences).
func (c *Client) List(ctx context.Context, coll dav.Collection) ([]dav.Ref, error) {
	items := itemsOf(coll)
	var refs []dav.Ref
	q := "?$select=id&$top=100"
	err := c.list(ctx, c.userPath(coll.Path+items+q), func(raw json.RawMessage) error {
		var v struct {
			ID   string `json:"id"`
			ETag string `json:"@odata.etag"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		refs = append(refs, dav.Ref{Path: coll.Path + items + "/" + v.ID, ETag: v.ETag})
		return nil
	})
	return refs, err
}

// Get reads the given items in JSON batches of 20 and converts them to
// iCalendar or vCard. Items that are gone are left out.
func (c *Client) Get(ctx context.Context, coll dav.Collection, paths []string) ([]dav.Object, error) {
	items := itemsOf(coll)
	var urls []string
	for _, p := range paths {
		if items == "tasks" {
			urls = append(urls, p, p+"/linkedResources")
		} else {
			urls = append(urls, p+"?"+expandProps)
		}
	}
	answers, errs, err := c.batch(ctx, urls)
	if err != nil {
		return nil, err
	}
	var out []dav.Object
	for i, p := range paths {
		j := i
		if items == "tasks" {
			j = 2 * i
		}
		if errs[j] != nil {
			if errors.Is(errs[j], fault.ErrNotFound) || fault.KindOf(errs[j]) == fault.NotFound {
				continue
			}
			return nil, errs[j]
		}
		switch items {
		case "events":
			var ev Event
			if err := json.Unmarshal(answers[j], &ev); err != nil {
				return nil, fault.Wrap(fault.Refused, err, "read %s", p)
			}
			out = append(out, dav.Object{Path: p, ETag: ev.ETag, Cal: fromEvent(&ev)})
		case "tasks":
			var t Task
			if err := json.Unmarshal(answers[j], &t); err != nil {
				return nil, fault.Wrap(fault.Refused, err, "read %s", p)
			}
			var links struct {
				Value []LinkedResource `json:"value"`
			}
			if errs[j+1] == nil {
				json.Unmarshal(answers[j+1], &links)
			}
			out = append(out, dav.Object{Path: p, ETag: t.ETag, Cal: fromTask(&t, links.Value)})
		default:
			var ct Contact
			if err := json.Unmarshal(answers[j], &ct); err != nil {
				return nil, fault.Wrap(fault.Refused, err, "read %s", p)
			}
			out = append(out, dav.Object{Path: p, ETag: ct.ETag, Card: fromContact(&ct)})
		}
	}
	return out, nil
}

// Put writes obj into coll: a new item when etag is "" (POST; Graph
// names it), else an update of the item at obj.Path if it is still the
// version etag (PATCH with If-Match; dav.ErrPrecondition when not). It
// returns the item's path and new ETag.
//
// A meeting is written without its attendees (they are kept in
// PropParticipants): Exchange sends invitations to the attendees of an
// event created or updated through Graph, and Graph has no switch to stop
// it.
func (c *Client) Put(ctx context.Context, coll dav.Collection, obj dav.Object, etag string) (string, string, error) {
	items := itemsOf(coll)
	var body any
	var after func(ctx context.Context, path string) error
	switch {
	case items == "contacts":
		if obj.Card == nil {
			return "", "", fault.New(fault.Invalid, "a contact folder takes only contacts")
		}
		_, ct, photo, err := toContact(obj.Card)
		if err != nil {
			return "", "", err
		}
		body = ct
		if photo != nil {
			after = func(ctx context.Context, path string) error {
				_, err := c.do(ctx, http.MethodPut, c.userPath(path+"/photo/$value"), photo, http.Header{"Content-Type": {"image/jpeg"}})
				return err
			}
		}
	case obj.Cal == nil:
		return "", "", fault.New(fault.Invalid, "a calendar or To Do list takes only iCalendar objects")
	case items == "tasks":
		_, t, err := toTask(obj.Cal)
		if err != nil {
			return "", "", err
		}
		if etag != "" {
			t.LinkedResources = nil // not writable by PATCH; kept from the create
		}
		body = t
	default:
		parts, err := toEvent(obj.Cal)
		if err != nil {
			return "", "", err
		}
		body = parts.Event
		if len(parts.Cancelled)+len(parts.Overrides) > 0 {
			after = func(ctx context.Context, path string) error { return c.exceptions(ctx, path, parts) }
		}
	}
	var resp *response
	var err error
	path := obj.Path
	if etag == "" {
		resp, err = c.do(ctx, http.MethodPost, c.userPath(coll.Path+items), body, nil)
	} else {
		resp, err = c.do(ctx, http.MethodPatch, c.userPath(obj.Path), body, http.Header{"If-Match": {etag}})
		if fault.KindOf(err) == fault.Conflict {
			return "", "", dav.ErrPrecondition
		}
		if fault.KindOf(err) == fault.NotFound {
			return "", "", dav.ErrPrecondition // deleted there: davsync reads it and creates it again
		}
	}
	if err != nil {
		return "", "", err
	}
	var got struct {
		ID   string `json:"id"`
		ETag string `json:"@odata.etag"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil || got.ID == "" {
		return "", "", fault.New(fault.Refused, "write %s: Microsoft Graph's answer has no id", obj.Path)
	}
	if etag == "" {
		path = coll.Path + items + "/" + got.ID
	}
	newTag := got.ETag
	if after != nil {
		if err := after(ctx, path); err != nil {
			// The item is there; its record makes the next pass update it.
			return path, "", err
		}
		r, err := c.do(ctx, http.MethodGet, c.userPath(path+"?$select=id"), nil, nil)
		if err != nil {
			return path, "", err
		}
		json.Unmarshal(r.Body, &got)
		newTag = got.ETag
	}
	return path, newTag, nil
}

// exceptions applies a series' cancelled and modified occurrences: each is
// looked up among the series' instances on its original day and deleted
// or updated. An occurrence not found (deleted by an earlier pass) is
// passed over.
func (c *Client) exceptions(ctx context.Context, series string, parts *eventParts) error {
	find := func(orig time.Time) (string, error) {
		q := url.Values{}
		q.Set("startDateTime", orig.Add(-24*time.Hour).UTC().Format(time.RFC3339))
		q.Set("endDateTime", orig.Add(48*time.Hour).UTC().Format(time.RFC3339))
		q.Set("$select", "id,originalStart")
		id := ""
		err := c.list(ctx, c.userPath(series+"/instances?"+q.Encode()), func(raw json.RawMessage) error {
			var v Event
			if err := json.Unmarshal(raw, &v); err != nil {
				return err
			}
			if t, err := time.Parse(time.RFC3339, v.OriginalStart); err == nil && t.Equal(orig) {
				id = v.ID
			}
			return nil
		})
		return id, err
	}
	for _, orig := range parts.Cancelled {
		id, err := find(orig)
		if err != nil {
			return err
		}
		if id == "" {
			continue
		}
		// Deleting an occurrence of an event without attendees sends
		// nothing (a cancellation goes only to attendees).
		if _, err := c.do(ctx, http.MethodDelete, c.userPath("events/"+id), nil, nil); err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
	}
	for _, o := range parts.Overrides {
		id, err := find(o.OriginalStart)
		if err != nil {
			return err
		}
		if id == "" {
			continue
		}
		patch := o.Patch
		patch.Recurrence = nil
		if _, err := c.do(ctx, http.MethodPatch, c.userPath("events/"+id), occurrencePatch(patch), nil); err != nil {
			return err
		}
	}
	return nil
}

// occurrencePatch is the body that updates one occurrence (recurrence is
// a series property and may not be sent for an occurrence).
func occurrencePatch(e Event) map[string]any {
	m := map[string]any{"subject": e.Subject, "start": e.Start, "end": e.End, "isAllDay": e.IsAllDay,
		"categories": e.Categories, "showAs": e.ShowAs, "isReminderOn": e.IsReminderOn, "reminderMinutesBeforeStart": e.ReminderMinutesBeforeStart}
	if e.Body != nil {
		m["body"] = e.Body
	}
	if e.Location != nil {
		m["location"] = e.Location
	}
	return m
}
