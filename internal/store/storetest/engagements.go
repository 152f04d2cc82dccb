package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

func runEngagements(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Run("Engagements", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := store.Customer{Name: "Tailspin", Domain: "tailspin.com"}
		s.CreateCustomer(ctx, &c)
		e := store.Engagement{CustomerID: c.ID, Name: "Onboarding", Seats: 800, Services: []string{"core", "exchange"}, Workloads: []string{"imap"}, Playbook: "default"}
		tasks := []*store.EngagementTask{
			{TaskID: "1699", Phase: "Assess", Name: "Assess exit", Role: "engineer", Party: "onboarding-team", Mandatory: true, Status: "Not Started", Services: []string{"core"}},
			{TaskID: "1635", Phase: "Migrate", Name: "IMAP workshop", Role: "frp", Party: "partner", Status: "Not Started"},
		}
		if err := s.CreateEngagement(ctx, &e, tasks); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateEngagement(ctx, &store.Engagement{CustomerID: c.ID, Name: "Onboarding", Playbook: "x"}, nil); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate engagement: %v", err)
		}
		got, err := s.Engagement(ctx, e.ID)
		if err != nil || got.Seats != 800 || len(got.Services) != 2 {
			t.Fatalf("%+v %v", got, err)
		}
		if err := s.AddEngagementTasks(ctx, []*store.EngagementTask{{EngagementID: e.ID, TaskID: "1635", Phase: "Migrate", Name: "again", Status: "Not Started"}}); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate task: %v", err)
		}
		tk := *tasks[0]
		tk.Status, tk.Percent = "Complete", 100
		if err := s.UpdateEngagementTask(ctx, tk, []store.TaskEvent{{Who: "ana", Field: "status", Before: "Not Started", After: "Complete"}}); err != nil {
			t.Fatal(err)
		}
		s.AddTimeEntry(ctx, &store.TimeEntry{TaskID: tk.ID, Who: "ana", Minutes: 90})
		s.AddTimeEntry(ctx, &store.TimeEntry{TaskID: tk.ID, Who: "ben", Minutes: 30})
		back, _ := s.EngagementTask(ctx, tk.ID)
		evs, _ := s.TaskEvents(ctx, tk.ID)
		if back.Status != "Complete" || back.Minutes != 120 || len(evs) != 1 || evs[0].Who != "ana" {
			t.Fatalf("task %+v events %+v", back, evs)
		}
		// People in roles are accounts; a row of free text (from before) holds the role for nobody.
		pat := store.User{Email: "pat@partner.com", Name: "Pat", Role: "partner", PasswordHash: "x", Created: time.Now()}
		sam := store.User{Email: "sam@partner.com", Name: "Sam", Role: "partner", PasswordHash: "x", Created: time.Now()}
		for _, u := range []*store.User{&pat, &sam} {
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Assign(ctx, store.Assignment{EngagementID: e.ID, Role: "mvm", Person: "Someone Else"}); err != nil {
			t.Fatal(err)
		}
		if as, _ := s.AssignmentsOf(ctx, 0); len(as) != 0 {
			t.Fatalf("a row without an account is nobody's: %+v", as)
		}
		s.Unassign(ctx, store.Assignment{EngagementID: e.ID, Role: "mvm", Person: "Someone Else"})
		s.Assign(ctx, store.Assignment{EngagementID: e.ID, Role: "frp", Person: "pat@partner.com", UserID: pat.ID})
		s.Assign(ctx, store.Assignment{EngagementID: e.ID, Role: "frp", Person: "pat@partner.com", UserID: pat.ID})
		if as, _ := s.AssignmentsOf(ctx, pat.ID); len(as) != 1 {
			t.Fatalf("assignments %+v", as)
		}
		s.Assign(ctx, store.Assignment{EngagementID: e.ID, Role: "ftm", Person: "pat@partner.com", UserID: pat.ID})
		s.Assign(ctx, store.Assignment{EngagementID: e.ID, Role: "frp", Person: "sam@partner.com", UserID: sam.ID})
		// Taking a person out of one role leaves their other roles and the role's other people.
		for _, tc := range []struct {
			name string
			a    store.Assignment
			err  error
			want []store.Assignment
		}{
			{"out of one role", store.Assignment{EngagementID: e.ID, Role: "frp", Person: "pat@partner.com", UserID: pat.ID}, nil,
				[]store.Assignment{{EngagementID: e.ID, Role: "frp", Person: "sam@partner.com", UserID: sam.ID}, {EngagementID: e.ID, Role: "ftm", Person: "pat@partner.com", UserID: pat.ID}}},
			{"not in the role any more", store.Assignment{EngagementID: e.ID, Role: "frp", Person: "pat@partner.com", UserID: pat.ID}, store.ErrNotFound, nil},
			{"never in the role", store.Assignment{EngagementID: e.ID, Role: "mvm", Person: "sam@partner.com", UserID: sam.ID}, store.ErrNotFound, nil},
			{"another engagement", store.Assignment{EngagementID: e.ID + 1000, Role: "ftm", Person: "pat@partner.com", UserID: pat.ID}, store.ErrNotFound, nil},
			{"the last of a role", store.Assignment{EngagementID: e.ID, Role: "ftm", Person: "pat@partner.com", UserID: pat.ID}, nil,
				[]store.Assignment{{EngagementID: e.ID, Role: "frp", Person: "sam@partner.com", UserID: sam.ID}}},
		} {
			err := s.Unassign(ctx, tc.a)
			if (tc.err == nil && err != nil) || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Fatalf("unassign %s: %v, want %v", tc.name, err, tc.err)
			}
			if tc.want == nil {
				continue
			}
			if got, err := s.Assignments(ctx, e.ID); err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("after unassign %s: %+v %v, want %+v", tc.name, got, err, tc.want)
			}
		}
		if as, _ := s.AssignmentsOf(ctx, pat.ID); len(as) != 0 {
			t.Fatalf("pat still holds %+v", as)
		}
		// Taken out, a person can be put back.
		if err := s.Assign(ctx, store.Assignment{EngagementID: e.ID, Role: "frp", Person: "pat@partner.com", UserID: pat.ID}); err != nil {
			t.Fatal(err)
		}
		if as, _ := s.AssignmentsOf(ctx, pat.ID); len(as) != 1 {
			t.Fatalf("assignments after re-assigning %+v", as)
		}
		s.ExitPhase(ctx, store.PhaseExit{EngagementID: e.ID, Phase: "Assess", Who: "ana"})
		if xs, _ := s.PhaseExits(ctx, e.ID); len(xs) != 1 {
			t.Fatalf("exits %+v", xs)
		}
		item := store.ChecklistItem{EngagementID: e.ID, Title: "TLS 1.2", Severity: "high", State: "open"}
		s.SaveChecklistItem(ctx, &item)
		item.State = "resolved"
		if err := s.SaveChecklistItem(ctx, &item); err != nil {
			t.Fatal(err)
		}
		if items, _ := s.ChecklistItems(ctx, e.ID); len(items) != 1 || items[0].State != "resolved" {
			t.Fatalf("checklist %+v", items)
		}
		pm := store.PostMigrationIssue{EngagementID: e.ID, Mailbox: "a@tailspin.com", MigratedAt: time.Now(), ReportedAt: time.Now(), Status: "open", Description: "missing calendar"}
		s.SavePostMigrationIssue(ctx, &pm)
		ev := store.ScheduledEvent{EngagementID: e.ID, Kind: "wave", Title: "Wave 1", Starts: time.Now(), Ends: time.Now().Add(time.Hour), TimeZone: "Europe/Berlin"}
		s.SaveEvent(ctx, &ev)
		if ps, _ := s.PostMigrationIssues(ctx, e.ID); len(ps) != 1 {
			t.Fatal("post-migration issue lost")
		}
		if es, _ := s.Events(ctx, e.ID); len(es) != 1 || es[0].TimeZone != "Europe/Berlin" {
			t.Fatal("event lost")
		}
		g := store.GateOverride{CustomerID: c.ID, Who: "ftm", Reason: "pilot"}
		s.AddGateOverride(ctx, &g)
		if gs, _ := s.GateOverrides(ctx, c.ID); len(gs) != 1 || gs[0].Reason != "pilot" {
			t.Fatal("override lost")
		}
		limited := store.GateOverride{CustomerID: c.ID, Who: "ftm", Reason: "wave 1", ProjectID: 42, Expires: time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)}
		if err := s.AddGateOverride(ctx, &limited); err != nil {
			t.Fatal(err)
		}
		limited.RevokedAt, limited.RevokedBy, limited.RevokeReason = time.Date(2026, 12, 9, 8, 0, 0, 0, time.UTC), "fiona", "sync finished"
		if err := s.RevokeGateOverride(ctx, limited); err != nil {
			t.Fatal(err)
		}
		if gs, _ := s.GateOverrides(ctx, c.ID); len(gs) != 2 || gs[1].ProjectID != 42 || !gs[1].Expires.Equal(limited.Expires) ||
			!gs[1].RevokedAt.Equal(limited.RevokedAt) || gs[1].RevokedBy != "fiona" || gs[1].RevokeReason != "sync finished" || !gs[0].RevokedAt.IsZero() {
			t.Fatalf("overrides %+v", gs)
		}
		if err := s.RevokeGateOverride(ctx, store.GateOverride{ID: limited.ID, CustomerID: c.ID + 1000}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking another customer's override: %v", err)
		}
	})

	t.Run("IssueLifecycle", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := store.Customer{Name: "Tailspin", Domain: "tailspin.com"}
		s.CreateCustomer(ctx, &c)
		e := store.Engagement{CustomerID: c.ID, Name: "Onboarding", Seats: 800, Playbook: "default"}
		if err := s.CreateEngagement(ctx, &e, nil); err != nil {
			t.Fatal(err)
		}
		pm := store.PostMigrationIssue{EngagementID: e.ID, Mailbox: "a@tailspin.com", MigratedAt: time.Now(), ReportedAt: time.Now(), Status: "open", Description: "missing calendar"}
		if err := s.SavePostMigrationIssue(ctx, &pm); err != nil {
			t.Fatal(err)
		}
		pm.Status, pm.Owner = "closed", "eng@partner.com"
		at := time.Now().Truncate(time.Millisecond)
		events := []store.IssueEvent{{At: at, Who: "pat", Field: "owner", After: "eng@partner.com"}, {At: at, Who: "pat", Field: "status", Before: "open", After: "closed", Note: "fixed"}}
		if err := s.UpdatePostMigrationIssue(ctx, pm, events); err != nil {
			t.Fatal(err)
		}
		if ps, _ := s.PostMigrationIssues(ctx, e.ID); len(ps) != 1 || ps[0].Status != "closed" || ps[0].Owner != "eng@partner.com" {
			t.Fatalf("issue after update %+v", ps)
		}
		got, err := s.IssueEvents(ctx, pm.ID)
		if err != nil || len(got) != 2 || got[1].Note != "fixed" || got[1].IssueID != pm.ID || !got[0].At.Equal(at) {
			t.Fatalf("IssueEvents = %+v, %v", got, err)
		}
		due := time.Date(2026, 12, 18, 17, 0, 0, 0, time.UTC)
		ci := store.ChecklistItem{EngagementID: e.ID, Title: "Set the remediation timeline", Severity: "medium", State: "open", Source: "person", Due: due}
		if err := s.SaveChecklistItem(ctx, &ci); err != nil {
			t.Fatal(err)
		}
		if cs, _ := s.ChecklistItems(ctx, e.ID); len(cs) != 1 || !cs[0].Due.Equal(due) {
			t.Fatalf("checklist due date lost: %+v", cs)
		}
		// Another engagement's id does not reach the issue; nothing is recorded.
		wrong := pm
		wrong.EngagementID = e.ID + 100
		if err := s.UpdatePostMigrationIssue(ctx, wrong, events); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update through another engagement: %v", err)
		}
		if got, _ := s.IssueEvents(ctx, pm.ID); len(got) != 2 {
			t.Fatalf("events after a refused update: %+v", got)
		}
	})
}
