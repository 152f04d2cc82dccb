package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

func (s *Store) SaveWaves(ctx context.Context, projectID int64, waves []*store.Wave) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM waves WHERE project_id = ?`, projectID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("project %d has accepted waves already: %w", projectID, store.ErrDuplicate)
		}
		for _, w := range waves {
			w.ProjectID = projectID
			if w.AcceptedAt.IsZero() {
				w.AcceptedAt = time.Now()
			}
			err := s.queryRow(ctx, tx, `INSERT INTO waves(project_id, number, name, cutover, prestage_at, older_than_days, time_zone, size_mb,
				estimate_seconds, estimate_note, over_limit, passes_queued, event_id, go_no_go_event_id, accepted_by, accepted_at)
				VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
				projectID, w.Number, w.Name, ts(w.Cutover), ts(w.PrestageAt), w.OlderThanDays, w.TimeZone, w.SizeMB,
				int64(w.Estimate/time.Second), w.EstimateNote, w.OverLimit, w.PassesQueued, w.EventID, w.GoNoGoEventID, w.AcceptedBy, ts(w.AcceptedAt)).Scan(&w.ID)
			if isUnique(err) {
				return fmt.Errorf("wave %d of project %d: %w", w.Number, projectID, store.ErrDuplicate)
			}
			if err != nil {
				return err
			}
			for _, it := range w.Items {
				var owner int64
				err := s.queryRow(ctx, tx, `SELECT project_id FROM items WHERE id = ?`, it.ItemID).Scan(&owner)
				if errors.Is(err, sql.ErrNoRows) || err == nil && owner != projectID {
					return fmt.Errorf("item %d of project %d: %w", it.ItemID, projectID, store.ErrNotFound)
				}
				if err != nil {
					return err
				}
				_, err = s.exec(ctx, tx, `INSERT INTO wave_items(wave_id, item_id, batch) VALUES (?,?,?)`, w.ID, it.ItemID, it.Batch)
				if isUnique(err) {
					return fmt.Errorf("item %d is in two waves: %w", it.ItemID, store.ErrDuplicate)
				}
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (s *Store) Waves(ctx context.Context, projectID int64) ([]store.Wave, error) {
	waves, err := collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.Wave, error) {
		var w store.Wave
		var cutover, prestage, accepted string
		var estimate int64
		err := sc.Scan(&w.ID, &w.ProjectID, &w.Number, &w.Name, &cutover, &prestage, &w.OlderThanDays, &w.TimeZone, &w.SizeMB,
			&estimate, &w.EstimateNote, &w.OverLimit, &w.PassesQueued, &w.EventID, &w.GoNoGoEventID, &w.AcceptedBy, &accepted)
		w.Cutover, w.PrestageAt, w.AcceptedAt = parseTS(cutover), parseTS(prestage), parseTS(accepted)
		w.Estimate = time.Duration(estimate) * time.Second
		w.Items = []store.WaveItem{}
		return w, err
	}, `SELECT id, project_id, number, name, cutover, prestage_at, older_than_days, time_zone, size_mb, estimate_seconds, estimate_note,
		over_limit, passes_queued, event_id, go_no_go_event_id, accepted_by, accepted_at FROM waves WHERE project_id = ? ORDER BY number`, projectID)
	if err != nil || len(waves) == 0 {
		return waves, err
	}
	index := map[int64]int{}
	for i, w := range waves {
		index[w.ID] = i
	}
	type row struct {
		wave int64
		it   store.WaveItem
	}
	rows, err := collect(s, ctx, func(sc interface{ Scan(...any) error }) (row, error) {
		var r row
		err := sc.Scan(&r.wave, &r.it.ItemID, &r.it.Source, &r.it.Batch)
		return r, err
	}, `SELECT wi.wave_id, wi.item_id, i.source, wi.batch FROM wave_items wi JOIN waves w ON w.id = wi.wave_id JOIN items i ON i.id = wi.item_id
		WHERE w.project_id = ? ORDER BY wi.wave_id, i.source`, projectID)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		w := &waves[index[r.wave]]
		w.Items = append(w.Items, r.it)
	}
	return waves, nil
}

func (s *Store) UpdateWave(ctx context.Context, w store.Wave) error {
	res, err := s.exec(ctx, nil, `UPDATE waves SET passes_queued=?, event_id=?, go_no_go_event_id=? WHERE id=? AND project_id=?`,
		w.PassesQueued, w.EventID, w.GoNoGoEventID, w.ID, w.ProjectID)
	return affected(res, err, "wave", w.ID)
}
