package projects_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// waitItem waits for one item's status.
func (b *bundle) waitItem(t *testing.T, id int64, want string) store.Item {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		it, err := b.st.Item(operator, id)
		if err == nil && it.Status == want {
			return it
		}
		if time.Now().After(deadline) {
			t.Fatalf("item %d: status %q, want %q", id, it.Status, want)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// TestPlanPassLeavesOutRefusedLogins: a Full pass of all mailboxes leaves
// out the one whose login was refused (and says why); picked by hand it is
// queued with a warning; fixed, Retry errors migrates it.
func TestPlanPassLeavesOutRefusedLogins(t *testing.T) {
	t.Parallel()
	b := setup(t, 3)
	ctx := operator
	wrong := "not-the-password"
	if _, err := b.svc.EditItem(ctx, 1, projects.ItemEdit{SourcePassword: &wrong}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "verify", Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}
	b.waitItem(t, 1, store.StatusFailed)
	b.waitItem(t, 2, store.StatusCompletedVerify)
	b.waitItem(t, 3, store.StatusCompletedVerify)

	tests := []struct {
		name              string
		sel               projects.Selection
		selected, migrate int
		excluded          int
		listed            bool // item 1 is listed among those that cannot migrate
	}{
		{"all", projects.Selection{All: true}, 3, 2, 1, true},
		{"by status", projects.Selection{Statuses: []string{store.StatusFailed}}, 1, 0, 1, true},
		{"by hand", projects.Selection{ItemIDs: []int64{1, 2}}, 2, 2, 0, true},
		{"others", projects.Selection{ItemIDs: []int64{2, 3}}, 2, 2, 0, false},
	}
	for _, tc := range tests {
		pl, err := b.svc.PlanPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", Selection: tc.sel})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		listed := false
		for _, c := range pl.Cannot {
			listed = listed || c.ItemID == 1 && strings.Contains(c.Reason, "login was refused")
		}
		if pl.Selected != tc.selected || len(pl.Migrate) != tc.migrate || pl.Excluded != tc.excluded || listed != tc.listed || pl.Name != "Full Migration" || pl.What == "" {
			t.Errorf("%s: plan %+v", tc.name, pl)
		}
	}
	// Verify credentials is how a fixed login is tested: nothing is left out.
	if pl, err := b.svc.PlanPass(ctx, b.project.ID, projects.PassRequest{Pass: "verify", Selection: projects.Selection{All: true}}); err != nil || len(pl.Migrate) != 3 {
		t.Fatalf("verify plan %+v %v", pl, err)
	}

	res, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}})
	if err != nil || res.Queued != 2 || res.Excluded != 1 {
		t.Fatalf("full of all: %+v %v", res, err)
	}
	b.waitItem(t, 2, store.StatusCompleted)
	b.waitItem(t, 3, store.StatusCompleted)
	if it, _ := b.st.Item(ctx, 1); it.Status != store.StatusFailed {
		t.Fatalf("the refused login was queued: %+v", it)
	}
	// Now that mailboxes finished, the plan says how long the rest takes.
	pl, err := b.svc.PlanPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{ItemIDs: []int64{1}}})
	if err != nil || pl.Estimate <= 0 || !strings.Contains(pl.Basis, "mailboxes/hr") {
		t.Fatalf("estimate: %+v %v", pl, err)
	}

	// Fixed, Retry errors of that mailbox migrates it.
	right := "pw-" + b.users[0]
	if _, err := b.svc.EditItem(ctx, 1, projects.ItemEdit{SourcePassword: &right}); err != nil {
		t.Fatal(err)
	}
	if res, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "retry", Selection: projects.Selection{ItemIDs: []int64{1}}}); err != nil || res.Queued != 1 {
		t.Fatalf("retry: %+v %v", res, err)
	}
	b.waitItem(t, 1, store.StatusCompleted)
}

// TestPlanPassOfAnEmptyProject: no pass starts without a mailbox.
func TestPlanPassOfAnEmptyProject(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	ctx := operator
	if err := b.svc.DeleteItems(ctx, b.project.ID, []int64{1}); err != nil {
		t.Fatal(err)
	}
	pl, err := b.svc.PlanPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}})
	if err == nil || pl == nil || !pl.NoItems || !strings.Contains(err.Error(), "no mailbox") {
		t.Fatalf("plan %+v %v", pl, err)
	}
	if _, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", Selection: projects.Selection{All: true}}); err == nil {
		t.Fatal("a pass started in a project without mailboxes")
	}
}

// TestWaitReasons: a Queued mailbox says why it waits.
func TestWaitReasons(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	ctx := operator
	at := time.Now().Add(time.Hour)
	if _, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "full", At: at, Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}
	items, _, _ := b.st.Items(ctx, b.project.ID, store.ItemFilter{})
	why, err := b.svc.WaitReasons(ctx, b.project.ID, items)
	if err != nil || why[1].Why != "scheduled for" || why[1].At.Sub(at).Abs() > time.Second || !strings.HasPrefix(why[1].String(), "scheduled for 20") {
		t.Fatalf("reasons %v %v", why, err)
	}
}
