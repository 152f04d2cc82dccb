package cli

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestExportsArePrivate: every file a command exports (mailbox statistics,
// pre-flight findings, the remediation checklist, a wave plan's files and
// its folder) names the customer's people and mailboxes, so it is readable
// by its owner only, whatever the umask, also when it existed before with
// a wider mode. Not parallel: it clears the process's umask.
func TestExportsArePrivate(t *testing.T) {
	e := newMgmtEnv(t)
	f := e.fixture()
	var eng idJSON
	e.okJSON(&eng, "engagement", "create", "--customer", id(f.customer), "--name", "Onboarding", "--seats", "800", "--service", "core")
	old := syscall.Umask(0) // files made with os.Create are then 0666: only an explicit mode keeps them private
	defer syscall.Umask(old)
	stale := filepath.Join(e.dir, "checklist.csv")
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("project", "statistics", id(f.project), "--format", "csv", "--output", filepath.Join(e.dir, "statistics.csv"))
	e.ok("project", "findings", id(f.project), "--format", "csv", "--output", filepath.Join(e.dir, "findings.csv"))
	e.ok("checklist", "export", "--engagement", id(eng.ID), "--output", stale)
	perms := e.write("Permissions.csv", "Mailbox,User,AccessRights\nalice@contoso.com,bob@contoso.com,FullAccess\n")
	plan := filepath.Join(e.dir, "plan")
	e.ok("waves", "plan", "--permissions", perms, "--start", "2027-01-04", "--out", plan)
	for _, p := range []string{"statistics.csv", "findings.csv", "checklist.csv", "plan", "plan/Batches.csv", "plan/Schedule.csv", "plan/Permissions.svg", "plan/Timeline.svg"} {
		st, err := os.Stat(filepath.Join(e.dir, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		want := os.FileMode(0o600)
		if st.IsDir() {
			want = 0o700
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, st.Mode().Perm(), want)
		}
	}
}
