// Package waves plans migration waves from mailbox permissions (playbook
// tasks 3203 "mailbox grouping" and 3208 "migration schedule"): mailboxes
// that share access (owner and delegates) move in the same wave, so that
// nobody loses a shared mailbox or calendar between two cutovers. It reads
// the permissions as Exchange exports them and a mailbox list with sizes,
// groups the mailboxes into connected components of the permission graph
// (batches), packs the batches into waves within the limits, reports a
// batch larger than a wave with the fewest, weakest permissions whose
// removal would split it, and writes FastTrack's Batches.csv and
// Schedule.csv. It knows nothing of projects or the store: the projects
// service feeds it a project's items and measured rates.
package waves

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// NoDependencies names the batch of mailboxes no permission ties to another.
const NoDependencies = "BATCH-NoDependencies"

// Options bound and time the waves.
type Options struct {
	MaxPerWave   int     // most mailboxes in a wave; 0: no limit
	MaxGBPerWave float64 // most GB (1024 MB) in a wave; 0: no limit
	Start        time.Time
	Every        Every
	// Rate, when measured, gives each wave its estimate; nil: "no measurement yet".
	Rate *Rate
}

// Tie is what binds two mailboxes: every permission row between them,
// either way, and the strongest right among them.
type Tie struct {
	A, B  string
	Right Right
	Lines []int
}

// Ignored counts the rows that tie nothing, by why.
type Ignored struct {
	Self       int `json:"self"`        // NT AUTHORITY\SELF, or a mailbox's own address
	NotMailbox int `json:"not_mailbox"` // SIDs, groups, system accounts, people without a mailbox in the plan
	// NotMailboxes names the first few of those principals (other than
	// SIDs and NT AUTHORITY), so that a display name where an address was
	// meant shows.
	NotMailboxes []string `json:"not_mailboxes,omitempty"`
	NoTie        int      `json:"no_tie"`        // rights that tie nothing (ReadPermission, AvailabilityOnly...)
	UnknownOwner int      `json:"unknown_owner"` // on a mailbox not in the mailbox list
	// UnknownOwners names the first few of those mailboxes.
	UnknownOwners []string `json:"unknown_owners,omitempty"`
}

// Batch is a connected component of the permission graph (BATCH-n), or
// the mailboxes without a dependency (BATCH-NoDependencies).
type Batch struct {
	Name      string   `json:"name"`
	Mailboxes []string `json:"mailboxes"`
	SizeMB    float64  `json:"size_mb"`
	Ties      int      `json:"ties"`
}

// Oversize is a batch larger than a wave: the plan keeps it whole in a
// wave of its own and says which permissions would split it.
type Oversize struct {
	Batch     string  `json:"batch"`
	Mailboxes int     `json:"mailboxes"`
	SizeMB    float64 `json:"size_mb"`
	Why       string  `json:"why"`
	// Cuts are the permissions whose removal would split the batch into
	// parts that fit a wave, weakest first.
	Cuts []Cut `json:"cuts"`
	// Exact: the cuts are minimum cuts (the fewest, then the weakest,
	// permissions); false when the batch was too large for them and part
	// of it was split by keeping the strongest permissions that fit (a
	// split that holds, though fewer cuts may do).
	Exact bool `json:"exact"`
	// Parts are the sizes (mailboxes) of the parts left after the cuts.
	Parts []int `json:"parts"`
}

// Cut is one tie to remove.
type Cut struct {
	A     string `json:"a"`
	B     string `json:"b"`
	Right string `json:"right"`
	Lines []int  `json:"lines"`
}

// Wave is one cutover: its batches, its mailboxes and when.
type Wave struct {
	Number    int           `json:"number"`
	Name      string        `json:"name"` // "Wave 1"
	Cutover   time.Time     `json:"cutover"`
	Mailboxes []WaveMailbox `json:"mailboxes"`
	Batches   []string      `json:"batches"`
	SizeMB    float64       `json:"size_mb"`
	Items     int64         `json:"items,omitempty"`
	// Estimate is how long the wave's Full pass should take at the
	// measured rate (0 with Rate nil); EstimateNote says how it was
	// reckoned, or "no measurement yet".
	Estimate     time.Duration `json:"estimate_ns,omitempty"`
	EstimateNote string        `json:"estimate_note"`
	// OverLimit says which limit the wave breaks ("" when within them).
	OverLimit string `json:"over_limit,omitempty"`
}

// WaveMailbox is a mailbox in a wave.
type WaveMailbox struct {
	Mailbox
	Batch string `json:"batch"`
}

// Plan is the waves, the batches, and what the plan could not satisfy.
type Plan struct {
	Waves     []Wave     `json:"waves"`
	Batches   []Batch    `json:"batches"`
	Oversized []Oversize `json:"oversized"`
	Ties      []Tie      `json:"-"`
	Ignored   Ignored    `json:"ignored"`
	Rate      *Rate      `json:"rate,omitempty"`
	Options   Options    `json:"-"`
}

// resolver finds the mailbox a principal or an identity names: by
// address, by DOMAIN\alias or alias (the address's local part, when only
// one mailbox has it).
type resolver struct {
	byAddr  map[string]int
	byAlias map[string]int // -1: several mailboxes share the alias
}

func newResolver(mbs []Mailbox) *resolver {
	r := &resolver{byAddr: make(map[string]int, len(mbs)), byAlias: make(map[string]int, len(mbs))}
	for i, m := range mbs {
		a := strings.ToLower(m.Address)
		r.byAddr[a] = i
		local, _, _ := strings.Cut(a, "@")
		if _, dup := r.byAlias[local]; dup {
			r.byAlias[local] = -1
		} else {
			r.byAlias[local] = i
		}
	}
	return r
}

func (r *resolver) find(name string) (int, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	if i, ok := r.byAddr[n]; ok {
		return i, true
	}
	if _, after, found := strings.Cut(n, "\\"); found {
		n = after
		if i, ok := r.byAddr[n]; ok {
			return i, true
		}
	}
	if !strings.Contains(n, "@") {
		if i, ok := r.byAlias[n]; ok && i >= 0 {
			return i, true
		}
	}
	return 0, false
}

// isSelf: the row grants a mailbox to its own owner.
func isSelf(user string) bool {
	return strings.EqualFold(strings.TrimSpace(user), `NT AUTHORITY\SELF`)
}

// MailboxesOf lists the mailboxes a permissions export is about (its
// Mailbox column), sizes unknown, for a plan from the export alone.
func MailboxesOf(perms []Permission) []Mailbox {
	seen := map[string]bool{}
	var out []Mailbox
	for _, p := range perms {
		k := strings.ToLower(p.Mailbox)
		if seen[k] || p.Mailbox == "" {
			continue
		}
		seen[k] = true
		out = append(out, Mailbox{Address: p.Mailbox, SizeUnknown: true})
	}
	return out
}

// Make plans the waves. Every mailbox lands in exactly one wave, a batch
// is never split, and a wave breaks a limit only when one batch (or one
// mailbox) alone is larger than a wave: that wave says so and the plan
// lists the batch in Oversized.
func Make(mailboxes []Mailbox, perms []Permission, o Options) (*Plan, error) {
	if o.MaxPerWave < 0 || o.MaxGBPerWave < 0 {
		return nil, fmt.Errorf("the limits per wave cannot be negative")
	}
	if len(mailboxes) == 0 {
		return nil, fmt.Errorf("no mailboxes to plan")
	}
	if len(mailboxes) > MaxMailboxes {
		return nil, fmt.Errorf("%d mailboxes; Ferry plans at most %d at once", len(mailboxes), MaxMailboxes)
	}
	plan := &Plan{Rate: o.Rate, Options: o}
	res := newResolver(mailboxes)
	if len(res.byAddr) != len(mailboxes) {
		return nil, fmt.Errorf("a mailbox is listed twice; list each mailbox once")
	}
	// Ties, one per pair of mailboxes.
	ties := map[pair]*Tie{}
	var order []pair
	for _, p := range perms {
		owner, ok := res.find(p.Mailbox)
		if !ok {
			plan.Ignored.UnknownOwner++
			if len(plan.Ignored.UnknownOwners) < 10 && !slices.Contains(plan.Ignored.UnknownOwners, p.Mailbox) {
				plan.Ignored.UnknownOwners = append(plan.Ignored.UnknownOwners, p.Mailbox)
			}
			continue
		}
		if isSelf(p.User) {
			plan.Ignored.Self++
			continue
		}
		holder, ok := res.find(p.User)
		switch {
		case !ok:
			plan.Ignored.NotMailbox++
			u := strings.TrimSpace(p.User)
			if len(plan.Ignored.NotMailboxes) < 10 && !strings.HasPrefix(strings.ToUpper(u), "S-1-") && !strings.HasPrefix(strings.ToUpper(u), `NT AUTHORITY\`) &&
				!slices.Contains(plan.Ignored.NotMailboxes, u) {
				plan.Ignored.NotMailboxes = append(plan.Ignored.NotMailboxes, u)
			}
			continue
		case holder == owner:
			plan.Ignored.Self++
			continue
		case p.Right == NoTie:
			plan.Ignored.NoTie++
			continue
		}
		k := pair{min(owner, holder), max(owner, holder)}
		t := ties[k]
		if t == nil {
			t = &Tie{A: mailboxes[k.a].Address, B: mailboxes[k.b].Address}
			ties[k] = t
			order = append(order, k)
		}
		t.Right = max(t.Right, p.Right)
		t.Lines = append(t.Lines, p.Line)
	}
	// Connected components.
	uf := newUnionFind(len(mailboxes))
	for _, k := range order {
		uf.union(k.a, k.b)
		plan.Ties = append(plan.Ties, *ties[k])
	}
	comps := map[int][]int{}
	for i := range mailboxes {
		r := uf.find(i)
		comps[r] = append(comps[r], i)
	}
	tieCount := map[int]int{}
	for _, k := range order {
		tieCount[uf.find(k.a)]++
	}
	var groups [][]int
	var singles []int
	for _, c := range comps {
		if len(c) == 1 {
			singles = append(singles, c[0])
		} else {
			groups = append(groups, c)
		}
	}
	sizeOf := func(ids []int) (mb float64) {
		for _, i := range ids {
			mb += mailboxes[i].SizeMB
		}
		return mb
	}
	slices.SortFunc(groups, func(a, b []int) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), cmp.Compare(sizeOf(b), sizeOf(a)), cmp.Compare(slices.Min(a), slices.Min(b)))
	})
	batchOf := make([]string, len(mailboxes))
	for n, g := range groups {
		slices.Sort(g)
		b := Batch{Name: fmt.Sprintf("BATCH-%d", n+1), SizeMB: sizeOf(g), Ties: tieCount[uf.find(g[0])]}
		for _, i := range g {
			b.Mailboxes = append(b.Mailboxes, mailboxes[i].Address)
			batchOf[i] = b.Name
		}
		plan.Batches = append(plan.Batches, b)
	}
	if len(singles) > 0 {
		slices.Sort(singles)
		b := Batch{Name: NoDependencies, SizeMB: sizeOf(singles)}
		for _, i := range singles {
			b.Mailboxes = append(b.Mailboxes, mailboxes[i].Address)
			batchOf[i] = NoDependencies
		}
		plan.Batches = append(plan.Batches, b)
	}

	// Pack: batches first (largest first), each into the first wave it
	// fits, or a wave of its own; then the mailboxes without a
	// dependency, largest first, the same way.
	maxMB := o.MaxGBPerWave * 1024
	type bin struct {
		ids  []int
		mb   float64
		over string
	}
	var bins []*bin
	budget := int64(cutBudget)
	fits := func(b *bin, n int, mb float64) bool {
		return b.over == "" && (o.MaxPerWave == 0 || len(b.ids)+n <= o.MaxPerWave) && (maxMB == 0 || b.mb+mb <= maxMB+1e-9)
	}
	place := func(ids []int, name string) {
		mb := sizeOf(ids)
		for _, b := range bins {
			if fits(b, len(ids), mb) {
				b.ids, b.mb = append(b.ids, ids...), b.mb+mb
				return
			}
		}
		b := &bin{ids: slices.Clone(ids), mb: mb}
		if !fits(&bin{}, len(ids), mb) {
			b.over = overWhy(len(ids), mb, o)
			if len(ids) > 1 {
				plan.Oversized = append(plan.Oversized, oversize(name, ids, mb, b.over, mailboxes, ties, o, &budget))
			}
		}
		bins = append(bins, b)
	}
	packOrder := slices.Clone(groups)
	slices.SortStableFunc(packOrder, func(a, b []int) int { return cmp.Compare(sizeOf(b), sizeOf(a)) })
	for _, g := range packOrder {
		place(g, batchOf[g[0]])
	}
	slices.SortStableFunc(singles, func(a, b int) int { return cmp.Compare(mailboxes[b].SizeMB, mailboxes[a].SizeMB) })
	for _, i := range singles {
		place([]int{i}, NoDependencies)
	}

	cutovers := o.Every.Times(o.Start, len(bins))
	for n, b := range bins {
		w := Wave{Number: n + 1, Name: fmt.Sprintf("Wave %d", n+1), SizeMB: b.mb, OverLimit: b.over}
		if n < len(cutovers) {
			w.Cutover = cutovers[n]
		}
		for _, i := range b.ids {
			w.Mailboxes = append(w.Mailboxes, WaveMailbox{Mailbox: mailboxes[i], Batch: batchOf[i]})
			w.Items += mailboxes[i].Items
			if !slices.Contains(w.Batches, batchOf[i]) {
				w.Batches = append(w.Batches, batchOf[i])
			}
		}
		w.Estimate, w.EstimateNote = o.Rate.estimate(w)
		plan.Waves = append(plan.Waves, w)
	}
	return plan, nil
}

func overWhy(n int, mb float64, o Options) string {
	var why []string
	if o.MaxPerWave > 0 && n > o.MaxPerWave {
		why = append(why, fmt.Sprintf("%d mailboxes, over the %d per wave", n, o.MaxPerWave))
	}
	if o.MaxGBPerWave > 0 && mb > o.MaxGBPerWave*1024+1e-9 {
		why = append(why, fmt.Sprintf("%.1f GB, over the %g GB per wave", mb/1024, o.MaxGBPerWave))
	}
	return strings.Join(why, " and ")
}

// pair is two mailboxes by index, a < b.
type pair struct{ a, b int }

type unionFind struct{ parent, rank []int }

func newUnionFind(n int) *unionFind {
	u := &unionFind{parent: make([]int, n), rank: make([]int, n)}
	for i := range u.parent {
		u.parent[i] = i
	}
	return u
}

func (u *unionFind) find(i int) int {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

func (u *unionFind) union(a, b int) {
	a, b = u.find(a), u.find(b)
	if a == b {
		return
	}
	if u.rank[a] < u.rank[b] {
		a, b = b, a
	}
	u.parent[b] = a
	if u.rank[a] == u.rank[b] {
		u.rank[a]++
	}
}
