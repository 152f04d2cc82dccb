// Package audit records who changed what, when, with the values before and
// after: a store.Store decorator (Wrap) writes an audit entry for every
// change a person makes through the REST API, the portal or the command
// line, that is, for calls whose context carries an auth.Principal. The
// engine's workers carry none; their bookkeeping is not recorded.
//
// The services wrap their store with it (customers.New does), so no door
// can write past the log. Accounts and API tokens are recorded by
// auth.Service itself, which this package cannot serve (it imports auth).
//
// Sealed credentials never reach the log: a change to them is recorded as
// "credentials changed".
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
)

// Wrap returns a store that records people's changes in s's audit log.
// Reads, and changes made without a principal in the context, pass through
// untouched. Wrapping twice records once.
func Wrap(s store.Store) store.Store {
	if _, ok := s.(*auditStore); ok {
		return s
	}
	return &auditStore{Store: s}
}

// Unwrap returns the store under the decorator (s itself when not wrapped).
func Unwrap(s store.Store) store.Store {
	if a, ok := s.(*auditStore); ok {
		return a.Store
	}
	return s
}

type auditStore struct {
	store.Store
}

// Action names not among auth's actions.
const (
	ActionUpdateEndpoint = "endpoints.update"
	ActionUpdateItem     = "items.update"
	ActionUnassign       = "people.unassign"
	ActionEraseCreds     = "projects.erase-credentials"
	ActionUpdateIssue    = "issues.update"
	ActionUpdateEvent    = "events.update"
)

// credentialsChanged stands for any sealed value: the values never reach the log.
const credentialsChanged = "credentials changed"

// who is the person making the change, or "" when nobody is (the engine).
func who(ctx context.Context) string {
	if p := auth.PrincipalFrom(ctx); p != nil {
		if p.Name != "" {
			return p.Name
		}
		return "(unnamed " + p.Kind + ")"
	}
	return ""
}

func (a *auditStore) record(ctx context.Context, person string, e store.AuditEntry) {
	e.Who = person
	if err := a.Store.AddAudit(ctx, &e); err != nil {
		// The change is made; losing its record must not undo or fail it.
		slog.Error("audit: cannot record a change", "who", e.Who, "object", e.Object, "action", e.Action, "err", err)
	}
}

// ---- Before and after

// fields turns a struct into its JSON fields (json:"-" fields, the sealed
// credentials, are not among them), minus skip.
func fields(v any, skip ...string) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	for _, k := range skip {
		delete(m, k)
	}
	return m
}

// text renders fields as short JSON ("" for none).
func text(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Sprint(m)
	}
	return string(b)
}

// diff returns the fields that differ between two values of a struct, before and after.
func diff(before, after any, skip ...string) (b, a map[string]any) {
	fb, fa := fields(before, skip...), fields(after, skip...)
	b, a = map[string]any{}, map[string]any{}
	keys := map[string]bool{}
	for k := range fb {
		keys[k] = true
	}
	for k := range fa {
		keys[k] = true
	}
	for k := range keys {
		vb, okb := fb[k]
		va, oka := fa[k]
		if okb == oka && reflect.DeepEqual(vb, va) {
			continue
		}
		if okb {
			b[k] = vb
		}
		if oka {
			a[k] = va
		}
	}
	return b, a
}

// skipped: what the database decides or computes, not a person.
var generated = []string{"id", "created", "updated"}

func skip(more ...string) []string { return append(slices.Clone(generated), more...) }

func short(s string) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return s
}

func named(kind string, id int64, name string) string {
	if name == "" {
		return fmt.Sprintf("%s %d", kind, id)
	}
	return fmt.Sprintf("%s %d (%s)", kind, id, short(name))
}

// engagementCustomer returns the customer of an engagement (0 when it cannot be read).
func (a *auditStore) engagementCustomer(ctx context.Context, id int64) int64 {
	e, err := a.Store.Engagement(ctx, id)
	if err != nil {
		return 0
	}
	return e.CustomerID
}

func (a *auditStore) projectCustomer(ctx context.Context, id int64) int64 {
	p, err := a.Store.Project(ctx, id)
	if err != nil {
		return 0
	}
	return p.CustomerID
}

// ---- Customers

func (a *auditStore) CreateCustomer(ctx context.Context, c *store.Customer) error {
	if err := a.Store.CreateCustomer(ctx, c); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: c.ID, Object: named("customer", c.ID, c.Name), Action: string(auth.ActionCreateCustomer),
			After: text(fields(c, skip()...))})
	}
	return nil
}

func (a *auditStore) DeleteCustomer(ctx context.Context, id int64) error {
	p := who(ctx)
	var before store.Customer
	if p != "" {
		before, _ = a.Store.Customer(ctx, id)
	}
	if err := a.Store.DeleteCustomer(ctx, id); err != nil {
		return err
	}
	if p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: id, Object: named("customer", id, before.Name), Action: string(auth.ActionDeleteCustomer),
			Before: text(fields(before, skip()...))})
	}
	return nil
}

// ---- Endpoints

var endpointSkip = skip("has_credentials")

func endpointFields(e store.Endpoint) map[string]any {
	m := fields(e, endpointSkip...)
	if e.SealedPassword != "" || e.SealedToken != "" || e.SealedOAuth2 != "" {
		m["credentials"] = "provided"
	}
	return m
}

func (a *auditStore) CreateEndpoint(ctx context.Context, e *store.Endpoint) error {
	if err := a.Store.CreateEndpoint(ctx, e); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: e.CustomerID, Object: named("endpoint", e.ID, e.Name), Action: string(auth.ActionCreateEndpoint),
			After: text(endpointFields(*e))})
	}
	return nil
}

func (a *auditStore) UpdateEndpoint(ctx context.Context, e store.Endpoint) error {
	p := who(ctx)
	before, err := store.Endpoint{}, error(nil)
	if p != "" {
		before, err = a.Store.Endpoint(ctx, e.ID)
	}
	if err := a.Store.UpdateEndpoint(ctx, e); err != nil {
		return err
	}
	if p == "" || err != nil {
		return nil
	}
	b, af := diff(before, e, endpointSkip...)
	action := ActionUpdateEndpoint
	if before.SealedPassword != e.SealedPassword || before.SealedToken != e.SealedToken || before.SealedOAuth2 != e.SealedOAuth2 {
		af["credentials"] = credentialsChanged
		if len(b) == 0 && len(af) == 1 {
			action = string(auth.ActionSetCredentials)
		}
	}
	if len(b) == 0 && len(af) == 0 {
		return nil
	}
	a.record(ctx, p, store.AuditEntry{CustomerID: e.CustomerID, Object: named("endpoint", e.ID, e.Name), Action: action, Before: text(b), After: text(af)})
	return nil
}

func (a *auditStore) DeleteEndpoint(ctx context.Context, id int64) error {
	p := who(ctx)
	var before store.Endpoint
	if p != "" {
		before, _ = a.Store.Endpoint(ctx, id)
	}
	if err := a.Store.DeleteEndpoint(ctx, id); err != nil {
		return err
	}
	if p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: before.CustomerID, Object: named("endpoint", id, before.Name), Action: string(auth.ActionDeleteEndpoint),
			Before: text(endpointFields(before))})
	}
	return nil
}

// ---- Projects and items

var projectSkip = skip("item_count", "status_breakdown")

func (a *auditStore) CreateProject(ctx context.Context, pr *store.Project) error {
	if err := a.Store.CreateProject(ctx, pr); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: pr.CustomerID, ProjectID: pr.ID, Object: named("project", pr.ID, pr.Name),
			Action: string(auth.ActionCreateProject), After: text(fields(pr, projectSkip...))})
	}
	return nil
}

func (a *auditStore) UpdateProject(ctx context.Context, pr store.Project) error {
	p := who(ctx)
	before, err := store.Project{}, error(nil)
	if p != "" {
		before, err = a.Store.Project(ctx, pr.ID)
	}
	if err := a.Store.UpdateProject(ctx, pr); err != nil {
		return err
	}
	if p == "" || err != nil {
		return nil
	}
	b, af := diff(before, pr, projectSkip...)
	if len(b) == 0 && len(af) == 0 {
		return nil
	}
	action := string(auth.ActionUpdateSettings)
	if pr.Closed && !before.Closed {
		action = string(auth.ActionCloseProject)
	}
	a.record(ctx, p, store.AuditEntry{CustomerID: pr.CustomerID, ProjectID: pr.ID, Object: named("project", pr.ID, pr.Name), Action: action,
		Before: text(b), After: text(af)})
	return nil
}

func (a *auditStore) EraseProjectCredentials(ctx context.Context, projectID int64) error {
	if err := a.Store.EraseProjectCredentials(ctx, projectID); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: a.projectCustomer(ctx, projectID), ProjectID: projectID,
			Object: named("project", projectID, ""), Action: ActionEraseCreds, After: "items' credentials erased"})
	}
	return nil
}

func (a *auditStore) CreateItems(ctx context.Context, items []*store.Item) error {
	if err := a.Store.CreateItems(ctx, items); err != nil {
		return err
	}
	p := who(ctx)
	if p == "" || len(items) == 0 {
		return nil
	}
	// Items of one call belong to one project; count them per project all the same.
	counts := map[int64]int{}
	var order []int64
	for _, it := range items {
		if counts[it.ProjectID] == 0 {
			order = append(order, it.ProjectID)
		}
		counts[it.ProjectID]++
	}
	for _, pid := range order {
		n := counts[pid]
		after := fmt.Sprintf("%d items added", n)
		if n == 1 {
			it := items[slices.IndexFunc(items, func(it *store.Item) bool { return it.ProjectID == pid })]
			after = fmt.Sprintf("1 item added: %s → %s", it.Source, it.Dest)
		}
		a.record(ctx, p, store.AuditEntry{CustomerID: a.projectCustomer(ctx, pid), ProjectID: pid, Object: named("project", pid, ""),
			Action: string(auth.ActionCreateItem), After: after})
	}
	return nil
}

// itemSkip: the engine's bookkeeping, and what a status change records itself.
var itemSkip = skip("error_count", "last_pass")

func itemName(it store.Item) string {
	return named("item", it.ID, it.Source+" → "+it.Dest)
}

// UpdateItem records a person's edit of an item, and a pass queued by a person.
func (a *auditStore) UpdateItem(ctx context.Context, it store.Item) error {
	p := who(ctx)
	before, err := store.Item{}, error(nil)
	if p != "" {
		before, err = a.Store.Item(ctx, it.ID)
	}
	if err := a.Store.UpdateItem(ctx, it); err != nil {
		return err
	}
	if p == "" || err != nil {
		return nil
	}
	b, af := diff(before, it, itemSkip...)
	if before.SealedSourcePassword != it.SealedSourcePassword || before.SealedDestPassword != it.SealedDestPassword {
		af["credentials"] = credentialsChanged
	}
	if len(b) == 0 && len(af) == 0 {
		return nil
	}
	action := ActionUpdateItem
	if it.Status == store.StatusQueued && before.Status != store.StatusQueued {
		action = string(auth.ActionStartPass)
		if it.LastPass != "" {
			af["pass"] = it.LastPass
		}
	}
	a.record(ctx, p, store.AuditEntry{CustomerID: a.projectCustomer(ctx, it.ProjectID), ProjectID: it.ProjectID, Object: itemName(it),
		Action: action, Before: text(b), After: text(af)})
	return nil
}

// QueuePass records a pass started by a person, for each item it queued.
func (a *auditStore) QueuePass(ctx context.Context, itemIDs []int64, pass string, enqueue store.EnqueueFunc) ([]int64, error) {
	p := who(ctx)
	before := map[int64]store.Item{}
	if p != "" {
		for _, id := range itemIDs {
			if it, err := a.Store.Item(ctx, id); err == nil {
				before[id] = it
			}
		}
	}
	ids, err := a.Store.QueuePass(ctx, itemIDs, pass, enqueue)
	if err != nil || p == "" {
		return ids, err
	}
	for i, id := range itemIDs {
		b, ok := before[id]
		if !ok || ids[i] == 0 {
			continue
		}
		a.record(ctx, p, store.AuditEntry{CustomerID: a.projectCustomer(ctx, b.ProjectID), ProjectID: b.ProjectID, Object: itemName(b),
			Action: string(auth.ActionStartPass), Before: text(map[string]any{"status": b.Status}),
			After: text(map[string]any{"status": store.StatusQueued, "pass": pass})})
	}
	return ids, nil
}

// SetItemStatus records only what a person decides: queueing and stopping.
// Running, Completed and Failed are the engine's.
func (a *auditStore) SetItemStatus(ctx context.Context, id int64, status, pass string, errs int) error {
	p := who(ctx)
	if status != store.StatusQueued && status != store.StatusStopped {
		p = ""
	}
	before, err := store.Item{}, error(nil)
	if p != "" {
		before, err = a.Store.Item(ctx, id)
	}
	if err := a.Store.SetItemStatus(ctx, id, status, pass, errs); err != nil {
		return err
	}
	if p == "" || err != nil || before.Status == status {
		return nil
	}
	action := string(auth.ActionStop)
	if status == store.StatusQueued {
		action = string(auth.ActionStartPass)
	}
	after := map[string]any{"status": status}
	if pass != "" {
		after["pass"] = pass
	}
	a.record(ctx, p, store.AuditEntry{CustomerID: a.projectCustomer(ctx, before.ProjectID), ProjectID: before.ProjectID, Object: itemName(before),
		Action: action, Before: text(map[string]any{"status": before.Status}), After: text(after)})
	return nil
}

// ---- Engagements

var engagementSkip = skip()

func (a *auditStore) CreateEngagement(ctx context.Context, e *store.Engagement, tasks []*store.EngagementTask) error {
	if err := a.Store.CreateEngagement(ctx, e, tasks); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		m := fields(e, engagementSkip...)
		m["tasks"] = len(tasks)
		a.record(ctx, p, store.AuditEntry{CustomerID: e.CustomerID, EngagementID: e.ID, Object: named("engagement", e.ID, e.Name),
			Action: string(auth.ActionCreateEngagement), After: text(m)})
	}
	return nil
}

func (a *auditStore) UpdateEngagement(ctx context.Context, e store.Engagement) error {
	p := who(ctx)
	before, err := store.Engagement{}, error(nil)
	if p != "" {
		before, err = a.Store.Engagement(ctx, e.ID)
	}
	if err := a.Store.UpdateEngagement(ctx, e); err != nil {
		return err
	}
	if p == "" || err != nil {
		return nil
	}
	b, af := diff(before, e, engagementSkip...)
	if len(b) == 0 && len(af) == 0 {
		return nil
	}
	a.record(ctx, p, store.AuditEntry{CustomerID: e.CustomerID, EngagementID: e.ID, Object: named("engagement", e.ID, e.Name),
		Action: string(auth.ActionChangeScope), Before: text(b), After: text(af)})
	return nil
}

func taskName(t store.EngagementTask) string {
	return fmt.Sprintf("task %s (%s)", t.TaskID, short(t.Name))
}

// UpdateEngagementTask records the task's events, field by field.
func (a *auditStore) UpdateEngagementTask(ctx context.Context, t store.EngagementTask, events []store.TaskEvent) error {
	p := who(ctx)
	var before store.EngagementTask
	var err error
	if p != "" {
		before, err = a.Store.EngagementTask(ctx, t.ID)
	}
	if err := a.Store.UpdateEngagementTask(ctx, t, events); err != nil {
		return err
	}
	if p == "" || err != nil {
		return nil
	}
	b, af := map[string]any{}, map[string]any{}
	for _, ev := range events {
		b[ev.Field], af[ev.Field] = ev.Before, ev.After
	}
	if len(events) == 0 {
		b, af = diff(before, t, skip("minutes_logged")...)
	}
	if len(b) == 0 && len(af) == 0 {
		return nil
	}
	a.record(ctx, p, store.AuditEntry{CustomerID: a.engagementCustomer(ctx, t.EngagementID), EngagementID: t.EngagementID, Object: taskName(t),
		Action: string(auth.ActionUpdateTask), Before: text(b), After: text(af)})
	return nil
}

func (a *auditStore) AddEngagementTasks(ctx context.Context, tasks []*store.EngagementTask) error {
	if err := a.Store.AddEngagementTasks(ctx, tasks); err != nil {
		return err
	}
	p := who(ctx)
	if p == "" || len(tasks) == 0 {
		return nil
	}
	var ids []string
	for _, t := range tasks {
		ids = append(ids, t.TaskID)
	}
	eid := tasks[0].EngagementID
	a.record(ctx, p, store.AuditEntry{CustomerID: a.engagementCustomer(ctx, eid), EngagementID: eid, Object: named("engagement", eid, ""),
		Action: string(auth.ActionChangeScope), After: fmt.Sprintf("%d tasks added: %s", len(ids), strings.Join(ids, ", "))})
	return nil
}

func (a *auditStore) AddTimeEntry(ctx context.Context, te *store.TimeEntry) error {
	p := who(ctx)
	var t store.EngagementTask
	var err error
	if p != "" {
		t, err = a.Store.EngagementTask(ctx, te.TaskID)
	}
	if err := a.Store.AddTimeEntry(ctx, te); err != nil {
		return err
	}
	if p == "" || err != nil {
		return nil
	}
	after := map[string]any{"minutes": te.Minutes, "by": te.Who}
	if te.Note != "" {
		after["note"] = te.Note
	}
	a.record(ctx, p, store.AuditEntry{CustomerID: a.engagementCustomer(ctx, t.EngagementID), EngagementID: t.EngagementID, Object: taskName(t),
		Action: string(auth.ActionLogTime), Before: text(map[string]any{"minutes_logged": t.Minutes}), After: text(after)})
	return nil
}

func (a *auditStore) Assign(ctx context.Context, as store.Assignment) error {
	if err := a.Store.Assign(ctx, as); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: a.engagementCustomer(ctx, as.EngagementID), EngagementID: as.EngagementID,
			Object: named("engagement", as.EngagementID, ""), Action: string(auth.ActionAssign),
			After: text(assignmentFields(as))})
	}
	return nil
}

func (a *auditStore) Unassign(ctx context.Context, as store.Assignment) error {
	if err := a.Store.Unassign(ctx, as); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: a.engagementCustomer(ctx, as.EngagementID), EngagementID: as.EngagementID,
			Object: named("engagement", as.EngagementID, ""), Action: ActionUnassign,
			Before: text(assignmentFields(as))})
	}
	return nil
}

// assignmentFields are what the log says of an assignment: the role, the
// person and, when it is one, their account.
func assignmentFields(as store.Assignment) map[string]any {
	m := map[string]any{"role": as.Role, "person": as.Person}
	if as.UserID != 0 {
		m["account"] = as.UserID
	}
	return m
}

func (a *auditStore) ExitPhase(ctx context.Context, x store.PhaseExit) error {
	if err := a.Store.ExitPhase(ctx, x); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: a.engagementCustomer(ctx, x.EngagementID), EngagementID: x.EngagementID,
			Object: fmt.Sprintf("phase %s of engagement %d", x.Phase, x.EngagementID), Action: string(auth.ActionExitPhase),
			Before: text(map[string]any{"exited": false}), After: text(map[string]any{"exited": true, "by": x.Who})})
	}
	return nil
}

// saved records the creation or change of an engagement's record (checklist item, issue, event).
func (a *auditStore) saved(ctx context.Context, p string, engagementID int64, object, create, update string, before, after any, isNew bool) {
	e := store.AuditEntry{CustomerID: a.engagementCustomer(ctx, engagementID), EngagementID: engagementID, Object: object}
	if isNew {
		e.Action, e.After = create, text(fields(after, skip("engagement_id")...))
	} else {
		b, af := diff(before, after, skip("engagement_id")...)
		if len(b) == 0 && len(af) == 0 {
			return
		}
		e.Action, e.Before, e.After = update, text(b), text(af)
	}
	a.record(ctx, p, e)
}

func findByID[T any](list []T, id int64, idOf func(T) int64) (T, bool) {
	for _, x := range list {
		if idOf(x) == id {
			return x, true
		}
	}
	var zero T
	return zero, false
}

func (a *auditStore) SaveChecklistItem(ctx context.Context, c *store.ChecklistItem) error {
	p := who(ctx)
	var before store.ChecklistItem
	if p != "" && c.ID != 0 {
		items, _ := a.Store.ChecklistItems(ctx, c.EngagementID)
		before, _ = findByID(items, c.ID, func(x store.ChecklistItem) int64 { return x.ID })
	}
	isNew := c.ID == 0
	if err := a.Store.SaveChecklistItem(ctx, c); err != nil {
		return err
	}
	if p != "" {
		a.saved(ctx, p, c.EngagementID, named("checklist item", c.ID, c.Title), string(auth.ActionAddChecklistItem),
			string(auth.ActionUpdateChecklistItem), before, *c, isNew)
	}
	return nil
}

func (a *auditStore) SaveSuccessPlan(ctx context.Context, sp store.SuccessPlan) error {
	p := who(ctx)
	before, err := a.Store.SuccessPlan(ctx, sp.EngagementID)
	isNew := err != nil
	if err := a.Store.SaveSuccessPlan(ctx, sp); err != nil {
		return err
	}
	if p != "" {
		a.saved(ctx, p, sp.EngagementID, named("success plan of engagement", sp.EngagementID, ""), string(auth.ActionSetSuccessPlan),
			string(auth.ActionSetSuccessPlan), before, sp, isNew)
	}
	return nil
}

func (a *auditStore) AddGoNoGo(ctx context.Context, d *store.GoNoGoDecision) error {
	if err := a.Store.AddGoNoGo(ctx, d); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: a.engagementCustomer(ctx, d.EngagementID), EngagementID: d.EngagementID,
			Object: named("go/no-go decision", d.ID, ""), Action: string(auth.ActionDecideGoNoGo),
			After: text(map[string]any{"event_id": d.EventID, "decision": d.Decision, "by": d.Who, "notes": d.Notes})})
	}
	return nil
}

func (a *auditStore) SetResponsibility(ctx context.Context, r store.Responsibility) error {
	if err := a.Store.SetResponsibility(ctx, r); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: a.engagementCustomer(ctx, r.EngagementID), EngagementID: r.EngagementID,
			Object: "responsibility " + r.Key, Action: string(auth.ActionTickResponsibility),
			Before: text(map[string]any{"done": !r.Done}), After: text(map[string]any{"done": r.Done, "by": r.Who})})
	}
	return nil
}

func (a *auditStore) SavePostMigrationIssue(ctx context.Context, is *store.PostMigrationIssue) error {
	p := who(ctx)
	var before store.PostMigrationIssue
	if p != "" && is.ID != 0 {
		list, _ := a.Store.PostMigrationIssues(ctx, is.EngagementID)
		before, _ = findByID(list, is.ID, func(x store.PostMigrationIssue) int64 { return x.ID })
	}
	isNew := is.ID == 0
	if err := a.Store.SavePostMigrationIssue(ctx, is); err != nil {
		return err
	}
	if p != "" {
		a.saved(ctx, p, is.EngagementID, named("post-migration issue", is.ID, is.Mailbox), string(auth.ActionReportIssue),
			ActionUpdateIssue, before, *is, isNew)
	}
	return nil
}

func (a *auditStore) SaveEvent(ctx context.Context, ev *store.ScheduledEvent) error {
	p := who(ctx)
	var before store.ScheduledEvent
	if p != "" && ev.ID != 0 {
		list, _ := a.Store.Events(ctx, ev.EngagementID)
		before, _ = findByID(list, ev.ID, func(x store.ScheduledEvent) int64 { return x.ID })
	}
	isNew := ev.ID == 0
	if err := a.Store.SaveEvent(ctx, ev); err != nil {
		return err
	}
	if p != "" {
		a.saved(ctx, p, ev.EngagementID, named("event", ev.ID, ev.Title), string(auth.ActionScheduleEvent), ActionUpdateEvent, before, *ev, isNew)
	}
	return nil
}

func (a *auditStore) RevokeGateOverride(ctx context.Context, g store.GateOverride) error {
	if err := a.Store.RevokeGateOverride(ctx, g); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: g.CustomerID, Object: fmt.Sprintf("migration gate override %d of customer %d", g.ID, g.CustomerID),
			Action: string(auth.ActionOverrideGate), Before: text(map[string]any{"revoked": false}),
			After: text(map[string]any{"revoked": true, "by": g.RevokedBy, "reason": g.RevokeReason})})
	}
	return nil
}

func (a *auditStore) AddGateOverride(ctx context.Context, g *store.GateOverride) error {
	if err := a.Store.AddGateOverride(ctx, g); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: g.CustomerID, Object: fmt.Sprintf("migration gate of customer %d", g.CustomerID),
			Action: string(auth.ActionOverrideGate), Before: text(map[string]any{"overridden": false}),
			After: text(map[string]any{"overridden": true, "as": g.Who, "reason": g.Reason, "project": g.ProjectID, "expires": g.Expires})})
	}
	return nil
}

// SaveWaves records an accepted wave plan: each wave, when it cuts over
// and how many mailboxes it moves.
func (a *auditStore) SaveWaves(ctx context.Context, projectID int64, waves []*store.Wave) error {
	if err := a.Store.SaveWaves(ctx, projectID, waves); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		customer := int64(0)
		if pr, err := a.Store.Project(ctx, projectID); err == nil {
			customer = pr.CustomerID
		}
		for _, w := range waves {
			a.record(ctx, p, store.AuditEntry{CustomerID: customer, ProjectID: projectID, Object: named("wave", w.ID, w.Name),
				Action: string(auth.ActionAcceptWaves), After: text(map[string]any{"cutover": w.Cutover, "prestage_at": w.PrestageAt,
					"mailboxes": len(w.Items), "over_limit": w.OverLimit})})
		}
	}
	return nil
}
