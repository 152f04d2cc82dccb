package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ferryhq/ferry/internal/store"
)

// QueuePass writes the item rows of a pass start in the transaction that
// queues its jobs. River's driver for SQLite takes the *sql.Tx; on
// PostgreSQL River speaks pgx, so the transaction is pgx's own, on one of
// the store's connections (database/sql hands it over with Conn.Raw).
func (s *Store) QueuePass(ctx context.Context, itemIDs []int64, pass string, enqueue store.EnqueueFunc) ([]int64, error) {
	var ids []int64
	write := func(ctx context.Context, tx any, exec func(query string, args ...any) (int64, error)) error {
		var err error
		if ids, err = enqueue(ctx, tx); err != nil {
			return err
		}
		if len(ids) != len(itemIDs) {
			return fmt.Errorf("queue a pass: %d job ids for %d items", len(ids), len(itemIDs))
		}
		now := ts(time.Now())
		for i, id := range itemIDs {
			if ids[i] == 0 {
				continue // its pass is queued or running already
			}
			n, err := exec(`UPDATE items SET status=?, last_pass=?, job_id=?, updated=? WHERE id=?`, store.StatusQueued, pass, ids[i], now, id)
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("item %d: %w", id, store.ErrNotFound)
			}
		}
		return nil
	}
	if s.dialect != Postgres {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			return write(ctx, tx, func(query string, args ...any) (int64, error) {
				res, err := tx.ExecContext(ctx, query, args...)
				if err != nil {
					return 0, err
				}
				return res.RowsAffected()
			})
		})
		if err != nil {
			return nil, err
		}
		return ids, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	err = conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("queue a pass: the PostgreSQL connection is a %T, not pgx's", driverConn)
		}
		return pgx.BeginFunc(ctx, c.Conn(), func(tx pgx.Tx) error {
			return write(ctx, tx, func(query string, args ...any) (int64, error) {
				tag, err := tx.Exec(ctx, s.q(query), args...)
				return tag.RowsAffected(), err
			})
		})
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}
