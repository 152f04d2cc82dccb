package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

const engagementCols = `id, customer_id, name, seats, services, workloads, hybrid, playbook, enterprise_exception, created`

func scanEngagement(sc interface{ Scan(...any) error }) (store.Engagement, error) {
	var e store.Engagement
	var services, workloads, created string
	err := sc.Scan(&e.ID, &e.CustomerID, &e.Name, &e.Seats, &services, &workloads, &e.Hybrid, &e.Playbook, &e.EnterpriseException, &created)
	e.Services, e.Workloads, e.Created = splitLines(services), splitLines(workloads), parseTS(created)
	return e, err
}

func (s *Store) insertTasks(ctx context.Context, tx *sql.Tx, tasks []*store.EngagementTask) error {
	for _, t := range tasks {
		t.Updated = time.Now()
		err := s.queryRow(ctx, tx, `INSERT INTO engagement_tasks(engagement_id, task_id, phase, name, role, party, mandatory, services, status, percent, notes, due, retired, updated)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`, t.EngagementID, t.TaskID, t.Phase, t.Name, t.Role, t.Party, t.Mandatory, lines(t.Services),
			t.Status, t.Percent, t.Notes, ts(t.Due), t.Retired, ts(t.Updated)).Scan(&t.ID)
		if isUnique(err) {
			return fmt.Errorf("task %s is already in engagement %d: %w", t.TaskID, t.EngagementID, store.ErrDuplicate)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) CreateEngagement(ctx context.Context, e *store.Engagement, tasks []*store.EngagementTask) error {
	if e.Created.IsZero() {
		e.Created = time.Now()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := s.queryRow(ctx, tx, `INSERT INTO engagements(customer_id, name, seats, services, workloads, hybrid, playbook, enterprise_exception, created)
			VALUES (?,?,?,?,?,?,?,?,?) RETURNING id`, e.CustomerID, e.Name, e.Seats, lines(e.Services), lines(e.Workloads), e.Hybrid, e.Playbook,
			e.EnterpriseException, ts(e.Created)).Scan(&e.ID)
		if isUnique(err) {
			return fmt.Errorf("engagement %q: %w", e.Name, store.ErrDuplicate)
		}
		if err != nil {
			return err
		}
		for _, t := range tasks {
			t.EngagementID = e.ID
		}
		return s.insertTasks(ctx, tx, tasks)
	})
}

func (s *Store) Engagement(ctx context.Context, id int64) (store.Engagement, error) {
	e, err := scanEngagement(s.queryRow(ctx, nil, `SELECT `+engagementCols+` FROM engagements WHERE id = ?`, id))
	return e, notFound(err, "engagement", id)
}

func (s *Store) EngagementsOf(ctx context.Context, customerID int64) ([]store.Engagement, error) {
	return collect(s, ctx, scanEngagement, `SELECT `+engagementCols+` FROM engagements WHERE customer_id = ? ORDER BY id`, customerID)
}

func (s *Store) UpdateEngagement(ctx context.Context, e store.Engagement) error {
	res, err := s.exec(ctx, nil, `UPDATE engagements SET name=?, seats=?, services=?, workloads=?, hybrid=?, enterprise_exception=? WHERE id=?`,
		e.Name, e.Seats, lines(e.Services), lines(e.Workloads), e.Hybrid, e.EnterpriseException, e.ID)
	return affected(res, err, "engagement", e.ID)
}

// collect runs a query and scans every row.
func collect[T any](s *Store, ctx context.Context, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

const taskCols = `t.id, t.engagement_id, t.task_id, t.phase, t.name, t.role, t.party, t.mandatory, t.services, t.status, t.percent, t.notes, t.due, t.retired, t.updated,
	COALESCE((SELECT SUM(minutes) FROM time_entries te WHERE te.task_row_id = t.id), 0)`

func scanTask(sc interface{ Scan(...any) error }) (store.EngagementTask, error) {
	var t store.EngagementTask
	var services, due, updated string
	err := sc.Scan(&t.ID, &t.EngagementID, &t.TaskID, &t.Phase, &t.Name, &t.Role, &t.Party, &t.Mandatory, &services, &t.Status, &t.Percent, &t.Notes,
		&due, &t.Retired, &updated, &t.Minutes)
	t.Services, t.Due, t.Updated = splitLines(services), parseTS(due), parseTS(updated)
	return t, err
}

func (s *Store) EngagementTasks(ctx context.Context, engagementID int64) ([]store.EngagementTask, error) {
	return collect(s, ctx, scanTask, `SELECT `+taskCols+` FROM engagement_tasks t WHERE t.engagement_id = ? ORDER BY t.id`, engagementID)
}

func (s *Store) EngagementTask(ctx context.Context, id int64) (store.EngagementTask, error) {
	t, err := scanTask(s.queryRow(ctx, nil, `SELECT `+taskCols+` FROM engagement_tasks t WHERE t.id = ?`, id))
	return t, notFound(err, "task", id)
}

func (s *Store) AddEngagementTasks(ctx context.Context, tasks []*store.EngagementTask) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertTasks(ctx, tx, tasks) })
}

func (s *Store) UpdateEngagementTask(ctx context.Context, t store.EngagementTask, events []store.TaskEvent) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE engagement_tasks SET name=?, role=?, party=?, mandatory=?, services=?, status=?, percent=?, notes=?, due=?, retired=?, updated=? WHERE id=?`,
			t.Name, t.Role, t.Party, t.Mandatory, lines(t.Services), t.Status, t.Percent, t.Notes, ts(t.Due), t.Retired, ts(time.Now()), t.ID)
		if err := affected(res, err, "task", t.ID); err != nil {
			return err
		}
		for _, ev := range events {
			if ev.At.IsZero() {
				ev.At = time.Now()
			}
			if _, err := s.exec(ctx, tx, `INSERT INTO task_events(task_row_id, at, who, field, before, after) VALUES (?,?,?,?,?,?)`,
				t.ID, ts(ev.At), ev.Who, ev.Field, ev.Before, ev.After); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) TaskEvents(ctx context.Context, taskRowID int64) ([]store.TaskEvent, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.TaskEvent, error) {
		var ev store.TaskEvent
		var at string
		err := sc.Scan(&ev.ID, &ev.TaskID, &at, &ev.Who, &ev.Field, &ev.Before, &ev.After)
		ev.At = parseTS(at)
		return ev, err
	}, `SELECT id, task_row_id, at, who, field, before, after FROM task_events WHERE task_row_id = ? ORDER BY id`, taskRowID)
}

func (s *Store) AddTimeEntry(ctx context.Context, te *store.TimeEntry) error {
	if te.At.IsZero() {
		te.At = time.Now()
	}
	return s.queryRow(ctx, nil, `INSERT INTO time_entries(task_row_id, who, minutes, note, at) VALUES (?,?,?,?,?) RETURNING id`,
		te.TaskID, te.Who, te.Minutes, te.Note, ts(te.At)).Scan(&te.ID)
}

func (s *Store) TimeEntries(ctx context.Context, taskRowID int64) ([]store.TimeEntry, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.TimeEntry, error) {
		var te store.TimeEntry
		var at string
		err := sc.Scan(&te.ID, &te.TaskID, &te.Who, &te.Minutes, &te.Note, &at)
		te.At = parseTS(at)
		return te, err
	}, `SELECT id, task_row_id, who, minutes, note, at FROM time_entries WHERE task_row_id = ? ORDER BY id`, taskRowID)
}

func (s *Store) Assign(ctx context.Context, a store.Assignment) error {
	_, err := s.exec(ctx, nil, `INSERT INTO assignments(engagement_id, role, person, user_id) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`, a.EngagementID, a.Role, a.Person, a.UserID)
	return err
}

func (s *Store) Unassign(ctx context.Context, a store.Assignment) error {
	res, err := s.exec(ctx, nil, `DELETE FROM assignments WHERE engagement_id=? AND role=? AND person=?`, a.EngagementID, a.Role, a.Person)
	return affected(res, err, "assignment in engagement", a.EngagementID)
}

func scanAssignment(sc interface{ Scan(...any) error }) (store.Assignment, error) {
	var a store.Assignment
	return a, sc.Scan(&a.EngagementID, &a.Role, &a.Person, &a.UserID)
}

func (s *Store) Assignments(ctx context.Context, engagementID int64) ([]store.Assignment, error) {
	return collect(s, ctx, scanAssignment, `SELECT engagement_id, role, person, user_id FROM assignments WHERE engagement_id = ? ORDER BY role, person`, engagementID)
}

func (s *Store) AssignmentsOf(ctx context.Context, userID int64) ([]store.Assignment, error) {
	return collect(s, ctx, scanAssignment, `SELECT engagement_id, role, person, user_id FROM assignments WHERE user_id = ? AND user_id <> 0 ORDER BY engagement_id, role`, userID)
}

func (s *Store) ExitPhase(ctx context.Context, x store.PhaseExit) error {
	if x.At.IsZero() {
		x.At = time.Now()
	}
	_, err := s.exec(ctx, nil, `INSERT INTO phase_exits(engagement_id, phase, who, at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`, x.EngagementID, x.Phase, x.Who, ts(x.At))
	return err
}

func (s *Store) PhaseExits(ctx context.Context, engagementID int64) ([]store.PhaseExit, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.PhaseExit, error) {
		var x store.PhaseExit
		var at string
		err := sc.Scan(&x.EngagementID, &x.Phase, &x.Who, &at)
		x.At = parseTS(at)
		return x, err
	}, `SELECT engagement_id, phase, who, at FROM phase_exits WHERE engagement_id = ? ORDER BY at`, engagementID)
}

func (s *Store) SaveChecklistItem(ctx context.Context, c *store.ChecklistItem) error {
	now := time.Now()
	c.Updated = now
	if c.ID == 0 {
		c.Created = now
		return s.queryRow(ctx, nil, `INSERT INTO checklist_items(engagement_id, title, severity, owner, state, notes, source, due, created, updated,
			project_id, mailbox, check_name, found, action, finding_key, waived_by, waived_at, waive_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			c.EngagementID, c.Title, c.Severity, c.Owner, c.State, c.Notes, c.Source, ts(c.Due), ts(c.Created), ts(c.Updated),
			c.ProjectID, c.Mailbox, c.Check, c.Found, c.Action, c.Key, c.WaivedBy, ts(c.WaivedAt), c.WaiveReason).Scan(&c.ID)
	}
	res, err := s.exec(ctx, nil, `UPDATE checklist_items SET title=?, severity=?, owner=?, state=?, notes=?, due=?, updated=?,
		found=?, action=?, waived_by=?, waived_at=?, waive_reason=? WHERE id=? AND engagement_id=?`,
		c.Title, c.Severity, c.Owner, c.State, c.Notes, ts(c.Due), ts(c.Updated), c.Found, c.Action, c.WaivedBy, ts(c.WaivedAt), c.WaiveReason, c.ID, c.EngagementID)
	return affected(res, err, "checklist item", c.ID)
}

func (s *Store) ChecklistItems(ctx context.Context, engagementID int64) ([]store.ChecklistItem, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.ChecklistItem, error) {
		var c store.ChecklistItem
		var due, created, updated, waived string
		err := sc.Scan(&c.ID, &c.EngagementID, &c.Title, &c.Severity, &c.Owner, &c.State, &c.Notes, &c.Source, &due, &created, &updated,
			&c.ProjectID, &c.Mailbox, &c.Check, &c.Found, &c.Action, &c.Key, &c.WaivedBy, &waived, &c.WaiveReason)
		c.Due, c.Created, c.Updated, c.WaivedAt = parseTS(due), parseTS(created), parseTS(updated), parseTS(waived)
		return c, err
	}, `SELECT id, engagement_id, title, severity, owner, state, notes, source, due, created, updated,
		project_id, mailbox, check_name, found, action, finding_key, waived_by, waived_at, waive_reason FROM checklist_items WHERE engagement_id = ? ORDER BY id`, engagementID)
}

func (s *Store) SavePostMigrationIssue(ctx context.Context, p *store.PostMigrationIssue) error {
	if p.ID == 0 {
		return s.queryRow(ctx, nil, `INSERT INTO post_migration_issues(engagement_id, mailbox, migrated_at, reported_at, deadline, late, owner, status, description)
			VALUES (?,?,?,?,?,?,?,?,?) RETURNING id`, p.EngagementID, p.Mailbox, ts(p.MigratedAt), ts(p.ReportedAt), ts(p.Deadline), p.Late, p.Owner, p.Status,
			p.Description).Scan(&p.ID)
	}
	res, err := s.exec(ctx, nil, `UPDATE post_migration_issues SET owner=?, status=?, description=? WHERE id=? AND engagement_id=?`,
		p.Owner, p.Status, p.Description, p.ID, p.EngagementID)
	return affected(res, err, "post-migration issue", p.ID)
}

func (s *Store) PostMigrationIssues(ctx context.Context, engagementID int64) ([]store.PostMigrationIssue, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.PostMigrationIssue, error) {
		var p store.PostMigrationIssue
		var mig, rep, dl string
		err := sc.Scan(&p.ID, &p.EngagementID, &p.Mailbox, &mig, &rep, &dl, &p.Late, &p.Owner, &p.Status, &p.Description)
		p.MigratedAt, p.ReportedAt, p.Deadline = parseTS(mig), parseTS(rep), parseTS(dl)
		return p, err
	}, `SELECT id, engagement_id, mailbox, migrated_at, reported_at, deadline, late, owner, status, description FROM post_migration_issues WHERE engagement_id = ? ORDER BY id`, engagementID)
}

func (s *Store) SaveEvent(ctx context.Context, ev *store.ScheduledEvent) error {
	if ev.ID == 0 {
		return s.queryRow(ctx, nil, `INSERT INTO scheduled_events(engagement_id, kind, title, starts, ends, time_zone, notes, recurrence) VALUES (?,?,?,?,?,?,?,?) RETURNING id`,
			ev.EngagementID, ev.Kind, ev.Title, ts(ev.Starts), ts(ev.Ends), ev.TimeZone, ev.Notes, ev.Recurrence).Scan(&ev.ID)
	}
	res, err := s.exec(ctx, nil, `UPDATE scheduled_events SET kind=?, title=?, starts=?, ends=?, time_zone=?, notes=?, recurrence=? WHERE id=? AND engagement_id=?`,
		ev.Kind, ev.Title, ts(ev.Starts), ts(ev.Ends), ev.TimeZone, ev.Notes, ev.Recurrence, ev.ID, ev.EngagementID)
	return affected(res, err, "event", ev.ID)
}

func (s *Store) Events(ctx context.Context, engagementID int64) ([]store.ScheduledEvent, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.ScheduledEvent, error) {
		var ev store.ScheduledEvent
		var starts, ends string
		err := sc.Scan(&ev.ID, &ev.EngagementID, &ev.Kind, &ev.Title, &starts, &ends, &ev.TimeZone, &ev.Notes, &ev.Recurrence)
		ev.Starts, ev.Ends = parseTS(starts), parseTS(ends)
		return ev, err
	}, `SELECT id, engagement_id, kind, title, starts, ends, time_zone, notes, recurrence FROM scheduled_events WHERE engagement_id = ? ORDER BY starts`, engagementID)
}

func (s *Store) AddGateOverride(ctx context.Context, g *store.GateOverride) error {
	if g.At.IsZero() {
		g.At = time.Now()
	}
	return s.queryRow(ctx, nil, `INSERT INTO gate_overrides(customer_id, who, reason, at, project_id, expires) VALUES (?,?,?,?,?,?) RETURNING id`,
		g.CustomerID, g.Who, g.Reason, ts(g.At), g.ProjectID, ts(g.Expires)).Scan(&g.ID)
}

func (s *Store) GateOverrides(ctx context.Context, customerID int64) ([]store.GateOverride, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.GateOverride, error) {
		var g store.GateOverride
		var at, expires, revoked string
		err := sc.Scan(&g.ID, &g.CustomerID, &g.Who, &g.Reason, &at, &g.ProjectID, &expires, &revoked, &g.RevokedBy, &g.RevokeReason)
		g.At, g.Expires, g.RevokedAt = parseTS(at), parseTS(expires), parseTS(revoked)
		return g, err
	}, `SELECT id, customer_id, who, reason, at, project_id, expires, revoked_at, revoked_by, revoke_reason FROM gate_overrides WHERE customer_id = ? ORDER BY id`, customerID)
}

func (s *Store) RevokeGateOverride(ctx context.Context, g store.GateOverride) error {
	res, err := s.exec(ctx, nil, `UPDATE gate_overrides SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ? AND customer_id = ?`,
		ts(g.RevokedAt), g.RevokedBy, g.RevokeReason, g.ID, g.CustomerID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (s *Store) SaveSuccessPlan(ctx context.Context, p store.SuccessPlan) error {
	if p.Updated.IsZero() {
		p.Updated = time.Now()
	}
	_, err := s.exec(ctx, nil, `INSERT INTO success_plans(engagement_id, goals, outcomes, owner_id, owner, agreed, updated_by, updated) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT (engagement_id) DO UPDATE SET goals=excluded.goals, outcomes=excluded.outcomes, owner_id=excluded.owner_id, owner=excluded.owner,
		agreed=excluded.agreed, updated_by=excluded.updated_by, updated=excluded.updated`,
		p.EngagementID, p.Goals, p.Outcomes, p.OwnerID, p.Owner, ts(p.Agreed), p.UpdatedBy, ts(p.Updated))
	return err
}

func (s *Store) SuccessPlan(ctx context.Context, engagementID int64) (store.SuccessPlan, error) {
	var p store.SuccessPlan
	var agreed, updated string
	err := s.queryRow(ctx, nil, `SELECT engagement_id, goals, outcomes, owner_id, owner, agreed, updated_by, updated FROM success_plans WHERE engagement_id = ?`, engagementID).
		Scan(&p.EngagementID, &p.Goals, &p.Outcomes, &p.OwnerID, &p.Owner, &agreed, &p.UpdatedBy, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("success plan of engagement %d: %w", engagementID, store.ErrNotFound)
	}
	p.Agreed, p.Updated = parseTS(agreed), parseTS(updated)
	return p, err
}

func (s *Store) AddGoNoGo(ctx context.Context, d *store.GoNoGoDecision) error {
	if d.At.IsZero() {
		d.At = time.Now()
	}
	return s.queryRow(ctx, nil, `INSERT INTO go_no_go_decisions(engagement_id, event_id, decision, who, who_id, at, evidence, notes) VALUES (?,?,?,?,?,?,?,?) RETURNING id`,
		d.EngagementID, d.EventID, d.Decision, d.Who, d.WhoID, ts(d.At), d.Evidence, d.Notes).Scan(&d.ID)
}

func (s *Store) GoNoGoDecisions(ctx context.Context, engagementID int64) ([]store.GoNoGoDecision, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.GoNoGoDecision, error) {
		var d store.GoNoGoDecision
		var at string
		err := sc.Scan(&d.ID, &d.EngagementID, &d.EventID, &d.Decision, &d.Who, &d.WhoID, &at, &d.Evidence, &d.Notes)
		d.At = parseTS(at)
		return d, err
	}, `SELECT id, engagement_id, event_id, decision, who, who_id, at, evidence, notes FROM go_no_go_decisions WHERE engagement_id = ? ORDER BY id`, engagementID)
}

func (s *Store) SetResponsibility(ctx context.Context, r store.Responsibility) error {
	if r.At.IsZero() {
		r.At = time.Now()
	}
	_, err := s.exec(ctx, nil, `INSERT INTO responsibilities(engagement_id, item_key, done, who, at) VALUES (?,?,?,?,?)
		ON CONFLICT (engagement_id, item_key) DO UPDATE SET done=excluded.done, who=excluded.who, at=excluded.at`, r.EngagementID, r.Key, r.Done, r.Who, ts(r.At))
	return err
}

func (s *Store) Responsibilities(ctx context.Context, engagementID int64) ([]store.Responsibility, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.Responsibility, error) {
		var r store.Responsibility
		var at string
		err := sc.Scan(&r.EngagementID, &r.Key, &r.Done, &r.Who, &at)
		r.At = parseTS(at)
		return r, err
	}, `SELECT engagement_id, item_key, done, who, at FROM responsibilities WHERE engagement_id = ? ORDER BY item_key`, engagementID)
}
