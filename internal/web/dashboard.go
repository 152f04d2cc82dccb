package web

import (
	"net/http"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

func init() {
	addRoutes(
		route{Pattern: "GET /{$}", Action: auth.ActionReadDashboard, Handle: (*server).dashboard},
	)
}

// visibleCustomers lists the customers the request's principal may see.
func (s *server) visibleCustomers(r *http.Request) ([]store.Customer, error) {
	return s.Customers.Visible(r.Context())
}

type dashboardData struct {
	Customers []store.Customer
	Attention []engagements.Attention
	Running   []projects.ItemAt
	Errors    []projects.ItemAt
	Totals    map[string]int
}

// dashboard renders the figures of the customers the person sees; the
// services compute them.
func (s *server) dashboard(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.visibleCustomers(r)
	if err != nil {
		return err
	}
	d := &dashboardData{Customers: cs}
	if d.Attention, err = s.Engagements.NeedingAttention(r.Context(), cs); err != nil {
		return err
	}
	activity, err := s.Projects.Activity(r.Context(), cs)
	if err != nil {
		return err
	}
	d.Totals, d.Running, d.Errors = activity.Totals, activity.Running, activity.Errors
	return s.render(w, r, http.StatusOK, "dashboard.html", newView(r, "Dashboard", "dashboard", d))
}
