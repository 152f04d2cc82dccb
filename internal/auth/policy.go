// Package auth is Ferry's one authorization layer: who someone is (a
// Principal: a signed-in person or an API token), what their role lets them
// do (Capability), and which customers they may see. The REST API and the
// web portal both ask Authorize, so they cannot disagree.
//
// It also holds the portal's sign-in machinery: argon2id password hashes,
// sessions, CSRF tokens, and the sign-in rate limit and lockout.
package auth

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// Role is what a person does in the program; it decides their capabilities.
type Role string

// The roles, in the words of the onboarding and migration program.
const (
	Administrator            Role = "administrator"
	FastTrackManager         Role = "fasttrack-manager"
	FastTrackEngineer        Role = "fasttrack-engineer"
	MigrationVelocityManager Role = "migration-velocity-manager"
	Partner                  Role = "partner"
	CustomerProjectManager   Role = "customer-project-manager"
	CustomerTechnicalLead    Role = "customer-technical-lead"
	Viewer                   Role = "viewer"
)

// Capability is a group of actions a role may do.
type Capability string

// The capabilities.
const (
	// Read: see a customer's engagements, projects, items and audit log.
	Read Capability = "read"
	// Engage: work on engagement tasks: status, percent, notes, time,
	// checklist, post-migration issues, scheduled events.
	Engage Capability = "engage"
	// Lead: run an engagement: create it, change its scope, assign people,
	// pass exit gates, override the migration gate.
	Lead Capability = "lead"
	// Migrate: start and stop passes.
	Migrate Capability = "migrate"
	// Configure: endpoints and their credentials, projects, items, settings.
	Configure Capability = "configure"
	// ManageCustomers: create and delete customers.
	ManageCustomers Capability = "manage-customers"
	// ManageUsers: accounts, roles, customer assignments, API tokens.
	ManageUsers Capability = "manage-users"
)

// RoleInfo describes a role.
type RoleInfo struct {
	Role  Role
	Title string
	// AllCustomers: the role sees every customer; otherwise only those
	// assigned to the person (a partner's customers, a customer's own tenant).
	AllCustomers bool
	// OneCustomer: a person of this role belongs to exactly one customer.
	OneCustomer  bool
	Capabilities []Capability
}

// Roles lists every role, most powerful first.
var Roles = []RoleInfo{
	{Administrator, "Administrator", true, false, []Capability{Read, Engage, Lead, Migrate, Configure, ManageCustomers, ManageUsers}},
	{FastTrackManager, "FastTrack Manager", true, false, []Capability{Read, Engage, Lead, Migrate, Configure, ManageCustomers}},
	{FastTrackEngineer, "FastTrack Engineer", true, false, []Capability{Read, Engage, Migrate, Configure}},
	{MigrationVelocityManager, "Migration Velocity Manager", true, false, []Capability{Read, Engage, Lead, Migrate, Configure}},
	{Partner, "Partner (FRP)", false, false, []Capability{Read, Engage, Lead, Migrate, Configure}},
	{CustomerProjectManager, "Customer project manager", false, true, []Capability{Read, Engage, Migrate}},
	{CustomerTechnicalLead, "Customer technical lead", false, true, []Capability{Read, Engage, Configure}},
	{Viewer, "Read-only viewer", false, false, []Capability{Read}},
}

// Info returns the description of a role, and false for an unknown role.
func (r Role) Info() (RoleInfo, bool) {
	for _, ri := range Roles {
		if ri.Role == r {
			return ri, true
		}
	}
	return RoleInfo{}, false
}

// Title is the role's name for people, e.g. "Partner (FRP)".
func (r Role) Title() string {
	if ri, ok := r.Info(); ok {
		return ri.Title
	}
	return string(r)
}

// ParseRole reads a role by its id ("partner") or its title ("Partner (FRP)").
func ParseRole(s string) (Role, error) {
	for _, ri := range Roles {
		if string(ri.Role) == s || ri.Title == s {
			return ri.Role, nil
		}
	}
	return "", fmt.Errorf("%q is not a role; use one of %s", s, roleList())
}

func roleList() string {
	s := ""
	for i, ri := range Roles {
		if i > 0 {
			s += ", "
		}
		s += string(ri.Role)
	}
	return s
}

// Principal is who makes a request.
type Principal struct {
	// UserID is the person's account (0 for an API token made on the command line).
	UserID int64  `json:"user_id,omitempty"`
	Name   string `json:"name"`
	// Kind says how they signed in: KindToken or KindSession.
	Kind string `json:"kind"`
	Role Role   `json:"role"`
	// Customers are the customers a role without AllCustomers may see.
	Customers []int64 `json:"customers,omitempty"`
}

// How a principal signed in.
const (
	KindToken   = "token"
	KindSession = "session"
)

// Can reports whether the principal's role has the capability.
func (p *Principal) Can(c Capability) bool {
	if p == nil {
		return false
	}
	ri, ok := p.Role.Info()
	return ok && slices.Contains(ri.Capabilities, c)
}

// SeesAll reports whether the principal sees every customer.
func (p *Principal) SeesAll() bool {
	if p == nil {
		return false
	}
	ri, ok := p.Role.Info()
	return ok && ri.AllCustomers
}

// Sees reports whether the principal may see the customer.
func (p *Principal) Sees(customerID int64) bool {
	return p.SeesAll() || (p != nil && slices.Contains(p.Customers, customerID))
}

// ErrForbidden: the principal may not do this (403).
var ErrForbidden error = fault.ErrForbidden

// forbidden is a Forbidden fault that says why, after ErrForbidden's
// words ("not allowed: a Viewer may not ..."): errors.Is(err,
// ErrForbidden) holds, and every door reads its reason from the fault.
func forbidden(format string, args ...any) error {
	return &fault.Error{Kind: fault.Forbidden, Msg: ErrForbidden.Error() + ": " + fmt.Sprintf(format, args...)}
}

// ErrHidden: the resource belongs to a customer the principal may not see.
// It is a NotFound fault, so the doors answer it as they answer a missing
// resource (404) and nobody can probe which IDs exist; Hide makes the
// message the same too.
var ErrHidden error = &fault.Error{Kind: fault.NotFound, Msg: "not found"}

// Authorize decides whether p may do action on the resources of a customer
// (customerID 0: an action concerning no customer in particular). A
// customer p may not see gives ErrHidden, whatever the action; otherwise the
// error wraps ErrForbidden and says why in words a person understands.
func Authorize(p *Principal, action Action, customerID int64) error {
	if p == nil {
		return forbidden("nobody is signed in")
	}
	def, ok := actions[action]
	if !ok {
		return forbidden("unknown action %q", action)
	}
	if customerID != 0 && !p.Sees(customerID) {
		return ErrHidden
	}
	if err := Capable(p, action); err != nil {
		return err
	}
	if customerID == 0 {
		if def.scope == anyCustomer || p.SeesAll() {
			return nil
		}
		return forbidden("only roles that see every customer may %s", def.what)
	}
	return nil
}

// Capable is the part of Authorize that needs no resource: whether p's
// role may do the action at all. The doors ask it before they read a
// request's body, so someone who may not act cannot make the server read,
// parse or store what they send.
func Capable(p *Principal, action Action) error {
	if p == nil {
		return forbidden("nobody is signed in")
	}
	def, ok := actions[action]
	if !ok {
		return forbidden("unknown action %q", action)
	}
	if !p.Can(def.cap) {
		return forbidden("a %s may not %s", p.Role.Title(), def.what)
	}
	return nil
}

// Hide turns ErrHidden into the error the store gives for a missing
// resource, named after the request's route ("GET /api/v1/projects/{id}":
// "project 7: not found"), so the answer is the same byte for byte. Other
// errors are returned as they are.
func Hide(r *http.Request, err error) error {
	if err != ErrHidden {
		return err
	}
	segs := strings.Split(r.Pattern, "/")
	for i := 1; i < len(segs); i++ {
		name, ok := strings.CutPrefix(segs[i], "{")
		if !ok {
			continue
		}
		id, perr := strconv.ParseInt(r.PathValue(strings.TrimSuffix(name, "}")), 10, 64)
		if perr != nil {
			break
		}
		return fmt.Errorf("%s %d: %w", strings.TrimSuffix(segs[i-1], "s"), id, store.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", r.URL.Path, store.ErrNotFound)
}

type principalKey struct{}

// WithPrincipal returns a context carrying the principal.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of a context, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
