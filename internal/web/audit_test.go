package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
)

// TestPortalChangesAreAudited: every change to customers, endpoints,
// accounts and tokens made in the portal leaves an audit entry naming the
// person signed in.
func TestPortalChangesAreAudited(t *testing.T) {
	t.Parallel()
	tp := newTestPortal(t)
	ctx := context.Background()
	tp.user("root@ferry.example", auth.Administrator)
	c := tp.signedIn("root@ferry.example")
	seeOther := func(what string, r response) {
		t.Helper()
		if r.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", what, r.status, r.body)
		}
	}

	seeOther("create a customer", c.post("/customers", url.Values{"name": {"Tailspin"}, "primary_domain": {"tailspin.com"}}))
	cs, _ := tp.app.Store.Customers(ctx)
	cust := cs[len(cs)-1]
	seeOther("create an endpoint", c.post(fmt.Sprintf("/customers/%d/endpoints", cust.ID), url.Values{"name": {"spare"}, "type": {"dovecot"},
		"host": {"mail.tailspin.com"}, "credentials": {"provide"}, "admin_user": {"master"}, "password": {"Adm1n-top-secret"}}))
	es, _ := tp.app.Store.Endpoints(ctx, cust.ID)
	ep := es[0]
	seeOther("set credentials", c.post(fmt.Sprintf("/endpoints/%d/credentials", ep.ID), url.Values{"credentials": {"provide"},
		"admin_user": {"master"}, "password": {"An0ther-secret"}}))
	seeOther("delete the endpoint", c.post(fmt.Sprintf("/endpoints/%d/delete", ep.ID), nil))
	seeOther("create an account", c.post("/users", url.Values{"email": {"pat@tailspin.com"}, "name": {"Pat"}, "role": {string(auth.Viewer)},
		"customers": {fmt.Sprint(cust.ID)}, "password": {"a long enough password"}}))
	pat, err := tp.app.Store.UserByEmail(ctx, "pat@tailspin.com")
	if err != nil {
		t.Fatal(err)
	}
	seeOther("disable the account", c.post(fmt.Sprintf("/users/%d", pat.ID), url.Values{"do": {"disable"}}))
	if r := c.post("/account/tokens", url.Values{"name": {"reporting"}}); r.status != http.StatusOK || !strings.Contains(r.body, auth.TokenPrefix) {
		t.Fatalf("create a token: %d %s", r.status, r.body)
	}
	toks, _ := tp.app.Store.Tokens(ctx)
	seeOther("revoke the token", c.post(fmt.Sprintf("/account/tokens/%d/revoke", toks[len(toks)-1].ID), nil))

	entries, err := tp.app.Store.Audit(ctx, store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ action, object string }{
		{"customers.create", "Tailspin"}, {"endpoints.create", "spare"}, {"endpoints.credentials", "spare"}, {"endpoints.delete", "spare"},
		{"users.create", "pat@tailspin.com"}, {"users.disable", "pat@tailspin.com"}, {"tokens.create", "reporting"}, {"tokens.revoke", "reporting"},
	} {
		found := false
		for _, en := range entries {
			if en.Action == want.action && strings.Contains(en.Object, want.object) {
				found = true
				if en.Who != "root@ferry.example" {
					t.Errorf("%s of %s: recorded as made by %q", want.action, en.Object, en.Who)
				}
				if s := en.Before + en.After; strings.Contains(s, "secret") || strings.Contains(s, "long enough") {
					t.Errorf("%s: a secret in the audit log: %+v", want.action, en)
				}
			}
		}
		if !found {
			t.Errorf("no audit entry %s of %q", want.action, want.object)
		}
	}
}

// TestServiceRefusalsShownOnTheForm: what the services refuse (bad input, a
// duplicate, a rule) comes back as the form with the field and the message,
// whatever the kind.
func TestServiceRefusalsShownOnTheForm(t *testing.T) {
	t.Parallel()
	tp := newTestPortal(t)
	root := tp.user("root@ferry.example", auth.Administrator)
	c := tp.signedIn("root@ferry.example")
	c.post("/customers", url.Values{"name": {"Tailspin"}, "primary_domain": {"tailspin.com"}})
	c.post("/account/tokens", url.Values{"name": {"ci"}})
	for _, tc := range []struct {
		name, path string
		form       url.Values
		want       string
	}{
		{"a taken customer name", "/customers", url.Values{"name": {"Tailspin"}, "primary_domain": {"tailspin.com"}}, `Name: a customer named &#34;Tailspin&#34; exists already`},
		{"a bad domain", "/customers", url.Values{"name": {"X"}, "primary_domain": {"x"}}, "Primary domain: "},
		{"a bad email", "/users", url.Values{"email": {"pat"}, "name": {"Pat"}, "role": {"viewer"}, "password": {"a long enough password"}}, "Email: "},
		{"a taken email", "/users", url.Values{"email": {"root@ferry.example"}, "name": {"R"}, "role": {"viewer"}, "password": {"a long enough password"}},
			"Email: there is an account for root@ferry.example already"},
		{"disabling oneself", fmt.Sprintf("/users/%d", root.ID), url.Values{"do": {"disable"}}, "Account: you cannot disable your own account"},
		{"a token without a name", "/account/tokens", url.Values{"name": {" "}}, "Name: a token needs a name"},
		{"a taken token name", "/account/tokens", url.Values{"name": {"ci"}}, "Name: a token named &#34;ci&#34; exists already"},
		{"a wrong current password", "/account/password", url.Values{"current": {"nope"}, "password": {"another long password"}}, "Current password: the current password is not right"},
	} {
		if r := c.post(tc.path, tc.form); r.status != http.StatusBadRequest || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d, want 400 with %q:\n%s", tc.name, r.status, tc.want, r.body)
		}
	}
}
