package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ferryhq/ferry/internal/store"
)

const domainCols = `id, engagement_id, domain, verification_txt, resolver, created, streak, dest_since, ready_at, source_ttl, last_checked, last_mx, last_error`

func scanDomain(sc interface{ Scan(...any) error }) (store.EngagementDomain, error) {
	var d store.EngagementDomain
	var created, since, ready, checked string
	err := sc.Scan(&d.ID, &d.EngagementID, &d.Domain, &d.VerificationTXT, &d.Resolver, &created, &d.Streak, &since, &ready, &d.SourceTTL, &checked, &d.LastMX, &d.LastError)
	d.Created, d.DestSince, d.ReadyAt, d.LastChecked = parseTS(created), parseTS(since), parseTS(ready), parseTS(checked)
	return d, err
}

func (s *Store) AddEngagementDomain(ctx context.Context, d *store.EngagementDomain) error {
	if d.Created.IsZero() {
		d.Created = time.Now()
	}
	err := s.queryRow(ctx, nil, `INSERT INTO engagement_domains(engagement_id, domain, verification_txt, resolver, created) VALUES (?,?,?,?,?) RETURNING id`,
		d.EngagementID, d.Domain, d.VerificationTXT, d.Resolver, ts(d.Created)).Scan(&d.ID)
	if isUnique(err) {
		return fmt.Errorf("domain %s: %w", d.Domain, store.ErrDuplicate)
	}
	return err
}

func (s *Store) EngagementDomains(ctx context.Context, engagementID int64) ([]store.EngagementDomain, error) {
	if engagementID == 0 {
		return collect(s, ctx, scanDomain, `SELECT `+domainCols+` FROM engagement_domains ORDER BY engagement_id, domain`)
	}
	return collect(s, ctx, scanDomain, `SELECT `+domainCols+` FROM engagement_domains WHERE engagement_id = ? ORDER BY domain`, engagementID)
}

func (s *Store) RemoveEngagementDomain(ctx context.Context, engagementID int64, domain string) error {
	res, err := s.exec(ctx, nil, `DELETE FROM engagement_domains WHERE engagement_id = ? AND domain = ?`, engagementID, domain)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("domain %s of engagement %d: %w", domain, engagementID, store.ErrNotFound)
	}
	return nil
}

func (s *Store) SaveMXWatch(ctx context.Context, d store.EngagementDomain) error {
	res, err := s.exec(ctx, nil, `UPDATE engagement_domains SET streak=?, dest_since=?, ready_at=?, source_ttl=?, last_checked=?, last_mx=?, last_error=? WHERE id=?`,
		d.Streak, ts(d.DestSince), ts(d.ReadyAt), d.SourceTTL, ts(d.LastChecked), d.LastMX, d.LastError, d.ID)
	return affected(res, err, "domain", d.ID)
}

const cutoverCols = `id, engagement_id, domain, at, trigger_by, mx, queued, post_checked, post_ready, post_report,
	(SELECT COUNT(*) FROM mx_cutover_items w JOIN items i ON i.id = w.item_id WHERE w.cutover_id = mx_cutovers.id AND w.job_id = 0)`

func scanCutover(sc interface{ Scan(...any) error }) (store.MXCutover, error) {
	var c store.MXCutover
	var at, post string
	err := sc.Scan(&c.ID, &c.EngagementID, &c.Domain, &at, &c.Trigger, &c.MX, &c.Queued, &post, &c.PostReady, &c.PostReport, &c.Waiting)
	c.At, c.PostChecked = parseTS(at), parseTS(post)
	return c, err
}

func (s *Store) MXCutovers(ctx context.Context, engagementID int64) ([]store.MXCutover, error) {
	if engagementID == 0 {
		return collect(s, ctx, scanCutover, `SELECT `+cutoverCols+` FROM mx_cutovers ORDER BY engagement_id, domain`)
	}
	return collect(s, ctx, scanCutover, `SELECT `+cutoverCols+` FROM mx_cutovers WHERE engagement_id = ? ORDER BY domain`, engagementID)
}

// txOps is one transaction, whichever the database: tx is what River's
// driver takes (a *sql.Tx on SQLite, a pgx.Tx on PostgreSQL).
type txOps struct {
	tx       any
	exec     func(query string, args ...any) (int64, error)
	queryRow func(query string, args ...any) interface{ Scan(...any) error }
}

// jobTx runs fn in a transaction jobs can be queued in (see QueuePass).
func (s *Store) jobTx(ctx context.Context, fn func(o txOps) error) error {
	if s.dialect != Postgres {
		return s.tx(ctx, func(tx *sql.Tx) error {
			return fn(txOps{tx: tx,
				exec: func(query string, args ...any) (int64, error) {
					res, err := tx.ExecContext(ctx, query, args...)
					if err != nil {
						return 0, err
					}
					return res.RowsAffected()
				},
				queryRow: func(query string, args ...any) interface{ Scan(...any) error } {
					return tx.QueryRowContext(ctx, query, args...)
				}})
		})
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("the PostgreSQL connection is a %T, not pgx's", driverConn)
		}
		return pgx.BeginFunc(ctx, c.Conn(), func(tx pgx.Tx) error {
			return fn(txOps{tx: tx,
				exec: func(query string, args ...any) (int64, error) {
					tag, err := tx.Exec(ctx, s.q(query), args...)
					return tag.RowsAffected(), err
				},
				queryRow: func(query string, args ...any) interface{ Scan(...any) error } {
					return tx.QueryRow(ctx, s.q(query), args...)
				}})
		})
	})
}

func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) }

// setCutoverTask moves the engagement's cutover task from one of the
// statuses in from to status, with an event by who.
func setCutoverTask(o txOps, engagementID int64, status, who string, from ...string) error {
	var rowID int64
	var before string
	err := o.queryRow(`SELECT id, status FROM engagement_tasks WHERE engagement_id = ? AND task_id = ? AND retired = ?`,
		engagementID, store.CutoverTaskID, false).Scan(&rowID, &before)
	if noRows(err) {
		return nil // not in the engagement's scope
	}
	if err != nil {
		return err
	}
	ok := false
	for _, f := range from {
		ok = ok || f == before
	}
	if !ok {
		return nil
	}
	now := ts(time.Now())
	percent := ""
	if status == "Complete" {
		percent = ", percent=100"
	}
	if _, err := o.exec(`UPDATE engagement_tasks SET status=?, updated=?`+percent+` WHERE id=?`, status, now, rowID); err != nil {
		return err
	}
	_, err = o.exec(`INSERT INTO task_events(task_row_id, at, who, field, before, after) VALUES (?,?,?,?,?,?)`, rowID, now, who, "status", before, status)
	return err
}

func (s *Store) RecordMXCutover(ctx context.Context, c *store.MXCutover, who string, itemIDs []int64, pass string, enqueue store.EnqueueFunc) (bool, error) {
	if c.At.IsZero() {
		c.At = time.Now()
	}
	recorded := false
	err := s.jobTx(ctx, func(o txOps) error {
		n, err := o.exec(`INSERT INTO mx_cutovers(engagement_id, domain, at, trigger_by, mx) VALUES (?,?,?,?,?) ON CONFLICT (engagement_id, domain) DO NOTHING`,
			c.EngagementID, c.Domain, ts(c.At), c.Trigger, c.MX)
		if err != nil || n == 0 {
			return err // n == 0: another worker, an earlier check or a person recorded it
		}
		if err := o.queryRow(`SELECT id FROM mx_cutovers WHERE engagement_id = ? AND domain = ?`, c.EngagementID, c.Domain).Scan(&c.ID); err != nil {
			return err
		}
		notes := fmt.Sprintf("MX: %s. Seen by %s. Final Full (delta) pass queued for the domain's items.", c.MX, c.Trigger)
		if _, err := o.exec(`INSERT INTO scheduled_events(engagement_id, kind, title, starts, ends, time_zone, notes, recurrence) VALUES (?,?,?,?,?,?,?,?)`,
			c.EngagementID, store.MXCutoverEventKind, "MX cutover: "+c.Domain, ts(c.At), ts(c.At), "UTC", notes, ""); err != nil {
			return err
		}
		if err := setCutoverTask(o, c.EngagementID, "In Progress", who, "Not Started"); err != nil {
			return err
		}
		ids, err := enqueue(ctx, o.tx)
		if err != nil {
			return err
		}
		if len(ids) != len(itemIDs) {
			return fmt.Errorf("queue the final pass: %d job ids for %d items", len(ids), len(itemIDs))
		}
		now := ts(time.Now())
		c.Queued, c.Waiting = 0, 0
		for i, id := range itemIDs {
			job := ids[i]
			if job == 0 {
				// Its pass is queued or running already: a queued one
				// has not started, so it is the final pass; a running
				// one waits, and the final pass follows it.
				var status string
				if err := o.queryRow(`SELECT status, job_id FROM items WHERE id = ?`, id).Scan(&status, &job); err != nil {
					return fmt.Errorf("item %d: %w", id, err)
				}
				if status != store.StatusQueued {
					job = 0
				}
			} else {
				n, err := o.exec(`UPDATE items SET status=?, last_pass=?, job_id=?, updated=? WHERE id=?`, store.StatusQueued, pass, job, now, id)
				if err != nil {
					return err
				}
				if n == 0 {
					return fmt.Errorf("item %d: %w", id, store.ErrNotFound)
				}
			}
			if _, err := o.exec(`INSERT INTO mx_cutover_items(cutover_id, item_id, job_id) VALUES (?,?,?)`, c.ID, id, job); err != nil {
				return err
			}
			if job == 0 {
				c.Waiting++
			} else {
				c.Queued++
			}
		}
		if _, err := o.exec(`UPDATE mx_cutovers SET queued = ? WHERE id = ?`, c.Queued, c.ID); err != nil {
			return err
		}
		recorded = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return recorded, nil
}

func (s *Store) SavePostCheck(ctx context.Context, c store.MXCutover, who string) error {
	return s.jobTx(ctx, func(o txOps) error {
		n, err := o.exec(`UPDATE mx_cutovers SET post_checked=?, post_ready=?, post_report=? WHERE engagement_id=? AND domain=?`,
			ts(c.PostChecked), c.PostReady, c.PostReport, c.EngagementID, strings.ToLower(c.Domain))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("cutover of %s: %w", c.Domain, store.ErrNotFound)
		}
		if !c.PostReady {
			return nil
		}
		// Complete only when every domain of the engagement has passed its check.
		var open int
		if err := o.queryRow(`SELECT COUNT(*) FROM engagement_domains d WHERE d.engagement_id = ? AND NOT EXISTS
			(SELECT 1 FROM mx_cutovers c WHERE c.engagement_id = d.engagement_id AND c.domain = d.domain AND c.post_ready = ?)`, c.EngagementID, true).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return nil
		}
		return setCutoverTask(o, c.EngagementID, "Complete", who, "Not Started", "In Progress")
	})
}

func (s *Store) WaitingCutoverItems(ctx context.Context, cutoverID int64) ([]int64, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (int64, error) {
		var id int64
		return id, sc.Scan(&id)
	}, `SELECT w.item_id FROM mx_cutover_items w JOIN items i ON i.id = w.item_id WHERE w.cutover_id = ? AND w.job_id = 0 ORDER BY w.item_id`, cutoverID)
}

func (s *Store) QueueWaitingCutoverItem(ctx context.Context, cutoverID, itemID int64, pass string, enqueue store.EnqueueFunc) (bool, error) {
	queued := false
	err := s.jobTx(ctx, func(o txOps) error {
		// Claimed first: a second worker's claim waits for this
		// transaction (PostgreSQL's row lock, SQLite's one writer) and
		// then finds job_id set.
		n, err := o.exec(`UPDATE mx_cutover_items SET job_id = -1 WHERE cutover_id = ? AND item_id = ? AND job_id = 0`, cutoverID, itemID)
		if err != nil || n == 0 {
			return err
		}
		ids, err := enqueue(ctx, o.tx)
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			return fmt.Errorf("queue the final pass of item %d: %d job ids", itemID, len(ids))
		}
		job := ids[0]
		if job == 0 {
			// The queue holds a pass of the item that has not run since
			// (one waiting to be retried): it runs after the cutover, so
			// it is the final pass.
			if err := o.queryRow(`SELECT job_id FROM items WHERE id = ?`, itemID).Scan(&job); err != nil {
				return err
			}
			if job == 0 {
				job = -1
			}
		} else if _, err := o.exec(`UPDATE items SET status=?, last_pass=?, job_id=?, updated=? WHERE id=?`, store.StatusQueued, pass, job, ts(time.Now()), itemID); err != nil {
			return err
		}
		if _, err := o.exec(`UPDATE mx_cutover_items SET job_id = ? WHERE cutover_id = ? AND item_id = ?`, job, cutoverID, itemID); err != nil {
			return err
		}
		if _, err := o.exec(`UPDATE mx_cutovers SET queued = queued + 1 WHERE id = ?`, cutoverID); err != nil {
			return err
		}
		queued = true
		return nil
	})
	return queued, err
}
