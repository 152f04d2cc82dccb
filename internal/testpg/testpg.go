// Package testpg gives tests a fresh, empty PostgreSQL database each.
//
// By default it runs a private, throwaway PostgreSQL cluster: the first call
// to URL in a test process runs initdb in a temporary directory and starts a
// postgres server listening only on 127.0.0.1 (on a free port) and on a unix
// socket inside that directory, tuned for speed over durability (fsync,
// synchronous_commit and full_page_writes off). All tests of the process
// share that cluster; every URL call creates its own database in it
// (test_<n>) and drops it when the test ends.
//
// The server binaries are taken from /usr/lib/postgresql/<version>/bin (the
// highest version installed), as installed by the Debian postgresql package
// (`make test` or scripts/install-test-deps.sh install it). PostgreSQL refuses
// to run as root, so when the tests run as root the cluster is owned by and
// runs as the "postgres" system user that package creates.
//
// To use an existing server instead, set FERRY_TEST_POSTGRES to a postgres://
// URL whose user may CREATE DATABASE; each URL call then creates a uniquely
// named database there (named after the test) and drops it on cleanup.
//
// Packages using URL should stop the shared cluster when their tests are done:
//
//	func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }
//
// If they don't (or the test binary is killed, e.g. by go test -timeout), the
// kernel still stops the server when the test process dies (Linux parent
// death signal), and the next start removes the leftover directory.
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the environment variable that points the tests at an external
// server instead of a private cluster, e.g.
// postgres://ferry:secret@db.example:5432/postgres?sslmode=disable.
const EnvVar = "FERRY_TEST_POSTGRES"

// PGRoot is where the Debian packages install PostgreSQL's server binaries,
// one <version>/bin directory per major version.
const PGRoot = "/usr/lib/postgresql"

const (
	dirPrefix    = "ferry-testpg-"
	ownerFile    = "owner.lock" // locked by the test process owning a cluster directory; holds its pid
	startTimeout = 60 * time.Second
	dbTimeout    = 60 * time.Second
)

var (
	mu        sync.Mutex
	shared    *cluster // the running shared cluster, nil before the first URL call and after Stop
	sharedErr error    // why the shared cluster could not be started (sticky until Stop)
	dbSeq     atomic.Int64
)

// URL returns a connection URL (postgres://...) to a fresh, empty database
// that exists only for this test: it is dropped, even if connections to it
// are still open, when the test and its subtests have finished.
//
// Without FERRY_TEST_POSTGRES the database lives in the private cluster of
// this test process, which URL starts on first use; concurrent callers are
// safe. Its superuser is "postgres", authentication is "trust", and the
// database uses UTF8 encoding with the C locale.
//
// URL calls tb.Fatalf when it cannot provide a database (for example when
// PostgreSQL is not installed), so call it from the test's goroutine.
func URL(tb testing.TB) string {
	tb.Helper()
	if ext := os.Getenv(EnvVar); ext != "" {
		return externalURL(tb, ext)
	}
	c, err := sharedCluster()
	if err != nil {
		tb.Fatalf("testpg: %v", err)
	}
	name := "test_" + strconv.FormatInt(dbSeq.Add(1), 10)
	if err := createDatabase(c.adminURL(), name, true); err != nil {
		if c.stopped.Load() {
			tb.Fatalf("testpg: cluster was stopped (testpg.Stop) while creating database %s: %v", name, err)
		}
		tb.Fatalf("testpg: %v\n--- postgres log tail (%s) ---\n%s", err, c.logFile, logTail(c.logFile, 20))
	}
	tb.Cleanup(func() {
		if c.stopped.Load() {
			return // the whole cluster is gone already
		}
		if err := dropDatabase(c.adminURL(), name); err != nil && !c.stopped.Load() {
			tb.Errorf("testpg: %v", err)
		}
	})
	return c.url(name)
}

// Stop stops the shared private cluster, if one is running, and removes its
// directory. Databases handed out by URL become unusable. It does nothing
// with FERRY_TEST_POSTGRES (databases there are dropped by test cleanups).
// A later URL call starts a new cluster.
//
// Call it from TestMain after m.Run (or use Main).
func Stop() {
	mu.Lock()
	c := shared
	shared, sharedErr = nil, nil
	mu.Unlock()
	if c != nil {
		c.stop()
	}
}

// Main runs the tests and then stops the shared cluster, returning the exit
// code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// --- external server ---

func externalURL(tb testing.TB, raw string) string {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("testpg: %s must be a postgres://user:password@host:port/dbname?sslmode=... URL", EnvVar)
	}
	name := databaseName(tb.Name())
	if err := createDatabase(raw, name, false); err != nil {
		tb.Fatalf("testpg: on the server of %s: %v", EnvVar, err)
	}
	tb.Cleanup(func() {
		if err := dropDatabase(raw, name); err != nil {
			tb.Errorf("testpg: on the server of %s: %v", EnvVar, err)
		}
	})
	v := *u
	v.Path, v.RawPath = "/"+name, ""
	return v.String()
}

// databaseName derives a unique database name (at most 63 bytes, the
// PostgreSQL identifier limit) from a test name: test_<test>_<random>.
func databaseName(testName string) string {
	var b strings.Builder
	underscore := true // no leading underscore after "test_"
	for _, r := range strings.ToLower(testName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			underscore = false
		} else if !underscore {
			b.WriteByte('_')
			underscore = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	random := make([]byte, 5)
	rand.Read(random)
	return "test_" + strings.TrimRight(b.String(), "_") + "_" + hex.EncodeToString(random)
}

// --- databases ---

// createDatabase creates database name, a copy of template0. With fileCopy
// (for the private cluster only) and PostgreSQL 15+, it copies the template's
// files instead of WAL-logging every block: noticeably faster with fsync off,
// but it forces two checkpoints, which are expensive on a server with fsync
// on.
func createDatabase(adminURL, name string, fileCopy bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connecting to create database %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	// template0 is never connected to, so concurrent creations can't fail
	// with "source database is being accessed by other users", and its
	// contents are the pristine ones.
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() +
		" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
	if fileCopy && serverMajor(conn) >= 15 {
		sql += " STRATEGY FILE_COPY"
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	return nil
}

// serverMajor returns the server's major version (e.g. 15), or 0.
func serverMajor(conn *pgx.Conn) int {
	v := conn.PgConn().ParameterStatus("server_version") // "15.8 (Debian 15.8-0+deb12u1)"
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(v)
	}
	n, _ := strconv.Atoi(v[:end])
	return n
}

func dropDatabase(adminURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connecting to drop database %s: %w", name, err)
	}
	defer conn.Close(context.Background())
	// FORCE (PostgreSQL 13+) terminates connections the test left open.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping database %s: %w", name, err)
	}
	return nil
}

// --- the private cluster ---

type cluster struct {
	dir     string   // temporary directory holding everything below
	owner   *os.File // ownerFile, locked while this process uses dir
	dataDir string
	sockDir string
	logFile string
	port    int

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the postmaster has exited
	waitErr error         // the postmaster's exit status, valid once exited is closed
	stopped atomic.Bool
}

func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

func (c *cluster) adminURL() string { return c.url("postgres") }

func sharedCluster() (*cluster, error) {
	mu.Lock()
	defer mu.Unlock()
	if shared != nil || sharedErr != nil {
		return shared, sharedErr
	}
	shared, sharedErr = startCluster()
	return shared, sharedErr
}

// startCluster runs initdb and starts postgres in a new temporary directory.
func startCluster() (*cluster, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	owner, err := clusterOwner()
	if err != nil {
		return nil, err
	}
	base := baseDir(owner)
	removeStale(base)

	dir, err := os.MkdirTemp(base, dirPrefix)
	if err != nil {
		return nil, err
	}
	c := &cluster{
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		sockDir: filepath.Join(dir, "sock"),
		logFile: filepath.Join(dir, "postgres.log"),
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
			if c.owner != nil {
				c.owner.Close()
			}
		}
	}()
	if c.owner, err = lockOwnerFile(filepath.Join(dir, ownerFile)); err != nil {
		return nil, err
	}
	if err := os.Mkdir(c.sockDir, 0o700); err != nil {
		return nil, err
	}
	// MkdirTemp made dir 0700; the postgres user must be able to create
	// the data directory in it and to use the socket directory.
	for _, d := range []string{dir, c.sockDir} {
		if err := owner.chown(d); err != nil {
			return nil, err
		}
	}

	initdb := exec.Command(filepath.Join(bin, "initdb"),
		"-D", c.dataDir, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	var out strings.Builder
	initdb.Stdout, initdb.Stderr = &out, &out
	initdb.Dir = dir
	if err := runPinned(initdb, owner); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out.String())
	}

	const attempts = 5
	for attempt := 1; ; attempt++ {
		retry, err := c.start(bin, owner)
		if err == nil {
			ok = true
			return c, nil
		}
		if !retry || attempt == attempts {
			return nil, fmt.Errorf("starting postgres: %v\n--- postgres log tail (%s) ---\n%s", err, c.logFile, logTail(c.logFile, 20))
		}
	}
}

// start starts the postmaster on a free port and waits until it accepts
// connections. retry reports whether another port may work.
func (c *cluster) start(bin string, owner *osUser) (retry bool, err error) {
	port, err := freePort()
	if err != nil {
		return false, err
	}
	c.port = port
	logf, err := os.OpenFile(c.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return false, err
	}
	defer logf.Close() // the child has its own copy
	logStart, _ := logf.Seek(0, 2)

	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", c.dataDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+c.sockDir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "shared_buffers=32MB",
		"-c", "jit=off",
	)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	c.cmd = cmd
	c.exited = make(chan struct{})
	exited := c.exited
	if err := startPinned(cmd, owner, func(err error) {
		c.waitErr = err
		close(exited)
	}); err != nil {
		return false, fmt.Errorf("exec postgres: %w", err)
	}

	err = c.waitReady(startTimeout)
	if err == nil {
		return false, nil
	}
	c.kill()
	logText, _ := os.ReadFile(c.logFile)
	if int64(len(logText)) > logStart {
		logText = logText[logStart:]
	}
	retry = strings.Contains(string(logText), "could not bind") ||
		strings.Contains(string(logText), "could not create any TCP/IP sockets")
	return retry, err
}

func (c *cluster) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		select {
		case <-c.exited:
			return fmt.Errorf("postgres exited during startup: %v", c.waitErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %v", timeout, lastErr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.adminURL())
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-c.exited:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop shuts the postmaster down ("fast": it disconnects clients) and
// removes the cluster's directory.
func (c *cluster) stop() {
	c.stopped.Store(true)
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(os.Interrupt)
		select {
		case <-c.exited:
		case <-time.After(15 * time.Second):
			c.kill()
		}
	}
	os.RemoveAll(c.dir)
	c.owner.Close()
}

func (c *cluster) kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Kill()
		<-c.exited
	}
}

// startPinned starts cmd as owner and calls exited with its exit status when
// it ends. The parent death signal set by sysProcAttr is delivered when the
// *thread* that started the child exits, not the process, and the Go runtime
// ends a thread when a goroutine locked to it returns. So cmd is started and
// waited for by a goroutine locked to its thread (that thread lives at least
// as long as the child), and no goroutine in the test process returns
// locked, so no thread ends under a child started earlier.
func startPinned(cmd *exec.Cmd, owner *osUser, exited func(error)) error {
	cmd.SysProcAttr = sysProcAttr(owner)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Unlock before returning: a goroutine that returns locked ends
		// its thread, and the thread may have started other children
		// (ferry workers, other servers) before this goroutine took it;
		// their parent-death signal would kill them.
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited(cmd.Wait())
	}()
	return <-started
}

// runPinned runs cmd to completion like cmd.Run, started by startPinned.
func runPinned(cmd *exec.Cmd, owner *osUser) error {
	done := make(chan error, 1)
	if err := startPinned(cmd, owner, func(err error) { done <- err }); err != nil {
		return err
	}
	return <-done
}

// findBinDir returns the bin directory of the highest PostgreSQL version
// under PGRoot that has both initdb and postgres.
func findBinDir() (string, error) {
	entries, _ := os.ReadDir(PGRoot)
	var best string
	var bestVer []int
	for _, e := range entries {
		ver, ok := parseVersion(e.Name())
		if !ok {
			continue
		}
		bin := filepath.Join(PGRoot, e.Name(), "bin")
		if !isExecutable(filepath.Join(bin, "initdb")) || !isExecutable(filepath.Join(bin, "postgres")) {
			continue
		}
		if best == "" || slices.Compare(ver, bestVer) > 0 {
			best, bestVer = bin, ver
		}
	}
	if best == "" {
		return "", fmt.Errorf("PostgreSQL server binaries (initdb, postgres) not found under %s/*/bin; "+
			"run `make test` or scripts/install-test-deps.sh (as root) to install the postgresql package, "+
			"or set %s to a postgres:// URL of a server where the user may CREATE DATABASE", PGRoot, EnvVar)
	}
	return best, nil
}

// parseVersion parses "15" or "9.6".
func parseVersion(s string) ([]int, bool) {
	var ver []int
	for _, part := range strings.Split(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, false
		}
		ver = append(ver, n)
	}
	return ver, true
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// baseDir returns where to create cluster directories: os.TempDir(), unless
// the unix socket path would get too long (the limit is 107 bytes) or the
// directory isn't reachable for the user running postgres.
func baseDir(owner *osUser) string {
	base := os.TempDir()
	// <base>/ferry-testpg-<10 digits>/sock/.s.PGSQL.<5 digits>.lock
	if len(base)+len("/"+dirPrefix+"1234567890/sock/.s.PGSQL.65535.lock") > 100 {
		return "/tmp"
	}
	if owner != nil && !traversableByOthers(base) {
		return "/tmp"
	}
	return base
}

// traversableByOthers reports whether dir and all its ancestors can be
// searched by any user.
func traversableByOthers(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// removeStale removes cluster directories under base left behind by test
// processes that died without calling Stop (their postgres died with them):
// those whose owner file is no longer locked.
func removeStale(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
	for _, dir := range dirs {
		switch ownerGone(filepath.Join(dir, ownerFile)) {
		case errOwnerAlive:
			continue
		case nil:
		default:
			// No owner file: maybe being created right now; only
			// remove the directory when old.
			fi, err := os.Stat(dir)
			if err != nil || time.Since(fi.ModTime()) < 10*time.Minute {
				continue
			}
		}
		if pid := postmasterPID(dir); pid > 0 && processAlive(pid) {
			continue // still shutting down, or not stopped by the kernel; leave it alone
		}
		os.RemoveAll(dir)
	}
}

// postmasterPID returns the pid in the postmaster.pid file of the cluster in
// dir, or 0.
func postmasterPID(dir string) int {
	data, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(data), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

var errOwnerAlive = errors.New("owner alive")

var errNoPostgresUser = errors.New(`the tests run as root, but PostgreSQL refuses to run as root and there is no "postgres" system user to run it as; ` +
	"run `make test` or scripts/install-test-deps.sh (as root) to install the postgresql package, which creates it")
