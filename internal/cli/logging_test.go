package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogFormatIsTextOrJSON: another format is a usage error, named, before
// the command does anything.
func TestLogFormatIsTextOrJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		format string
		code   int
	}{
		{"xml", ExitUsage},
		{"JSON", ExitUsage},
	} {
		var stdout, stderr bytes.Buffer
		db := filepath.Join(t.TempDir(), "ferry.db")
		code := Main([]string{"--log-format", tt.format, "token", "list", "--database", db}, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), "use text or json") {
			t.Errorf("--log-format %s: exit %d, want %d: %s", tt.format, code, tt.code, stderr.String())
		}
		if matches, _ := filepath.Glob(db + "*"); len(matches) != 0 {
			t.Errorf("--log-format %s: the command ran (%v)", tt.format, matches)
		}
	}
}
