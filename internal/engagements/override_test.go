package engagements_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// TestOverridesAreTheSignedInPersonsLimitedAndRevocable: an override is
// recorded as whoever makes it, who must hold the role the playbook gives
// the gate; it may be limited to a project and a day, and be revoked.
func TestOverridesAreTheSignedInPersonsLimitedAndRevocable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	b.svc.Now = func() time.Time { return now }
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	addMigrations(t, b.st, b.customer.ID, "Wave 1", nil)
	addMigrations(t, b.st, b.customer.ID, "Wave 2", nil)
	projects, _ := b.st.ProjectsOf(operator, b.customer.ID)
	wave1, wave2 := projects[0].ID, projects[1].ID
	own := b.customer.ID
	_, fiona := b.person(t, "fiona@fasttrack.example", auth.FastTrackManager)
	_, pat := b.person(t, "pat@partner.com", auth.Partner)
	b.svc.Assign(operator, e.ID, "ftm", "fiona@fasttrack.example")
	b.svc.Assign(operator, e.ID, "frp", "pat@partner.com")

	if _, err := b.svc.Override(pat, own, engagements.OverrideInput{Reason: "customer deadline"}); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("the partner overrode the gate: %v", err)
	}
	for _, bad := range []engagements.OverrideInput{
		{Reason: "x", Expires: "24.12.2026"},
		{Reason: "x", Expires: "2026-12-06"},
		{Reason: "x", ProjectID: 99999},
	} {
		if _, err := b.svc.Override(fiona, own, bad); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%+v: %v, want invalid", bad, err)
		}
	}
	g, err := b.svc.Override(fiona, own, engagements.OverrideInput{Reason: "wave 1 pilot", ProjectID: wave1, Expires: "2026-12-08"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Who != "fiona@fasttrack.example" {
		t.Fatalf("override recorded as %q", g.Who)
	}
	check := func(project int64) error { return b.svc.CheckMigration(operator, own, project, "full") }
	if err := check(wave1); err != nil {
		t.Fatalf("wave 1 refused under its override: %v", err)
	}
	if err := check(wave2); err == nil {
		t.Fatal("wave 2 runs under wave 1's override")
	}
	now = time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC) // the day after the last day
	if err := check(wave1); err == nil {
		t.Fatal("an expired override still lets passes run")
	}
	now = time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	if _, err := b.svc.RevokeOverride(pat, own, g.ID, "no"); !errors.Is(err, fault.ErrForbidden) {
		t.Fatalf("the partner revoked: %v", err)
	}
	if _, err := b.svc.RevokeOverride(fiona, own, g.ID, ""); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("revoked without a reason: %v", err)
	}
	if _, err := b.svc.RevokeOverride(fiona, own, g.ID, "identity sync is broken"); err != nil {
		t.Fatal(err)
	}
	if err := check(wave1); err == nil {
		t.Fatal("a revoked override still lets passes run")
	}
	gs, _ := b.st.GateOverrides(operator, own)
	want := store.GateOverride{ID: g.ID, RevokedBy: "fiona@fasttrack.example", RevokeReason: "identity sync is broken"}
	if len(gs) != 1 || gs[0].RevokedBy != want.RevokedBy || gs[0].RevokeReason != want.RevokeReason || !gs[0].RevokedAt.Equal(now) {
		t.Fatalf("history %+v", gs)
	}
}
