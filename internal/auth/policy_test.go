package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/fault"
)

// TestAuthorize checks every role against representative actions on its own
// customer (1), another customer (2) and no customer in particular (0).
func TestAuthorize(t *testing.T) {
	t.Parallel()
	const own, other = 1, 2
	principals := map[Role]*Principal{}
	for _, ri := range Roles {
		p := &Principal{Name: string(ri.Role), Role: ri.Role}
		if !ri.AllCustomers {
			p.Customers = []int64{own}
		}
		principals[ri.Role] = p
	}
	type want struct{ own, other, none bool }
	all := want{true, true, true}
	scoped := want{true, false, false}  // own customer only
	catalogue := want{true, true, true} // customer-less reads anyone may do
	allOnly := want{true, true, true}   // roles seeing all customers
	nothing := want{false, false, false}
	cases := []struct {
		action Action
		roles  map[Role]want
	}{
		{ActionReadProject, map[Role]want{Administrator: all, FastTrackManager: all, FastTrackEngineer: all, MigrationVelocityManager: all,
			Partner: scoped, CustomerProjectManager: scoped, CustomerTechnicalLead: scoped, Viewer: scoped}},
		{ActionStartPass, map[Role]want{Administrator: all, FastTrackManager: all, FastTrackEngineer: all, MigrationVelocityManager: all,
			Partner: scoped, CustomerProjectManager: scoped, CustomerTechnicalLead: nothing, Viewer: nothing}},
		{ActionSetCredentials, map[Role]want{Administrator: all, FastTrackManager: all, FastTrackEngineer: all, MigrationVelocityManager: all,
			Partner: scoped, CustomerProjectManager: nothing, CustomerTechnicalLead: scoped, Viewer: nothing}},
		{ActionUpdateTask, map[Role]want{Administrator: all, FastTrackManager: all, FastTrackEngineer: all, MigrationVelocityManager: all,
			Partner: scoped, CustomerProjectManager: scoped, CustomerTechnicalLead: scoped, Viewer: nothing}},
		{ActionExitPhase, map[Role]want{Administrator: all, FastTrackManager: all, FastTrackEngineer: nothing, MigrationVelocityManager: all,
			Partner: scoped, CustomerProjectManager: nothing, CustomerTechnicalLead: nothing, Viewer: nothing}},
		{ActionCreateCustomer, map[Role]want{Administrator: allOnly, FastTrackManager: allOnly, FastTrackEngineer: nothing,
			MigrationVelocityManager: nothing, Partner: nothing, CustomerProjectManager: nothing, CustomerTechnicalLead: nothing, Viewer: nothing}},
		{ActionManageUsers, map[Role]want{Administrator: allOnly, FastTrackManager: nothing, FastTrackEngineer: nothing,
			MigrationVelocityManager: nothing, Partner: nothing, CustomerProjectManager: nothing, CustomerTechnicalLead: nothing, Viewer: nothing}},
		{ActionListCustomers, map[Role]want{Administrator: catalogue, FastTrackManager: catalogue, FastTrackEngineer: catalogue,
			MigrationVelocityManager: catalogue, Partner: {true, false, true}, CustomerProjectManager: {true, false, true},
			CustomerTechnicalLead: {true, false, true}, Viewer: {true, false, true}}},
	}
	for _, tc := range cases {
		for role, w := range tc.roles {
			p := principals[role]
			for _, c := range []struct {
				customer int64
				want     bool
			}{{own, w.own}, {other, w.other}, {0, w.none}} {
				err := Authorize(p, tc.action, c.customer)
				if (err == nil) != c.want {
					t.Errorf("%s %s on customer %d: %v, want allowed=%v", role, tc.action, c.customer, err, c.want)
				}
				// Another customer's resources read as missing ones (404),
				// so their IDs cannot be probed; a role lacking the
				// capability is told so (403).
				hidden := c.customer == other && !p.SeesAll()
				switch {
				case err == nil:
				case hidden && (!errors.Is(err, fault.ErrNotFound) || errors.Is(err, ErrForbidden)):
					t.Errorf("%s %s on another customer: %v, want not found", role, tc.action, err)
				case !hidden && (!errors.Is(err, ErrForbidden) || strings.Count(err.Error(), ":") < 1):
					t.Errorf("%s %s: the refusal does not say why: %v", role, tc.action, err)
				}
			}
		}
		if len(tc.roles) != len(Roles) {
			t.Errorf("%s: the table covers %d of %d roles", tc.action, len(tc.roles), len(Roles))
		}
	}
	if err := Authorize(nil, ActionReadProject, own); err == nil {
		t.Error("nobody signed in was allowed")
	}
	if err := Authorize(&Principal{Name: "x", Role: "chief"}, ActionReadProject, own); err == nil {
		t.Error("an unknown role was allowed")
	}
}

// Every action has a definition; an undefined one is refused, not allowed.
func TestEveryActionIsDefined(t *testing.T) {
	t.Parallel()
	if err := Authorize(&Principal{Role: Administrator}, Action("made.up"), 0); err == nil {
		t.Fatal("an unknown action was allowed")
	}
	for _, a := range Actions() {
		if CapabilityOf(a) == "" {
			t.Errorf("%s has no capability", a)
		}
	}
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		hash, pw string
		want     bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterY", false},
		{h, "", false},
		{"", "correct horse battery", false},
		{"$argon2id$v=19$m=0,t=2,p=1$AAAA$AAAA", "x", false},
		{"$bcrypt$whatever", "x", false},
	} {
		if got := VerifyPassword(tc.hash, tc.pw); got != tc.want {
			t.Errorf("verify(%q, %q) = %v", tc.hash, tc.pw, got)
		}
	}
	for _, pw := range []string{"short", "            ", ""} {
		if CheckPassword(pw) == nil {
			t.Errorf("password %q accepted", pw)
		}
	}
}
