package engagements_test

import (
	"testing"

	"github.com/ferryhq/ferry/internal/engagements"
)

// TestScopeHonoursEveryInput: each scope input the playbook names (services,
// source workloads, the enterprise benefit, hybrid) takes its tasks in or
// out, at creation and when the scope changes.
func TestScopeHonoursEveryInput(t *testing.T) {
	t.Parallel()
	base := engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}}
	with := func(f func(*engagements.Input)) engagements.Input {
		in := base
		in.Services = append([]string(nil), base.Services...)
		in.Workloads = append([]string(nil), base.Workloads...)
		f(&in)
		return in
	}
	for _, tt := range []struct {
		input   string
		on, off engagements.Input
		taskIDs []string
	}{
		{"hybrid", with(func(in *engagements.Input) { in.Hybrid = true }), base, []string{"3157", "3158", "3159", "3160"}},
		{"services", with(func(in *engagements.Input) { in.Services = append(in.Services, "skype") }), base, []string{"2193"}},
		{"workloads", with(func(in *engagements.Input) { in.Workloads = append(in.Workloads, "gmail") }), base, []string{"2006"}},
		{"no workload: no data migration", base, with(func(in *engagements.Input) { in.Workloads = nil }), []string{"1702", "1635"}},
		{"enterprise benefit", with(func(in *engagements.Input) { in.EnterpriseException = "approved" }), base, []string{"3208"}},
	} {
		t.Run(tt.input, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, onTasks := b.create(t, tt.on)
			_, offTasks := b.create(t, with(func(in *engagements.Input) { *in = tt.off; in.Name = "Off" }))
			for _, id := range tt.taskIDs {
				if !ids(onTasks, false)[id] {
					t.Errorf("with %s in scope, task %s is missing", tt.input, id)
				}
				if ids(offTasks, false)[id] {
					t.Errorf("with %s out of scope, task %s is in scope", tt.input, id)
				}
			}
			// Changing the scope of the first engagement to the second's
			// retires the tasks, and back again restores them.
			e, _ := b.create(t, with(func(in *engagements.Input) { *in = tt.on; in.Name = "Changing" }))
			if _, _, err := b.svc.ChangeScope(operator, e.ID, tt.off, "ana"); err != nil {
				t.Fatal(err)
			}
			tasks, err := b.st.EngagementTasks(operator, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range tt.taskIDs {
				if !ids(tasks, true)[id] {
					t.Errorf("after taking %s out of scope, task %s is not retired", tt.input, id)
				}
			}
		})
	}
}
