package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
)

func TestSetupSignInSignOut(t *testing.T) {
	t.Parallel()
	tp := newTestPortal(t)
	c := tp.client()
	if res := c.get("/"); res.status != http.StatusSeeOther || res.header.Get("Location") != "/signin" {
		t.Fatalf("dashboard without a session: %d %s", res.status, res.header.Get("Location"))
	}
	if res := c.get("/signin"); res.status != http.StatusSeeOther || res.header.Get("Location") != "/setup" {
		t.Fatalf("sign-in page before any account: %d %s", res.status, res.header.Get("Location"))
	}
	c.get("/setup")
	form := url.Values{"name": {"Ada"}, "email": {"ada@ferry.example"}, "password": {testPassword}}
	form.Set("code", "wrong")
	if res := c.post("/setup", form); res.status != http.StatusForbidden || !strings.Contains(res.body, "setup code is not right") {
		t.Fatalf("wrong setup code: %d", res.status)
	}
	form.Set("code", "setup-code-123")
	form.Set("password", "short")
	if res := c.post("/setup", form); res.status != http.StatusBadRequest || !strings.Contains(res.body, "at least 12 characters") {
		t.Fatalf("short password: %d %s", res.status, res.body)
	}
	form.Set("password", testPassword)
	if res := c.post("/setup", form); res.status != http.StatusSeeOther {
		t.Fatalf("setup: %d %s", res.status, res.body)
	}
	res := c.get("/")
	if res.status != http.StatusOK || !strings.Contains(res.body, "ada@ferry.example · Administrator") {
		t.Fatalf("dashboard after setup: %d %s", res.status, res.body)
	}
	// Setup happens once.
	other := tp.client()
	other.get("/signin")
	if res := other.post("/setup", url.Values{"code": {"setup-code-123"}, "name": {"Eve"}, "email": {"eve@x.example"}, "password": {testPassword},
		"csrf": {other.csrf}}); res.status != http.StatusSeeOther || res.header.Get("Location") != "/signin" {
		t.Fatalf("second setup: %d %s", res.status, res.header.Get("Location"))
	}
	if _, err := tp.app.Store.UserByEmail(t.Context(), "eve@x.example"); err == nil {
		t.Fatal("a second administrator was set up")
	}
	// Sign out needs the CSRF token, then ends the session.
	if res := c.post("/signout", url.Values{"csrf": {"forged"}}); res.status != http.StatusForbidden {
		t.Fatalf("sign out with a forged token: %d", res.status)
	}
	if res := c.post("/signout", nil); res.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", res.status)
	}
	if res := c.get("/"); res.status != http.StatusSeeOther {
		t.Fatalf("dashboard after signing out: %d", res.status)
	}
}

func TestSignInRefusals(t *testing.T) {
	t.Parallel()
	tp := newTestPortal(t)
	// The throttle's waits start at 1 s: a still clock keeps them running
	// however slowly the machine hashes passwords.
	still := time.Now()
	tp.auth.Now = func() time.Time { return still }
	tp.user("admin@ferry.example", auth.Administrator)
	tp.user("pat@partner.example", auth.Partner)
	c := tp.client()
	c.get("/signin")
	if res := c.post("/signin", url.Values{"email": {"pat@partner.example"}, "password": {testPassword}, "csrf": {"forged"}}); res.status != http.StatusForbidden {
		t.Fatalf("sign-in without the form's token: %d", res.status)
	}
	if res := c.post("/signin", url.Values{"email": {"nobody@x.example"}, "password": {testPassword}}); res.status != http.StatusUnauthorized ||
		!strings.Contains(res.body, "email or the password is not right") {
		t.Fatalf("unknown account: %d", res.status)
	}
	// Five wrong passwords for an account from one address are free; the
	// sixth try waits, whatever the password, and says for how long.
	for i := 0; i < 5; i++ {
		if res := c.post("/signin", url.Values{"email": {"pat@partner.example"}, "password": {"wrong password!"}}); res.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i, res.status)
		}
	}
	res := c.post("/signin", url.Values{"email": {"pat@partner.example"}, "password": {testPassword}})
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, "too many failed sign-ins") || res.header.Get("Retry-After") != "1" {
		t.Fatalf("the try after five failures: %d %q %s", res.status, res.header.Get("Retry-After"), res.body)
	}
	// The address has failed 5 times (the forged form and the refused try
	// did not count); five more on other emails make every account wait.
	for i := 0; i < 5; i++ {
		c.post("/signin", url.Values{"email": {fmt.Sprintf("guess%d@ferry.example", i)}, "password": {"nope nope nope"}})
	}
	res = c.post("/signin", url.Values{"email": {"admin@ferry.example"}, "password": {testPassword}})
	if res.status != http.StatusTooManyRequests || !strings.Contains(res.body, "too many failed sign-ins") {
		t.Fatalf("11th attempt from one address: %d %s", res.status, res.body)
	}
	// The limit is per address: from another one the same account signs in.
	if _, err := tp.auth.SignIn(t.Context(), "admin@ferry.example", testPassword, "192.0.2.7"); err != nil {
		t.Fatalf("sign in from another address: %v", err)
	}
}

func TestCSRFAndHeaders(t *testing.T) {
	t.Parallel()
	tp := newTestPortal(t)
	tp.user("admin@ferry.example", auth.Administrator)
	c := tp.signedIn("admin@ferry.example")
	res := c.get("/customers")
	if res.header.Get("Content-Security-Policy") == "" || res.header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("security headers: %v", res.header)
	}
	for _, tc := range []struct {
		name string
		csrf string
	}{{"no token", ""}, {"forged token", "abc"}} {
		form := url.Values{"name": {"Contoso"}, "primary_domain": {"contoso.com"}, "csrf": {tc.csrf}}
		if res := c.post("/customers", form); res.status != http.StatusForbidden {
			t.Errorf("%s: %d", tc.name, res.status)
		}
	}
	if cs, _ := tp.app.Store.Customers(t.Context()); len(cs) != 0 {
		t.Fatalf("a request without the CSRF token created %d customers", len(cs))
	}
	if res := c.post("/customers", url.Values{"name": {"Contoso"}, "primary_domain": {"contoso.com"}}); res.status != http.StatusSeeOther {
		t.Fatalf("with the token: %d %s", res.status, res.body)
	}
}
