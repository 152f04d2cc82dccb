package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/store"
)

// testPortal is the portal and the API on a fresh SQLite file, as
// `ferry serve` mounts them, behind an httptest server. The job queue is
// not started: passes stay queued unless a test starts it.
type testPortal struct {
	t    *testing.T
	app  *app.App
	auth *auth.Service
	srv  *httptest.Server
	web  *server
	// bodyRead counts the request body bytes the server's handlers read.
	bodyRead atomic.Int64
}

const testPassword = "correct horse battery"

func newTestPortal(t *testing.T) *testPortal {
	t.Helper()
	dir := t.TempDir()
	a, err := app.Open(context.Background(), app.Config{Database: filepath.Join(dir, "ferry.db"), KeyFile: filepath.Join(dir, "key"),
		Jobs: jobs.Options{InsertOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	wrapAudit(a)
	tp := &testPortal{t: t, app: a, auth: &auth.Service{Store: a.Store}}
	h, err := New(Options{Store: a.Store, Projects: a.Service, Engagements: a.Engagements, Customers: a.Customers, DNS: a.DNS, Auth: tp.auth, SetupCode: "setup-code-123",
		LivePoll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tp.web = h.(*server)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", apiHandler(a))
	mux.Handle("/", h)
	tp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &countedBody{ReadCloser: r.Body, n: &tp.bodyRead}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { tp.web.Close(); tp.srv.Close() })
	return tp
}

// user makes an account.
func (tp *testPortal) user(email string, role auth.Role, customers ...int64) store.User {
	tp.t.Helper()
	u, err := tp.auth.CreateUser(operator(), auth.UserInput{Email: email, Name: strings.Split(email, "@")[0], Role: string(role),
		Password: testPassword, Customers: customers})
	if err != nil {
		tp.t.Fatal(err)
	}
	return u
}

// operator is the context of a person running Ferry's commands (an administrator).
func operator() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Operator("test operator"))
}

// client is a browser: it keeps cookies and the CSRF token of the last page.
type client struct {
	tp   *testPortal
	http *http.Client
	csrf string
}

func (tp *testPortal) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{tp: tp, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signedIn returns a client signed in as email (password testPassword).
func (tp *testPortal) signedIn(email string) *client {
	tp.t.Helper()
	c := tp.client()
	c.get("/signin")
	res := c.post("/signin", url.Values{"email": {email}, "password": {testPassword}})
	if res.status != http.StatusSeeOther {
		tp.t.Fatalf("sign in as %s: %d %s", email, res.status, res.body)
	}
	c.get("/") // picks up the session's CSRF token
	return c
}

type response struct {
	status int
	body   string
	header http.Header
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) response {
	c.tp.t.Helper()
	u := c.addCookies(req)
	res, err := c.http.Do(req)
	if err != nil {
		c.tp.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if cks := res.Cookies(); len(cks) > 0 {
		c.http.Jar.SetCookies(&u, cks)
	}
	if m := csrfInput.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return response{res.StatusCode, string(b), res.Header}
}

// addCookies adds the session's cookies to req and returns the https form
// of its URL, under which the jar keeps them. The cookie jar keeps Secure
// cookies for https only; the portal runs on loopback, where browsers
// accept them over http: hand them over.
func (c *client) addCookies(req *http.Request) url.URL {
	u := *req.URL
	u.Scheme = "https"
	for _, ck := range c.http.Jar.Cookies(&u) {
		req.AddCookie(ck)
	}
	return u
}

// stream asks for an event stream, which never ends: it waits for the
// answer's headers as long as the machine needs, then reads the body for
// the given time and hangs up.
func (c *client) stream(path string, read time.Duration) response {
	c.tp.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.tp.srv.URL+path, nil)
	c.addCookies(req)
	res, err := c.http.Do(req)
	if err != nil {
		c.tp.t.Fatal(err)
	}
	defer res.Body.Close()
	stop := time.AfterFunc(read, cancel)
	defer stop.Stop()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, string(b), res.Header}
}

func (c *client) get(path string) response {
	req, _ := http.NewRequest("GET", c.tp.srv.URL+path, nil)
	return c.do(req)
}

// post sends a form with the CSRF token of the last page (unless the form has one).
func (c *client) post(path string, form url.Values) response {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok && c.csrf != "" {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest("POST", c.tp.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// countedBody adds what is read of a request's body to n.
type countedBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countedBody) Read(p []byte) (int, error) {
	k, err := c.ReadCloser.Read(p)
	c.n.Add(int64(k))
	return k, err
}
