package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/ferryhq/ferry/internal/store"
)

func (s *Store) DAVObjects(ctx context.Context, mailbox int64, collection string) ([]store.DAVObject, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.DAVObject, error) {
		o := store.DAVObject{Collection: collection}
		return o, sc.Scan(&o.UID, &o.Workload, &o.SourcePath, &o.SourceETag, &o.DestPath, &o.DestETag)
	}, `SELECT uid, workload, source_path, source_etag, dest_path, dest_etag FROM dav_objects
		WHERE mailbox_id = ? AND collection = ? ORDER BY uid`, mailbox, collection)
}

func (s *Store) SaveDAVObject(ctx context.Context, mailbox int64, o store.DAVObject) error {
	_, err := s.exec(ctx, nil, `INSERT INTO dav_objects(mailbox_id, collection, uid, workload, source_path, source_etag, dest_path, dest_etag)
		VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT(mailbox_id, collection, uid) DO UPDATE SET workload=excluded.workload, source_path=excluded.source_path,
			source_etag=excluded.source_etag, dest_path=excluded.dest_path, dest_etag=excluded.dest_etag`,
		mailbox, o.Collection, o.UID, o.Workload, o.SourcePath, o.SourceETag, o.DestPath, o.DestETag)
	return err
}

func (s *Store) DAVSyncToken(ctx context.Context, mailbox int64, collection string) (string, error) {
	var token string
	err := s.queryRow(ctx, nil, `SELECT sync_token FROM dav_collections WHERE mailbox_id = ? AND collection = ?`, mailbox, collection).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return token, err
}

func (s *Store) SaveDAVSyncToken(ctx context.Context, mailbox int64, collection, token string) error {
	if token == "" {
		_, err := s.exec(ctx, nil, `DELETE FROM dav_collections WHERE mailbox_id = ? AND collection = ?`, mailbox, collection)
		return err
	}
	_, err := s.exec(ctx, nil, `INSERT INTO dav_collections(mailbox_id, collection, sync_token) VALUES (?,?,?)
		ON CONFLICT(mailbox_id, collection) DO UPDATE SET sync_token=excluded.sync_token`, mailbox, collection, token)
	return err
}

func (s *Store) DAVCounts(ctx context.Context, mailbox int64) (map[string]int, error) {
	rows, err := s.query(ctx, `SELECT workload, COUNT(*) FROM dav_objects WHERE mailbox_id = ? GROUP BY workload`, mailbox)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var w string
		var n int
		if err := rows.Scan(&w, &n); err != nil {
			return nil, err
		}
		out[w] = n
	}
	return out, rows.Err()
}

func (s *Store) SaveDAVFailures(ctx context.Context, mailbox int64, failures []store.DAVFailure) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, `DELETE FROM dav_failures WHERE mailbox_id = ?`, mailbox); err != nil {
			return err
		}
		for i, f := range failures {
			if _, err := s.exec(ctx, tx, `INSERT INTO dav_failures(mailbox_id, seq, workload, collection, uid, title, date, error, action) VALUES (?,?,?,?,?,?,?,?,?)`,
				mailbox, i, f.Workload, f.Collection, f.UID, f.Title, f.Date, f.Error, f.Action); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) DAVFailures(ctx context.Context, mailbox int64) ([]store.DAVFailure, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.DAVFailure, error) {
		var f store.DAVFailure
		return f, sc.Scan(&f.Workload, &f.Collection, &f.UID, &f.Title, &f.Date, &f.Error, &f.Action)
	}, `SELECT workload, collection, uid, title, date, error, action FROM dav_failures WHERE mailbox_id = ? ORDER BY seq`, mailbox)
}
