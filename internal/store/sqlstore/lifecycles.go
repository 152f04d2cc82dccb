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
	res, err := s.exec(ctx, nil, `UPDATE items SET dest=?, dest_key=?, source_login=?, dest_login=?, sealed_source_password=?, sealed_dest_password=?, updated=?
		WHERE id=? AND status NOT IN (?, ?)`,
		it.Dest, strings.ToLower(it.Dest), it.SourceLogin, it.DestLogin, it.SealedSourcePassword, it.SealedDestPassword, ts(time.Now()), it.ID,
		store.StatusQueued, store.StatusRunning)
	if isUnique(err) {
		return fmt.Errorf("%s is already in the project: %w", it.Dest, store.ErrDuplicate)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Item(ctx, it.ID); err != nil {
			return err
		}
		return fmt.Errorf("item %d: %w", it.ID, store.ErrItemBusy)
	}
	return nil
}
