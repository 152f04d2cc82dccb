package engagements

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// NotAnAccount is how an assignment from before people in roles were
// accounts, whose text named no account, is shown: it holds its role for
// nobody until an account is assigned instead.
const NotAnAccount = "not an account yet"

// Holds is the one answer to "is the signed-in person this assignment?":
// the principal's account is the assignment's. An assignment without an
// account (UserID 0) is nobody's; an operator or a token without an account
// holds no role.
func Holds(p *auth.Principal, a store.Assignment) bool {
	return p != nil && p.UserID != 0 && a.UserID == p.UserID
}

// Account finds the account a person is named by: its e-mail (any case)
// or its number ("12" or "#12").
func (s *Service) Account(ctx context.Context, who string) (store.User, error) {
	who = strings.TrimSpace(who)
	if who == "" {
		return store.User{}, fault.InvalidField("person", "say whose account: an e-mail address or an account number")
	}
	if n, err := strconv.ParseInt(strings.TrimPrefix(who, "#"), 10, 64); err == nil && n > 0 {
		u, err := s.Store.User(ctx, n)
		if errors.Is(err, store.ErrNotFound) {
			return u, fault.InvalidField("person", "there is no account %d; list them with: ferry user list", n)
		}
		return u, err
	}
	u, err := s.Store.UserByEmail(ctx, who)
	if errors.Is(err, store.ErrNotFound) {
		return u, fault.InvalidField("person", "%s has no account; people in engagement roles are accounts: create one first (ferry user create, or the portal's Accounts page), then assign it", who)
	}
	return u, err
}

// assignable is the account that takes a role on the engagement: enabled,
// and able to see the engagement's customer (mayHold).
func (s *Service) assignable(ctx context.Context, e store.Engagement, who string) (store.User, error) {
	u, err := s.Account(ctx, who)
	if err != nil {
		return u, err
	}
	if u.Disabled {
		return u, fault.InvalidField("person", "the account of %s is disabled; enable it first", u.Email)
	}
	if !mayHold(u, e) {
		return u, fault.InvalidField("person", "%s may not see customer %d, so cannot hold a role on its engagement; give the account the customer first", u.Email, e.CustomerID)
	}
	return u, nil
}

// mayHold is the one rule of who may hold a role on an engagement: an
// enabled account that sees the engagement's customer.
func mayHold(u store.User, e store.Engagement) bool {
	return !u.Disabled && auth.PrincipalOf(u, auth.KindSession).Sees(e.CustomerID)
}

// Assignable lists the accounts Assign takes for a role on the engagement,
// the choices a door offers; only someone who may assign sees them.
func (s *Service) Assignable(ctx context.Context, e store.Engagement) ([]store.User, error) {
	if err := authorize(ctx, auth.ActionAssign, e.CustomerID); err != nil {
		return nil, err
	}
	users, err := s.Store.Users(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(users, func(u store.User) bool { return !mayHold(u, e) }), nil
}

// Person is someone in a role, as the engagement shows them.
type Person struct {
	store.Assignment
	// Name is the account's name now ("" for no account).
	Name string `json:"name,omitempty"`
	// Account says whether an account holds the role; false: NotAnAccount.
	Account bool `json:"account"`
}

// People lists who holds the engagement's roles, with their accounts'
// names; assignments that name no account are kept and marked.
func (s *Service) People(ctx context.Context, engagementID int64) ([]Person, error) {
	as, err := s.Store.Assignments(ctx, engagementID)
	if err != nil {
		return nil, err
	}
	out := make([]Person, 0, len(as))
	for _, a := range as {
		p := Person{Assignment: a}
		if a.UserID != 0 {
			if u, err := s.Store.User(ctx, a.UserID); err == nil {
				p.Name, p.Account, p.Person = u.Name, true, u.Email
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// label names an assignment's person in messages.
func label(a store.Assignment) string {
	if a.UserID == 0 {
		return a.Person + " (" + NotAnAccount + ")"
	}
	return a.Person
}
