package engagements_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/store"
)

// TestPassesMoveTasks: a completed Trial moves 2474 In Progress with a link
// to the item, Complete once every item of the project tried; a Full pass
// that fails after 1702 was signed off reopens it.
func TestPassesMoveTasks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	end := time.Date(2026, 11, 13, 18, 30, 0, 0, time.UTC)
	full := store.Run{Pass: "full", Started: end.Add(-time.Hour), Ended: end, Status: "completed"}
	addMigrations(t, b.st, b.customer.ID, "Mail", []migrated{
		{"ann@northwind.com", "ann@northwind.onmicrosoft.com", []store.Run{full}},
		{"bob@northwind.com", "bob@northwind.onmicrosoft.com", []store.Run{full}},
	})
	projects, _ := b.st.ProjectsOf(operator, b.customer.ID)
	p := projects[0]
	items, _, _ := b.st.Items(operator, p.ID, store.ItemFilter{Sort: "source"})
	tried := func(i int) store.Item {
		if err := b.st.SetItemStatus(operator, items[i].ID, store.StatusCompletedTrial, "trial", 0); err != nil {
			t.Fatal(err)
		}
		it, err := b.st.Item(operator, items[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	b.st.SetItemStatus(operator, items[1].ID, store.StatusNotSubmitted, "", 0)
	if err := b.svc.PassEnded(operator, p, tried(0), "trial"); err != nil {
		t.Fatal(err)
	}
	tk := taskByID(t, b, e, "2474")
	if tk.Status != engagements.InProgress || !strings.Contains(tk.Notes, "/items/"+itoa(items[0].ID)) {
		t.Fatalf("2474 after the first trial: %s %q", tk.Status, tk.Notes)
	}
	if err := b.svc.PassEnded(operator, p, tried(1), "trial"); err != nil {
		t.Fatal(err)
	}
	if tk := taskByID(t, b, e, "2474"); tk.Status != engagements.Complete {
		t.Fatalf("2474 after every item tried: %s", tk.Status)
	}

	// 1702 signed off, then a Full pass of ann fails: the pass's end reopens it.
	for _, it := range items {
		b.st.SetItemStatus(operator, it.ID, store.StatusCompleted, "full", 0)
	}
	complete(t, b, e, "Migrate", "1702")
	if err := setStatus(b, taskByID(t, b, e, "1702"), engagements.Complete); err != nil {
		t.Fatal(err)
	}
	finishFull(t, b, "ann@northwind.com", end.Add(time.Hour), "failed")
	b.st.SetItemStatus(operator, items[0].ID, store.StatusFailed, "full", 1) // as the pass leaves it
	ann, _ := b.st.Item(operator, items[0].ID)
	if err := b.svc.PassEnded(operator, p, ann, "full"); err != nil {
		t.Fatal(err)
	}
	wantReopened(t, b, e, "1702", "ann@northwind.com")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
