package sqlstore

import (
	"context"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

var _ store.Gauges = (*Store)(nil)

func (s *Store) ItemCounts(ctx context.Context) ([]store.ItemCount, error) {
	rows, err := s.query(ctx, `SELECT i.project_id, i.status, i.last_pass, COUNT(*) FROM items i
		JOIN projects p ON p.id = i.project_id WHERE p.closed = ?
		GROUP BY i.project_id, i.status, i.last_pass ORDER BY i.project_id, i.status, i.last_pass`, false)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ItemCount
	for rows.Next() {
		var c store.ItemCount
		if err := rows.Scan(&c.ProjectID, &c.Status, &c.LastPass, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) LeaseCounts(ctx context.Context) (map[int64]int, error) {
	rows, err := s.query(ctx, `SELECT project_id, COUNT(*) FROM item_leases WHERE expires >= ? GROUP BY project_id`, ts(time.Now()))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var project int64
		var n int
		if err := rows.Scan(&project, &n); err != nil {
			return nil, err
		}
		out[project] = n
	}
	return out, rows.Err()
}
