package engagements_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// taskByID finds an engagement's task by its playbook ID.
func taskByID(t *testing.T, b *bundle, e store.Engagement, id string) store.EngagementTask {
	t.Helper()
	tasks, err := b.st.EngagementTasks(operator, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		if tk.TaskID == id {
			return tk
		}
	}
	t.Fatalf("engagement %d has no task %s", e.ID, id)
	return store.EngagementTask{}
}

func setStatus(b *bundle, tk store.EngagementTask, status string) error {
	_, err := b.svc.UpdateTask(operator, tk.ID, engagements.TaskUpdate{Status: &status}, "ana")
	return err
}

// wantRefusedBy checks err is a refusal by the gate task naming what is in the way.
func wantRefusedBy(t *testing.T, err error, rule, names string) {
	t.Helper()
	r, ok := fault.As(err)
	if !ok || r.Kind != fault.Refused || r.Rule != rule || !strings.Contains(r.Msg, names) {
		t.Fatalf("got %v, want a refusal by %s naming %q", err, rule, names)
	}
}

// wantReopened checks the gate task went back to In Progress with a history
// entry saying why.
func wantReopened(t *testing.T, b *bundle, e store.Engagement, id, why string) {
	t.Helper()
	tk := taskByID(t, b, e, id)
	if tk.Status != engagements.InProgress {
		t.Fatalf("task %s is %s, want it reopened to In Progress", id, tk.Status)
	}
	evs, err := b.st.TaskEvents(operator, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Field == "reopened" && strings.Contains(ev.After, why) {
			return
		}
	}
	t.Fatalf("task %s has no history entry saying it reopened because of %q: %+v", id, why, evs)
}

// TestRemediationGateFollowsTheChecklist: 1700 completes only when every
// checklist item is resolved or waived, and reopens when one opens again.
func TestRemediationGateFollowsTheChecklist(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}})
	complete(t, b, e, "Remediate", "1700")
	item, err := b.svc.AddChecklistItem(operator, e.ID, engagements.ChecklistInput{Title: "Enable TLS 1.2 on the relay", Severity: "high", Source: "person"})
	if err != nil {
		t.Fatal(err)
	}
	wantRefusedBy(t, setStatus(b, taskByID(t, b, e, "1700"), engagements.Complete), "1700", "Enable TLS 1.2 on the relay")
	waived := "wont-fix"
	if _, err := b.svc.UpdateChecklistItem(operator, e.ID, item.ID, &waived, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := setStatus(b, taskByID(t, b, e, "1700"), engagements.Complete); err != nil {
		t.Fatalf("1700 with every item waived: %v", err)
	}
	open := "open"
	if _, err := b.svc.UpdateChecklistItem(operator, e.ID, item.ID, &open, nil, nil); err != nil {
		t.Fatal(err)
	}
	wantReopened(t, b, e, "1700", "Enable TLS 1.2 on the relay")
}

// TestMigrateGateFollowsTheMigrations: 1702 completes only when the last
// Full pass of every item of the engagement's projects completed, and
// reopens (on the next read of the gates) when a later Full pass fails.
func TestMigrateGateFollowsTheMigrations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	end := time.Date(2026, 11, 13, 18, 30, 0, 0, time.UTC)
	full := store.Run{Pass: "full", Started: end.Add(-time.Hour), Ended: end, Status: "completed"}
	addMigrations(t, b.st, b.customer.ID, "Mail", []migrated{
		{"ann@northwind.com", "ann@northwind.onmicrosoft.com", []store.Run{full}},
		{"bob@northwind.com", "bob@northwind.onmicrosoft.com", []store.Run{{Pass: "prestage", Started: end.Add(-3 * time.Hour), Ended: end.Add(-2 * time.Hour), Status: "completed"}}},
	})
	addMigrations(t, b.st, b.customer.ID, "Mail wave 2", []migrated{
		{"cy@northwind.com", "cy@northwind.onmicrosoft.com", []store.Run{{Pass: "full", Started: end.Add(-time.Hour), Ended: end, Status: "completed with errors"}}},
	})
	complete(t, b, e, "Migrate", "1702")
	err := setStatus(b, taskByID(t, b, e, "1702"), engagements.Complete)
	wantRefusedBy(t, err, "1702", "bob@northwind.com")
	wantRefusedBy(t, err, "1702", "cy@northwind.com")
	if strings.Contains(err.Error(), "ann@northwind.com") {
		t.Fatalf("refusal names a migrated mailbox: %v", err)
	}
	for _, source := range []string{"bob@northwind.com", "cy@northwind.com"} {
		finishFull(t, b, source, end.Add(time.Hour), "completed")
	}
	if err := setStatus(b, taskByID(t, b, e, "1702"), engagements.Complete); err != nil {
		t.Fatalf("1702 with every item migrated: %v", err)
	}
	finishFull(t, b, "ann@northwind.com", end.Add(2*time.Hour), "failed")
	if _, err := b.svc.Gates(operator, e.ID); err != nil {
		t.Fatal(err)
	}
	wantReopened(t, b, e, "1702", "ann@northwind.com")
}

// finishFull records a finished Full pass of the customer's item with that source.
func finishFull(t *testing.T, b *bundle, source string, ended time.Time, status string) {
	t.Helper()
	projects, err := b.st.ProjectsOf(operator, b.customer.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range projects {
		items, _, err := b.st.Items(operator, p.ID, store.ItemFilter{Search: source})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			r := store.Run{Pass: "full", Started: ended.Add(-time.Minute), Ended: ended, Status: status, ItemID: it.ID}
			if err := b.st.StartRun(operator, it.MailboxID, &r); err != nil {
				t.Fatal(err)
			}
			if err := b.st.FinishRun(operator, it.MailboxID, &r); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no item %s", source)
}

// TestPhasesExitInOrder: a phase exits only after the phases before it.
func TestPhasesExitInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"teams"}})
	complete(t, b, e, "Enable")
	err := b.svc.ExitPhase(operator, e.ID, "Enable", "ana")
	r, ok := fault.As(err)
	if !ok || r.Kind != fault.Refused || !strings.Contains(r.Msg, "Remediate") {
		t.Fatalf("Enable exited while Remediate is open: %v", err)
	}
}

// TestMigrateGateReadsTheEngagementsProjects: a project linked to another
// engagement of the customer is not this one's migration.
func TestMigrateGateReadsTheEngagementsProjects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	other, _ := b.create(t, engagements.Input{Name: "Subsidiary", Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	end := time.Date(2026, 11, 13, 18, 30, 0, 0, time.UTC)
	addMigrations(t, b.st, b.customer.ID, "Mail", []migrated{
		{"ann@northwind.com", "ann@northwind.onmicrosoft.com", []store.Run{{Pass: "full", Started: end.Add(-time.Hour), Ended: end, Status: "completed"}}},
	})
	addMigrations(t, b.st, b.customer.ID, "Subsidiary mail", []migrated{{"zed@subsidiary.example", "zed@northwind.onmicrosoft.com", nil}})
	projects, _ := b.st.ProjectsOf(operator, b.customer.ID)
	for _, p := range projects {
		p.EngagementID = e.ID
		if p.Name == "Subsidiary mail" {
			p.EngagementID = other.ID
		}
		if err := b.st.UpdateProject(operator, p); err != nil {
			t.Fatal(err)
		}
	}
	complete(t, b, e, "Migrate", "1702")
	if err := setStatus(b, taskByID(t, b, e, "1702"), engagements.Complete); err != nil {
		t.Fatalf("1702 waits for another engagement's project: %v", err)
	}
	complete(t, b, other, "Migrate", "1702")
	wantRefusedBy(t, setStatus(b, taskByID(t, b, other, "1702"), engagements.Complete), "1702", "zed@subsidiary.example")
}
