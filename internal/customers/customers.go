// Package customers is the service for customers and their endpoints (the
// mail systems, with their administrator credentials). The command line,
// the REST API and the portal call the same methods, and each method
// authorizes the context's principal (internal/auth), validates, writes
// and records the change in the audit log (internal/audit): no door can
// skip a rule or forget the record.
package customers

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"github.com/ferryhq/ferry/internal/audit"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/presets"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// PassStopper stops a project's queued and running passes (projects.Service).
type PassStopper interface {
	Stop(ctx context.Context, projectID int64, sel projects.Selection) (int, error)
}

// Service manages customers and endpoints.
type Service struct {
	store  store.Store
	sealer projects.Sealer
	passes PassStopper
}

// New returns the service on st, which it wraps so that every change is
// audited; credentials are sealed with sealer, and passes stops a deleted
// customer's work.
func New(st store.Store, sealer projects.Sealer, passes PassStopper) *Service {
	return &Service{store: audit.Wrap(st), sealer: sealer, passes: passes}
}

func allow(ctx context.Context, action auth.Action, customerID int64) error {
	return auth.Authorize(auth.PrincipalFrom(ctx), action, customerID)
}

// ---- Customers

// Visible lists the customers the principal in ctx may read: every
// customer for roles that see them all, the principal's own otherwise.
// The doors list customers through it, so that who sees which customer
// is decided here and in auth alone.
func (s *Service) Visible(ctx context.Context) ([]store.Customer, error) {
	all, err := s.store.Customers(ctx)
	if err != nil {
		return nil, err
	}
	p := auth.PrincipalFrom(ctx)
	return slices.DeleteFunc(all, func(c store.Customer) bool {
		return auth.Authorize(p, auth.ActionReadCustomer, c.ID) != nil
	}), nil
}

// CustomerInput creates a customer.
type CustomerInput struct {
	Name     string
	Domain   string
	Location string
	Industry string
	Size     string
}

func validDomain(d string) bool {
	if len(d) < 3 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return false
	}
	for _, r := range d {
		if !(r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// CreateCustomer adds a customer.
func (s *Service) CreateCustomer(ctx context.Context, in CustomerInput) (store.Customer, error) {
	if err := allow(ctx, auth.ActionCreateCustomer, 0); err != nil {
		return store.Customer{}, err
	}
	in.Name, in.Domain = strings.TrimSpace(in.Name), strings.ToLower(strings.TrimSpace(in.Domain))
	if in.Name == "" {
		return store.Customer{}, fault.InvalidField("name", "a customer needs a name")
	}
	if !validDomain(in.Domain) {
		return store.Customer{}, fault.InvalidField("primary_domain", "%q is not a domain name; write it like contoso.com", in.Domain)
	}
	c := store.Customer{Name: in.Name, Domain: in.Domain, Location: in.Location, Industry: in.Industry, Size: in.Size}
	if err := s.store.CreateCustomer(ctx, &c); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return c, conflict("name", "a customer named %q exists already", in.Name)
		}
		return c, err
	}
	return c, nil
}

func conflict(field, format string, args ...any) error {
	return &fault.Error{Kind: fault.Conflict, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// RuleCustomerHasProjects refuses deleting a customer with projects unless confirmed.
const RuleCustomerHasProjects = "customer-has-projects"

// Deleted says what deleting a customer took with it.
type Deleted struct {
	Customer store.Customer
	Projects int // projects deleted with the customer
	Items    int // their items
	Stopped  int // queued or running passes stopped first
}

// DeleteCustomer stops the customer's queued and running passes, then
// deletes it with its endpoints (and their credentials), projects and
// items. A customer with projects is deleted only when confirmed: without
// it, the refusal (rule RuleCustomerHasProjects) says what would go.
func (s *Service) DeleteCustomer(ctx context.Context, id int64, confirmed bool) (Deleted, error) {
	c, err := s.store.Customer(ctx, id)
	if err != nil {
		return Deleted{}, err
	}
	if err := allow(ctx, auth.ActionDeleteCustomer, c.ID); err != nil {
		return Deleted{}, err
	}
	ps, err := s.store.ProjectsOf(ctx, c.ID)
	if err != nil {
		return Deleted{}, err
	}
	d := Deleted{Customer: c, Projects: len(ps)}
	for _, p := range ps {
		d.Items += p.ItemCount
	}
	if len(ps) > 0 && !confirmed {
		return d, fault.RefusedBy(RuleCustomerHasProjects, "customer %d (%s) has %d project(s) with %d item(s); deleting it deletes them too",
			c.ID, c.Name, d.Projects, d.Items)
	}
	for _, p := range ps {
		if p.ItemCount == 0 {
			continue
		}
		n, err := s.passes.Stop(ctx, p.ID, projects.Selection{All: true})
		if err != nil {
			return d, err
		}
		d.Stopped += n
	}
	return d, s.store.DeleteCustomer(ctx, c.ID)
}

// ---- Endpoints

// EndpointInput creates an endpoint. With Password (or Token) and AdminUser
// the endpoint has administrator credentials used for every mailbox ("provide
// credentials"); without, each item carries its own ("do not provide credentials").
type EndpointInput struct {
	CustomerID     int64
	Name           string
	Type           string
	Host           string
	Port           int
	Security       string // tls or starttls
	AllowPlaintext bool
	AdminUser      string
	Password       string
	Token          string
	// OAuth2, when set, are an app's credentials (Microsoft 365 app-only,
	// Google service account): Ferry gets a token for each mailbox, with
	// no administrator user.
	OAuth2         oauth.Config
	MaxMessageSize int64
	DailyDownload  int64
	DailyUpload    int64
	// Limits override the type's preset limits that pre-flight checks
	// this endpoint against as a destination.
	Limits store.Limits
	// Where calendars, contacts and tasks are (docs/workloads.md): a
	// CalDAV/CardDAV base URL, Microsoft Graph, Exchange Web Services.
	Locations Locations
}

// Locations are an endpoint's places for the workloads beside mail.
type Locations struct {
	DAVURL   string `json:"dav_url,omitempty"`
	GraphURL string `json:"graph_url,omitempty"`
	EWSURL   string `json:"ews_url,omitempty"`
}

// check validates the locations, naming the field at fault.
func (l *Locations) check() error {
	for _, f := range []struct {
		field string
		v     *string
		eg    string
	}{{"dav_url", &l.DAVURL, "https://dav.contoso.com/"}, {"graph_url", &l.GraphURL, "https://graph.microsoft.com/v1.0"}, {"ews_url", &l.EWSURL, "https://mail.contoso.com/EWS/Exchange.asmx"}} {
		*f.v = strings.TrimSpace(*f.v)
		if *f.v == "" {
			continue
		}
		u, err := url.Parse(*f.v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return fault.InvalidField(f.field, "%q is not an http(s) URL without a login in it; write it like %s", *f.v, f.eg)
		}
	}
	if l.DAVURL != "" && l.EWSURL != "" {
		return fault.InvalidField("ews_url", "give a DAV URL or an EWS URL, not both: calendars, contacts and tasks are read from one place")
	}
	if l.DAVURL != "" && l.GraphURL != "" {
		return fault.InvalidField("graph_url", "give a DAV URL or a Graph URL, not both: calendars, contacts and tasks are written to one place")
	}
	return nil
}

// SetEndpointLocations sets where an endpoint's calendars, contacts and
// tasks are (all empty: the endpoint moves mail only).
func (s *Service) SetEndpointLocations(ctx context.Context, id int64, l Locations) (store.Endpoint, error) {
	e, err := s.loadEndpoint(ctx, id, auth.ActionSetCredentials)
	if err != nil {
		return e, err
	}
	if err := l.check(); err != nil {
		return e, err
	}
	e.DAVURL, e.GraphURL, e.EWSURL = l.DAVURL, l.GraphURL, l.EWSURL
	return e, s.store.UpdateEndpoint(ctx, e)
}

// CreateEndpoint adds an endpoint to a customer, sealing its credentials.
func (s *Service) CreateEndpoint(ctx context.Context, in EndpointInput) (store.Endpoint, error) {
	var e store.Endpoint
	if _, err := s.store.Customer(ctx, in.CustomerID); errors.Is(err, store.ErrNotFound) {
		return e, fault.InvalidField("customer_id", "customer %d does not exist", in.CustomerID)
	} else if err != nil {
		return e, err
	}
	if err := allow(ctx, auth.ActionCreateEndpoint, in.CustomerID); err != nil {
		return e, err
	}
	// Stored endpoints carry the system's own name (not an alias): the
	// passes and the portal look it up by that name.
	t, ok := presets.Lookup(in.Type)
	if !ok || t.Name != in.Type {
		return e, fault.InvalidField("type", "unknown endpoint type %q; use one of %s", in.Type, presets.Names())
	}
	in.Name, in.Host = strings.TrimSpace(in.Name), strings.TrimSpace(in.Host)
	if in.Host == "" {
		in.Host = t.Host // the provider's own (Gmail, Office 365); others have none
	}
	if in.Name == "" {
		return e, fault.InvalidField("name", "an endpoint needs a name")
	}
	if in.Host == "" || strings.ContainsAny(in.Host, " /:@") {
		return e, fault.InvalidField("host", "%q is not a host name; write it like mail.contoso.com", in.Host)
	}
	if in.Port == 0 {
		in.Port = t.Port
		if in.Security == "starttls" {
			in.Port = 143
		}
	}
	if in.Port < 1 || in.Port > 65535 {
		return e, fault.InvalidField("port", "%d is not a port; use 1 to 65535", in.Port)
	}
	if in.Security == "" {
		in.Security = t.Security
	}
	if in.Security != "tls" && in.Security != "starttls" {
		return e, fault.InvalidField("security", "use tls (implicit, usually port 993) or starttls (usually port 143)")
	}
	if err := checkAdmin(in.Type, in.AdminUser, in.Password, in.Token); err != nil {
		return e, err
	}
	if field, ok := in.Limits.Check(); !ok {
		return e, fault.InvalidField(field, "a limit is a positive number, or 0 for the type's default")
	}
	if err := checkOAuth2(in.OAuth2, in.AdminUser, in.Password, in.Token); err != nil {
		return e, err
	}
	if err := in.Locations.check(); err != nil {
		return e, err
	}
	e = store.Endpoint{DAVURL: in.Locations.DAVURL, GraphURL: in.Locations.GraphURL, EWSURL: in.Locations.EWSURL, CustomerID: in.CustomerID, Name: in.Name, Type: in.Type, Host: in.Host, Port: in.Port, Security: in.Security,
		AllowPlaintext: in.AllowPlaintext, AdminUser: in.AdminUser, MaxMessageSize: orDefault(in.MaxMessageSize, t.MaxMessageSize),
		DailyDownload: orDefault(in.DailyDownload, t.DailyDownload), DailyUpload: orDefault(in.DailyUpload, t.DailyUpload), Limits: in.Limits}
	if err := s.store.CreateEndpoint(ctx, &e); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return e, conflict("name", "the customer has an endpoint named %q already", in.Name)
		}
		return e, err
	}
	if in.Password != "" || in.Token != "" || in.OAuth2.Set() {
		// The sealed values are bound to the endpoint's id: seal once it has one.
		if err := s.seal(&e, in.Password, in.Token, in.OAuth2); err != nil {
			return e, err
		}
		if err := s.store.UpdateEndpoint(ctx, e); err != nil {
			return e, err
		}
	}
	return e, nil
}

// checkAdmin validates endpoint-level administrator credentials.
func checkAdmin(typ, adminUser, password, token string) error {
	if (password != "" || token != "") && adminUser == "" {
		return fault.InvalidField("admin_user", "credentials on an endpoint belong to an administrator who acts for every mailbox: give admin_user too")
	}
	if adminUser != "" && password == "" && token == "" {
		return fault.InvalidField("password", "the administrator %q needs a password or an OAuth2 token", adminUser)
	}
	if t, _ := presets.Lookup(typ); t.UserIsEmail && adminUser != "" {
		if _, err := mail.ParseAddress(adminUser); err != nil {
			return fault.InvalidField("admin_user", "%s user names must be email addresses", t.Label)
		}
	}
	return nil
}

// checkOAuth2 validates an app's OAuth2 credentials, naming the field at
// fault; they replace an administrator login.
func checkOAuth2(cfg oauth.Config, adminUser, password, token string) error {
	if _, err := imapconn.ParseOAuth2Mechanism(cfg.Mechanism); err != nil {
		return fault.InvalidField("oauth2_mechanism", "%v", err)
	}
	if !cfg.Set() {
		return nil
	}
	if adminUser != "" || password != "" || token != "" {
		return fault.InvalidField("admin_user", "give an administrator login or the app's OAuth2 credentials, not both: the app signs in to each mailbox itself")
	}
	return cfg.Validate()
}

func orDefault(v, def int64) int64 {
	if v != 0 {
		return v
	}
	return def
}

func (s *Service) seal(e *store.Endpoint, password, token string, app oauth.Config) error {
	var err error
	e.SealedPassword, e.SealedToken, e.SealedOAuth2 = "", "", ""
	e.OAuth2Tenant, e.OAuth2ClientID, e.OAuth2TokenURL, e.OAuth2Scope = app.Tenant, app.ClientID, app.TokenURL, app.Scope
	mech, _ := imapconn.ParseOAuth2Mechanism(app.Mechanism) // validated with the credentials
	e.OAuth2Mechanism = string(mech)
	if app.Set() {
		if e.SealedOAuth2, err = s.sealer.Seal(app.Secrets(), projects.EndpointAAD(e.ID, "oauth2")); err != nil {
			return err
		}
	}
	if password != "" {
		if e.SealedPassword, err = s.sealer.Seal(password, projects.EndpointAAD(e.ID, "password")); err != nil {
			return err
		}
	}
	if token != "" {
		if e.SealedToken, err = s.sealer.Seal(token, projects.EndpointAAD(e.ID, "token")); err != nil {
			return err
		}
	}
	e.HasCredentials = e.SealedPassword != "" || e.SealedToken != "" || e.SealedOAuth2 != ""
	return nil
}

// loadEndpoint reads an endpoint and checks the principal may do action on it.
func (s *Service) loadEndpoint(ctx context.Context, id int64, action auth.Action) (store.Endpoint, error) {
	e, err := s.store.Endpoint(ctx, id)
	if err != nil {
		return e, err
	}
	return e, allow(ctx, action, e.CustomerID)
}

// SetEndpointCredentials replaces (or, with all values empty, removes) an
// endpoint's administrator credentials: an administrator login, or an
// app's OAuth2 credentials.
func (s *Service) SetEndpointCredentials(ctx context.Context, id int64, adminUser, password, token string, app oauth.Config) (store.Endpoint, error) {
	e, err := s.loadEndpoint(ctx, id, auth.ActionSetCredentials)
	if err != nil {
		return e, err
	}
	adminUser = strings.TrimSpace(adminUser)
	if err := checkAdmin(e.Type, adminUser, password, token); err != nil {
		return e, err
	}
	if err := checkOAuth2(app, adminUser, password, token); err != nil {
		return e, err
	}
	e.AdminUser = adminUser
	if err := s.seal(&e, password, token, app); err != nil {
		return e, err
	}
	return e, s.store.UpdateEndpoint(ctx, e)
}

// DeleteEndpoint removes an endpoint and its credentials; one a project
// (even a closed one) refers to is refused.
func (s *Service) DeleteEndpoint(ctx context.Context, id int64) (store.Endpoint, error) {
	e, err := s.loadEndpoint(ctx, id, auth.ActionDeleteEndpoint)
	if err != nil {
		return e, err
	}
	err = s.store.DeleteEndpoint(ctx, id)
	if err != nil && strings.Contains(err.Error(), "used by") {
		return e, conflict("endpoint", "%v; an endpoint stays as long as a project (even a closed one) refers to it", err)
	}
	return e, err
}
