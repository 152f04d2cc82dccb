package audit_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/audit"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

// fixture is a store with a customer, two endpoints, a project with an
// item, and an engagement with two tasks, made by nobody (not recorded).
type fixture struct {
	s        store.Store
	customer store.Customer
	src      store.Endpoint
	project  store.Project
	item     store.Item
	eng      store.Engagement
	task     store.EngagementTask
}

const secret = "sealed:TOP-SECRET-VALUE"

func setup(t *testing.T) *fixture {
	t.Helper()
	raw, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	f := &fixture{s: audit.Wrap(raw)}
	ctx := context.Background()
	f.customer = store.Customer{Name: "Contoso", Domain: "contoso.example"}
	must(t, f.s.CreateCustomer(ctx, &f.customer))
	f.src = store.Endpoint{CustomerID: f.customer.ID, Name: "Old Exchange", Type: "imap", Host: "old.contoso.example", Port: 993, Security: "tls",
		SealedPassword: secret}
	must(t, f.s.CreateEndpoint(ctx, &f.src))
	dst := store.Endpoint{CustomerID: f.customer.ID, Name: "Exchange Online", Type: "office365", Host: "outlook.office365.com", Port: 993, Security: "tls"}
	must(t, f.s.CreateEndpoint(ctx, &dst))
	f.project = store.Project{CustomerID: f.customer.ID, Name: "Wave 1", Kind: "mailbox", SourceID: f.src.ID, DestID: dst.ID, MaxConcurrent: 10, ItemTypes: []string{"mail"}}
	must(t, f.s.CreateProject(ctx, &f.project))
	f.item = store.Item{ProjectID: f.project.ID, Source: "ann@old.example", Dest: "ann@contoso.example", Status: store.StatusNotSubmitted}
	must(t, f.s.CreateItems(ctx, []*store.Item{&f.item}))
	f.eng = store.Engagement{CustomerID: f.customer.ID, Name: "Onboarding", Seats: 600, Services: []string{"exchange"}, Playbook: "test"}
	must(t, f.s.CreateEngagement(ctx, &f.eng, []*store.EngagementTask{
		{TaskID: "3190", Phase: "Remediate", Name: "Confirm the customer resolves the checklist", Role: "engineer", Mandatory: true, Status: "Not Started"},
		{TaskID: "1700", Phase: "Remediate", Name: "Remediate Exit: All items in Remediation Checklist resolved", Role: "ftm", Mandatory: true, Status: "Not Started"},
	}))
	tasks, err := f.s.EngagementTasks(ctx, f.eng.ID)
	must(t, err)
	f.task = tasks[0]
	if got, _ := raw.Audit(ctx, store.AuditFilter{}); len(got) != 0 {
		t.Fatalf("changes made by nobody were recorded: %+v", got)
	}
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWrapRecordsPeoplesChanges(t *testing.T) {
	t.Parallel()
	person := auth.WithPrincipal(context.Background(), &auth.Principal{Name: "Pat Partner", Role: auth.Partner, Kind: auth.KindSession})
	nobody := context.Background()
	type want struct {
		action, object, before, after string
		customer, engagement, project bool // the entry carries the fixture's ids
	}
	cases := []struct {
		name string
		ctx  context.Context
		do   func(ctx context.Context, f *fixture) error
		want []want // nil: nothing recorded
		// never must not appear in any entry.
		never string
	}{
		{name: "customer created", ctx: person, do: func(ctx context.Context, f *fixture) error {
			return f.s.CreateCustomer(ctx, &store.Customer{Name: "Fabrikam", Domain: "fabrikam.example"})
		}, want: []want{{action: "customers.create", object: "(Fabrikam)", after: `"name":"Fabrikam"`}}},
		{name: "customer deleted", ctx: person, do: func(ctx context.Context, f *fixture) error {
			c := store.Customer{Name: "Gone", Domain: "gone.example"}
			if err := f.s.CreateCustomer(nobody, &c); err != nil {
				return err
			}
			return f.s.DeleteCustomer(ctx, c.ID)
		}, want: []want{{action: "customers.delete", object: "(Gone)", before: `"primary_domain":"gone.example"`}}},
		{name: "endpoint created with credentials", ctx: person, do: func(ctx context.Context, f *fixture) error {
			return f.s.CreateEndpoint(ctx, &store.Endpoint{CustomerID: f.customer.ID, Name: "Gmail", Type: "gmail", Host: "imap.gmail.com", Port: 993,
				Security: "tls", SealedPassword: secret, SealedToken: secret})
		}, want: []want{{action: "endpoints.create", object: "(Gmail)", after: `"credentials":"provided"`, customer: true}}, never: "TOP-SECRET"},
		{name: "endpoint credentials changed", ctx: person, do: func(ctx context.Context, f *fixture) error {
			e := f.src
			e.SealedPassword = "sealed:ANOTHER-SECRET"
			return f.s.UpdateEndpoint(ctx, e)
		}, want: []want{{action: "endpoints.credentials", object: "(Old Exchange)", after: `"credentials":"credentials changed"`, customer: true}},
			never: "SECRET"},
		{name: "endpoint host changed", ctx: person, do: func(ctx context.Context, f *fixture) error {
			e := f.src
			e.Host = "new.contoso.example"
			return f.s.UpdateEndpoint(ctx, e)
		}, want: []want{{action: "endpoints.update", before: `{"host":"old.contoso.example"}`, after: `{"host":"new.contoso.example"}`, customer: true}},
			never: "SECRET"},
		{name: "endpoint deleted", ctx: person, do: func(ctx context.Context, f *fixture) error {
			e := f.src
			e.ID, e.Name = 0, "Spare"
			if err := f.s.CreateEndpoint(nobody, &e); err != nil {
				return err
			}
			return f.s.DeleteEndpoint(ctx, e.ID)
		}, want: []want{{action: "endpoints.delete", object: "(Spare)", before: `"credentials":"provided"`, customer: true}}, never: "SECRET"},
		{name: "project created", ctx: person, do: func(ctx context.Context, f *fixture) error {
			p := f.project
			p.ID, p.Name = 0, "Wave 2"
			return f.s.CreateProject(ctx, &p)
		}, want: []want{{action: "projects.create", object: "(Wave 2)", after: `"max_concurrent_migrations":10`, customer: true}}},
		{name: "project settings", ctx: person, do: func(ctx context.Context, f *fixture) error {
			p := f.project
			p.MaxConcurrent = 3
			return f.s.UpdateProject(ctx, p)
		}, want: []want{{action: "projects.settings", before: `{"max_concurrent_migrations":10}`, after: `{"max_concurrent_migrations":3}`,
			customer: true, project: true}}},
		{name: "project closed", ctx: person, do: func(ctx context.Context, f *fixture) error {
			p := f.project
			p.Closed = true
			return f.s.UpdateProject(ctx, p)
		}, want: []want{{action: "projects.close", before: `{"closed":false}`, after: `{"closed":true}`, customer: true, project: true}}},
		{name: "items added", ctx: person, do: func(ctx context.Context, f *fixture) error {
			var its []*store.Item
			for _, u := range []string{"bo", "cy", "di"} {
				its = append(its, &store.Item{ProjectID: f.project.ID, Source: u + "@old.example", Dest: u + "@contoso.example", Status: store.StatusNotSubmitted,
					SealedSourcePassword: secret})
			}
			return f.s.CreateItems(ctx, its)
		}, want: []want{{action: "items.create", after: "3 items added", customer: true, project: true}}, never: "SECRET"},
		{name: "item stopped by a person", ctx: person, do: func(ctx context.Context, f *fixture) error {
			return f.s.SetItemStatus(ctx, f.item.ID, store.StatusStopped, "", 0)
		}, want: []want{{action: "passes.stop", object: "ann@old.example", before: `{"status":"Not Submitted"}`, after: `{"status":"Stopped"}`,
			customer: true, project: true}}},
		{name: "item queued by a person", ctx: person, do: func(ctx context.Context, f *fixture) error {
			it := f.item
			it.Status, it.LastPass, it.JobID = store.StatusQueued, "full", 42
			return f.s.UpdateItem(ctx, it)
		}, want: []want{{action: "passes.start", after: `"pass":"full"`, customer: true, project: true}}},
		{name: "pass started by a person", ctx: person, do: func(ctx context.Context, f *fixture) error {
			_, err := f.s.QueuePass(ctx, []int64{f.item.ID}, "trial", func(context.Context, any) ([]int64, error) { return []int64{43}, nil })
			return err
		}, want: []want{{action: "passes.start", object: "ann@old.example", before: `{"status":"Not Submitted"}`, after: `"pass":"trial"`,
			customer: true, project: true}}},
		{name: "pass already queued is not recorded", ctx: person, do: func(ctx context.Context, f *fixture) error {
			_, err := f.s.QueuePass(ctx, []int64{f.item.ID}, "trial", func(context.Context, any) ([]int64, error) { return []int64{0}, nil })
			return err
		}},
		{name: "item running is the engine's", ctx: person, do: func(ctx context.Context, f *fixture) error {
			return f.s.SetItemStatus(ctx, f.item.ID, store.StatusRunning, "full", 0)
		}},
		{name: "engine stops an item", ctx: nobody, do: func(ctx context.Context, f *fixture) error {
			return f.s.SetItemStatus(ctx, f.item.ID, store.StatusStopped, "", 0)
		}},
		{name: "item credentials changed", ctx: person, do: func(ctx context.Context, f *fixture) error {
			it := f.item
			it.SealedDestPassword = "sealed:NEW-SECRET"
			return f.s.UpdateItem(ctx, it)
		}, want: []want{{action: "items.update", after: `"credentials":"credentials changed"`, project: true}}, never: "SECRET"},
		{name: "engagement created", ctx: person, do: func(ctx context.Context, f *fixture) error {
			e := store.Engagement{CustomerID: f.customer.ID, Name: "Second", Seats: 200, Playbook: "test"}
			return f.s.CreateEngagement(ctx, &e, []*store.EngagementTask{{TaskID: "1141", Phase: "Enable", Name: "Identity", Role: "frp", Status: "Not Started"}})
		}, want: []want{{action: "engagements.create", object: "(Second)", after: `"tasks":1`, customer: true}}},
		{name: "engagement scope", ctx: person, do: func(ctx context.Context, f *fixture) error {
			e := f.eng
			e.Seats = 900
			return f.s.UpdateEngagement(ctx, e)
		}, want: []want{{action: "engagements.scope", before: `{"seats":600}`, after: `{"seats":900}`, customer: true, engagement: true}}},
		{name: "task status", ctx: person, do: func(ctx context.Context, f *fixture) error {
			t := f.task
			t.Status, t.Percent = "Complete", 100
			return f.s.UpdateEngagementTask(ctx, t, []store.TaskEvent{
				{Who: "Pat Partner", Field: "status", Before: "Not Started", After: "Complete"},
				{Who: "Pat Partner", Field: "percent", Before: "0", After: "100"}})
		}, want: []want{{action: "tasks.update", object: "task 3190", before: `{"percent":"0","status":"Not Started"}`,
			after: `{"percent":"100","status":"Complete"}`, customer: true, engagement: true}}},
		{name: "task status by a worker", ctx: nobody, do: func(ctx context.Context, f *fixture) error {
			t := f.task
			t.Status = "Complete"
			return f.s.UpdateEngagementTask(ctx, t, []store.TaskEvent{{Who: "robot", Field: "status", Before: "Not Started", After: "Complete"}})
		}},
		{name: "time logged", ctx: person, do: func(ctx context.Context, f *fixture) error {
			return f.s.AddTimeEntry(ctx, &store.TimeEntry{TaskID: f.task.ID, Who: "Pat Partner", Minutes: 45, Note: "call", At: time.Now()})
		}, want: []want{{action: "tasks.time", object: "task 3190", after: `"minutes":45`, customer: true, engagement: true}}},
		{name: "person assigned", ctx: person, do: func(ctx context.Context, f *fixture) error {
			return f.s.Assign(ctx, store.Assignment{EngagementID: f.eng.ID, Role: "ftm", Person: "Fran"})
		}, want: []want{{action: "people.assign", after: `{"person":"Fran","role":"ftm"}`, customer: true, engagement: true}}},
		{name: "phase exited", ctx: person, do: func(ctx context.Context, f *fixture) error {
			return f.s.ExitPhase(ctx, store.PhaseExit{EngagementID: f.eng.ID, Phase: "Initiate", Who: "Pat Partner", At: time.Now()})
		}, want: []want{{action: "gates.exit", object: "phase Initiate", after: `"exited":true`, customer: true, engagement: true}}},
		{name: "checklist item added then resolved", ctx: person, do: func(ctx context.Context, f *fixture) error {
			c := store.ChecklistItem{EngagementID: f.eng.ID, Title: "Fix UPNs", Severity: "high", State: "open"}
			if err := f.s.SaveChecklistItem(ctx, &c); err != nil {
				return err
			}
			c.State = "resolved"
			return f.s.SaveChecklistItem(ctx, &c)
		}, want: []want{
			{action: "checklist.update", object: "(Fix UPNs)", before: `{"state":"open"}`, after: `{"state":"resolved"}`, customer: true, engagement: true},
			{action: "checklist.create", object: "(Fix UPNs)", after: `"severity":"high"`, customer: true, engagement: true},
		}},
		{name: "issue reported", ctx: person, do: func(ctx context.Context, f *fixture) error {
			return f.s.SavePostMigrationIssue(ctx, &store.PostMigrationIssue{EngagementID: f.eng.ID, Mailbox: "ann@contoso.example", Status: "open",
				Description: "calendar missing", MigratedAt: time.Now(), ReportedAt: time.Now(), Deadline: time.Now()})
		}, want: []want{{action: "issues.create", object: "ann@contoso.example", after: `"description":"calendar missing"`, customer: true, engagement: true}}},
		{name: "event scheduled", ctx: person, do: func(ctx context.Context, f *fixture) error {
			return f.s.SaveEvent(ctx, &store.ScheduledEvent{EngagementID: f.eng.ID, Kind: "wave", Title: "Wave 1", Starts: time.Now(),
				Ends: time.Now().Add(time.Hour), TimeZone: "UTC"})
		}, want: []want{{action: "events.create", object: "(Wave 1)", after: `"kind":"wave"`, customer: true, engagement: true}}},
		{name: "gate overridden", ctx: person, do: func(ctx context.Context, f *fixture) error {
			return f.s.AddGateOverride(ctx, &store.GateOverride{CustomerID: f.customer.ID, Who: "Fran", Reason: "pilot", At: time.Now()})
		}, want: []want{{action: "migration-gate.override", after: `"reason":"pilot"`, customer: true}}},
		{name: "override revoked", ctx: person, do: func(ctx context.Context, f *fixture) error {
			g := store.GateOverride{CustomerID: f.customer.ID, Who: "Fran", Reason: "pilot", At: time.Now()}
			if err := f.s.AddGateOverride(nobody, &g); err != nil { // unrecorded: only the revocation is checked
				return err
			}
			g.RevokedAt, g.RevokedBy, g.RevokeReason = time.Now(), "Fran", "sync broke"
			return f.s.RevokeGateOverride(ctx, g)
		}, want: []want{{action: "migration-gate.override", object: "override", before: `{"revoked":false}`, after: `"reason":"sync broke"`, customer: true}}},
		{name: "failed change", ctx: person, do: func(ctx context.Context, f *fixture) error {
			it := store.Item{ProjectID: f.project.ID, Source: f.item.Source, Dest: "dup@contoso.example"}
			if err := f.s.CreateItems(ctx, []*store.Item{&it}); err == nil {
				t.Error("a duplicate item was added")
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			if err := tc.do(tc.ctx, f); err != nil {
				t.Fatal(err)
			}
			got, err := f.s.Audit(context.Background(), store.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d entries, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Who != "Pat Partner" || g.At.IsZero() || g.Action != w.action || !strings.Contains(g.Object, w.object) ||
					!strings.Contains(g.Before, w.before) || !strings.Contains(g.After, w.after) {
					t.Errorf("entry %d = %+v\nwant %+v", i, g, w)
				}
				if (w.customer && g.CustomerID != f.customer.ID) || (w.engagement && g.EngagementID != f.eng.ID) ||
					(w.project && g.ProjectID != f.project.ID) {
					t.Errorf("entry %d ids: customer %d engagement %d project %d", i, g.CustomerID, g.EngagementID, g.ProjectID)
				}
				if w.before == "" && w.action != "" && strings.HasSuffix(w.action, ".create") && g.Before != "" {
					t.Errorf("entry %d: a creation has a before: %q", i, g.Before)
				}
				if tc.never != "" && strings.Contains(g.Object+g.Before+g.After, tc.never) {
					t.Errorf("entry %d shows a credential: %+v", i, g)
				}
			}
		})
	}
}

func TestFiltersFindEntries(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{Name: "Kim", Role: auth.FastTrackManager})
	must(t, f.s.Assign(ctx, store.Assignment{EngagementID: f.eng.ID, Role: "ftm", Person: "Kim"}))
	p := f.project
	p.MaxErrors = 7
	must(t, f.s.UpdateProject(ctx, p))
	for _, tc := range []struct {
		f    store.AuditFilter
		want []string
	}{
		{store.AuditFilter{CustomerID: f.customer.ID}, []string{"projects.settings", "people.assign"}},
		{store.AuditFilter{EngagementID: f.eng.ID}, []string{"people.assign"}},
		{store.AuditFilter{ProjectID: f.project.ID}, []string{"projects.settings"}},
		{store.AuditFilter{CustomerID: f.customer.ID + 1}, nil},
	} {
		got, err := f.s.Audit(context.Background(), tc.f)
		must(t, err)
		var actions []string
		for _, e := range got {
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%+v: %v, want %v", tc.f, actions, tc.want)
		}
	}
	if audit.Wrap(f.s) != f.s || audit.Unwrap(f.s) == f.s {
		t.Error("wrapping twice, or unwrapping, does not work")
	}
}
