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
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/presets"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/secrets"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testoauth"
)

// fakeQueue records what is queued and cancelled. Like the real queue
// (River, unique by item and pass), it answers 0 for a pass already queued
// or running.
type fakeQueue struct {
	mu        sync.Mutex
	next      int64
	active    map[string]int64 // "item/pass" → job id
	enqueued  []jobs.PassArgs
	cancelled []int64
	// preflights are the pre-flight runs queued.
	preflights []jobs.PreflightArgs
}

func newFakeQueue() *fakeQueue { return &fakeQueue{active: map[string]int64{}} }

func (q *fakeQueue) Enqueue(ctx context.Context, tx any, args []jobs.PassArgs, at time.Time) ([]int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := make([]int64, len(args))
	for i, a := range args {
		key := fmt.Sprintf("%d/%s", a.ItemID, a.Pass)
		if _, dup := q.active[key]; dup {
			continue
		}
		q.next++
		ids[i] = q.next
		q.active[key] = q.next
		q.enqueued = append(q.enqueued, a)
	}
	return ids, nil
}

func (q *fakeQueue) EnqueuePreflight(ctx context.Context, args jobs.PreflightArgs) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.next++
	q.preflights = append(q.preflights, args)
	return q.next, nil
}

func (q *fakeQueue) Cancel(ctx context.Context, jobID int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.cancelled = append(q.cancelled, jobID)
	for k, id := range q.active {
		if id == jobID {
			delete(q.active, k)
		}
	}
	return nil
}

func (q *fakeQueue) Start(context.Context) error                 { return nil }
func (q *fakeQueue) Resume(context.Context, int64, string) error { return nil }
func (q *fakeQueue) RunningSince(context.Context, time.Time) ([]jobs.RunningPass, error) {
	return nil, nil
}
func (q *fakeQueue) Scheduled(context.Context, int) ([]jobs.ScheduledPass, error) {
	return nil, nil
}
func (q *fakeQueue) SlotFreed(context.Context, int64)             {}
func (q *fakeQueue) WaitSlot(int64) (<-chan struct{}, func(bool)) { return nil, func(bool) {} }
func (q *fakeQueue) Stop(context.Context) error                   { return nil }
func (q *fakeQueue) Jobs(context.Context, []int64) (map[int64]jobs.JobInfo, error) {
	return map[int64]jobs.JobInfo{}, nil
}

func (q *fakeQueue) counts() (enqueued, cancelled int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.enqueued), len(q.cancelled)
}

// env is a service on a fresh SQLite store behind the API. On cleanup it
// checks that no answer contained a password, token or sealed value.
type env struct {
	t     *testing.T
	st    *sqlstore.Store
	svc   *projects.Service
	queue *fakeQueue
	srv   *httptest.Server
	token string

	mu      sync.Mutex
	answers []answer
	secrets []string
}

type answer struct{ path, body string }

// newEnv starts the API; opts, given the store, may set options.
func newEnv(t *testing.T, opts ...func(st store.Store) Options) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, queue: newFakeQueue()}
	e.svc = &projects.Service{Store: st, Sealer: keys, Queue: e.queue}
	var o Options
	for _, opt := range opts {
		o = opt(st)
	}
	e.srv = httptest.NewServer(NewWithOptions(e.svc, st, o))
	t.Cleanup(e.srv.Close)
	if e.token, err = createToken(st, "test"); err != nil {
		t.Fatal(err)
	}
	e.secret(e.token, HashToken(e.token))
	t.Cleanup(e.checkNoSecrets)
	return e
}

// operator is the context of a person running Ferry's commands.
func operator() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Operator("test operator"))
}

// createToken makes an administrator token, as `ferry token create` does.
func createToken(st store.Store, name string) (string, error) {
	v, _, err := (&auth.Service{Store: st}).CreateToken(operator(), 0, name)
	return v, err
}

// secret adds values no answer may contain.
func (e *env) secret(v ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, v...)
}

// secretSealed adds the sealed values now stored to the watch list.
func (e *env) secretSealed() {
	sealed, err := e.st.SealedCredentials(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range sealed {
		e.secret(c.Value)
	}
}

// checkNoSecrets checks every answer of the test: no password, token or
// sealed value, and no field that could hold one.
func (e *env) checkNoSecrets() {
	e.secretSealed()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range e.answers {
		for _, s := range e.secrets {
			if s != "" && strings.Contains(a.body, s) {
				e.t.Errorf("the answer to %s contains the secret %q:\n%s", a.path, s, a.body)
			}
		}
		if a.path == "/api/v1/openapi.json" {
			continue // names the write-only fields
		}
		for _, field := range []string{`"password":`, `"oauth2_token":`, `"source_password":`, `"destination_password":`, `"sealed`} {
			if strings.Contains(a.body, field) {
				e.t.Errorf("the answer to %s has a %s field:\n%s", a.path, field, a.body)
			}
		}
	}
}

// send makes a request with the given Authorization header ("" for none).
func (e *env) send(method, path, auth, contentType string, body io.Reader) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.answers = append(e.answers, answer{path: req.URL.Path, body: string(b)})
	e.mu.Unlock()
	if resp.StatusCode >= 400 {
		// Every error answer is problem details as openapi.json documents them.
		for _, msg := range documentedProblem(method, req.URL.EscapedPath(), resp.Header, resp.StatusCode, b) {
			e.t.Error(msg)
		}
	}
	return resp, b
}

// call makes an authenticated request; a string body is sent as is, anything else as JSON.
func (e *env) call(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		r, ct = strings.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r, ct = bytes.NewReader(j), "application/json"
	}
	resp, b := e.send(method, path, "Bearer "+e.token, ct, r)
	return resp.StatusCode, b
}

// must makes a call that must answer want, decoding the answer into out (when not nil).
func (e *env) must(method, path string, body any, want int, out any) {
	e.t.Helper()
	code, b := e.call(method, path, body)
	if code != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// parseError reads an error answer: problem details with a code and a detail.
func parseError(t *testing.T, b []byte) problem {
	t.Helper()
	var p problem
	if err := json.Unmarshal(b, &p); err != nil || p.Code == "" || p.Detail == "" {
		t.Fatalf("not an error answer (%v): %s", err, b)
	}
	return p
}

const (
	adminPassword = "Adm1n-pa55word-of-the-source"
	itemPassword  = "Item-dest-pa55word"
	oauthToken    = "ya29.oauth-token-value"
	appSecret     = "app~client-secret-value"
)

// fixture is a customer with a source endpoint with administrator
// credentials (dovecot), a destination without (office365), a project and one item.
type fixture struct {
	customer store.Customer
	src, dst store.Endpoint
	project  store.Project
	item     store.Item
}

func (e *env) fixture(name string) fixture {
	e.t.Helper()
	e.secret(adminPassword, itemPassword, oauthToken, appSecret)
	var f fixture
	e.must("POST", "/api/v1/customers", map[string]any{"name": name, "primary_domain": strings.ToLower(name) + ".com", "industry": "Retail"}, 201, &f.customer)
	base := fmt.Sprintf("/api/v1/customers/%d", f.customer.ID)
	e.must("POST", base+"/endpoints", map[string]any{"name": "old", "type": "dovecot", "host": "mail." + f.customer.Domain,
		"admin_user": "admin", "password": adminPassword}, 201, &f.src)
	e.must("POST", base+"/endpoints", map[string]any{"name": "new", "type": "office365", "host": "outlook.office365.com"}, 201, &f.dst)
	e.must("POST", base+"/projects", map[string]any{"name": "Mailboxes", "source_endpoint_id": f.src.ID, "destination_endpoint_id": f.dst.ID}, 201, &f.project)
	e.must("POST", fmt.Sprintf("/api/v1/projects/%d/items", f.project.ID), map[string]any{"source": "alice@" + f.customer.Domain,
		"destination": "alice@" + strings.ToLower(name) + ".onmicrosoft.com", "destination_password": itemPassword}, 201, &f.item)
	e.secretSealed()
	return f
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	revoked, err := createToken(e.st, "revoked")
	if err != nil {
		t.Fatal(err)
	}
	e.secret(revoked)
	toks, _ := e.st.Tokens(ctx)
	for _, tk := range toks {
		if tk.Name == "revoked" {
			if _, err := (&auth.Service{Store: e.st}).RevokeToken(operator(), tk.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name, auth string
		want       int
		msg        string
	}{
		{"no header", "", 401, "ferry token create"},
		{"basic", "Basic YWRtaW46YWRtaW4=", 401, "Bearer"},
		{"empty bearer", "Bearer ", 401, "Bearer"},
		{"not a ferry token", "Bearer abc123", 401, "fy_"},
		{"wrong token", "Bearer fy_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401, "unknown or was revoked"},
		{"revoked token", "Bearer " + revoked, 401, "unknown or was revoked"},
		{"token with a typo", "Bearer " + e.token + "x", 401, "unknown or was revoked"},
		{"valid token", "Bearer " + e.token, 200, ""},
		{"valid token, lower-case scheme", "bearer " + e.token, 200, ""},
	} {
		for _, path := range []string{"/api/v1/customers", "/api/v1/openapi.json", "/api/v1/no-such-path"} {
			resp, b := e.send("GET", path, tc.auth, "", nil)
			want := tc.want
			switch {
			case path == "/api/v1/openapi.json":
				want = 200 // public: credentials, right or wrong, do not matter
			case want == 200 && path == "/api/v1/no-such-path":
				want = 404
			}
			if resp.StatusCode != want {
				t.Errorf("%s, GET %s: %d, want %d: %s", tc.name, path, resp.StatusCode, want, b)
				continue
			}
			if want != 401 {
				continue
			}
			eb := parseError(t, b)
			if eb.Code != "unauthorized" || !strings.Contains(eb.Detail, tc.msg) {
				t.Errorf("%s: error %+v, want a detail with %q", tc.name, eb, tc.msg)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate %q", tc.name, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
	toks, err = e.st.Tokens(ctx)
	if err != nil || len(toks) != 1 || toks[0].Name != "test" || toks[0].LastUsed.IsZero() {
		t.Fatalf("tokens after use: %+v %v", toks, err)
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if !strings.HasPrefix(e.token, "fy_") || len(e.token) != 3+43 {
		t.Fatalf("token %q: want fy_ and 32 random bytes in base64url", e.token)
	}
	other, err := createToken(e.st, "ci")
	if err != nil || other == e.token {
		t.Fatalf("second token %q: %v", other, err)
	}
	for _, tc := range []struct {
		name string
		kind fault.Kind
	}{{"", fault.Invalid}, {"  ", fault.Invalid}, {"ci", fault.Conflict}, {strings.Repeat("x", 101), fault.Invalid}} {
		_, err := createToken(e.st, tc.name)
		if fe, ok := fault.As(err); !ok || fe.Kind != tc.kind || fe.Field != "name" {
			t.Errorf("CreateToken(%q): %v, want %v of the name", tc.name, err, tc.kind)
		}
	}
	toks, _ := e.st.Tokens(ctx)
	if len(toks) != 2 {
		t.Fatalf("tokens %+v", toks)
	}
	if _, err := (&auth.Service{Store: e.st}).RevokeToken(operator(), 9999); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("revoking an unknown token: %v", err)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	g := e.fixture("Fabrikam")
	cust := fmt.Sprintf("/api/v1/customers/%d", f.customer.ID)
	proj := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	dst := fmt.Sprintf("/api/v1/endpoints/%d", f.dst.ID)

	for _, tc := range []struct {
		name, method, path string
		body               any
		field, msg         string
		want               int
	}{
		{"bad domain", "POST", "/api/v1/customers", map[string]any{"name": "Tailspin", "primary_domain": "tailspin"}, "primary_domain", "like contoso.com", 400},
		{"customer without name", "POST", "/api/v1/customers", map[string]any{"primary_domain": "x.com"}, "name", "needs a name", 400},
		{"customer name taken", "POST", "/api/v1/customers", map[string]any{"name": "Contoso", "primary_domain": "contoso.com"}, "name", "exists already", 409},
		{"unknown endpoint type", "POST", cust + "/endpoints", map[string]any{"name": "x", "type": "exchange2003", "host": "mail.contoso.com"}, "type", "use one of imap, exchange, office365", 400},
		{"credentials without admin_user", "POST", cust + "/endpoints", map[string]any{"name": "x", "type": "imap", "host": "mail.contoso.com", "password": adminPassword}, "admin_user", "give admin_user", 400},
		{"admin without password", "POST", cust + "/endpoints", map[string]any{"name": "x", "type": "imap", "host": "mail.contoso.com", "admin_user": "admin"}, "password", "needs a password", 400},
		{"office365 admin not an email", "POST", cust + "/endpoints", map[string]any{"name": "x", "type": "office365", "host": "outlook.office365.com", "admin_user": "admin", "password": adminPassword}, "admin_user", "must be email addresses", 400},
		{"host with port", "POST", cust + "/endpoints", map[string]any{"name": "x", "type": "imap", "host": "mail.contoso.com:993"}, "host", "not a host name", 400},
		{"endpoint name taken", "POST", cust + "/endpoints", map[string]any{"name": "old", "type": "imap", "host": "mail.contoso.com"}, "name", "already", 409},
		{"endpoint of the path's customer only", "POST", cust + "/endpoints", map[string]any{"customer_id": g.customer.ID, "name": "x", "type": "imap", "host": "mail.contoso.com"}, "customer_id", "differs", 400},
		{"set credentials without admin_user", "PUT", dst + "/credentials", map[string]any{"password": adminPassword}, "admin_user", "give admin_user", 400},
		{"set credentials without password", "PUT", dst + "/credentials", map[string]any{"admin_user": "admin@contoso.com"}, "password", "needs a password", 400},
		{"set office365 credentials, admin not an email", "PUT", dst + "/credentials", map[string]any{"admin_user": "admin", "oauth2_token": oauthToken}, "admin_user", "must be email addresses", 400},
		{"app credentials without client ID", "POST", cust + "/endpoints", map[string]any{"name": "x", "type": "office365", "host": "outlook.office365.com", "oauth2_tenant": "contoso", "oauth2_client_secret": appSecret}, "oauth2_client_id", "application (client) ID is missing", 400},
		{"app credentials and an administrator", "PUT", dst + "/credentials", map[string]any{"admin_user": "admin@contoso.com", "password": adminPassword, "oauth2_tenant": "t", "oauth2_client_id": "c", "oauth2_client_secret": appSecret}, "admin_user", "not both", 400},
		{"service account key not JSON", "PUT", dst + "/credentials", map[string]any{"google_service_account": "not a key"}, "google_service_account", "not a Google JSON key file", 400},
		{"project with an endpoint of another customer", "POST", cust + "/projects", map[string]any{"name": "P", "source_endpoint_id": g.src.ID, "destination_endpoint_id": f.dst.ID}, "source_endpoint_id", "belongs to another customer", 400},
		{"project with a missing endpoint", "POST", cust + "/projects", map[string]any{"name": "P", "source_endpoint_id": 99999, "destination_endpoint_id": f.dst.ID}, "source_endpoint_id", "does not exist", 400},
		{"project from and to the same endpoint", "POST", cust + "/projects", map[string]any{"name": "P", "source_endpoint_id": f.src.ID, "destination_endpoint_id": f.src.ID}, "destination_endpoint_id", "different", 400},
		{"project of another kind", "POST", cust + "/projects", map[string]any{"name": "P", "kind": "document", "source_endpoint_id": f.src.ID, "destination_endpoint_id": f.dst.ID}, "kind", "not available yet", 400},
		{"project name taken", "POST", cust + "/projects", map[string]any{"name": "Mailboxes", "source_endpoint_id": f.src.ID, "destination_endpoint_id": f.dst.ID}, "name", "already", 409},
		{"settings: concurrency", "PATCH", proj + "/settings", map[string]any{"max_concurrent_migrations": 0}, "max_concurrent_migrations", "1 to 1000", 400},
		{"settings: empty date range", "PATCH", proj + "/settings", map[string]any{"date_from": "2025-02-01T00:00:00Z", "date_to": "2025-01-01T00:00:00Z"}, "date_from", "before date_to", 400},
		{"prestage without older_than_days", "POST", proj + "/passes", map[string]any{"pass": "prestage", "all": true}, "older_than_days", "older_than_days (e.g. 90)", 400},
		{"unknown pass", "POST", proj + "/passes", map[string]any{"pass": "everything", "all": true}, "pass", "use verify, trial, prestage, full or retry", 400},
		{"pass without selection", "POST", proj + "/passes", map[string]any{"pass": "full"}, "selection", "say which items", 400},
		{"unknown status in selection", "POST", proj + "/passes", map[string]any{"pass": "full", "statuses": []string{"Done"}}, "statuses", `unknown status "Done"`, 400},
		{"item of another project", "POST", proj + "/passes", map[string]any{"pass": "full", "item_ids": []int64{g.item.ID}}, "item_ids", "not in project", 400},
		{"start time in the past", "POST", proj + "/passes", map[string]any{"pass": "full", "all": true, "at": "2020-01-01T00:00:00Z"}, "at", "in the past", 400},
		{"start time not RFC 3339", "POST", proj + "/passes", map[string]any{"pass": "full", "all": true, "at": "tomorrow"}, "", "RFC 3339", 400},
		{"stop: unknown status", "POST", proj + "/stop", map[string]any{"statuses": []string{"Done"}}, "statuses", "unknown status", 400},
		{"stop without selection", "POST", proj + "/stop", map[string]any{}, "selection", "say which items", 400},
		{"duplicate item", "POST", proj + "/items", map[string]any{"source": "ALICE@contoso.com", "destination": "other@contoso.onmicrosoft.com", "destination_password": itemPassword}, "source", "already in the project", 409},
		{"item without destination password", "POST", proj + "/items", map[string]any{"source": "bob@contoso.com", "destination": "bob@contoso.onmicrosoft.com"}, "destination_password", "needs the destination mailbox's password", 400},
		{"item destination not an email", "POST", proj + "/items", map[string]any{"source": "bob@contoso.com", "destination": "bob", "destination_password": itemPassword}, "destination", "must be email addresses", 400},
		{"item without source", "POST", proj + "/items", map[string]any{"destination": "bob@contoso.onmicrosoft.com"}, "source", "needs a source", 400},
		{"unknown field", "POST", "/api/v1/customers", map[string]any{"name": "T", "primary_domain": "t.com", "colour": "blue"}, "colour", `unknown field "colour"; the accepted fields are industry, location, name, primary_domain, size`, 400},
		{"unknown field in an embedded struct's request", "POST", proj + "/passes", map[string]any{"pass": "full", "all": true, "items": []int{1}}, "items", "item_ids", 400},
		{"wrong type", "POST", proj + "/passes", map[string]any{"pass": "prestage", "all": true, "older_than_days": "90"}, "older_than_days", "must be a whole number, not a string", 400},
		{"wrong element type", "POST", proj + "/passes", map[string]any{"pass": "full", "item_ids": []string{"1"}}, "item_ids", "item_ids must be a whole number, not a string", 400},
		{"not JSON", "POST", "/api/v1/customers", `{"name": "T",`, "", "not valid JSON", 400},
		{"broken JSON", "POST", "/api/v1/customers", `{"name" "T"}`, "", "not valid JSON (at byte", 400},
		{"no body", "POST", "/api/v1/customers", nil, "", "needs a JSON object", 400},
		{"an array", "POST", "/api/v1/customers", `[1]`, "", "must be a JSON object, not an array", 400},
		{"two objects", "POST", "/api/v1/customers", `{"name":"T","primary_domain":"t.com"} {}`, "", "single JSON object", 400},
		{"too large", "POST", "/api/v1/customers", `{"name": "` + strings.Repeat("x", 2<<20) + `"}`, "", "larger than the limit of 1 MB", 413},
		{"bad id", "GET", "/api/v1/customers/abc", nil, "id", "not an id", 400},
		{"negative id", "GET", "/api/v1/projects/-1", nil, "id", "not an id", 400},
		{"item list: unknown status", "GET", proj + "/items?status=Done", nil, "status", `unknown status "Done"`, 400},
		{"item list: bad limit", "GET", proj + "/items?limit=lots", nil, "limit", "whole number from 1 to 1000", 400},
		{"item list: limit too high", "GET", proj + "/items?limit=5000", nil, "limit", "whole number from 1 to 1000", 400},
		{"item list: negative offset", "GET", proj + "/items?offset=-5", nil, "offset", "whole number", 400},
		{"import: apply not a boolean", "POST", proj + "/items/import?apply=maybe", "source,destination\n", "apply", "true or false", 400},
		{"import: empty file", "POST", proj + "/items/import", "", "file", "empty", 400},
		{"delete an endpoint in use", "DELETE", fmt.Sprintf("/api/v1/endpoints/%d", f.src.ID), nil, "endpoint", "used by 1 project", 409},
	} {
		code, b := e.call(tc.method, tc.path, tc.body)
		if code != tc.want {
			t.Errorf("%s: %s %s: %d, want %d: %s", tc.name, tc.method, tc.path, code, tc.want, b)
			continue
		}
		eb := parseError(t, b)
		wantCode := map[int]string{400: "invalid", 409: "conflict", 413: "too_large"}[tc.want]
		if eb.Code != wantCode || eb.Field != tc.field || !strings.Contains(eb.Detail, tc.msg) {
			t.Errorf("%s: error %+v, want code %s, field %q and a detail with %q", tc.name, eb, wantCode, tc.field, tc.msg)
		}
	}

	// Nothing of the refused requests was stored.
	var list ItemList
	e.must("GET", proj+"/items", nil, 200, &list)
	if list.Total != 1 {
		t.Errorf("%d items after refused adds, want 1", list.Total)
	}
	var eps struct{ Endpoints []store.Endpoint }
	e.must("GET", cust+"/endpoints", nil, 200, &eps)
	if len(eps.Endpoints) != 2 || eps.Endpoints[0].HasCredentials {
		t.Errorf("endpoints after refused changes: %+v", eps.Endpoints)
	}
	var cs struct{ Customers []store.Customer }
	e.must("GET", "/api/v1/customers", nil, 200, &cs)
	if len(cs.Customers) != 2 {
		t.Errorf("customers after refused adds: %+v", cs.Customers)
	}
	if n, _ := e.queue.counts(); n != 0 {
		t.Errorf("%d passes queued by refused requests", n)
	}
}

func TestImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	proj := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	csvPasswords := []string{"Csv-pa55-bob", "Csv-pa55-carol", "Csv-pa55-dave", "Csv-pa55-erin"}
	e.secret(csvPasswords...)
	csv := "source,destination,destination password\n" +
		"bob@contoso.com,bob@contoso.onmicrosoft.com," + csvPasswords[0] + "\n" +
		"carol@contoso.com,carol," + csvPasswords[1] + "\n" + // destination not an email address
		"dave@contoso.com,dave@contoso.onmicrosoft.com," + csvPasswords[2] + "\n" +
		"alice@contoso.com,alice2@contoso.onmicrosoft.com," + csvPasswords[3] + "\n" // already in the project
	items := func() int {
		var l ItemList
		e.must("GET", proj+"/items", nil, 200, &l)
		return l.Total
	}
	post := func(query string) (*http.Response, []byte) {
		return e.send("POST", proj+"/items/import"+query, "Bearer "+e.token, "text/csv", strings.NewReader(csv))
	}

	// Preview: what would be added, nothing added.
	resp, b := post("?filename=staff.csv")
	var res projects.ImportResult
	if resp.StatusCode != 200 || json.Unmarshal(b, &res) != nil || !res.Preview || len(res.Valid) != 2 || len(res.Errors) != 2 || res.Added != 0 {
		t.Fatalf("preview: %d %s", resp.StatusCode, b)
	}
	if !strings.Contains(res.Errors[0].Msg, "staff.csv line 3") || res.Errors[0].Field != "destination" || !strings.Contains(res.Errors[1].Msg, "already in the project") {
		t.Errorf("row errors %+v", res.Errors)
	}
	if n := items(); n != 1 {
		t.Fatalf("%d items after a preview", n)
	}

	// Apply a file with errors: refused whole, the rows listed.
	resp, b = post("?apply=true")
	if resp.StatusCode != 400 {
		t.Fatalf("apply with errors: %d %s", resp.StatusCode, b)
	}
	eb := parseError(t, b)
	if eb.Code != "invalid" || eb.Field != "file" || len(eb.Rows) != 2 || eb.Rows[0].Line != 3 ||
		!strings.Contains(eb.Detail, "nothing was added") || !strings.Contains(eb.Detail, "skip_invalid=true") {
		t.Fatalf("apply with errors: %+v", eb)
	}
	if n := items(); n != 1 {
		t.Fatalf("%d items after a refused import, want 1 (nothing added)", n)
	}

	// skip_invalid adds the valid rows.
	resp, b = post("?apply=true&skip_invalid=true")
	res = projects.ImportResult{}
	if resp.StatusCode != 200 || json.Unmarshal(b, &res) != nil || res.Preview || res.Added != 2 || len(res.Errors) != 2 {
		t.Fatalf("apply, skipping invalid rows: %d %s", resp.StatusCode, b)
	}
	if n := items(); n != 3 {
		t.Fatalf("%d items, want 3", n)
	}

	// Again: every row is now a duplicate or invalid; nothing more is added.
	resp, b = post("?apply=true&skip_invalid=true")
	res = projects.ImportResult{}
	if resp.StatusCode != 200 || json.Unmarshal(b, &res) != nil || res.Added != 0 || len(res.Errors) != 4 {
		t.Fatalf("re-import: %d %s", resp.StatusCode, b)
	}

	// Over 10 MB: 413, and a form upload is explained.
	resp, b = e.send("POST", proj+"/items/import", "Bearer "+e.token, "text/csv", strings.NewReader(strings.Repeat("a,b\n", 3<<20)))
	if resp.StatusCode != 413 || parseError(t, b).Code != "too_large" {
		t.Fatalf("a large file: %d %s", resp.StatusCode, b)
	}
	resp, b = e.send("POST", proj+"/items/import", "Bearer "+e.token, "multipart/form-data; boundary=x", strings.NewReader("--x--"))
	if resp.StatusCode != 400 || !strings.Contains(parseError(t, b).Detail, "text/csv") {
		t.Fatalf("a form upload: %d %s", resp.StatusCode, b)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	const missing = "/999999"
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/customers" + missing, nil},
		{"DELETE", "/api/v1/customers" + missing, nil},
		{"GET", "/api/v1/customers" + missing + "/endpoints", nil},
		{"POST", "/api/v1/customers" + missing + "/endpoints", map[string]any{"name": "x", "type": "imap", "host": "h.example"}},
		{"GET", "/api/v1/customers" + missing + "/projects", nil},
		{"POST", "/api/v1/customers" + missing + "/projects", map[string]any{"name": "x", "source_endpoint_id": f.src.ID, "destination_endpoint_id": f.dst.ID}},
		{"GET", "/api/v1/endpoints" + missing, nil},
		{"DELETE", "/api/v1/endpoints" + missing, nil},
		{"PUT", "/api/v1/endpoints" + missing + "/credentials", map[string]any{"admin_user": "a", "password": adminPassword}},
		{"GET", "/api/v1/projects" + missing, nil},
		{"PATCH", "/api/v1/projects" + missing + "/settings", map[string]any{"max_errors_per_migration": 5}},
		{"POST", "/api/v1/projects" + missing + "/close", nil},
		{"GET", "/api/v1/projects" + missing + "/items", nil},
		{"POST", "/api/v1/projects" + missing + "/items", map[string]any{"source": "a@b.c", "destination": "a@d.e"}},
		{"POST", "/api/v1/projects" + missing + "/items/import?apply=true", "source,destination\na@b.c,a@d.e\n"},
		{"GET", "/api/v1/items" + missing, nil},
		{"POST", "/api/v1/projects" + missing + "/passes", map[string]any{"pass": "full", "all": true}},
		{"POST", "/api/v1/projects" + missing + "/stop", map[string]any{"all": true}},
		{"GET", "/api/v1/customer", nil},
		{"GET", "/api/v1/customers/1/things", nil},
		{"GET", "/api/v2/customers", nil},
	} {
		code, b := e.call(tc.method, tc.path, tc.body)
		if code != 404 {
			t.Errorf("%s %s: %d, want 404: %s", tc.method, tc.path, code, b)
			continue
		}
		if eb := parseError(t, b); eb.Code != "not_found" {
			t.Errorf("%s %s: %+v", tc.method, tc.path, eb)
		}
	}
	// A path served with another method: 405 naming the methods.
	resp, b := e.send("DELETE", "/api/v1/customers", "Bearer "+e.token, "", nil)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, POST" || parseError(t, b).Code != "method_not_allowed" {
		t.Fatalf("DELETE /api/v1/customers: %d %q %s", resp.StatusCode, resp.Header.Get("Allow"), b)
	}
}

func TestPassesAndStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	proj := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	var bob store.Item
	e.must("POST", proj+"/items", map[string]any{"source": "bob@contoso.com", "destination": "bob@contoso.onmicrosoft.com",
		"destination_login": "bob.admin@contoso.onmicrosoft.com", "destination_password": itemPassword}, 201, &bob)

	var res projects.PassResult
	e.must("POST", proj+"/passes", map[string]any{"pass": "full", "all": true}, 202, &res)
	if res.Queued != 2 || res.AlreadyQueued != 0 || len(res.QueuedItemIDs) != 2 {
		t.Fatalf("first start: %+v", res)
	}
	res = projects.PassResult{}
	code, b := e.call("POST", proj+"/passes", map[string]any{"pass": "full", "all": true})
	if code != 202 || json.Unmarshal(b, &res) != nil || res.Queued != 0 || res.AlreadyQueued != 2 || !strings.Contains(string(b), `"queued_item_ids":[]`) {
		t.Fatalf("second start: %d %s", code, b)
	}
	if n, _ := e.queue.counts(); n != 2 {
		t.Fatalf("%d jobs queued, want 2", n)
	}
	var list ItemList
	e.must("GET", proj+"/items?status=Queued", nil, 200, &list)
	if list.Total != 2 || list.Items[0].LastPass != "full" {
		t.Fatalf("queued items %+v", list)
	}

	// Prestage of one item, scheduled: another pass, so it queues.
	res = projects.PassResult{}
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	e.must("POST", proj+"/passes", map[string]any{"pass": "prestage", "older_than_days": 90, "item_ids": []int64{bob.ID}, "at": at}, 202, &res)
	if res.Queued != 1 || res.QueuedItemIDs[0] != bob.ID {
		t.Fatalf("prestage: %+v", res)
	}

	var stopped StopResult
	e.must("POST", proj+"/stop", map[string]any{"statuses": []string{"Queued"}}, 200, &stopped)
	if stopped.Stopped != 2 {
		t.Fatalf("stopped %+v", stopped)
	}
	if _, n := e.queue.counts(); n != 2 {
		t.Fatalf("%d jobs cancelled, want 2", n)
	}
	e.must("GET", proj+"/items?status=Stopped", nil, 200, &list)
	if list.Total != 2 {
		t.Fatalf("stopped items %+v", list)
	}
	// Stopped items' full passes were cancelled: they queue again.
	res = projects.PassResult{}
	e.must("POST", proj+"/passes", map[string]any{"pass": "full", "statuses": []string{"Stopped"}}, 202, &res)
	if res.Queued != 1 || res.AlreadyQueued != 1 {
		// alice's full job was cancelled; bob's latest job (prestage) was, his full job was not.
		t.Fatalf("restart: %+v", res)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	f := e.fixture("Contoso")
	cust := fmt.Sprintf("/api/v1/customers/%d", f.customer.ID)
	proj := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)

	if f.customer.Domain != "contoso.com" || f.customer.Industry != "Retail" || f.customer.Created.IsZero() {
		t.Errorf("customer %+v", f.customer)
	}
	if !f.src.HasCredentials || f.src.AdminUser != "admin" || f.src.Port != 993 || f.dst.HasCredentials || f.dst.MaxMessageSize != 35<<20 {
		t.Errorf("endpoints %+v %+v", f.src, f.dst)
	}
	if f.project.MaxConcurrent != 10 || f.project.Kind != "mailbox" || f.item.Status != store.StatusNotSubmitted {
		t.Errorf("project %+v item %+v", f.project, f.item)
	}
	resp, _ := e.send("POST", "/api/v1/customers", "Bearer "+e.token, "application/json", strings.NewReader(`{"name":"Tailspin","primary_domain":"tailspin.com"}`))
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/api/v1/customers/") {
		t.Errorf("Location %q", loc)
	}

	var c store.Customer
	e.must("GET", cust, nil, 200, &c)
	if c.ID != f.customer.ID || c.Name != "Contoso" || c.Industry != "Retail" || !c.Created.Equal(f.customer.Created) {
		t.Errorf("get customer %+v, created %+v", c, f.customer)
	}
	var cs struct{ Customers []store.Customer }
	e.must("GET", "/api/v1/customers", nil, 200, &cs)
	if len(cs.Customers) != 2 || cs.Customers[0].Name != "Contoso" {
		t.Errorf("customers %+v", cs)
	}
	var types struct {
		EndpointTypes []presets.System `json:"endpoint_types"`
	}
	e.must("GET", "/api/v1/endpoint-types", nil, 200, &types)
	if len(types.EndpointTypes) != len(presets.All) || types.EndpointTypes[2].Name != "office365" || !types.EndpointTypes[2].UserIsEmail {
		t.Errorf("endpoint types %+v", types)
	}

	// Credentials: set on the destination, then removed.
	var ep store.Endpoint
	e.must("PUT", fmt.Sprintf("/api/v1/endpoints/%d/credentials", f.dst.ID), map[string]any{"admin_user": "admin@contoso.onmicrosoft.com", "oauth2_token": oauthToken}, 200, &ep)
	if !ep.HasCredentials || ep.AdminUser != "admin@contoso.onmicrosoft.com" {
		t.Errorf("after setting credentials %+v", ep)
	}
	if stored, _ := e.st.Endpoint(ctx, f.dst.ID); stored.SealedToken == "" || stored.SealedToken == oauthToken {
		t.Errorf("token not sealed: %q", stored.SealedToken)
	}
	e.secretSealed()
	e.must("GET", fmt.Sprintf("/api/v1/endpoints/%d", f.dst.ID), nil, 200, &ep)
	if !ep.HasCredentials {
		t.Errorf("get endpoint %+v", ep)
	}
	ep = store.Endpoint{}
	e.must("PUT", fmt.Sprintf("/api/v1/endpoints/%d/credentials", f.dst.ID), map[string]any{"admin_user": ""}, 200, &ep)
	if ep.HasCredentials || ep.AdminUser != "" {
		t.Errorf("after removing credentials %+v", ep)
	}

	// Settings: only the given fields change.
	var p store.Project
	e.must("PATCH", proj+"/settings", map[string]any{"max_concurrent_migrations": 3, "folder_exclude": []string{"Junk*"}, "date_from": "2024-01-01T00:00:00Z"}, 200, &p)
	if p.MaxConcurrent != 3 || p.MaxErrors != 50 || len(p.Exclude) != 1 || p.DateFrom.Year() != 2024 || p.ItemCount != 1 {
		t.Errorf("after settings %+v", p)
	}
	// The Gmail label options: set, read back, cleared one at a time.
	e.must("PATCH", proj+"/settings", map[string]any{"gmail_first_label_only": true, "gmail_spam_and_trash": true}, 200, &p)
	if !p.FirstLabelOnly || !p.SpamAndTrash || p.MaxConcurrent != 3 {
		t.Errorf("after the Gmail options %+v", p)
	}
	p = store.Project{}
	e.must("PATCH", proj+"/settings", map[string]any{"gmail_spam_and_trash": false}, 200, &p)
	if !p.FirstLabelOnly || p.SpamAndTrash {
		t.Errorf("after clearing Spam and Trash %+v", p)
	}
	e.must("PATCH", proj+"/settings", map[string]any{"gmail_first_label_only": false}, 200, &p)
	var ps struct{ Projects []store.Project }
	e.must("GET", cust+"/projects", nil, 200, &ps)
	if len(ps.Projects) != 1 || ps.Projects[0].MaxConcurrent != 3 || ps.Projects[0].StatusBreakdown[store.StatusNotSubmitted] != 1 {
		t.Errorf("projects %+v", ps)
	}

	// Items: paging, search, status filter.
	for i := range 12 {
		e.must("POST", proj+"/items", map[string]any{"source": fmt.Sprintf("user%02d@contoso.com", i), "destination": fmt.Sprintf("user%02d@contoso.onmicrosoft.com", i),
			"source_login": fmt.Sprintf("u%02d", i), "destination_password": itemPassword}, 201, nil)
	}
	var list ItemList
	e.must("GET", proj+"/items?limit=5&offset=5&search=USER", nil, 200, &list)
	if list.Total != 12 || len(list.Items) != 5 || list.Items[0].Source != "user05@contoso.com" || list.Items[0].SourceLogin != "u05" || list.Limit != 5 || list.Offset != 5 {
		t.Errorf("page %+v", list)
	}
	e.must("GET", proj+"/items?status=Failed,Stopped&status=Running", nil, 200, &list)
	if list.Total != 0 || list.Items == nil {
		t.Errorf("filtered %+v", list)
	}
	e.must("GET", proj+"/items?status=Not+Submitted", nil, 200, &list)
	if list.Total != 13 || len(list.Items) != 13 {
		t.Errorf("not submitted: total %d, %d items", list.Total, len(list.Items))
	}

	// An item's detail, with a pass's history and errors.
	mbox, _ := e.st.Mailbox(ctx, store.MailboxKey{Source: "imaps://alice@old", Destination: "imaps://alice@new"})
	it, _ := e.st.Item(ctx, f.item.ID)
	it.MailboxID = mbox
	e.st.UpdateItem(ctx, it)
	start := time.Now().Add(-time.Hour)
	run := &store.Run{Pass: "full", Started: start, ItemID: f.item.ID}
	e.st.StartRun(ctx, mbox, run)
	run.Ended, run.Status, run.Copied, run.CopiedBytes = start.Add(30*time.Minute), "completed with errors", 100, 50e6
	e.st.FinishRun(ctx, mbox, run)
	e.st.RecordFailures(ctx, mbox, []store.Failure{{Folder: "INBOX", UID: 7, Subject: "Big", Size: 40 << 20, Pass: "full", ServerText: "NO [TOOBIG]", Hint: "split it"}})
	e.st.SaveFolder(ctx, mbox, store.FolderState{Source: "INBOX", SourceValidity: 1, Dest: "INBOX", DestValidity: 1})
	e.st.RecordCopies(ctx, mbox, "INBOX", []store.Copy{{SourceUID: 1, DestUID: 1, Fingerprint: []byte{1}, Size: 1234}})
	code, b := e.call("GET", fmt.Sprintf("/api/v1/items/%d", f.item.ID), nil)
	var d struct {
		store.Item
		History []map[string]any       `json:"history"`
		Errors  []map[string]any       `json:"errors"`
		Folders []store.FolderProgress `json:"folders"`
	}
	if code != 200 || json.Unmarshal(b, &d) != nil || d.ID != f.item.ID || len(d.History) != 1 || len(d.Errors) != 1 {
		t.Fatalf("item detail: %d %s", code, b)
	}
	if len(d.Folders) != 1 || d.Folders[0] != (store.FolderProgress{Source: "INBOX", Dest: "INBOX", Copied: 1, CopiedBytes: 1234, Failed: 1}) {
		t.Errorf("item folders: %+v", d.Folders)
	}
	if d.History[0]["copied"] != 100.0 || d.History[0]["mb_per_hour"] != 100.0 || d.History[0]["status"] != "completed with errors" ||
		d.Errors[0]["uid"] != 7.0 || d.Errors[0]["server_text"] != "NO [TOOBIG]" {
		t.Errorf("item detail %s", b)
	}
	code, b = e.call("GET", fmt.Sprintf("/api/v1/items/%d", list.Items[1].ID), nil)
	if code != 200 || !strings.Contains(string(b), `"history":[],"errors":[],"folders":[]`) {
		t.Errorf("item without history: %d %s", code, b)
	}

	// Close: queued passes stopped, item credentials erased, no more items.
	e.must("POST", proj+"/passes", map[string]any{"pass": "trial", "item_ids": []int64{f.item.ID}}, 202, nil)
	e.must("POST", proj+"/close", nil, 200, &p)
	if !p.Closed || p.StatusBreakdown[store.StatusStopped] != 1 {
		t.Errorf("closed project %+v", p)
	}
	if _, cancelled := e.queue.counts(); cancelled != 1 {
		t.Errorf("%d jobs cancelled by close", cancelled)
	}
	if it, _ := e.st.Item(ctx, f.item.ID); it.SealedDestPassword != "" {
		t.Error("credentials survived the close")
	}
	code, b = e.call("POST", proj+"/items", map[string]any{"source": "zed@contoso.com", "destination": "zed@contoso.onmicrosoft.com", "destination_password": itemPassword})
	if eb := parseError(t, b); code != 409 || eb.Code != CodeRefused || eb.Rule != "project-closed" || eb.Field != "project" || !strings.Contains(eb.Detail, "closed") {
		t.Errorf("item on a closed project: %d %s", code, b)
	}

	// Endpoints: one not in use can go; then the customer with everything.
	var spare store.Endpoint
	e.must("POST", cust+"/endpoints", map[string]any{"name": "spare", "type": "gmail", "host": "imap.gmail.com"}, 201, &spare)
	if spare.DailyDownload != 2500<<20 {
		t.Errorf("gmail defaults %+v", spare)
	}
	e.must("DELETE", fmt.Sprintf("/api/v1/endpoints/%d", spare.ID), nil, 204, nil)
	e.must("GET", fmt.Sprintf("/api/v1/endpoints/%d", spare.ID), nil, 404, nil)
	e.must("DELETE", cust, nil, 204, nil)
	for _, path := range []string{cust, proj, fmt.Sprintf("/api/v1/endpoints/%d", f.src.ID), fmt.Sprintf("/api/v1/items/%d", f.item.ID)} {
		e.must("GET", path, nil, 404, nil)
	}
	if creds, _ := e.st.SealedCredentials(ctx); len(creds) != 0 {
		t.Errorf("%d sealed credentials left after deleting the customer", len(creds))
	}
}

func TestDeleteCustomerCancelsPasses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	e.must("POST", fmt.Sprintf("/api/v1/projects/%d/passes", f.project.ID), map[string]any{"pass": "verify", "all": true}, 202, nil)
	e.must("DELETE", fmt.Sprintf("/api/v1/customers/%d", f.customer.ID), nil, 204, nil)
	if queued, cancelled := e.queue.counts(); queued != 1 || cancelled != 1 {
		t.Fatalf("queued %d, cancelled %d", queued, cancelled)
	}
}

// portal stands for a sign-in session limited to some customers.
type portal struct {
	mu        sync.Mutex
	customers []int64
}

func (a *portal) Authenticate(r *http.Request) (*Principal, error) {
	if r.Header.Get("X-Portal") == "" {
		return nil, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return &Principal{Name: "portal user", Kind: "session", Role: auth.Partner, Customers: slices.Clone(a.customers)}, nil
}

func TestScopedPrincipal(t *testing.T) {
	t.Parallel()
	pa := &portal{}
	e := newEnv(t, func(st store.Store) Options {
		return Options{Authenticators: []Authenticator{pa, TokenAuthenticator{Store: st}}}
	})
	f := e.fixture("Contoso")
	g := e.fixture("Fabrikam")
	pa.mu.Lock()
	pa.customers = []int64{f.customer.ID}
	pa.mu.Unlock()

	portalCall := func(method, path string, body string) (int, []byte) {
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, e.srv.URL+path, r)
		req.Header.Set("X-Portal", "1")
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, b := portalCall("GET", "/api/v1/customers", "")
	var cs struct{ Customers []store.Customer }
	if code != 200 || json.Unmarshal(b, &cs) != nil || len(cs.Customers) != 1 || cs.Customers[0].ID != f.customer.ID {
		t.Fatalf("customers seen by the portal: %d %s", code, b)
	}
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", fmt.Sprintf("/api/v1/customers/%d", f.customer.ID), 200},
		{"GET", fmt.Sprintf("/api/v1/projects/%d", f.project.ID), 200},
		{"GET", fmt.Sprintf("/api/v1/items/%d", f.item.ID), 200},
		{"GET", "/api/v1/endpoint-types", 200},
		{"GET", "/api/v1/openapi.json", 200},
		{"POST", "/api/v1/customers", 403},
		{"GET", fmt.Sprintf("/api/v1/customers/%d", g.customer.ID), 404},
		{"DELETE", fmt.Sprintf("/api/v1/customers/%d", g.customer.ID), 403}, // the role may not delete customers at all
		{"GET", fmt.Sprintf("/api/v1/customers/%d/endpoints", g.customer.ID), 404},
		{"GET", fmt.Sprintf("/api/v1/customers/%d/projects", g.customer.ID), 404},
		{"GET", fmt.Sprintf("/api/v1/endpoints/%d", g.src.ID), 404},
		{"PUT", fmt.Sprintf("/api/v1/endpoints/%d/credentials", g.src.ID), 404},
		{"GET", fmt.Sprintf("/api/v1/projects/%d", g.project.ID), 404},
		{"GET", fmt.Sprintf("/api/v1/projects/%d/items", g.project.ID), 404},
		{"POST", fmt.Sprintf("/api/v1/projects/%d/passes", g.project.ID), 404},
		{"POST", fmt.Sprintf("/api/v1/projects/%d/close", g.project.ID), 404},
		{"GET", fmt.Sprintf("/api/v1/items/%d", g.item.ID), 404},
	} {
		code, b := portalCall(tc.method, tc.path, `{}`)
		if tc.method == "GET" {
			code, b = portalCall(tc.method, tc.path, "")
		}
		if code != tc.want {
			t.Errorf("portal %s %s: %d, want %d: %s", tc.method, tc.path, code, tc.want, b)
		}
		if tc.want == 403 && parseError(t, b).Code != "forbidden" {
			t.Errorf("portal %s %s: %s", tc.method, tc.path, b)
		}
		// Another customer's resource reads exactly as a missing one, so IDs cannot be probed.
		if tc.want == 404 {
			missing := regexp.MustCompile(`/\d+`).ReplaceAllLiteralString(tc.path, "/999999")
			wantBody := regexp.MustCompile(`\b\d+: not found`).ReplaceAllLiteral(b, []byte("999999: not found"))
			wantBody = bytes.ReplaceAll(wantBody, []byte(`"instance":"`+tc.path+`"`), []byte(`"instance":"`+missing+`"`))
			mcode, mb := portalCall(tc.method, missing, `{}`)
			if tc.method == "GET" {
				mcode, mb = portalCall(tc.method, missing, "")
			}
			if mcode != 404 || !bytes.Equal(mb, wantBody) {
				t.Errorf("portal %s %s answers\n%s\nbut a missing one answers %d\n%s", tc.method, tc.path, b, mcode, mb)
			}
		}
	}
	// Tokens still see everything.
	e.must("GET", fmt.Sprintf("/api/v1/projects/%d", g.project.ID), nil, 200, nil)
}

// TestAPIChangesAreAudited: every change to customers and endpoints made
// through the API leaves an audit entry naming the token, even on a store
// nobody wrapped: the services audit.
func TestAPIChangesAreAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var c store.Customer
	e.must("POST", "/api/v1/customers", map[string]any{"name": "Tailspin", "primary_domain": "tailspin.com"}, 201, &c)
	var ep store.Endpoint
	e.must("POST", fmt.Sprintf("/api/v1/customers/%d/endpoints", c.ID), map[string]any{"name": "spare", "type": "dovecot", "host": "mail.tailspin.com",
		"admin_user": "master", "password": adminPassword}, 201, &ep)
	e.must("PUT", fmt.Sprintf("/api/v1/endpoints/%d/credentials", ep.ID), map[string]any{"admin_user": "master", "password": adminPassword + "2"}, 200, nil)
	e.must("DELETE", fmt.Sprintf("/api/v1/endpoints/%d", ep.ID), nil, 204, nil)
	e.must("DELETE", fmt.Sprintf("/api/v1/customers/%d", c.ID), nil, 204, nil)

	entries, err := e.st.Audit(context.Background(), store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ action, object string }{
		{"customers.create", "Tailspin"}, {"endpoints.create", "spare"}, {"endpoints.credentials", "spare"}, {"endpoints.delete", "spare"},
		{"customers.delete", "Tailspin"},
	} {
		found := false
		for _, en := range entries {
			if en.Action == want.action && strings.Contains(en.Object, want.object) {
				found = true
				if en.Who != "test" {
					t.Errorf("%s of %s: recorded as made by %q, want the token test", want.action, en.Object, en.Who)
				}
				if strings.Contains(en.Before+en.After, adminPassword) {
					t.Errorf("%s: a password in the audit log", want.action)
				}
			}
		}
		if !found {
			t.Errorf("no audit entry %s of %q", want.action, want.object)
		}
	}
}

// TestThroughput: the project's throughput, of the whole project and of
// each worker, from the runs its items' passes recorded.
func TestThroughput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	ctx := context.Background()
	it, err := e.st.Item(ctx, f.item.ID)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := e.st.Mailbox(ctx, store.MailboxKey{Source: it.Source, Destination: it.Dest})
	if err != nil {
		t.Fatal(err)
	}
	it.MailboxID = mb
	if err := e.st.UpdateItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-30 * time.Minute)
	run := &store.Run{Pass: "full", Started: start, Worker: "worker-1:42", ItemID: it.ID}
	if err := e.st.StartRun(ctx, mb, run); err != nil {
		t.Fatal(err)
	}
	run.Ended, run.Status, run.Copied, run.CopiedBytes = start.Add(15*time.Minute), "completed", 1500, 250e6
	if err := e.st.FinishRun(ctx, mb, run); err != nil {
		t.Fatal(err)
	}
	var tp Throughput
	e.must("GET", fmt.Sprintf("/api/v1/projects/%d/throughput", f.project.ID), nil, 200, &tp)
	// 250 MB over the 15 minutes of the pass: 1000 MB/hr, 6000 messages/hr, 4 mailboxes/hr.
	if tp.ProjectID != f.project.ID || tp.PassName != "full" || math.Abs(tp.Pass.MBPerHour-1000) > 0.01 || math.Abs(tp.Pass.MessagesPerHour-6000) > 0.1 ||
		math.Abs(tp.Pass.MailboxesPerHour-4) > 0.01 || tp.LastHour.Bytes != 250e6 || tp.MailboxesWithRuns != 1 || len(tp.Hourly) != 24 {
		t.Fatalf("throughput %+v", tp)
	}
	if len(tp.Workers) != 1 || tp.Workers[0].Worker != "worker-1:42" || tp.Workers[0].Pass != tp.Pass {
		t.Fatalf("workers %+v", tp.Workers)
	}
	var d ItemDetail
	e.must("GET", fmt.Sprintf("/api/v1/items/%d", it.ID), nil, 200, &d)
	if len(d.History) != 1 || d.History[0].Worker != "worker-1:42" {
		t.Fatalf("history %+v", d.History)
	}
	code, b := e.call("GET", "/api/v1/projects/999999/throughput", nil)
	wantError(t, code, b, 404, "")
}

// TestEndpointAppCredentials: an endpoint takes an app's OAuth2
// credentials instead of an administrator; the answer shows the public
// part, never the secret.
func TestEndpointAppCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	var got Endpoint
	e.must("PUT", fmt.Sprintf("/api/v1/endpoints/%d/credentials", f.dst.ID), map[string]any{"oauth2_tenant": "contoso.onmicrosoft.com",
		"oauth2_client_id": "11111111-2222-3333-4444-555555555555", "oauth2_client_secret": appSecret}, 200, &got)
	if !got.HasCredentials || got.OAuth2ClientID != "11111111-2222-3333-4444-555555555555" || got.OAuth2Tenant != "contoso.onmicrosoft.com" || got.AdminUser != "" {
		t.Fatalf("endpoint %+v", got)
	}
	e.must("GET", fmt.Sprintf("/api/v1/endpoints/%d", f.dst.ID), nil, 200, &got)
	if got.OAuth2ClientID == "" || !got.HasCredentials {
		t.Fatalf("read back %+v", got)
	}

	// The SASL mechanism: kept with the endpoint (normalised), refused when unknown.
	e.must("PUT", fmt.Sprintf("/api/v1/endpoints/%d/credentials", f.dst.ID), map[string]any{"oauth2_tenant": "contoso.onmicrosoft.com",
		"oauth2_client_id": "app", "oauth2_client_secret": appSecret, "oauth2_mechanism": "oauthbearer"}, 200, &got)
	if got.OAuth2Mechanism != "OAUTHBEARER" {
		t.Fatalf("mechanism %q, want OAUTHBEARER", got.OAuth2Mechanism)
	}
	code, b := e.call("PUT", fmt.Sprintf("/api/v1/endpoints/%d/credentials", f.dst.ID), map[string]any{"oauth2_tenant": "contoso.onmicrosoft.com",
		"oauth2_client_id": "app", "oauth2_client_secret": appSecret, "oauth2_mechanism": "cram-md5"})
	wantError(t, code, b, 400, "oauth2_mechanism", "unknown OAuth2 mechanism")

	// A PFX locked with a password: refused without it or with a wrong
	// one, naming the field; taken with it, and the password sealed.
	const pfxPassword = "Pfx-Export-Pa55"
	e.secret(pfxPassword)
	_, pfx := testoauth.NewCertificatePFX(t, pfxPassword)
	path := fmt.Sprintf("/api/v1/endpoints/%d/credentials", f.dst.ID)
	app := func(password string) map[string]any {
		return map[string]any{"oauth2_tenant": "contoso.onmicrosoft.com", "oauth2_client_id": "app", "oauth2_certificate": pfx, "oauth2_certificate_password": password}
	}
	code, b = e.call("PUT", path, app(""))
	wantError(t, code, b, 400, "oauth2_certificate_password", "locked with a password")
	code, b = e.call("PUT", path, app("not-the-one"))
	wantError(t, code, b, 400, "oauth2_certificate_password", "password is wrong")
	e.must("PUT", path, app(pfxPassword), 200, &got)
	stored, err := e.st.Endpoint(context.Background(), f.dst.ID)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := e.svc.Sealer.Open(stored.SealedOAuth2, projects.EndpointAAD(stored.ID, "oauth2"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored.SealedOAuth2, pfxPassword) || !strings.Contains(opened, pfxPassword) {
		t.Fatal("the PFX password is not sealed with the credentials")
	}
	e.secretSealed()
}

// TestEndpointLocationsAndItemWorkloads: an endpoint's calendar places are
// set through the API; an item chooses its workloads and the API says
// what it moves; a workload whose places are missing is refused by name.
func TestEndpointLocationsAndItemWorkloads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	proj := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	item := map[string]any{"source": "carol@contoso.com", "destination": "carol@contoso.onmicrosoft.com", "destination_password": itemPassword,
		"workloads": []string{"calendar", "mail"}}
	code, body := e.call("POST", proj+"/items", item)
	if code != 400 || !strings.Contains(string(body), "set a DAV URL or an EWS URL") {
		t.Fatalf("calendar without locations: %d %s", code, body)
	}
	var ep Endpoint
	e.must("PUT", fmt.Sprintf("/api/v1/endpoints/%d/locations", f.src.ID), map[string]any{"ews_url": "https://mail.contoso.com/EWS/Exchange.asmx"}, 200, &ep)
	if ep.EWSURL != "https://mail.contoso.com/EWS/Exchange.asmx" {
		t.Fatalf("source endpoint %+v", ep)
	}
	if code, body := e.call("PUT", fmt.Sprintf("/api/v1/endpoints/%d/locations", f.dst.ID), map[string]any{"graph_url": "graph.microsoft.com"}); code != 400 || !strings.Contains(string(body), "graph_url") {
		t.Fatalf("a Graph URL that is not a URL: %d %s", code, body)
	}
	e.must("PUT", fmt.Sprintf("/api/v1/endpoints/%d/locations", f.dst.ID), map[string]any{"graph_url": "https://graph.microsoft.com/v1.0"}, 200, &ep)
	var it Item
	e.must("POST", proj+"/items", item, 201, &it)
	if strings.Join(it.Workloads, ",") != "mail,calendar" {
		t.Fatalf("item workloads %v", it.Workloads)
	}
	e.must("PATCH", fmt.Sprintf("/api/v1/items/%d", it.ID), map[string]any{"workloads": []string{"contacts", "tasks"}}, 200, &it)
	if strings.Join(it.Workloads, ",") != "contacts,tasks" {
		t.Fatalf("edited workloads %v", it.Workloads)
	}
	if code, body := e.call("PATCH", fmt.Sprintf("/api/v1/items/%d", it.ID), map[string]any{"workloads": []string{"notes"}}); code != 400 || !strings.Contains(string(body), `notes\" is not a workload`) {
		t.Fatalf("unknown workload: %d %s", code, body)
	}
}
