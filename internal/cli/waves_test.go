package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWavesPlanFromFiles: the files alone give Batches.csv, Schedule.csv
// and the pictures; a bad row is named by line and column (exit 2).
func TestWavesPlanFromFiles(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	perms := e.write("Permissions.csv", "#TYPE Selected.Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject\n"+
		"\"Identity\",\"User\",\"AccessRights\",\"IsInherited\",\"Deny\"\n"+
		"\"alice@contoso.com\",\"NT AUTHORITY\\SELF\",\"{FullAccess, ReadPermission}\",\"False\",\"False\"\n"+
		"\"alice@contoso.com\",\"CONTOSO\\bob\",\"{FullAccess}\",\"False\",\"False\"\n"+
		"\"bob@contoso.com\",\"NT AUTHORITY\\SELF\",\"{FullAccess, ReadPermission}\",\"False\",\"False\"\n"+
		"\"carol@contoso.com\",\"S-1-5-21-3623811015-3361044348-30300820-1013\",\"{FullAccess}\",\"False\",\"False\"\n")
	boxes := e.write("Mailboxes.csv", "PrimarySMTPAddress,MailboxSize(MB)\nalice@contoso.com,2048\nbob@contoso.com,1024\ncarol@contoso.com,512\n")
	out := filepath.Join(e.dir, "plan")
	stdout := e.ok("waves", "plan", "--permissions", perms, "--mailboxes", boxes, "--max-per-wave", "2", "--max-gb-per-wave", "10",
		"--start", "2027-01-04", "--every", "Fri 18:00", "--time-zone", "Europe/Berlin", "--out", out)
	if !strings.Contains(stdout, "3 mailboxes, 1 permissions tie 2 batches; 2 waves") || !strings.Contains(stdout, "Wave 1   Fri 2027-01-08 18:00 CET") {
		t.Errorf("summary:\n%s", stdout)
	}
	batches, _ := os.ReadFile(filepath.Join(out, "Batches.csv"))
	if string(batches) != "Batch,User\nBATCH-1,alice@contoso.com\nBATCH-1,bob@contoso.com\nBATCH-NoDependencies,carol@contoso.com\n" {
		t.Errorf("Batches.csv:\n%s", batches)
	}
	schedule, _ := os.ReadFile(filepath.Join(out, "Schedule.csv"))
	if !strings.HasPrefix(string(schedule), "Migration Date(MM/dd/yyyy),Migration Window,Migration Group,PrimarySMTPAddress,SuggestedBatch,MailboxSize(MB),Notes\n"+
		"01/08/2027,18:00,Wave 1,alice@contoso.com,BATCH-1,2048,no measurement yet\n") {
		t.Errorf("Schedule.csv:\n%s", schedule)
	}
	for _, f := range []string{"Permissions.svg", "Timeline.svg"} {
		if b, err := os.ReadFile(filepath.Join(out, f)); err != nil || !strings.HasPrefix(string(b), "<svg") {
			t.Errorf("%s: %v", f, err)
		}
	}
	bad := e.write("Bad.csv", "Mailbox,User,AccessRights\nalice@contoso.com,bob@contoso.com,FullAcess\n")
	if _, errOut := e.usage("waves", "plan", "--permissions", bad, "--start", "2027-01-04", "--out", out); !strings.Contains(errOut, `Bad.csv line 2, column 3 (AccessRights): unknown access right "FullAcess"`) {
		t.Errorf("bad file: %s", errOut)
	}
	if _, errOut := e.usage("waves", "plan", "--permissions", perms, "--start", "2027-01-04", "--every", "Friday", "--out", out); !strings.Contains(errOut, "--every:") {
		t.Errorf("bad --every: %s", errOut)
	}
}

// TestWavesAcceptOnProject: planned on a project's items and accepted,
// the waves list; accepting again adds no pass.
func TestWavesAcceptOnProject(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	f := e.fixture()
	var v idJSON
	e.okJSON(&v, "item", "add", "--project", id(f.project), "--source", "bob@contoso.com", "--destination", "bob@contoso.com",
		"--destination-password-file", e.alicePW)
	perms := e.write("Permissions.csv", "Mailbox,User,AccessRights\nalice@contoso.com,bob@contoso.com,SendAs\n")
	start := time.Now().AddDate(0, 0, 14).Format("2006-01-02")
	args := []string{"--project", id(f.project), "--permissions", perms, "--start", start, "--every", "daily 20:00"}
	out := e.ok(append([]string{"waves", "plan", "--out", filepath.Join(e.dir, "plan")}, args...)...)
	if !strings.Contains(out, "2 mailboxes, 1 permissions tie 1 batches; 1 waves") {
		t.Errorf("plan:\n%s", out)
	}
	out = e.ok(append([]string{"waves", "accept"}, args...)...)
	if !strings.Contains(out, "1 waves; 4 scheduled passes and 0 engagement events added") || !strings.Contains(out, start) {
		t.Errorf("accept:\n%s", out)
	}
	out = e.ok(append([]string{"waves", "accept"}, args...)...)
	if !strings.Contains(out, "accepted already") || !strings.Contains(out, "0 scheduled passes") {
		t.Errorf("accept again:\n%s", out)
	}
	if out := e.ok("waves", "list", "--project", id(f.project)); !strings.Contains(out, "Wave 1") || !strings.Contains(out, "20:00") {
		t.Errorf("list:\n%s", out)
	}
	items := e.items(f.project)
	for _, it := range items.Items {
		if it.Status != "Queued" {
			t.Errorf("%s is %s, want Queued (scheduled)", it.Source, it.Status)
		}
	}
}
