package testimap_test

import (
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/testimap"
)

// TestMemSwitchesHideCapabilities: the in-process server's switches for
// servers that leave optional answers out really leave them out, so a test
// that uses them proves what it says.
func TestMemSwitchesHideCapabilities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(*testimap.MemServer)
		gone imap.Cap
	}{
		{"no LITERAL+", func(ms *testimap.MemServer) { ms.NoLiteralPlus.Store(true) }, imap.CapLiteralPlus},
		{"no UIDPLUS", func(ms *testimap.MemServer) { ms.NoUIDPlus.Store(true) }, imap.CapUIDPlus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ms := testimap.StartMem(t, testimap.User{Name: "u", Password: "p"})
			if c := testimap.Dial(t, ms.Addr, "u", "p"); !c.Caps().Has(tt.gone) {
				t.Fatalf("the server without the switch lacks %s already: %v", tt.gone, c.Caps())
			}
			tt.set(ms)
			c := testimap.Dial(t, ms.Addr, "u", "p")
			if c.Caps().Has(tt.gone) {
				t.Fatalf("%s still announced: %v", tt.gone, c.Caps())
			}
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				t.Fatalf("the server no longer works: %v", err)
			}
		})
	}
}
