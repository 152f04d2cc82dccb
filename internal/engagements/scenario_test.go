package engagements_test

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/store"
)

// TestEngagementFromInitiateToMigrateExit walks one engagement with two
// migration projects through every phase: each gate opens only when the
// kickoff and roles, the checklist, the migrations and the override say so.
func TestEngagementFromInitiateToMigrateExit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := operator
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	b.svc.Now = func() time.Time { return now }
	e, tasks := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	exit := func(phase string) error { return b.svc.ExitPhase(ctx, e.ID, phase, "fiona") }
	refusedFor := func(phase, why string) {
		t.Helper()
		if err := exit(phase); err == nil || !strings.Contains(err.Error(), why) {
			t.Fatalf("exit %s: %v, want a refusal naming %q", phase, err, why)
		}
	}

	// Initiate: the kickoff and the people.
	refusedFor("Initiate", "kickoff")
	if _, err := b.svc.ScheduleEvent(ctx, e.ID, engagements.EventInput{Kind: "meeting", Title: "Kickoff", TimeZone: "UTC", Starts: "2026-12-08 09:00", Ends: "2026-12-08 10:00"}); err != nil {
		t.Fatal(err)
	}
	refusedFor("Initiate", "kickoff") // scheduled for tomorrow: not held yet
	refusedFor("Assess", "phase Initiate")
	now = time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)
	refusedFor("Initiate", "role ")
	people := map[string]bool{}
	for _, tk := range tasks {
		if tk.Mandatory && !people[tk.Role] {
			people[tk.Role] = true
			b.person(t, tk.Role+"@people.example", auth.FastTrackEngineer)
			if err := b.svc.Assign(ctx, e.ID, tk.Role, tk.Role+"@people.example"); err != nil {
				t.Fatal(err)
			}
		}
	}
	refusedFor("Initiate", "success plan")
	if _, err := b.svc.SetSuccessPlan(ctx, e.ID, engagements.SuccessPlanInput{Goals: "every mailbox in Exchange Online by March", Outcomes: "IMAP server retired",
		Owner: "ftm@people.example", Agreed: "2026-12-08"}); err != nil {
		t.Fatal(err)
	}
	if err := exit("Initiate"); err != nil {
		t.Fatal(err)
	}

	// Assess: its tasks.
	refusedFor("Assess", "1699")
	complete(t, b, e, "Assess")
	if err := exit("Assess"); err != nil {
		t.Fatal(err)
	}

	// Remediate: the checklist, from a tool.
	item, _ := b.svc.AddChecklistItem(ctx, e.ID, engagements.ChecklistInput{Title: "Duplicate UPNs", Severity: "high", Source: "preflight"})
	complete(t, b, e, "Remediate", "1700")
	wantRefusedBy(t, setStatus(b, taskByID(t, b, e, "1700"), engagements.Complete), "1700", "Duplicate UPNs")
	resolved := "resolved"
	b.svc.UpdateChecklistItem(ctx, e.ID, item.ID, &resolved, nil, nil)
	complete(t, b, e, "Remediate")
	if err := exit("Remediate"); err != nil {
		t.Fatal(err)
	}

	// Migrations wait for the prerequisites, unless overridden for a project.
	end := now.Add(time.Hour)
	addMigrations(t, b.st, b.customer.ID, "Wave 1", []migrated{{"ann@northwind.com", "ann@northwind.onmicrosoft.com", nil}})
	addMigrations(t, b.st, b.customer.ID, "Wave 2", []migrated{{"bob@northwind.com", "bob@northwind.onmicrosoft.com", nil}})
	projects, _ := b.st.ProjectsOf(ctx, b.customer.ID)
	if err := b.svc.CheckMigration(ctx, b.customer.ID, projects[0].ID, "full"); err == nil {
		t.Fatal("a Full pass may run before identity synchronization")
	}
	if _, err := b.svc.Override(ctx, b.customer.ID, engagements.OverrideInput{Reason: "pilot wave", ProjectID: projects[0].ID, Expires: "2026-12-10"}); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.CheckMigration(ctx, b.customer.ID, projects[0].ID, "full"); err != nil {
		t.Fatalf("the overridden wave is refused: %v", err)
	}
	if err := b.svc.CheckMigration(ctx, b.customer.ID, projects[1].ID, "full"); err == nil {
		t.Fatal("the other wave runs under the pilot's override")
	}
	finishFull(t, b, "ann@northwind.com", end, "completed")

	// Enable: identity sync and the exit task; then every wave may run.
	complete(t, b, e, "Enable")
	if err := exit("Enable"); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.CheckMigration(ctx, b.customer.ID, projects[1].ID, "full"); err != nil {
		t.Fatalf("wave 2 refused after Enable: %v", err)
	}

	// The wave's go/no-go: decided by the FastTrack Manager, on the evidence of the moment.
	goNoGo, err := b.svc.ScheduleEvent(ctx, e.ID, engagements.EventInput{Kind: "go-no-go", Title: "Wave 2 go/no-go", TimeZone: "UTC", Starts: "2026-12-08 08:00", Ends: "2026-12-08 08:30"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.svc.DecideGoNoGo(ctx, e.ID, engagements.GoNoGoInput{EventID: goNoGo.ID, Decision: "go", Notes: "wave 1 clean"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Evidence, `"Wave 2"`) || !strings.Contains(d.Evidence, `"phase":"Enable","exited":true`) {
		t.Fatalf("evidence %s", d.Evidence)
	}

	// Migrate: 1702 waits for bob's Full pass in the second project.
	complete(t, b, e, "Migrate", "1702")
	wantRefusedBy(t, setStatus(b, taskByID(t, b, e, "1702"), engagements.Complete), "1702", "bob@northwind.com")
	refusedFor("Migrate", "bob@northwind.com")
	finishFull(t, b, "bob@northwind.com", end.Add(time.Hour), "completed")
	if err := setStatus(b, taskByID(t, b, e, "1702"), engagements.Complete); err != nil {
		t.Fatal(err)
	}
	if err := exit("Migrate"); err != nil {
		t.Fatal(err)
	}
	gates, _ := b.svc.Gates(ctx, e.ID)
	for _, g := range gates {
		if !g.Exited {
			t.Errorf("phase %s not exited at the end", g.Phase)
		}
	}
	var exits []store.PhaseExit
	exits, _ = b.st.PhaseExits(ctx, e.ID)
	if len(exits) != 5 {
		t.Fatalf("exits %+v", exits)
	}

	// The report hands on the migration figures and the gate history.
	rep, err := b.svc.BuildReport(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Migrations) != 2 || rep.Migrations[0].Items != 1 || rep.Migrations[1].ByStatus == nil || rep.SuccessPlan == nil {
		t.Fatalf("migrations %+v plan %+v", rep.Migrations, rep.SuccessPlan)
	}
	kinds := map[string]int{}
	for i, g := range rep.GateHistory {
		kinds[g.Kind]++
		if i > 0 && g.At.Before(rep.GateHistory[i-1].At) {
			t.Fatalf("gate history out of order at %d: %+v", i, rep.GateHistory)
		}
	}
	if kinds["phase-exit"] != 5 || kinds["override"] != 1 || kinds["go-no-go"] != 1 || kinds["exit-task"] < 4 {
		t.Fatalf("gate history by kind %v: %+v", kinds, rep.GateHistory)
	}
	md, _ := rep.Export("markdown")
	for _, want := range []string{"## Migrations", "| Wave 2 | 1 |", "## Gate history", "pilot wave", "wave 1 clean", "## Success plan"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the Markdown report lacks %q:\n%s", want, md)
		}
	}
	out, _ := rep.Export("csv")
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var sawProject, sawHistory bool
	for _, rec := range recs {
		sawProject = sawProject || rec[0] == "Wave 2"
		sawHistory = sawHistory || rec[1] == "go-no-go"
	}
	if !sawProject || !sawHistory {
		t.Errorf("the CSV report lacks the figures or the gate history:\n%s", out)
	}
}
