package engagements

import (
	"context"
	"slices"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/store"
)

// Responsibility is one of the customer's responsibilities (seed 001, the
// playbook's customer checklists) on an engagement, ticked off or not.
type Responsibility struct {
	playbook.Responsibility
	Done bool   `json:"done"`
	Who  string `json:"who,omitempty"` // who last ticked or unticked it
	At   string `json:"at,omitempty"`  // when, RFC 3339
}

// Responsibilities lists the customer's responsibilities for the
// engagement's scope (items of a service out of scope left out), the whole
// engagement's first, then each phase's, with who ticked them off.
func (s *Service) Responsibilities(ctx context.Context, engagementID int64) ([]Responsibility, error) {
	e, err := s.engagement(ctx, auth.ActionReadEngagement, engagementID)
	if err != nil {
		return nil, err
	}
	ticks, err := s.Store.Responsibilities(ctx, engagementID)
	if err != nil {
		return nil, err
	}
	out := []Responsibility{}
	for _, r := range s.Playbook.Responsibilities(playbook.Customer) {
		if r.Service != "" && !s.serviceInScope(e, r.Service) {
			continue
		}
		x := Responsibility{Responsibility: r}
		if i := slices.IndexFunc(ticks, func(t store.Responsibility) bool { return t.Key == r.Key }); i >= 0 {
			x.Done, x.Who, x.At = ticks[i].Done, ticks[i].Who, ticks[i].At.UTC().Format("2006-01-02T15:04:05Z")
		}
		out = append(out, x)
	}
	return out, nil
}

func (s *Service) serviceInScope(e store.Engagement, id string) bool {
	if slices.Contains(e.Services, id) {
		return true
	}
	for _, sv := range s.Playbook.Services {
		if sv.ID == id && sv.AlwaysInScope {
			return true
		}
	}
	return false
}

// CustomersPerson reports whether the signed-in person is one of the
// customer's people on the engagement: their account's role is a customer
// role, or they hold a role the playbook gives the customer's party.
func (s *Service) CustomersPerson(ctx context.Context, e store.Engagement) (bool, error) {
	p := auth.PrincipalFrom(ctx)
	if p == nil {
		return false, nil
	}
	if p.Role == auth.CustomerProjectManager || p.Role == auth.CustomerTechnicalLead {
		return p.Sees(e.CustomerID), nil
	}
	as, err := s.Store.Assignments(ctx, e.ID)
	if err != nil {
		return false, err
	}
	for _, a := range as {
		if r, ok := s.Playbook.Role(a.Role); ok && r.Party == playbook.Customer && Holds(p, a) {
			return true, nil
		}
	}
	return false, nil
}

// TickResponsibility ticks off (done) or unticks one of the customer's
// responsibilities, as the signed-in person: one of the customer's people
// (see CustomersPerson) or an administrator. The change is audited.
func (s *Service) TickResponsibility(ctx context.Context, engagementID int64, key string, done bool) (Responsibility, error) {
	e, err := s.engagement(ctx, auth.ActionTickResponsibility, engagementID)
	if err != nil {
		return Responsibility{}, err
	}
	p := auth.PrincipalFrom(ctx)
	if p.Role != auth.Administrator {
		ok, err := s.CustomersPerson(ctx, e)
		if err != nil {
			return Responsibility{}, err
		}
		if !ok {
			return Responsibility{}, fault.New(fault.Forbidden, "the customer's responsibilities are ticked off by the customer's people (its project manager or technical lead); %s is not one of them on this engagement", p.Name)
		}
	}
	list, err := s.Responsibilities(ctx, engagementID)
	if err != nil {
		return Responsibility{}, err
	}
	key = strings.TrimSpace(key)
	i := slices.IndexFunc(list, func(r Responsibility) bool { return r.Key == key })
	if i < 0 {
		return Responsibility{}, fault.InvalidField("key", "engagement %d has no customer responsibility %q; list them with their keys first", engagementID, key)
	}
	t := store.Responsibility{EngagementID: e.ID, Key: key, Done: done, Who: p.Name, At: s.now()}
	if err := s.Store.SetResponsibility(ctx, t); err != nil {
		return Responsibility{}, err
	}
	r := list[i]
	r.Done, r.Who, r.At = done, t.Who, t.At.UTC().Format("2006-01-02T15:04:05Z")
	return r, nil
}
