package api

import (
	"encoding/json"
	"time"

	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/store"
)

// Report is the engagement report as the API writes it (format=json): the
// service's report with every record in the API's own types, so that a
// column added to the store never changes it.
type Report struct {
	Engagement  Engagement                   `json:"engagement"`
	Customer    Customer                     `json:"customer"`
	Eligible    []engagements.Rule           `json:"eligibility"`
	Progress    *engagements.Progress        `json:"progress"`
	Gates       []engagements.Gate           `json:"gates"`
	People      []Assignment                 `json:"people"`
	Tasks       []EngagementTask             `json:"tasks"`
	Checklist   []ChecklistItem              `json:"remediation_checklist"`
	Issues      []PostMigrationIssue         `json:"post_migration_issues"`
	Events      []ScheduledEvent             `json:"events"`
	SuccessPlan *SuccessPlanRecord           `json:"success_plan"`
	Migrations  []engagements.ProjectFigures `json:"migrations"`
	GateHistory []engagements.GateEvent      `json:"gate_history"`
}

// SuccessPlanRecord is a success plan as the report holds it (dates as
// date-times; GET .../success-plan writes SuccessPlan).
type SuccessPlanRecord struct {
	EngagementID int64     `json:"engagement_id"`
	Goals        string    `json:"goals"`
	Outcomes     string    `json:"outcomes,omitempty"`
	OwnerID      int64     `json:"owner_id,omitempty"`
	Owner        string    `json:"owner,omitempty"`
	Agreed       time.Time `json:"agreed"`
	UpdatedBy    string    `json:"updated_by"`
	Updated      time.Time `json:"updated"`
}

func successPlanRecordOut(p *store.SuccessPlan) *SuccessPlanRecord {
	if p == nil {
		return nil
	}
	return &SuccessPlanRecord{EngagementID: p.EngagementID, Goals: p.Goals, Outcomes: p.Outcomes, OwnerID: p.OwnerID, Owner: p.Owner,
		Agreed: p.Agreed, UpdatedBy: p.UpdatedBy, Updated: p.Updated}
}

func engagementReportOut(r *engagements.Report) Report {
	return Report{Engagement: engagementOut(r.Engagement), Customer: customerOf(r.Customer),
		Eligible: nonNil(r.Eligible), Progress: r.Progress, Gates: nonNil(r.Gates),
		People: convert(r.People, assignmentOut), Tasks: convert(r.Tasks, taskOut), Checklist: convert(r.Checklist, checklistItemOut),
		Issues: convert(r.Issues, issueOut), Events: convert(r.Events, eventOut), SuccessPlan: successPlanRecordOut(r.SuccessPlan),
		Migrations: nonNil(r.Migrations), GateHistory: nonNil(r.GateHistory)}
}

// engagementReportJSON is the report's format=json, indented as the other
// formats' files are meant to be read.
func engagementReportJSON(r *engagements.Report) ([]byte, error) {
	return json.MarshalIndent(engagementReportOut(r), "", "  ")
}
