package api

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// who is the name the request's principal is recorded under.
func who(r *http.Request) string {
	if p := auth.PrincipalFrom(r.Context()); p != nil {
		return p.Name
	}
	return ""
}

// pathInt reads a positive whole number path parameter.
func pathInt(r *http.Request, name string) (int64, error) {
	s := r.PathValue(name)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, invalid(name, "%q is not an id; ids are positive whole numbers", s)
	}
	return id, nil
}

// loadEngagement loads the {id} engagement and checks the principal may act on its customer.
func (s *server) loadEngagement(r *http.Request) (store.Engagement, error) {
	id, err := pathID(r)
	if err != nil {
		return store.Engagement{}, err
	}
	e, err := s.eng.Store.Engagement(r.Context(), id)
	if err != nil {
		return e, err
	}
	return e, s.allow(r, e.CustomerID)
}

// loadTask loads the {id} task and checks the principal may act on its engagement's customer.
func (s *server) loadTask(r *http.Request) (store.EngagementTask, error) {
	id, err := pathID(r)
	if err != nil {
		return store.EngagementTask{}, err
	}
	t, err := s.eng.Store.EngagementTask(r.Context(), id)
	if err != nil {
		return t, err
	}
	e, err := s.eng.Store.Engagement(r.Context(), t.EngagementID)
	if err != nil {
		return t, err
	}
	return t, s.allow(r, e.CustomerID)
}

// ---- Engagements

// EngagementDetail is an engagement with its eligibility, phase gates and people.
type EngagementDetail struct {
	Engagement
	Eligibility []engagements.Rule `json:"eligibility"`
	Gates       []engagements.Gate `json:"gates"`
	People      []Assignment       `json:"people"`
}

func (s *server) engagementDetail(r *http.Request, e store.Engagement) (EngagementDetail, error) {
	d := EngagementDetail{Engagement: engagementOut(e), Eligibility: engagements.Eligibility(engagements.Input{Seats: e.Seats, Services: e.Services,
		Workloads: e.Workloads, Hybrid: e.Hybrid, EnterpriseException: e.EnterpriseException})}
	var err error
	if d.Gates, err = s.eng.Gates(r.Context(), e.ID); err != nil {
		return d, err
	}
	people, err := s.eng.People(r.Context(), e.ID)
	if err != nil {
		return d, err
	}
	d.Gates, d.People = nonNil(d.Gates), convert(people, assignmentOut)
	return d, nil
}

func (s *server) listEngagements(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	es, err := s.eng.Store.EngagementsOf(r.Context(), c.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"engagements": convert(es, engagementOut)})
}

func (s *server) createEngagement(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	var in engagements.Input
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := samePathCustomer(in.CustomerID, c.ID); err != nil {
		return err
	}
	in.CustomerID = c.ID
	e, _, err := s.eng.Create(r.Context(), in)
	if err != nil {
		return err
	}
	d, err := s.engagementDetail(r, e)
	if err != nil {
		return err
	}
	return created(w, fmt.Sprintf("/api/v1/engagements/%d", e.ID), d)
}

func (s *server) getEngagement(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	d, err := s.engagementDetail(r, e)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// ScopeChange changes an engagement's scope; fields left out stay.
type ScopeChange struct {
	Seats               *int      `json:"seats,omitempty"`
	Services            *[]string `json:"services,omitempty"`
	Workloads           *[]string `json:"workloads,omitempty"`
	Hybrid              *bool     `json:"hybrid,omitempty"`
	EnterpriseException *string   `json:"enterprise_exception,omitempty"`
}

// ScopeResult is the engagement after a scope change, with the tasks added and retired.
type ScopeResult struct {
	Added      int              `json:"added"`
	Retired    int              `json:"retired"`
	Engagement EngagementDetail `json:"engagement"`
}

func (s *server) changeScope(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	var ch ScopeChange
	if err := decode(w, r, &ch); err != nil {
		return err
	}
	in := engagements.Input{CustomerID: e.CustomerID, Name: e.Name, Seats: e.Seats, Services: e.Services, Workloads: e.Workloads,
		Hybrid: e.Hybrid, EnterpriseException: e.EnterpriseException}
	if ch.Seats != nil {
		in.Seats = *ch.Seats
	}
	if ch.Services != nil {
		in.Services = *ch.Services
	}
	if ch.Workloads != nil {
		in.Workloads = *ch.Workloads
	}
	if ch.Hybrid != nil {
		in.Hybrid = *ch.Hybrid
	}
	if ch.EnterpriseException != nil {
		in.EnterpriseException = *ch.EnterpriseException
	}
	var res ScopeResult
	if res.Added, res.Retired, err = s.eng.ChangeScope(r.Context(), e.ID, in, who(r)); err != nil {
		return err
	}
	if e, err = s.eng.Store.Engagement(r.Context(), e.ID); err != nil {
		return err
	}
	if res.Engagement, err = s.engagementDetail(r, e); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// ---- Tasks

// queryList reads a query parameter given repeated or comma-separated.
func queryList(q map[string][]string, name string) []string {
	var out []string
	for _, v := range q[name] {
		for x := range strings.SplitSeq(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

func (s *server) listTasks(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	phases, services, roles, statuses := queryList(q, "phase"), queryList(q, "service"), queryList(q, "role"), queryList(q, "status")
	if err := s.eng.CheckTaskFilter(engagements.TaskFilter{Phases: phases, Services: services, Roles: roles, Statuses: statuses}); err != nil {
		return err
	}
	retired, err := queryBool(q, "retired")
	if err != nil {
		return err
	}
	tasks, err := s.eng.Store.EngagementTasks(r.Context(), e.ID)
	if err != nil {
		return err
	}
	out := []store.EngagementTask{}
	for _, t := range tasks {
		switch {
		case t.Retired && !retired,
			len(phases) > 0 && !slices.ContainsFunc(phases, func(p string) bool { return strings.EqualFold(p, t.Phase) }),
			len(services) > 0 && !slices.ContainsFunc(services, func(sv string) bool { return slices.Contains(t.Services, sv) }),
			len(roles) > 0 && !slices.Contains(roles, t.Role),
			len(statuses) > 0 && !slices.Contains(statuses, t.Status):
			continue
		}
		out = append(out, t)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tasks": convert(out, taskOut)})
}

func (s *server) updateTask(w http.ResponseWriter, r *http.Request) error {
	t, err := s.loadTask(r)
	if err != nil {
		return err
	}
	var u engagements.TaskUpdate
	if err := decode(w, r, &u); err != nil {
		return err
	}
	t, err = s.eng.UpdateTask(r.Context(), t.ID, u, who(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, taskOut(t))
}

// TimeInput logs time spent on a task, under the principal's name.
type TimeInput struct {
	Minutes int    `json:"minutes"`
	Note    string `json:"note,omitempty"`
}

func (s *server) logTime(w http.ResponseWriter, r *http.Request) error {
	t, err := s.loadTask(r)
	if err != nil {
		return err
	}
	var in TimeInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	te, err := s.eng.LogTime(r.Context(), t.ID, who(r), in.Minutes, in.Note)
	if err != nil {
		return err
	}
	return created(w, fmt.Sprintf("/api/v1/tasks/%d/history", t.ID), timeEntryOut(te))
}

// TaskHistory is a task with every change made to it and the time logged on it.
type TaskHistory struct {
	Task        EngagementTask `json:"task"`
	Events      []TaskEvent    `json:"events"`
	TimeEntries []TimeEntry    `json:"time_entries"`
}

func (s *server) taskHistory(w http.ResponseWriter, r *http.Request) error {
	t, err := s.loadTask(r)
	if err != nil {
		return err
	}
	events, err := s.eng.Store.TaskEvents(r.Context(), t.ID)
	if err != nil {
		return err
	}
	entries, err := s.eng.Store.TimeEntries(r.Context(), t.ID)
	if err != nil {
		return err
	}
	h := TaskHistory{Task: taskOut(t), Events: convert(events, taskEventOut), TimeEntries: convert(entries, timeEntryOut)}
	return writeJSON(w, http.StatusOK, h)
}

// ---- People

// AssignInput puts a person in one of the playbook's roles.
type AssignInput struct {
	Role   string `json:"role"`
	Person string `json:"person"`
}

func (s *server) assign(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	var in AssignInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if err := s.eng.Assign(r.Context(), e.ID, in.Role, in.Person); err != nil {
		return err
	}
	people, err := s.eng.People(r.Context(), e.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"people": convert(people, assignmentOut)})
}

// unassign takes a person off a role: DELETE .../people?role=frp&person=pat@partner.com.
func (s *server) unassign(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if err := s.eng.Unassign(r.Context(), e.ID, q.Get("role"), q.Get("person")); err != nil {
		return err
	}
	people, err := s.eng.People(r.Context(), e.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"people": convert(people, assignmentOut)})
}

// personTasks lists the tasks of a person's roles across engagements, of
// the customers the principal may see.
func (s *server) personTasks(w http.ResponseWriter, r *http.Request) error {
	person := strings.TrimSpace(r.PathValue("person"))
	if person == "" {
		return invalid("person", "say whose tasks to list")
	}
	tasks, err := s.eng.MyTasks(r.Context(), person)
	if err != nil {
		return err
	}
	out := []store.EngagementTask{}
	if s.allow(r, 0) == nil {
		out = append(out, tasks...)
	} else {
		visible := map[int64]bool{}
		for _, t := range tasks {
			ok, seen := visible[t.EngagementID]
			if !seen {
				e, err := s.eng.Store.Engagement(r.Context(), t.EngagementID)
				if err != nil {
					return err
				}
				ok = s.allow(r, e.CustomerID) == nil
				visible[t.EngagementID] = ok
			}
			if ok {
				out = append(out, t)
			}
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tasks": convert(out, taskOut)})
}

// ---- Gates

func (s *server) gates(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	gs, err := s.eng.Gates(r.Context(), e.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"gates": nonNil(gs)})
}

// findGate returns the gate of a phase (any case).
func findGate(gs []engagements.Gate, phase string) (engagements.Gate, bool) {
	i := slices.IndexFunc(gs, func(g engagements.Gate) bool { return strings.EqualFold(g.Phase, phase) })
	if i < 0 {
		return engagements.Gate{}, false
	}
	return gs[i], true
}

// exitPhase records a phase's exit (200 with its gate), or answers 409
// refused, the problem carrying the gate with its blockers, when it cannot
// be exited yet.
func (s *server) exitPhase(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	phase := r.PathValue("phase")
	err = s.eng.ExitPhase(r.Context(), e.ID, phase, who(r))
	gs, gerr := s.eng.Gates(r.Context(), e.ID)
	if gerr != nil {
		return gerr
	}
	g, known := findGate(gs, phase)
	if err != nil {
		if fe, ok := fault.As(err); known && ok && fe.Kind == fault.Refused {
			ae, _ := errorOf(fe)
			ae.Gate = &g
			return ae
		}
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

// OverrideInput lets migration passes of a customer run before their
// prerequisites: As is the FastTrack Manager taking the decision.
// OverrideInput overrides the migration gate; the override is recorded as
// whoever makes the request.
type OverrideInput = engagements.OverrideInput

func (s *server) overrideGate(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	var in OverrideInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	g, err := s.eng.Override(r.Context(), c.ID, in)
	if err != nil {
		return err
	}
	return created(w, fmt.Sprintf("/api/v1/customers/%d/migration-gate", c.ID), gateOverrideOut(g))
}

// RevokeInput says why an override ends.
type RevokeInput struct {
	Reason string `json:"reason"`
}

func (s *server) revokeOverride(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	oid, err := strconv.ParseInt(r.PathValue("override"), 10, 64)
	if err != nil || oid <= 0 {
		return invalid("override", "%q is not an override id", r.PathValue("override"))
	}
	var in RevokeInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	g, err := s.eng.RevokeOverride(r.Context(), c.ID, oid, in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, gateOverrideOut(g))
}

// MigrationGate is whether a customer's migration passes (other than
// Verify credentials and Trial) wait: the open prerequisites and the overrides recorded.
type MigrationGate struct {
	CustomerID int64                 `json:"customer_id"`
	Blocked    bool                  `json:"blocked"`
	Blockers   []engagements.Blocker `json:"blockers"`
	Overrides  []GateOverride        `json:"overrides"`
}

func (s *server) migrationGate(w http.ResponseWriter, r *http.Request) error {
	c, err := s.loadCustomer(r)
	if err != nil {
		return err
	}
	g := MigrationGate{CustomerID: c.ID}
	if g.Blockers, err = s.eng.MigrationBlockers(r.Context(), c.ID); err != nil {
		return err
	}
	overrides, err := s.eng.Store.GateOverrides(r.Context(), c.ID)
	if err != nil {
		return err
	}
	g.Overrides = convert(overrides, gateOverrideOut)
	g.Blocked = len(g.Blockers) > 0 && !s.eng.OverriddenForAll(overrides)
	g.Blockers = nonNil(g.Blockers)
	return writeJSON(w, http.StatusOK, g)
}

// ---- Remediation checklist

func (s *server) listChecklist(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	switch format := r.URL.Query().Get("format"); format {
	case "", "json":
	case "csv":
		var buf bytes.Buffer
		if err := s.eng.ChecklistCSV(r.Context(), e.ID, &buf); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="checklist-engagement-%d.csv"`, e.ID))
		w.WriteHeader(http.StatusOK)
		_, err = w.Write(buf.Bytes())
		return err
	default:
		return invalid("format", "%q: use csv or json", format)
	}
	items, err := s.eng.Store.ChecklistItems(r.Context(), e.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": convert(items, checklistItemOut)})
}

func (s *server) addChecklistItem(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	var in engagements.ChecklistInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.eng.AddChecklistItem(r.Context(), e.ID, in)
	if err != nil {
		return err
	}
	return created(w, fmt.Sprintf("/api/v1/engagements/%d/checklist/%d", e.ID, c.ID), checklistItemOut(c))
}

// ChecklistUpdate changes a checklist item; fields left out stay.
type ChecklistUpdate struct {
	State *string `json:"state,omitempty"`
	Owner *string `json:"owner,omitempty"`
	Notes *string `json:"notes,omitempty"`
	Due   *string `json:"due,omitempty"` // 2026-12-24; "" clears it
}

func (s *server) updateChecklistItem(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	itemID, err := s.checklistItemOf(r, e)
	if err != nil {
		return err
	}
	var in ChecklistUpdate
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, err := s.eng.EditChecklistItem(r.Context(), e.ID, itemID, engagements.ChecklistEdit{State: in.State, Owner: in.Owner, Notes: in.Notes, Due: in.Due})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, checklistItemOut(c))
}

// ---- Post-migration issues and scheduled events

func (s *server) listIssues(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	is, err := s.eng.Store.PostMigrationIssues(r.Context(), e.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"issues": convert(is, issueOut)})
}

func (s *server) reportIssue(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	var in engagements.IssueInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.eng.ReportIssue(r.Context(), e.ID, in)
	if err != nil {
		return err
	}
	return created(w, fmt.Sprintf("/api/v1/engagements/%d/post-migration-issues", e.ID), issueOut(p))
}

func (s *server) listEvents(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	evs, err := s.eng.Store.Events(r.Context(), e.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"events": convert(evs, eventOut)})
}

func (s *server) scheduleEvent(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	var in engagements.EventInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ev, err := s.eng.ScheduleEvent(r.Context(), e.ID, in)
	if err != nil {
		return err
	}
	return created(w, fmt.Sprintf("/api/v1/engagements/%d/events", e.ID), eventOut(ev))
}

// ---- Progress, report, playbook

func (s *server) progress(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	p, err := s.eng.Progress(r.Context(), e.ID)
	if err != nil {
		return err
	}
	p.ByPhase, p.ByService, p.ByRole = nonNil(p.ByPhase), nonNil(p.ByService), nonNil(p.ByRole)
	return writeJSON(w, http.StatusOK, p)
}

// reportTypes are the Content-Types of the report formats.

func (s *server) report(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "markdown"
	}
	f, ok := engagements.ReportFormats[format]
	if !ok {
		return invalid("format", "%q: export as markdown, csv or json", format)
	}
	rep, err := s.eng.BuildReport(r.Context(), e.ID)
	if err != nil {
		return err
	}
	b, err := rep.Export(format)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}

func (s *server) playbook(w http.ResponseWriter, r *http.Request) error {
	if err := s.allow(r, 0); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.eng.Playbook)
}

// checklistItemOf is the checklist item the path names, refused as not
// found unless it is one of engagement e's.
func (s *server) checklistItemOf(r *http.Request, e store.Engagement) (int64, error) {
	itemID, err := pathInt(r, "item")
	if err != nil {
		return 0, err
	}
	items, err := s.eng.Store.ChecklistItems(r.Context(), e.ID)
	if err != nil {
		return 0, err
	}
	if !slices.ContainsFunc(items, func(c store.ChecklistItem) bool { return c.ID == itemID }) {
		return 0, fmt.Errorf("engagement %d has no checklist item %d: %w", e.ID, itemID, store.ErrNotFound)
	}
	return itemID, nil
}
