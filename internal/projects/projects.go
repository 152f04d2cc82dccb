// Package projects is the migration service: projects of mailbox pairs
// (items), and passes run as jobs. The CLI, the REST API and the portal
// all go through it, so they validate and behave the same. Customers and
// their endpoints are internal/customers' (the one door for them).
package projects

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
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
	// PreflightDone, when set, gets what a project's pre-flight found, as
	// remediation checklist items of its engagement (source "preflight",
	// keyed), every run, also when it found nothing: the engagement adds
	// new findings and resolves those no longer found
	// (engagements.Service.SyncFindings).
	PreflightDone func(ctx context.Context, p store.Project, found []store.ChecklistItem) error
	// WorkloadHTTP, when set, is the HTTP client for calendars, contacts
	// and tasks (CalDAV/CardDAV, Graph, EWS); tests trust their doubles' TLS
	// with it. nil: each client's own.
	WorkloadHTTP *http.Client
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

// EndpointAAD is the associated data that binds a sealed endpoint
// credential (what: password, token or oauth2) to its endpoint: the
// customers service seals with it, and passes and key rotation open with
// it, so the format lives here once.
func EndpointAAD(id int64, what string) string { return fmt.Sprintf("endpoint:%d:%s", id, what) }

func itemAAD(projectID int64, source, what string) string {
	return fmt.Sprintf("item:%d:%s:%s", projectID, strings.ToLower(source), what)
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
	// From a Gmail source: each message only in its first label's folder;
	// Spam and Trash copied too (engine.LabelOptions).
	FirstLabelOnly *bool `json:"gmail_first_label_only,omitempty"`
	SpamAndTrash   *bool `json:"gmail_spam_and_trash,omitempty"`
	// PreflightLimits replace the destination's limits for this project's
	// pre-flight (zero fields: the endpoint's, then its type's).
	PreflightLimits *Limits `json:"preflight_limits,omitempty"`
}

// Limits are a project's own limits for pre-flight as its settings take
// them (bytes, messages, levels, characters; 0: the destination's own). A
// type of the service's, not the store's row, so that what the store keeps
// may grow without changing the API's input.
type Limits struct {
	MaxMessageSize      int64 `json:"max_message_size,omitempty"`
	MaxFolderItems      int64 `json:"max_folder_items,omitempty"`
	MaxFolderDepth      int   `json:"max_folder_depth,omitempty"`
	MaxFolderNameLength int   `json:"max_folder_name_length,omitempty"`
	MaxFolderPathLength int   `json:"max_folder_path_length,omitempty"`
}

// LimitsOf is a project's stored limits as settings.
func LimitsOf(l store.Limits) Limits {
	return Limits{MaxMessageSize: l.MaxMessageSize, MaxFolderItems: l.MaxFolderItems, MaxFolderDepth: l.MaxFolderDepth,
		MaxFolderNameLength: l.MaxFolderNameLength, MaxFolderPathLength: l.MaxFolderPathLength}
}

func (l Limits) stored() store.Limits {
	return store.Limits{MaxMessageSize: l.MaxMessageSize, MaxFolderItems: l.MaxFolderItems, MaxFolderDepth: l.MaxFolderDepth,
		MaxFolderNameLength: l.MaxFolderNameLength, MaxFolderPathLength: l.MaxFolderPathLength}
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
	if in.FirstLabelOnly != nil {
		p.FirstLabelOnly = *in.FirstLabelOnly
	}
	if in.SpamAndTrash != nil {
		p.SpamAndTrash = *in.SpamAndTrash
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
	if in.PreflightLimits != nil {
		l := in.PreflightLimits.stored()
		if field, ok := l.Check(); !ok {
			return fault.InvalidField("preflight_limits."+field, "a limit is a positive number, or 0 for the destination's own")
		}
		p.Limits = l
	}
	if in.ItemTypes != nil {
		for _, t := range *in.ItemTypes {
			if !slices.Contains(store.AllWorkloads, t) {
				return fault.InvalidField("item_types", "%q is not a workload: use mail, calendar, contacts or tasks", t)
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
