// Package projects is the migration service: customers, endpoints,
// projects of mailbox pairs (items), and passes run as jobs. The CLI and the
// REST API both go through it, so they validate and behave the same.
package projects

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/store"
)

// Sealer seals credentials at rest (secrets.Keyring).
type Sealer interface {
	Seal(plaintext, associatedData string) (string, error)
	Open(sealed, associatedData string) (string, error)
}

// Service is the migration service.
type Service struct {
	Store  store.Store
	Sealer Sealer
	Queue  jobs.Queue
	// Owner names this process in leases; "" = host:pid. Each attempt of a
	// pass holds its lease under its own name within it (run-TOKEN@Owner).
	Owner string
	// LeaseTTL: a lease not renewed for this long frees its slot (a dead worker). 0 = 30 s.
	LeaseTTL time.Duration
	// EngineOptions are the defaults for every run (timeouts, connections); project settings override.
	EngineOptions engine.Options
	// Now is the clock (tests).
	Now func() time.Time
	// Observe, when set, gives the engine.Observer of a project's runs (metrics).
	Observe func(projectID int64) engine.Observer
	// MigrationGate, when set, may refuse a pass for a customer (the
	// engagement's prerequisites): a fault.Refused error naming the gate's
	// task (engagements.Service.CheckMigration), or nil to let it run.
	MigrationGate func(ctx context.Context, customerID, projectID int64, pass string) error
	// PassEnded, when set, hears of every item's pass that finished
	// (completed, failed or stopped), for the engagement's tasks and gates
	// (engagements.Service.PassEnded); its error is logged, the pass stands.
	PassEnded func(ctx context.Context, p store.Project, it store.Item, pass string) error
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// processName is host:pid, this process in leases.
var processName = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", h, os.Getpid())
})

// attemptOwner names one attempt of a pass in its lease: unique, so that a
// second attempt of the same item (a rescued copy of its job) in this very
// process is refused like one in another process.
func (s *Service) attemptOwner() string {
	return "run-" + rand.Text()[:12] + "@" + s.process()
}

// process names this process: in leases, and in the runs it records (the
// throughput of each worker).
func (s *Service) process() string {
	if s.Owner != "" {
		return s.Owner
	}
	return processName()
}

// InvalidError is bad input to the customer and endpoint methods: which
// field, and what to do. The API answers 400 with it, the CLI exits 2.
// Projects, items and passes answer with internal/fault's kinds; customers
// and endpoints follow when they move to their own service.
type InvalidError struct {
	Field string `json:"field"`
	Msg   string `json:"message"`
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// IsInvalid reports whether err is the caller's to fix: bad input, a
// duplicate, or a refusal by a rule (a closed project, a gate).
func IsInvalid(err error) bool {
	var ie *InvalidError
	switch fault.KindOf(err) {
	case fault.Invalid, fault.Conflict, fault.Refused:
		return true
	}
	return errors.As(err, &ie) || errors.Is(err, store.ErrDuplicate)
}

// authorize lets the person in ctx do action on a customer's resources,
// or says why not (fault.Forbidden). Every door (the API, the portal, the
// command line, which acts as an administrator) reaches the service with
// its principal; the engine's own work (RunPass) needs none.
func authorize(ctx context.Context, action auth.Action, customerID int64) error {
	return auth.Authorize(auth.PrincipalFrom(ctx), action, customerID)
}

// conflict is input that collides with what exists (a name or mailbox in use).
func conflict(field, format string, args ...any) error {
	return &fault.Error{Kind: fault.Conflict, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// missingInput turns a record the input names that does not exist into bad input in that field.
func missingInput(err error, field, format string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return fault.InvalidField(field, format, args...)
	}
	return err
}

// RuleProjectClosed is the rule that refuses changes to a closed project.
const RuleProjectClosed = "project-closed"

// closedProject refuses a change to a closed project.
func closedProject(p store.Project) error {
	e := fault.RefusedBy(RuleProjectClosed, "project %q is closed; its items and passes cannot change", p.Name)
	e.Field = "project"
	return e
}

// ---- Customers

// CustomerInput creates a customer.
type CustomerInput struct {
	Name     string `json:"name"`
	Domain   string `json:"primary_domain"`
	Location string `json:"location,omitempty"`
	Industry string `json:"industry,omitempty"`
	Size     string `json:"size,omitempty"`
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

// AddCustomer creates a customer.
func (s *Service) AddCustomer(ctx context.Context, in CustomerInput) (store.Customer, error) {
	in.Name, in.Domain = strings.TrimSpace(in.Name), strings.ToLower(strings.TrimSpace(in.Domain))
	if in.Name == "" {
		return store.Customer{}, invalid("name", "a customer needs a name")
	}
	if !validDomain(in.Domain) {
		return store.Customer{}, invalid("primary_domain", "%q is not a domain name; write it like contoso.com", in.Domain)
	}
	c := store.Customer{Name: in.Name, Domain: in.Domain, Location: in.Location, Industry: in.Industry, Size: in.Size}
	if err := s.Store.CreateCustomer(ctx, &c); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return c, invalid("name", "a customer named %q exists already", in.Name)
		}
		return c, err
	}
	return c, nil
}

// ---- Endpoints

// EndpointType describes a kind of mail system and its known limits.
type EndpointType struct {
	Name           string        `json:"name"`
	Label          string        `json:"label"`
	Port           int           `json:"default_port"`
	Security       string        `json:"default_security"`
	MaxMessageSize int64         `json:"max_message_size"`
	DailyDownload  int64         `json:"daily_download,omitempty"`
	DailyUpload    int64         `json:"daily_upload,omitempty"`
	Throttling     string        `json:"throttling,omitempty"`
	Backoff        time.Duration `json:"-"`
	// UserIsEmail: log-in names must be email addresses.
	UserIsEmail bool `json:"user_is_email"`
}

// EndpointTypes are the systems Ferry knows, with their limits as defaults.
var EndpointTypes = []EndpointType{
	{Name: "imap", Label: "Generic IMAP", Port: 993, Security: "tls"},
	{Name: "exchange", Label: "Exchange Server 2003+", Port: 993, Security: "tls"},
	{Name: "office365", Label: "Office 365", Port: 993, Security: "tls", MaxMessageSize: 35 << 20, UserIsEmail: true,
		Throttling: "answers 'Request is throttled' with a suggested back-off of about 300 s and drops the connection after repeated errors; Ferry honours the hint"},
	{Name: "gmail", Label: "Gmail / Google Workspace", Port: 993, Security: "tls", MaxMessageSize: 25 << 20, UserIsEmail: true,
		DailyDownload: 2500 << 20, DailyUpload: 500 << 20, Throttling: "about 2,500 MB download and 500 MB upload per user per day"},
	{Name: "dovecot", Label: "Dovecot", Port: 993, Security: "tls"},
	{Name: "cyrus", Label: "Cyrus", Port: 993, Security: "tls"},
	{Name: "zimbra", Label: "Zimbra", Port: 993, Security: "tls"},
}

func endpointType(name string) (EndpointType, bool) {
	for _, t := range EndpointTypes {
		if t.Name == name {
			return t, true
		}
	}
	return EndpointType{}, false
}

// EndpointInput creates an endpoint. With Password (or Token) and AdminUser
// the endpoint has administrator credentials used for every mailbox ("provide
// credentials"); without, each item carries its own ("do not provide credentials").
type EndpointInput struct {
	CustomerID     int64  `json:"customer_id"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	Host           string `json:"host"`
	Port           int    `json:"port,omitempty"`
	Security       string `json:"security,omitempty"` // tls or starttls
	AllowPlaintext bool   `json:"allow_plaintext,omitempty"`
	AdminUser      string `json:"admin_user,omitempty"`
	Password       string `json:"password,omitempty"`
	Token          string `json:"oauth2_token,omitempty"`
	MaxMessageSize int64  `json:"max_message_size,omitempty"`
	DailyDownload  int64  `json:"daily_download,omitempty"`
	DailyUpload    int64  `json:"daily_upload,omitempty"`
}

func typeNames() string {
	var n []string
	for _, t := range EndpointTypes {
		n = append(n, t.Name)
	}
	return strings.Join(n, ", ")
}

// AddEndpoint creates an endpoint, sealing its credentials.
func (s *Service) AddEndpoint(ctx context.Context, in EndpointInput) (store.Endpoint, error) {
	var e store.Endpoint
	if _, err := s.Store.Customer(ctx, in.CustomerID); err != nil {
		return e, s.notFoundInvalid(err, "customer_id", "customer %d does not exist", in.CustomerID)
	}
	t, ok := endpointType(in.Type)
	if !ok {
		return e, invalid("type", "unknown endpoint type %q; use one of %s", in.Type, typeNames())
	}
	in.Name, in.Host = strings.TrimSpace(in.Name), strings.TrimSpace(in.Host)
	if in.Name == "" {
		return e, invalid("name", "an endpoint needs a name")
	}
	if in.Host == "" || strings.ContainsAny(in.Host, " /:@") {
		return e, invalid("host", "%q is not a host name; write it like mail.contoso.com", in.Host)
	}
	if in.Port == 0 {
		in.Port = t.Port
		if in.Security == "starttls" {
			in.Port = 143
		}
	}
	if in.Port < 1 || in.Port > 65535 {
		return e, invalid("port", "%d is not a port; use 1 to 65535", in.Port)
	}
	if in.Security == "" {
		in.Security = t.Security
	}
	if in.Security != "tls" && in.Security != "starttls" {
		return e, invalid("security", "use tls (implicit, usually port 993) or starttls (usually port 143)")
	}
	if err := checkAdmin(in.Type, in.AdminUser, in.Password, in.Token); err != nil {
		return e, err
	}
	e = store.Endpoint{CustomerID: in.CustomerID, Name: in.Name, Type: in.Type, Host: in.Host, Port: in.Port, Security: in.Security,
		AllowPlaintext: in.AllowPlaintext, AdminUser: in.AdminUser, MaxMessageSize: cmp(in.MaxMessageSize, t.MaxMessageSize),
		DailyDownload: cmp(in.DailyDownload, t.DailyDownload), DailyUpload: cmp(in.DailyUpload, t.DailyUpload)}
	if err := s.Store.CreateEndpoint(ctx, &e); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return e, invalid("name", "the customer has an endpoint named %q already", in.Name)
		}
		return e, err
	}
	if in.Password != "" || in.Token != "" {
		if err := s.sealEndpoint(&e, in.Password, in.Token); err != nil {
			return e, err
		}
		if err := s.Store.UpdateEndpoint(ctx, e); err != nil {
			return e, err
		}
	}
	return e, nil
}

// checkAdmin validates endpoint-level administrator credentials.
func checkAdmin(typ, adminUser, password, token string) error {
	if (password != "" || token != "") && adminUser == "" {
		return invalid("admin_user", "credentials on an endpoint belong to an administrator who acts for every mailbox: give admin_user too")
	}
	if adminUser != "" && password == "" && token == "" {
		return invalid("password", "the administrator %q needs a password or an OAuth2 token", adminUser)
	}
	if t, _ := endpointType(typ); t.UserIsEmail && adminUser != "" {
		if _, err := mail.ParseAddress(adminUser); err != nil {
			return invalid("admin_user", "%s user names must be email addresses", t.Label)
		}
	}
	return nil
}

func cmp(v, def int64) int64 {
	if v != 0 {
		return v
	}
	return def
}

func endpointAAD(id int64, what string) string { return fmt.Sprintf("endpoint:%d:%s", id, what) }

func itemAAD(projectID int64, source, what string) string {
	return fmt.Sprintf("item:%d:%s:%s", projectID, strings.ToLower(source), what)
}

func (s *Service) sealEndpoint(e *store.Endpoint, password, token string) error {
	var err error
	e.SealedPassword, e.SealedToken = "", ""
	if password != "" {
		if e.SealedPassword, err = s.Sealer.Seal(password, endpointAAD(e.ID, "password")); err != nil {
			return err
		}
	}
	if token != "" {
		if e.SealedToken, err = s.Sealer.Seal(token, endpointAAD(e.ID, "token")); err != nil {
			return err
		}
	}
	e.HasCredentials = e.SealedPassword != "" || e.SealedToken != ""
	return nil
}

// SetEndpointCredentials replaces (or, with empty values, removes) an endpoint's administrator credentials.
func (s *Service) SetEndpointCredentials(ctx context.Context, id int64, adminUser, password, token string) (store.Endpoint, error) {
	e, err := s.Store.Endpoint(ctx, id)
	if err != nil {
		return e, err
	}
	if err := checkAdmin(e.Type, strings.TrimSpace(adminUser), password, token); err != nil {
		return e, err
	}
	e.AdminUser = strings.TrimSpace(adminUser)
	if err := s.sealEndpoint(&e, password, token); err != nil {
		return e, err
	}
	return e, s.Store.UpdateEndpoint(ctx, e)
}

// DeleteEndpoint removes an endpoint and its credentials; one in use by a project is refused.
func (s *Service) DeleteEndpoint(ctx context.Context, id int64) error {
	err := s.Store.DeleteEndpoint(ctx, id)
	if err != nil && strings.Contains(err.Error(), "used by") {
		return invalid("endpoint", "%v; an endpoint stays as long as a project (even a closed one) refers to it", err)
	}
	return err
}

func (s *Service) notFoundInvalid(err error, field, format string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return invalid(field, format, args...)
	}
	return err
}

// ---- Projects

// Settings are a project's advanced options.
type Settings struct {
	MaxConcurrent *int       `json:"max_concurrent_migrations,omitempty"`
	MaxErrors     *int       `json:"max_errors_per_migration,omitempty"`
	DoNotRetry    *bool      `json:"do_not_retry_errors,omitempty"`
	Include       *[]string  `json:"folder_include,omitempty"`
	Exclude       *[]string  `json:"folder_exclude,omitempty"`
	DateFrom      *time.Time `json:"date_from,omitempty"`
	DateTo        *time.Time `json:"date_to,omitempty"`
	ItemTypes     *[]string  `json:"item_types,omitempty"`
}

// ProjectInput creates a project.
type ProjectInput struct {
	CustomerID int64  `json:"customer_id"`
	Name       string `json:"name"`
	Kind       string `json:"kind,omitempty"` // mailbox (default)
	SourceID   int64  `json:"source_endpoint_id"`
	DestID     int64  `json:"destination_endpoint_id"`
	// EngagementID is the customer's engagement the project migrates for
	// (its Migrate gate reads the project); 0: none.
	EngagementID int64 `json:"engagement_id,omitempty"`
	Settings
}

// ProjectKinds lists project kinds; only mailbox projects run today.
var ProjectKinds = []string{"mailbox", "document", "archive", "public-folder"}

// CreateProject creates a mailbox project with default settings (10 concurrent migrations, 50 errors).
func (s *Service) CreateProject(ctx context.Context, in ProjectInput) (store.Project, error) {
	var p store.Project
	if err := authorize(ctx, auth.ActionCreateProject, in.CustomerID); err != nil {
		return p, err
	}
	if _, err := s.Store.Customer(ctx, in.CustomerID); err != nil {
		return p, missingInput(err, "customer_id", "customer %d does not exist", in.CustomerID)
	}
	if in.Kind == "" {
		in.Kind = "mailbox"
	}
	if !slices.Contains(ProjectKinds, in.Kind) {
		return p, fault.InvalidField("kind", "unknown project kind %q; use one of %s", in.Kind, strings.Join(ProjectKinds, ", "))
	}
	if in.Kind != "mailbox" {
		return p, fault.InvalidField("kind", "%s projects are not available yet; create a mailbox project", in.Kind)
	}
	if strings.TrimSpace(in.Name) == "" {
		return p, fault.InvalidField("name", "a project needs a name")
	}
	for _, ep := range []struct {
		field string
		id    int64
	}{{"source_endpoint_id", in.SourceID}, {"destination_endpoint_id", in.DestID}} {
		e, err := s.Store.Endpoint(ctx, ep.id)
		if err != nil {
			return p, missingInput(err, ep.field, "endpoint %d does not exist", ep.id)
		}
		if e.CustomerID != in.CustomerID {
			return p, fault.InvalidField(ep.field, "endpoint %d belongs to another customer", ep.id)
		}
	}
	if in.SourceID == in.DestID {
		return p, fault.InvalidField("destination_endpoint_id", "source and destination must be different endpoints")
	}
	if in.EngagementID != 0 {
		e, err := s.Store.Engagement(ctx, in.EngagementID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return p, err
		}
		if err != nil || e.CustomerID != in.CustomerID {
			return p, fault.InvalidField("engagement_id", "customer %d has no engagement %d; leave engagement_id out, or use one of the customer's engagements", in.CustomerID, in.EngagementID)
		}
	}
	p = store.Project{CustomerID: in.CustomerID, EngagementID: in.EngagementID, Name: strings.TrimSpace(in.Name), Kind: in.Kind, SourceID: in.SourceID, DestID: in.DestID,
		MaxConcurrent: 10, MaxErrors: 50, ItemTypes: []string{"mail"}}
	if err := applySettings(&p, in.Settings); err != nil {
		return p, err
	}
	if err := s.Store.CreateProject(ctx, &p); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return p, conflict("name", "the customer has a project named %q already", in.Name)
		}
		return p, err
	}
	return p, nil
}

func applySettings(p *store.Project, in Settings) error {
	if in.MaxConcurrent != nil {
		if *in.MaxConcurrent < 1 || *in.MaxConcurrent > 1000 {
			return fault.InvalidField("max_concurrent_migrations", "use 1 to 1000 (seed guidance: about 3 per 1 Mbps of bandwidth)")
		}
		p.MaxConcurrent = *in.MaxConcurrent
	}
	if in.MaxErrors != nil {
		if *in.MaxErrors < 1 {
			return fault.InvalidField("max_errors_per_migration", "use at least 1")
		}
		p.MaxErrors = *in.MaxErrors
	}
	if in.DoNotRetry != nil {
		p.DoNotRetry = *in.DoNotRetry
	}
	if in.Include != nil {
		p.Include = *in.Include
	}
	if in.Exclude != nil {
		p.Exclude = *in.Exclude
	}
	if in.DateFrom != nil {
		p.DateFrom = *in.DateFrom
	}
	if in.DateTo != nil {
		p.DateTo = *in.DateTo
	}
	if !p.DateFrom.IsZero() && !p.DateTo.IsZero() && !p.DateFrom.Before(p.DateTo) {
		return fault.InvalidField("date_from", "the date range is empty: date_from must be before date_to")
	}
	if in.ItemTypes != nil {
		for _, t := range *in.ItemTypes {
			if t != "mail" {
				return fault.InvalidField("item_types", "%q items are not migrated yet; use mail", t)
			}
		}
		p.ItemTypes = *in.ItemTypes
	}
	return nil
}

// UpdateSettings changes a project's advanced settings.
func (s *Service) UpdateSettings(ctx context.Context, id int64, in Settings) (store.Project, error) {
	p, err := s.Store.Project(ctx, id)
	if err != nil {
		return p, err
	}
	if err := authorize(ctx, auth.ActionUpdateSettings, p.CustomerID); err != nil {
		return p, err
	}
	if err := applySettings(&p, in); err != nil {
		return p, err
	}
	return p, s.Store.UpdateProject(ctx, p)
}

// CloseProject stops its queued passes, marks it closed and erases its items' credentials.
func (s *Service) CloseProject(ctx context.Context, id int64) (store.Project, error) {
	p, err := s.Store.Project(ctx, id)
	if err != nil {
		return p, err
	}
	if err := authorize(ctx, auth.ActionCloseProject, p.CustomerID); err != nil {
		return p, err
	}
	if _, err := s.stop(ctx, id, Selection{All: true}); err != nil {
		return p, err
	}
	if p, err = s.Store.Project(ctx, id); err != nil {
		return p, err
	}
	p.Closed = true
	if err := s.Store.UpdateProject(ctx, p); err != nil {
		return p, err
	}
	return p, s.Store.EraseProjectCredentials(ctx, id)
}
