package engagements_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
)

// TestSuccessPlanIsInitiatesThirdCriterion: Initiate exits only with a
// success plan on record, whose fields say what to fix.
func TestSuccessPlanIsInitiatesThirdCriterion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.svc.Now = func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) }
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}})
	carl, carlCtx := b.person(t, "carl@northwind.com", auth.CustomerProjectManager)
	gate := func() engagements.Gate {
		gs, err := b.svc.Gates(operator, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		return gs[0]
	}
	if g := gate(); !strings.Contains(blockerNames(g), "success plan") {
		t.Fatalf("Initiate without a plan: %s", blockerNames(g))
	}
	good := engagements.SuccessPlanInput{Goals: "mail in Exchange Online", Outcomes: "IMAP retired", Owner: "carl@northwind.com", Agreed: "2026-12-03"}
	for _, tc := range []struct {
		name  string
		edit  func(*engagements.SuccessPlanInput)
		field string
	}{
		{"no goals", func(in *engagements.SuccessPlanInput) { in.Goals = " " }, "goals"},
		{"no owner", func(in *engagements.SuccessPlanInput) { in.Owner = "" }, "owner"},
		{"an owner without an account", func(in *engagements.SuccessPlanInput) { in.Owner = "Carl" }, "owner"},
		{"no date", func(in *engagements.SuccessPlanInput) { in.Agreed = "" }, "agreed"},
		{"a date to come", func(in *engagements.SuccessPlanInput) { in.Agreed = "2027-01-10" }, "agreed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := good
			tc.edit(&in)
			_, err := b.svc.SetSuccessPlan(operator, e.ID, in)
			if fe, ok := fault.As(err); !ok || fe.Kind != fault.Invalid || fe.Field != tc.field {
				t.Fatalf("%v, want invalid %s", err, tc.field)
			}
		})
	}
	// The customer's project manager writes it (seed 001: "Develop and implement your success plan").
	p, err := b.svc.SetSuccessPlan(carlCtx, e.ID, good)
	if err != nil {
		t.Fatal(err)
	}
	if p.OwnerID != carl.ID || p.UpdatedBy != carl.Email || p.Agreed.Format("2006-01-02") != "2026-12-03" {
		t.Fatalf("plan %+v", p)
	}
	if got, ok, err := b.svc.SuccessPlan(operator, e.ID); err != nil || !ok || got.Goals != good.Goals {
		t.Fatalf("read back %+v %v %v", got, ok, err)
	}
	if g := gate(); strings.Contains(blockerNames(g), "success plan") {
		t.Fatalf("Initiate with a plan: %s", blockerNames(g))
	}
	// A viewer may not write it.
	_, viewer := b.person(t, "vic@northwind.com", auth.Viewer)
	if _, err := b.svc.SetSuccessPlan(viewer, e.ID, good); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("a viewer wrote the plan: %v", err)
	}
}

func blockerNames(g engagements.Gate) string {
	var s []string
	for _, b := range g.Blockers {
		s = append(s, b.Name)
	}
	return strings.Join(s, "; ")
}

// TestGoNoGoIsTheManagersWithEvidence: a go/no-go is decided at a go-no-go
// event by the engagement's FastTrack Manager (or an administrator), as
// the signed-in person, and keeps what was shown.
func TestGoNoGoIsTheManagersWithEvidence(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	b.svc.Now = func() time.Time { return now }
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	addMigrations(t, b.st, b.customer.ID, "Wave 1", []migrated{{"ann@northwind.com", "ann@northwind.onmicrosoft.com", nil}, {"bob@northwind.com", "bob@northwind.onmicrosoft.com", nil}})
	finishFull(t, b, "ann@northwind.com", now, "completed")
	finishFull(t, b, "bob@northwind.com", now, "completed with errors")
	fiona, fionaCtx := b.person(t, "fiona@fasttrack.example", auth.FastTrackManager)
	_, patCtx := b.person(t, "pat@partner.com", auth.Partner)
	_, frankCtx := b.person(t, "frank@fasttrack.example", auth.FastTrackManager)
	b.svc.Assign(operator, e.ID, "ftm", fiona.Email)
	b.svc.Assign(operator, e.ID, "frp", "pat@partner.com")
	meeting, _ := b.svc.ScheduleEvent(operator, e.ID, engagements.EventInput{Kind: "meeting", Title: "Checkpoint", TimeZone: "UTC", Starts: "2026-12-07 09:00", Ends: "2026-12-07 10:00"})
	g, err := b.svc.ScheduleEvent(operator, e.ID, engagements.EventInput{Kind: "go-no-go", Title: "Wave 1 go/no-go", TimeZone: "UTC", Starts: "2026-12-07 11:00", Ends: "2026-12-07 11:30"})
	if err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		err  error
		kind fault.Kind
	}{
		{"the partner", func() error {
			_, err := b.svc.DecideGoNoGo(patCtx, e.ID, engagements.GoNoGoInput{EventID: g.ID, Decision: "go"})
			return err
		}(), fault.Forbidden},
		{"a FastTrack Manager of no role here", func() error {
			_, err := b.svc.DecideGoNoGo(frankCtx, e.ID, engagements.GoNoGoInput{EventID: g.ID, Decision: "go"})
			return err
		}(), fault.Forbidden},
		{"an unknown decision", func() error {
			_, err := b.svc.DecideGoNoGo(fionaCtx, e.ID, engagements.GoNoGoInput{EventID: g.ID, Decision: "maybe"})
			return err
		}(), fault.Invalid},
		{"a meeting", func() error {
			_, err := b.svc.DecideGoNoGo(fionaCtx, e.ID, engagements.GoNoGoInput{EventID: meeting.ID, Decision: "go"})
			return err
		}(), fault.Invalid},
		{"a no-go without notes", func() error {
			_, err := b.svc.DecideGoNoGo(fionaCtx, e.ID, engagements.GoNoGoInput{EventID: g.ID, Decision: "no-go"})
			return err
		}(), fault.Invalid},
	}
	for _, r := range refused {
		if fault.KindOf(r.err) != r.kind {
			t.Errorf("%s: %v, want %v", r.name, r.err, r.kind)
		}
	}
	d, err := b.svc.DecideGoNoGo(fionaCtx, e.ID, engagements.GoNoGoInput{EventID: g.ID, Decision: "No-Go", Notes: "bob's mailbox has errors"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != engagements.NoGo || d.Who != fiona.Email || d.WhoID != fiona.ID || !d.At.Equal(now) {
		t.Fatalf("decision %+v", d)
	}
	// Later changes do not change what was shown.
	finishFull(t, b, "bob@northwind.com", now.Add(time.Hour), "completed")
	ds, err := b.svc.GoNoGoDecisions(operator, e.ID)
	if err != nil || len(ds) != 1 || ds[0].Event != "Wave 1 go/no-go" {
		t.Fatalf("decisions %+v %v", ds, err)
	}
	shown := ds[0].Shown
	if len(shown.Projects) != 1 || shown.Projects[0].Items != 2 || shown.Projects[0].Failed != 1 || len(shown.Gates) != 5 || len(shown.MigrationGate) == 0 {
		b, _ := json.Marshal(shown)
		t.Fatalf("evidence %s", b)
	}
}
