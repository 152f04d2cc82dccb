// Package sqlitestore is the embedded store: one SQLite file, no server.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/ferryhq/ferry/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on a SQLite file.
type Store struct {
	db *sql.DB
}

var _ store.Store = (*Store)(nil)

// Open opens (creating when missing) the state file and applies the schema.
func Open(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create the folder for the state file %s: %w", path, err)
		}
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	// SQLite has one writer; one connection keeps transactions from tripping on each other.
	db.SetMaxOpenConns(1)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	os.Chmod(path, 0o600)
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("not a Ferry state file or unreadable: %w", err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	for _, name := range names {
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if err != nil || n <= version {
			continue
		}
		body, _ := migrations.ReadFile(name)
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("apply schema %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) Mailbox(ctx context.Context, key store.MailboxKey) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO mailboxes(source, destination) VALUES (?, ?)
		ON CONFLICT(source, destination) DO UPDATE SET source = excluded.source RETURNING id`, key.Source, key.Destination).Scan(&id)
	return id, err
}

func (s *Store) Folder(ctx context.Context, mailbox int64, source string) (store.FolderState, error) {
	f := store.FolderState{Source: source}
	err := s.db.QueryRowContext(ctx, `SELECT source_validity, dest, dest_validity, dest_scanned_uid, appending FROM folders WHERE mailbox_id = ? AND source = ?`,
		mailbox, source).Scan(&f.SourceValidity, &f.Dest, &f.DestValidity, &f.DestScannedUID, &f.Appending)
	if errors.Is(err, sql.ErrNoRows) {
		return f, store.ErrNotFound
	}
	return f, err
}

func (s *Store) SaveFolder(ctx context.Context, mailbox int64, f store.FolderState) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var sv, dv uint32
		var dest string
		err := tx.QueryRowContext(ctx, `SELECT source_validity, dest, dest_validity FROM folders WHERE mailbox_id = ? AND source = ?`, mailbox, f.Source).Scan(&sv, &dest, &dv)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case sv != f.SourceValidity || dv != f.DestValidity || dest != f.Dest:
			if _, err := tx.ExecContext(ctx, `DELETE FROM copies WHERE mailbox_id = ? AND folder = ?`, mailbox, f.Source); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO folders(mailbox_id, source, source_validity, dest, dest_validity, dest_scanned_uid, appending) VALUES (?,?,?,?,?,?,?)
			ON CONFLICT(mailbox_id, source) DO UPDATE SET source_validity=excluded.source_validity, dest=excluded.dest,
			dest_validity=excluded.dest_validity, dest_scanned_uid=excluded.dest_scanned_uid, appending=excluded.appending`,
			mailbox, f.Source, f.SourceValidity, f.Dest, f.DestValidity, f.DestScannedUID, f.Appending)
		return err
	})
}

func (s *Store) Copies(ctx context.Context, mailbox int64, source string, fn func(store.Copy) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT source_uid, dest_uid, fingerprint, flags, size FROM copies WHERE mailbox_id = ? AND folder = ? ORDER BY source_uid`, mailbox, source)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c store.Copy
		if err := rows.Scan(&c.SourceUID, &c.DestUID, &c.Fingerprint, &c.Flags, &c.Size); err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *Store) RecordCopies(ctx context.Context, mailbox int64, source string, copies []store.Copy) error {
	if len(copies) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO copies(mailbox_id, folder, source_uid, dest_uid, fingerprint, flags, size) VALUES (?,?,?,?,?,?,?)
			ON CONFLICT(mailbox_id, folder, source_uid) DO UPDATE SET dest_uid=excluded.dest_uid, fingerprint=excluded.fingerprint, flags=excluded.flags, size=excluded.size`)
		if err != nil {
			return err
		}
		defer ins.Close()
		del, err := tx.PrepareContext(ctx, `DELETE FROM failures WHERE mailbox_id = ? AND folder = ? AND uid = ?`)
		if err != nil {
			return err
		}
		defer del.Close()
		for _, c := range copies {
			if _, err := ins.ExecContext(ctx, mailbox, source, c.SourceUID, c.DestUID, c.Fingerprint, c.Flags, c.Size); err != nil {
				return err
			}
			if _, err := del.ExecContext(ctx, mailbox, source, c.SourceUID); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) RecordFailures(ctx context.Context, mailbox int64, failures []store.Failure) error {
	if len(failures) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, f := range failures {
			if f.At.IsZero() {
				f.At = time.Now()
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO failures(mailbox_id, folder, uid, subject, size, pass, temporary, server_text, hint, at) VALUES (?,?,?,?,?,?,?,?,?,?)
				ON CONFLICT(mailbox_id, folder, uid) DO UPDATE SET subject=excluded.subject, size=excluded.size, pass=excluded.pass, temporary=excluded.temporary,
				server_text=excluded.server_text, hint=excluded.hint, at=excluded.at`,
				mailbox, f.Folder, f.UID, f.Subject, f.Size, f.Pass, f.Temporary, f.ServerText, f.Hint, f.At.UTC().Format(time.RFC3339Nano))
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) ClearMailboxFailures(ctx context.Context, mailbox int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM failures WHERE mailbox_id = ? AND uid = 0`, mailbox)
	return err
}

func (s *Store) Failures(ctx context.Context, mailbox int64) ([]store.Failure, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT folder, uid, subject, size, pass, temporary, server_text, hint, at FROM failures WHERE mailbox_id = ? ORDER BY folder, uid`, mailbox)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Failure
	for rows.Next() {
		var f store.Failure
		var at string
		if err := rows.Scan(&f.Folder, &f.UID, &f.Subject, &f.Size, &f.Pass, &f.Temporary, &f.ServerText, &f.Hint, &at); err != nil {
			return nil, err
		}
		f.At, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, f)
	}
	return out, rows.Err()
}

func (s *Store) StartRun(ctx context.Context, mailbox int64, run *store.Run) error {
	return s.db.QueryRowContext(ctx, `INSERT INTO runs(mailbox_id, pass, started, status) VALUES (?,?,?,?) RETURNING id`,
		mailbox, run.Pass, run.Started.UTC().Format(time.RFC3339Nano), "running").Scan(&run.ID)
}

func (s *Store) FinishRun(ctx context.Context, mailbox int64, run *store.Run) error {
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET ended=?, status=?, error=?, copied=?, copied_bytes=?, skipped=?, failed=?, failed_bytes=?, flags_updated=? WHERE id=? AND mailbox_id=?`,
		run.Ended.UTC().Format(time.RFC3339Nano), run.Status, run.Error, run.Copied, run.CopiedBytes, run.Skipped, run.Failed, run.FailedBytes, run.FlagsUpdated, run.ID, mailbox)
	return err
}

func (s *Store) Runs(ctx context.Context, mailbox int64) ([]store.Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, pass, started, COALESCE(ended,''), status, error, copied, copied_bytes, skipped, failed, failed_bytes, flags_updated FROM runs WHERE mailbox_id = ? ORDER BY id`, mailbox)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Run
	for rows.Next() {
		var r store.Run
		var started, ended string
		if err := rows.Scan(&r.ID, &r.Pass, &started, &ended, &r.Status, &r.Error, &r.Copied, &r.CopiedBytes, &r.Skipped, &r.Failed, &r.FailedBytes, &r.FlagsUpdated); err != nil {
			return nil, err
		}
		r.Started, _ = time.Parse(time.RFC3339Nano, started)
		r.Ended, _ = time.Parse(time.RFC3339Nano, ended)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
