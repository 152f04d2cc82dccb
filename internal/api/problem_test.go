package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/projects"
)

// problem is an error answer as a client reads it: RFC 9457 problem
// details with Ferry's extension members.
type problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail"`
	Instance string              `json:"instance"`
	Code     string              `json:"code"`
	Field    string              `json:"field"`
	Rule     string              `json:"rule"`
	Rows     []projects.RowError `json:"rows"`
	Gate     *engagements.Gate   `json:"gate"`
}

// failingAuthenticator fails the way a broken store would: not a fault.
type failingAuthenticator struct{ err error }

func (a failingAuthenticator) Authenticate(*http.Request) (*Principal, error) { return nil, a.err }

// syncBuffer is a log sink the server writes from its own goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestErrorsAreProblemDetails: every kind of failure of /api/v1, from the
// middleware, the router, the body limit and the handlers, answers an RFC
// 9457 problem details document (application/problem+json) whose members
// say the same as the status and headers, and which the Problem schema of
// openapi.json accepts.
func TestErrorsAreProblemDetails(t *testing.T) {
	t.Parallel()
	e, _ := newEngagementEnv(t)
	a := e.fixture("Contoso")
	b := e.fixture("Fabrikam")
	d := e.engagement(a.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}, "workloads": []string{"imap"}})
	with := func(o Options) http.Handler {
		o.Engagements = &engagements.Service{Store: e.st, Playbook: playbook.Default()}
		return NewWithOptions(e.svc, e.st, o)
	}
	admin := e.srv.Config.Handler
	viewerOfA := with(Options{Authenticators: []Authenticator{roleAuthenticator{auth.Viewer, a.customer.ID}}})
	partnerOfA := with(Options{Authenticators: []Authenticator{scopedAuthenticator{[]int64{a.customer.ID}}}})
	storeLog := &syncBuffer{}
	brokenStore := with(Options{Log: slog.New(slog.NewTextHandler(storeLog, nil)),
		Authenticators: []Authenticator{failingAuthenticator{errors.New("token table: disk I/O error at /var/lib/ferry/ferry.db")}}})
	authorizeLog := &syncBuffer{}
	brokenAuthorize := with(Options{Log: slog.New(slog.NewTextHandler(authorizeLog, nil)),
		Authorize: func(*Principal, Action, int64) error {
			return fmt.Errorf("policy: lookup of roles: %w", io.ErrUnexpectedEOF)
		}})
	busy := with(Options{Authorize: func(*Principal, Action, int64) error {
		return &fault.Error{Kind: fault.Temporary, Msg: "the database is busy; try again", RetryAfter: 30 * time.Second}
	}})

	customerA := fmt.Sprintf("/api/v1/customers/%d", a.customer.ID)
	customerB := fmt.Sprintf("/api/v1/customers/%d", b.customer.ID)
	projectA := fmt.Sprintf("/api/v1/projects/%d", a.project.ID)
	badCSV := "source,destination\nbob@contoso.com,bob@contoso.onmicrosoft.com\ncarol@contoso.com,not-an-address\n"

	for _, tc := range []struct {
		name         string
		h            http.Handler
		method, path string
		authz        string // "" for the admin token, "-" for none
		ct, body     string
		status       int
		code         string
		field, rule  string
		detail       []string
		headers      map[string]string
		check        func(t *testing.T, p problem)
	}{
		{name: "400 invalid field", h: admin, method: "POST", path: "/api/v1/customers", ct: "application/json",
			body: `{"name":"Northwind","colour":"blue"}`, status: 400, code: "invalid", field: "colour", detail: []string{"unknown field", "name"}},
		{name: "400 not JSON", h: admin, method: "POST", path: "/api/v1/customers", ct: "application/json",
			body: `{"name":`, status: 400, code: "invalid", detail: []string{"not valid JSON"}},
		{name: "400 import rows", h: admin, method: "POST", path: projectA + "/items/import?apply=true", ct: "text/csv",
			body: badCSV, status: 400, code: "invalid", field: "file", detail: []string{"nothing was added"},
			check: func(t *testing.T, p problem) {
				if len(p.Rows) != 2 || p.Rows[1].Line != 3 || p.Rows[1].Field != "destination" || !strings.Contains(p.Rows[1].Msg, "email addresses") {
					t.Errorf("rows %+v, want line 2's missing password and line 3's destination", p.Rows)
				}
			}},
		{name: "401 no token", h: admin, method: "GET", path: "/api/v1/customers", authz: "-", status: 401, code: "unauthorized",
			detail: []string{"ferry token create"}, headers: map[string]string{"WWW-Authenticate": `Bearer realm="ferry"`}},
		{name: "401 unknown token", h: admin, method: "GET", path: "/api/v1/customers", authz: "Bearer fy_unknown", status: 401, code: "unauthorized",
			detail: []string{"unknown or was revoked"}, headers: map[string]string{"WWW-Authenticate": `Bearer realm="ferry", error="invalid_token"`}},
		{name: "403 role may not", h: viewerOfA, method: "POST", path: "/api/v1/customers", ct: "application/json",
			body: `{"name":"Northwind"}`, status: 403, code: "forbidden"},
		{name: "404 other tenant", h: partnerOfA, method: "GET", path: customerB, status: 404, code: "not_found"},
		{name: "404 other tenant's project", h: partnerOfA, method: "GET", path: fmt.Sprintf("/api/v1/projects/%d", b.project.ID), status: 404, code: "not_found"},
		{name: "404 missing", h: admin, method: "GET", path: "/api/v1/customers/999999", status: 404, code: "not_found"},
		{name: "404 unknown route", h: admin, method: "GET", path: "/api/v1/no-such-thing", status: 404, code: "not_found",
			detail: []string{"there is no API path /api/v1/no-such-thing", "openapi.json"}},
		{name: "404 escaped path", h: admin, method: "GET", path: "/api/v1/no%20such%22thing", status: 404, code: "not_found"},
		{name: "405", h: admin, method: "DELETE", path: "/api/v1/customers", status: 405, code: "method_not_allowed",
			detail: []string{"GET, POST"}, headers: map[string]string{"Allow": "GET, POST"}},
		{name: "409 conflict", h: admin, method: "POST", path: "/api/v1/customers", ct: "application/json",
			body: `{"name":"Contoso","primary_domain":"contoso.com"}`, status: 409, code: "conflict", field: "name", detail: []string{"exists already"}},
		{name: "409 refused by the migration gate", h: admin, method: "POST", path: projectA + "/passes", ct: "application/json",
			body: `{"pass":"full","all":true}`, status: 409, code: "refused", rule: "1141", detail: []string{"1141"}},
		{name: "409 refused by a phase gate", h: admin, method: "POST", path: fmt.Sprintf("/api/v1/engagements/%d/phases/Remediate/exit", d.ID),
			status: 409, code: "refused", field: "phase", rule: "1700",
			check: func(t *testing.T, p problem) {
				if p.Gate == nil || p.Gate.Phase != "Remediate" || len(p.Gate.Blockers) == 0 || p.Rule == "" || p.Rule != p.Gate.ExitTask {
					t.Errorf("rule %q, gate %+v: want the Remediate gate, its blockers and its exit task as the rule", p.Rule, p.Gate)
				}
			}},
		{name: "413 too large", h: admin, method: "POST", path: "/api/v1/customers", ct: "application/json",
			body: `{"name":"` + strings.Repeat("a", maxJSONBody) + `"}`, status: 413, code: "too_large", detail: []string{"1 MB"}},
		{name: "413 import too large", h: admin, method: "POST", path: projectA + "/items/import", ct: "text/csv",
			body: strings.Repeat("a,b\n", 3<<20), status: 413, code: "too_large", detail: []string{"10 MB"}},
		{name: "500 in the middleware", h: brokenStore, method: "GET", path: "/api/v1/customers", status: 500, code: "internal",
			detail: []string{"the server's log has the details"},
			check: func(t *testing.T, p problem) {
				if strings.Contains(p.Detail, "disk I/O") || strings.Contains(p.Detail, "/var/lib") {
					t.Errorf("the detail %q tells the cause; only the log may", p.Detail)
				}
				if !strings.Contains(storeLog.String(), "disk I/O error") {
					t.Errorf("the log does not have the cause: %s", storeLog)
				}
			}},
		{name: "500 in a handler", h: brokenAuthorize, method: "GET", path: customerA, status: 500, code: "internal",
			detail: []string{"the server's log has the details"},
			check: func(t *testing.T, p problem) {
				if strings.Contains(p.Detail, "policy") || strings.Contains(p.Detail, "EOF") {
					t.Errorf("the detail %q tells the cause; only the log may", p.Detail)
				}
				if !strings.Contains(authorizeLog.String(), "lookup of roles") {
					t.Errorf("the log does not have the cause: %s", authorizeLog)
				}
			}},
		{name: "503 temporary", h: busy, method: "GET", path: customerA, status: 503, code: "temporary",
			detail: []string{"busy"}, headers: map[string]string{"Retry-After": "30"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req := httptest.NewRequest(tc.method, tc.path, body)
			switch tc.authz {
			case "":
				req.Header.Set("Authorization", "Bearer "+e.token)
			case "-":
			default:
				req.Header.Set("Authorization", tc.authz)
			}
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, req)
			e.mu.Lock()
			e.answers = append(e.answers, answer{path: req.URL.Path, body: rec.Body.String()})
			e.mu.Unlock()

			if rec.Code != tc.status {
				t.Fatalf("%d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			p := checkProblem(t, rec.Result().Header, rec.Code, rec.Body.Bytes())
			if p.Code != tc.code || p.Field != tc.field || p.Rule != tc.rule {
				t.Errorf("code %q field %q rule %q, want %q %q %q", p.Code, p.Field, p.Rule, tc.code, tc.field, tc.rule)
			}
			if want := req.URL.EscapedPath(); p.Instance != want {
				t.Errorf("instance %q, want the request's path %q", p.Instance, want)
			}
			for _, w := range tc.detail {
				if !strings.Contains(p.Detail, w) {
					t.Errorf("detail %q does not say %q", p.Detail, w)
				}
			}
			for k, v := range tc.headers {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tc.status != 401 && rec.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("WWW-Authenticate on a %d", tc.status)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
			checkDocumentedProblem(t, tc.method, tc.path, rec.Result().Header, rec.Code, rec.Body.Bytes())
		})
	}
}

// TestThrottledIsAnswered429: no API operation is throttled today (API
// tokens are not, so openapi.json documents no 429), but the throttled kind
// of Ferry's error vocabulary has its answer, like every kind: 429, the
// wait in Retry-After (whole seconds, rounded up), problem details.
func TestThrottledIsAnswered429(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/customers", nil)
	err := fmt.Errorf("sign in: %w", &fault.Error{Kind: fault.Throttled, Msg: "too many attempts; wait 2 seconds", RetryAfter: 1500 * time.Millisecond})
	(&server{}).writeError(rec, req, err)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("%d, Retry-After %q, want 429 and 2", rec.Code, rec.Header().Get("Retry-After"))
	}
	p := checkProblem(t, rec.Result().Header, rec.Code, rec.Body.Bytes())
	if p.Code != "throttled" || p.Title != "Too many attempts" || p.Detail != "too many attempts; wait 2 seconds" {
		t.Errorf("problem %+v", p)
	}
}

// checkProblem checks an error answer is problem details and returns it:
// its media type and headers, the Problem schema of openapi.json, a status
// member equal to the answer's, and a type and title that are those of its
// code.
func checkProblem(t *testing.T, h http.Header, status int, b []byte) problem {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("Cache-Control %q, X-Content-Type-Options %q", h.Get("Cache-Control"), h.Get("X-Content-Type-Options"))
	}
	_, tree := loadOpenAPI(t)
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON (%v): %s", err, b)
	}
	for _, msg := range validateSchema(tree, map[string]any{"$ref": "#/components/schemas/Problem"}, v, "") {
		t.Errorf("the Problem schema refuses the answer: %s\n%s", msg, b)
	}
	var p problem
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if p.Status != status {
		t.Errorf("status member %d, answer %d", p.Status, status)
	}
	if want := "https://github.com/ferryhq/ferry/blob/main/docs/api.md#problem-" + p.Code; p.Code == "" || p.Type != want {
		t.Errorf("type %q, want %q", p.Type, want)
	}
	if p.Title == "" || p.Title != problemTitles[p.Code] || p.Detail == "" || p.Detail == p.Title {
		t.Errorf("title %q (the code's is %q), detail %q", p.Title, problemTitles[p.Code], p.Detail)
	}
	return p
}

// TestProblemTypesAreDocumented: every problem type URI points at a row
// of docs/api.md's table that explains it.
func TestProblemTypesAreDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	for code := range problemTitles {
		if !strings.HasPrefix(problemTypeBase, "https://github.com/ferryhq/ferry/blob/main/docs/api.md#") {
			t.Fatalf("problemTypeBase %q is not docs/api.md", problemTypeBase)
		}
		if anchor := `<a id="problem-` + code + `"></a>`; !strings.Contains(string(doc), anchor) {
			t.Errorf("docs/api.md has no %s for code %q", anchor, code)
		}
	}
}
