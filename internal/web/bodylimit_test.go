package web

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
)

// countingReader is a request body that counts what the server took of it.
type countingReader struct {
	left int64
	read atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), c.left))
	for i := range n {
		p[i] = 'a'
	}
	c.left -= int64(n)
	c.read.Add(int64(n))
	return n, nil
}

// TestFormBodiesAreBoundedAndReadAfterAuthorization: a person whose role
// may not do an action is refused before their form is read, and a form
// over the limit is refused with 413 and a message, not read whole.
func TestFormBodiesAreBoundedAndReadAfterAuthorization(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 1)
	b.tp.user("vera@contoso.example", auth.Viewer, b.customer.ID)
	viewer := b.tp.signedIn("vera@contoso.example")
	const huge = 40 << 20
	post := func(c *client, path string) (response, int64) {
		body := &countingReader{left: huge}
		req, _ := http.NewRequest("POST", c.tp.srv.URL+path, io.MultiReader(strings.NewReader("csrf="+c.csrf+"&name="), body))
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		before := c.tp.bodyRead.Load()
		res := c.do(req)
		return res, c.tp.bodyRead.Load() - before
	}
	for _, path := range []string{fmt.Sprintf("/projects/%d/import", b.project.ID), fmt.Sprintf("/projects/%d/settings", b.project.ID), "/customers"} {
		res, read := post(viewer, path)
		if res.status != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", path, res.status)
		}
		if read > 0 {
			t.Errorf("viewer POST %s: the handler read %d bytes of the form before refusing", path, read)
		}
	}
	for _, path := range []string{fmt.Sprintf("/projects/%d/settings", b.project.ID), fmt.Sprintf("/projects/%d/import", b.project.ID)} {
		res, read := post(b.partner, path)
		if res.status != http.StatusRequestEntityTooLarge || !strings.Contains(res.body, "larger than") {
			t.Errorf("partner POST %s with a 40 MB form: %d, want 413 with a message: %.300s", path, res.status, res.body)
		}
		if read > maxUploadBody+1 {
			t.Errorf("partner POST %s: the server read %d MB of a form over the limit", path, read>>20)
		}
	}
	// The forms anyone may send (sign-in and setup before a session, sign
	// out with one) are bounded too: 64 kB.
	anyone := b.tp.client()
	anyone.get("/signin")
	for _, tc := range []struct {
		c    *client
		path string
	}{{anyone, "/signin"}, {anyone, "/setup"}, {viewer, "/signout"}} {
		res, read := post(tc.c, tc.path)
		if res.status != http.StatusRequestEntityTooLarge || !strings.Contains(res.body, "larger than") {
			t.Errorf("POST %s with a 40 MB form: %d, want 413 with a message: %.300s", tc.path, res.status, res.body)
		}
		if read > maxPublicBody+1<<20 {
			t.Errorf("POST %s: the server read %d MB of a form over the limit", tc.path, read>>20)
		}
	}
}

// TestLongSearchIsRefused: a 60,000-character search answers 400 saying
// how long a search may be, not 500.
func TestLongSearchIsRefused(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 1)
	res := b.partner.get(fmt.Sprintf("/projects/%d?q=%s", b.project.ID, strings.Repeat("a", 60000)))
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "at most 200 characters") {
		t.Fatalf("a 60,000-character search: %d %.300s", res.status, res.body)
	}
}
