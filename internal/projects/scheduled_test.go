package projects_test

import (
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/projects"
)

// TestNextPassesAreTheQueuesScheduledJobs: a project's next passes are the
// passes queued to start later, soonest first; a stopped one is gone.
func TestNextPassesAreTheQueuesScheduledJobs(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	ctx := operator
	later, sooner := time.Now().Add(2*time.Hour).Truncate(time.Second), time.Now().Add(time.Hour).Truncate(time.Second)
	for _, s := range []struct {
		item int64
		pass string
		at   time.Time
	}{{1, "full", later}, {2, "trial", sooner}} {
		if _, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: s.pass, At: s.at, Selection: projects.Selection{ItemIDs: []int64{s.item}}}); err != nil {
			t.Fatal(err)
		}
	}
	next, err := b.svc.NextPasses(ctx, b.project.ID, 10)
	if err != nil || len(next) != 2 {
		t.Fatalf("next passes %+v %v", next, err)
	}
	if next[0].ItemID != 2 || next[0].Pass != "trial" || !next[0].At.Equal(sooner) || next[1].ItemID != 1 || !next[1].At.Equal(later) || next[0].Source == "" {
		t.Fatalf("next passes %+v", next)
	}
	if n, err := b.svc.Stop(ctx, b.project.ID, projects.Selection{ItemIDs: []int64{2}}); err != nil || n != 1 {
		t.Fatalf("stop: %d %v", n, err)
	}
	if next, _ := b.svc.NextPasses(ctx, b.project.ID, 10); len(next) != 1 || next[0].ItemID != 1 {
		t.Fatalf("after stopping item 2: %+v", next)
	}
}
