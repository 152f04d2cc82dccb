package web

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
)

// TestSignedInPagesAreNotCached: a page shown to a signed-in person (the
// account page shows a new API token once) must not stay in a browser's or
// a proxy's cache.
func TestSignedInPagesAreNotCached(t *testing.T) {
	t.Parallel()
	tp := newTestPortal(t)
	tp.user("ada@ferry.example", auth.Administrator)
	c := tp.signedIn("ada@ferry.example")
	for name, res := range map[string]response{
		"GET /account":         c.get("/account"),
		"POST /account/tokens": c.post("/account/tokens", url.Values{"name": {"laptop"}}),
		"GET /":                c.get("/"),
	} {
		if res.status != http.StatusOK || res.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d, Cache-Control %q, want no-store", name, res.status, res.header.Get("Cache-Control"))
		}
	}
}
