package api

import (
	"github.com/ferryhq/ferry/internal/engagements"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// The API's own types for engagements, converted from the store's rows in
// this one place. Today their fields are the rows' (a Go conversion copies
// them); a column added to the store stops that conversion from compiling,
// and the converter is then written out field by field: the wire format
// does not change with the store.

// Engagement is one tenant's onboarding: its scope and playbook.
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

// EngagementTask is one task of an engagement, with its status, time and due date.
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

// TaskEvent is one change made to a task: who, when, which field, before and after.
type TaskEvent struct {
	ID     int64     `json:"id"`
	TaskID int64     `json:"task_row_id"`
	At     time.Time `json:"at"`
	Who    string    `json:"who"`
	Field  string    `json:"field"`
	Before string    `json:"before"`
	After  string    `json:"after"`
}

// TimeEntry is time logged on a task.
type TimeEntry struct {
	ID      int64     `json:"id"`
	TaskID  int64     `json:"task_row_id"`
	Who     string    `json:"who"`
	Minutes int       `json:"minutes"`
	Note    string    `json:"note,omitempty"`
	At      time.Time `json:"at"`
}

// Assignment is a person in one of the playbook's roles on an engagement.
// The person is an account (user_id, its e-mail and name); an assignment
// from before people in roles were accounts whose text named no account
// has account false ("not an account yet") and holds the role for nobody.
type Assignment struct {
	EngagementID int64  `json:"engagement_id"`
	Role         string `json:"role"`
	Person       string `json:"person"`
	UserID       int64  `json:"user_id,omitempty"`
	Name         string `json:"name,omitempty"`
	Account      bool   `json:"account"`
}

// ChecklistItem is an item of the remediation checklist.
type ChecklistItem struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	Title        string    `json:"title"`
	Severity     string    `json:"severity"` // low, medium, high, critical
	Owner        string    `json:"owner,omitempty"`
	State        string    `json:"state"` // open, in-progress, resolved, wont-fix, waived
	Notes        string    `json:"notes,omitempty"`
	Source       string    `json:"source,omitempty"` // who or what raised it (a person, "preflight")
	Due          time.Time `json:"due,omitzero"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	// A tool's finding: the project and mailbox, the check, what it found
	// and what to do.
	ProjectID int64  `json:"project_id,omitempty"`
	Mailbox   string `json:"mailbox,omitempty"`
	Check     string `json:"check,omitempty"`
	Found     string `json:"found,omitempty"`
	Action    string `json:"action,omitempty"`
	// Who waived the item, when and why (state waived).
	WaivedBy    string    `json:"waived_by,omitempty"`
	WaivedAt    time.Time `json:"waived_at,omitzero"`
	WaiveReason string    `json:"waive_reason,omitempty"`
}

// PostMigrationIssue is a problem reported after a mailbox's migration, with its reporting deadline.
type PostMigrationIssue struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	Mailbox      string    `json:"mailbox"`
	MigratedAt   time.Time `json:"migrated_at"`
	ReportedAt   time.Time `json:"reported_at"`
	Deadline     time.Time `json:"report_deadline"` // five business days after the migration
	Late         bool      `json:"late"`
	Owner        string    `json:"owner,omitempty"`
	Status       string    `json:"status"` // open, investigating, resolved
	Description  string    `json:"description"`
}

// ScheduledEvent is a migration window, wave, go/no-go or meeting, in its IANA time zone.
type ScheduledEvent struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	Kind         string    `json:"kind"` // migration-window, wave, go-no-go, meeting
	Title        string    `json:"title"`
	Starts       time.Time `json:"starts"`
	Ends         time.Time `json:"ends"`
	TimeZone     string    `json:"time_zone"`
	Notes        string    `json:"notes,omitempty"`
	Recurrence   string    `json:"recurrence,omitempty"` // RFC 5545 RRULE subset: FREQ, INTERVAL, COUNT, UNTIL
}

// GateOverride is a FastTrack Manager's decision to let migration passes run before their prerequisites.
type GateOverride struct {
	ID         int64     `json:"id"`
	CustomerID int64     `json:"customer_id"`
	Who        string    `json:"who"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
	// ProjectID limits the override to one project; 0: every project of the customer.
	ProjectID int64 `json:"project_id,omitempty"`
	// Expires ends the override; zero: until revoked.
	Expires      time.Time `json:"expires,omitzero"`
	RevokedAt    time.Time `json:"revoked_at,omitzero"`
	RevokedBy    string    `json:"revoked_by,omitempty"`
	RevokeReason string    `json:"revoke_reason,omitempty"`
}

func engagementOut(e store.Engagement) Engagement {
	e.Services, e.Workloads = nonNil(e.Services), nonNil(e.Workloads)
	return Engagement(e)
}
func taskOut(t store.EngagementTask) EngagementTask { return EngagementTask(t) }
func taskEventOut(e store.TaskEvent) TaskEvent      { return TaskEvent(e) }
func timeEntryOut(t store.TimeEntry) TimeEntry      { return TimeEntry(t) }
func assignmentOut(p engagements.Person) Assignment {
	return Assignment{EngagementID: p.EngagementID, Role: p.Role, Person: p.Person, UserID: p.UserID, Name: p.Name, Account: p.Account}
}
func checklistItemOut(c store.ChecklistItem) ChecklistItem {
	return ChecklistItem{ID: c.ID, EngagementID: c.EngagementID, Title: c.Title, Severity: c.Severity, Owner: c.Owner, State: c.State,
		Notes: c.Notes, Source: c.Source, Due: c.Due, Created: c.Created, Updated: c.Updated, ProjectID: c.ProjectID, Mailbox: c.Mailbox,
		Check: c.Check, Found: c.Found, Action: c.Action, WaivedBy: c.WaivedBy, WaivedAt: c.WaivedAt, WaiveReason: c.WaiveReason}
}
func issueOut(p store.PostMigrationIssue) PostMigrationIssue { return PostMigrationIssue(p) }
func eventOut(e store.ScheduledEvent) ScheduledEvent         { return ScheduledEvent(e) }
func gateOverrideOut(g store.GateOverride) GateOverride      { return GateOverride(g) }

// convert turns a list of rows into the API's type, [] for none.
func convert[S, D any](rows []S, out func(S) D) []D {
	list := make([]D, 0, len(rows))
	for _, r := range rows {
		list = append(list, out(r))
	}
	return list
}
