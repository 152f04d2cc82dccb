package sqlstore_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/store/storetest"
	"github.com/ferryhq/ferry/internal/testpg"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestFileIsPrivateAndReopens(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "state.db")
	s, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	s, err = sqlstore.OpenSQLite(context.Background(), path) // migrations are not applied twice
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestNotAStateFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(path, []byte(strings.Repeat("not sqlite ", 100)), 0o600)
	_, err := sqlstore.OpenSQLite(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v", err)
	}
}

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

func TestConformancePostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlstore.Open(context.Background(), testpg.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestManyProcessesOpenANewStateFile opens one new state file from several
// processes at the same moment (this test binary, run again as a child):
// every one must open it, and the schema must be applied once.
func TestManyProcessesOpenANewStateFile(t *testing.T) {
	t.Parallel()
	const processes = 8
	for round := range 3 {
		path := filepath.Join(t.TempDir(), "state.db")
		start := filepath.Join(t.TempDir(), "go")
		var cmds []*exec.Cmd
		var outs []*strings.Builder
		for range processes {
			cmd := exec.Command(os.Args[0], "-test.run=^TestOpenStateFileChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), "FERRY_TEST_OPEN="+path, "FERRY_TEST_START="+start)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds, outs = append(cmds, cmd), append(outs, &out)
		}
		// The children wait for this file so that they open at the same moment.
		os.WriteFile(start, nil, 0o600)
		for i, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Errorf("round %d, process %d: %v\n%s", round, i, err, outs[i])
			}
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if st, err := os.Stat(p); err == nil && st.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
			}
		}
	}
}

// TestOpenStateFileChild is the child of TestManyProcessesOpenANewStateFile.
func TestOpenStateFileChild(t *testing.T) {
	path := os.Getenv("FERRY_TEST_OPEN")
	if path == "" {
		return // run directly: nothing to do
	}
	start := os.Getenv("FERRY_TEST_START")
	for {
		if _, err := os.Stat(start); err == nil {
			break
		}
		time.Sleep(time.Millisecond) // waiting for the parent's file; nothing to block on across processes
	}
	s, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mailbox(context.Background(), store.MailboxKey{Source: "a", Destination: "b"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestManyOpenANewPostgresDatabase: several stores (sessions, as from
// several processes) opening one new database at once all succeed.
func TestManyOpenANewPostgresDatabase(t *testing.T) {
	t.Parallel()
	url := testpg.URL(t)
	const n = 8
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			s, err := sqlstore.Open(context.Background(), url)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestWALFilesArePrivate: the state file's -wal and -shm files, which hold
// recent writes, are 0600 like the file itself.
func TestWALFilesArePrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Mailbox(context.Background(), store.MailboxKey{Source: "a", Destination: "b"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v (expected while the store is open)", p, err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
		}
	}
}

// TestEngineStatementsPrepared: every statement a copy runs per mailbox and
// folder prepares on the current schema (a statement that does not is run
// from its text, parsed each time, which nothing else would show).
func TestEngineStatementsPrepared(t *testing.T) {
	t.Parallel()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if q := sqlstore.Unprepared(s); len(q) > 0 {
		t.Fatalf("%d statements are not prepared, the first:\n%s", len(q), q[0])
	}
}
