package engagements

import (
	"context"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
)

// authorize lets the person in ctx do action on a customer's resources,
// or says why not (fault.Forbidden): the portal, the API and the command
// line (an administrator) all come through here.
func authorize(ctx context.Context, action auth.Action, customerID int64) error {
	return auth.Authorize(auth.PrincipalFrom(ctx), action, customerID)
}

// engagement loads an engagement and authorizes action on its customer.
func (s *Service) engagement(ctx context.Context, action auth.Action, id int64) (store.Engagement, error) {
	e, err := s.Store.Engagement(ctx, id)
	if err != nil {
		return e, err
	}
	return e, authorize(ctx, action, e.CustomerID)
}

// task loads an engagement task and authorizes action on its engagement's customer.
func (s *Service) task(ctx context.Context, action auth.Action, id int64) (store.EngagementTask, error) {
	t, err := s.Store.EngagementTask(ctx, id)
	if err != nil {
		return t, err
	}
	_, err = s.engagement(ctx, action, t.EngagementID)
	return t, err
}

// Attention is an engagement with tasks that are blocked or late.
type Attention struct {
	Customer   store.Customer
	Engagement store.Engagement
	Blocked    []store.EngagementTask
	Late       []store.EngagementTask
}

// Blocked reports whether a task status says the task cannot go on.
func Blocked(status string) bool {
	switch status {
	case BlockedRemediation, BlockedTechCustomer, BlockedBusiness, BlockedOther, BlockedTechMS, Warning:
		return true
	}
	return false
}

// Finished reports whether a task status needs no more work.
func Finished(status string) bool {
	return status == Complete || status == NotRequired || status == Cancelled
}

// Late reports whether a task is past its due date and not finished
// (retired tasks are never late).
func (s *Service) Late(t store.EngagementTask) bool { return late(t, s.now()) }

func late(t store.EngagementTask, now time.Time) bool {
	return !t.Retired && !t.Due.IsZero() && t.Due.Before(now) && !Finished(t.Status)
}

// NeedingAttention lists the customers' engagements with blocked tasks, or
// tasks past their due date and not finished (retired tasks aside).
func (s *Service) NeedingAttention(ctx context.Context, customers []store.Customer) ([]Attention, error) {
	now := s.now()
	var out []Attention
	for _, c := range customers {
		if authorize(ctx, auth.ActionReadEngagement, c.ID) != nil {
			continue
		}
		es, err := s.Store.EngagementsOf(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			tasks, err := s.Store.EngagementTasks(ctx, e.ID)
			if err != nil {
				return nil, err
			}
			a := Attention{Customer: c, Engagement: e}
			for _, t := range tasks {
				switch {
				case t.Retired:
				case Blocked(t.Status):
					a.Blocked = append(a.Blocked, t)
				case late(t, now):
					a.Late = append(a.Late, t)
				}
			}
			if len(a.Blocked)+len(a.Late) > 0 {
				out = append(out, a)
			}
		}
	}
	return out, nil
}
