package engagements

import (
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// The report's JSON (Export "json") is written in the types below, not in
// the store's rows, so that a column added to the store does not change
// it. It is one format for every door: the portal's download, `ferry
// engagement report --format json` and the API's ?format=json. The API's
// tests hold each type to the schema of the API type of the same name
// (Engagement, Customer, EngagementTask...).

// ReportJSON is the whole report as JSON.
type ReportJSON struct {
	Engagement  ReportEngagement      `json:"engagement"`
	Customer    ReportCustomer        `json:"customer"`
	Eligible    []Rule                `json:"eligibility"`
	Progress    *Progress             `json:"progress"`
	Gates       []Gate                `json:"gates"`
	People      []ReportPerson        `json:"people"`
	Tasks       []ReportTask          `json:"tasks"`
	Checklist   []ReportChecklistItem `json:"remediation_checklist"`
	Issues      []ReportIssue         `json:"post_migration_issues"`
	Events      []ReportEvent         `json:"events"`
	SuccessPlan *ReportSuccessPlan    `json:"success_plan"` // null until one is recorded
	Migrations  []ProjectFigures      `json:"migrations"`
	GateHistory []GateEvent           `json:"gate_history"`
}

// ReportEngagement is the engagement (the API's Engagement).
type ReportEngagement struct {
	ID                  int64     `json:"id"`
	CustomerID          int64     `json:"customer_id"`
	Name                string    `json:"name"`
	Seats               int       `json:"seats"`
	Services            []string  `json:"services"`
	Workloads           []string  `json:"workloads"`
	Hybrid              bool      `json:"hybrid"`
	Playbook            string    `json:"playbook"`
	EnterpriseException string    `json:"enterprise_exception,omitempty"`
	Created             time.Time `json:"created"`
}

// ReportCustomer is the customer (the API's Customer).
type ReportCustomer struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Domain   string    `json:"primary_domain"`
	Location string    `json:"location,omitempty"`
	Industry string    `json:"industry,omitempty"`
	Size     string    `json:"size,omitempty"`
	Created  time.Time `json:"created"`
}

// ReportPerson is someone in a role (the API's Assignment).
type ReportPerson struct {
	EngagementID int64  `json:"engagement_id"`
	Role         string `json:"role"`
	Person       string `json:"person"`
	UserID       int64  `json:"user_id,omitempty"`
	Name         string `json:"name,omitempty"`
	Account      bool   `json:"account"`
}

// ReportTask is a task (the API's EngagementTask).
type ReportTask struct {
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
	Retired      bool      `json:"retired,omitempty"`
	Minutes      int       `json:"minutes_logged"`
	Updated      time.Time `json:"updated"`
}

// ReportChecklistItem is a remediation item (the API's ChecklistItem).
type ReportChecklistItem struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	Title        string    `json:"title"`
	Severity     string    `json:"severity"`
	Owner        string    `json:"owner,omitempty"`
	State        string    `json:"state"`
	Notes        string    `json:"notes,omitempty"`
	Source       string    `json:"source,omitempty"`
	Due          time.Time `json:"due,omitzero"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	ProjectID    int64     `json:"project_id,omitempty"`
	Mailbox      string    `json:"mailbox,omitempty"`
	Check        string    `json:"check,omitempty"`
	Found        string    `json:"found,omitempty"`
	Action       string    `json:"action,omitempty"`
	WaivedBy     string    `json:"waived_by,omitempty"`
	WaivedAt     time.Time `json:"waived_at,omitzero"`
	WaiveReason  string    `json:"waive_reason,omitempty"`
}

// ReportIssue is a post-migration issue (the API's PostMigrationIssue).
type ReportIssue struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	Mailbox      string    `json:"mailbox"`
	MigratedAt   time.Time `json:"migrated_at"`
	ReportedAt   time.Time `json:"reported_at"`
	Deadline     time.Time `json:"report_deadline"`
	Late         bool      `json:"late"`
	Owner        string    `json:"owner,omitempty"`
	Status       string    `json:"status"`
	Description  string    `json:"description"`
}

// ReportEvent is a scheduled event (the API's ScheduledEvent).
type ReportEvent struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	Kind         string    `json:"kind"`
	Title        string    `json:"title"`
	Starts       time.Time `json:"starts"`
	Ends         time.Time `json:"ends"`
	TimeZone     string    `json:"time_zone"`
	Notes        string    `json:"notes,omitempty"`
	Recurrence   string    `json:"recurrence,omitempty"`
}

// ReportSuccessPlan is the success plan, dates as date-times (the API's
// SuccessPlanRecord).
type ReportSuccessPlan struct {
	EngagementID int64     `json:"engagement_id"`
	Goals        string    `json:"goals"`
	Outcomes     string    `json:"outcomes,omitempty"`
	OwnerID      int64     `json:"owner_id,omitempty"`
	Owner        string    `json:"owner,omitempty"`
	Agreed       time.Time `json:"agreed"`
	UpdatedBy    string    `json:"updated_by"`
	Updated      time.Time `json:"updated"`
}

// JSON is the report in its JSON types; lists are [] when empty.
func (r *Report) JSON() ReportJSON {
	e := r.Engagement
	out := ReportJSON{
		Engagement: ReportEngagement{ID: e.ID, CustomerID: e.CustomerID, Name: e.Name, Seats: e.Seats, Services: nonNil(e.Services),
			Workloads: nonNil(e.Workloads), Hybrid: e.Hybrid, Playbook: e.Playbook, EnterpriseException: e.EnterpriseException, Created: e.Created},
		Customer: ReportCustomer{ID: r.Customer.ID, Name: r.Customer.Name, Domain: r.Customer.Domain, Location: r.Customer.Location,
			Industry: r.Customer.Industry, Size: r.Customer.Size, Created: r.Customer.Created},
		Eligible: nonNil(r.Eligible), Progress: r.Progress, Gates: nonNil(r.Gates),
		People: each(r.People, func(p Person) ReportPerson {
			return ReportPerson{p.EngagementID, p.Role, p.Person, p.UserID, p.Name, p.Account}
		}),
		Tasks:      each(r.Tasks, reportTask),
		Checklist:  each(r.Checklist, reportChecklistItem),
		Issues:     each(r.Issues, func(i store.PostMigrationIssue) ReportIssue { return ReportIssue(i) }),
		Events:     each(r.Events, func(v store.ScheduledEvent) ReportEvent { return ReportEvent(v) }),
		Migrations: nonNil(r.Migrations), GateHistory: nonNil(r.GateHistory),
	}
	if p := r.SuccessPlan; p != nil {
		out.SuccessPlan = &ReportSuccessPlan{EngagementID: p.EngagementID, Goals: p.Goals, Outcomes: p.Outcomes, OwnerID: p.OwnerID, Owner: p.Owner,
			Agreed: p.Agreed, UpdatedBy: p.UpdatedBy, Updated: p.Updated}
	}
	return out
}

func reportTask(t store.EngagementTask) ReportTask {
	return ReportTask{ID: t.ID, EngagementID: t.EngagementID, TaskID: t.TaskID, Phase: t.Phase, Name: t.Name, Role: t.Role, Party: t.Party,
		Mandatory: t.Mandatory, Services: t.Services, Status: t.Status, Percent: t.Percent, Notes: t.Notes, Due: t.Due, Retired: t.Retired,
		Minutes: t.Minutes, Updated: t.Updated}
}

func reportChecklistItem(c store.ChecklistItem) ReportChecklistItem {
	return ReportChecklistItem{ID: c.ID, EngagementID: c.EngagementID, Title: c.Title, Severity: c.Severity, Owner: c.Owner, State: c.State,
		Notes: c.Notes, Source: c.Source, Due: c.Due, Created: c.Created, Updated: c.Updated, ProjectID: c.ProjectID, Mailbox: c.Mailbox,
		Check: c.Check, Found: c.Found, Action: c.Action, WaivedBy: c.WaivedBy, WaivedAt: c.WaivedAt, WaiveReason: c.WaiveReason}
}

// each converts a list, [] for none.
func each[S, D any](rows []S, out func(S) D) []D {
	list := make([]D, 0, len(rows))
	for _, r := range rows {
		list = append(list, out(r))
	}
	return list
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
