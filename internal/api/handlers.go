package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/presets"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// pathID reads the {id} of the path.
func pathID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, invalid("id", "%q is not an id; ids are positive whole numbers", s)
	}
	return id, nil
}

func created(w http.ResponseWriter, location string, v any) error {
	w.Header().Set("Location", location)
	return writeJSON(w, http.StatusCreated, v)
}

// nonNil makes empty lists [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// ---- Customers

// loadCustomer loads the {id} customer and checks the principal may act on it.
func (s *server) loadCustomer(r *http.Request) (store.Customer, error) {
	id, err := pathID(r)
	if err != nil {
		return store.Customer{}, err
	}
	c, err := s.st.Customer(r.Context(), id)
	if err != nil {
		return c, err
	}
	return c, s.allow(r, c.ID)
}

func (s *server) listCustomers(w http.ResponseWriter, r *http.Request) error {
	if err := s.allow(r, 0); err != nil {
		return err
	}
	cs, err := s.customers.Visible(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"customers": convert(cs, customerOf)})
}

func (s *server) createCustomer(w http.ResponseWriter, r *http.Request) error {
	if err := s.allow(r, 0); err != nil {
		return err
	}
	var in CustomerInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.customers.CreateCustomer(r.Context(), in.service())
	if err != nil {
		return err
	}
	return created(w, fmt.Sprintf("/api/v1/customers/%d", c.ID), customerOf(c))
}

func (s *server) getCustomer(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, customerOf(c))
}

// deleteCustomer deletes the customer with everything it has (customers.Service.DeleteCustomer):
// the DELETE is the confirmation.
func (s *server) deleteCustomer(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.customers.DeleteCustomer(r.Context(), id, true); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- Endpoints

func (s *server) loadEndpoint(r *http.Request) (store.Endpoint, error) {
	id, err := pathID(r)
	if err != nil {
		return store.Endpoint{}, err
	}
	e, err := s.st.Endpoint(r.Context(), id)
	if err != nil {
		return e, err
	}
	return e, s.allow(r, e.CustomerID)
}

func (s *server) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	es, err := s.st.Endpoints(r.Context(), c.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"endpoints": endpointsOf(es)})
}

// samePathCustomer checks a body's customer_id, optional, against the path's.
func samePathCustomer(body, path int64) error {
	if body != 0 && body != path {
		return invalid("customer_id", "customer_id %d differs from customer %d of the path; leave it out", body, path)
	}
	return nil
}

func (s *server) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	var in EndpointInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := samePathCustomer(in.CustomerID, c.ID); err != nil {
		return err
	}
	in.CustomerID = c.ID
	e, err := s.customers.CreateEndpoint(r.Context(), in.service())
	if err != nil {
		return err
	}
	return created(w, fmt.Sprintf("/api/v1/endpoints/%d", e.ID), endpointOf(e))
}

func (s *server) getEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEndpoint(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, endpointOf(e))
}

func (s *server) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.customers.DeleteEndpoint(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Credentials replaces an endpoint's administrator credentials; all empty removes them.
type Credentials struct {
	AdminUser string `json:"admin_user"`
	Password  string `json:"password,omitempty"`
	Token     string `json:"oauth2_token,omitempty"`
	// Or an app's OAuth2 credentials instead of an administrator (Microsoft
	// 365 app-only, Google service account); the secrets are write-only.
	OAuth2Tenant       string `json:"oauth2_tenant,omitempty"`
	OAuth2ClientID     string `json:"oauth2_client_id,omitempty"`
	OAuth2ClientSecret string `json:"oauth2_client_secret,omitempty"`
	OAuth2Certificate  []byte `json:"oauth2_certificate,omitempty"`
	// OAuth2CertificatePassword unlocks a PFX exported with a password.
	OAuth2CertificatePassword string `json:"oauth2_certificate_password,omitempty"`
	OAuth2TokenURL            string `json:"oauth2_token_url,omitempty"`
	OAuth2Scope               string `json:"oauth2_scope,omitempty"`
	// OAuth2Mechanism: XOAUTH2 or OAUTHBEARER; empty chooses from the server.
	OAuth2Mechanism      string `json:"oauth2_mechanism,omitempty"`
	GoogleServiceAccount string `json:"google_service_account,omitempty"`
}

func (s *server) setCredentials(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEndpoint(r)
	if err != nil {
		return err
	}
	var in Credentials
	if err := decode(w, r, &in); err != nil {
		return err
	}
	e, err = s.customers.SetEndpointCredentials(r.Context(), e.ID, in.AdminUser, in.Password, in.Token,
		oauthConfig(in.OAuth2Tenant, in.OAuth2ClientID, in.OAuth2ClientSecret, in.OAuth2Certificate, in.OAuth2CertificatePassword, in.OAuth2TokenURL, in.OAuth2Scope, in.GoogleServiceAccount, in.OAuth2Mechanism))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, endpointOf(e))
}

// setLocations sets where an endpoint's calendars, contacts and tasks are.
func (s *server) setLocations(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEndpoint(r)
	if err != nil {
		return err
	}
	var in customers.Locations
	if err := decode(w, r, &in); err != nil {
		return err
	}
	e, err = s.customers.SetEndpointLocations(r.Context(), e.ID, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, endpointOf(e))
}

func (s *server) endpointTypes(w http.ResponseWriter, r *http.Request) error {
	if err := s.allow(r, 0); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"endpoint_types": endpointTypesOf(presets.All)})
}

// ---- Projects

func (s *server) loadProject(r *http.Request) (store.Project, error) {
	id, err := pathID(r)
	if err != nil {
		return store.Project{}, err
	}
	p, err := s.st.Project(r.Context(), id)
	if err != nil {
		return p, err
	}
	return p, s.allow(r, p.CustomerID)
}

func (s *server) listProjects(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	ps, err := s.st.ProjectsOf(r.Context(), c.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"projects": projectsOut(ps)})
}

func (s *server) createProject(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	var in projects.ProjectInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := samePathCustomer(in.CustomerID, c.ID); err != nil {
		return err
	}
	in.CustomerID = c.ID
	p, err := s.svc.CreateProject(r.Context(), in)
	if err != nil {
		return err
	}
	return created(w, fmt.Sprintf("/api/v1/projects/%d", p.ID), projectOut(p))
}

func (s *server) getProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, projectOut(p))
}

// getThroughput answers the project's throughput, of the whole project and of each worker.
func (s *server) getThroughput(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	t, err := s.svc.Throughput(r.Context(), p.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, throughputOut(p.ID, t))
}

func (s *server) updateSettings(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	var in projects.Settings
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if _, err := s.svc.UpdateSettings(r.Context(), p.ID, in); err != nil {
		return err
	}
	if p, err = s.st.Project(r.Context(), p.ID); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, projectOut(p))
}

func (s *server) closeProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	if _, err := s.svc.CloseProject(r.Context(), p.ID); err != nil {
		return err
	}
	if p, err = s.st.Project(r.Context(), p.ID); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, projectOut(p))
}

// ---- Items

// ItemList is a page of a project's items.
type ItemList struct {
	Items  []Item `json:"items"`
	Total  int    `json:"total"` // items matching the filter, all pages
	Limit  int    `json:"limit"`
	Offset int    `json:"offset"`
}

const (
	defaultItemLimit = 100
	maxItemLimit     = 1000
)

func queryInt(q map[string][]string, name string, def, lo, hi int) (int, error) {
	v := q[name]
	if len(v) == 0 || v[0] == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < lo || n > hi {
		return 0, invalid(name, "%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

func queryBool(q map[string][]string, name string) (bool, error) {
	v := q[name]
	if len(v) == 0 || v[0] == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v[0])
	if err != nil {
		return false, invalid(name, "%s must be true or false", name)
	}
	return b, nil
}

func (s *server) listItems(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.ItemFilter{Search: strings.TrimSpace(q.Get("search"))}
	for _, v := range q["status"] {
		for st := range strings.SplitSeq(v, ",") {
			if st = strings.TrimSpace(st); st == "" {
				continue
			}
			if !slices.Contains(store.Statuses, st) {
				return invalid("status", "unknown status %q; use %s", st, strings.Join(store.Statuses, ", "))
			}
			f.Status = append(f.Status, st)
		}
	}
	if f.Limit, err = queryInt(q, "limit", defaultItemLimit, 1, maxItemLimit); err != nil {
		return err
	}
	if f.Offset, err = queryInt(q, "offset", 0, 0, 1<<31-1); err != nil {
		return err
	}
	items, total, err := s.st.Items(r.Context(), p.ID, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ItemList{Items: itemsOut(items), Total: total, Limit: f.Limit, Offset: f.Offset})
}

func (s *server) createItem(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	var in projects.ItemInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	it, err := s.svc.AddItem(r.Context(), p.ID, in)
	if err != nil {
		return err
	}
	return created(w, fmt.Sprintf("/api/v1/items/%d", it.ID), itemOut(it))
}

func (s *server) importItems(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var opt projects.ImportOptions
	if opt.Apply, err = queryBool(q, "apply"); err != nil {
		return err
	}
	if opt.SkipInvalid, err = queryBool(q, "skip_invalid"); err != nil {
		return err
	}
	name := q.Get("filename")
	if name == "" {
		name = "upload.csv"
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" || ct == "application/x-www-form-urlencoded" {
		return invalid("file", "send the CSV itself as the body (Content-Type: text/csv), not a form")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxImportBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("file", "the body is empty: send the CSV file (Content-Type: text/csv)")
	}
	res, err := s.svc.ImportItems(r.Context(), p.ID, name, bytes.NewReader(body), opt)
	if errors.Is(err, projects.ErrImportHasErrors) {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: "file",
			Message: fmt.Sprintf("%d row(s) have errors, so nothing was added; fix them, or add the %d valid row(s) with skip_invalid=true",
				res.ErrorCount, len(res.Valid)),
			Rows: res.Errors}
	}
	if err != nil {
		return err
	}
	res.Valid, res.Errors = nonNil(res.Valid), nonNil(res.Errors)
	return writeJSON(w, http.StatusOK, res)
}

func (s *server) getItem(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	it, err := s.st.Item(r.Context(), id)
	if err != nil {
		return err
	}
	p, err := s.st.Project(r.Context(), it.ProjectID)
	if err != nil {
		return err
	}
	if err := s.allow(r, p.CustomerID); err != nil {
		return err
	}
	d, err := s.svc.Item(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, itemDetailOut(d))
}

// ---- Passes

func (s *server) startPass(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	var in projects.PassRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	res, err := s.svc.StartPass(r.Context(), p.ID, in)
	if err != nil {
		return err
	}
	res.QueuedItemIDs = nonNil(res.QueuedItemIDs)
	return writeJSON(w, http.StatusAccepted, res)
}

// StopResult says how many items' passes were stopped.
type StopResult struct {
	Stopped int `json:"stopped"`
}

func (s *server) stop(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	var in projects.Selection
	if err := decode(w, r, &in); err != nil {
		return err
	}
	n, err := s.svc.Stop(r.Context(), p.ID, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, StopResult{Stopped: n})
}
