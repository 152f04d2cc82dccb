// Package web is Ferry's portal: server-rendered pages (html/template, htmx,
// server-sent events for live updates) embedded in the binary. People sign
// in with an email and password (argon2id); every page asks the same
// authorization layer as the REST API (internal/auth).
//
// Pages register themselves in pages (see route); New builds the handler.
package web

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/dnscheck"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

//go:embed templates static
var files embed.FS

// SessionCookie is the name of the sign-in cookie.
const SessionCookie = "ferry_session"

// csrfField is the form field (and X-CSRF-Token the header) carrying the session's CSRF token.
const csrfField = "csrf"

// Options are what the portal runs on.
type Options struct {
	// Store is what the pages read; they change nothing but through the services.
	Store       Reader
	Projects    *projects.Service
	Engagements *engagements.Service
	Auth        *auth.Service
	Log         *slog.Logger
	// SetupCode, when set, lets whoever knows it create the first
	// administrator at /setup while there is no account. `ferry serve`
	// prints it.
	SetupCode string
	// Banner is shown on the sign-in page (the demo's accounts).
	Banner string
	// LivePoll is how often the live-update hub reads the store (default 1 s).
	LivePoll time.Duration
	// Customers changes customers and endpoints; Auth changes accounts
	// and API tokens.
	Customers *customers.Service
	// DNS keeps engagements' domains and runs the MX cutover.
	DNS *dnscheck.Service
}

// route is one page or form action. pages is the single list the handler
// is built from; each page file adds its routes in an init function.
type route struct {
	Pattern string // "GET /customers/{id}"
	Action  auth.Action
	// Public routes need no session (sign-in, setup, static files).
	Public bool
	Handle func(s *server, w http.ResponseWriter, r *http.Request) error
}

var pages []route

func addRoutes(rs ...route) { pages = append(pages, rs...) }

type server struct {
	Options
	mux   *http.ServeMux
	tmpl  map[string]*template.Template
	live  *hub
	mu    sync.Mutex
	setup bool // the first administrator exists (cached once true)
}

// New returns the portal's handler.
func New(opt Options) (http.Handler, error) {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.LivePoll == 0 {
		opt.LivePoll = time.Second
	}
	if opt.Store == nil || opt.Projects == nil || opt.Engagements == nil || opt.Customers == nil || opt.Auth == nil || opt.DNS == nil {
		return nil, errors.New("web: the portal needs its store reader and every service (Projects, Engagements, Customers, Auth, DNS)")
	}
	s := &server{Options: opt, mux: http.NewServeMux(), tmpl: map[string]*template.Template{}}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.live = newHub(s.Store, opt.LivePoll, opt.Log)
	static, _ := fs.Sub(files, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	// Browsers ask for /favicon.ico whatever the page says: the same icon.
	s.mux.Handle("GET /favicon.ico", cacheStatic(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		http.ServeFileFS(w, r, static, "favicon.svg")
	})))
	for _, rt := range pages {
		s.mux.Handle(rt.Pattern, s.handler(rt))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &pageError{Status: http.StatusNotFound, Msg: "There is no page " + r.URL.Path + "."})
	})
	return s, nil
}

// Close stops the live-update hub.
func (s *server) Close() { s.live.close() }

// Closer is what New returns besides http.Handler.
type Closer interface{ Close() }

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
	s.mux.ServeHTTP(w, r)
}

type ctxKey int

const (
	keyAction ctxKey = iota
	keySession
)

// handler authenticates (unless public), checks CSRF on state changes, and runs the page.
func (s *server) handler(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), keyAction, rt.Action)
		if rt.Public && unsafeMethod(r.Method) {
			// Anyone may send these (sign-in, setup, sign out): a small form.
			r.Body = http.MaxBytesReader(w, r.Body, maxPublicBody)
			if err := readForm(r); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if !rt.Public {
			p, se, err := s.session(r)
			if err != nil {
				if fault.KindOf(err) == fault.Unauthenticated { // no session, an ended one, a disabled account
					s.toSignIn(w, r)
					return
				}
				s.fail(w, r, err)
				return
			}
			// Signed-in pages hold a customer's data and, once, a new API
			// token: no browser or proxy may keep them.
			w.Header().Set("Cache-Control", "no-store")
			ctx = auth.WithPrincipal(ctx, p)
			ctx = context.WithValue(ctx, keySession, &se)
			// Authorization comes before the body is read. An action
			// concerning no customer is checked here in full; for one on a
			// customer's resources the role is checked here and the customer
			// once the resource is loaded.
			if rt.Action != "" {
				check := auth.Capable(p, rt.Action)
				if !customerScoped(rt.Pattern) {
					check = auth.Authorize(p, rt.Action, 0)
				}
				if check != nil {
					s.fail(w, r, check)
					return
				}
			}
			if unsafeMethod(r.Method) {
				r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(rt.Pattern))
				if err := readForm(r); err != nil {
					s.fail(w, r, err)
					return
				}
				if !validCSRF(r, se.CSRF) {
					s.fail(w, r, &pageError{Status: http.StatusForbidden,
						Msg: "This form has expired or came from another site. Reload the page and try again."})
					return
				}
			}
		}
		r = r.WithContext(ctx)
		if err := rt.Handle(s, w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// Limits of a portal request's body: forms, and the bulk add's upload
// (the file plus the form around it).
const (
	maxPublicBody = 64 << 10
	maxFormBody   = 1 << 20
	maxUploadBody = maxImport + 1<<20
)

func bodyLimit(pattern string) int64 {
	if strings.HasSuffix(pattern, "/import") || strings.HasPrefix(pattern, "POST /projects/{id}/waves") {
		return maxUploadBody
	}
	return maxFormBody
}

// readForm reads a form's body (within the limit set on r.Body), so a form
// over the limit is answered 413 rather than as a missing CSRF token.
func readForm(r *http.Request) error {
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxFormBody) // a larger file waits in a temporary file
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		if mbe.Limit < maxFormBody {
			return &pageError{Status: http.StatusRequestEntityTooLarge,
				Msg: fmt.Sprintf("The form is larger than the limit of %d kB; reload the page and try again.", mbe.Limit>>10)}
		}
		return &pageError{Status: http.StatusRequestEntityTooLarge,
			Msg: fmt.Sprintf("The form is larger than the limit of %d MB; send less at once (a bulk add takes a file of up to %d MB).", mbe.Limit>>20, maxImport>>20)}
	case err != nil:
		return &pageError{Status: http.StatusBadRequest, Msg: "The form could not be read; reload the page and try again."}
	}
	return nil
}

// customerScoped reports whether a route acts on one resource (its path has
// an {id}): authorization then needs the resource's customer.
func customerScoped(pattern string) bool { return strings.Contains(pattern, "{") }

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *server) session(r *http.Request) (*auth.Principal, store.Session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, store.Session{}, auth.ErrNoSession
	}
	return s.Auth.Session(r.Context(), c.Value)
}

func (s *server) toSignIn(w http.ResponseWriter, r *http.Request) {
	target := "/signin"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + urlQueryEscape(r.URL.RequestURI())
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// principal of the request (nil on public routes without a session).
func principal(r *http.Request) *auth.Principal { return auth.PrincipalFrom(r.Context()) }

func csrfToken(r *http.Request) string {
	if se, _ := r.Context().Value(keySession).(*store.Session); se != nil {
		return se.CSRF
	}
	return ""
}

// allow checks the request's principal may do the route's action on a
// customer's resources (0: none in particular).
func (s *server) allow(r *http.Request, customerID int64) error {
	a, _ := r.Context().Value(keyAction).(auth.Action)
	return auth.Hide(r, auth.Authorize(principal(r), a, customerID))
}

// can reports whether the principal may do another action on a customer's resources (to show buttons).
func can(r *http.Request, a auth.Action, customerID int64) bool {
	return auth.Authorize(principal(r), a, customerID) == nil
}

// pathID reads a positive id from the path.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id < 1 {
		return 0, &pageError{Status: http.StatusNotFound, Msg: fmt.Sprintf("%q is not an id.", r.PathValue(name))}
	}
	return id, nil
}

// clientAddr is the address sign-in attempts are counted against.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// secureRequest: cookies are Secure unless the portal is reached over
// plain HTTP on another machine than this one (then the sign-in page warns).
func secureRequest(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
