package web

import (
	"net/http"
	"testing"

	"github.com/ferryhq/ferry/internal/fault"
)

// TestEveryFaultKindHasAPageStatus: an error page answers every kind of
// fault a service can return with its own status; a kind without one
// would answer status 0.
func TestEveryFaultKindHasAPageStatus(t *testing.T) {
	t.Parallel()
	for _, k := range fault.Kinds() {
		if k == fault.Internal {
			continue
		}
		if s := statusOfKind[k]; s < 400 || http.StatusText(s) == "" {
			t.Errorf("fault kind %s: page status %d", k, s)
		}
	}
	if statusOfKind[fault.Throttled] != http.StatusTooManyRequests {
		t.Errorf("a throttled sign-in answers %d, want 429", statusOfKind[fault.Throttled])
	}
}
