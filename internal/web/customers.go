package web

import (
	"net/http"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/store"
)

func init() {
	addRoutes(
		route{Pattern: "GET /customers", Action: auth.ActionListCustomers, Handle: (*server).customers},
		route{Pattern: "POST /customers", Action: auth.ActionCreateCustomer, Handle: (*server).createCustomer},
		route{Pattern: "GET /customers/{id}", Action: auth.ActionReadCustomer, Handle: (*server).customer},
	)
}

type customersData struct {
	Customers []store.Customer
	Form      customers.CustomerInput
	Error     string
	Field     string
}

func (s *server) customers(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.visibleCustomers(r)
	if err != nil {
		return err
	}
	v := newView(r, "Customers", "customers", &customersData{Customers: cs})
	return s.render(w, r, http.StatusOK, "customers.html", v)
}

func (s *server) createCustomer(w http.ResponseWriter, r *http.Request) error {
	in := customers.CustomerInput{Name: r.PostFormValue("name"), Domain: r.PostFormValue("primary_domain"),
		Location: r.PostFormValue("location"), Industry: r.PostFormValue("industry"), Size: r.PostFormValue("size")}
	c, err := s.Customers.CreateCustomer(r.Context(), in)
	if field, msg, ok := fieldError(err); ok {
		cs, err := s.visibleCustomers(r)
		if err != nil {
			return err
		}
		v := newView(r, "Customers", "customers", &customersData{Customers: cs, Form: in, Error: msg, Field: field})
		return s.render(w, r, http.StatusBadRequest, "customers.html", v)
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/customers/"+itoa(c.ID))
}

type customerData struct {
	Customer    store.Customer
	Engagements []store.Engagement
	Endpoints   []store.Endpoint
	Projects    []store.Project
	People      []store.User
	Assigned    []store.Assignment
}

// loadCustomer loads the {id} customer and checks the route's action on it.
func (s *server) loadCustomer(r *http.Request) (store.Customer, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.Customer{}, err
	}
	c, err := s.Store.Customer(r.Context(), id)
	if err != nil {
		return c, err
	}
	return c, s.allow(r, c.ID)
}

func (s *server) customer(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	d := &customerData{Customer: c}
	if d.Engagements, err = s.Store.EngagementsOf(ctx, c.ID); err != nil {
		return err
	}
	if d.Endpoints, err = s.Store.Endpoints(ctx, c.ID); err != nil {
		return err
	}
	if d.Projects, err = s.Store.ProjectsOf(ctx, c.ID); err != nil {
		return err
	}
	users, err := s.Store.Users(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if p := auth.PrincipalOf(u, ""); p.Sees(c.ID) && !p.SeesAll() {
			d.People = append(d.People, u)
		}
	}
	for _, e := range d.Engagements {
		as, err := s.Store.Assignments(ctx, e.ID)
		if err != nil {
			return err
		}
		d.Assigned = append(d.Assigned, as...)
	}
	v := newView(r, c.Name, "customers", d)
	v.Crumbs = []crumb{{"Customers", "/customers"}, {c.Name, ""}}
	return s.render(w, r, http.StatusOK, "customer.html", v)
}
