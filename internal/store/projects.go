package store

import (
	"context"
	"github.com/ferryhq/ferry/internal/fault"
	"time"
)

// Customer is an organisation whose tenant is onboarded and migrated.
type Customer struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Domain   string    `json:"primary_domain"`
	Location string    `json:"location,omitempty"`
	Industry string    `json:"industry,omitempty"`
	Size     string    `json:"size,omitempty"`
	Created  time.Time `json:"created"`
}

// Endpoint is a mail system of a customer, reused across projects.
type Endpoint struct {
	ID             int64  `json:"id"`
	CustomerID     int64  `json:"customer_id"`
	Name           string `json:"name"`
	Type           string `json:"type"` // a presets.All name
	Host           string `json:"host"`
	Port           int    `json:"port"`
	Security       string `json:"security"` // "tls" or "starttls"
	AllowPlaintext bool   `json:"allow_plaintext"`
	AdminUser      string `json:"admin_user,omitempty"` // endpoint-level administrator acting for every mailbox
	HasCredentials bool   `json:"has_credentials"`
	MaxMessageSize int64  `json:"max_message_size"` // bytes, 0 = no limit
	// Limits override the endpoint type's preset limits that pre-flight
	// checks as a destination (zero fields: the preset's).
	Limits        Limits    `json:"limits,omitzero"`
	DailyDownload int64     `json:"daily_download,omitempty"` // bytes per mailbox per day the source allows (Gmail)
	DailyUpload   int64     `json:"daily_upload,omitempty"`   // bytes per mailbox per day the destination accepts (Gmail)
	Created       time.Time `json:"created"`
	// Sealed credentials: never leave the server.
	SealedPassword string `json:"-"`
	SealedToken    string `json:"-"`

	// OAuth2 administrator credentials (Ferry gets the tokens): the
	// public part here, the secrets (client secret, certificate, Google
	// service account key) sealed together in SealedOAuth2.
	OAuth2Tenant   string `json:"oauth2_tenant,omitempty"`
	OAuth2ClientID string `json:"oauth2_client_id,omitempty"`
	OAuth2TokenURL string `json:"oauth2_token_url,omitempty"`
	OAuth2Scope    string `json:"oauth2_scope,omitempty"`
	// OAuth2Mechanism: the SASL mechanism the token goes with (XOAUTH2,
	// OAUTHBEARER); empty chooses from the server's capabilities.
	OAuth2Mechanism string `json:"oauth2_mechanism,omitempty"`
	SealedOAuth2    string `json:"-"`

	// Where the endpoint's calendars, contacts and tasks are (workloads
	// other than mail): a CalDAV/CardDAV base URL, Microsoft Graph (a
	// Microsoft 365 destination, signed in with the OAuth2 app), or
	// Exchange Web Services (an Exchange on-premises source, with the
	// administrator's impersonation).
	DAVURL   string `json:"dav_url,omitempty"`
	GraphURL string `json:"graph_url,omitempty"`
	EWSURL   string `json:"ews_url,omitempty"`
}

// Workloads an item moves, in the words of docs/workloads.md.
const (
	WorkloadMail     = "mail"
	WorkloadCalendar = "calendar"
	WorkloadContacts = "contacts"
	WorkloadTasks    = "tasks"
)

// AllWorkloads lists them in their order.
var AllWorkloads = []string{WorkloadMail, WorkloadCalendar, WorkloadContacts, WorkloadTasks}

// Project pairs a source and a destination endpoint of one customer.
type Project struct {
	ID            int64  `json:"id"`
	CustomerID    int64  `json:"customer_id"`
	EngagementID  int64  `json:"engagement_id,omitempty"` // 0: the customer's, no engagement's
	Name          string `json:"name"`
	Kind          string `json:"kind"` // "mailbox" now; "document", "archive", "public-folder" later
	SourceID      int64  `json:"source_endpoint_id"`
	DestID        int64  `json:"destination_endpoint_id"`
	MaxConcurrent int    `json:"max_concurrent_migrations"`
	MaxErrors     int    `json:"max_errors_per_migration"`
	DoNotRetry    bool   `json:"do_not_retry_errors"`
	// FirstLabelOnly and SpamAndTrash: how a Gmail source's labels become
	// folders (engine.LabelOptions).
	FirstLabelOnly bool      `json:"gmail_first_label_only,omitempty"`
	SpamAndTrash   bool      `json:"gmail_spam_and_trash,omitempty"`
	Include        []string  `json:"folder_include,omitempty"`
	Exclude        []string  `json:"folder_exclude,omitempty"`
	DateFrom       time.Time `json:"date_from,omitzero"`
	DateTo         time.Time `json:"date_to,omitzero"`
	ItemTypes      []string  `json:"item_types"`
	// Limits override the destination's limits for this project's
	// pre-flight (zero fields: the endpoint's, then its type's preset).
	Limits          Limits         `json:"preflight_limits,omitzero"`
	Closed          bool           `json:"closed"`
	Created         time.Time      `json:"created"`
	ItemCount       int            `json:"item_count"`
	StatusBreakdown map[string]int `json:"status_breakdown,omitempty"`
}

// Limits are what a destination accepts, as pre-flight checks them. A
// zero field means "not set here": the next level's value applies
// (project, then endpoint, then the endpoint type's preset).
type Limits struct {
	MaxMessageSize      int64 `json:"max_message_size,omitempty"`       // bytes
	MaxFolderItems      int64 `json:"max_folder_items,omitempty"`       // messages in one folder
	MaxFolderDepth      int   `json:"max_folder_depth,omitempty"`       // levels of a folder path
	MaxFolderNameLength int   `json:"max_folder_name_length,omitempty"` // characters of one level
	MaxFolderPathLength int   `json:"max_folder_path_length,omitempty"` // characters of the whole path
}

// Over returns l with the fields o sets replacing its own.
func (l Limits) Over(o Limits) Limits {
	if o.MaxMessageSize > 0 {
		l.MaxMessageSize = o.MaxMessageSize
	}
	if o.MaxFolderItems > 0 {
		l.MaxFolderItems = o.MaxFolderItems
	}
	if o.MaxFolderDepth > 0 {
		l.MaxFolderDepth = o.MaxFolderDepth
	}
	if o.MaxFolderNameLength > 0 {
		l.MaxFolderNameLength = o.MaxFolderNameLength
	}
	if o.MaxFolderPathLength > 0 {
		l.MaxFolderPathLength = o.MaxFolderPathLength
	}
	return l
}

// Check says which field is negative, for the doors' error (field name as in JSON).
func (l Limits) Check() (field string, ok bool) {
	switch {
	case l.MaxMessageSize < 0:
		return "max_message_size", false
	case l.MaxFolderItems < 0:
		return "max_folder_items", false
	case l.MaxFolderDepth < 0:
		return "max_folder_depth", false
	case l.MaxFolderNameLength < 0:
		return "max_folder_name_length", false
	case l.MaxFolderPathLength < 0:
		return "max_folder_path_length", false
	}
	return "", true
}

// PreflightRun is one pre-flight of a project: queued as a job, it
// surveys every item and records what it found (Report, JSON written by
// internal/preflight).
type PreflightRun struct {
	ID          int64     `json:"id"`
	ProjectID   int64     `json:"project_id"`
	JobID       int64     `json:"-"`
	State       string    `json:"state"` // queued, running, done, failed
	RequestedBy string    `json:"requested_by,omitempty"`
	Queued      time.Time `json:"queued"`
	Started     time.Time `json:"started,omitzero"`
	Finished    time.Time `json:"finished,omitzero"`
	// Heartbeat is renewed by the attempt that runs it, while it runs.
	Heartbeat time.Time `json:"-"`
	Error     string    `json:"error,omitempty"`
	Report    string    `json:"-"`
}

// Pre-flight run states.
const (
	PreflightQueued  = "queued"
	PreflightRunning = "running"
	PreflightDone    = "done"
	PreflightFailed  = "failed"
)

// Item statuses, in the words of the migration service.
const (
	StatusNotSubmitted      = "Not Submitted"
	StatusQueued            = "Queued"
	StatusRunning           = "Running"
	StatusCompletedVerify   = "Completed (Verification)"
	StatusCompletedTrial    = "Completed (Trial)"
	StatusCompletedPrestage = "Completed (Pre-stage)"
	StatusCompleted         = "Completed"
	StatusFailed            = "Failed"
	StatusStopped           = "Stopped"
)

// Statuses lists every item status.
var Statuses = []string{StatusNotSubmitted, StatusQueued, StatusRunning, StatusCompletedVerify, StatusCompletedTrial,
	StatusCompletedPrestage, StatusCompleted, StatusFailed, StatusStopped}

// Item is one mailbox pair of a project.
type Item struct {
	ID          int64  `json:"id"`
	ProjectID   int64  `json:"project_id"`
	Source      string `json:"source"`
	Dest        string `json:"destination"`
	SourceLogin string `json:"source_login,omitempty"`
	DestLogin   string `json:"destination_login,omitempty"`
	Status      string `json:"status"`
	LastPass    string `json:"last_pass,omitempty"`
	Errors      int    `json:"error_count"`
	// Workloads the item moves (AllWorkloads; empty means mail).
	Workloads    []string  `json:"workloads"`
	MailboxID    int64     `json:"-"` // the engine's state for this pair
	DAVMailboxID int64     `json:"-"` // the state of its calendars, contacts and tasks
	JobID        int64     `json:"-"` // the queued or running pass's job
	DoneJobID    int64     `json:"-"` // the last job that finished: a rescued copy of it does not run again
	Updated      time.Time `json:"updated"`
	// Per-item credentials, sealed, for endpoints without administrator credentials.
	SealedSourcePassword string `json:"-"`
	SealedDestPassword   string `json:"-"`
}

// MaxSearch is the longest ItemFilter.Search, in characters: an address is
// shorter, and a longer pattern only costs the database.
const MaxSearch = 200

// ItemFilter selects items of a project.
type ItemFilter struct {
	Status []string
	IDs    []int64
	Search string // substring of source or destination; at most MaxSearch characters
	// UpdatedSince keeps items changed at or after this time.
	UpdatedSince time.Time
	// Sort orders the items: "source", "destination", "status", "updated"
	// or "errors", with a leading "-" for descending; default by id.
	Sort   string
	Limit  int
	Offset int
}

// ItemSorts are the values ItemFilter.Sort takes (each also with a leading "-").
var ItemSorts = []string{"source", "destination", "status", "updated", "errors"}

// Lease is a running migration's hold on one of its project's slots. It
// belongs to one attempt of a pass (Owner is unique per attempt), so a
// second attempt of the same item, in this process or another, is refused
// while the first's lease lives.
type Lease struct {
	ItemID    int64
	ProjectID int64
	Owner     string
	Expires   time.Time
}

// ErrLeaseHeld is AcquireLease's answer when another owner holds the item's
// live lease: another attempt of the pass is running.
var ErrLeaseHeld error = &fault.Error{Kind: fault.Temporary, Msg: "another run of this item holds its lease"}

// Customers is the part of the store for customers.
type Customers interface {
	CreateCustomer(ctx context.Context, c *Customer) error
	Customer(ctx context.Context, id int64) (Customer, error)
	Customers(ctx context.Context) ([]Customer, error)
	DeleteCustomer(ctx context.Context, id int64) error
}

// Endpoints is the part of the store for a customer's IMAP servers.
type Endpoints interface {
	CreateEndpoint(ctx context.Context, e *Endpoint) error
	Endpoint(ctx context.Context, id int64) (Endpoint, error)
	Endpoints(ctx context.Context, customerID int64) ([]Endpoint, error)
	UpdateEndpoint(ctx context.Context, e Endpoint) error
	DeleteEndpoint(ctx context.Context, id int64) error
}

// Projects is the part of the store for migration projects.
type Projects interface {
	CreateProject(ctx context.Context, p *Project) error
	Project(ctx context.Context, id int64) (Project, error)
	ProjectsOf(ctx context.Context, customerID int64) ([]Project, error)
	UpdateProject(ctx context.Context, p Project) error

	// AddPreflightRun records a queued pre-flight (ID, Queued set).
	AddPreflightRun(ctx context.Context, r *PreflightRun) error
	// UpdatePreflightRun saves a run's job, state, times, heartbeat, error and report.
	UpdatePreflightRun(ctx context.Context, r PreflightRun) error
	PreflightRun(ctx context.Context, id int64) (PreflightRun, error)
	// PreflightRuns lists a project's runs, newest first, at most limit (0: all).
	PreflightRuns(ctx context.Context, projectID int64, limit int) ([]PreflightRun, error)
}

// Items is the part of the store for a project's items (mailbox pairs).
type Items interface {
	// CreateItems adds items in one transaction; a duplicate source or
	// destination within the project fails the whole call with ErrDuplicate.
	CreateItems(ctx context.Context, items []*Item) error
	Item(ctx context.Context, id int64) (Item, error)
	Items(ctx context.Context, projectID int64, f ItemFilter) ([]Item, int, error)
	UpdateItem(ctx context.Context, it Item) error
	// SetItemStatus changes status (and last pass, error count) of an item.
	SetItemStatus(ctx context.Context, id int64, status, pass string, errors int) error
	// QueuePass marks the items Queued for a pass, each with the job that
	// runs it, in one transaction with enqueue, which queues those jobs in
	// the same transaction: no worker sees a job before its item is
	// marked, and a start that fails midway leaves neither. enqueue returns
	// a job id per item, 0 for an item whose pass is queued or running
	// already (that item is left as it is); QueuePass returns them. An
	// error from enqueue or a write undoes everything.
	QueuePass(ctx context.Context, itemIDs []int64, pass string, enqueue EnqueueFunc) ([]int64, error)
	// ProjectRuns lists the runs of every item of a project, oldest first
	// (for its throughput).
	ProjectRuns(ctx context.Context, projectID int64) ([]ItemRun, error)
	// EditItem saves what a person may change of an item (destination,
	// logins, sealed passwords) unless its pass is queued or running
	// (ErrItemBusy): checked and written in one statement, so a pass queued
	// meanwhile is neither lost nor run with half-edited settings.
	EditItem(ctx context.Context, it Item) error
	// EditItems saves several items' edits as EditItem does, in one
	// transaction: when one is busy (ErrItemBusy, naming it), another's
	// destination (ErrDuplicate) or gone (ErrNotFound), none is saved.
	EditItems(ctx context.Context, items []Item) error
	// ItemRuns lists the runs of one item's passes, oldest first.
	ItemRuns(ctx context.Context, itemID int64) ([]Run, error)
	// DeleteItems deletes items of a project in one transaction: ErrNotFound
	// (naming the id) when one is not the project's, ErrItemBusy when a
	// pass of one is queued or running; either way none is deleted. The
	// engine's state of their mailboxes stays (other items may share it).
	DeleteItems(ctx context.Context, projectID int64, ids []int64) error
	// EraseProjectCredentials blanks every sealed credential of a project's items.
	EraseProjectCredentials(ctx context.Context, projectID int64) error
}

// Leases is the part of the store that bounds how many items of a project
// copy at once, across every process sharing the database.
type Leases interface {
	// AcquireLease takes a slot when the project has fewer than max live
	// leases, atomically across every process sharing the database. It
	// returns false and ErrLeaseHeld when another owner holds the item's
	// live lease, false and nil when the project has no free slot; the
	// holder itself acquiring again renews its lease.
	AcquireLease(ctx context.Context, l Lease, max int) (bool, error)
	// Leases lists the live leases of a project.
	Leases(ctx context.Context, projectID int64) ([]Lease, error)
	// RenewLease moves the expiry of the owner's lease; ErrNotFound when
	// the owner no longer holds it (it expired and another took the item).
	RenewLease(ctx context.Context, l Lease) error
	// ReleaseLease drops the owner's lease; another owner's stays.
	ReleaseLease(ctx context.Context, itemID int64, owner string) error
	// WithdrawLease drops the item's lease whoever holds it (its pass was
	// stopped): the attempt holding it stops at its next renewal.
	WithdrawLease(ctx context.Context, itemID int64) error
	// ReapExpiredLeases drops every expired lease, of any project, and
	// returns them: each is an attempt whose worker died (a live one renews
	// its lease, or stops before it expires). Each is returned to one caller
	// only, whichever process asks.
	ReapExpiredLeases(ctx context.Context) ([]Lease, error)
	// RequeueUnleased sets every Running item without a live lease back to
	// Queued (its attempt died or lost its lease; its job runs it again),
	// so that no more items show Running than hold slots. It returns how
	// many it changed.
	RequeueUnleased(ctx context.Context) (int, error)
}

// Credentials is the part of the store that key rotation uses: every
// sealed value, wherever it lives.
type Credentials interface {
	// SealedCredentials lists every sealed value, for key rotation.
	SealedCredentials(ctx context.Context) ([]SealedCredential, error)
	// Reseal replaces one sealed value.
	Reseal(ctx context.Context, c SealedCredential) error
}

// ItemRun is a run of a project's item.
type ItemRun struct {
	ItemID int64
	Run
}

// EnqueueFunc queues jobs inside the store's transaction tx: a *sql.Tx on
// SQLite, a pgx.Tx on PostgreSQL (what River's driver for each takes; see
// jobs.Queue.Enqueue). It returns one job id per item, 0 for none queued.
type EnqueueFunc func(ctx context.Context, tx any) ([]int64, error)

// SealedCredential is one sealed value and where it lives.
type SealedCredential struct {
	Table  string // "endpoints" or "items"
	Column string // sealed_password, sealed_token, sealed_oauth2, sealed_source_password, sealed_dest_password
	ID     int64
	Value  string
}

// ErrItemBusy: the item's pass is queued or running, so it cannot be
// changed or deleted now; stop the pass first.
var ErrItemBusy error = &fault.Error{Kind: fault.Conflict, Msg: "the item's pass is queued or running"}

// ErrDuplicate is returned when an item would repeat a mailbox of its project.
var ErrDuplicate error = &fault.Error{Kind: fault.Conflict, Msg: "duplicate"}

// ---- API tokens

// Token is an API token; only the hash of its value is stored.
type Token struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	UserID   int64     `json:"user_id,omitempty"` // the person it acts as; 0: an administrator token made on the command line
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitzero"`
}
