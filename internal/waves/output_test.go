package waves_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/waves"
)

// TestPlanFilesAreData: addresses from a permissions export that a
// spreadsheet would run as formulas (= + - @) are written to Batches.csv
// and Schedule.csv with a leading quote (OWASP's advice on CSV injection).
func TestPlanFilesAreData(t *testing.T) {
	t.Parallel()
	perms, err := waves.ParsePermissions("p.csv", strings.NewReader("Mailbox,User,AccessRights\n"+
		"\"=HYPERLINK(\"\"http://evil.example\"\")@contoso.com\",+1@contoso.com,FullAccess\n"+
		"-2@contoso.com,@sum@contoso.com,SendAs\n"))
	if err != nil {
		t.Fatal(err)
	}
	every, _ := waves.ParseEvery("Fri 18:00", time.UTC)
	plan, err := waves.Make(waves.MailboxesOf(perms), perms, waves.Options{MaxPerWave: 10, Start: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC), Every: every})
	if err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"Batches.csv":  func(b *bytes.Buffer) error { return plan.WriteBatches(b) },
		"Schedule.csv": func(b *bytes.Buffer) error { return plan.WriteSchedule(b) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		addresses := 0
		for _, row := range rows[1:] {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
					t.Errorf("%s: the cell %q would run as a formula", name, cell)
				}
				if strings.Contains(cell, "@contoso.com") {
					addresses++
				}
			}
		}
		if addresses != 2 {
			t.Errorf("%s lists %d addresses, want 2:\n%v", name, addresses, rows)
		}
	}
}
