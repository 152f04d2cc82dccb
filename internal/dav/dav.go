// Package dav reaches a person's calendars, task lists and address books on
// a CalDAV (RFC 4791) and CardDAV (RFC 6352) server: it discovers them from
// one base URL (RFC 6764 well-known URLs, current-user-principal, home
// sets), lists their objects with ETags, reads them parsed by go-ical and
// go-vcard, and writes them back with conditional PUTs (If-None-Match for a
// new object, If-Match for an update) so that nothing is written twice or
// over someone else's change.
package dav

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
	"github.com/emersion/go-webdav/carddav"

	"github.com/ferryhq/ferry/internal/fault"
)

// Endpoint is where a person's DAV data lives: a base URL (the server, or
// any URL under it) and the login.
type Endpoint struct {
	URL      string
	User     string
	Password string
}

// Kind says what a collection holds.
type Kind string

const (
	Calendar    Kind = "calendar"    // CalDAV collection (events, tasks or both)
	AddressBook Kind = "addressbook" // CardDAV collection
)

// Collection is one calendar or address book.
type Collection struct {
	Kind        Kind
	Path        string // absolute path on its server, with a trailing slash
	Name        string // display name
	Description string
	Components  []string // VEVENT, VTODO... (calendars only; empty means any)
}

// Holds reports whether a calendar takes objects of the component (VEVENT,
// VTODO). A calendar that announces no set takes any.
func (c Collection) Holds(component string) bool {
	if len(c.Components) == 0 {
		return true
	}
	for _, comp := range c.Components {
		if strings.EqualFold(comp, component) {
			return true
		}
	}
	return false
}

// Ref names one object of a collection and its current version.
type Ref struct {
	Path string
	ETag string
}

// Object is one calendar object resource or vCard, parsed.
type Object struct {
	Path string
	ETag string
	Cal  *ical.Calendar // calendars
	Card vcard.Card     // address books
}

// Client talks to one account's CalDAV and CardDAV services.
type Client struct {
	ep      Endpoint
	http    webdav.HTTPClient
	raw     *http.Client
	base    *url.URL
	cal     *caldav.Client // nil when the server offers no CalDAV
	card    *carddav.Client
	calHome string
	abHome  string
}

// Dial discovers the account's calendar and address-book homes from ep.URL.
// A server that offers only one of CalDAV and CardDAV is fine; one that
// offers neither is an error.
func Dial(ctx context.Context, ep Endpoint) (*Client, error) {
	base, err := url.Parse(ep.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fault.InvalidField("dav", "%q is not an http(s) URL of a CalDAV/CardDAV server", ep.URL)
	}
	raw := &http.Client{
		Timeout: 5 * time.Minute,
		// PROPFIND must not turn into GET on a 301/302 (net/http does that):
		// redirects are followed by hand in wellKnown.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := &Client{ep: ep, raw: raw, base: base}
	c.http = webdav.HTTPClientWithBasicAuth(raw, ep.User, ep.Password)

	var errs []error
	if ctxURL, err := c.wellKnown(ctx, "caldav"); err == nil {
		if c.cal, c.calHome, err = c.calendarHome(ctx, ctxURL); err != nil {
			errs = append(errs, fmt.Errorf("CalDAV: %w", err))
		}
	} else {
		errs = append(errs, fmt.Errorf("CalDAV: %w", err))
	}
	if ctxURL, err := c.wellKnown(ctx, "carddav"); err == nil {
		if c.card, c.abHome, err = c.addressBookHome(ctx, ctxURL); err != nil {
			errs = append(errs, fmt.Errorf("CardDAV: %w", err))
		}
	} else {
		errs = append(errs, fmt.Errorf("CardDAV: %w", err))
	}
	if c.cal == nil && c.card == nil {
		for _, err := range errs {
			// A refused login says so, whatever else failed.
			if k := fault.KindOf(err); k == fault.Unauthenticated || k == fault.Forbidden {
				return nil, err
			}
		}
		return nil, fault.Wrap(fault.Refused, errors.Join(errs...),
			"dav %s: found neither calendars nor address books (check the URL: give the server's base URL or its CalDAV/CardDAV URL)", redact(ep.URL))
	}
	return c, nil
}

// wellKnown returns the service's context URL (RFC 6764 §5): the base URL
// when it already has a path, else where /.well-known/<service> redirects,
// else the base URL itself.
func (c *Client) wellKnown(ctx context.Context, service string) (string, error) {
	if c.base.Path != "" && c.base.Path != "/" {
		return c.base.String(), nil
	}
	u := c.base.ResolveReference(&url.URL{Path: "/.well-known/" + service})
	req, err := http.NewRequestWithContext(ctx, "PROPFIND", u.String(), strings.NewReader(
		`<?xml version="1.0"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>`))
	if err != nil {
		return "", err
	}
	req.Header.Set("Depth", "0")
	req.Header.Set("Content-Type", "application/xml")
	req.SetBasicAuth(c.ep.User, c.ep.Password)
	resp, err := c.raw.Do(req)
	if err != nil {
		return "", classify(err, "PROPFIND "+u.Path)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return "", fault.New(fault.Unauthenticated, "%s refused the login of %q (HTTP 401): check the user and password", c.base.Host, c.ep.User)
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
		l, err := u.Parse(loc)
		if err != nil {
			return "", fault.New(fault.Invalid, "%s redirects %s to a bad URL %q", c.base.Host, u.Path, loc)
		}
		return l.String(), nil
	}
	return c.base.String(), nil
}

func (c *Client) calendarHome(ctx context.Context, ctxURL string) (*caldav.Client, string, error) {
	cl, err := caldav.NewClient(c.http, ctxURL)
	if err != nil {
		return nil, "", err
	}
	principal, err := cl.FindCurrentUserPrincipal(ctx)
	if err != nil {
		return nil, "", classify(err, "current-user-principal")
	}
	home, err := cl.FindCalendarHomeSet(ctx, principal)
	if err != nil {
		return nil, "", classify(err, "calendar-home-set")
	}
	return cl, home, nil
}

func (c *Client) addressBookHome(ctx context.Context, ctxURL string) (*carddav.Client, string, error) {
	cl, err := carddav.NewClient(c.http, ctxURL)
	if err != nil {
		return nil, "", err
	}
	principal, err := cl.FindCurrentUserPrincipal(ctx)
	if err != nil {
		return nil, "", classify(err, "current-user-principal")
	}
	home, err := cl.FindAddressBookHomeSet(ctx, principal)
	if err != nil {
		return nil, "", classify(err, "addressbook-home-set")
	}
	return cl, home, nil
}

// CalendarHome and AddressBookHome are the discovered home sets ("" when
// the server has no such service).
func (c *Client) CalendarHome() string    { return c.calHome }
func (c *Client) AddressBookHome() string { return c.abHome }

// Collections lists the account's calendars and address books.
func (c *Client) Collections(ctx context.Context) ([]Collection, error) {
	var out []Collection
	if c.cal != nil {
		cals, err := c.cal.FindCalendars(ctx, c.calHome)
		if err != nil {
			return nil, classify(err, "list calendars in "+c.calHome)
		}
		for _, cal := range cals {
			out = append(out, Collection{Kind: Calendar, Path: slash(cal.Path), Name: cal.Name,
				Description: cal.Description, Components: cal.SupportedComponentSet})
		}
	}
	if c.card != nil {
		abs, err := c.card.FindAddressBooks(ctx, c.abHome)
		if err != nil {
			return nil, classify(err, "list address books in "+c.abHome)
		}
		for _, ab := range abs {
			out = append(out, Collection{Kind: AddressBook, Path: slash(ab.Path), Name: ab.Name, Description: ab.Description})
		}
	}
	return out, nil
}

// List returns the objects of a collection with their ETags (one PROPFIND).
func (c *Client) List(ctx context.Context, coll Collection) ([]Ref, error) {
	wc, err := webdav.NewClient(c.http, c.base.String())
	if err != nil {
		return nil, err
	}
	infos, err := wc.ReadDir(ctx, coll.Path, false)
	if err != nil {
		return nil, classify(err, "list "+coll.Path)
	}
	var refs []Ref
	for _, fi := range infos {
		if fi.IsDir || slash(fi.Path) == coll.Path {
			continue
		}
		refs = append(refs, Ref{Path: fi.Path, ETag: fi.ETag})
	}
	return refs, nil
}

// Get reads the given objects of a collection in one multiget REPORT.
func (c *Client) Get(ctx context.Context, coll Collection, paths []string) ([]Object, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	var out []Object
	switch coll.Kind {
	case Calendar:
		objs, err := c.cal.MultiGetCalendar(ctx, coll.Path, &caldav.CalendarMultiGet{
			Paths: paths, CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true}})
		if err != nil {
			return nil, classify(err, "read objects of "+coll.Path)
		}
		for _, o := range objs {
			out = append(out, Object{Path: o.Path, ETag: o.ETag, Cal: o.Data})
		}
	case AddressBook:
		objs, err := c.card.MultiGetAddressBook(ctx, coll.Path, &carddav.AddressBookMultiGet{
			Paths: paths, DataRequest: carddav.AddressDataRequest{AllProp: true}})
		if err != nil {
			return nil, classify(err, "read contacts of "+coll.Path)
		}
		for _, o := range objs {
			out = append(out, Object{Path: o.Path, ETag: o.ETag, Card: o.Card})
		}
	}
	return out, nil
}

// All reads every object of a collection (one REPORT), e.g. to find the
// objects already on a destination by UID when Ferry's state is lost.
func (c *Client) All(ctx context.Context, coll Collection) ([]Object, error) {
	var out []Object
	switch coll.Kind {
	case Calendar:
		objs, err := c.cal.QueryCalendar(ctx, coll.Path, &caldav.CalendarQuery{
			CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true},
			CompFilter:  caldav.CompFilter{Name: "VCALENDAR"}})
		if err != nil {
			return nil, classify(err, "read objects of "+coll.Path)
		}
		for _, o := range objs {
			out = append(out, Object{Path: o.Path, ETag: o.ETag, Cal: o.Data})
		}
	case AddressBook:
		objs, err := c.card.QueryAddressBook(ctx, coll.Path, &carddav.AddressBookQuery{
			DataRequest: carddav.AddressDataRequest{AllProp: true}})
		if err != nil {
			return nil, classify(err, "read contacts of "+coll.Path)
		}
		for _, o := range objs {
			out = append(out, Object{Path: o.Path, ETag: o.ETag, Card: o.Card})
		}
	}
	return out, nil
}

// Create makes a calendar (with the given components) or an address book
// at path, named name.
func (c *Client) Create(ctx context.Context, coll Collection) error {
	var body strings.Builder
	method := "MKCALENDAR"
	if coll.Kind == Calendar {
		body.WriteString(`<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>`)
		fmt.Fprintf(&body, `<D:displayname>%s</D:displayname>`, xmlText(coll.Name))
		if len(coll.Components) > 0 {
			body.WriteString(`<C:supported-calendar-component-set>`)
			for _, comp := range coll.Components {
				fmt.Fprintf(&body, `<C:comp name="%s"/>`, xmlText(comp))
			}
			body.WriteString(`</C:supported-calendar-component-set>`)
		}
		body.WriteString(`</D:prop></D:set></C:mkcalendar>`)
	} else {
		method = "MKCOL"
		body.WriteString(`<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>`)
		fmt.Fprintf(&body, `<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype><D:displayname>%s</D:displayname>`, xmlText(coll.Name))
		body.WriteString(`</D:prop></D:set></D:mkcol>`)
	}
	resp, text, err := c.do(ctx, method, coll.Path, "application/xml; charset=utf-8", []byte(body.String()), nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return statusErr(resp, text, fmt.Sprintf("create %s %q at %s", coll.Kind, coll.Name, coll.Path))
	}
	return nil
}

// Home returns the home set that holds collections of the kind.
func (c *Client) Home(kind Kind) string {
	if kind == Calendar {
		return c.calHome
	}
	return c.abHome
}

// ErrPrecondition is returned by Put when the condition did not hold: the
// object exists already (create) or changed since it was read (update).
var ErrPrecondition = fault.New(fault.Conflict, "the object on the server is not the expected version")

// Put writes obj at path: create (If-None-Match: *) when etag is "", else
// update in place (If-Match: etag). It returns the new ETag ("" when the
// server does not say).
func (c *Client) Put(ctx context.Context, obj Object, etag string) (string, error) {
	var buf bytes.Buffer
	contentType := ical.MIMEType
	if obj.Cal != nil {
		if err := ical.NewEncoder(&buf).Encode(obj.Cal); err != nil {
			return "", fault.Wrap(fault.Invalid, err, "cannot write the calendar object back as iCalendar")
		}
	} else {
		contentType = vcard.MIMEType
		var card bytes.Buffer
		if err := vcard.NewEncoder(&card).Encode(obj.Card); err != nil {
			return "", fault.Wrap(fault.Invalid, err, "cannot write the contact back as vCard")
		}
		// go-vcard keeps an escaped semicolon ("\;", a semicolon inside one
		// part of N, ADR or ORG) as is when it reads, then escapes its
		// backslash when it writes: "Straße 1\; Hinterhaus" would become
		// two parts and push the country off the address. Undo that.
		buf.Write(bytes.ReplaceAll(card.Bytes(), []byte(`\\;`), []byte(`\;`)))
	}
	hdr := http.Header{}
	if etag == "" {
		hdr.Set("If-None-Match", "*")
	} else {
		hdr.Set("If-Match", quoteETag(etag))
	}
	resp, text, err := c.do(ctx, http.MethodPut, obj.Path, contentType+"; charset=utf-8", buf.Bytes(), hdr)
	if err != nil {
		if buf.Len() > 1<<20 && fault.KindOf(err) == fault.Temporary {
			// A server that refuses a large body often answers 413 and
			// closes before the body is sent; the answer can be lost.
			return "", fault.Wrap(fault.Temporary, err, "the object is %d bytes; if it fails again, the destination may refuse objects this large", buf.Len())
		}
		return "", err
	}
	if resp.StatusCode == http.StatusPreconditionFailed {
		return "", ErrPrecondition
	}
	if resp.StatusCode/100 != 2 {
		return "", statusErr(resp, text, "PUT "+obj.Path)
	}
	return unquoteETag(resp.Header.Get("ETag")), nil
}

func (c *Client) do(ctx context.Context, method, p, contentType string, body []byte, hdr http.Header) (*http.Response, string, error) {
	u := c.base.ResolveReference(&url.URL{Path: p})
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	req.SetBasicAuth(c.ep.User, c.ep.Password)
	resp, err := c.raw.Do(req)
	if err != nil {
		return nil, "", classify(err, method+" "+p)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp, strings.TrimSpace(string(text)), nil
}

// statusErr turns an HTTP answer into a fault error that carries the
// server's words.
func statusErr(resp *http.Response, text, what string) error {
	kind := fault.Refused
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		kind = fault.Unauthenticated
	case resp.StatusCode == http.StatusForbidden:
		kind = fault.Forbidden
	case resp.StatusCode == http.StatusNotFound:
		kind = fault.NotFound
	case resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusPreconditionFailed:
		kind = fault.Conflict
	case resp.StatusCode == http.StatusRequestEntityTooLarge || resp.StatusCode == http.StatusInsufficientStorage:
		kind = fault.TooLarge
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		kind = fault.Temporary
	}
	if len(text) > 300 {
		text = text[:300] + "..."
	}
	if kind == fault.Unauthenticated {
		what += " (the login was refused: check the user and password)"
	}
	if text != "" {
		return fault.New(kind, "%s: the server answered %s: %s", what, resp.Status, text)
	}
	return fault.New(kind, "%s: the server answered %s", what, resp.Status)
}

var httpStatus = regexp.MustCompile(`(?:^|: )([1-5][0-9][0-9]) [A-Z]`)

// classify is the one place a DAV transport or library error gets a kind.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := fault.As(err); ok {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) {
		return fault.Wrap(fault.Temporary, err, "%s: the connection failed (Ferry retries on the next pass)", what)
	}
	// go-webdav reports an HTTP answer as "<code> <status text>: ...".
	if m := httpStatus.FindStringSubmatch(err.Error()); m != nil {
		code, _ := strconv.Atoi(m[1])
		return statusErr(&http.Response{StatusCode: code, Status: m[1] + " " + http.StatusText(code)}, err.Error(), what)
	}
	return fault.Wrap(fault.Refused, err, "%s", what)
}

func slash(p string) string {
	if !strings.HasSuffix(p, "/") {
		return p + "/"
	}
	return p
}

func quoteETag(e string) string {
	if strings.HasPrefix(e, `"`) || strings.HasPrefix(e, "W/") {
		return e
	}
	return strconv.Quote(e)
}

func unquoteETag(e string) string {
	if u, err := strconv.Unquote(e); err == nil {
		return u
	}
	return e
}

func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// redact drops a password from a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bad URL)"
	}
	u.User = nil
	return u.String()
}

// Join returns the path of a child resource name in a collection.
func Join(coll, name string) string { return path.Join(coll, name) }

// ErrNoSync says the server did not answer a sync-collection REPORT (RFC
// 6578) for the collection, or no longer knows the token: list it whole.
var ErrNoSync = fault.New(fault.Refused, "the server offers no sync-collection for this collection")

// Changes lists what changed in a collection since token (RFC 6578
// sync-collection, sync-level 1): the members added or changed, with
// their ETags, and the new token. An empty token lists every member. A
// server without sync-collection, or one that no longer knows the token,
// gives ErrNoSync. Removed members are not reported (Ferry does not
// propagate deletions).
func (c *Client) Changes(ctx context.Context, coll Collection, token string) ([]Ref, string, error) {
	body := `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + xmlText(token) +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	resp, text, err := c.doAll(ctx, "REPORT", coll.Path, []byte(body))
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusMultiStatus {
		if resp.StatusCode == http.StatusUnauthorized {
			return nil, "", statusErr(resp, string(text), "sync "+coll.Path)
		}
		return nil, "", ErrNoSync
	}
	var ms struct {
		Responses []struct {
			Href      string `xml:"href"`
			Status    string `xml:"status"`
			PropStats []struct {
				ETag   string `xml:"prop>getetag"`
				Status string `xml:"status"`
			} `xml:"propstat"`
		} `xml:"response"`
		SyncToken string `xml:"sync-token"`
	}
	if err := xml.Unmarshal(text, &ms); err != nil {
		return nil, "", fault.Wrap(fault.Refused, err, "sync %s: the server's answer is not a multistatus", coll.Path)
	}
	if ms.SyncToken == "" {
		return nil, "", ErrNoSync
	}
	var refs []Ref
	for _, r := range ms.Responses {
		if strings.Contains(r.Status, " 404") {
			continue // removed
		}
		u, err := url.Parse(strings.TrimSpace(r.Href))
		if err != nil || slash(u.Path) == coll.Path {
			continue
		}
		ref := Ref{Path: u.Path}
		for _, ps := range r.PropStats {
			if ps.ETag != "" {
				ref.ETag = unquoteETag(strings.TrimSpace(ps.ETag))
			}
		}
		refs = append(refs, ref)
	}
	return refs, ms.SyncToken, nil
}

// doAll is do for answers that are read whole (a multistatus).
func (c *Client) doAll(ctx context.Context, method, p string, body []byte) (*http.Response, []byte, error) {
	u := c.base.ResolveReference(&url.URL{Path: p})
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	req.Header.Set("Depth", "1")
	req.SetBasicAuth(c.ep.User, c.ep.Password)
	resp, err := c.raw.Do(req)
	if err != nil {
		return nil, nil, classify(err, method+" "+p)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, classify(err, method+" "+p)
	}
	return resp, text, nil
}
