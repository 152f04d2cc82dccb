package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/fault"
)

// TestOnlyTheGateIsCalledTheGate: the pass controls say "the migration
// gate refused" when the engagement's gate refused, and show any other
// rule's refusal in its own words: the service's error says which it was,
// the portal does not guess.
func TestOnlyTheGateIsCalledTheGate(t *testing.T) {
	t.Parallel()
	b := setupMigration(t, 1)
	b.tp.app.Service.MigrationGate = func(context.Context, int64, int64, string) error {
		return fault.RefusedBy("change-freeze", "no passes during the change freeze; ask the project manager")
	}
	path := fmt.Sprintf("/projects/%d", b.project.ID)
	b.partner.get(path)
	res := b.partner.post(path+"/passes", url.Values{"pass": {"full"}, "scope": {"all"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "change freeze") {
		t.Fatalf("refusal: %d %s", res.status, res.body)
	}
	if strings.Contains(res.body, "The migration gate refused") {
		t.Errorf("another rule's refusal is shown as the migration gate's:\n%s", res.body)
	}
}
