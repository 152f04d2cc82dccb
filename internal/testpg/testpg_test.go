package testpg

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// goTB lets goroutines other than the test's call URL: Fatal* record the
// failure and end only the calling goroutine; the test checks err().
type goTB struct {
	testing.TB
	mu     sync.Mutex
	failed []string
}

func (g *goTB) Fatalf(format string, args ...any) { g.fail(fmt.Sprintf(format, args...)) }
func (g *goTB) Fatal(args ...any)                 { g.fail(fmt.Sprint(args...)) }
func (g *goTB) FailNow()                          { g.fail("FailNow") }

func (g *goTB) fail(msg string) {
	g.mu.Lock()
	g.failed = append(g.failed, msg)
	g.mu.Unlock()
	runtime.Goexit()
}

func (g *goTB) err() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return strings.Join(g.failed, "\n")
}

func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect to database %s: %v", dbOf(t, u), err)
	}
	return conn
}

func dbOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("parse %q: %v", u, err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

func databaseExists(t *testing.T, conn *pgx.Conn, name string) bool {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatalf("query pg_database: %v", err)
	}
	return n > 0
}

func tableExists(t *testing.T, conn *pgx.Conn, table string) bool {
	t.Helper()
	var exists bool
	if err := conn.QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		t.Fatalf("to_regclass: %v", err)
	}
	return exists
}

func TestURLsAreIsolated(t *testing.T) {
	g := &goTB{TB: t}
	var urls [2]string
	var wg sync.WaitGroup
	start := time.Now()
	for i := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			urls[i] = URL(g)
		}()
	}
	wg.Wait()
	if msg := g.err(); msg != "" {
		t.Fatal(msg)
	}
	t.Logf("two concurrent URLs in %v: databases %s, %s", time.Since(start), dbOf(t, urls[0]), dbOf(t, urls[1]))
	if dbOf(t, urls[0]) == dbOf(t, urls[1]) {
		t.Fatalf("URL returned database %s twice", dbOf(t, urls[0]))
	}

	ctx := context.Background()
	a, b := connect(t, urls[0]), connect(t, urls[1])
	defer a.Close(ctx)
	defer b.Close(ctx)
	for i, conn := range []*pgx.Conn{a, b} {
		var db string
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
			t.Fatal(err)
		}
		if want := dbOf(t, urls[i]); db != want {
			t.Errorf("connected to database %q, want %q", db, want)
		}
		if tableExists(t, conn, "widgets") {
			t.Errorf("fresh database %s already has table widgets", db)
		}
	}

	if _, err := a.Exec(ctx, "CREATE TABLE widgets (id bigint PRIMARY KEY, name text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Exec(ctx, "INSERT INTO widgets VALUES (1, 'sprocket')"); err != nil {
		t.Fatal(err)
	}
	if !tableExists(t, a, "widgets") {
		t.Fatal("table widgets missing right after CREATE TABLE")
	}
	if tableExists(t, b, "widgets") {
		t.Fatal("table created in one test database is visible in the other")
	}
	// The other database can have its own table of that name.
	if _, err := b.Exec(ctx, "CREATE TABLE widgets (other int)"); err != nil {
		t.Fatal(err)
	}
}

func TestCleanupDropsDatabase(t *testing.T) {
	ctx := context.Background()
	observer := connect(t, URL(t))
	defer observer.Close(ctx)

	var dropped string
	var leftOpen *pgx.Conn
	t.Run("sub", func(t *testing.T) {
		u := URL(t)
		dropped = dbOf(t, u)
		// Leave a connection open: cleanup must drop the database anyway.
		leftOpen = connect(t, u)
		if _, err := leftOpen.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
		if !databaseExists(t, observer, dropped) {
			t.Fatalf("database %s not in pg_database", dropped)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	defer leftOpen.Close(ctx)
	if databaseExists(t, observer, dropped) {
		t.Fatalf("database %s still exists after its test's cleanup", dropped)
	}
	if _, err := leftOpen.Exec(ctx, "SELECT 1"); err == nil {
		t.Error("connection to the dropped database still works")
	}
}

func TestExternalServer(t *testing.T) {
	admin := os.Getenv(EnvVar)
	if admin == "" {
		// Use the private cluster as the "external" server.
		URL(t)
		mu.Lock()
		admin = shared.adminURL()
		mu.Unlock()
	}
	t.Setenv(EnvVar, admin)
	conn := connect(t, admin)
	defer conn.Close(context.Background())

	var name string
	t.Run("Some/Sub-Test_Name", func(t *testing.T) {
		u := URL(t)
		name = dbOf(t, u)
		if !regexp.MustCompile(`^test_testexternalserver_some_sub_test_name_[0-9a-f]{10}$`).MatchString(name) {
			t.Errorf("database name %q not derived from the test name", name)
		}
		c := connect(t, u)
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
		if !databaseExists(t, conn, name) {
			t.Fatalf("database %s not in pg_database", name)
		}
	})
	if name != "" && databaseExists(t, conn, name) {
		t.Errorf("database %s still exists after its test's cleanup", name)
	}
}

func TestDatabaseName(t *testing.T) {
	seen := map[string]bool{}
	for _, test := range []string{
		"TestX",
		"TestX",
		"TestStore/Conformance/Append#01",
		"__Weird Name!!/ÜNICODE/" + strings.Repeat("long", 40),
	} {
		name := databaseName(test)
		if len(name) > 63 || !regexp.MustCompile(`^test_[a-z0-9]+(_[a-z0-9]+)*_[0-9a-f]{10}$`).MatchString(name) {
			t.Errorf("databaseName(%q) = %q: not a plain identifier of at most 63 bytes", test, name)
		}
		if seen[name] {
			t.Errorf("databaseName(%q) = %q twice", test, name)
		}
		seen[name] = true
	}
	if got := databaseName("TestStore/Conformance/Append#01"); !strings.HasPrefix(got, "test_teststore_conformance_append_01_") {
		t.Errorf("databaseName = %q", got)
	}
}

func TestParseVersion(t *testing.T) {
	v15, _ := parseVersion("15")
	v96, _ := parseVersion("9.6")
	if len(v15) != 1 || v15[0] != 15 || len(v96) != 2 {
		t.Fatalf("parseVersion: %v %v", v15, v96)
	}
	if _, ok := parseVersion("15beta"); ok {
		t.Error("parseVersion accepted 15beta")
	}
}

func skipIfExternal(t *testing.T) {
	if os.Getenv(EnvVar) != "" {
		t.Skipf("%s is set: no private cluster", EnvVar)
	}
}

func TestStopAndRestart(t *testing.T) {
	skipIfExternal(t)
	first := URL(t)
	mu.Lock()
	c := shared
	mu.Unlock()
	pid := c.cmd.Process.Pid

	Stop()
	if processAlive(pid) {
		t.Errorf("postmaster %d still running after Stop", pid)
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s not removed by Stop: %v", c.dir, err)
	}
	if _, err := pgx.Connect(context.Background(), first); err == nil {
		t.Error("database of a stopped cluster still accepts connections")
	}

	// The next call starts a new cluster; the first database's cleanup is
	// quietly skipped.
	conn := connect(t, URL(t))
	defer conn.Close(context.Background())
	if err := conn.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

const helperEnv = "FERRY_TESTPG_HELPER"

// TestHelperProcess is run by TestClusterDiesWithTestProcess in a child
// test process, which gets killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process for TestClusterDiesWithTestProcess")
	}
	URL(t)
	mu.Lock()
	c := shared
	mu.Unlock()
	fmt.Printf("READY %d %s\n", c.cmd.Process.Pid, c.dir)
	time.Sleep(time.Minute) // until killed
}

func TestClusterDiesWithTestProcess(t *testing.T) {
	skipIfExternal(t)
	if runtime.GOOS != "linux" {
		t.Skip("parent death signal is Linux-only")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	var pid int
	var dir string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "READY" {
			pid, _ = strconv.Atoi(f[1])
			dir = f[2]
			break
		}
	}
	if pid == 0 {
		cmd.Wait()
		t.Fatal("helper process did not report its cluster")
	}
	if !processAlive(pid) {
		t.Fatalf("postmaster %d of the helper is not running", pid)
	}

	cmd.Process.Kill() // SIGKILL: no cleanup in the helper
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
			t.Fatalf("postmaster %d still running 10s after its test process was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The next cluster start removes the leftover directory.
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("helper's cluster directory: %v", err)
	}
	removeStale(filepath.Dir(dir))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		os.RemoveAll(dir)
		t.Errorf("stale cluster directory %s not removed: %v", dir, err)
	}
}
