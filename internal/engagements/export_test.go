package engagements_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/engagements"
)

// TestExportsDoNotRunUserText: text people typed reaches a report as text.
// In Markdown it cannot make links, images, HTML, headings or table cells;
// in CSV no cell starts with a character a spreadsheet runs as a formula.
func TestExportsDoNotRunUserText(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := operator
	e, _ := b.create(t, engagements.Input{Name: "=HYPERLINK(\"http://evil.example\",\"x\")", Seats: 800, Services: []string{"exchange"}})
	hostile := "[click](javascript:alert(1)) <img src=x onerror=alert(1)> | injected |\n# heading"
	if _, err := b.svc.AddChecklistItem(ctx, e.ID, engagements.ChecklistInput{Title: hostile, Severity: "high", Source: "person"}); err != nil {
		t.Fatal(err)
	}
	rep, err := b.svc.BuildReport(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	md, err := rep.Export("markdown")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"[click](", " <img", "| injected |", "\n# heading"} {
		if strings.Contains(string(md), bad) {
			t.Errorf("the Markdown report holds %q as written:\n%s", bad, md)
		}
	}
	var row string
	for _, l := range strings.Split(string(md), "\n") {
		if strings.Contains(l, "click") {
			row = l
		}
	}
	if strings.Count(row, " | ") != 3 {
		t.Errorf("the checklist row has %d cell borders, want 3: %s", strings.Count(row, " | "), row)
	}

	rep.Tasks[0].Name = "=cmd|' /C calc'!A0"
	rep.Tasks[1].Name = "+1+1"
	rep.Tasks[2].Name = "-2+3"
	rep.Tasks[3].Name = "@SUM(1)"
	rep.Tasks[4].Name = "\t=1"
	out, err := rep.Export("csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a CSV cell starts with %q: %q", cell[0], cell)
			}
		}
	}
	if !strings.Contains(string(out), "'=cmd|") {
		t.Errorf("the formula is not kept as text: %s", out)
	}
}
