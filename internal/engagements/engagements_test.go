package engagements_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

type bundle struct {
	svc      *engagements.Service
	st       store.Store
	customer store.Customer
}

func setup(t *testing.T) *bundle {
	t.Helper()
	st, err := sqlstore.OpenSQLite(operator, filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := store.Customer{Name: "Northwind", Domain: "northwind.com"}
	if err := st.CreateCustomer(operator, &c); err != nil {
		t.Fatal(err)
	}
	return &bundle{svc: &engagements.Service{Store: st, Playbook: playbook.Default()}, st: st, customer: c}
}

func (b *bundle) create(t *testing.T, in engagements.Input) (store.Engagement, []store.EngagementTask) {
	t.Helper()
	in.CustomerID = b.customer.ID
	if in.Name == "" {
		in.Name = "Onboarding"
	}
	e, tasks, err := b.svc.Create(operator, in)
	if err != nil {
		t.Fatal(err)
	}
	return e, tasks
}

// person gives a person an account that sees the bundle's customer and
// returns it with a context signed in as it.
func (b *bundle) person(t *testing.T, email string, role auth.Role) (store.User, context.Context) {
	t.Helper()
	u := store.User{Email: email, Name: strings.Split(email, "@")[0], Role: string(role), PasswordHash: "x", Created: time.Now(), Customers: []int64{b.customer.ID}}
	if err := b.st.CreateUser(operator, &u); err != nil {
		t.Fatal(err)
	}
	return u, auth.WithPrincipal(context.Background(), auth.PrincipalOf(u, auth.KindSession))
}

func ids(tasks []store.EngagementTask, retired bool) map[string]bool {
	out := map[string]bool{}
	for _, t := range tasks {
		if t.Retired == retired {
			out[t.TaskID] = true
		}
	}
	return out
}

func TestCreateInstantiatesExactlyTheApplicableTasks(t *testing.T) {
	t.Parallel()
	pb := playbook.Default()
	tests := []struct {
		name      string
		in        engagements.Input
		want, not []string
	}{
		{"IMAP migration", engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}}, []string{"1635", "1700"}, []string{"2006", "1629", "3208"}},
		{"Gmail migration", engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"gmail"}}, []string{"2006"}, []string{"1635"}},
		{"no migration", engagements.Input{Seats: 300, Services: []string{"teams"}}, []string{"1700"}, []string{"1635", "2006"}},
		{"enterprise by seats", engagements.Input{Seats: 25000, Services: []string{"exchange", "skype"}}, []string{"3208", "3209", "3358"}, nil},
		{"enterprise by exception", engagements.Input{Seats: 5000, Services: []string{"exchange"}, EnterpriseException: "strategic account, approved by FTM"}, []string{"3208"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, tasks := b.create(t, tt.in)
			got := ids(tasks, false)
			for _, id := range tt.want {
				if !got[id] {
					t.Errorf("task %s missing", id)
				}
			}
			for _, id := range tt.not {
				if got[id] {
					t.Errorf("task %s should not apply", id)
				}
			}
			// Exactly: every playbook task in scope, nothing else.
			n := 0
			for _, pt := range pb.Tasks() {
				if pb.InScope(pt, playbook.Scope{Services: tt.in.Services, Workloads: tt.in.Workloads, Enterprise: tt.in.Seats >= 20000 || tt.in.EnterpriseException != ""}) {
					n++
				}
			}
			if n != len(tasks) {
				t.Fatalf("%d tasks instantiated, %d apply", len(tasks), n)
			}
		})
	}
}

func TestEligibilityRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := operator
	for _, tt := range []struct {
		in   engagements.Input
		want string
	}{
		{engagements.Input{Seats: 100, Services: []string{"exchange"}}, "at least 150 licenses"},
		{engagements.Input{Seats: 300, Services: []string{"exchange"}, Workloads: []string{"imap"}}, "at least 500 licenses"},
		{engagements.Input{Seats: 300, Services: []string{"warp-drive"}}, "unknown service"},
	} {
		tt.in.CustomerID, tt.in.Name = b.customer.ID, "E"
		_, _, err := b.svc.Create(ctx, tt.in)
		if err == nil || fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err = %v, want %q", tt.in, err, tt.want)
		}
	}
	rules := engagements.Eligibility(engagements.Input{Seats: 5000, Workloads: []string{"imap"}})
	if len(rules) != 3 || !rules[0].Met || !rules[1].Met || rules[2].Met {
		t.Fatalf("rules %+v", rules)
	}
}

func TestScopeChangeAddsAndRetiresKeepingHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := operator
	e, tasks := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	var imapTask store.EngagementTask
	for _, tk := range tasks {
		if tk.TaskID == "1635" {
			imapTask = tk
		}
	}
	st := engagements.InProgress
	if _, err := b.svc.UpdateTask(ctx, imapTask.ID, engagements.TaskUpdate{Status: &st}, "ana"); err != nil {
		t.Fatal(err)
	}
	added, retired, err := b.svc.ChangeScope(ctx, e.ID, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"gmail"}}, "ana")
	if err != nil || added == 0 || retired == 0 {
		t.Fatalf("added %d retired %d %v", added, retired, err)
	}
	after, _ := b.st.EngagementTasks(ctx, e.ID)
	if !ids(after, true)["1635"] || !ids(after, false)["2006"] {
		t.Fatal("IMAP workshop not retired or Gmail workshop not added")
	}
	back, _ := b.st.EngagementTask(ctx, imapTask.ID)
	evs, _ := b.st.TaskEvents(ctx, imapTask.ID)
	if back.Status != engagements.InProgress || len(evs) != 2 {
		t.Fatalf("history lost: %+v %+v", back, evs)
	}
	// Back again: the same row returns, with its status.
	b.svc.ChangeScope(ctx, e.ID, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap", "gmail"}}, "ana")
	again, _ := b.st.EngagementTask(ctx, imapTask.ID)
	if again.Retired || again.Status != engagements.InProgress {
		t.Fatalf("returned task %+v", again)
	}
}

func complete(t *testing.T, b *bundle, e store.Engagement, phase string, except ...string) {
	t.Helper()
	tasks, _ := b.st.EngagementTasks(operator, e.ID)
	for _, tk := range tasks {
		if tk.Phase != phase || strings.Contains(strings.Join(except, ","), tk.TaskID) {
			continue
		}
		st := engagements.Complete
		if !tk.Mandatory {
			st = engagements.NotRequired
		}
		if _, err := b.svc.UpdateTask(operator, tk.ID, engagements.TaskUpdate{Status: &st}, "ana"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPhaseGatesAndTheRemediationChecklist(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := operator
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}})
	err := b.svc.ExitPhase(ctx, e.ID, "Remediate", "ana")
	if err == nil || !strings.Contains(err.Error(), "1700") {
		t.Fatalf("exit with open tasks: %v", err)
	}
	item, err := b.svc.AddChecklistItem(ctx, e.ID, engagements.ChecklistInput{Title: "Enable TLS 1.2 on the relay", Severity: "high", Source: "assessment tool"})
	if err != nil {
		t.Fatal(err)
	}
	complete(t, b, e, "Remediate", "1700")
	err = setStatus(b, taskByID(t, b, e, "1700"), engagements.Complete)
	if err == nil || !strings.Contains(err.Error(), "TLS 1.2") {
		t.Fatalf("gate 1700 ignores the checklist: %v", err)
	}
	resolved := "resolved"
	b.svc.UpdateChecklistItem(ctx, e.ID, item.ID, &resolved, nil, nil)
	if err := setStatus(b, taskByID(t, b, e, "1700"), engagements.Complete); err != nil {
		t.Fatal(err)
	}
	// What is left in Remediate's way is the phases before it.
	gates, _ := b.svc.Gates(ctx, e.ID)
	for _, g := range gates {
		if g.Phase != "Remediate" {
			continue
		}
		for _, bl := range g.Blockers {
			if bl.Why != "phases exit in order" {
				t.Fatalf("Remediate blocked by %+v", bl)
			}
		}
	}
}

func TestMigrationGateAndOverride(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := operator
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}, Hybrid: true})
	if err := b.svc.CheckMigration(ctx, b.customer.ID, 0, "trial"); err != nil {
		t.Fatalf("trial refused: %v", err)
	}
	refusal, ok := fault.As(b.svc.CheckMigration(ctx, b.customer.ID, 0, "full"))
	if !ok || refusal.Kind != fault.Refused || refusal.Rule != "1141" {
		t.Fatalf("full: %+v, want a refusal by the gate's first prerequisite, task 1141", refusal)
	}
	for _, id := range []string{"1141", "3157", "3160"} {
		if !strings.Contains(refusal.Msg, id) {
			t.Fatalf("refusal %q does not name %s", refusal.Msg, id)
		}
	}
	b.person(t, "fiona@fasttrack.example", auth.FastTrackManager)
	b.svc.Assign(ctx, e.ID, "ftm", "fiona@fasttrack.example")
	if _, err := b.svc.Override(ctx, b.customer.ID, engagements.OverrideInput{}); err == nil {
		t.Fatal("override without a reason")
	}
	if _, err := b.svc.Override(ctx, b.customer.ID, engagements.OverrideInput{Reason: "pilot users move before sync"}); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.CheckMigration(ctx, b.customer.ID, 0, "full"); err != nil {
		t.Fatalf("still refused after the override: %v", err)
	}
	// Without hybrid in scope the hybrid tasks do not hold migration back.
	b2 := setup(t)
	b2.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	r := fmt.Sprint(b2.svc.CheckMigration(ctx, b2.customer.ID, 0, "prestage"))
	if strings.Contains(r, "3157") || !strings.Contains(r, "1141") {
		t.Fatalf("refusal %q", r)
	}
}

func TestTasksPeopleTimeAndHistory(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := operator
	e, tasks := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	b.person(t, "pat@partner.com", auth.Partner)
	if err := b.svc.Assign(ctx, e.ID, "frp", "pat@partner.com"); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Assign(ctx, e.ID, "wizard", "x"); err == nil || !strings.Contains(err.Error(), "frp") {
		t.Fatalf("unknown role: %v", err)
	}
	mine, _ := b.svc.MyTasks(ctx, "pat@partner.com")
	if len(mine) == 0 {
		t.Fatal("the partner has no tasks")
	}
	for _, tk := range mine {
		if tk.Role != "frp" {
			t.Fatalf("task of role %s listed for the partner", tk.Role)
		}
	}
	tk := tasks[0]
	bad := "Finished"
	if _, err := b.svc.UpdateTask(ctx, tk.ID, engagements.TaskUpdate{Status: &bad}, "pat"); err == nil || !strings.Contains(err.Error(), "Blocked-Pending Remediation") {
		t.Fatalf("bad status: %v", err)
	}
	pct, notes := 40, "waiting on DNS access"
	due := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if _, err := b.svc.UpdateTask(ctx, tk.ID, engagements.TaskUpdate{Percent: &pct, Notes: &notes, Due: &due}, "pat"); err != nil {
		t.Fatal(err)
	}
	b.svc.LogTime(ctx, tk.ID, "pat", 45, "call with the customer")
	got, _ := b.st.EngagementTask(ctx, tk.ID)
	evs, _ := b.st.TaskEvents(ctx, tk.ID)
	if got.Percent != 40 || got.Minutes != 45 || len(evs) != 3 || evs[0].Who != "pat" {
		t.Fatalf("task %+v events %+v", got, evs)
	}
}

func TestPostMigrationWindowAndEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := operator
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	// Friday migration: five business days later is the next Friday.
	fri := time.Date(2026, 11, 13, 18, 0, 0, 0, time.UTC)
	if d := engagements.AddBusinessDays(fri, 5); d.Weekday() != time.Friday || d.Day() != 20 {
		t.Fatalf("deadline %v", d)
	}
	b.svc.Now = func() time.Time { return time.Date(2026, 11, 19, 9, 0, 0, 0, time.UTC) }
	onTime, _ := b.svc.ReportIssue(ctx, e.ID, engagements.IssueInput{Mailbox: "a@northwind.com", MigratedAt: fri, Description: "shared calendar missing"})
	b.svc.Now = func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) }
	late, _ := b.svc.ReportIssue(ctx, e.ID, engagements.IssueInput{Mailbox: "b@northwind.com", MigratedAt: fri, Description: "rules missing"})
	if onTime.Late || !late.Late {
		t.Fatalf("on time %v, late %v", onTime.Late, late.Late)
	}
	ev, err := b.svc.ScheduleEvent(ctx, e.ID, engagements.EventInput{Kind: "migration-window", Title: "Wave 1 cutover", Starts: "2026-12-05 18:00", Ends: "2026-12-06 06:00", TimeZone: "Europe/Berlin"})
	if err != nil || ev.Starts.UTC().Hour() != 17 {
		t.Fatalf("event %+v %v", ev, err)
	}
	if _, err := b.svc.ScheduleEvent(ctx, e.ID, engagements.EventInput{Kind: "wave", Title: "x", Starts: "2026-12-05 18:00", Ends: "2026-12-05 19:00", TimeZone: "Mars/Olympus"}); err == nil {
		t.Fatal("bad time zone accepted")
	}
	rep, err := b.svc.BuildReport(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"markdown", "csv", "json"} {
		out, err := rep.Export(format)
		if err != nil || len(out) == 0 {
			t.Fatalf("%s: %v", format, err)
		}
		if format == "markdown" && (!strings.Contains(string(out), "| Remediate | 1700 |") || !strings.Contains(string(out), "Wave 1 cutover")) {
			t.Fatalf("markdown report:\n%s", out)
		}
	}
	p, _ := b.svc.Progress(ctx, e.ID)
	if p.Overall.Tasks == 0 || len(p.ByPhase) != 5 || len(p.ByRole) == 0 {
		t.Fatalf("progress %+v", p)
	}
}

// TestIssueTakesTheMigrationTimeFromTheProject: without migrated_at, a
// post-migration issue takes the end of the mailbox's last completed Full
// pass in the customer's projects (source or destination address, any
// case); a given time wins; a mailbox without one is a clear error.
func TestIssueTakesTheMigrationTimeFromTheProject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := operator
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	fullEnd := time.Date(2026, 11, 13, 18, 30, 0, 0, time.UTC)
	prestage := store.Run{Pass: "prestage", Started: fullEnd.Add(-72 * time.Hour), Ended: fullEnd.Add(-71 * time.Hour), Status: "completed"}
	addMigrations(t, b.st, b.customer.ID, "Mail", []migrated{
		{"ann@northwind.com", "ann@northwind.onmicrosoft.com", []store.Run{prestage,
			{Pass: "full", Started: fullEnd.Add(-time.Hour), Ended: fullEnd, Status: "completed with errors"},
			{Pass: "full", Started: fullEnd.Add(time.Hour), Ended: fullEnd.Add(2 * time.Hour), Status: "failed"}}},
		{"bob@northwind.com", "bob@northwind.onmicrosoft.com", []store.Run{prestage}},
	})
	// A second project of the customer is looked at too.
	addMigrations(t, b.st, b.customer.ID, "Mail wave 2", []migrated{
		{"cy@northwind.com", "cy@northwind.onmicrosoft.com", []store.Run{{Pass: "full", Started: fullEnd.Add(23 * time.Hour), Ended: fullEnd.Add(24 * time.Hour), Status: "completed"}}},
	})
	// Another customer's project is not: its Full pass of zoe is not Northwind's.
	other := store.Customer{Name: "Fabrikam", Domain: "fabrikam.com"}
	if err := b.st.CreateCustomer(ctx, &other); err != nil {
		t.Fatal(err)
	}
	addMigrations(t, b.st, other.ID, "Mail", []migrated{
		{"zoe@northwind.com", "zoe@fabrikam.onmicrosoft.com", []store.Run{{Pass: "full", Started: fullEnd.Add(-time.Hour), Ended: fullEnd, Status: "completed"}}},
		// The same pair as Northwind's bob, on the same servers: the engine's
		// state is shared, the Full pass is Fabrikam's item's, not bob's.
		{"bob@northwind.com", "bob@northwind.onmicrosoft.com", []store.Run{{Pass: "full", Started: fullEnd.Add(-time.Hour), Ended: fullEnd, Status: "completed"}}},
	})
	given := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, mailbox string
		given         time.Time
		want          time.Time
		err           string
	}{
		{"by source address", "ann@northwind.com", time.Time{}, fullEnd, ""},
		{"by destination address, other case", "Ann@Northwind.onmicrosoft.com", time.Time{}, fullEnd, ""},
		{"a given time wins", "ann@northwind.com", given, given, ""},
		{"only a Pre-stage", "bob@northwind.com", time.Time{}, time.Time{}, "no completed Full pass for bob@northwind.com"},
		{"in the customer's other project", "CY@northwind.com", time.Time{}, fullEnd.Add(24 * time.Hour), ""},
		{"only in another customer's project", "zoe@northwind.com", time.Time{}, time.Time{}, "give the time the mailbox was migrated"},
		{"not in any project", "yan@northwind.com", time.Time{}, time.Time{}, "no completed Full pass for yan@northwind.com in this customer's migration projects"},
		{"a substring is not the mailbox", "ann@northwind", time.Time{}, time.Time{}, "no completed Full pass"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.svc.ReportIssue(ctx, e.ID, engagements.IssueInput{Mailbox: tc.mailbox, MigratedAt: tc.given, Description: "calendar missing"})
			if tc.err != "" {
				ie, ok := fault.As(err)
				if !ok || ie.Kind != fault.Invalid || ie.Field != "migrated_at" || !strings.Contains(ie.Msg, tc.err) {
					t.Fatalf("%v, want an error on migrated_at saying %q", err, tc.err)
				}
				return
			}
			if err != nil || !got.MigratedAt.Equal(tc.want) || !got.Deadline.Equal(engagements.AddBusinessDays(tc.want, engagements.ReportWindowDays)) {
				t.Fatalf("%+v %v, want migrated at %v", got, err, tc.want)
			}
		})
	}
}

// migrated is a mailbox pair of a project and the passes it has run.
type migrated struct {
	source, dest string
	runs         []store.Run
}

// addMigrations makes a project of the customer with the items and their
// finished runs, as the engine leaves them.
func addMigrations(t *testing.T, st store.Store, customerID int64, project string, items []migrated) {
	t.Helper()
	ctx := operator
	var eps []store.Endpoint
	for _, name := range []string{project + " old", project + " new"} {
		ep := store.Endpoint{CustomerID: customerID, Name: name, Type: "imap", Host: "imap.example", Port: 993, Security: "tls"}
		if err := st.CreateEndpoint(ctx, &ep); err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
	}
	p := store.Project{CustomerID: customerID, Name: project, Kind: "mailbox", SourceID: eps[0].ID, DestID: eps[1].ID, MaxConcurrent: 10, MaxErrors: 50}
	if err := st.CreateProject(ctx, &p); err != nil {
		t.Fatal(err)
	}
	for _, m := range items {
		it := store.Item{ProjectID: p.ID, Source: m.source, Dest: m.dest, Status: store.StatusCompleted}
		if err := st.CreateItems(ctx, []*store.Item{&it}); err != nil {
			t.Fatal(err)
		}
		mbox, err := st.Mailbox(ctx, store.MailboxKey{Source: "imaps://" + m.source, Destination: "imaps://" + m.dest})
		if err != nil {
			t.Fatal(err)
		}
		it.MailboxID = mbox
		if err := st.UpdateItem(ctx, it); err != nil {
			t.Fatal(err)
		}
		for _, r := range m.runs {
			r.ItemID = it.ID
			if err := st.StartRun(ctx, mbox, &r); err != nil {
				t.Fatal(err)
			}
			if err := st.FinishRun(ctx, mbox, &r); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestNeedingAttention: the dashboard's engagements with tasks blocked or
// late; finished and retired tasks never count, and other customers' are
// not looked at.
func TestNeedingAttention(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := operator
	_, tasks := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	var live []store.EngagementTask
	for _, tk := range tasks {
		if !tk.Retired {
			live = append(live, tk)
		}
	}
	yesterday := time.Now().Add(-24 * time.Hour)
	tomorrow := time.Now().Add(24 * time.Hour)
	str := func(s string) *string { return &s }
	for i, u := range []engagements.TaskUpdate{
		{Status: str(engagements.BlockedBusiness)},              // 0: blocked
		{Due: &yesterday},                                       // 1: late
		{Due: &yesterday, Status: str(engagements.Complete)},    // 2: late but finished
		{Due: &tomorrow},                                        // 3: due later
		{Due: &yesterday, Status: str(engagements.NotRequired)}, // 4: finished
		{Status: str(engagements.Warning)},                      // 5: a warning blocks too
	} {
		if _, err := b.svc.UpdateTask(ctx, live[i].ID, u, "pat@partner.com"); err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
	}
	got, err := b.svc.NeedingAttention(ctx, []store.Customer{b.customer})
	if err != nil || len(got) != 1 {
		t.Fatalf("NeedingAttention = %+v, %v", got, err)
	}
	names := func(ts []store.EngagementTask) (out []string) {
		for _, tk := range ts {
			out = append(out, tk.TaskID)
		}
		return out
	}
	if want := []string{live[0].TaskID, live[5].TaskID}; fmt.Sprint(names(got[0].Blocked)) != fmt.Sprint(want) {
		t.Errorf("blocked %v, want %v", names(got[0].Blocked), want)
	}
	if want := []string{live[1].TaskID}; fmt.Sprint(names(got[0].Late)) != fmt.Sprint(want) {
		t.Errorf("late %v, want %v", names(got[0].Late), want)
	}
	if got, _ := b.svc.NeedingAttention(ctx, nil); len(got) != 0 {
		t.Errorf("with no customers: %+v", got)
	}
}
