package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zone names work without the system's zoneinfo

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/store"
)

// view is what every page template receives.
type view struct {
	Title  string
	Nav    string // the menu entry to highlight
	P      *auth.Principal
	CSRF   string
	Flash  string
	Crumbs []crumb
	Zone   string // the time zone dates and times typed in forms are read in
	D      any    // the page's own data
	r      *http.Request
}

type crumb struct{ Name, Href string }

// Can reports whether the signed-in person's role has a capability (to show controls).
func (v view) Can(c string) bool { return v.P.Can(auth.Capability(c)) }

// Allowed reports whether the person may do an action on a customer's resources.
func (v view) Allowed(action string, customerID int64) bool {
	return auth.Authorize(v.P, auth.Action(action), customerID) == nil
}

var funcs = template.FuncMap{
	// mb is bytes in megabytes (10^6 bytes).
	"mb": func(n int64) float64 { return float64(n) / 1e6 },
	// div1e6 is a whole number of megabytes.
	"div1e6": func(n int64) int64 { return n / 1_000_000 },
	// when shows an instant in the server's time zone, named; the page's
	// script rewrites it into the reader's own time zone.
	"when": func(t time.Time) template.HTML {
		if t.IsZero() {
			return "—"
		}
		l := t.Local()
		return template.HTML(`<time datetime="` + t.UTC().Format(time.RFC3339) + `">` +
			template.HTMLEscapeString(l.Format("2006-01-02 15:04 MST")) + `</time>`)
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("2006-01-02")
	},
	"ago":  ago,
	"role": func(r string) string { return auth.Role(r).Title() },
	"slug": func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
				return r
			case r >= 'A' && r <= 'Z':
				return r + 32
			}
			return '-'
		}, s)
	},
	"join":  strings.Join,
	"query": func(v url.Values) string { return v.Encode() },
	"add":   func(a, b int) int { return a + b },
	"pct": func(a, b int) int {
		if b == 0 {
			return 0
		}
		return a * 100 / b
	},
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"roles":    func() []auth.RoleInfo { return auth.Roles },
	"now":      time.Now,
	"has":      func(ids []int64, id int64) bool { return slices.Contains(ids, id) },
	"statuses": func() []string { return store.Statuses },
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// parseTemplates parses base.html with each page template.
func (s *server) parseTemplates() error {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return err
	}
	for _, name := range names {
		base := path.Base(name)
		if base == "base.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).Funcs(playbookWords(s.playbook())).ParseFS(files, "templates/base.html", name)
		if err != nil {
			return fmt.Errorf("template %s: %w", base, err)
		}
		s.tmpl[base] = t
	}
	return nil
}

// newView fills what every page needs.
func newView(r *http.Request, title, nav string, d any) *view {
	return &view{Title: title, Nav: nav, P: principal(r), CSRF: csrfToken(r), Zone: zoneOf(r).String(), D: d, r: r}
}

// render writes a whole page (template "base" of the page's file).
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) error {
	return s.execute(w, status, page, "base", v)
}

// partial writes one named template of a page's file (htmx swaps).
func (s *server) partial(w http.ResponseWriter, status int, page, name string, v *view) error {
	return s.execute(w, status, page, name, v)
}

func (s *server) execute(w http.ResponseWriter, status int, page, name string, v *view) error {
	t, ok := s.tmpl[page]
	if !ok {
		return fmt.Errorf("no template %s", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		return fmt.Errorf("render %s/%s: %w", page, name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// pageError is an error shown to the person as it is.
type pageError struct {
	Status int
	Msg    string
}

func (e *pageError) Error() string { return e.Msg }

// statusOfKind is the HTTP status of a page answering each kind of fault.
var statusOfKind = map[fault.Kind]int{
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

// setRetryAfter tells the browser when to try again, for a fault that says.
func setRetryAfter(w http.ResponseWriter, fe *fault.Error) {
	if fe.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(fe.RetryAfter.Seconds()))))
	}
}

// fail answers an error with a page saying what happened and what to do.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on the server; it has been logged. Try again, or tell your administrator."
	var pe *pageError
	switch {
	case errors.As(err, &pe):
		status, msg = pe.Status, pe.Msg
	case errors.Is(err, auth.ErrForbidden):
		status, msg = http.StatusForbidden, "You may not do this: "+strings.TrimPrefix(err.Error(), auth.ErrForbidden.Error()+": ")+"."
	case errors.Is(err, fault.ErrNotFound): // store.ErrNotFound, auth.ErrHidden, ...
		status, msg = http.StatusNotFound, "That does not exist (any more): "+err.Error()+"."
	case fault.KindOf(err) != fault.Internal:
		fe, _ := fault.As(err)
		status, msg = statusOfKind[fe.Kind], faultMessage(fe)
		setRetryAfter(w, fe)
	default:
		s.Log.Error("portal", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if r.Header.Get("HX-Request") != "" {
		// htmx swaps only 2xx answers by default; show the message in the page's alert area.
		w.Header().Set("HX-Retarget", "#alert")
		w.Header().Set("HX-Reswap", "innerHTML")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<div class="error" role="alert">%s</div>`, template.HTMLEscapeString(msg))
		return
	}
	v := newView(r, http.StatusText(status), "", map[string]any{"Status": status, "Msg": msg})
	if err := s.render(w, r, status, "error.html", v); err != nil {
		s.Log.Error("portal: render error page", "err", err)
	}
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// redirect after a form: a full redirect, or HX-Redirect for htmx requests.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// datetimeLocal is the format of <input type="datetime-local">.
const datetimeLocal = "2006-01-02T15:04"

// ZoneCookie holds the browser's IANA time zone name (set by app.js), so
// that a time typed in a form means the reader's local time.
const ZoneCookie = "ferry_tz"

// zoneOf is the time zone of the person behind r: their browser's when it
// said, else the server's.
func zoneOf(r *http.Request) *time.Location {
	if c, err := r.Cookie(ZoneCookie); err == nil && c.Value != "" && len(c.Value) < 64 {
		if name, err := url.QueryUnescape(c.Value); err == nil && name != "Local" {
			if loc, err := time.LoadLocation(name); err == nil {
				return loc
			}
		}
	}
	return time.Local
}

// parseLocalTime reads a date and time typed in a form, in the reader's
// time zone (zoneOf).
func parseLocalTime(r *http.Request, v string) (time.Time, error) {
	loc := zoneOf(r)
	for _, layout := range []string{datetimeLocal, "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(v), loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time", v)
}

// playbook is the playbook the engagement service runs on (nil without one).
func (s *server) playbook() *playbook.Playbook {
	if s.Engagements == nil {
		return nil
	}
	return s.Engagements.Playbook
}
