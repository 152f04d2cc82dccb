package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/dnscheck"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

func init() {
	addRoutes(
		route{Pattern: "GET /customers/{id}/engagements/new", Action: auth.ActionCreateEngagement, Handle: (*server).newEngagement},
		route{Pattern: "POST /customers/{id}/engagements", Action: auth.ActionCreateEngagement, Handle: (*server).createEngagement},
		route{Pattern: "GET /engagements/{id}", Action: auth.ActionReadEngagement, Handle: (*server).engagement},
		route{Pattern: "GET /engagements/{id}/scope", Action: auth.ActionChangeScope, Handle: (*server).scopeForm},
		route{Pattern: "POST /engagements/{id}/scope", Action: auth.ActionChangeScope, Handle: (*server).changeScope},
		route{Pattern: "GET /engagements/{id}/tasks", Action: auth.ActionListTasks, Handle: (*server).engagementTasks},
		route{Pattern: "GET /engagements/{id}/gates", Action: auth.ActionReadGates, Handle: (*server).engagementGates},
		route{Pattern: "GET /engagements/{id}/progress", Action: auth.ActionReadProgress, Handle: (*server).engagementProgress},
		route{Pattern: "POST /engagements/{id}/phases/{phase}/exit", Action: auth.ActionExitPhase, Handle: (*server).exitPhase},
		route{Pattern: "POST /engagements/{id}/checklist", Action: auth.ActionAddChecklistItem, Handle: (*server).addChecklistItem},
		route{Pattern: "POST /engagements/{id}/checklist/{item}", Action: auth.ActionUpdateChecklistItem, Handle: (*server).updateChecklistItem},
		route{Pattern: "POST /engagements/{id}/checklist/{item}/waive", Action: auth.ActionUpdateChecklistItem, Handle: (*server).waiveChecklistItem},
		route{Pattern: "GET /engagements/{id}/checklist.csv", Action: auth.ActionListChecklist, Handle: (*server).checklistCSV},
		route{Pattern: "POST /engagements/{id}/issues", Action: auth.ActionReportIssue, Handle: (*server).reportIssue},
		route{Pattern: "POST /engagements/{id}/events", Action: auth.ActionScheduleEvent, Handle: (*server).scheduleEvent},
		route{Pattern: "POST /engagements/{id}/people", Action: auth.ActionAssign, Handle: (*server).assignPerson},
		route{Pattern: "POST /engagements/{id}/people/remove", Action: auth.ActionAssign, Handle: (*server).unassignPerson},
		route{Pattern: "POST /engagements/{id}/migration-gate/override", Action: auth.ActionOverrideGate, Handle: (*server).overrideGate},
		route{Pattern: "GET /my/tasks", Action: auth.ActionListMyTasks, Handle: (*server).myTasks},
		route{Pattern: "GET /tasks/{id}/edit", Action: auth.ActionUpdateTask, Handle: (*server).editTask},
		route{Pattern: "POST /tasks/{id}", Action: auth.ActionUpdateTask, Handle: (*server).updateTask},
	)
	funcs["checked"] = func(list []string, v string) bool { return slices.Contains(list, v) }
	funcs["statusClass"] = statusClass
	funcs["inZone"] = inZone
}

// The choices the engagement service accepts (see internal/engagements).
var (
	checklistSeverities = []string{"low", "medium", "high", "critical"}
	checklistStates     = []string{"open", "in-progress", "resolved", "wont-fix"}
	eventKinds          = []string{"migration-window", "wave", "go-no-go", "meeting"}
)

// statusClass groups task statuses for styling: done, active, blocked, or none.
func statusClass(status string) string {
	switch {
	case status == engagements.Complete || status == engagements.NotRequired:
		return "done"
	case engagements.Blocked(status):
		return "blocked"
	case status == engagements.InProgress:
		return "active"
	}
	return ""
}

// inZone shows a time in a named time zone (an event's own), or in the server's.
func inZone(t time.Time, zone string) string {
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		t = t.In(loc)
	} else {
		t = t.Local()
	}
	return t.Format("2006-01-02 15:04")
}

// loadEngagement loads the {id} engagement and checks the route's action on its customer.
func (s *server) loadEngagement(r *http.Request) (store.Engagement, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.Engagement{}, err
	}
	e, err := s.Store.Engagement(r.Context(), id)
	if err != nil {
		return e, err
	}
	return e, s.allow(r, e.CustomerID)
}

// loadTask loads the {id} task and checks the route's action on its engagement's customer.
func (s *server) loadTask(r *http.Request) (store.EngagementTask, store.Engagement, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.EngagementTask{}, store.Engagement{}, err
	}
	t, err := s.Store.EngagementTask(r.Context(), id)
	if err != nil {
		return t, store.Engagement{}, err
	}
	e, err := s.Store.Engagement(r.Context(), t.EngagementID)
	if err != nil {
		return t, e, err
	}
	return t, e, s.allow(r, e.CustomerID)
}

// ---- New engagement

type engagementForm struct {
	Customer  store.Customer
	Scope     *store.Engagement // changing this engagement's scope, not creating one
	Playbook  *playbook.Playbook
	In        engagements.Input
	Seats     string
	Error     string
	Field     string
	Threshold map[string]int
}

func (s *server) newEngagement(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	return s.renderEngagementForm(w, r, http.StatusOK, &engagementForm{Customer: c, In: engagements.Input{Services: []string{"exchange"}}})
}

func (s *server) renderEngagementForm(w http.ResponseWriter, r *http.Request, status int, d *engagementForm) error {
	d.Playbook = s.Engagements.Playbook
	d.Threshold = map[string]int{"onboarding": engagements.OnboardingSeats, "migration": engagements.DataMigrationSeats,
		"enterprise": engagements.EnterpriseSeats}
	title := "New engagement"
	if d.Scope != nil {
		title = "Change scope"
	}
	v := newView(r, title, "customers", d)
	v.Crumbs = []crumb{{"Customers", "/customers"}, {d.Customer.Name, "/customers/" + itoa(d.Customer.ID)}}
	if d.Scope != nil {
		v.Crumbs = append(v.Crumbs, crumb{d.Scope.Name, "/engagements/" + itoa(d.Scope.ID)})
	}
	v.Crumbs = append(v.Crumbs, crumb{title, ""})
	return s.render(w, r, status, "engagement_new.html", v)
}

// submitEngagementForm reads the form's scope fields (and the name) and
// hands them to save, which answers where to go next; a bad number or the
// service's validation error shows the form again, next to its field.
func (s *server) submitEngagementForm(w http.ResponseWriter, r *http.Request, d *engagementForm, save func(engagements.Input) (string, error)) error {
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Msg: "The form could not be read: " + err.Error()}
	}
	d.Seats = r.PostFormValue("seats")
	d.In = engagements.Input{CustomerID: d.Customer.ID, Name: r.PostFormValue("name"), Services: r.PostForm["services"], Workloads: r.PostForm["workloads"],
		Hybrid: r.PostFormValue("hybrid") != "", EnterpriseException: strings.TrimSpace(r.PostFormValue("enterprise_exception"))}
	seats, err := strconv.Atoi(strings.TrimSpace(d.Seats))
	if err != nil || seats < 0 {
		d.Error, d.Field = "write the number of licensed seats, e.g. 600", "seats"
		return s.renderEngagementForm(w, r, http.StatusBadRequest, d)
	}
	d.In.Seats = seats
	to, err := save(d.In)
	if ie, ok := userFault(err); ok {
		d.Error, d.Field = ie.Msg, ie.Field
		return s.renderEngagementForm(w, r, http.StatusBadRequest, d)
	}
	if err != nil {
		return err
	}
	return redirect(w, r, to)
}

// loadEngagementCustomer loads the engagement of the path and its customer.
func (s *server) loadEngagementCustomer(r *http.Request) (store.Engagement, store.Customer, error) {
	e, err := s.loadEngagement(r)
	if err != nil {
		return e, store.Customer{}, err
	}
	c, err := s.Store.Customer(r.Context(), e.CustomerID)
	return e, c, err
}

// scopeForm shows the engagement's scope in the engagement form.
func (s *server) scopeForm(w http.ResponseWriter, r *http.Request) error {
	e, c, err := s.loadEngagementCustomer(r)
	if err != nil {
		return err
	}
	d := &engagementForm{Customer: c, Scope: &e, Seats: strconv.Itoa(e.Seats),
		In: engagements.Input{Seats: e.Seats, Services: e.Services, Workloads: e.Workloads, Hybrid: e.Hybrid, EnterpriseException: e.EnterpriseException}}
	return s.renderEngagementForm(w, r, http.StatusOK, d)
}

func (s *server) changeScope(w http.ResponseWriter, r *http.Request) error {
	e, c, err := s.loadEngagementCustomer(r)
	if err != nil {
		return err
	}
	return s.submitEngagementForm(w, r, &engagementForm{Customer: c, Scope: &e}, func(in engagements.Input) (string, error) {
		added, retired, err := s.Engagements.ChangeScope(r.Context(), e.ID, in, principal(r).Name)
		return fmt.Sprintf("/engagements/%d?added=%d&retired=%d", e.ID, added, retired), err
	})
}

func (s *server) createEngagement(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	return s.submitEngagementForm(w, r, &engagementForm{Customer: c}, func(in engagements.Input) (string, error) {
		e, _, err := s.Engagements.Create(r.Context(), in)
		return "/engagements/" + itoa(e.ID), err
	})
}

// ---- The engagement page

// taskFilter is the task table's selection; empty fields do not filter.
// Due "late" keeps the tasks past their due date and not finished; Sort
// "due" orders by due date, soonest first, tasks without one last (else
// the playbook's order).
type taskFilter struct {
	Service, Phase, Role, Status string
	Due, Sort                    string
	Page                         int // from 1
}

// The task table's due filter and orders.
const (
	dueLate = "late"
	sortDue = "due"
)

// tasksPerPage is the length of a page of the task table.
const tasksPerPage = 50

func (f taskFilter) query() string {
	v := url.Values{"service": {f.Service}}
	for k, x := range map[string]string{"phase": f.Phase, "role": f.Role, "status": f.Status, "due": f.Due, "sort": f.Sort} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if f.Page > 1 {
		v.Set("page", strconv.Itoa(f.Page))
	}
	return v.Encode()
}

// criteria is the filter in the playbook's terms, for checking.
func (f taskFilter) criteria() engagements.TaskFilter {
	one := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	return engagements.TaskFilter{Phases: one(f.Phase), Services: one(f.Service), Roles: one(f.Role), Statuses: one(f.Status)}
}

// PageQuery is the query of another page of the same selection.
func (f taskFilter) PageQuery(page int) string {
	f.Page = page
	return f.query()
}

// matches: a task for every service (no services listed) belongs to each
// service's view; late says whether a task is overdue.
func (f taskFilter) matches(t store.EngagementTask, late func(store.EngagementTask) bool) bool {
	return !t.Retired &&
		(f.Service == "" || len(t.Services) == 0 || slices.Contains(t.Services, f.Service)) &&
		(f.Phase == "" || strings.EqualFold(f.Phase, t.Phase)) &&
		(f.Role == "" || f.Role == t.Role) &&
		(f.Status == "" || f.Status == t.Status) &&
		(f.Due != dueLate || late(t))
}

// byDue orders tasks by due date, soonest first, those without one last;
// ties keep the playbook's order.
func byDue(a, b store.EngagementTask) int {
	switch {
	case a.Due.IsZero() && b.Due.IsZero():
		return 0
	case a.Due.IsZero():
		return 1
	case b.Due.IsZero():
		return -1
	}
	return a.Due.Compare(b.Due)
}

// taskRow is one row of the task table, self-contained so it can be
// rendered alone after an edit.
type taskRow struct {
	T        store.EngagementTask
	RoleName string
	Services string
	CanEdit  bool
	Late     bool // past its due date and not finished
}

type engChoice struct{ ID, Name string }

type engFormError struct{ Section, Field, Msg string }

type engagementData struct {
	E         store.Engagement
	Customer  store.Customer
	Gates     []engagements.Gate
	Progress  *engagements.Progress
	Migration []engagements.Blocker
	Overrides []store.GateOverride
	// GateOpen: an override in force lets every project's passes run.
	GateOpen bool
	// Migrations are the engagement's projects (and the customer's that
	// belong to no engagement), with their throughput.
	Migrations []engagementProject
	Filter     taskFilter
	// FilterErr says why the filter selects nothing: it names a service,
	// role, phase or status the playbook does not have (as the API says).
	FilterErr *engFormError
	Query     string
	Rows      []taskRow
	Total     int // tasks in scope
	Matched   int // tasks the filter selects, on every page
	Pages     int
	First     int // numbers of the first and last rows shown
	Last      int
	Checklist []store.ChecklistItem
	Issues    []store.PostMigrationIssue
	Events    []store.ScheduledEvent
	Upcoming  []engagements.Occurrence // the next occurrences, recurring events repeated
	People    []engagements.Person
	// Plan is the success plan (nil: none yet); Decisions the go/no-go
	// decisions with their evidence; GoNoGoEvents the events they are taken at.
	Plan *store.SuccessPlan
	// Duties are the customer's responsibilities; CanTick: the signed-in
	// person may tick them off (one of the customer's people, or an administrator).
	Duties  []engagements.Responsibility
	CanTick bool
	// Accounts are the enabled accounts that may see the customer: whom
	// the People form can put in a role (only for those who may assign).
	Accounts     []store.User
	Decisions    []engagements.GoNoGo
	GoNoGoEvents []store.ScheduledEvent
	// Domains are the engagement's mail domains and their MX cutover (nil: not shown).
	Domains []dnscheck.DomainStatus

	// IssueStatuses are the statuses an issue can be given.
	IssueStatuses []string

	Services  []engChoice // in scope, for the filter
	AllSvc    []engChoice
	Workloads []engChoice
	Phases    []string
	Roles     []engChoice
	Statuses  []string

	SvcNames map[string]string

	Severities, States, EventKinds []string
	Err                            *engFormError
}

func (s *server) serviceName(id string) string {
	for _, sv := range s.Engagements.Playbook.Services {
		if sv.ID == id {
			return sv.Name
		}
	}
	return id
}

func (s *server) roleName(id string) string {
	if ro, ok := s.Engagements.Playbook.Role(id); ok {
		return ro.Name
	}
	return id
}

// filterFrom reads the task filter; with none given, the table shows every
// task in scope, in the playbook's order.
func (s *server) filterFrom(r *http.Request) taskFilter {
	q := r.URL.Query()
	f := taskFilter{Service: q.Get("service"), Phase: q.Get("phase"), Role: q.Get("role"), Status: q.Get("status")}
	if q.Get("due") == dueLate {
		f.Due = dueLate
	}
	if q.Get("sort") == sortDue {
		f.Sort = sortDue
	}
	f.Page, _ = strconv.Atoi(q.Get("page"))
	f.Page = max(f.Page, 1)
	return f
}

func (s *server) taskRowOf(r *http.Request, e store.Engagement, t store.EngagementTask) taskRow {
	names := make([]string, 0, len(t.Services))
	for _, sv := range t.Services {
		names = append(names, s.serviceName(sv))
	}
	svcs := strings.Join(names, ", ")
	if svcs == "" {
		svcs = "All services"
	}
	return taskRow{T: t, RoleName: s.roleName(t.Role), Services: svcs, CanEdit: can(r, auth.ActionUpdateTask, e.CustomerID), Late: s.Engagements.Late(t)}
}

// engagementData gathers what the engagement page shows.
func (s *server) engagementData(r *http.Request, e store.Engagement) (*engagementData, error) {
	ctx := r.Context()
	pb := s.Engagements.Playbook
	d := &engagementData{E: e, Filter: s.filterFrom(r), Statuses: engagements.Statuses,
		Severities: checklistSeverities, States: checklistStates, EventKinds: eventKinds}
	d.Query = d.Filter.query()
	if err := s.Engagements.CheckTaskFilter(d.Filter.criteria()); err != nil {
		fe, ok := userFault(err)
		if !ok {
			return nil, err
		}
		d.FilterErr = &engFormError{Section: "tasks", Field: fe.Field, Msg: fe.Msg}
	}
	var err error
	if d.Customer, err = s.Store.Customer(ctx, e.CustomerID); err != nil {
		return nil, err
	}
	if d.Gates, err = s.Engagements.Gates(ctx, e.ID); err != nil {
		return nil, err
	}
	if d.Progress, err = s.Engagements.Progress(ctx, e.ID); err != nil {
		return nil, err
	}
	if d.Migration, err = s.Engagements.MigrationBlockers(ctx, e.CustomerID); err != nil {
		return nil, err
	}
	if d.Overrides, err = s.Store.GateOverrides(ctx, e.CustomerID); err != nil {
		return nil, err
	}
	if d.Migrations, err = s.engagementProjects(ctx, e); err != nil {
		return nil, err
	}
	tasks, err := s.Store.EngagementTasks(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	var matched []store.EngagementTask
	for _, t := range tasks {
		if !t.Retired {
			d.Total++
		}
		if d.FilterErr == nil && d.Filter.matches(t, s.Engagements.Late) {
			matched = append(matched, t)
		}
	}
	if d.Filter.Sort == sortDue {
		slices.SortStableFunc(matched, byDue)
	}
	d.Matched = len(matched)
	for i, t := range matched {
		if i >= (d.Filter.Page-1)*tasksPerPage && i < d.Filter.Page*tasksPerPage {
			d.Rows = append(d.Rows, s.taskRowOf(r, e, t))
		}
	}
	d.Pages = (d.Matched + tasksPerPage - 1) / tasksPerPage
	d.First = (d.Filter.Page-1)*tasksPerPage + 1
	d.Last = d.First + len(d.Rows) - 1
	if d.Checklist, err = s.Store.ChecklistItems(ctx, e.ID); err != nil {
		return nil, err
	}
	if d.Issues, err = s.Store.PostMigrationIssues(ctx, e.ID); err != nil {
		return nil, err
	}
	if d.Events, err = s.Store.Events(ctx, e.ID); err != nil {
		return nil, err
	}
	if d.Upcoming, err = s.Engagements.UpcomingEvents(ctx, e.ID, 8); err != nil {
		return nil, err
	}
	if d.Domains, err = s.engagementDomains(r, e); err != nil {
		return nil, err
	}
	d.IssueStatuses = engagements.IssueStatuses
	if d.People, err = s.Engagements.People(ctx, e.ID); err != nil {
		return nil, err
	}
	if err := s.engagementRecords(ctx, e, d); err != nil {
		return nil, err
	}
	d.GateOpen = s.Engagements.OverriddenForAll(d.Overrides)
	d.SvcNames = map[string]string{}
	for _, sv := range pb.Services {
		d.SvcNames[sv.ID] = sv.Name
		d.AllSvc = append(d.AllSvc, engChoice{sv.ID, sv.Name})
		if sv.AlwaysInScope || slices.Contains(e.Services, sv.ID) {
			d.Services = append(d.Services, engChoice{sv.ID, sv.Name})
		}
	}
	for _, wl := range pb.Workloads {
		if slices.Contains(e.Workloads, wl.ID) {
			d.Workloads = append(d.Workloads, engChoice{wl.ID, wl.Name})
		}
	}
	for _, ph := range pb.Phases {
		d.Phases = append(d.Phases, ph.Name)
	}
	for _, ro := range pb.Roles {
		d.Roles = append(d.Roles, engChoice{ro.ID, ro.Name})
	}
	return d, nil
}

func (s *server) renderEngagement(w http.ResponseWriter, r *http.Request, status int, e store.Engagement, fe *engFormError) error {
	d, err := s.engagementData(r, e)
	if err != nil {
		return err
	}
	d.Err = fe
	if d.FilterErr != nil && status == http.StatusOK {
		status = http.StatusBadRequest
	}
	v := newView(r, e.Name, "customers", d)
	q := r.URL.Query()
	if added, err := strconv.Atoi(q.Get("added")); err == nil {
		retired, _ := strconv.Atoi(q.Get("retired"))
		v.Flash = fmt.Sprintf("Scope changed: %d task(s) added, %d retired.", added, retired)
	} else if msg, ok := doneFlash[q.Get("done")]; ok && status == http.StatusOK {
		v.Flash = msg
	}
	v.Crumbs = []crumb{{"Customers", "/customers"}, {d.Customer.Name, "/customers/" + itoa(e.CustomerID)}, {e.Name, ""}}
	return s.render(w, r, status, "engagement.html", v)
}

func (s *server) engagement(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	return s.renderEngagement(w, r, http.StatusOK, e, nil)
}

// engagementPartial answers an htmx request with one section of the page,
// and anything else with the whole page.
func (s *server) engagementPartial(w http.ResponseWriter, r *http.Request, name string) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	if r.Header.Get("HX-Request") == "" {
		to := "/engagements/" + itoa(e.ID)
		if name == "tasks" {
			to += "?" + r.URL.RawQuery
		}
		return redirect(w, r, to)
	}
	d, err := s.engagementData(r, e)
	if err != nil {
		return err
	}
	if name == "tasks" && d.FilterErr != nil {
		// htmx swaps a 4xx answer that says where it goes (app.js).
		w.Header().Set("HX-Retarget", "#tasks")
		w.Header().Set("HX-Reswap", "outerHTML")
		return s.partial(w, http.StatusBadRequest, "engagement.html", name, newView(r, e.Name, "customers", d))
	}
	return s.partial(w, http.StatusOK, "engagement.html", name, newView(r, e.Name, "customers", d))
}

func (s *server) engagementTasks(w http.ResponseWriter, r *http.Request) error {
	return s.engagementPartial(w, r, "tasks")
}

func (s *server) engagementGates(w http.ResponseWriter, r *http.Request) error {
	return s.engagementPartial(w, r, "gates")
}

func (s *server) engagementProgress(w http.ResponseWriter, r *http.Request) error {
	return s.engagementPartial(w, r, "progress")
}

// formDone ends a form of the engagement page: back to its section, or
// the page again with the error next to the form.
func (s *server) formDone(w http.ResponseWriter, r *http.Request, e store.Engagement, section string, err error) error {
	if ie, ok := userFault(err); ok {
		return s.renderEngagement(w, r, http.StatusBadRequest, e, &engFormError{Section: section, Field: ie.Field, Msg: ie.Msg})
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/engagements/"+itoa(e.ID)+"?done="+section+"#"+section)
}

// doneFlash confirms, after the redirect, what a form of the page did.
var doneFlash = map[string]string{
	"gates":     "Gate passed: the phase is done and the next one is open.",
	"checklist": "Checklist saved.",
	"issues":    "Issue saved.",
	"events":    "Event saved.",
	"people":    "People saved.",
	"task":      "Task saved.",
}

func (s *server) exitPhase(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	err = s.Engagements.ExitPhase(r.Context(), e.ID, r.PathValue("phase"), principal(r).Name)
	return s.formDone(w, r, e, "gates", err)
}

func (s *server) addChecklistItem(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	in := engagements.ChecklistInput{Title: r.PostFormValue("title"), Severity: r.PostFormValue("severity"), Owner: r.PostFormValue("owner"),
		Notes: r.PostFormValue("notes"), Source: principal(r).Name}
	_, err = s.Engagements.AddChecklistItem(r.Context(), e.ID, in)
	return s.formDone(w, r, e, "checklist", err)
}

func (s *server) updateChecklistItem(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	itemID, err := pathID(r, "item")
	if err != nil {
		return err
	}
	opt := func(name string) *string {
		if _, ok := r.PostForm[name]; !ok {
			return nil
		}
		v := r.PostFormValue(name)
		return &v
	}
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Msg: "The form could not be read: " + err.Error()}
	}
	_, err = s.Engagements.EditChecklistItem(r.Context(), e.ID, itemID, engagements.ChecklistEdit{State: opt("state"), Owner: opt("owner"), Notes: opt("notes"), Due: opt("due")})
	return s.formDone(w, r, e, "checklist", err)
}

// waiveChecklistItem accepts an item as it is, with the reason given.
func (s *server) waiveChecklistItem(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	itemID, err := pathID(r, "item")
	if err != nil {
		return err
	}
	_, err = s.Engagements.WaiveChecklistItem(r.Context(), e.ID, itemID, r.PostFormValue("reason"))
	return s.formDone(w, r, e, "checklist", err)
}

// checklistCSV downloads the remediation checklist.
func (s *server) checklistCSV(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := s.Engagements.ChecklistCSV(r.Context(), e.ID, &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="checklist-engagement-%d.csv"`, e.ID))
	_, err = w.Write(buf.Bytes())
	return err
}

func (s *server) reportIssue(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	in := engagements.IssueInput{Mailbox: strings.TrimSpace(r.PostFormValue("mailbox")), Description: strings.TrimSpace(r.PostFormValue("description")),
		Owner: strings.TrimSpace(r.PostFormValue("owner"))}
	if v := r.PostFormValue("migrated_at"); v != "" {
		t, err := parseLocalTime(r, v)
		if err != nil {
			return s.formDone(w, r, e, "issues", fault.InvalidField("migrated_at", "%v; write it as 2026-12-05 18:00", err))
		}
		in.MigratedAt = t
	}
	_, err = s.Engagements.ReportIssue(r.Context(), e.ID, in)
	return s.formDone(w, r, e, "issues", err)
}

func (s *server) scheduleEvent(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	in := engagements.EventInput{Kind: r.PostFormValue("kind"), Title: strings.TrimSpace(r.PostFormValue("title")),
		Starts: strings.Replace(strings.TrimSpace(r.PostFormValue("starts")), "T", " ", 1), Ends: strings.Replace(strings.TrimSpace(r.PostFormValue("ends")), "T", " ", 1),
		TimeZone: strings.TrimSpace(r.PostFormValue("time_zone")), Notes: r.PostFormValue("notes"), Recurrence: strings.TrimSpace(r.PostFormValue("recurrence"))}
	_, err = s.Engagements.ScheduleEvent(r.Context(), e.ID, in)
	return s.formDone(w, r, e, "events", err)
}

func (s *server) assignPerson(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	err = s.Engagements.Assign(r.Context(), e.ID, r.PostFormValue("role"), r.PostFormValue("person"))
	return s.formDone(w, r, e, "people", err)
}

func (s *server) unassignPerson(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	err = s.Engagements.Unassign(r.Context(), e.ID, r.PostFormValue("role"), r.PostFormValue("person"))
	return s.formDone(w, r, e, "people", err)
}

// overrideGate lets the customer's migration passes run before their
// prerequisites: the holder of the gate's role decides, in their own name, with a reason.
func (s *server) overrideGate(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	// Recorded as the signed-in person: the form names nobody.
	_, err = s.Engagements.Override(r.Context(), e.CustomerID, engagements.OverrideInput{Reason: strings.TrimSpace(r.PostFormValue("reason"))})
	return s.formDone(w, r, e, "gates", err)
}

// engagementProject is a migration project as the engagement page shows it.
type engagementProject struct {
	store.Project
	Throughput *projects.Throughput
	// Next are the project's next scheduled passes, soonest first.
	Next []projects.NextPass
}

// engagementProjects lists the projects the engagement's Migrate gate
// reads: its own and the customer's that belong to no engagement.
func (s *server) engagementProjects(ctx context.Context, e store.Engagement) ([]engagementProject, error) {
	ps, err := s.Store.ProjectsOf(ctx, e.CustomerID)
	if err != nil {
		return nil, err
	}
	var out []engagementProject
	for _, p := range ps {
		if p.EngagementID != 0 && p.EngagementID != e.ID {
			continue
		}
		tp, err := s.Projects.Throughput(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		next, err := s.Projects.NextPasses(ctx, p.ID, 3)
		if err != nil {
			return nil, err
		}
		out = append(out, engagementProject{Project: p, Throughput: tp, Next: next})
	}
	return out, nil
}

// ---- Tasks

// myTasks lists the signed-in person's tasks, from the roles they hold.
func (s *server) myTasks(w http.ResponseWriter, r *http.Request) error {
	tasks, err := s.Engagements.SignedInTasks(r.Context())
	if err != nil {
		return err
	}
	if len(tasks) == 0 {
		// The customer's people with no playbook task see what the
		// customer does in each phase, and the checklist items they own.
		work, err := s.Engagements.SignedInCustomerWork(r.Context())
		if err != nil {
			return err
		}
		if len(work) > 0 {
			return s.render(w, r, http.StatusOK, "my_responsibilities.html", newView(r, "My tasks", "my-tasks", work))
		}
	}
	return s.render(w, r, http.StatusOK, "my_tasks.html", newView(r, "My tasks", "my-tasks", tasks))
}

type taskData struct {
	E        store.Engagement
	Row      taskRow
	Statuses []string
	Events   []store.TaskEvent
	Time     []store.TimeEntry
	CanLog   bool
	Error    string
	Field    string
	Return   string // the engagement page to go back to
	InDialog bool
}

func (s *server) taskData(r *http.Request, t store.EngagementTask, e store.Engagement) (*taskData, error) {
	d := &taskData{E: e, Row: s.taskRowOf(r, e, t), Statuses: engagements.Statuses, CanLog: can(r, auth.ActionLogTime, e.CustomerID),
		Return: "/engagements/" + itoa(e.ID)}
	var err error
	if d.Events, err = s.Store.TaskEvents(r.Context(), t.ID); err != nil {
		return nil, err
	}
	slices.Reverse(d.Events)
	if len(d.Events) > 10 {
		d.Events = d.Events[:10]
	}
	if d.Time, err = s.Store.TimeEntries(r.Context(), t.ID); err != nil {
		return nil, err
	}
	return d, nil
}

// renderTask writes the task form: into the page's dialog for htmx, as a page otherwise.
func (s *server) renderTask(w http.ResponseWriter, r *http.Request, status int, d *taskData) error {
	v := newView(r, "Task "+d.Row.T.TaskID, "customers", d)
	if r.Header.Get("HX-Request") != "" {
		d.InDialog = true
		return s.partial(w, status, "task.html", "dialog", v)
	}
	v.Crumbs = []crumb{{"Customers", "/customers"}, {d.E.Name, d.Return}, {"Task " + d.Row.T.TaskID, ""}}
	return s.render(w, r, status, "task.html", v)
}

func (s *server) editTask(w http.ResponseWriter, r *http.Request) error {
	t, e, err := s.loadTask(r)
	if err != nil {
		return err
	}
	d, err := s.taskData(r, t, e)
	if err != nil {
		return err
	}
	return s.renderTask(w, r, http.StatusOK, d)
}

// updateTask saves status, percent and notes, and logs time. For htmx it
// answers with the task's new table row, and tells the page (HX-Trigger)
// that gates and progress may have changed and the dialog may close.
func (s *server) updateTask(w http.ResponseWriter, r *http.Request) error {
	t, e, err := s.loadTask(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return &pageError{Status: http.StatusBadRequest, Msg: "The form could not be read: " + err.Error()}
	}
	who := principal(r).Name
	refuse := func(field, msg string) error {
		d, err := s.taskData(r, t, e)
		if err != nil {
			return err
		}
		d.Error, d.Field = msg, field
		if r.Header.Get("HX-Request") != "" {
			// Show the error in the open dialog, not behind it.
			w.Header().Set("HX-Retarget", "#task-dialog-body")
			w.Header().Set("HX-Reswap", "innerHTML")
		}
		return s.renderTask(w, r, http.StatusBadRequest, d)
	}
	minutes := 0
	if v := strings.TrimSpace(r.PostFormValue("minutes")); v != "" && v != "0" {
		if minutes, err = strconv.Atoi(v); err != nil {
			return refuse("minutes", fmt.Sprintf("%q is not a number of minutes", v))
		}
		if err := auth.Authorize(principal(r), auth.ActionLogTime, e.CustomerID); err != nil {
			return err
		}
	}
	var u engagements.TaskUpdate
	if _, ok := r.PostForm["status"]; ok {
		v := r.PostFormValue("status")
		u.Status = &v
	}
	if v, ok := r.PostForm["percent"]; ok && strings.TrimSpace(v[0]) != "" {
		p, err := strconv.Atoi(strings.TrimSpace(v[0]))
		if err != nil {
			return refuse("percent", fmt.Sprintf("%q is not a percentage; use 0 to 100", v[0]))
		}
		// The form always sends the percentage: an unchanged one lets a
		// task set Complete go to 100%.
		if p != t.Percent {
			u.Percent = &p
		}
	}
	if _, ok := r.PostForm["notes"]; ok {
		v := strings.ReplaceAll(r.PostFormValue("notes"), "\r\n", "\n")
		u.Notes = &v
	}
	if v := strings.TrimSpace(r.PostFormValue("due")); v != "" {
		d, err := time.ParseInLocation("2006-01-02", v, time.Local)
		if err != nil {
			return refuse("due", fmt.Sprintf("%q is not a date; write it as 2026-12-05", v))
		}
		u.Due = &d
	}
	// Check the time before changing anything, so a refusal changes nothing.
	if minutes != 0 && (minutes < 1 || minutes > 24*60) {
		return refuse("minutes", "log between 1 and 1440 minutes at a time")
	}
	t, err = s.Engagements.UpdateTask(r.Context(), t.ID, u, who)
	if ie, ok := userFault(err); ok {
		return refuse(ie.Field, ie.Msg)
	}
	if err != nil {
		return err
	}
	if minutes > 0 {
		_, err := s.Engagements.LogTime(r.Context(), t.ID, who, minutes, strings.TrimSpace(r.PostFormValue("time_note")))
		if ie, ok := userFault(err); ok {
			return refuse(ie.Field, ie.Msg)
		}
		if err != nil {
			return err
		}
		if t, err = s.Store.EngagementTask(r.Context(), t.ID); err != nil {
			return err
		}
	}
	if r.Header.Get("HX-Request") == "" {
		return redirect(w, r, "/engagements/"+itoa(e.ID)+"?done=task#task-"+itoa(t.ID))
	}
	trigger, _ := json.Marshal(map[string]string{"gates-changed": "", "close-dialog": "", "ferry-flash": "Task " + t.TaskID + " saved."})
	w.Header().Set("HX-Trigger", string(trigger))
	v := newView(r, e.Name, "customers", s.taskRowOf(r, e, t))
	return s.partial(w, http.StatusOK, "engagement.html", "task-row-view", v)
}
