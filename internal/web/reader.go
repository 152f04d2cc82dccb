package web

import (
	"context"

	"github.com/ferryhq/ferry/internal/store"
)

// Reader is what the pages read from the store, and all they may: every
// change goes through a service (Options.Projects, Engagements, Customers,
// Auth, DNS), which authorizes, validates, writes and audits. The portal
// holds no store method that writes, so no page can forget a rule or the
// audit log (store.Store is a Reader).
type Reader interface {
	Customers(ctx context.Context) ([]store.Customer, error)
	Customer(ctx context.Context, id int64) (store.Customer, error)
	Endpoints(ctx context.Context, customerID int64) ([]store.Endpoint, error)
	Endpoint(ctx context.Context, id int64) (store.Endpoint, error)
	ProjectsOf(ctx context.Context, customerID int64) ([]store.Project, error)
	Project(ctx context.Context, id int64) (store.Project, error)
	Items(ctx context.Context, projectID int64, f store.ItemFilter) ([]store.Item, int, error)
	Item(ctx context.Context, id int64) (store.Item, error)
	ItemRuns(ctx context.Context, itemID int64) ([]store.Run, error)
	ProjectRuns(ctx context.Context, projectID int64) ([]store.ItemRun, error)
	EngagementsOf(ctx context.Context, customerID int64) ([]store.Engagement, error)
	Engagement(ctx context.Context, id int64) (store.Engagement, error)
	EngagementTasks(ctx context.Context, engagementID int64) ([]store.EngagementTask, error)
	EngagementTask(ctx context.Context, id int64) (store.EngagementTask, error)
	TaskEvents(ctx context.Context, taskRowID int64) ([]store.TaskEvent, error)
	TimeEntries(ctx context.Context, taskRowID int64) ([]store.TimeEntry, error)
	Assignments(ctx context.Context, engagementID int64) ([]store.Assignment, error)
	ChecklistItems(ctx context.Context, engagementID int64) ([]store.ChecklistItem, error)
	PostMigrationIssues(ctx context.Context, engagementID int64) ([]store.PostMigrationIssue, error)
	Events(ctx context.Context, engagementID int64) ([]store.ScheduledEvent, error)
	GateOverrides(ctx context.Context, customerID int64) ([]store.GateOverride, error)
	Users(ctx context.Context) ([]store.User, error)
	User(ctx context.Context, id int64) (store.User, error)
	Tokens(ctx context.Context) ([]store.Token, error)
	Audit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error)
}
