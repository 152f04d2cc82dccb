package web

import (
	"net/http"
	"strconv"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
)

func init() {
	addRoutes(
		route{Pattern: "GET /customers/{id}/audit", Action: auth.ActionReadAudit, Handle: (*server).customerAudit},
		route{Pattern: "GET /engagements/{id}/audit", Action: auth.ActionReadAudit, Handle: (*server).engagementAudit},
		route{Pattern: "GET /projects/{id}/audit", Action: auth.ActionReadAudit, Handle: (*server).projectAudit},
	)
}

type auditData struct {
	Of      string // "Contoso", "engagement Onboarding"...
	Back    string
	Entries []store.AuditEntry
	Limit   int
	More    bool
}

// auditLimit reads ?limit= (default 200, at most 5000).
func auditLimit(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || n < 1 {
		return 200
	}
	return min(n, 5000)
}

func (s *server) renderAudit(w http.ResponseWriter, r *http.Request, f store.AuditFilter, d *auditData, crumbs []crumb) error {
	d.Limit = auditLimit(r)
	f.Limit = d.Limit + 1
	var err error
	if d.Entries, err = s.Store.Audit(r.Context(), f); err != nil {
		return err
	}
	if len(d.Entries) > d.Limit {
		d.Entries, d.More = d.Entries[:d.Limit], true
	}
	v := newView(r, "Audit log: "+d.Of, "customers", d)
	v.Crumbs = append(crumbs, crumb{"Audit log", ""})
	return s.render(w, r, http.StatusOK, "audit.html", v)
}

func (s *server) customerAudit(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	href := "/customers/" + itoa(c.ID)
	return s.renderAudit(w, r, store.AuditFilter{CustomerID: c.ID}, &auditData{Of: c.Name, Back: href},
		[]crumb{{"Customers", "/customers"}, {c.Name, href}})
}

func (s *server) engagementAudit(w http.ResponseWriter, r *http.Request) error {
	e, c, err := s.loadEngagementCustomer(r)
	if err != nil {
		return err
	}
	href := "/engagements/" + itoa(e.ID)
	return s.renderAudit(w, r, store.AuditFilter{CustomerID: e.CustomerID, EngagementID: e.ID}, &auditData{Of: "engagement " + e.Name, Back: href},
		[]crumb{{"Customers", "/customers"}, {c.Name, "/customers/" + itoa(c.ID)}, {e.Name, href}})
}

func (s *server) projectAudit(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	c, err := s.Store.Customer(r.Context(), p.CustomerID)
	if err != nil {
		return err
	}
	href := "/projects/" + itoa(p.ID)
	return s.renderAudit(w, r, store.AuditFilter{CustomerID: p.CustomerID, ProjectID: p.ID}, &auditData{Of: "project " + p.Name, Back: href},
		[]crumb{{"Customers", "/customers"}, {c.Name, "/customers/" + itoa(c.ID)}, {p.Name, href}})
}
