package cli

import (
	"testing"

	"github.com/ferryhq/ferry/internal/fault"
)

// TestExitCodeOfEveryKind: what the person asked cannot be done as asked
// exits 2; a failure that may pass by itself (temporary, throttled) or the
// server's own exits 1. Every kind has its row: a new kind must choose.
func TestExitCodeOfEveryKind(t *testing.T) {
	t.Parallel()
	want := map[fault.Kind]int{
		fault.Internal:        ExitFailures,
		fault.Invalid:         ExitUsage,
		fault.Unauthenticated: ExitUsage,
		fault.Forbidden:       ExitUsage,
		fault.NotFound:        ExitUsage,
		fault.Conflict:        ExitUsage,
		fault.Refused:         ExitUsage,
		fault.TooLarge:        ExitUsage,
		fault.Temporary:       ExitFailures,
		fault.Throttled:       ExitFailures,
	}
	for _, k := range fault.Kinds() {
		w, ok := want[k]
		if !ok {
			t.Errorf("fault kind %s has no exit code in this table", k)
			continue
		}
		if got := exitCodeOf(k); got != w {
			t.Errorf("exitCodeOf(%s) = %d, want %d", k, got, w)
		}
	}
}
