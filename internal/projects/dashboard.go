package projects

import (
	"context"
	"slices"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
)

// ItemAt is an item with its project and customer, for lists across projects.
type ItemAt struct {
	Customer store.Customer
	Project  store.Project
	Item     store.Item
}

// Activity is what the passes of some customers' projects are doing: items
// per status, the items running now, and the latest that ended with errors.
type Activity struct {
	Totals  map[string]int
	Running []ItemAt
	Errors  []ItemAt
}

// Dashboard shows at most this many running items per project and items with errors in all.
const (
	dashboardRunningPerProject = 20
	dashboardErrors            = 10
)

// Activity gathers the figures of the customers' projects, of those the
// person in ctx may see.
func (s *Service) Activity(ctx context.Context, customers []store.Customer) (*Activity, error) {
	a := &Activity{Totals: map[string]int{}}
	for _, c := range customers {
		if authorize(ctx, auth.ActionReadProject, c.ID) != nil {
			continue
		}
		ps, err := s.Store.ProjectsOf(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			for st, n := range p.StatusBreakdown {
				a.Totals[st] += n
			}
			if p.StatusBreakdown[store.StatusRunning] > 0 {
				items, _, err := s.Store.Items(ctx, p.ID, store.ItemFilter{Status: []string{store.StatusRunning}, Limit: dashboardRunningPerProject})
				if err != nil {
					return nil, err
				}
				for _, it := range items {
					a.Running = append(a.Running, ItemAt{c, p, it})
				}
			}
			if len(a.Errors) < dashboardErrors {
				items, _, err := s.Store.Items(ctx, p.ID, store.ItemFilter{Status: []string{store.StatusFailed, store.StatusCompleted,
					store.StatusCompletedPrestage, store.StatusCompletedTrial, store.StatusStopped}, Sort: "-updated", Limit: dashboardErrors})
				if err != nil {
					return nil, err
				}
				for _, it := range items {
					if it.Errors > 0 || it.Status == store.StatusFailed {
						a.Errors = append(a.Errors, ItemAt{c, p, it})
					}
				}
			}
		}
	}
	slices.SortFunc(a.Errors, func(x, y ItemAt) int { return y.Item.Updated.Compare(x.Item.Updated) })
	if len(a.Errors) > dashboardErrors {
		a.Errors = a.Errors[:dashboardErrors]
	}
	return a, nil
}
