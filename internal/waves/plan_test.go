package waves_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/waves"
)

func friday(t *testing.T) waves.Every {
	t.Helper()
	e, err := waves.ParseEvery("Fri 18:00", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestPlanProperties: on generated organisations of 2,000 mailboxes and
// 5,000 permissions, under several limits, every mailbox is in exactly one
// wave, no batch (connected component) is split, and a wave breaks a limit
// only when one batch alone is larger than a wave, which the plan reports
// with permissions whose removal splits it into parts that fit.
func TestPlanProperties(t *testing.T) {
	t.Parallel()
	cases := []struct {
		seed       uint64
		maxPerWave int
		maxGB      float64
	}{
		{1, 100, 0},
		{2, 50, 50},
		{3, 0, 100},
		{4, 20, 20}, // tight: many batches larger than a wave
		{5, 250, 500},
	}
	t.Run("one_giant_batch", func(t *testing.T) {
		// Permissions at random: nearly every mailbox in one batch, far
		// larger than a wave, split within the limits all the same.
		t.Parallel()
		mbs, perms := randomOrg(7, 2000, 5000)
		o := waves.Options{MaxPerWave: 100, MaxGBPerWave: 40, Start: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC), Every: friday(t)}
		plan, err := waves.Make(mbs, perms, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Oversized) != 1 || plan.Oversized[0].Exact || plan.Oversized[0].Mailboxes < 1900 {
			t.Fatalf("oversized %d batches, the first of %d mailboxes (exact %v)", len(plan.Oversized), plan.Oversized[0].Mailboxes, plan.Oversized[0].Exact)
		}
		checkPlan(t, mbs, plan, o)
	})
	for _, c := range cases {
		t.Run(fmt.Sprintf("seed%d_max%d_%gGB", c.seed, c.maxPerWave, c.maxGB), func(t *testing.T) {
			t.Parallel()
			mbs, perms, err := generateOrg(c.seed, 2000, 5000).parse()
			if err != nil {
				t.Fatal(err)
			}
			if len(mbs) != 2000 || len(perms) != 5000 {
				t.Fatalf("generated %d mailboxes and %d permissions", len(mbs), len(perms))
			}
			o := waves.Options{MaxPerWave: c.maxPerWave, MaxGBPerWave: c.maxGB, Start: time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC), Every: friday(t)}
			plan, err := waves.Make(mbs, perms, o)
			if err != nil {
				t.Fatal(err)
			}
			checkPlan(t, mbs, plan, o)
		})
	}
}

func checkPlan(t *testing.T, mbs []waves.Mailbox, plan *waves.Plan, o waves.Options) {
	t.Helper()
	waveOf := map[string]int{}
	for _, w := range plan.Waves {
		var mb float64
		for _, m := range w.Mailboxes {
			if prev, dup := waveOf[m.Address]; dup {
				t.Fatalf("%s is in %s and Wave %d", m.Address, w.Name, prev)
			}
			waveOf[m.Address] = w.Number
			mb += m.SizeMB
		}
		overN := o.MaxPerWave > 0 && len(w.Mailboxes) > o.MaxPerWave
		overMB := o.MaxGBPerWave > 0 && mb > o.MaxGBPerWave*1024+1e-6
		if (overN || overMB) != (w.OverLimit != "") {
			t.Errorf("%s: %d mailboxes, %.0f MB; over limit %q", w.Name, len(w.Mailboxes), mb, w.OverLimit)
		}
		if w.OverLimit != "" && len(w.Batches) != 1 {
			t.Errorf("%s is over its limit with batches %v: only a batch alone larger than a wave may be", w.Name, w.Batches)
		}
		if i := len(w.Batches) - 1; w.Number > 1 && !w.Cutover.After(plan.Waves[w.Number-2].Cutover) || w.Cutover.Weekday() != time.Friday || w.Cutover.Hour() != 18 {
			t.Errorf("%s cuts over %v (batch %d)", w.Name, w.Cutover, i)
		}
	}
	for _, m := range mbs {
		if _, ok := waveOf[m.Address]; !ok {
			t.Fatalf("%s is in no wave", m.Address)
		}
	}
	if len(waveOf) != len(mbs) {
		t.Fatalf("%d mailboxes in waves, %d planned", len(waveOf), len(mbs))
	}
	for _, tie := range plan.Ties {
		if waveOf[tie.A] != waveOf[tie.B] {
			t.Errorf("%s and %s share %s but move in waves %d and %d", tie.A, tie.B, tie.Right, waveOf[tie.A], waveOf[tie.B])
		}
	}
	// Each oversized batch: the cuts split it into the parts reported, each within the limits.
	batches := map[string]waves.Batch{}
	for _, b := range plan.Batches {
		batches[b.Name] = b
	}
	size := map[string]float64{}
	for _, m := range mbs {
		size[m.Address] = m.SizeMB
	}
	oversized := 0
	for _, w := range plan.Waves {
		if w.OverLimit != "" && len(w.Mailboxes) > 1 {
			oversized++
		}
	}
	if oversized != len(plan.Oversized) {
		t.Errorf("%d waves hold a batch larger than a wave, %d reported", oversized, len(plan.Oversized))
	}
	for _, ov := range plan.Oversized {
		b := batches[ov.Batch]
		cut := map[[2]string]bool{}
		for i, c := range ov.Cuts {
			cut[[2]string{c.A, c.B}] = true
			if i > 0 && rank(c.Right) < rank(ov.Cuts[i-1].Right) {
				t.Errorf("%s: cuts not weakest first: %v", ov.Batch, ov.Cuts)
			}
		}
		parts := components(b.Mailboxes, plan.Ties, cut)
		var got []int
		for _, p := range parts {
			got = append(got, len(p))
			var mb float64
			for _, a := range p {
				mb += size[a]
			}
			if len(p) > 1 && (o.MaxPerWave > 0 && len(p) > o.MaxPerWave || o.MaxGBPerWave > 0 && mb > o.MaxGBPerWave*1024+1e-6) {
				t.Errorf("%s: after the cuts a part of %d mailboxes, %.0f MB is still larger than a wave", ov.Batch, len(p), mb)
			}
		}
		slices.Sort(got)
		slices.Reverse(got)
		if !slices.Equal(got, ov.Parts) {
			t.Errorf("%s: the cuts leave parts %v, reported %v", ov.Batch, got, ov.Parts)
		}
	}
}

func rank(right string) int {
	return slices.Index([]string{"Calendar/folder delegate", "SendOnBehalf", "SendAs", "FullAccess"}, right)
}

// components of the mailboxes given, over the ties not cut.
func components(mailboxes []string, ties []waves.Tie, cut map[[2]string]bool) [][]string {
	in := map[string]bool{}
	for _, m := range mailboxes {
		in[m] = true
	}
	adj := map[string][]string{}
	for _, t := range ties {
		if in[t.A] && in[t.B] && !cut[[2]string{t.A, t.B}] && !cut[[2]string{t.B, t.A}] {
			adj[t.A] = append(adj[t.A], t.B)
			adj[t.B] = append(adj[t.B], t.A)
		}
	}
	seen := map[string]bool{}
	var out [][]string
	for _, m := range mailboxes {
		if seen[m] {
			continue
		}
		var comp []string
		stack := []string{m}
		seen[m] = true
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			comp = append(comp, x)
			for _, y := range adj[x] {
				if !seen[y] {
					seen[y] = true
					stack = append(stack, y)
				}
			}
		}
		out = append(out, comp)
	}
	return out
}

// BenchmarkPlan2000: reading and planning an organisation of 2,000
// mailboxes and 5,000 permissions (the goal: well under 2 s).
func BenchmarkPlan2000(b *testing.B) {
	o := generateOrg(4, 2000, 5000)
	e, _ := waves.ParseEvery("Fri 18:00", time.UTC)
	for b.Loop() {
		mbs, perms, err := o.parse()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := waves.Make(mbs, perms, waves.Options{MaxPerWave: 20, MaxGBPerWave: 20, Start: time.Now(), Every: e}); err != nil {
			b.Fatal(err)
		}
	}
}

// randomOrg ties mailboxes at random: nearly all of them end up in one batch.
func randomOrg(seed uint64, n, perms int) ([]waves.Mailbox, []waves.Permission) {
	r := rand.New(rand.NewPCG(seed, seed))
	var mbs []waves.Mailbox
	for i := range n {
		mbs = append(mbs, waves.Mailbox{Address: fmt.Sprintf("u%d@contoso.com", i), SizeMB: r.ExpFloat64() * 500})
	}
	var ps []waves.Permission
	for i := range perms {
		ps = append(ps, waves.Permission{Line: i + 2, Mailbox: mbs[r.IntN(n)].Address, User: mbs[r.IntN(n)].Address, Right: waves.Right(1 + r.IntN(4))})
	}
	return mbs, ps
}

// BenchmarkPlanOneGiantBatch: 2,000 mailboxes tied at random by 5,000
// permissions (one batch of nearly all), 100 mailboxes and 40 GB per wave.
func BenchmarkPlanOneGiantBatch(b *testing.B) {
	mbs, perms := randomOrg(7, 2000, 5000)
	e, _ := waves.ParseEvery("Fri 18:00", time.UTC)
	for b.Loop() {
		if _, err := waves.Make(mbs, perms, waves.Options{MaxPerWave: 100, MaxGBPerWave: 40, Start: time.Now(), Every: e}); err != nil {
			b.Fatal(err)
		}
	}
}
