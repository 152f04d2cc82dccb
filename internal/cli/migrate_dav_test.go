package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testdav"
)

func TestWorkloadUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("secret-dav-pw"), 0o600)
	csv := filepath.Join(dir, "m.csv")
	os.WriteFile(csv, []byte("source,destination\na@x,a@y\n"), 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown workload", []string{"migrate", "--workloads", "mail,notes"}, `"notes" is not a workload`},
		{"calendar without dav URLs", []string{"migrate", "--workloads", "calendar"}, "needs --from-dav URL and --to-dav URL"},
		{"dav URLs without a dav workload", []string{"migrate", "--from-dav", "http://a@x/", "--to-dav", "http://a@y/", "--from", "imap://a@x", "--to", "imap://a@y"}, "--workloads has no calendar"},
		{"not http", []string{"migrate", "--workloads", "contacts", "--from-dav", "imap://a@x", "--to-dav", "http://a@y/"}, "not an http(s) URL"},
		{"password in dav URL", []string{"migrate", "--workloads", "contacts", "--from-dav", "http://a:secret-dav-pw@x/", "--to-dav", "http://a@y/"}, "do not put the password"},
		{"no dav user", []string{"migrate", "--workloads", "tasks", "--from-dav", "http://x/", "--to-dav", "http://a@y/", "--from-password-file", pw, "--to-password-file", pw}, "no source user"},
		{"no dav password", []string{"migrate", "--workloads", "tasks", "--from-dav", "http://a@x/", "--to-dav", "http://a@y/"}, "no source password"},
		{"with csv", []string{"migrate", "--workloads", "mail,calendar", "--csv", csv, "--from-password-file", pw, "--to-password-file", pw, "--from", "imap://x", "--to", "imap://y", "--from-dav", "http://a@x/", "--to-dav", "http://a@y/"}, "not with --csv"},
		{"verify too", []string{"verify", "--workloads", "calendar"}, "needs --from-dav URL"},
		{"dav and graph", []string{"migrate", "--workloads", "calendar", "--from-dav", "http://a@x/", "--to-dav", "http://a@y/", "--to-graph", "a@contoso.test"}, "not both"},
		{"graph without app", []string{"migrate", "--workloads", "calendar", "--from-dav", "http://a@x/", "--from-password-file", pw, "--to-graph", "a@contoso.test"}, "--to-graph needs the Microsoft 365 app's credentials"},
		{"dav and ews", []string{"migrate", "--workloads", "calendar", "--from-dav", "http://a@x/", "--from-ews", "https://a@x/EWS/Exchange.asmx", "--to-dav", "http://a@y/"}, "not both"},
		{"ews without mailbox", []string{"migrate", "--workloads", "calendar", "--from-ews", "https://mail.x/EWS/Exchange.asmx", "--from-password-file", pw, "--to-dav", "http://a@y/", "--to-password-file", pw}, "no mailbox"},
		{"ews password in URL", []string{"migrate", "--workloads", "calendar", "--from-ews", "https://a:secret-dav-pw@mail.x/EWS/Exchange.asmx", "--to-dav", "http://a@y/", "--to-password-file", pw}, "do not put the password"},
		{"graph not https", []string{"migrate", "--workloads", "calendar", "--from-dav", "http://a@x/", "--from-password-file", pw, "--to-graph", "a@contoso.test", "--graph-url", "ftp://graph",
			"--to-oauth2-tenant", "t", "--to-oauth2-client-id", "c", "--to-oauth2-client-secret-file", pw}, "is not the https URL of Microsoft Graph"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append(tt.args, "--state", filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".db"))
			if tt.args[0] == "verify" {
				args = tt.args
			}
			code, out, errOut := run(args...)
			if code != ExitUsage || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, want %d with %q; stderr: %s", code, ExitUsage, tt.want, errOut)
			}
			if strings.Contains(out+errOut, "secret-dav-pw") {
				t.Fatalf("output shows the password: %s", out+errOut)
			}
		})
	}
}

// One run moves mail and calendars, tasks and contacts; the DAV login is
// the IMAP URL's user with the side's password file; verify compares both;
// the summary counts each workload apart.
func TestMigrateMailAndDAVWorkloads(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const user = "alice@example.org"
	srcDAV := testdav.Start(t, map[string]string{user: srcPass})
	dstDAV := testdav.Start(t, map[string]string{user: dstPass})
	cal := srcDAV.MakeCalendar(t, user, "work", "Work", "#ff0000ff", "VEVENT")
	todo := srcDAV.MakeCalendar(t, user, "todo", "Todo", "#00ff00ff", "VTODO")
	ab := srcDAV.MakeAddressBook(t, user, "contacts", "Contacts")
	srcDAV.Load(t, user, cal, "text/calendar", testdav.Events(5))
	srcDAV.Load(t, user, todo, "text/calendar", testdav.Tasks(3))
	srcDAV.Load(t, user, ab, "text/vcard", testdav.Contacts(4, 20_000))

	conn := []string{"--from", b.url(b.src.Addr, user), "--to", b.url(b.dst.Addr, user),
		"--from-password-file", b.srcFile, "--to-password-file", b.dstFile, "--allow-plaintext",
		"--workloads", "mail,calendar,contacts,tasks", "--from-dav", srcDAV.URL, "--to-dav", dstDAV.URL}
	migrate := append([]string{"migrate", "--state", filepath.Join(b.dir, "dav.db")}, conn...)
	code, out, errOut := run(migrate...)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"calendar  5 copied, 0 updated, 0 unchanged, 0 failed", "tasks     3 copied", "contacts  4 copied", "completed"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = run(append([]string{"verify"}, conn...)...)
	if code != ExitOK || !strings.Contains(out, "complete: every source object has one exact copy") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run(migrate...)
	if code != ExitOK || !strings.Contains(out, "calendar  0 copied, 0 updated, 5 unchanged, 0 failed") {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	if strings.Contains(out+errOut, srcPass) || strings.Contains(out+errOut, dstPass) {
		t.Fatal("output shows a password")
	}
}
