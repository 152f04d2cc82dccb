package engagements_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/store"
)

// TestProgressAfterAGate: the engagement's steps are its tasks and its
// phases' exit gates. Passing Initiate's gate (a phase without tasks in
// the playbook) moves the progress off 0%; a passed gate settles the tasks
// its phase left open, so the phase reads 100%; a little progress never
// reads 0% and an unfinished engagement never 100%.
func TestProgressAfterAGate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := operator
	e, tasks := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange", "teams"}, Workloads: []string{"imap"}})
	progress := func() *engagements.Progress {
		t.Helper()
		p, err := b.svc.Progress(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	phase := func(p *engagements.Progress, name string) engagements.Tally {
		t.Helper()
		for _, x := range p.ByPhase {
			if x.Key == name {
				return x
			}
		}
		t.Fatalf("no phase %s in %+v", name, p.ByPhase)
		return engagements.Tally{}
	}
	exit := func(name string) {
		t.Helper()
		if err := b.st.ExitPhase(ctx, store.PhaseExit{EngagementID: e.ID, Phase: name, Who: "Fiona", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	p := progress()
	if p.Overall.Percent != 0 || p.Gates.Done != 0 || p.Gates.Tasks != 5 {
		t.Fatalf("a new engagement: %+v, gates %+v", p.Overall, p.Gates)
	}
	steps := p.Overall.Tasks + p.Gates.Tasks

	exit("Initiate")
	p = progress()
	if want := 100 / steps; p.Overall.Percent != max(want, 1) || p.Gates.Done != 1 {
		t.Errorf("after the Initiate gate: %+v, gates %+v; want %d%%", p.Overall, p.Gates, max(want, 1))
	}
	if ph := phase(p, "Initiate"); !ph.Exited || ph.Percent != 100 {
		t.Errorf("Initiate after its gate: %+v", ph)
	}

	// One Remediate task done, then its gate passed with the others open.
	var rem []store.EngagementTask
	for _, tk := range tasks {
		if tk.Phase == "Remediate" && !tk.Retired {
			rem = append(rem, tk)
		}
	}
	if len(rem) < 2 {
		t.Fatalf("the playbook changed: %d Remediate tasks", len(rem))
	}
	rem[0].Status = engagements.Complete
	if err := b.st.UpdateEngagementTask(ctx, rem[0], nil); err != nil {
		t.Fatal(err)
	}
	if ph := phase(progress(), "Remediate"); ph.Done != 1 || ph.Percent != 100/len(rem) || ph.Exited {
		t.Errorf("Remediate with one task done: %+v", ph)
	}
	exit("Assess")
	exit("Remediate")
	p = progress()
	ph := phase(p, "Remediate")
	if ph.Percent != 100 || ph.Done != 1 || ph.Closed != len(rem)-1 {
		t.Errorf("Remediate after its gate: %+v", ph)
	}
	settled := 3 + 1 + len(rem) - 1 + phase(p, "Assess").Tasks
	if want := 100 * settled / steps; p.Overall.Percent != want || p.Overall.Percent == 100 {
		t.Errorf("overall: %+v, want %d%% (%d of %d steps)", p.Overall, want, settled, steps)
	}
	if en := phase(p, "Enable"); en.Closed != 0 || en.Exited || en.Percent != 0 {
		t.Errorf("Enable, not exited: %+v", en)
	}
}

// TestProgressByServiceInScope: "By service" lists only the services of
// the engagement's scope (and tasks for every service), though its tasks
// may name others too.
func TestProgressByServiceInScope(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, tasks := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	others := false
	for _, tk := range tasks {
		for _, sv := range tk.Services {
			others = others || (sv != "exchange" && sv != "core")
		}
	}
	if !others {
		t.Fatal("no task of this scope names another service: the test shows nothing")
	}
	p, err := b.svc.Progress(operator, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, x := range p.ByService {
		keys = append(keys, x.Key)
		if x.Key != "(any)" && x.Key != "exchange" && x.Key != "core" {
			t.Errorf("by service lists %s, not in scope", x.Key)
		}
	}
	if !slices.Contains(keys, "exchange") {
		t.Errorf("by service: %v, no exchange", keys)
	}
}
