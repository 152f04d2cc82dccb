// Package testgraph is a Microsoft Graph v1.0 test double for the
// endpoints Ferry uses to write calendars, contacts and To Do tasks into a
// Microsoft 365 mailbox, following the published request and response
// shapes: calendars and events (with series, their instances, and
// occurrences deleted or changed), contactFolders and contacts (with
// photo/$value), todo/lists and tasks (with linkedResources), JSON $batch
// of at most 20 requests, paging with @odata.nextLink, throttling (429
// with Retry-After, for whole requests and inside a batch), ETags with
// If-Match (412 when stale), and app-only bearer tokens checked against
// internal/testoauth's introspection (401 InvalidAuthenticationToken).
//
// It records the meeting messages Exchange Online sends for changes made
// through Graph: creating an event with attendees invites them, changing
// a meeting's time, place or attendees sends them an update (new
// attendees an invitation), deleting a meeting or one of its occurrences
// sends a cancellation (docs: "Create event", "Update event", "Delete
// event": "If the event is a meeting, deleting the event on the
// organizer's calendar sends a cancellation message to the meeting
// attendees").
package testgraph

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Scope is the only scope the double accepts in a token.
const Scope = "https://graph.microsoft.com/.default"

// Message is a meeting message Exchange would have sent.
type Message struct {
	Kind    string // "invitation", "update" or "cancellation"
	To      string
	Subject string
}

// Server is a running double.
type Server struct {
	URL     string // base, e.g. https://127.0.0.1:port/v1.0
	CertPEM []byte // the server's certificate, for SSL_CERT_FILE
	Client  *http.Client

	introspect string
	hs         *httptest.Server

	mu        sync.Mutex
	mailboxes map[string]*Mailbox
	sent      []Message
	throttle  int // answer the next n requests 429
	retryAft  int
	batchThr  int // answer the next n requests inside batches 429
	throttled int
	requests  int
	batches   int
	maxBatch  int
	pageSize  int
	expire    map[string]bool // tokens refused as expired though active
}

// Mailbox is one user's data.
type Mailbox struct {
	UPN       string
	Calendars []*Container
	Lists     []*Container
	Folders   []*Container
}

// Container is a calendar, To Do list or contact folder.
type Container struct {
	ID    string
	Name  string
	Items []*Item
}

// Item is an event, task or contact as stored: the JSON object written
// (POST, then PATCHes merged), with what Graph keeps beside it.
type Item struct {
	ID        string
	Change    int
	Data      map[string]any
	Cancelled map[int64]bool           // occurrences deleted (original start, Unix)
	Overrides map[int64]map[string]any // occurrences changed
	Photo     []byte
	Links     []map[string]any // a task's linkedResources
}

// Start runs a double whose tokens are checked at introspectURL
// (testoauth.Server.IntrospectURL).
func Start(tb testing.TB, introspectURL string) *Server {
	tb.Helper()
	s := &Server{introspect: introspectURL, mailboxes: map[string]*Mailbox{}, maxBatch: 20, pageSize: 10, expire: map[string]bool{}}
	s.hs = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.hs.Close)
	s.URL = s.hs.URL + "/v1.0"
	s.Client = s.hs.Client()
	s.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.hs.Certificate().Raw})
	return s
}

// CertFile writes the certificate into dir and returns its path.
func (s *Server) CertFile(tb testing.TB, dir string) string {
	p := filepath.Join(dir, "graph-ca.pem")
	if err := os.WriteFile(p, s.CertPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// AddMailbox makes a mailbox with its default calendar ("Calendar") and
// To Do list ("Tasks"), as Exchange Online provisions them.
func (s *Server) AddMailbox(upn string) *Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Mailbox{UPN: upn,
		Calendars: []*Container{{ID: newID(), Name: "Calendar"}},
		Lists:     []*Container{{ID: newID(), Name: "Tasks"}}}
	s.mailboxes[strings.ToLower(upn)] = m
	return m
}

// Throttle makes the next n requests answer 429 with Retry-After seconds;
// InBatch does the same for n requests inside $batch.
func (s *Server) Throttle(n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle, s.retryAft = n, retryAfter
}

func (s *Server) ThrottleInBatch(n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batchThr, s.retryAft = n, retryAfter
}

// SetPageSize sets how many items a list answers per page at most.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// ExpireToken makes Graph refuse token as expired (401
// InvalidAuthenticationToken) though the token server still knows it.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire[token] = true
}

// Sent returns the meeting messages sent so far.
func (s *Server) Sent() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Stats: requests served (a batch counts once), batches, 429s answered.
func (s *Server) Stats() (requests, batches, throttled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.batches, s.throttled
}

// Snapshot returns a deep copy of a mailbox, for assertions.
func (s *Server) Snapshot(upn string) *Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mailboxes[strings.ToLower(upn)]
	if m == nil {
		return nil
	}
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(m)
	var out Mailbox
	json.NewDecoder(&b).Decode(&out)
	return &out
}

// Ext returns an item's single-value extended property.
func (it *Item) Ext(id string) string {
	props, _ := it.Data["singleValueExtendedProperties"].([]any)
	for _, p := range props {
		pm, _ := p.(map[string]any)
		if strings.EqualFold(fmt.Sprint(pm["id"]), id) {
			return fmt.Sprint(pm["value"])
		}
	}
	return ""
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return "AAMk" + hex.EncodeToString(b[:])
}

type apiErr struct {
	status  int
	code    string
	message string
	header  http.Header
}

func writeErr(w http.ResponseWriter, e *apiErr) {
	for k, v := range e.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": e.code, "message": e.message,
		"innerError": map[string]string{"date": time.Now().UTC().Format(time.RFC3339), "request-id": newID()}}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/v1.0/") {
		writeErr(w, &apiErr{status: 404, code: "BadRequest", message: "Invalid version."})
		return
	}
	if e := s.checkToken(r.Header.Get("Authorization")); e != nil {
		writeErr(w, e)
		return
	}
	s.mu.Lock()
	s.requests++
	if s.throttle > 0 {
		s.throttle--
		s.throttled++
		ra := s.retryAft
		s.mu.Unlock()
		writeErr(w, &apiErr{status: 429, code: "TooManyRequests", message: "Please retry again later.", header: http.Header{"Retry-After": {strconv.Itoa(ra)}}})
		return
	}
	s.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	rel := strings.TrimPrefix(r.URL.Path, "/v1.0")
	if rel == "/$batch" && r.Method == http.MethodPost {
		s.batch(w, body)
		return
	}
	s.mu.Lock()
	status, hdr, out, e := s.route(r.Method, rel, r.URL.Query(), r.Header, body)
	s.mu.Unlock()
	if e != nil {
		writeErr(w, e)
		return
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	if out != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	if out != nil {
		json.NewEncoder(w).Encode(out)
	}
}

// checkToken asks the token server about the bearer token.
func (s *Server) checkToken(auth string) *apiErr {
	refuse := func(msg string) *apiErr {
		return &apiErr{status: 401, code: "InvalidAuthenticationToken", message: msg,
			header: http.Header{"Www-Authenticate": {`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"`}}}
	}
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		return refuse("Access token is empty.")
	}
	s.mu.Lock()
	expired := s.expire[tok]
	s.mu.Unlock()
	if expired {
		return refuse("Lifetime validation failed, the token is expired.")
	}
	resp, err := http.PostForm(s.introspect, url.Values{"token": {tok}})
	if err != nil {
		return &apiErr{status: 503, code: "ServiceNotAvailable", message: err.Error()}
	}
	defer resp.Body.Close()
	var v struct {
		Active bool   `json:"active"`
		Scope  string `json:"scope"`
	}
	json.NewDecoder(resp.Body).Decode(&v)
	if !v.Active {
		return refuse("Lifetime validation failed, the token is expired.")
	}
	if v.Scope != Scope {
		return refuse("Invalid audience.")
	}
	return nil
}

func (s *Server) batch(w http.ResponseWriter, body []byte) {
	var req struct {
		Requests []struct {
			ID      string            `json:"id"`
			Method  string            `json:"method"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeErr(w, &apiErr{status: 400, code: "BadRequest", message: "Invalid batch payload format."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches++
	if len(req.Requests) > s.maxBatch {
		writeErr(w, &apiErr{status: 400, code: "BadRequest", message: fmt.Sprintf("Number of batch request steps exceeds the maximum value of %d.", s.maxBatch)})
		return
	}
	type answer struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    any               `json:"body,omitempty"`
	}
	var out []answer
	for _, r := range req.Requests {
		if !strings.HasPrefix(r.URL, "/") {
			r.URL = "/" + r.URL
		}
		if s.batchThr > 0 {
			s.batchThr--
			s.throttled++
			out = append(out, answer{ID: r.ID, Status: 429, Headers: map[string]string{"Retry-After": strconv.Itoa(s.retryAft)},
				Body: map[string]any{"error": map[string]string{"code": "TooManyRequests", "message": "Please retry again later."}}})
			continue
		}
		u, err := url.Parse(r.URL)
		if err != nil {
			out = append(out, answer{ID: r.ID, Status: 400, Body: map[string]any{"error": map[string]string{"code": "BadRequest", "message": "Invalid request URL."}}})
			continue
		}
		hdr := http.Header{}
		for k, v := range r.Headers {
			hdr.Set(k, v)
		}
		status, _, res, e := s.route(r.Method, u.Path, u.Query(), hdr, r.Body)
		if e != nil {
			out = append(out, answer{ID: r.ID, Status: e.status, Headers: map[string]string{"Content-Type": "application/json"},
				Body: map[string]any{"error": map[string]string{"code": e.code, "message": e.message}}})
			continue
		}
		out = append(out, answer{ID: r.ID, Status: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: res})
	}
	// Graph answers batch steps in any order.
	slices.Reverse(out)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"responses": out})
}

var errNotFound = &apiErr{status: 404, code: "ErrorItemNotFound", message: "The specified object was not found in the store."}

// route serves one request with s.mu held.
func (s *Server) route(method, p string, q url.Values, hdr http.Header, body []byte) (int, http.Header, any, *apiErr) {
	seg := strings.Split(strings.Trim(p, "/"), "/")
	if len(seg) < 3 || seg[0] != "users" {
		return 0, nil, nil, &apiErr{status: 400, code: "BadRequest", message: "Resource not found for the segment '" + seg[0] + "'."}
	}
	upn, _ := url.PathUnescape(seg[1])
	m := s.mailboxes[strings.ToLower(upn)]
	if m == nil {
		return 0, nil, nil, &apiErr{status: 404, code: "ErrorInvalidUser", message: "The requested user '" + upn + "' is invalid."}
	}
	rest := seg[2:]
	var in map[string]any
	if len(body) > 0 && hdr.Get("Content-Type") != "image/jpeg" {
		if err := json.Unmarshal(body, &in); err != nil {
			return 0, nil, nil, &apiErr{status: 400, code: "BadRequest", message: "Unable to read JSON request payload."}
		}
	}
	key := strings.Join(rest, "/")
	switch {
	case key == "calendars" || key == "todo/lists" || key == "contactFolders":
		list, nameField := &m.Calendars, "name"
		if key == "todo/lists" {
			list, nameField = &m.Lists, "displayName"
		} else if key == "contactFolders" {
			list, nameField = &m.Folders, "displayName"
		}
		switch method {
		case http.MethodGet:
			var vals []any
			for _, c := range *list {
				vals = append(vals, map[string]any{"id": c.ID, nameField: c.Name})
			}
			return s.page(p, q, vals)
		case http.MethodPost:
			name, _ := in[nameField].(string)
			if name == "" {
				return 0, nil, nil, &apiErr{status: 400, code: "ErrorInvalidProperty", message: "The " + nameField + " property is required."}
			}
			for _, c := range *list {
				if strings.EqualFold(c.Name, name) {
					return 0, nil, nil, &apiErr{status: 409, code: "ErrorFolderExists", message: "A folder with the specified name already exists."}
				}
			}
			c := &Container{ID: newID(), Name: name}
			*list = append(*list, c)
			return 201, nil, map[string]any{"id": c.ID, nameField: c.Name}, nil
		}
	case len(rest) >= 3 && rest[0] == "calendars" && rest[2] == "events":
		c := find(m.Calendars, rest[1])
		if c == nil {
			return 0, nil, nil, errNotFound
		}
		return s.items(c, "events", rest[3:], method, p, q, hdr, in, body)
	case len(rest) >= 2 && rest[0] == "events":
		// /events/{id}: an item of any calendar, or an occurrence.
		for _, c := range m.Calendars {
			if it := findItem(c, strings.SplitN(rest[1], "_", 2)[0]); it != nil {
				return s.items(c, "events", rest[1:], method, p, q, hdr, in, body)
			}
		}
		return 0, nil, nil, errNotFound
	case len(rest) >= 4 && rest[0] == "todo" && rest[1] == "lists" && rest[3] == "tasks":
		c := find(m.Lists, rest[2])
		if c == nil {
			return 0, nil, nil, errNotFound
		}
		return s.items(c, "tasks", rest[4:], method, p, q, hdr, in, body)
	case len(rest) >= 3 && rest[0] == "contactFolders" && rest[2] == "contacts":
		c := find(m.Folders, rest[1])
		if c == nil {
			return 0, nil, nil, errNotFound
		}
		return s.items(c, "contacts", rest[3:], method, p, q, hdr, in, body)
	}
	return 0, nil, nil, &apiErr{status: 400, code: "BadRequest", message: "Unsupported request " + method + " " + p}
}

func find(cs []*Container, id string) *Container {
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	return nil
}

func findItem(c *Container, id string) *Item {
	for _, it := range c.Items {
		if it.ID == id {
			return it
		}
	}
	return nil
}

// page answers a list with paging: at most $top (default the page size)
// values and an @odata.nextLink with $skip when more remain.
func (s *Server) page(p string, q url.Values, vals []any) (int, http.Header, any, *apiErr) {
	top := s.pageSize
	if t, err := strconv.Atoi(q.Get("$top")); err == nil && t > 0 && t < top {
		top = t
	}
	skip, _ := strconv.Atoi(q.Get("$skip"))
	if skip > len(vals) {
		skip = len(vals)
	}
	end := min(len(vals), skip+top)
	out := map[string]any{"value": nonNil(vals[skip:end])}
	if end < len(vals) {
		nq := maps.Clone(q)
		nq.Set("$skip", strconv.Itoa(end))
		out["@odata.nextLink"] = s.URL + strings.TrimPrefix(p, "/v1.0") + "?" + nq.Encode()
	}
	return 200, nil, out, nil
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

func etag(it *Item) string { return fmt.Sprintf(`W/"CQAAABYAAA%08d"`, it.Change) }

// view is what a GET returns of an item.
func view(it *Item, q url.Values, kind string) map[string]any {
	out := map[string]any{}
	for k, v := range it.Data {
		if k == "singleValueExtendedProperties" || k == "linkedResources" || k == "attendees" && kind != "events" {
			continue
		}
		out[k] = v
	}
	if exp := q.Get("$expand"); strings.Contains(exp, "singleValueExtendedProperties") {
		var props []any
		list, _ := it.Data["singleValueExtendedProperties"].([]any)
		for _, p := range list {
			pm, _ := p.(map[string]any)
			if strings.Contains(strings.ToLower(exp), strings.ToLower(fmt.Sprint(pm["id"]))) {
				props = append(props, pm)
			}
		}
		if props != nil {
			out["singleValueExtendedProperties"] = props
		}
	}
	if sel := q.Get("$select"); sel != "" {
		keep := map[string]bool{"id": true, "@odata.etag": true}
		for _, f := range strings.Split(sel, ",") {
			keep[strings.TrimSpace(f)] = true
		}
		for k := range out {
			if !keep[k] && k != "singleValueExtendedProperties" {
				delete(out, k)
			}
		}
	}
	out["id"] = it.ID
	out["@odata.etag"] = etag(it)
	if kind != "tasks" {
		out["changeKey"] = fmt.Sprintf("CQAAABYAAA%08d", it.Change)
	}
	if kind == "events" {
		if _, ok := out["type"]; !ok && (q.Get("$select") == "" || strings.Contains(q.Get("$select"), "type")) {
			out["type"] = "singleInstance"
			if it.Data["recurrence"] != nil {
				out["type"] = "seriesMaster"
			}
		}
	}
	return out
}

// items serves a container's collection (rest empty) or one item.
func (s *Server) items(c *Container, kind string, rest []string, method, p string, q url.Values, hdr http.Header, in map[string]any, raw []byte) (int, http.Header, any, *apiErr) {
	if len(rest) == 0 {
		switch method {
		case http.MethodGet:
			var vals []any
			for _, it := range c.Items {
				vals = append(vals, view(it, q, kind))
			}
			return s.page(p, q, vals)
		case http.MethodPost:
			if e := validate(kind, in, true); e != nil {
				return 0, nil, nil, e
			}
			it := &Item{ID: newID(), Change: 1, Data: map[string]any{}}
			for k, v := range in {
				if kind == "tasks" && k == "linkedResources" {
					for _, l := range v.([]any) {
						lm := l.(map[string]any)
						lm["id"] = newID()
						it.Links = append(it.Links, lm)
					}
					continue
				}
				it.Data[k] = v
			}
			c.Items = append(c.Items, it)
			if kind == "events" {
				for _, a := range attendees(it.Data) {
					s.sent = append(s.sent, Message{Kind: "invitation", To: a, Subject: fmt.Sprint(it.Data["subject"])})
				}
			}
			return 201, nil, view(it, url.Values{"$expand": {"singleValueExtendedProperties"}}, kind), nil
		}
		return 0, nil, nil, &apiErr{status: 405, code: "ErrorInvalidRequest", message: "The OData request is not supported."}
	}
	id, occ, isOcc := strings.Cut(rest[0], "_")
	it := findItem(c, id)
	if it == nil {
		return 0, nil, nil, errNotFound
	}
	if isOcc {
		return s.occurrence(it, occ, method, in)
	}
	switch {
	case len(rest) == 2 && rest[1] == "instances" && kind == "events" && method == http.MethodGet:
		return s.instances(it, p, q)
	case len(rest) == 2 && rest[1] == "linkedResources" && kind == "tasks" && method == http.MethodGet:
		var vals []any
		for _, l := range it.Links {
			vals = append(vals, l)
		}
		return s.page(p, q, vals)
	case len(rest) == 3 && rest[1] == "photo" && rest[2] == "$value" && kind == "contacts" && method == http.MethodPut:
		if len(raw) == 0 {
			return 0, nil, nil, &apiErr{status: 400, code: "ErrorInvalidRequest", message: "The photo is empty."}
		}
		if len(raw) > 4<<20 {
			return 0, nil, nil, &apiErr{status: 413, code: "ErrorRequestEntityTooLarge", message: "The photo is too large."}
		}
		it.Photo = slices.Clone(raw)
		it.Change++
		return 200, nil, nil, nil
	case len(rest) > 1:
		return 0, nil, nil, &apiErr{status: 400, code: "BadRequest", message: "Unsupported segment " + rest[1]}
	}
	switch method {
	case http.MethodGet:
		return 200, nil, view(it, q, kind), nil
	case http.MethodPatch:
		if m := hdr.Get("If-Match"); m != "" && m != etag(it) {
			return 0, nil, nil, &apiErr{status: 412, code: "ErrorIrresolvableConflict", message: "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item."}
		}
		if e := validate(kind, in, false); e != nil {
			return 0, nil, nil, e
		}
		if kind == "tasks" {
			if _, ok := in["linkedResources"]; ok {
				return 0, nil, nil, &apiErr{status: 400, code: "invalidRequest", message: "linkedResources cannot be updated with the task."}
			}
		}
		before := attendees(it.Data)
		meetingChanged := false
		for k, v := range in {
			if k == "singleValueExtendedProperties" {
				it.Data[k] = mergeProps(it.Data[k], v)
				continue
			}
			if kind == "events" && (k == "start" || k == "end" || k == "location" || k == "recurrence" || k == "isAllDay") && !jsonEqual(it.Data[k], v) {
				meetingChanged = true
			}
			it.Data[k] = v
		}
		if kind == "events" {
			after := attendees(it.Data)
			for _, a := range after {
				switch {
				case !slices.Contains(before, a):
					s.sent = append(s.sent, Message{Kind: "invitation", To: a, Subject: fmt.Sprint(it.Data["subject"])})
				case meetingChanged:
					s.sent = append(s.sent, Message{Kind: "update", To: a, Subject: fmt.Sprint(it.Data["subject"])})
				}
			}
			for _, a := range before {
				if !slices.Contains(after, a) {
					s.sent = append(s.sent, Message{Kind: "cancellation", To: a, Subject: fmt.Sprint(it.Data["subject"])})
				}
			}
		}
		it.Change++
		return 200, nil, view(it, url.Values{"$expand": {"singleValueExtendedProperties"}}, kind), nil
	case http.MethodDelete:
		if kind == "events" {
			for _, a := range attendees(it.Data) {
				s.sent = append(s.sent, Message{Kind: "cancellation", To: a, Subject: fmt.Sprint(it.Data["subject"])})
			}
		}
		c.Items = slices.DeleteFunc(c.Items, func(x *Item) bool { return x == it })
		return 204, nil, nil, nil
	}
	return 0, nil, nil, &apiErr{status: 405, code: "ErrorInvalidRequest", message: "The OData request is not supported."}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func mergeProps(old, add any) any {
	list, _ := old.([]any)
	for _, n := range add.([]any) {
		nm, _ := n.(map[string]any)
		replaced := false
		for i, o := range list {
			om, _ := o.(map[string]any)
			if strings.EqualFold(fmt.Sprint(om["id"]), fmt.Sprint(nm["id"])) {
				list[i], replaced = nm, true
			}
		}
		if !replaced {
			list = append(list, nm)
		}
	}
	return list
}

func attendees(d map[string]any) []string {
	var out []string
	list, _ := d["attendees"].([]any)
	for _, a := range list {
		am, _ := a.(map[string]any)
		ea, _ := am["emailAddress"].(map[string]any)
		if addr, _ := ea["address"].(string); addr != "" {
			out = append(out, strings.ToLower(addr))
		}
	}
	return out
}

// validate checks what Graph refuses in an event, task or contact.
func validate(kind string, in map[string]any, create bool) *apiErr {
	bad := func(msg string) *apiErr {
		return &apiErr{status: 400, code: "ErrorInvalidRequest", message: msg}
	}
	if in == nil {
		return bad("Empty Payload. JSON content expected.")
	}
	if props, ok := in["singleValueExtendedProperties"]; ok {
		list, ok := props.([]any)
		if !ok {
			return bad("singleValueExtendedProperties must be a collection.")
		}
		for _, p := range list {
			pm, _ := p.(map[string]any)
			id := fmt.Sprint(pm["id"])
			if !strings.HasPrefix(id, "String {") || !strings.Contains(id, "} Name ") {
				return &apiErr{status: 400, code: "ErrorInvalidProperty", message: "The property id '" + id + "' is not valid."}
			}
		}
	}
	switch kind {
	case "events":
		for _, k := range []string{"iCalUId", "organizer", "id", "changeKey", "seriesMasterId", "type"} {
			if _, ok := in[k]; ok && k != "organizer" {
				return bad("The property '" + k + "' is read-only.")
			}
		}
		if create && (in["start"] == nil || in["end"] == nil) {
			return &apiErr{status: 400, code: "ErrorPropertyValidationFailure", message: "At least one property failed validation: start, end."}
		}
		if allDay, _ := in["isAllDay"].(bool); allDay {
			for _, k := range []string{"start", "end"} {
				dt, _ := in[k].(map[string]any)
				v, _ := dt["dateTime"].(string)
				t, err := parseGraphTime(v)
				if err != nil || t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 {
					return &apiErr{status: 400, code: "ErrorPropertyValidationFailure", message: "The start and end of an all-day event must be at midnight."}
				}
			}
		}
		if rec, ok := in["recurrence"].(map[string]any); ok {
			pat, _ := rec["pattern"].(map[string]any)
			switch pat["type"] {
			case "daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly":
			default:
				return bad(fmt.Sprintf("The recurrence pattern type '%v' is not valid.", pat["type"]))
			}
		}
	case "tasks":
		if t, _ := in["title"].(string); create && t == "" {
			return bad("title is required.")
		}
		if links, ok := in["linkedResources"].([]any); ok {
			for _, l := range links {
				lm, _ := l.(map[string]any)
				if lm["applicationName"] == nil || lm["applicationName"] == "" {
					return bad("linkedResource.applicationName is required.")
				}
			}
		}
	}
	return nil
}

func parseGraphTime(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.0000000", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad dateTime %q", v)
}

// occurrences expands a series (daily, weekly, absolute monthly and
// yearly patterns; numbered, endDate and noEnd ranges) up to limit.
func occurrences(d map[string]any, limit time.Time) []time.Time {
	rec, _ := d["recurrence"].(map[string]any)
	if rec == nil {
		return nil
	}
	start, _ := d["start"].(map[string]any)
	tzName, _ := start["timeZone"].(string)
	loc, err := time.LoadLocation(tzName)
	if err != nil {
		loc = time.UTC
	}
	st, err := parseGraphTime(fmt.Sprint(start["dateTime"]))
	if err != nil {
		return nil
	}
	first := time.Date(st.Year(), st.Month(), st.Day(), st.Hour(), st.Minute(), st.Second(), 0, loc)
	pat, _ := rec["pattern"].(map[string]any)
	rng, _ := rec["range"].(map[string]any)
	interval := 1
	if f, ok := pat["interval"].(float64); ok && f >= 1 {
		interval = int(f)
	}
	count := -1
	if rng["type"] == "numbered" {
		count = int(rng["numberOfOccurrences"].(float64))
	}
	end := limit
	if rng["type"] == "endDate" {
		if e, err := time.ParseInLocation("2006-01-02", fmt.Sprint(rng["endDate"]), loc); err == nil {
			end = e.Add(24*time.Hour - time.Second)
		}
	}
	days := map[time.Weekday]bool{}
	if list, ok := pat["daysOfWeek"].([]any); ok {
		for _, dd := range list {
			for wd := time.Sunday; wd <= time.Saturday; wd++ {
				if strings.EqualFold(wd.String(), fmt.Sprint(dd)) {
					days[wd] = true
				}
			}
		}
	}
	var out []time.Time
	add := func(t time.Time) bool {
		if t.Before(first) {
			return true
		}
		if t.After(end) || t.After(limit) || (count >= 0 && len(out) >= count) {
			return false
		}
		out = append(out, t)
		return true
	}
	at := func(y int, m time.Month, day int) time.Time {
		return time.Date(y, m, day, first.Hour(), first.Minute(), first.Second(), 0, loc)
	}
	switch pat["type"] {
	case "daily":
		for i := 0; add(at(first.Year(), first.Month(), first.Day()+i*interval)); i++ {
		}
	case "weekly":
		monday := first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7))
		for w := 0; ; w += interval {
			cont := true
			for i := 0; i < 7 && cont; i++ {
				d := at(monday.Year(), monday.Month(), monday.Day()+7*w+i)
				if days[d.Weekday()] {
					cont = add(d)
				}
			}
			if !cont || w > 5000 {
				break
			}
		}
	case "absoluteMonthly":
		dom := int(pat["dayOfMonth"].(float64))
		for i := 0; add(at(first.Year(), first.Month()+time.Month(i*interval), dom)); i++ {
		}
	case "absoluteYearly":
		dom, mon := int(pat["dayOfMonth"].(float64)), time.Month(int(pat["month"].(float64)))
		for i := 0; add(at(first.Year()+i*interval, mon, dom)); i++ {
		}
	}
	return out
}

// instances answers GET .../events/{id}/instances: the occurrences that
// start in [startDateTime, endDateTime), deleted ones left out, changed
// ones with their changes; ids are "{series}_{original start}".
func (s *Server) instances(it *Item, p string, q url.Values) (int, http.Header, any, *apiErr) {
	from, err1 := time.Parse(time.RFC3339, q.Get("startDateTime"))
	to, err2 := time.Parse(time.RFC3339, q.Get("endDateTime"))
	if err1 != nil || err2 != nil {
		return 0, nil, nil, &apiErr{status: 400, code: "ErrorInvalidParameter", message: "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime."}
	}
	var vals []any
	for _, t := range occurrences(it.Data, to) {
		if it.Cancelled[t.Unix()] || t.Before(from) || !t.Before(to) {
			continue
		}
		vals = append(vals, s.instanceView(it, t))
	}
	return s.page(p, url.Values{"$top": q["$top"], "$skip": q["$skip"]}, vals)
}

func (s *Server) instanceView(it *Item, t time.Time) map[string]any {
	v := map[string]any{"id": it.ID + "_" + strconv.FormatInt(t.Unix(), 10), "type": "occurrence", "seriesMasterId": it.ID,
		"originalStart": t.UTC().Format(time.RFC3339), "subject": it.Data["subject"]}
	if o := it.Overrides[t.Unix()]; o != nil {
		v["type"] = "exception"
		maps.Copy(v, o)
	}
	return v
}

// occurrence serves GET, PATCH and DELETE of one occurrence.
func (s *Server) occurrence(it *Item, occ, method string, in map[string]any) (int, http.Header, any, *apiErr) {
	u, err := strconv.ParseInt(occ, 10, 64)
	if err != nil || it.Cancelled[u] {
		return 0, nil, nil, errNotFound
	}
	found := false
	for _, t := range occurrences(it.Data, time.Unix(u, 0).Add(time.Second)) {
		found = found || t.Unix() == u
	}
	if !found {
		return 0, nil, nil, errNotFound
	}
	subject := fmt.Sprint(it.Data["subject"])
	switch method {
	case http.MethodGet:
		return 200, nil, s.instanceView(it, time.Unix(u, 0)), nil
	case http.MethodDelete:
		if it.Cancelled == nil {
			it.Cancelled = map[int64]bool{}
		}
		it.Cancelled[u] = true
		for _, a := range attendees(it.Data) {
			s.sent = append(s.sent, Message{Kind: "cancellation", To: a, Subject: subject})
		}
		it.Change++
		return 204, nil, nil, nil
	case http.MethodPatch:
		if _, ok := in["recurrence"]; ok {
			return 0, nil, nil, &apiErr{status: 400, code: "ErrorInvalidRequest", message: "Recurrence can't be set on an occurrence."}
		}
		if e := validate("events", in, false); e != nil {
			return 0, nil, nil, e
		}
		if it.Overrides == nil {
			it.Overrides = map[int64]map[string]any{}
		}
		o := it.Overrides[u]
		if o == nil {
			o = map[string]any{}
			it.Overrides[u] = o
		}
		maps.Copy(o, in)
		for _, a := range attendees(it.Data) {
			s.sent = append(s.sent, Message{Kind: "update", To: a, Subject: subject})
		}
		it.Change++
		return 200, nil, s.instanceView(it, time.Unix(u, 0)), nil
	}
	return 0, nil, nil, &apiErr{status: 405, code: "ErrorInvalidRequest", message: "The OData request is not supported."}
}

// SortedNames lists a mailbox's containers' names, for messages.
func (m *Mailbox) SortedNames() []string {
	var out []string
	for _, cs := range [][]*Container{m.Calendars, m.Lists, m.Folders} {
		for _, c := range cs {
			out = append(out, c.Name)
		}
	}
	sort.Strings(out)
	return out
}
