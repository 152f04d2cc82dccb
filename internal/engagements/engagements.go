// Package engagements runs onboarding engagements from a playbook: the
// tasks that apply to a tenant's scope, who does them, their status and
// history, the exit gates of each phase, and the gate that holds migration
// passes back until their prerequisites are done.
package engagements

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/store"
)

// Task statuses, as the onboarding portal names them.
const (
	NotStarted            = "Not Started"
	NotRequired           = "Not Required"
	InProgress            = "In Progress"
	Complete              = "Complete"
	PausedCustomerDelay   = "Paused-Customer Delay"
	DeferredCustomerDelay = "Deferred-Customer Extended Delay"
	Warning               = "Warning"
	BlockedRemediation    = "Blocked-Pending Remediation"
	BlockedTechCustomer   = "Blocked-Technical-Customer"
	BlockedBusiness       = "Blocked-Business"
	BlockedOther          = "Blocked-Other"
	BlockedTechMS         = "Blocked-Technical-MS"
	Cancelled             = "Cancelled"
)

// Statuses lists every task status.
var Statuses = []string{NotStarted, NotRequired, InProgress, Complete, PausedCustomerDelay, DeferredCustomerDelay, Warning,
	BlockedRemediation, BlockedTechCustomer, BlockedBusiness, BlockedOther, BlockedTechMS, Cancelled}

// done: a gate counts these as out of the way.
func done(status string) bool { return status == Complete || status == NotRequired }

// Eligibility thresholds.
const (
	OnboardingSeats    = 150
	DataMigrationSeats = 500
	EnterpriseSeats    = 20000
)

// Store is the part of the store engagements use: their own records,
// the customer, people's accounts (roles are held by accounts), and the
// migration projects and items whose figures and gates they read
// (store.Store is one).
type Store interface {
	store.Engagements
	store.Customers
	store.Portal
	store.Projects
	store.Items
}

// Service runs engagements.
type Service struct {
	Store    Store
	Playbook *playbook.Playbook
	Now      func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Dates an engagement may hold: a program's dates, not a typing slip such
// as year 9999 (which JSON cannot even carry).
var (
	firstDate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	lastDate  = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkDate refuses a date outside firstDate..lastDate, before anything is written.
func checkDate(field string, t time.Time) error {
	if t.Before(firstDate) || !t.Before(lastDate) {
		return fault.InvalidField(field, "%s is not a date of this program; give a date between %d and %d", t.UTC().Format("2006-01-02"), firstDate.Year(), lastDate.Year()-1)
	}
	return nil
}

// Input creates an engagement or changes its scope.
type Input struct {
	CustomerID          int64    `json:"customer_id"`
	Name                string   `json:"name"`
	Seats               int      `json:"seats"`
	Services            []string `json:"services"`
	Workloads           []string `json:"workloads,omitempty"`
	Hybrid              bool     `json:"hybrid,omitempty"`
	EnterpriseException string   `json:"enterprise_exception,omitempty"`
}

// Rule is an eligibility rule as people read it.
type Rule struct {
	Name   string `json:"name"`
	Rule   string `json:"rule"`
	Met    bool   `json:"met"`
	Detail string `json:"detail"`
}

// Eligibility evaluates the rules for a scope.
func Eligibility(in Input) []Rule {
	migrating := len(in.Workloads) > 0
	rules := []Rule{
		{Name: "onboarding", Rule: fmt.Sprintf("onboarding needs at least %d licenses", OnboardingSeats), Met: in.Seats >= OnboardingSeats},
		{Name: "data-migration", Rule: fmt.Sprintf("data migration needs at least %d licenses", DataMigrationSeats), Met: !migrating || in.Seats >= DataMigrationSeats},
		{Name: "enterprise", Rule: fmt.Sprintf("the enterprise additional benefit needs %d seats or a recorded exception", EnterpriseSeats),
			Met: in.Seats >= EnterpriseSeats || in.EnterpriseException != ""},
	}
	for i := range rules {
		r := &rules[i]
		switch {
		case r.Name == "data-migration" && !migrating:
			r.Detail = "no source workload in scope"
		case r.Name == "enterprise" && in.EnterpriseException != "" && in.Seats < EnterpriseSeats:
			r.Detail = fmt.Sprintf("%d seats; exception recorded: %s", in.Seats, in.EnterpriseException)
		default:
			r.Detail = fmt.Sprintf("%d seats", in.Seats)
		}
	}
	return rules
}

func (s *Service) scope(in Input) playbook.Scope {
	return playbook.Scope{Services: in.Services, Workloads: in.Workloads, Enterprise: in.Seats >= EnterpriseSeats || in.EnterpriseException != "", Hybrid: in.Hybrid}
}

func (s *Service) check(in *Input) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return fault.InvalidField("name", "an engagement needs a name")
	}
	for _, r := range Eligibility(*in) {
		if !r.Met && r.Name != "enterprise" {
			return fault.InvalidField("seats", "not eligible: %s (%s)", r.Rule, r.Detail)
		}
	}
	known := func(kind string, ids []string, has func(string) bool, all string) error {
		for _, id := range ids {
			if !has(id) {
				return fault.InvalidField(kind, "unknown %s %q; use one of %s", strings.TrimSuffix(kind, "s"), id, all)
			}
		}
		return nil
	}
	var svc, wl []string
	for _, x := range s.Playbook.Services {
		svc = append(svc, x.ID)
	}
	for _, x := range s.Playbook.Workloads {
		wl = append(wl, x.ID)
	}
	if err := known("services", in.Services, func(id string) bool { return slices.Contains(svc, id) }, strings.Join(svc, ", ")); err != nil {
		return err
	}
	return known("workloads", in.Workloads, func(id string) bool { return slices.Contains(wl, id) }, strings.Join(wl, ", "))
}

// applicable returns the playbook tasks in scope.
func (s *Service) applicable(in Input) []*playbook.Task {
	var out []*playbook.Task
	for _, t := range s.Playbook.Tasks() {
		if s.Playbook.InScope(t, s.scope(in)) {
			out = append(out, t)
		}
	}
	return out
}

func newTask(engagementID int64, t *playbook.Task) *store.EngagementTask {
	return &store.EngagementTask{EngagementID: engagementID, TaskID: t.ID, Phase: t.Phase.Name, Name: t.Name, Role: t.Role, Party: string(t.Party),
		Mandatory: t.Mandatory, Services: t.Services, Status: NotStarted}
}

// Create starts an engagement with exactly the tasks that apply to its scope.
func (s *Service) Create(ctx context.Context, in Input) (store.Engagement, []store.EngagementTask, error) {
	if err := authorize(ctx, auth.ActionCreateEngagement, in.CustomerID); err != nil {
		return store.Engagement{}, nil, err
	}
	if _, err := s.Store.Customer(ctx, in.CustomerID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Engagement{}, nil, fault.InvalidField("customer_id", "customer %d does not exist", in.CustomerID)
		}
		return store.Engagement{}, nil, err
	}
	if err := s.check(&in); err != nil {
		return store.Engagement{}, nil, err
	}
	e := store.Engagement{CustomerID: in.CustomerID, Name: in.Name, Seats: in.Seats, Services: in.Services, Workloads: in.Workloads, Hybrid: in.Hybrid,
		EnterpriseException: in.EnterpriseException, Playbook: s.Playbook.Name}
	var tasks []*store.EngagementTask
	for _, t := range s.applicable(in) {
		tasks = append(tasks, newTask(0, t))
	}
	if err := s.Store.CreateEngagement(ctx, &e, tasks); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return e, nil, &fault.Error{Kind: fault.Conflict, Field: "name", Msg: fmt.Sprintf("the customer has an engagement named %q already", in.Name)}
		}
		return e, nil, err
	}
	out, err := s.Store.EngagementTasks(ctx, e.ID)
	return e, out, err
}

// ChangeScope changes seats, services and workloads: tasks that now apply
// are added, tasks that no longer apply are retired with their history kept,
// and retired tasks that apply again come back (counted as added).
func (s *Service) ChangeScope(ctx context.Context, id int64, in Input, who string) (added, retired int, err error) {
	e, err := s.engagement(ctx, auth.ActionChangeScope, id)
	if err != nil {
		return 0, 0, err
	}
	in.CustomerID, in.Name = e.CustomerID, e.Name
	if err := s.check(&in); err != nil {
		return 0, 0, err
	}
	want := map[string]*playbook.Task{}
	for _, t := range s.applicable(in) {
		want[t.ID] = t
	}
	have, err := s.Store.EngagementTasks(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	seen := map[string]bool{}
	restored := 0
	for _, t := range have {
		seen[t.TaskID] = true
		_, applies := want[t.TaskID]
		if applies == !t.Retired {
			continue
		}
		before := t.Retired
		t.Retired = !applies
		if t.Retired {
			retired++
		} else {
			restored++ // applies again: counted as added
		}
		if err := s.Store.UpdateEngagementTask(ctx, t, []store.TaskEvent{{Who: who, Field: "retired", Before: fmt.Sprint(before), After: fmt.Sprint(t.Retired)}}); err != nil {
			return added, retired, err
		}
	}
	var fresh []*store.EngagementTask
	for _, t := range s.applicable(in) {
		if !seen[t.ID] {
			fresh = append(fresh, newTask(id, t))
		}
	}
	if err := s.Store.AddEngagementTasks(ctx, fresh); err != nil {
		return 0, retired, err
	}
	e.Seats, e.Services, e.Workloads, e.Hybrid, e.EnterpriseException = in.Seats, in.Services, in.Workloads, in.Hybrid, in.EnterpriseException
	return len(fresh) + restored, retired, s.Store.UpdateEngagement(ctx, e)
}

// TaskUpdate changes a task; nil fields stay.
type TaskUpdate struct {
	Status  *string    `json:"status,omitempty"`
	Percent *int       `json:"percent_complete,omitempty"`
	Notes   *string    `json:"notes,omitempty"`
	Due     *time.Time `json:"due,omitempty"`
}

// UpdateTask changes a task and records who changed what, when.
func (s *Service) UpdateTask(ctx context.Context, taskRowID int64, u TaskUpdate, who string) (store.EngagementTask, error) {
	t, err := s.task(ctx, auth.ActionUpdateTask, taskRowID)
	if err != nil {
		return t, err
	}
	if err := s.holdsTaskRole(ctx, t); err != nil {
		return t, err
	}
	if strings.TrimSpace(who) == "" {
		return t, fault.InvalidField("who", "say who makes the change")
	}
	var evs []store.TaskEvent
	if u.Status != nil && *u.Status != t.Status {
		if !slices.Contains(Statuses, *u.Status) {
			return t, fault.InvalidField("status", "unknown status %q; use one of: %s", *u.Status, strings.Join(Statuses, ", "))
		}
		if *u.Status == Complete {
			if err := s.checkGateTask(ctx, t); err != nil {
				return t, err
			}
		}
		evs = append(evs, store.TaskEvent{Who: who, Field: "status", Before: t.Status, After: *u.Status})
		t.Status = *u.Status
		if t.Status == Complete && u.Percent == nil && t.Percent != 100 {
			evs = append(evs, store.TaskEvent{Who: who, Field: "percent", Before: fmt.Sprint(t.Percent), After: "100"})
			t.Percent = 100
		}
	}
	if u.Percent != nil && *u.Percent != t.Percent {
		if *u.Percent < 0 || *u.Percent > 100 {
			return t, fault.InvalidField("percent_complete", "use 0 to 100")
		}
		evs = append(evs, store.TaskEvent{Who: who, Field: "percent", Before: fmt.Sprint(t.Percent), After: fmt.Sprint(*u.Percent)})
		t.Percent = *u.Percent
	}
	if u.Notes != nil && *u.Notes != t.Notes {
		evs = append(evs, store.TaskEvent{Who: who, Field: "notes", Before: t.Notes, After: *u.Notes})
		t.Notes = *u.Notes
	}
	if u.Due != nil && !u.Due.Equal(t.Due) {
		if err := checkDate("due", *u.Due); err != nil {
			return t, err
		}
		evs = append(evs, store.TaskEvent{Who: who, Field: "due", Before: fmtDate(t.Due), After: fmtDate(*u.Due)})
		t.Due = *u.Due
	}
	if len(evs) == 0 {
		return t, nil
	}
	if err := s.Store.UpdateEngagementTask(ctx, t, evs); err != nil {
		return t, err
	}
	return s.Store.EngagementTask(ctx, taskRowID)
}

// holdsTaskRole lets administrators and the people holding the task's
// playbook role on its engagement change the task; everyone else may read it.
func (s *Service) holdsTaskRole(ctx context.Context, t store.EngagementTask) error {
	p := auth.PrincipalFrom(ctx)
	if p != nil && p.Role == auth.Administrator {
		return nil
	}
	as, err := s.Store.Assignments(ctx, t.EngagementID)
	if err != nil {
		return err
	}
	var holders []string
	for _, a := range as {
		if a.Role != t.Role {
			continue
		}
		if Holds(p, a) {
			return nil
		}
		holders = append(holders, label(a))
	}
	role := t.Role
	if r, ok := s.Playbook.Role(t.Role); ok {
		role = r.Name
	}
	if len(holders) == 0 {
		return fault.New(fault.Forbidden, "task %s belongs to the %s, and nobody holds that role on this engagement; ask its lead to assign the role", t.TaskID, role)
	}
	return fault.New(fault.Forbidden, "task %s belongs to the %s (%s); only they or an administrator may change it", t.TaskID, role, strings.Join(holders, ", "))
}

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}

// LogTime records time spent on a task.
func (s *Service) LogTime(ctx context.Context, taskRowID int64, who string, minutes int, note string) (store.TimeEntry, error) {
	if _, err := s.task(ctx, auth.ActionLogTime, taskRowID); err != nil {
		return store.TimeEntry{}, err
	}
	if minutes < 1 || minutes > 24*60 {
		return store.TimeEntry{}, fault.InvalidField("minutes", "log between 1 and 1440 minutes at a time")
	}
	if strings.TrimSpace(who) == "" {
		return store.TimeEntry{}, fault.InvalidField("who", "say who spent the time")
	}
	te := store.TimeEntry{TaskID: taskRowID, Who: who, Minutes: minutes, Note: note, At: s.now()}
	return te, s.Store.AddTimeEntry(ctx, &te)
}

// Assign puts an account in one of the playbook's roles: person is the
// account's e-mail or number.
func (s *Service) Assign(ctx context.Context, engagementID int64, role, person string) error {
	e, err := s.engagement(ctx, auth.ActionAssign, engagementID)
	if err != nil {
		return err
	}
	if _, ok := s.Playbook.Role(role); !ok {
		var ids []string
		for _, r := range s.Playbook.Roles {
			ids = append(ids, r.ID)
		}
		return fault.InvalidField("role", "unknown role %q; use one of %s", role, strings.Join(ids, ", "))
	}
	if strings.TrimSpace(person) == "" {
		return fault.InvalidField("person", "say who takes the role: their account's e-mail")
	}
	u, err := s.assignable(ctx, e, person)
	if err != nil {
		return err
	}
	return s.Store.Assign(ctx, store.Assignment{EngagementID: engagementID, Role: role, Person: u.Email, UserID: u.ID})
}

// Unassign takes a person off a role on an engagement: the role's tasks stay
// and go to whoever else holds the role. person is the account's e-mail or
// number, or the text of an assignment that names no account.
func (s *Service) Unassign(ctx context.Context, engagementID int64, role, person string) error {
	if _, err := s.engagement(ctx, auth.ActionAssign, engagementID); err != nil {
		return err
	}
	person = strings.TrimSpace(person)
	if person == "" {
		return fault.InvalidField("person", "say who leaves the role")
	}
	as, err := s.Store.Assignments(ctx, engagementID)
	if err != nil {
		return err
	}
	var uid int64
	if u, err := s.Account(ctx, person); err == nil {
		uid = u.ID
	}
	var holds []string
	for _, a := range as {
		if (uid != 0 && a.UserID == uid) || (a.UserID == 0 && strings.EqualFold(a.Person, person)) {
			if a.Role == role {
				return s.Store.Unassign(ctx, a)
			}
			holds = append(holds, a.Role)
		}
	}
	if len(holds) > 0 {
		return fault.InvalidField("role", "%s does not hold the role %q on this engagement; they hold %s", person, role, strings.Join(holds, ", "))
	}
	return fault.InvalidField("person", "%s holds no role on this engagement", person)
}

// PersonTask is a task of one of a person's roles, with its engagement.
type PersonTask struct {
	store.EngagementTask
	Engagement store.Engagement
}

// SignedInTasks lists the tasks of the signed-in person's roles (the
// roles their account holds), in the engagements of customers they may see.
// A principal without an account (the command line, an administrator's
// token) holds no roles.
func (s *Service) SignedInTasks(ctx context.Context) ([]PersonTask, error) {
	if err := authorize(ctx, auth.ActionListMyTasks, 0); err != nil {
		return nil, err
	}
	p := auth.PrincipalFrom(ctx)
	if p.UserID == 0 {
		return nil, nil
	}
	tasks, err := s.tasksOf(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	var out []PersonTask
	seen := map[int64]store.Engagement{}
	for _, t := range tasks {
		e, ok := seen[t.EngagementID]
		if !ok {
			if e, err = s.Store.Engagement(ctx, t.EngagementID); err != nil {
				return nil, err
			}
			seen[t.EngagementID] = e
		}
		if p.Sees(e.CustomerID) {
			out = append(out, PersonTask{EngagementTask: t, Engagement: e})
		}
	}
	return out, nil
}

// MyTasks lists the tasks of an account's roles, across engagements:
// person is the account's e-mail or number.
func (s *Service) MyTasks(ctx context.Context, person string) ([]store.EngagementTask, error) {
	u, err := s.Account(ctx, person)
	if err != nil {
		return nil, err
	}
	return s.tasksOf(ctx, u.ID)
}

func (s *Service) tasksOf(ctx context.Context, userID int64) ([]store.EngagementTask, error) {
	as, err := s.Store.AssignmentsOf(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []store.EngagementTask
	cache := map[int64][]store.EngagementTask{}
	for _, a := range as {
		tasks, ok := cache[a.EngagementID]
		if !ok {
			if tasks, err = s.Store.EngagementTasks(ctx, a.EngagementID); err != nil {
				return nil, err
			}
			cache[a.EngagementID] = tasks
		}
		for _, t := range tasks {
			if t.Role == a.Role && !t.Retired {
				out = append(out, t)
			}
		}
	}
	return out, nil
}
