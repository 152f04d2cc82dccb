package api

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
)

// roleAuthenticator signs every request in as a principal of one role and customer.
type roleAuthenticator struct {
	role     auth.Role
	customer int64
}

func (a roleAuthenticator) Authenticate(r *http.Request) (*Principal, error) {
	return &Principal{Name: string(a.role), Kind: "session", Role: a.role, Customers: []int64{a.customer}}, nil
}

// endlessBody is a body of n bytes that counts what the server read of it.
type endlessBody struct{ left, read int64 }

func (b *endlessBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), b.left))
	for i := range n {
		p[i] = 'a'
	}
	b.left -= int64(n)
	b.read += int64(n)
	return n, nil
}

// TestBodiesAreReadAfterAuthorizationAndBounded: a principal whose role may
// not do an operation is refused before its body is read; an allowed one
// sending too much gets 413 with problem details, the body read no further
// than the limit.
func TestBodiesAreReadAfterAuthorizationAndBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	viewer := NewWithOptions(e.svc, e.st, Options{Authenticators: []Authenticator{roleAuthenticator{auth.Viewer, f.customer.ID}}})
	partner := NewWithOptions(e.svc, e.st, Options{Authenticators: []Authenticator{roleAuthenticator{auth.Partner, f.customer.ID}}})
	const huge = 64 << 20
	send := func(h http.Handler, method, path, contentType string) (*httptest.ResponseRecorder, int64) {
		body := &endlessBody{left: huge}
		var r io.Reader = body
		if contentType == "application/json" { // one string that never ends
			r = io.MultiReader(strings.NewReader(`{"name":"`), body)
		}
		req := httptest.NewRequest(method, path, r)
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec, body.read
	}
	proj := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	for _, tc := range []struct{ method, path, ct string }{
		{"POST", proj + "/items/import", "text/csv"},
		{"POST", proj + "/items", "application/json"},
		{"PATCH", proj + "/settings", "application/json"},
		{"POST", "/api/v1/customers", "application/json"},
		{"PUT", fmt.Sprintf("/api/v1/endpoints/%d/credentials", f.src.ID), "application/json"},
	} {
		rec, read := send(viewer, tc.method, tc.path, tc.ct)
		if rec.Code != http.StatusForbidden || read != 0 {
			t.Errorf("viewer %s %s: %d after reading %d bytes, want 403 before reading any: %s", tc.method, tc.path, rec.Code, read, rec.Body)
		}
	}
	for _, tc := range []struct {
		method, path, ct string
		limit            int64
	}{
		{"POST", proj + "/items/import", "text/csv", maxImportBody},
		{"POST", proj + "/items", "application/json", maxJSONBody},
		{"PATCH", proj + "/settings", "application/json", maxJSONBody},
	} {
		rec, read := send(partner, tc.method, tc.path, tc.ct)
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), `"code":"too_large"`) {
			t.Errorf("partner %s %s with 64 MB: %d %s, want 413 too_large", tc.method, tc.path, rec.Code, rec.Body)
		}
		if read > tc.limit+1 {
			t.Errorf("partner %s %s: read %d bytes, over the limit of %d", tc.method, tc.path, read, tc.limit)
		}
	}
}
