package store

import (
	"context"
	"time"
)

// Engagement is one customer tenant's onboarding, run from a playbook.
type Engagement struct {
	ID         int64    `json:"id"`
	CustomerID int64    `json:"customer_id"`
	Name       string   `json:"name"`
	Seats      int      `json:"seats"`
	Services   []string `json:"services"`
	Workloads  []string `json:"workloads"`
	Hybrid     bool     `json:"hybrid"`
	Playbook   string   `json:"playbook"`
	// EnterpriseException records why the enterprise additional benefit applies below 20,000 seats.
	EnterpriseException string    `json:"enterprise_exception,omitempty"`
	Created             time.Time `json:"created"`
}

// EngagementTask is a playbook task instantiated for an engagement.
type EngagementTask struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	TaskID       string    `json:"task_id"`
	Phase        string    `json:"phase"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Party        string    `json:"party"`
	Mandatory    bool      `json:"mandatory"`
	Services     []string  `json:"services,omitempty"`
	Status       string    `json:"status"`
	Percent      int       `json:"percent_complete"`
	Notes        string    `json:"notes,omitempty"`
	Due          time.Time `json:"due,omitzero"`
	Retired      bool      `json:"retired,omitempty"` // out of scope now; kept with its history
	Minutes      int       `json:"minutes_logged"`
	Updated      time.Time `json:"updated"`
}

// TaskEvent is one change to a task, kept for ever.
type TaskEvent struct {
	ID     int64     `json:"id"`
	TaskID int64     `json:"task_row_id"`
	At     time.Time `json:"at"`
	Who    string    `json:"who"`
	Field  string    `json:"field"`
	Before string    `json:"before"`
	After  string    `json:"after"`
}

// TimeEntry is time spent on a task.
type TimeEntry struct {
	ID      int64     `json:"id"`
	TaskID  int64     `json:"task_row_id"`
	Who     string    `json:"who"`
	Minutes int       `json:"minutes"`
	Note    string    `json:"note,omitempty"`
	At      time.Time `json:"at"`
}

// Assignment puts a person in a role of an engagement. The person is an
// account (UserID); Person keeps its e-mail as it was when assigned. An
// assignment older than accounts in roles whose text named no account has
// UserID 0: "not an account yet", holding the role for nobody.
type Assignment struct {
	EngagementID int64  `json:"engagement_id"`
	Role         string `json:"role"`
	Person       string `json:"person"`
	UserID       int64  `json:"user_id,omitempty"`
}

// PhaseExit records that a phase's exit gate was passed.
type PhaseExit struct {
	EngagementID int64     `json:"engagement_id"`
	Phase        string    `json:"phase"`
	Who          string    `json:"who"`
	At           time.Time `json:"at"`
}

// ChecklistItem is a remediation checklist entry.
type ChecklistItem struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	Title        string    `json:"title"`
	Severity     string    `json:"severity"` // low, medium, high, critical
	Owner        string    `json:"owner,omitempty"`
	State        string    `json:"state"` // open, in-progress, resolved, wont-fix, waived
	Notes        string    `json:"notes,omitempty"`
	Source       string    `json:"source,omitempty"` // who or what raised it (a person, an assessment tool)
	Due          time.Time `json:"due,omitzero"`
	// What a tool found (pre-flight): the project and mailbox, the check,
	// what was found and what to do. Key names the finding within its
	// source and project, so that a later run finds it again (and resolves
	// it when it is gone).
	ProjectID int64  `json:"project_id,omitempty"`
	Mailbox   string `json:"mailbox,omitempty"`
	Check     string `json:"check,omitempty"`
	Found     string `json:"found,omitempty"`
	Action    string `json:"action,omitempty"`
	Key       string `json:"finding_key,omitempty"`
	// A waived item (state "waived") is accepted as it is: who, when, why.
	WaivedBy    string    `json:"waived_by,omitempty"`
	WaivedAt    time.Time `json:"waived_at,omitzero"`
	WaiveReason string    `json:"waive_reason,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// PostMigrationIssue is a problem reported after a mailbox's migration.
type PostMigrationIssue struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	Mailbox      string    `json:"mailbox"`
	MigratedAt   time.Time `json:"migrated_at"`
	ReportedAt   time.Time `json:"reported_at"`
	Deadline     time.Time `json:"report_deadline"` // five business days after the migration
	Late         bool      `json:"late"`
	Owner        string    `json:"owner,omitempty"`
	Status       string    `json:"status"` // open, investigating, resolved, closed
	Description  string    `json:"description"`
}

// ScheduledEvent is a migration window, a wave, a go/no-go meeting...
type ScheduledEvent struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	Kind         string    `json:"kind"` // migration-window, wave, go-no-go, meeting
	Title        string    `json:"title"`
	Starts       time.Time `json:"starts"`
	Ends         time.Time `json:"ends"`
	TimeZone     string    `json:"time_zone"`
	Notes        string    `json:"notes,omitempty"`
	// Recurrence repeats the event (RFC 5545 RRULE: FREQ=DAILY|WEEKLY|MONTHLY,
	// INTERVAL, COUNT, UNTIL=YYYYMMDD), in its time zone; "" for once.
	Recurrence string `json:"recurrence,omitempty"`
}

// GateOverride lets migration passes run before their prerequisites, with a reason.
type GateOverride struct {
	ID         int64     `json:"id"`
	CustomerID int64     `json:"customer_id"`
	Who        string    `json:"who"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
	// ProjectID limits the override to one project; 0: every project of the customer.
	ProjectID int64 `json:"project_id,omitempty"`
	// Expires ends the override; zero: until revoked.
	Expires time.Time `json:"expires,omitzero"`
	// RevokedAt, RevokedBy and RevokeReason record who ended the override early, and why.
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokedBy    string    `json:"revoked_by,omitempty"`
	RevokeReason string    `json:"revoke_reason,omitempty"`
}

// ActiveAt reports whether the override lets passes of the project run at t.
func (g GateOverride) ActiveAt(t time.Time, projectID int64) bool {
	return g.RevokedAt.IsZero() && (g.Expires.IsZero() || t.Before(g.Expires)) && (g.ProjectID == 0 || g.ProjectID == projectID)
}

// Engagements is the part of the store for onboarding engagements.
type Engagements interface {
	// CreateEngagement stores the engagement and its tasks in one transaction.
	CreateEngagement(ctx context.Context, e *Engagement, tasks []*EngagementTask) error
	Engagement(ctx context.Context, id int64) (Engagement, error)
	EngagementsOf(ctx context.Context, customerID int64) ([]Engagement, error)
	UpdateEngagement(ctx context.Context, e Engagement) error

	EngagementTasks(ctx context.Context, engagementID int64) ([]EngagementTask, error)
	EngagementTask(ctx context.Context, id int64) (EngagementTask, error)
	AddEngagementTasks(ctx context.Context, tasks []*EngagementTask) error
	// UpdateEngagementTask saves a task and the events describing the change, atomically.
	UpdateEngagementTask(ctx context.Context, t EngagementTask, events []TaskEvent) error
	TaskEvents(ctx context.Context, taskRowID int64) ([]TaskEvent, error)
	AddTimeEntry(ctx context.Context, te *TimeEntry) error
	TimeEntries(ctx context.Context, taskRowID int64) ([]TimeEntry, error)

	Assign(ctx context.Context, a Assignment) error
	Unassign(ctx context.Context, a Assignment) error
	Assignments(ctx context.Context, engagementID int64) ([]Assignment, error)
	// AssignmentsOf lists the roles an account holds across engagements.
	AssignmentsOf(ctx context.Context, userID int64) ([]Assignment, error)

	ExitPhase(ctx context.Context, x PhaseExit) error
	PhaseExits(ctx context.Context, engagementID int64) ([]PhaseExit, error)

	SaveChecklistItem(ctx context.Context, c *ChecklistItem) error
	ChecklistItems(ctx context.Context, engagementID int64) ([]ChecklistItem, error)
	SavePostMigrationIssue(ctx context.Context, p *PostMigrationIssue) error
	PostMigrationIssues(ctx context.Context, engagementID int64) ([]PostMigrationIssue, error)
	SaveEvent(ctx context.Context, ev *ScheduledEvent) error
	Events(ctx context.Context, engagementID int64) ([]ScheduledEvent, error)

	AddGateOverride(ctx context.Context, g *GateOverride) error
	GateOverrides(ctx context.Context, customerID int64) ([]GateOverride, error)
	// RevokeGateOverride records who ended an override, when and why
	// (RevokedAt, RevokedBy, RevokeReason of g); ErrNotFound when the
	// customer has no such override.
	RevokeGateOverride(ctx context.Context, g GateOverride) error

	// UpdatePostMigrationIssue saves an issue's owner, status and
	// description and the events describing the change, atomically;
	// ErrNotFound when the engagement has no such issue.
	UpdatePostMigrationIssue(ctx context.Context, p PostMigrationIssue, events []IssueEvent) error
	// IssueEvents lists an issue's changes, oldest first.
	IssueEvents(ctx context.Context, issueID int64) ([]IssueEvent, error)

	// SaveSuccessPlan writes the engagement's success plan (one per engagement).
	SaveSuccessPlan(ctx context.Context, p SuccessPlan) error
	// SuccessPlan reads it; ErrNotFound when there is none yet.
	SuccessPlan(ctx context.Context, engagementID int64) (SuccessPlan, error)

	// AddGoNoGo records a go/no-go decision; GoNoGoDecisions lists an
	// engagement's, oldest first.
	AddGoNoGo(ctx context.Context, d *GoNoGoDecision) error
	GoNoGoDecisions(ctx context.Context, engagementID int64) ([]GoNoGoDecision, error)

	// SetResponsibility ticks (or unticks) one of the customer's
	// responsibilities; Responsibilities lists those ever ticked.
	SetResponsibility(ctx context.Context, r Responsibility) error
	Responsibilities(ctx context.Context, engagementID int64) ([]Responsibility, error)
}

// SuccessPlan is an engagement's success plan: the customer's goals, the
// outcomes that show them met, who owns the plan and when it was agreed.
type SuccessPlan struct {
	EngagementID int64     `json:"engagement_id"`
	Goals        string    `json:"goals"`
	Outcomes     string    `json:"outcomes,omitempty"`
	OwnerID      int64     `json:"owner_id,omitempty"` // the owner's account
	Owner        string    `json:"owner,omitempty"`    // its e-mail
	Agreed       time.Time `json:"agreed"`
	UpdatedBy    string    `json:"updated_by"`
	Updated      time.Time `json:"updated"`
}

// GoNoGoDecision is what was decided at a go/no-go event, by whom, and on
// what evidence (a JSON snapshot of the migrations and gates at that moment).
type GoNoGoDecision struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	EventID      int64     `json:"event_id"`
	Decision     string    `json:"decision"` // go, no-go
	Who          string    `json:"who"`
	WhoID        int64     `json:"who_id,omitempty"`
	At           time.Time `json:"at"`
	Evidence     string    `json:"evidence"`
	Notes        string    `json:"notes,omitempty"`
}

// Responsibility is one of the customer's responsibilities of a phase,
// ticked off (Done) or unticked, by whom and when.
type Responsibility struct {
	EngagementID int64     `json:"engagement_id"`
	Key          string    `json:"key"`
	Done         bool      `json:"done"`
	Who          string    `json:"who"`
	At           time.Time `json:"at"`
}

// IssueEvent is one change to a post-migration issue, kept for ever.
type IssueEvent struct {
	ID      int64     `json:"id"`
	IssueID int64     `json:"issue_id"`
	At      time.Time `json:"at"`
	Who     string    `json:"who"`
	Field   string    `json:"field"`
	Before  string    `json:"before"`
	After   string    `json:"after"`
	Note    string    `json:"note,omitempty"` // why: a reopened issue says what came back
}
