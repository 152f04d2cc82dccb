package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/store"
)

func init() {
	addRoutes(
		route{Pattern: "GET /{$}", Action: auth.ActionReadDashboard, Handle: (*server).dashboard},
	)
}

// visibleCustomers lists the customers the request's principal may see.
func (s *server) visibleCustomers(r *http.Request) ([]store.Customer, error) {
	all, err := s.Store.Customers(r.Context())
	if err != nil {
		return nil, err
	}
	p := principal(r)
	return slices.DeleteFunc(all, func(c store.Customer) bool { return !p.Sees(c.ID) }), nil
}

type attention struct {
	Customer   store.Customer
	Engagement store.Engagement
	Blocked    []store.EngagementTask
	Late       []store.EngagementTask
}

type running struct {
	Customer store.Customer
	Project  store.Project
	Item     store.Item
}

type dashboardData struct {
	Customers []store.Customer
	Attention []attention
	Running   []running
	Errors    []running
	Totals    map[string]int
}

func blocked(status string) bool {
	switch status {
	case engagements.BlockedRemediation, engagements.BlockedTechCustomer, engagements.BlockedBusiness,
		engagements.BlockedOther, engagements.BlockedTechMS, engagements.Warning:
		return true
	}
	return false
}

func finished(status string) bool {
	return status == engagements.Complete || status == engagements.NotRequired || status == engagements.Cancelled
}

func (s *server) dashboard(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	cs, err := s.visibleCustomers(r)
	if err != nil {
		return err
	}
	d := &dashboardData{Customers: cs, Totals: map[string]int{}}
	now := time.Now()
	for _, c := range cs {
		es, err := s.Store.EngagementsOf(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, e := range es {
			tasks, err := s.Store.EngagementTasks(ctx, e.ID)
			if err != nil {
				return err
			}
			a := attention{Customer: c, Engagement: e}
			for _, t := range tasks {
				switch {
				case t.Retired:
				case blocked(t.Status):
					a.Blocked = append(a.Blocked, t)
				case !t.Due.IsZero() && t.Due.Before(now) && !finished(t.Status):
					a.Late = append(a.Late, t)
				}
			}
			if len(a.Blocked)+len(a.Late) > 0 {
				d.Attention = append(d.Attention, a)
			}
		}
		ps, err := s.Store.ProjectsOf(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			for st, n := range p.StatusBreakdown {
				d.Totals[st] += n
			}
			if p.StatusBreakdown[store.StatusRunning] > 0 {
				items, _, err := s.Store.Items(ctx, p.ID, store.ItemFilter{Status: []string{store.StatusRunning}, Limit: 20})
				if err != nil {
					return err
				}
				for _, it := range items {
					d.Running = append(d.Running, running{c, p, it})
				}
			}
			if len(d.Errors) < 10 {
				items, _, err := s.Store.Items(ctx, p.ID, store.ItemFilter{Status: []string{store.StatusFailed, store.StatusCompleted,
					store.StatusCompletedPrestage, store.StatusCompletedTrial, store.StatusStopped}, Sort: "-updated", Limit: 10})
				if err != nil {
					return err
				}
				for _, it := range items {
					if it.Errors > 0 || it.Status == store.StatusFailed {
						d.Errors = append(d.Errors, running{c, p, it})
					}
				}
			}
		}
	}
	slices.SortFunc(d.Errors, func(a, b running) int { return b.Item.Updated.Compare(a.Item.Updated) })
	if len(d.Errors) > 10 {
		d.Errors = d.Errors[:10]
	}
	return s.render(w, r, http.StatusOK, "dashboard.html", newView(r, "Dashboard", "dashboard", d))
}
