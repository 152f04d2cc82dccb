package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

func (s *Store) DeleteItems(ctx context.Context, projectID int64, ids []int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			var status string
			err := s.queryRow(ctx, tx, `SELECT status FROM items WHERE id = ? AND project_id = ?`, id, projectID).Scan(&status)
			if err != nil {
				return notFound(err, "item", id)
			}
			// Checked and deleted in one statement, so a pass queued between
			// the two cannot lose its item.
			res, err := s.exec(ctx, tx, `DELETE FROM items WHERE id = ? AND project_id = ? AND status NOT IN (?, ?)`,
				id, projectID, store.StatusQueued, store.StatusRunning)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("item %d: %w", id, store.ErrItemBusy)
			}
		}
		return nil
	})
}

func (s *Store) EditItem(ctx context.Context, it store.Item) error {
	return s.editItem(ctx, nil, it)
}

func (s *Store) EditItems(ctx context.Context, items []store.Item) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, it := range items {
			if err := s.editItem(ctx, tx, it); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) editItem(ctx context.Context, tx *sql.Tx, it store.Item) error {
	res, err := s.exec(ctx, tx, `UPDATE items SET dest=?, dest_key=?, source_login=?, dest_login=?, sealed_source_password=?, sealed_dest_password=?, updated=?, workloads=?
		WHERE id=? AND status NOT IN (?, ?)`,
		it.Dest, strings.ToLower(it.Dest), it.SourceLogin, it.DestLogin, it.SealedSourcePassword, it.SealedDestPassword, ts(time.Now()), workloadLines(it.Workloads), it.ID,
		store.StatusQueued, store.StatusRunning)
	if isUnique(err) {
		return fmt.Errorf("%s is already in the project: %w", it.Dest, store.ErrDuplicate)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var status string
		if err := s.queryRow(ctx, tx, `SELECT status FROM items WHERE id = ?`, it.ID).Scan(&status); err != nil {
			return notFound(err, "item", it.ID)
		}
		return fmt.Errorf("item %d: %w", it.ID, store.ErrItemBusy)
	}
	return nil
}

func (s *Store) UpdatePostMigrationIssue(ctx context.Context, p store.PostMigrationIssue, events []store.IssueEvent) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE post_migration_issues SET owner=?, status=?, description=? WHERE id=? AND engagement_id=?`,
			p.Owner, p.Status, p.Description, p.ID, p.EngagementID)
		if err := affected(res, err, "post-migration issue", p.ID); err != nil {
			return err
		}
		for _, ev := range events {
			if ev.At.IsZero() {
				ev.At = time.Now()
			}
			if _, err := s.exec(ctx, tx, `INSERT INTO issue_events(issue_id, at, who, field, before, after, note) VALUES (?,?,?,?,?,?,?)`,
				p.ID, ts(ev.At), ev.Who, ev.Field, ev.Before, ev.After, ev.Note); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) IssueEvents(ctx context.Context, issueID int64) ([]store.IssueEvent, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.IssueEvent, error) {
		var ev store.IssueEvent
		var at string
		err := sc.Scan(&ev.ID, &ev.IssueID, &at, &ev.Who, &ev.Field, &ev.Before, &ev.After, &ev.Note)
		ev.At = parseTS(at)
		return ev, err
	}, `SELECT id, issue_id, at, who, field, before, after, note FROM issue_events WHERE issue_id = ? ORDER BY id`, issueID)
}
