package engagements_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
)

// TestTaskRoleIsEnforced: who may change a task follows the playbook's role
// for it: the people holding that role on the engagement, and administrators.
func TestTaskRoleIsEnforced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	own := b.customer.ID
	signedIn := func(email string, role auth.Role) context.Context {
		return auth.WithPrincipal(context.Background(), &auth.Principal{UserID: 7, Name: email, Kind: auth.KindSession, Role: role, Customers: []int64{own}})
	}
	for role, person := range map[string]string{"ftm": "fiona@fasttrack.example", "customer-pm": "carl@contoso.com", "frp": "pat@partner.com"} {
		if err := b.svc.Assign(operator, e.ID, role, person); err != nil {
			t.Fatal(err)
		}
	}
	inProgress := engagements.InProgress
	for _, tc := range []struct {
		who    string
		ctx    context.Context
		task   string
		allowd bool
	}{
		{"the customer PM on the FastTrack Manager's exit task", signedIn("carl@contoso.com", auth.CustomerProjectManager), "1701", false},
		{"the partner on the FastTrack Manager's exit task", signedIn("pat@partner.com", auth.Partner), "1701", false},
		{"a FastTrack Manager of another engagement", signedIn("frank@fasttrack.example", auth.FastTrackManager), "1701", false},
		{"the engagement's FastTrack Manager", signedIn("Fiona@fasttrack.example", auth.FastTrackManager), "1701", true},
		{"the partner on identity synchronization", signedIn("pat@partner.com", auth.Partner), "1141", true},
		{"an administrator", signedIn("root@ferry.example", auth.Administrator), "1141", true},
	} {
		t.Run(tc.who, func(t *testing.T) {
			tk := taskByID(t, b, e, tc.task)
			_, err := b.svc.UpdateTask(tc.ctx, tk.ID, engagements.TaskUpdate{Status: &inProgress}, "x")
			if tc.allowd && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.allowd && !errors.Is(err, fault.ErrForbidden) {
				t.Fatalf("allowed, or not forbidden: %v", err)
			}
		})
	}
}
