package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/fault"
)

func TestWords(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, got, want string }{
		{"admin user", fieldLabel("admin_user"), "Administrator user name"},
		{"destination endpoint", fieldLabel("destination_endpoint_id"), "Destination endpoint"},
		{"item", fieldLabel("item"), "Mailbox"},
		{"row of a bulk add", fieldLabel("items[3].password"), "Mailbox 4, password"},
		{"field nobody named", fieldLabel("max_widgets_id"), "Max widgets"},
		{"message with field", faultMessage(fault.InvalidField("admin_user", "give the administrator's user name")), "Administrator user name: give the administrator's user name"},
		{"message without field", faultMessage(fault.RefusedBy("1700", "not yet")), "not yet"},
		{"pre-stage", passName("prestage"), "Pre-stage"},
		{"full", passName("full"), "Full Migration"},
		{"verify", passName("verify"), "Verify credentials"},
		{"retry", passName("retry"), "Retry errors"},
		{"small count", num(999), "999"},
		{"thousands", num(27692), "27,692"},
		{"millions", num(-1234567), "-1,234,567"},
		{"bytes", size(999), "999 B"},
		{"megabytes", size(27_692_000), "27.7 MB"},
		{"rate under a second", rate(27692, 400*time.Millisecond), "—"},
		{"rate", rate(27692.4, 90*time.Second), "27,692"},
		{"small rate", rate(12.34, time.Minute), "12.3"},
		{"duration under a second", duration(300 * time.Millisecond), "under a second"},
		{"duration seconds", duration(42 * time.Second), "42s"},
		{"duration minutes", duration(192 * time.Second), "3m 12s"},
		{"duration hours", duration(2*time.Hour + 5*time.Minute), "2h 05m"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestFieldLabelsCoverTheServicesFields: every field a service or page
// names in a fault (fault.InvalidField("x", ...), a package's invalid("x", ...) or Field: "x" in the
// sources) has a label of its own, so no page shows a code name.
func TestFieldLabelsCoverTheServicesFields(t *testing.T) {
	t.Parallel()
	named := regexp.MustCompile(`(?:InvalidField|\binvalid)\("([a-z0-9_]+)"|\bField *[:=] *"([a-z0-9_]+)"`)
	seen := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range named.FindAllStringSubmatch(string(src), -1) {
			f := m[1] + m[2]
			seen++
			if _, ok := fieldLabels[f]; !ok {
				t.Errorf("%s: field %q has no label in fieldLabels", path, f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 50 {
		t.Fatalf("found only %d fields named in faults; is the pattern still right?", seen)
	}
}
