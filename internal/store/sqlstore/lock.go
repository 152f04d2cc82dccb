package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// runHolder names this process for a person who finds a mailbox taken.
func runHolder() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "this machine"
	}
	return fmt.Sprintf("pid %d on %s, since %s", os.Getpid(), host, time.Now().UTC().Format("2006-01-02 15:04:05 MST"))
}

// mailboxLockClass is the first key of PostgreSQL advisory locks on
// mailboxes; the second is the mailbox id. schemaLockKey is the schema's.
const (
	mailboxLockClass = 7239002
	schemaLockKey    = 7239001
)

// LockMailbox takes the mailbox for one run. On SQLite the lock is an
// flock on a file in the lock folder beside the state file (one file per
// mailbox, so runs of different mailboxes go in parallel); on PostgreSQL
// it is a session advisory lock on a connection held for the run (its own,
// outside the pool the queries use). Either
// way the operating system or the database drops it when the process dies.
func (s *Store) LockMailbox(ctx context.Context, mailbox int64) (func(), error) {
	if s.dialect == Postgres {
		return s.lockMailboxPostgres(ctx, mailbox)
	}
	dir := s.path + ".locks"
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the lock folder %s: %w", dir, err)
	}
	path := filepath.Join(dir, "mailbox-"+strconv.FormatInt(mailbox, 10))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the lock file %s: %w", path, err)
	}
	busy, err := tryLockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if busy {
		holder, _ := os.ReadFile(path)
		f.Close()
		return nil, &store.BusyError{Holder: strings.TrimSpace(string(holder))}
	}
	// Who holds it, for the message the next run prints; the lock itself is the flock.
	f.Truncate(0)
	f.WriteAt([]byte(runHolder()+"\n"), 0)
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}

func (s *Store) lockMailboxPostgres(ctx context.Context, mailbox int64) (func(), error) {
	conn, err := s.locks.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// The session names the run, so that another run can say who holds the mailbox.
	if _, err := conn.ExecContext(ctx, `SELECT set_config('application_name', $1, false)`, "ferry "+runHolder()); err != nil {
		conn.Close()
		return nil, err
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, mailboxLockClass, int32(mailbox)).Scan(&got); err != nil {
		conn.Close()
		return nil, err
	}
	if !got {
		defer conn.Close()
		var holder sql.NullString
		conn.QueryRowContext(ctx, `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted LIMIT 1`,
			mailboxLockClass, int32(mailbox)).Scan(&holder)
		return nil, &store.BusyError{Holder: strings.TrimPrefix(holder.String, "ferry ")}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// Closing the session alone would release it (the pool keeps no
			// idle session); unlocking first says so at once, bounded in time.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, $2)`, mailboxLockClass, int32(mailbox))
			conn.Close()
		})
	}, nil
}
