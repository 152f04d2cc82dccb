package engagements

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
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
var resolvedStates = []string{"resolved", "wont-fix"}

// Gates evaluates every phase's exit gate.
func (s *Service) Gates(ctx context.Context, id int64) ([]Gate, error) {
	tasks, err := s.Store.EngagementTasks(ctx, id)
	if err != nil {
		return nil, err
	}
	exits, err := s.Store.PhaseExits(ctx, id)
	if err != nil {
		return nil, err
	}
	items, err := s.Store.ChecklistItems(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []Gate
	for _, ph := range s.Playbook.Phases {
		g := Gate{Phase: ph.Name, ExitTask: ph.ExitGate}
		g.Exited = slices.ContainsFunc(exits, func(x store.PhaseExit) bool { return x.Phase == ph.Name })
		exitDone := ph.ExitGate == ""
		for _, t := range tasks {
			if t.Phase != ph.Name || t.Retired {
				continue
			}
			if t.TaskID == ph.ExitGate {
				exitDone = t.Status == Complete
				if !exitDone {
					g.Blockers = append(g.Blockers, Blocker{TaskID: t.TaskID, Name: t.Name, Status: t.Status, Why: "the exit task is not Complete"})
				}
				continue
			}
			if t.Mandatory && !done(t.Status) {
				g.Blockers = append(g.Blockers, Blocker{TaskID: t.TaskID, Name: t.Name, Status: t.Status, Why: "mandatory, not Complete or Not Required"})
			}
		}
		// Gate 1700 reads the remediation checklist.
		if ph.ExitGate == "1700" {
			for _, it := range items {
				if !slices.Contains(resolvedStates, it.State) {
					g.Blockers = append(g.Blockers, Blocker{Name: "checklist: " + it.Title, Status: it.State, Why: "remediation checklist item not resolved"})
				}
			}
		}
		g.CanExit = exitDone && len(g.Blockers) == 0
		out = append(out, g)
	}
	return out, nil
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
			var names []string
			for _, b := range g.Blockers {
				names = append(names, b.String())
			}
			refusal := fault.RefusedBy(g.ExitTask, "%s cannot be exited yet; in the way: %s", g.Phase, strings.Join(names, "; "))
			refusal.Field = "phase"
			return refusal
		}
		return s.Store.ExitPhase(ctx, store.PhaseExit{EngagementID: id, Phase: g.Phase, Who: who, At: s.now()})
	}
	return fault.InvalidField("phase", "unknown phase %q; the playbook's phases are Initiate, Assess, Remediate, Enable and Migrate", phase)
}

// MigrationBlockers lists the open prerequisites of migration for a
// customer: tasks the playbook marks as migration prerequisites (core
// onboarding, identity synchronization 1141, and the hybrid tasks 3157-3160
// when hybrid is in scope) in any of its engagements. A customer without an
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
			if slices.Contains(hybridTasks, t.TaskID) && !e.Hybrid {
				continue
			}
			out = append(out, Blocker{TaskID: t.TaskID, Name: t.Name, Status: t.Status, Why: "migration prerequisite"})
		}
	}
	return out, nil
}

// CheckMigration is the gate migration passes go through: Verify
// credentials and Trial always run; other passes wait for the
// prerequisites unless a FastTrack Manager recorded an override. It
// returns nil when the pass may run, or a refusal (fault.Refused) whose
// Rule is the first prerequisite's task ID ("migration-gate" when that
// prerequisite has none) and whose message names them all.
func (s *Service) CheckMigration(ctx context.Context, customerID int64, pass string) error {
	if pass == "verify" || pass == "trial" {
		return nil
	}
	blockers, err := s.MigrationBlockers(ctx, customerID)
	if err != nil || len(blockers) == 0 {
		return err
	}
	overrides, err := s.Store.GateOverrides(ctx, customerID)
	if err != nil || len(overrides) > 0 {
		return err
	}
	var names []string
	for _, b := range blockers {
		names = append(names, b.String())
	}
	rule := cmp.Or(blockers[0].TaskID, "migration-gate")
	return fault.RefusedBy(rule, "migration passes other than Verify credentials and Trial wait for: %s; finish them, or a FastTrack Manager may override with a recorded reason",
		strings.Join(names, "; "))
}

// Override lets migration passes run before their prerequisites. Only a
// person holding the FastTrack Manager role in one of the customer's
// engagements may do it, and the reason is kept.
func (s *Service) Override(ctx context.Context, customerID int64, who, reason string) (store.GateOverride, error) {
	if err := authorize(ctx, auth.ActionOverrideGate, customerID); err != nil {
		return store.GateOverride{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return store.GateOverride{}, fault.InvalidField("reason", "an override needs a reason for the record")
	}
	as, err := s.Store.AssignmentsOf(ctx, who)
	if err != nil {
		return store.GateOverride{}, err
	}
	es, err := s.Store.EngagementsOf(ctx, customerID)
	if err != nil {
		return store.GateOverride{}, err
	}
	allowed := false
	for _, a := range as {
		for _, e := range es {
			allowed = allowed || (a.EngagementID == e.ID && a.Role == "ftm")
		}
	}
	if !allowed {
		return store.GateOverride{}, fault.InvalidField("who", "%q is not the FastTrack Manager of an engagement of customer %d; only a FastTrack Manager may override", who, customerID)
	}
	g := store.GateOverride{CustomerID: customerID, Who: who, Reason: reason, At: s.now()}
	return g, s.Store.AddGateOverride(ctx, &g)
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
	Source   string    `json:"source"` // "person", or the tool that found it ("pre-flight"); required
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
	return c, s.Store.SaveChecklistItem(ctx, &c)
}

// UpdateChecklistItem changes state, owner or notes.
func (s *Service) UpdateChecklistItem(ctx context.Context, id, itemID int64, state, owner, notes *string) (store.ChecklistItem, error) {
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
	return c, s.Store.SaveChecklistItem(ctx, &c)
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
		return t, nil
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
