package engagements

import (
	"cmp"
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

// Blocker is something in a gate's way.
type Blocker struct {
	TaskID string `json:"task_id,omitempty"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Why    string `json:"why"`
}

func (b Blocker) String() string {
	if b.TaskID != "" {
		return fmt.Sprintf("%s %s (%s)", b.TaskID, b.Name, b.Status)
	}
	return fmt.Sprintf("%s (%s)", b.Name, b.Status)
}

// Gate is whether a phase may be exited, and what stands in the way.
type Gate struct {
	Phase    string    `json:"phase"`
	ExitTask string    `json:"exit_task"`
	Exited   bool      `json:"exited"`
	CanExit  bool      `json:"can_exit"`
	Blockers []Blocker `json:"blockers,omitempty"`
}

// resolvedStates close a remediation checklist item.
var resolvedStates = []string{"resolved", "wont-fix", StateWaived}

// gateInputs are the records the exit gates read, loaded once per evaluation.
type gateInputs struct {
	engagement  store.Engagement
	tasks       []store.EngagementTask
	exits       []store.PhaseExit
	checklist   []store.ChecklistItem
	assignments []store.Assignment
	events      []store.ScheduledEvent
	plan        *store.SuccessPlan // nil: none yet
	// unmigrated are the items whose last Full pass did not complete,
	// loaded only when a phase names migrations-completed.
	unmigrated []Blocker
}

// gateInputs loads what the gates read; the migrations (every item and run
// of the customer's projects) only when migrations says which phases need
// them: all of them for a read of the gates, or those whose exit task is
// being completed or is Complete.
func (s *Service) gateInputs(ctx context.Context, id int64, migrations func([]store.EngagementTask) bool) (*gateInputs, error) {
	in := &gateInputs{}
	var err error
	if in.engagement, err = s.Store.Engagement(ctx, id); err != nil {
		return nil, err
	}
	if in.tasks, err = s.Store.EngagementTasks(ctx, id); err != nil {
		return nil, err
	}
	if in.exits, err = s.Store.PhaseExits(ctx, id); err != nil {
		return nil, err
	}
	if in.checklist, err = s.Store.ChecklistItems(ctx, id); err != nil {
		return nil, err
	}
	if in.assignments, err = s.Store.Assignments(ctx, id); err != nil {
		return nil, err
	}
	if in.events, err = s.Store.Events(ctx, id); err != nil {
		return nil, err
	}
	if plan, err := s.Store.SuccessPlan(ctx, id); err == nil {
		in.plan = &plan
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if migrations(in.tasks) {
		if in.unmigrated, err = s.unmigrated(ctx, in.engagement); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// unmigrated lists the items of the engagement's migration projects (its
// own, and the customer's that belong to no engagement) whose last Full
// pass did not complete (without errors).
func (s *Service) unmigrated(ctx context.Context, e store.Engagement) ([]Blocker, error) {
	projects, err := s.Store.ProjectsOf(ctx, e.CustomerID)
	if err != nil {
		return nil, err
	}
	var out []Blocker
	for _, p := range projects {
		if p.EngagementID != 0 && p.EngagementID != e.ID {
			continue // another engagement's migration
		}
		runs, err := s.Store.ProjectRuns(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		lastFull := map[int64]store.Run{}
		for _, r := range runs { // oldest first: the last one wins
			if r.Pass == "full" && !r.Ended.IsZero() {
				lastFull[r.ItemID] = r.Run
			}
		}
		items, _, err := s.Store.Items(ctx, p.ID, store.ItemFilter{})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			r, ok := lastFull[it.ID]
			switch {
			case !ok:
				out = append(out, Blocker{Name: fmt.Sprintf("%s: %s", p.Name, it.Source), Status: it.Status, Why: "no finished Full pass"})
			case r.Status != "completed":
				out = append(out, Blocker{Name: fmt.Sprintf("%s: %s", p.Name, it.Source), Status: it.Status,
					Why: fmt.Sprintf("its last Full pass (ended %s) %s", r.Ended.UTC().Format("2006-01-02 15:04 UTC"), r.Status)})
			}
		}
	}
	return out, nil
}

// criteria lists what stands between a phase's exit task and Complete: its
// other mandatory tasks, and the exit criteria the playbook names for it.
func (s *Service) criteria(in *gateInputs, ph *playbook.Phase) []Blocker {
	var out []Blocker
	for _, t := range in.tasks {
		if t.Phase != ph.Name || t.Retired || t.TaskID == ph.ExitGate {
			continue
		}
		if t.Mandatory && !done(t.Status) {
			out = append(out, Blocker{TaskID: t.TaskID, Name: t.Name, Status: t.Status, Why: "mandatory, not Complete or Not Required"})
		}
	}
	for _, c := range ph.ExitCriteria {
		switch c {
		case playbook.CriterionChecklistResolved:
			for _, it := range in.checklist {
				if !slices.Contains(resolvedStates, it.State) {
					out = append(out, Blocker{Name: "checklist: " + it.Title, Status: it.State, Why: "remediation checklist item not resolved or waived"})
				}
			}
		case playbook.CriterionMigrationsCompleted:
			if len(in.engagement.Workloads) > 0 {
				out = append(out, in.unmigrated...)
			}
		case playbook.CriterionKickoffHeld:
			held := slices.ContainsFunc(in.events, func(ev store.ScheduledEvent) bool {
				return ev.Kind == "meeting" && strings.Contains(strings.ToLower(ev.Title), "kickoff") && !ev.Starts.After(s.now())
			})
			if !held {
				out = append(out, Blocker{Name: "kickoff meeting", Status: "not held", Why: "schedule a meeting titled Kickoff; the phase exits once it has started"})
			}
		case playbook.CriterionRolesAssigned:
			var missing []string
			for _, t := range in.tasks {
				if !t.Mandatory || t.Retired || slices.Contains(missing, t.Role) {
					continue
				}
				if !slices.ContainsFunc(in.assignments, func(a store.Assignment) bool { return a.Role == t.Role }) {
					missing = append(missing, t.Role)
				}
			}
			for _, role := range missing {
				name := role // the playbook's name for it, as people know the role
				if ro, ok := s.Playbook.Role(role); ok {
					name = ro.Name
				}
				out = append(out, Blocker{Name: "role " + name, Status: "nobody assigned", Why: "a role with mandatory tasks needs a person"})
			}
		case playbook.CriterionSuccessPlan:
			if in.plan == nil {
				out = append(out, Blocker{Name: "success plan", Status: "none", Why: "record the success plan: the customer's goals and outcomes, its owner and the date it was agreed"})
			}
		}
	}
	return out
}

// Gates evaluates every phase's exit gate. A gate task that is Complete
// while what it names no longer holds is reopened first (see reopenGates).
func (s *Service) Gates(ctx context.Context, id int64) ([]Gate, error) {
	if _, err := s.engagement(ctx, auth.ActionReadGates, id); err != nil {
		return nil, err
	}
	in, err := s.reopenGates(ctx, id, true)
	if err != nil {
		return nil, err
	}
	var out []Gate
	earlierOpen := []string{}
	for _, ph := range s.Playbook.Phases {
		g := Gate{Phase: ph.Name, ExitTask: ph.ExitGate}
		g.Exited = slices.ContainsFunc(in.exits, func(x store.PhaseExit) bool { return x.Phase == ph.Name })
		for _, name := range earlierOpen {
			g.Blockers = append(g.Blockers, Blocker{Name: "phase " + name, Status: "not exited", Why: "phases exit in order"})
		}
		exitDone := ph.ExitGate == ""
		if i := slices.IndexFunc(in.tasks, func(t store.EngagementTask) bool { return t.TaskID == ph.ExitGate && !t.Retired }); i >= 0 {
			t := in.tasks[i]
			exitDone = t.Status == Complete
			if !exitDone {
				g.Blockers = append(g.Blockers, Blocker{TaskID: t.TaskID, Name: t.Name, Status: t.Status, Why: "the exit task is not Complete"})
			}
		}
		g.Blockers = append(g.Blockers, s.criteria(in, ph)...)
		g.CanExit = exitDone && len(g.Blockers) == 0
		if !g.Exited {
			earlierOpen = append(earlierOpen, ph.Name)
		}
		out = append(out, g)
	}
	return out, nil
}

func readsMigrations(ph *playbook.Phase) bool {
	return slices.Contains(ph.ExitCriteria, playbook.CriterionMigrationsCompleted)
}

// exitPhaseOf returns the phase a task closes, or nil.
func (s *Service) exitPhaseOf(t store.EngagementTask) *playbook.Phase {
	ph, ok := s.Playbook.Phase(t.Phase)
	if !ok || ph.ExitGate != t.TaskID {
		return nil
	}
	return ph
}

// checkGateTask refuses to complete a phase's exit task while what it
// names does not hold.
func (s *Service) checkGateTask(ctx context.Context, t store.EngagementTask) error {
	ph := s.exitPhaseOf(t)
	if ph == nil {
		return nil
	}
	in, err := s.gateInputs(ctx, t.EngagementID, func([]store.EngagementTask) bool { return readsMigrations(ph) })
	if err != nil {
		return err
	}
	if blockers := s.criteria(in, ph); len(blockers) > 0 {
		return fault.RefusedBy(t.TaskID, "%s %q cannot be Complete yet; in the way: %s", t.TaskID, t.Name, blockerList(blockers))
	}
	return nil
}

func blockerList(bs []Blocker) string {
	var names []string
	for _, b := range bs {
		s := b.String()
		if b.Why != "" {
			s += ": " + b.Why
		}
		names = append(names, s)
	}
	return strings.Join(names, "; ")
}

// gateChecker is who the history names when Ferry reopens a gate task.
const gateChecker = "Ferry (exit gate check)"

// reopenGates sets every Complete exit task whose criteria no longer hold
// back to In Progress, with a history entry saying why. It runs when the
// gates are read and after the records they read change (checklist items,
// finished passes), and returns the inputs it evaluated.
func (s *Service) reopenGates(ctx context.Context, id int64, all bool) (*gateInputs, error) {
	// Reading the migrations costs a pass over every item: only when a
	// signed-off exit task depends on them, unless the caller shows them.
	migrations := func(tasks []store.EngagementTask) bool {
		return all || slices.ContainsFunc(tasks, func(t store.EngagementTask) bool {
			ph := s.exitPhaseOf(t)
			return ph != nil && t.Status == Complete && readsMigrations(ph)
		})
	}
	in, err := s.gateInputs(ctx, id, migrations)
	if err != nil {
		return nil, err
	}
	reopened := false
	for _, t := range in.tasks {
		ph := s.exitPhaseOf(t)
		if ph == nil || t.Retired || t.Status != Complete {
			continue
		}
		blockers := s.criteria(in, ph)
		if len(blockers) == 0 {
			continue
		}
		t.Status = InProgress
		evs := []store.TaskEvent{
			{Who: gateChecker, Field: "status", Before: Complete, After: InProgress},
			{Who: gateChecker, Field: "reopened", After: "no longer holds: " + blockerList(blockers)},
		}
		if err := s.Store.UpdateEngagementTask(ctx, t, evs); err != nil {
			return nil, err
		}
		reopened = true
	}
	if reopened {
		return s.gateInputs(ctx, id, migrations)
	}
	return in, nil
}

// Reevaluate reopens the gate tasks of the engagements of a customer whose
// criteria no longer hold; the projects service calls it when a pass ends.
func (s *Service) Reevaluate(ctx context.Context, customerID int64) error {
	es, err := s.Store.EngagementsOf(ctx, customerID)
	if err != nil {
		return err
	}
	for _, e := range es {
		if _, err := s.reopenGates(ctx, e.ID, false); err != nil {
			return err
		}
	}
	return nil
}

// ExitPhase records the exit of a phase, or refuses naming what is in the way.
func (s *Service) ExitPhase(ctx context.Context, id int64, phase, who string) error {
	if _, err := s.engagement(ctx, auth.ActionExitPhase, id); err != nil {
		return err
	}
	gates, err := s.Gates(ctx, id)
	if err != nil {
		return err
	}
	for _, g := range gates {
		if !strings.EqualFold(g.Phase, phase) {
			continue
		}
		if g.Exited {
			return nil
		}
		if !g.CanExit {
			refusal := fault.RefusedBy(cmp.Or(g.ExitTask, "exit-"+strings.ToLower(g.Phase)), "%s cannot be exited yet; in the way: %s", g.Phase, blockerList(g.Blockers))
			refusal.Field = "phase"
			return refusal
		}
		return s.Store.ExitPhase(ctx, store.PhaseExit{EngagementID: id, Phase: g.Phase, Who: who, At: s.now()})
	}
	return fault.InvalidField("phase", "unknown phase %q; the playbook's phases are Initiate, Assess, Remediate, Enable and Migrate", phase)
}

// MigrationBlockers lists the open prerequisites of migration for a
// customer: tasks the playbook marks as migration prerequisites (core
// onboarding, identity synchronization 1141, and the playbook's hybrid
// tasks 3157-3160 when hybrid is in scope) in any of its engagements. A customer without an
// engagement has none.
func (s *Service) MigrationBlockers(ctx context.Context, customerID int64) ([]Blocker, error) {
	es, err := s.Store.EngagementsOf(ctx, customerID)
	if err != nil {
		return nil, err
	}
	var out []Blocker
	for _, e := range es {
		tasks, err := s.Store.EngagementTasks(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range tasks {
			pt, ok := s.Playbook.Task(t.TaskID)
			if t.Retired || !ok || !pt.MigrationPrerequisite || done(t.Status) {
				continue
			}
			if pt.Hybrid && !e.Hybrid { // engagements from before hybrid tasks were retired by scope
				continue
			}
			out = append(out, Blocker{TaskID: t.TaskID, Name: t.Name, Status: t.Status, Why: "migration prerequisite"})
		}
	}
	return out, nil
}

// CheckMigration is the gate migration passes go through: Verify
// credentials and Trial always run; other passes wait for the
// prerequisites unless an override in force covers the project. It
// returns nil when the pass may run, or a refusal (fault.Refused) whose
// Rule is the first prerequisite's task ID ("migration-gate" when that
// prerequisite has none) and whose message names them all.
func (s *Service) CheckMigration(ctx context.Context, customerID, projectID int64, pass string) error {
	if pass == "verify" || pass == "trial" {
		return nil
	}
	blockers, err := s.MigrationBlockers(ctx, customerID)
	if err != nil || len(blockers) == 0 {
		return err
	}
	overrides, err := s.Store.GateOverrides(ctx, customerID)
	if err != nil {
		return err
	}
	now := s.now()
	if slices.ContainsFunc(overrides, func(g store.GateOverride) bool { return g.ActiveAt(now, projectID) }) {
		return nil
	}
	var names []string
	for _, b := range blockers {
		names = append(names, b.String())
	}
	rule := cmp.Or(blockers[0].TaskID, "migration-gate")
	refusal := fault.RefusedBy(rule, "migration passes other than Verify credentials and Trial wait for: %s; finish them, or the %s may override with a recorded reason",
		strings.Join(names, "; "), s.overrideRoleName())
	refusal.Err = ErrMigrationGate
	return refusal
}

// ErrMigrationGate is in the chain of every refusal by the migration gate
// (errors.Is), so that a door says "the migration gate refused" for the
// gate's refusals and for no other rule's.
var ErrMigrationGate = errors.New("the migration gate refused")

// OverriddenForAll reports whether one of the overrides is in force for
// every project of the customer (not revoked, not expired, not limited).
func (s *Service) OverriddenForAll(overrides []store.GateOverride) bool {
	now := s.now()
	return slices.ContainsFunc(overrides, func(g store.GateOverride) bool { return g.ProjectID == 0 && g.ActiveAt(now, 0) })
}

// overrideRole is the playbook role that may override the migration gate:
// the role that signs off the Migrate phase (its exit task's role).
func (s *Service) overrideRole() string {
	if ph, ok := s.Playbook.Phase("Migrate"); ok {
		if t, ok := s.Playbook.Task(ph.ExitGate); ok {
			return t.Role
		}
	}
	return "ftm"
}

func (s *Service) overrideRoleName() string {
	if r, ok := s.Playbook.Role(s.overrideRole()); ok {
		return r.Name
	}
	return s.overrideRole()
}

// OverrideInput is an override of the migration gate.
type OverrideInput struct {
	Reason string `json:"reason"`
	// ProjectID limits the override to one of the customer's projects; 0: all.
	ProjectID int64 `json:"project_id,omitempty"`
	// Expires is the last day (UTC, 2026-12-24) the override holds; "": until revoked.
	Expires string `json:"expires,omitempty"`
}

// mayOverride lets administrators and the people holding the override role
// in one of the customer's engagements override or revoke.
func (s *Service) mayOverride(ctx context.Context, customerID int64) (*auth.Principal, error) {
	if err := authorize(ctx, auth.ActionOverrideGate, customerID); err != nil {
		return nil, err
	}
	p := auth.PrincipalFrom(ctx)
	if p.Role == auth.Administrator {
		return p, nil
	}
	es, err := s.Store.EngagementsOf(ctx, customerID)
	if err != nil {
		return nil, err
	}
	role := s.overrideRole()
	for _, e := range es {
		as, err := s.Store.Assignments(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(as, func(a store.Assignment) bool { return a.Role == role && Holds(p, a) }) {
			return p, nil
		}
	}
	return nil, fault.New(fault.Forbidden, "%s is not the %s of an engagement of customer %d; only they override the migration gate, in their own name",
		p.Name, s.overrideRoleName(), customerID)
}

// Override lets migration passes run before their prerequisites, recorded
// as the signed-in person, who must hold the role the playbook gives the
// gate (or be an administrator), with a reason, optionally for one project
// and until a day.
func (s *Service) Override(ctx context.Context, customerID int64, in OverrideInput) (store.GateOverride, error) {
	p, err := s.mayOverride(ctx, customerID)
	if err != nil {
		return store.GateOverride{}, err
	}
	if strings.TrimSpace(in.Reason) == "" {
		return store.GateOverride{}, fault.InvalidField("reason", "an override needs a reason for the record")
	}
	g := store.GateOverride{CustomerID: customerID, Who: p.Name, Reason: strings.TrimSpace(in.Reason), At: s.now(), ProjectID: in.ProjectID}
	if in.ProjectID != 0 {
		pr, err := s.Store.Project(ctx, in.ProjectID)
		if err != nil || pr.CustomerID != customerID {
			return g, fault.InvalidField("project_id", "customer %d has no project %d; leave project_id out to override for all its projects", customerID, in.ProjectID)
		}
	}
	if in.Expires != "" {
		day, err := time.Parse("2006-01-02", in.Expires)
		if err != nil {
			return g, fault.InvalidField("expires", "%q: write the last day the override holds as 2026-12-24", in.Expires)
		}
		if err := checkDate("expires", day); err != nil {
			return g, err
		}
		g.Expires = day.AddDate(0, 0, 1) // through the whole day, UTC
		if !g.Expires.After(g.At) {
			return g, fault.InvalidField("expires", "%s is in the past; give the last day the override holds", in.Expires)
		}
	}
	return g, s.Store.AddGateOverride(ctx, &g)
}

// RevokeOverride ends an override now, recording who ended it and why.
func (s *Service) RevokeOverride(ctx context.Context, customerID, overrideID int64, reason string) (store.GateOverride, error) {
	p, err := s.mayOverride(ctx, customerID)
	if err != nil {
		return store.GateOverride{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return store.GateOverride{}, fault.InvalidField("reason", "say why the override ends, for the record")
	}
	gs, err := s.Store.GateOverrides(ctx, customerID)
	if err != nil {
		return store.GateOverride{}, err
	}
	i := slices.IndexFunc(gs, func(g store.GateOverride) bool { return g.ID == overrideID })
	if i < 0 {
		return store.GateOverride{}, fault.New(fault.NotFound, "customer %d has no gate override %d", customerID, overrideID)
	}
	g := gs[i]
	if !g.RevokedAt.IsZero() {
		return g, nil
	}
	g.RevokedAt, g.RevokedBy, g.RevokeReason = s.now(), p.Name, strings.TrimSpace(reason)
	return g, s.Store.RevokeGateOverride(ctx, g)
}

// testMigrationTask is the playbook task a completed Trial pass moves
// ("Perform Test Migration and Validation").
const testMigrationTask = "2474"

// passMover is who the history names when a pass moves a task.
const passMover = "Ferry (migration passes)"

// PassEnded takes a finished pass of a project's item into the customer's
// engagements: gate tasks whose criteria stopped holding reopen (a Full
// pass that did not complete; the work is a pass over the projects' items
// only while 1702 is signed off), and a completed Trial moves the test migration task
// 2474 In Progress, Complete once every item of the project has
// completed its Trial, with a link to the item's passes.
func (s *Service) PassEnded(ctx context.Context, p store.Project, it store.Item, pass string) error {
	// Only a Full pass that did not complete can undo a gate (1702).
	if pass == "full" && it.Status != store.StatusCompleted {
		if err := s.Reevaluate(ctx, p.CustomerID); err != nil {
			return err
		}
	}
	if pass != "trial" || it.Status != store.StatusCompletedTrial {
		return nil
	}
	items, _, err := s.Store.Items(ctx, p.ID, store.ItemFilter{})
	if err != nil {
		return err
	}
	allTried := !slices.ContainsFunc(items, func(x store.Item) bool {
		return x.Status != store.StatusCompletedTrial && x.Status != store.StatusCompletedPrestage && x.Status != store.StatusCompleted
	})
	es, err := s.Store.EngagementsOf(ctx, p.CustomerID)
	if err != nil {
		return err
	}
	link := fmt.Sprintf("Trial of %s completed in project %s: /projects/%d/items/%d", it.Source, p.Name, p.ID, it.ID)
	for _, e := range es {
		tasks, err := s.Store.EngagementTasks(ctx, e.ID)
		if err != nil {
			return err
		}
		for _, t := range tasks {
			if t.TaskID != testMigrationTask || t.Retired || done(t.Status) {
				continue
			}
			want := InProgress
			if allTried {
				want = Complete
			}
			if t.Status == want {
				continue
			}
			evs := []store.TaskEvent{{Who: passMover, Field: "status", Before: t.Status, After: want}, {Who: passMover, Field: "notes", Before: t.Notes, After: link}}
			t.Status, t.Notes = want, link
			if want == Complete {
				evs = append(evs, store.TaskEvent{Who: passMover, Field: "percent", Before: fmt.Sprint(t.Percent), After: "100"})
				t.Percent = 100
			}
			if err := s.Store.UpdateEngagementTask(ctx, t, evs); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---- Remediation checklist, post-migration issues, scheduled events

var severities = []string{"low", "medium", "high", "critical"}
var checklistStates = []string{"open", "in-progress", "resolved", "wont-fix"}

// ChecklistInput adds or changes a remediation checklist item.
type ChecklistInput struct {
	Title    string    `json:"title"`
	Severity string    `json:"severity"`
	Owner    string    `json:"owner,omitempty"`
	State    string    `json:"state,omitempty"`
	Notes    string    `json:"notes,omitempty"`
	Source   string    `json:"source"` // "person", or the tool that found it ("preflight"); required
	Due      time.Time `json:"due,omitzero"`
}

// AddChecklistItem adds a remediation item (by hand, or from an assessment tool through the API).
func (s *Service) AddChecklistItem(ctx context.Context, id int64, in ChecklistInput) (store.ChecklistItem, error) {
	e, err := s.engagement(ctx, auth.ActionAddChecklistItem, id)
	if err != nil {
		return store.ChecklistItem{}, err
	}
	if strings.TrimSpace(in.Title) == "" {
		return store.ChecklistItem{}, fault.InvalidField("title", "a checklist item needs a title")
	}
	if in.State == "" {
		in.State = "open"
	}
	if err := checkChoice("severity", in.Severity, severities); err != nil {
		return store.ChecklistItem{}, err
	}
	if err := checkChoice("state", in.State, checklistStates); err != nil {
		return store.ChecklistItem{}, err
	}
	if err := s.checkChecklistInput(ctx, e.CustomerID, &in); err != nil {
		return store.ChecklistItem{}, err
	}
	c := store.ChecklistItem{EngagementID: id, Title: in.Title, Severity: in.Severity, Owner: in.Owner, State: in.State, Notes: in.Notes, Source: in.Source, Due: in.Due}
	if err := s.Store.SaveChecklistItem(ctx, &c); err != nil {
		return c, err
	}
	_, err = s.reopenGates(ctx, id, false)
	return c, err
}

// UpdateChecklistItem changes state, owner or notes.
func (s *Service) UpdateChecklistItem(ctx context.Context, id, itemID int64, state, owner, notes *string) (store.ChecklistItem, error) {
	return s.EditChecklistItem(ctx, id, itemID, ChecklistEdit{State: state, Owner: owner, Notes: notes})
}

// ChecklistEdit changes a checklist item; nil fields stay.
type ChecklistEdit struct {
	State *string `json:"state,omitempty"`
	// Owner is an account's e-mail ("" clears it).
	Owner *string `json:"owner,omitempty"`
	Notes *string `json:"notes,omitempty"`
	// Due is the day the item is due, 2026-12-24 ("" clears it).
	Due *string `json:"due,omitempty"`
}

// EditChecklistItem changes an item's state, owner, notes or due date
// (seed 002: "establish the timeline for remediation activities").
func (s *Service) EditChecklistItem(ctx context.Context, id, itemID int64, u ChecklistEdit) (store.ChecklistItem, error) {
	state, owner, notes := u.State, u.Owner, u.Notes
	e, err := s.engagement(ctx, auth.ActionUpdateChecklistItem, id)
	if err != nil {
		return store.ChecklistItem{}, err
	}
	items, err := s.Store.ChecklistItems(ctx, id)
	if err != nil {
		return store.ChecklistItem{}, err
	}
	i := slices.IndexFunc(items, func(c store.ChecklistItem) bool { return c.ID == itemID })
	if i < 0 {
		return store.ChecklistItem{}, fault.InvalidField("item", "engagement %d has no checklist item %d", id, itemID)
	}
	c := items[i]
	if state != nil {
		if *state == StateWaived {
			return c, fault.InvalidField("state", "an item is waived with a reason: use waive (ferry checklist waive, POST /api/v1/engagements/%d/checklist/%d/waive)", id, itemID)
		}
		if err := checkChoice("state", *state, checklistStates); err != nil {
			return c, err
		}
		c.State = *state
	}
	if owner != nil {
		if c.Owner, err = s.account(ctx, e.CustomerID, "owner", *owner, auth.ActionUpdateChecklistItem); err != nil {
			return c, err
		}
	}
	if notes != nil {
		c.Notes = *notes
	}
	if u.Due != nil {
		c.Due = time.Time{}
		if d := strings.TrimSpace(*u.Due); d != "" {
			day, err := time.Parse("2006-01-02", d)
			if err != nil {
				return c, fault.InvalidField("due", "%q: write the day the item is due as 2026-12-24 (empty: no due date)", *u.Due)
			}
			if err := checkDate("due", day); err != nil {
				return c, err
			}
			c.Due = day
		}
	}
	if err := s.Store.SaveChecklistItem(ctx, &c); err != nil {
		return c, err
	}
	_, err = s.reopenGates(ctx, id, false)
	return c, err
}

func checkChoice(field, v string, choices []string) error {
	if !slices.Contains(choices, v) {
		return fault.InvalidField(field, "%q is not a %s; use one of %s", v, field, strings.Join(choices, ", "))
	}
	return nil
}

// ReportWindowDays is the post-migration reporting window, in business days.
const ReportWindowDays = 5

// AddBusinessDays counts forward skipping Saturdays and Sundays.
func AddBusinessDays(t time.Time, n int) time.Time {
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if t.Weekday() != time.Saturday && t.Weekday() != time.Sunday {
			n--
		}
	}
	return t
}

// IssueInput reports a post-migration issue (tasks 3615, 2543).
type IssueInput struct {
	Mailbox     string    `json:"mailbox"`
	MigratedAt  time.Time `json:"migrated_at"`
	Description string    `json:"description"`
	Owner       string    `json:"owner,omitempty"`
}

// ReportIssue records an issue with its reporting window: five business days
// after the mailbox's migration; a later report is flagged late.
func (s *Service) ReportIssue(ctx context.Context, id int64, in IssueInput) (store.PostMigrationIssue, error) {
	if _, err := s.engagement(ctx, auth.ActionReportIssue, id); err != nil {
		return store.PostMigrationIssue{}, err
	}
	if strings.TrimSpace(in.Mailbox) == "" || strings.TrimSpace(in.Description) == "" {
		return store.PostMigrationIssue{}, fault.InvalidField("mailbox", "say which mailbox and what is wrong")
	}
	e, err := s.Store.Engagement(ctx, id)
	if err != nil {
		return store.PostMigrationIssue{}, err
	}
	if in.Owner, err = s.account(ctx, e.CustomerID, "owner", in.Owner, auth.ActionUpdateIssue); err != nil {
		return store.PostMigrationIssue{}, err
	}
	if !in.MigratedAt.IsZero() {
		if err := checkDate("migrated_at", in.MigratedAt); err != nil {
			return store.PostMigrationIssue{}, err
		}
	}
	if in.MigratedAt.IsZero() {
		at, err := s.migratedAt(ctx, e.CustomerID, strings.TrimSpace(in.Mailbox))
		if err != nil {
			return store.PostMigrationIssue{}, err
		}
		if at.IsZero() {
			return store.PostMigrationIssue{}, fault.InvalidField("migrated_at", "Ferry found no completed Full pass for %s in this customer's migration projects; give the time the mailbox was migrated, to compute the reporting window", in.Mailbox)
		}
		in.MigratedAt = at
	}
	now := s.now()
	p := store.PostMigrationIssue{EngagementID: id, Mailbox: in.Mailbox, MigratedAt: in.MigratedAt, ReportedAt: now,
		Deadline: AddBusinessDays(in.MigratedAt, ReportWindowDays), Owner: in.Owner, Status: "open", Description: in.Description}
	p.Late = now.After(p.Deadline)
	return p, s.Store.SavePostMigrationIssue(ctx, &p)
}

// migratedAt is when the mailbox's last completed Full pass ended, in any
// of the customer's migration projects (the mailbox as source or
// destination, in any case); zero when there is none.
func (s *Service) migratedAt(ctx context.Context, customerID int64, mailbox string) (time.Time, error) {
	var at time.Time
	projects, err := s.Store.ProjectsOf(ctx, customerID)
	if err != nil {
		return at, err
	}
	for _, p := range projects {
		items, _, err := s.Store.Items(ctx, p.ID, store.ItemFilter{Search: mailbox})
		if err != nil {
			return at, err
		}
		for _, it := range items {
			if !strings.EqualFold(it.Source, mailbox) && !strings.EqualFold(it.Dest, mailbox) {
				continue
			}
			runs, err := s.Store.ItemRuns(ctx, it.ID) // the item's own: another customer's item may share the mailbox state
			if err != nil {
				return at, err
			}
			for _, r := range runs {
				if r.Pass == "full" && strings.HasPrefix(r.Status, "completed") && r.Ended.After(at) {
					at = r.Ended
				}
			}
		}
	}
	return at, nil
}

var eventKinds = []string{"migration-window", "wave", "go-no-go", "meeting"}

// EventInput schedules an event (task 1871): times are read in the event's time zone.
type EventInput struct {
	Kind     string `json:"kind"`
	Title    string `json:"title"`
	Starts   string `json:"starts"` // "2026-12-05 18:00"
	Ends     string `json:"ends"`
	TimeZone string `json:"time_zone"` // IANA name, e.g. Europe/Berlin
	Notes    string `json:"notes,omitempty"`
	// Recurrence repeats the event: "FREQ=WEEKLY", "FREQ=WEEKLY;COUNT=12"...
	Recurrence string `json:"recurrence,omitempty"`
}

// ScheduleEvent adds a migration window, wave, go/no-go meeting...
func (s *Service) ScheduleEvent(ctx context.Context, id int64, in EventInput) (store.ScheduledEvent, error) {
	if _, err := s.engagement(ctx, auth.ActionScheduleEvent, id); err != nil {
		return store.ScheduledEvent{}, err
	}
	if err := checkChoice("kind", in.Kind, eventKinds); err != nil {
		return store.ScheduledEvent{}, err
	}
	loc, err := time.LoadLocation(in.TimeZone)
	if err != nil || in.TimeZone == "" {
		return store.ScheduledEvent{}, fault.InvalidField("time_zone", "%q is not a time zone; use an IANA name like Europe/Berlin or America/New_York", in.TimeZone)
	}
	parse := func(field, v string) (time.Time, error) {
		t, err := time.ParseInLocation("2006-01-02 15:04", v, loc)
		if err != nil {
			return t, fault.InvalidField(field, "%q: write the time as 2026-12-05 18:00 (in %s)", v, in.TimeZone)
		}
		return t, checkDate(field, t)
	}
	starts, err := parse("starts", in.Starts)
	if err != nil {
		return store.ScheduledEvent{}, err
	}
	ends, err := parse("ends", in.Ends)
	if err != nil {
		return store.ScheduledEvent{}, err
	}
	if !ends.After(starts) {
		return store.ScheduledEvent{}, fault.InvalidField("ends", "the event ends before it starts")
	}
	if _, err := parseRecurrence(in.Recurrence, loc); err != nil {
		return store.ScheduledEvent{}, err
	}
	ev := store.ScheduledEvent{EngagementID: id, Kind: in.Kind, Title: in.Title, Starts: starts, Ends: ends, TimeZone: in.TimeZone, Notes: in.Notes, Recurrence: in.Recurrence}
	return ev, s.Store.SaveEvent(ctx, &ev)
}

func timeLocation(name string) (*time.Location, error) { return time.LoadLocation(name) }
