package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
