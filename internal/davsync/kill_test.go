package davsync_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/testdav"

	_ "modernc.org/sqlite" // reads the run's state to time the kills
)

var (
	buildOnce sync.Once
	ferryBin  string
	buildErr  error
)

// ferry builds cmd/ferry once for the tests that run it as a process.
func ferry(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ferry-davsync-")
		if err != nil {
			buildErr = err
			return
		}
		ferryBin = filepath.Join(dir, "ferry")
		if out, err := exec.Command("go", "build", "-o", ferryBin, "github.com/ferryhq/ferry/cmd/ferry").CombinedOutput(); err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build ferry: %v", buildErr)
	}
	return ferryBin
}

// TestKilledMidCopyDAVEndsExact kills `ferry migrate --workloads
// calendar,contacts,tasks` with SIGKILL at random moments, then lets it
// finish: the destination holds every source object once, exactly.
func TestKilledMidCopyDAVEndsExact(t *testing.T) {
	t.Parallel()
	bin := ferry(t)
	r := testdav.Start(t, map[string]string{"alice": "alice-pw", "bob": "bob-pw"})
	cal := r.MakeCalendar(t, "alice", "work", "Arbeit", "#ff8800ff", "VEVENT")
	tasks := r.MakeCalendar(t, "alice", "todo", "Aufgaben", "#00ff00ff", "VTODO")
	ab := r.MakeAddressBook(t, "alice", "contacts", "Kontakte")
	const events, nTasks, contacts = 150, 10, 40
	r.Load(t, "alice", cal, "text/calendar", testdav.Events(events))
	r.Load(t, "alice", tasks, "text/calendar", testdav.Tasks(nTasks))
	r.Load(t, "alice", ab, "text/vcard", testdav.Contacts(contacts, 100_000))

	dir := t.TempDir()
	for user, pw := range map[string]string{"alice": "alice-pw", "bob": "bob-pw"} {
		if err := os.WriteFile(filepath.Join(dir, user), []byte(pw), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := strings.TrimPrefix(r.URL, "http://")
	args := []string{"migrate", "--workloads", "calendar,contacts,tasks",
		"--from-dav", "http://alice@" + base, "--to-dav", "http://bob@" + base,
		"--from-password-file", filepath.Join(dir, "alice"), "--to-password-file", filepath.Join(dir, "bob"),
		"--state", filepath.Join(dir, "state.db")}

	// Each run is killed once it has recorded a few more objects than the
	// run before (a random number): a kill by the clock lands after the
	// copy on a fast machine and before it starts on a slow one.
	state := filepath.Join(dir, "state.db")
	copied := func() int {
		db, err := sql.Open("sqlite", "file:"+state+"?mode=ro")
		if err != nil {
			return 0
		}
		defer db.Close()
		var n int
		if db.QueryRow(`SELECT COUNT(*) FROM dav_objects`).Scan(&n) != nil {
			return 0 // not created yet
		}
		return n
	}
	const total = events + nTasks + contacts
	rng := rand.New(rand.NewPCG(19, 19))
	kills := 0
	for i := range 4 {
		target := copied() + 5 + rng.IntN(25)
		cmd := exec.Command(bin, args...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		tick := time.NewTicker(20 * time.Millisecond)
	watch:
		for {
			select {
			case err := <-done:
				t.Logf("run %d finished before the kill (%v):\n%s", i, err, out.String())
				break watch
			case <-tick.C:
				if target < total && copied() >= target {
					cmd.Process.Signal(syscall.SIGKILL)
					<-done
					kills++
					break watch
				}
			}
		}
		tick.Stop()
	}
	if kills < 3 {
		t.Fatalf("only %d runs were killed mid-copy", kills)
	}
	ctx := context.Background()
	dst, err := dav.Dial(ctx, dav.Endpoint{URL: r.URL, User: "bob", Password: "bob-pw"})
	if err != nil {
		t.Fatal(err)
	}
	n := len(contents(t, dst))
	if n == 0 {
		t.Fatalf("the %d killed runs copied nothing: kill later", kills)
	}
	// ferry verify takes the same arguments but --state.
	verify := append([]string{"verify"}, args[1:len(args)-2]...)
	if n < events+nTasks+contacts {
		vout, err := exec.Command(bin, verify...).CombinedOutput()
		if err == nil || !strings.Contains(string(vout), "INCOMPLETE") || !strings.Contains(string(vout), "missing: ") {
			t.Fatalf("verify with %d of %d objects copied: %v\n%s", n, events+nTasks+contacts, err, vout)
		}
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	t.Logf("after %d kills, final run:\n%s", kills, out)

	src, err := dav.Dial(ctx, dav.Endpoint{URL: r.URL, User: "alice", Password: "alice-pw"})
	if err != nil {
		t.Fatal(err)
	}
	want, got := contents(t, src), contents(t, dst) // contents fails on a UID seen twice
	if len(want) != events+nTasks+contacts {
		t.Fatalf("source holds %d objects", len(want))
	}
	for uid, w := range want {
		if got[uid] != w {
			t.Errorf("%s missing or different at the destination", uid)
		}
	}
	if len(got) != len(want) {
		t.Errorf("destination holds %d objects, source %d", len(got), len(want))
	}
	if vout, err := exec.Command(bin, verify...).CombinedOutput(); err != nil || !strings.Contains(string(vout), "complete: every source object") {
		t.Fatalf("ferry verify after the final run: %v\n%s", err, vout)
	}
	// A further run finds nothing to do.
	out, err = exec.Command(bin, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "calendar  0 copied, 0 updated, 150 unchanged, 0 failed") {
		t.Fatalf("run after the end: %v\n%s", err, out)
	}
}
