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

// CustomerWork is what one of the customer's people has to do on an
// engagement when the playbook gives them no task: the customer's
// responsibilities, and the checklist items they own.
type CustomerWork struct {
	Engagement       store.Engagement      `json:"engagement"`
	Responsibilities []Responsibility      `json:"responsibilities"`
	Open             int                   `json:"open"` // responsibilities not ticked off
	Checklist        []store.ChecklistItem `json:"checklist"`
}

// SignedInCustomerWork lists, for the signed-in person, the engagements on
// which they are one of the customer's people (see CustomersPerson), with
// the customer's responsibilities and the checklist items they own.
func (s *Service) SignedInCustomerWork(ctx context.Context) ([]CustomerWork, error) {
	if err := authorize(ctx, auth.ActionListMyTasks, 0); err != nil {
		return nil, err
	}
	p := auth.PrincipalFrom(ctx)
	if p.UserID == 0 {
		return nil, nil
	}
	u, err := s.Store.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	ids := map[int64]bool{}
	var es []store.Engagement
	add := func(e store.Engagement) {
		if !ids[e.ID] && p.Sees(e.CustomerID) {
			ids[e.ID] = true
			es = append(es, e)
		}
	}
	if p.Role == auth.CustomerProjectManager || p.Role == auth.CustomerTechnicalLead {
		for _, c := range p.Customers {
			list, err := s.Store.EngagementsOf(ctx, c)
			if err != nil {
				return nil, err
			}
			for _, e := range list {
				add(e)
			}
		}
	}
	as, err := s.Store.AssignmentsOf(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		if r, ok := s.Playbook.Role(a.Role); ok && r.Party == playbook.Customer {
			e, err := s.Store.Engagement(ctx, a.EngagementID)
			if err != nil {
				return nil, err
			}
			add(e)
		}
	}
	var out []CustomerWork
	for _, e := range es {
		w := CustomerWork{Engagement: e}
		if w.Responsibilities, err = s.Responsibilities(ctx, e.ID); err != nil {
			return nil, err
		}
		for _, r := range w.Responsibilities {
			if !r.Done {
				w.Open++
			}
		}
		items, err := s.Store.ChecklistItems(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if strings.EqualFold(it.Owner, u.Email) {
				w.Checklist = append(w.Checklist, it)
			}
		}
		out = append(out, w)
	}
	return out, nil
}
