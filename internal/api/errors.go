package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// Error codes of the API: the code member of every problem details answer,
// and the last segment of its type.
const (
	CodeInvalid          = "invalid"            // 400: bad input; Field names it
	CodeUnauthorized     = "unauthorized"       // 401: no valid credentials
	CodeForbidden        = "forbidden"          // 403: the principal may not do this
	CodeNotFound         = "not_found"          // 404
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeConflict         = "conflict"           // 409: the change collides with existing data
	CodeRefused          = "refused"            // 409: a rule said no (a gate, a closed project); Rule names it
	CodeTooLarge         = "too_large"          // 413: the body is over the limit
	CodeTemporary        = "temporary"          // 503: try again later (Retry-After when known)
	CodeThrottled        = "throttled"          // 429: too many attempts; wait Retry-After (no API operation is throttled today)
	CodeInternal         = "internal"           // 500: see the server's log
)

// problemTypeBase starts the type URI of every problem: the type of code
// "invalid" is its row of the table in docs/api.md,
// https://github.com/ferryhq/ferry/blob/main/docs/api.md#problem-invalid.
// The URIs identify the kinds (stable, one per code); clients compare
// them, they need not fetch them.
const problemTypeBase = "https://github.com/ferryhq/ferry/blob/main/docs/api.md#problem-"

// problemTitles is the title of each code: short, the same for every
// problem of the kind (detail says what happened this time).
var problemTitles = map[string]string{
	CodeInvalid:          "Invalid input",
	CodeUnauthorized:     "Not authenticated",
	CodeForbidden:        "Not allowed",
	CodeNotFound:         "Not found",
	CodeMethodNotAllowed: "Method not allowed",
	CodeConflict:         "Conflict with existing data",
	CodeRefused:          "Refused by a rule",
	CodeTooLarge:         "Request body too large",
	CodeTemporary:        "Temporarily unavailable",
	CodeThrottled:        "Too many attempts",
	CodeInternal:         "Internal error",
}

// problemMediaType is the Content-Type of every error answer (RFC 9457).
const problemMediaType = "application/problem+json"

// Error is the API's error answer: RFC 9457 problem details
// (application/problem+json), the Problem schema of openapi.json. Handlers
// set Status, Code, Message and what applies of Field, Rule, Rows and
// Gate; writeError fills in Type, Title and Instance.
type Error struct {
	// Type identifies the kind: problemTypeBase + Code.
	Type string `json:"type"`
	// Title is the kind's short, fixed summary (problemTitles).
	Title string `json:"title"`
	// Status is the HTTP status of the answer.
	Status int `json:"status"`
	// Message is what went wrong and what to do: the detail member.
	Message string `json:"detail"`
	// Instance is the path of the request.
	Instance string `json:"instance"`

	// Extension members.

	// Code is the kind as a word clients switch on (CodeInvalid...).
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
	// Rule names the rule that refused (a gate's task ID, "project-closed").
	Rule string `json:"rule,omitempty"`
	// Rows are the problems of an imported file, row by row.
	Rows []projects.RowError `json:"rows,omitempty"`
	// Gate is the gate that refused a phase exit, with what stands in the way.
	Gate *engagements.Gate `json:"gate,omitempty"`

	// retryAfter, for a temporary or throttled failure, is sent as Retry-After.
	retryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// statusOf is the HTTP status of each kind of fault.
var statusOf = map[fault.Kind]int{
	fault.Invalid:         http.StatusBadRequest,
	fault.Unauthenticated: http.StatusUnauthorized,
	fault.Forbidden:       http.StatusForbidden,
	fault.NotFound:        http.StatusNotFound,
	fault.Conflict:        http.StatusConflict,
	fault.Refused:         http.StatusConflict,
	fault.TooLarge:        http.StatusRequestEntityTooLarge,
	fault.Temporary:       http.StatusServiceUnavailable,
	fault.Throttled:       http.StatusTooManyRequests,
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// errorOf turns any error into the API's answer.
func errorOf(err error) (e *Error, internal bool) {
	var ae *Error
	switch {
	case errors.As(err, &ae):
		return ae, false
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error()}, false
	case errors.Is(err, store.ErrDuplicate):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: err.Error()}, false
	}
	if fe, ok := fault.As(err); ok && fe.Kind != fault.Internal {
		return &Error{Status: statusOf[fe.Kind], Code: fe.Kind.String(), Field: fe.Field, Rule: fe.Rule, Message: fe.Msg, retryAfter: fe.RetryAfter}, false
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; the server's log has the details"}, true
}

// writeError answers err as problem details. Errors of no known kind are
// logged and answered 500 with a detail that tells nothing of them.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, internal := errorOf(err)
	if internal {
		if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
			return // the client went away
		}
		s.log.Error("api: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.Status == http.StatusUnauthorized {
		h := `Bearer realm="ferry"`
		if errors.Is(err, ErrBadCredentials) {
			h += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", h)
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.retryAfter.Seconds()))))
	}
	p := *e // handlers may keep theirs
	if p.Status < 400 {
		p.Status, p.Code = http.StatusInternalServerError, CodeInternal
	}
	p.Type = problemTypeBase + p.Code
	p.Title = problemTitles[p.Code]
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	p.Instance = r.URL.EscapedPath()
	writeBody(w, p.Status, problemMediaType, &p)
}

// writeJSON answers v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	return writeBody(w, status, "application/json; charset=utf-8", v)
}

// writeBody answers v encoded as JSON, with the given media type.
func writeBody(w http.ResponseWriter, status int, contentType string, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(b.Bytes())
	return err
}

// decode reads a JSON body into v: one object, no unknown fields, no null
// for a field that needs a value, no more than the route's limit (set on
// r.Body by handler: maxJSONBody, or maxImportBody for the JSON of a wave
// plan, which carries CSV files).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err, v)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, v)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("", "the body must be a single JSON object, with nothing after it")
	}
	if field := nullField(body, reflect.TypeOf(v)); field != "" {
		return invalid(field, "%s is null; give it a value, or leave it out", field)
	}
	return nil
}

// nullField names a top-level field of a JSON object that is null while
// its Go field cannot tell null from a value (encoding/json would quietly
// leave it empty); "" when there is none. Pointers, slices and maps may be
// null: null there means "not given".
func nullField(body []byte, t reflect.Type) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return ""
	}
	names := make([]string, 0, len(fields))
	for name, raw := range fields {
		if string(bytes.TrimSpace(raw)) == "null" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if ft, ok := jsonField(t, name); ok {
			switch ft.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			default:
				return name
			}
		}
	}
	return ""
}

// jsonField is the type of the field of struct type t (or pointer to it)
// read from the JSON name, embedded structs included.
func jsonField(t reflect.Type, name string) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, false
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			if ft, ok := jsonField(f.Type, name); ok {
				return ft, true
			}
			continue
		}
		if tag == name || (tag == "" && f.IsExported() && strings.EqualFold(f.Name, name)) {
			return f.Type, true
		}
	}
	return nil, false
}

func tooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
		Message: fmt.Sprintf("the body is larger than the limit of %d MB", limit>>20)}
}

// decodeError explains why a body could not be read. It never quotes the
// body: it may hold passwords.
func decodeError(err error, v any) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
		pe  *time.ParseError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.Is(err, io.EOF):
		return invalid("", "the request needs a JSON object as its body")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "the body is not valid JSON: it ends in the middle of a value")
	case errors.As(err, &se):
		return invalid("", "the body is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		if te.Field == "" {
			return invalid("", "the body must be a JSON object, not %s", article(te.Value))
		}
		field := jsonPath(reflect.TypeOf(v), te.Field)
		return invalid(field, "%s must be %s, not %s", field, jsonKind(te.Type), article(te.Value))
	case errors.As(err, &pe):
		return invalid("", "times are written in RFC 3339, like 2025-07-01T22:00:00Z")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return invalid(name, "unknown field %q; the accepted fields are %s", name, strings.Join(jsonFields(reflect.TypeOf(v)), ", "))
	}
	return invalid("", "the body does not fit this request: %v", err)
}

func article(kind string) string {
	switch kind {
	case "":
		return "that"
	case "array", "object":
		return "an " + kind
	}
	return "a " + kind
}

// jsonKind names the JSON a Go type is read from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			return "an RFC 3339 time string"
		}
	}
	return "an object"
}

// jsonPath drops from a decoding error's field path (a.b.c) the Go names
// of embedded structs, which JSON does not see: Selection.item_ids → item_ids.
func jsonPath(t reflect.Type, path string) string {
	var out []string
	for _, name := range strings.Split(path, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			out, t = append(out, name), nil
			continue
		}
		if f, ok := t.FieldByName(name); ok && f.Anonymous && f.Tag.Get("json") == "" {
			t = f.Type
			continue
		}
		out = append(out, name)
		var next reflect.Type
		for i := 0; i < t.NumField(); i++ {
			if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); tag == name {
				next = t.Field(i).Type
			}
		}
		t = next
	}
	return strings.Join(out, ".")
}

// jsonFields lists the JSON field names of a struct type, embedded structs included.
func jsonFields(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
