// Package sqlstore is Ferry's store on SQL: the embedded SQLite file (one
// machine, nothing to set up) or a PostgreSQL server (many workers). One
// implementation serves both; queries are written once with '?' and
// rebound for PostgreSQL, and each dialect has its own schema files.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/ferryhq/ferry/internal/store"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the SQL flavour.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is a store.Store on a SQL database.
type Store struct {
	db      *sql.DB
	dialect Dialect
	path    string // the SQLite file; its lock folder is beside it
	// locks (PostgreSQL) holds one session per locked mailbox, apart from
	// db's pool so that runs holding mailboxes cannot starve the queries.
	locks *sql.DB
	upTo  int // the last schema version to apply; 0: every one
	// prepared (SQLite) holds enginePrepared's statements, prepared once
	// when the file opens: exec, queryRow and query use them instead of
	// having SQLite parse the same text again for every call.
	prepared map[string]*sql.Stmt
}

var _ store.Store = (*Store)(nil)

// Open opens a database named by a URL (postgres://...) or a file path (SQLite).
func Open(ctx context.Context, dsn string) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return OpenPostgres(ctx, dsn)
	}
	return OpenSQLite(ctx, strings.TrimPrefix(dsn, "sqlite://"))
}

// OpenSQLite opens (creating when missing) the state file and applies the schema.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	return openSQLite(ctx, path, 0)
}

// openSQLite opens the state file with the schema files up to version upTo
// applied (0: all of them); tests of a schema change start below it.
func openSQLite(ctx context.Context, path string, upTo int) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create the folder for the state file %s: %w", path, err)
		}
	}
	// A small page cache (256 KiB, not SQLite's default 2 MB): the engine
	// reads and writes copies a window of UIDs at a time, so a larger cache
	// only makes the process grow with the state file.
	// The file is created private before SQLite opens it: SQLite gives its
	// -wal and -shm files the mode of the database file.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Chmod(p, 0o600) // files made by an older Ferry
	}
	// busy_timeout comes first: switching a new file to WAL takes a lock
	// that another process opening it at the same moment may hold.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=cache_size(-256)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	// SQLite has one writer; one connection keeps transactions from tripping on each other.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, dialect: SQLite, path: path, upTo: upTo}
	// SQLite answers "database is locked" at once, without waiting out
	// busy_timeout, in a few moments of a new file's life (another process
	// switching it to WAL or recovering its WAL index): those are waited out
	// here, for as long as busy_timeout would have.
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := s.migrate(ctx)
		if err == nil {
			s.prepare(ctx)
			return s, nil
		}
		if !sqliteBusy(err) || time.Now().Add(wait).After(deadline) {
			db.Close()
			return nil, fmt.Errorf("state file %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			db.Close()
			return nil, fmt.Errorf("state file %s: %w", path, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// sqliteBusy says whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED
// (with any extended code).
func sqliteBusy(err error) bool {
	var coded interface{ Code() int }
	if !errors.As(err, &coded) {
		return false
	}
	switch coded.Code() & 0xff {
	case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
		return true
	}
	return false
}

// OpenPostgres connects to a PostgreSQL database and applies the schema.
func OpenPostgres(ctx context.Context, url string) (*Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(20)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL (%s): %w", redactURL(url), err)
	}
	locks, err := sql.Open("pgx", url)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	locks.SetMaxIdleConns(0) // a released mailbox's session ends
	s := &Store{db: db, dialect: Postgres, locks: locks}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("PostgreSQL %s: %w", redactURL(url), err)
	}
	return s, nil
}

func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	at := strings.LastIndex(rest, "@")
	if !ok || at < 0 {
		return u
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	return scheme + "://" + user + "@" + rest[at+1:]
}

// DB is the underlying database (the job queue shares it).
func (s *Store) DB() *sql.DB { return s.db }

// Dialect says which database this is.
func (s *Store) Dialect() Dialect { return s.dialect }

// q rebinds '?' placeholders for the dialect.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// enginePrepared are the statements a copy runs for every mailbox and
// folder (a small mailbox's run is some twenty of them), which openSQLite
// prepares once. The text is the key: a method uses the same constant.
var enginePrepared = append([]string{qMailbox, qFolder, qFolderValidity, qForgetCopies, qSaveFolder, qCopiesRange,
	qRecordFailure, qClearMailboxFailures, qClearFolderFailure,
	qFolderMap, qSaveFolderMap, qFailures, qStartRun, qFinishRun, qProgressRun}, copyStatements()...)

// prepare prepares enginePrepared on SQLite (PostgreSQL's driver keeps its
// own cache of prepared statements per session). A statement that does not
// prepare (a schema older than this Ferry, in tests) is run from its text.
func (s *Store) prepare(ctx context.Context) {
	if s.dialect != SQLite || s.upTo != 0 {
		return
	}
	s.prepared = make(map[string]*sql.Stmt, len(enginePrepared))
	for _, q := range enginePrepared {
		if st, err := s.db.PrepareContext(ctx, q); err == nil {
			s.prepared[q] = st
		}
	}
}

// stmt is query's prepared statement (in tx when tx is not nil), or nil.
func (s *Store) stmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	st := s.prepared[query]
	if st == nil || tx == nil {
		return st
	}
	return tx.StmtContext(ctx, st)
}

func (s *Store) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.stmt(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if tx != nil {
		return tx.ExecContext(ctx, s.q(query), args...)
	}
	return s.db.ExecContext(ctx, s.q(query), args...)
}

func (s *Store) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := s.stmt(ctx, tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if tx != nil {
		return tx.QueryRowContext(ctx, s.q(query), args...)
	}
	return s.db.QueryRowContext(ctx, s.q(query), args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.prepared[query]; st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, s.q(query), args...)
}

// migrate applies the schema files not applied yet. Several processes may
// open a new database at the same moment: each takes the database's lock
// (SQLite: a write transaction, BEGIN IMMEDIATE; PostgreSQL: an advisory
// lock) before it reads which versions are applied, so a file is applied
// once and the others find it done.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	if s.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, schemaLockKey); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, schemaLockKey)
	}
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE on SQLite (_txlock=immediate)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("not a Ferry database, unreadable, or held by another process for too long: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS ferry_schema (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("not a Ferry database or unreadable: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM ferry_schema`).Scan(&version); err != nil {
		return err
	}
	names, _ := fs.Glob(migrations, "migrations/"+string(s.dialect)+"/*.sql")
	sort.Strings(names)
	for _, name := range names {
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0])
		if err != nil || n <= version || (s.upTo > 0 && n > s.upTo) {
			continue
		}
		body, _ := migrations.ReadFile(name)
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("apply schema %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO ferry_schema(version) VALUES (?)`), n); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range s.prepared {
		st.Close()
	}
	if s.locks != nil {
		s.locks.Close()
	}
	return s.db.Close()
}

// The engine's statements (enginePrepared).
const (
	qMailbox = `INSERT INTO mailboxes(source, destination) VALUES (?, ?)
		ON CONFLICT(source, destination) DO UPDATE SET source = excluded.source RETURNING id`
	qFolder         = `SELECT source_validity, dest, dest_validity, dest_scanned_uid, appending FROM folders WHERE mailbox_id = ? AND source = ?`
	qFolderValidity = `SELECT source_validity, dest, dest_validity FROM folders WHERE mailbox_id = ? AND source = ?`
	qForgetCopies   = `DELETE FROM copies WHERE mailbox_id = ? AND folder = ?`
	qSaveFolder     = `INSERT INTO folders(mailbox_id, source, source_validity, dest, dest_validity, dest_scanned_uid, appending) VALUES (?,?,?,?,?,?,?)
			ON CONFLICT(mailbox_id, source) DO UPDATE SET source_validity=excluded.source_validity, dest=excluded.dest,
			dest_validity=excluded.dest_validity, dest_scanned_uid=excluded.dest_scanned_uid, appending=excluded.appending`
	qCopiesRange = `SELECT source_uid, dest_uid, fingerprint, flags, size FROM copies
		WHERE mailbox_id = ? AND folder = ? AND source_uid >= ? AND source_uid <= ? ORDER BY source_uid`
	qRecordFailure = `INSERT INTO failures(mailbox_id, folder, uid, subject, size, pass, temporary, server_text, hint, at) VALUES (?,?,?,?,?,?,?,?,?,?)
				ON CONFLICT(mailbox_id, folder, uid) DO UPDATE SET subject=excluded.subject, size=excluded.size, pass=excluded.pass, temporary=excluded.temporary,
				server_text=excluded.server_text, hint=excluded.hint, at=excluded.at`
	qClearMailboxFailures = `DELETE FROM failures WHERE mailbox_id = ? AND uid = 0 AND folder = ''`
	qClearFolderFailure   = `DELETE FROM failures WHERE mailbox_id = ? AND uid = 0 AND folder = ?`
	qFolderMap            = `SELECT source, dest, renamed FROM folder_map WHERE mailbox_id = ? ORDER BY source`
	qSaveFolderMap        = `INSERT INTO folder_map(mailbox_id, source, dest, renamed) VALUES (?,?,?,?)
			ON CONFLICT(mailbox_id, source) DO UPDATE SET dest=excluded.dest, renamed=excluded.renamed`
	qFailures    = `SELECT folder, uid, subject, size, pass, temporary, server_text, hint, at FROM failures WHERE mailbox_id = ? ORDER BY folder, uid`
	qStartRun    = `INSERT INTO runs(mailbox_id, pass, started, status, worker, item_id) VALUES (?,?,?,?,?,?) RETURNING id`
	qFinishRun   = `UPDATE runs SET ended=?, status=?, error=?, copied=?, copied_bytes=?, skipped=?, failed=?, failed_bytes=?, flags_updated=?, to_copy=?, to_copy_bytes=? WHERE id=? AND mailbox_id=?`
	qProgressRun = `UPDATE runs SET copied=?, copied_bytes=?, skipped=?, failed=?, failed_bytes=?, to_copy=?, to_copy_bytes=? WHERE id=? AND mailbox_id=? AND status='running'`
)

func (s *Store) Mailbox(ctx context.Context, key store.MailboxKey) (int64, error) {
	var id int64
	err := s.queryRow(ctx, nil, qMailbox, key.Source, key.Destination).Scan(&id)
	return id, err
}

func (s *Store) Folder(ctx context.Context, mailbox int64, source string) (store.FolderState, error) {
	f := store.FolderState{Source: source}
	err := s.queryRow(ctx, nil, qFolder, mailbox, source).Scan(&f.SourceValidity, &f.Dest, &f.DestValidity, &f.DestScannedUID, &f.Appending)
	if errors.Is(err, sql.ErrNoRows) {
		return f, store.ErrNotFound
	}
	return f, err
}

func (s *Store) SaveFolder(ctx context.Context, mailbox int64, f store.FolderState) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var sv, dv uint32
		var dest string
		err := s.queryRow(ctx, tx, qFolderValidity, mailbox, f.Source).Scan(&sv, &dest, &dv)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case sv != f.SourceValidity || dv != f.DestValidity || dest != f.Dest:
			if _, err := s.exec(ctx, tx, qForgetCopies, mailbox, f.Source); err != nil {
				return err
			}
		}
		_, err = s.exec(ctx, tx, qSaveFolder, mailbox, f.Source, f.SourceValidity, f.Dest, f.DestValidity, f.DestScannedUID, f.Appending)
		return err
	})
}

func (s *Store) Copies(ctx context.Context, mailbox int64, source string, fn func(store.Copy) error) error {
	return s.CopiesRange(ctx, mailbox, source, 0, math.MaxUint32, fn)
}

func (s *Store) CopiesRange(ctx context.Context, mailbox int64, source string, from, to uint32, fn func(store.Copy) error) error {
	rows, err := s.query(ctx, qCopiesRange, mailbox, source, int64(from), int64(to))
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

// copiesPerStatement is how many copies one INSERT writes (and one DELETE
// clears of failures): a round trip to PostgreSQL and a statement for up to
// this many messages, where each message cost two. 7 values a copy stay far
// below SQLite's and PostgreSQL's limits on parameters.
const copiesPerStatement = 100

// copyChunks are the numbers of copies whose statements (insertCopies,
// clearCopyFailures) SQLite has prepared: a batch is written in chunks of
// these sizes, largest first (at most 8 statement pairs for up to 100
// copies), where a statement of its own would be parsed for every batch
// and a statement a copy costs more than a parse for a large one.
var copyChunks = []int{copiesPerStatement, 64, 32, 16, 8, 4, 2, 1}

// copyStatements are the prepared statements of copyChunks.
func copyStatements() []string {
	var out []string
	for _, n := range copyChunks {
		out = append(out, insertCopies(n), clearCopyFailures(n))
	}
	return out
}

// insertCopies records n copies (7 values each) or updates them.
func insertCopies(n int) string {
	return `INSERT INTO copies(mailbox_id, folder, source_uid, dest_uid, fingerprint, flags, size) VALUES ` +
		strings.Repeat(`(?,?,?,?,?,?,?),`, n-1) + `(?,?,?,?,?,?,?)` +
		` ON CONFLICT(mailbox_id, folder, source_uid) DO UPDATE SET dest_uid=excluded.dest_uid, fingerprint=excluded.fingerprint, flags=excluded.flags, size=excluded.size`
}

// clearCopyFailures clears the failures of n UIDs of a folder (mailbox,
// folder, then the UIDs).
func clearCopyFailures(n int) string {
	return `DELETE FROM failures WHERE mailbox_id = ? AND folder = ? AND uid IN (` + strings.Repeat(`?,`, n-1) + `?)`
}

func (s *Store) RecordCopies(ctx context.Context, mailbox int64, source string, copies []store.Copy) error {
	if len(copies) == 0 {
		return nil
	}
	// A UID given twice is recorded once, as its last copy says: one
	// statement may not update a row twice (ON CONFLICT).
	last := make(map[uint32]int, len(copies))
	for i, c := range copies {
		last[c.SourceUID] = i
	}
	if len(last) < len(copies) {
		once := make([]store.Copy, 0, len(last))
		for i, c := range copies {
			if last[c.SourceUID] == i {
				once = append(once, c)
			}
		}
		copies = once
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		insArgs := make([]any, 0, 7*min(len(copies), copiesPerStatement))
		delArgs := make([]any, 0, 2+min(len(copies), copiesPerStatement))
		for start := 0; start < len(copies); {
			n := min(len(copies)-start, copiesPerStatement)
			if s.prepared != nil {
				// The largest chunk prepared that fits.
				for _, k := range copyChunks {
					if k <= n {
						n = k
						break
					}
				}
			}
			chunk := copies[start : start+n]
			start += n
			insArgs, delArgs = insArgs[:0], append(delArgs[:0], mailbox, source)
			for _, c := range chunk {
				insArgs = append(insArgs, mailbox, source, c.SourceUID, c.DestUID, c.Fingerprint, c.Flags, c.Size)
				delArgs = append(delArgs, c.SourceUID)
			}
			// The texts of copyChunks' statements are kept: a prepared one
			// is found without building its text again.
			insQ, delQ := insertCopiesText[n], clearCopyFailuresText[n]
			if insQ == "" {
				insQ, delQ = insertCopies(n), clearCopyFailures(n)
			}
			if _, err := s.exec(ctx, tx, insQ, insArgs...); err != nil {
				return err
			}
			if _, err := s.exec(ctx, tx, delQ, delArgs...); err != nil {
				return err
			}
		}
		return nil
	})
}

// insertCopiesText and clearCopyFailuresText are the texts of copyChunks'
// statements, by size.
var insertCopiesText, clearCopyFailuresText = func() (ins, del map[int]string) {
	ins, del = map[int]string{}, map[int]string{}
	for _, n := range copyChunks {
		ins[n], del[n] = insertCopies(n), clearCopyFailures(n)
	}
	return ins, del
}()

func (s *Store) RecordFailures(ctx context.Context, mailbox int64, failures []store.Failure) error {
	if len(failures) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, f := range failures {
			if f.At.IsZero() {
				f.At = time.Now()
			}
			_, err := s.exec(ctx, tx, qRecordFailure,
				mailbox, f.Folder, f.UID, f.Subject, f.Size, f.Pass, f.Temporary, f.ServerText, f.Hint, f.At.UTC().Format(time.RFC3339Nano))
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) ClearMailboxFailures(ctx context.Context, mailbox int64) error {
	_, err := s.exec(ctx, nil, qClearMailboxFailures, mailbox)
	return err
}

func (s *Store) ClearFolderFailure(ctx context.Context, mailbox int64, folder string) error {
	_, err := s.exec(ctx, nil, qClearFolderFailure, mailbox, folder)
	return err
}

func (s *Store) FolderMap(ctx context.Context, mailbox int64) ([]store.FolderMapping, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.FolderMapping, error) {
		var m store.FolderMapping
		return m, sc.Scan(&m.Source, &m.Dest, &m.Renamed)
	}, qFolderMap, mailbox)
}

func (s *Store) SaveFolderMap(ctx context.Context, mailbox int64, mappings []store.FolderMapping) error {
	if len(mappings) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		ins := s.stmt(ctx, tx, qSaveFolderMap)
		if ins == nil {
			var err error
			if ins, err = tx.PrepareContext(ctx, s.q(qSaveFolderMap)); err != nil {
				return err
			}
			defer ins.Close()
		}
		for _, m := range mappings {
			if _, err := ins.ExecContext(ctx, mailbox, m.Source, m.Dest, m.Renamed); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) Failures(ctx context.Context, mailbox int64) ([]store.Failure, error) {
	rows, err := s.query(ctx, qFailures, mailbox)
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
	return s.queryRow(ctx, nil, qStartRun, mailbox, run.Pass, run.Started.UTC().Format(time.RFC3339Nano), "running", run.Worker, run.ItemID).Scan(&run.ID)
}

func (s *Store) FinishRun(ctx context.Context, mailbox int64, run *store.Run) error {
	_, err := s.exec(ctx, nil, qFinishRun,
		run.Ended.UTC().Format(time.RFC3339Nano), run.Status, run.Error, run.Copied, run.CopiedBytes, run.Skipped, run.Failed, run.FailedBytes, run.FlagsUpdated, run.ToCopy, run.ToCopyBytes, run.ID, mailbox)
	return err
}

func (s *Store) ProgressRun(ctx context.Context, mailbox int64, run *store.Run) error {
	_, err := s.exec(ctx, nil, qProgressRun,
		run.Copied, run.CopiedBytes, run.Skipped, run.Failed, run.FailedBytes, run.ToCopy, run.ToCopyBytes, run.ID, mailbox)
	return err
}

func (s *Store) FolderProgress(ctx context.Context, mailbox int64) ([]store.FolderProgress, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.FolderProgress, error) {
		var f store.FolderProgress
		return f, sc.Scan(&f.Source, &f.Dest, &f.Copied, &f.CopiedBytes, &f.Failed)
	}, `SELECT f.source, f.dest,
		(SELECT COUNT(*) FROM copies c WHERE c.mailbox_id = f.mailbox_id AND c.folder = f.source),
		(SELECT CAST(COALESCE(SUM(c.size), 0) AS BIGINT) FROM copies c WHERE c.mailbox_id = f.mailbox_id AND c.folder = f.source),
		(SELECT COUNT(*) FROM failures x WHERE x.mailbox_id = f.mailbox_id AND x.folder = f.source)
		FROM folders f WHERE f.mailbox_id = ? ORDER BY f.source`, mailbox)
}

func (s *Store) Runs(ctx context.Context, mailbox int64) ([]store.Run, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.Run, error) {
		return scanRun(sc)
	}, `SELECT `+runCols+` FROM runs r WHERE r.mailbox_id = ? ORDER BY r.id`, mailbox)
}

const runCols = `r.id, r.pass, r.started, COALESCE(r.ended,''), r.status, r.error, r.copied, r.copied_bytes, r.skipped, r.failed, r.failed_bytes, r.flags_updated, r.worker, r.item_id, r.to_copy, r.to_copy_bytes`

// scanRun reads a row of runCols (and any columns before them in dest).
func scanRun(sc interface{ Scan(...any) error }, before ...any) (store.Run, error) {
	var r store.Run
	var started, ended string
	dest := append(before, &r.ID, &r.Pass, &started, &ended, &r.Status, &r.Error, &r.Copied, &r.CopiedBytes, &r.Skipped, &r.Failed, &r.FailedBytes, &r.FlagsUpdated, &r.Worker, &r.ItemID, &r.ToCopy, &r.ToCopyBytes)
	if err := sc.Scan(dest...); err != nil {
		return r, err
	}
	r.Started, _ = time.Parse(time.RFC3339Nano, started)
	r.Ended, _ = time.Parse(time.RFC3339Nano, ended)
	return r, nil
}

func (s *Store) ProjectRuns(ctx context.Context, projectID int64) ([]store.ItemRun, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.ItemRun, error) {
		var ir store.ItemRun
		var err error
		ir.Run, err = scanRun(sc, &ir.ItemID)
		return ir, err
	}, `SELECT i.id, `+runCols+` FROM items i JOIN runs r ON r.item_id = i.id WHERE i.project_id = ? ORDER BY r.id`, projectID)
}

func (s *Store) ItemRuns(ctx context.Context, itemID int64) ([]store.Run, error) {
	return collect(s, ctx, func(sc interface{ Scan(...any) error }) (store.Run, error) {
		return scanRun(sc)
	}, `SELECT `+runCols+` FROM runs r WHERE r.item_id = ? ORDER BY r.id`, itemID)
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
