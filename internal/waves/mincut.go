package waves

import (
	"cmp"
	"container/heap"
	"slices"
)

// Bounds of the exact cuts: at most maxCutSteps minimum cuts per batch,
// and cutBudget work (the sum of mailboxes times ties of the parts cut,
// about a tenth of a second) per plan. A part beyond them is split by
// greedySplit, which is linear.
const (
	maxCutSteps = 32
	cutBudget   = 2_000_000
)

// oversize reports a batch too large for a wave with the permissions
// whose removal would split it into parts that fit: a global minimum cut
// (Stoer-Wagner) of the batch, then of each part still too large. A tie
// weighs enough that fewer ties always win, and then the weaker: calendar
// and folder delegates before SendOnBehalf, SendAs, FullAccess. A part the
// bounds leave too large is split greedily (greedySplit).
func oversize(name string, ids []int, mb float64, why string, mbs []Mailbox, ties map[pair]*Tie, o Options, budget *int64) Oversize {
	out := Oversize{Batch: name, Mailboxes: len(ids), SizeMB: mb, Why: why, Cuts: []Cut{}, Exact: true}
	fits := func(n int, size float64) bool { return overWhy(n, size, o) == "" }
	tooBig := func(part []int) bool {
		var size float64
		for _, i := range part {
			size += mbs[i].SizeMB
		}
		return len(part) > 1 && !fits(len(part), size)
	}
	removed := map[pair]bool{}
	cutTie := func(k pair) {
		removed[k] = true
		t := ties[k]
		out.Cuts = append(out.Cuts, Cut{A: t.A, B: t.B, Right: t.Right.String(), Lines: t.Lines})
	}
	parts := [][]int{slices.Clone(ids)}
	var done [][]int
	for steps := 0; len(parts) > 0; {
		part := parts[len(parts)-1]
		parts = parts[:len(parts)-1]
		if !tooBig(part) {
			done = append(done, part)
			continue
		}
		edges := edgesWithin(part, ties, removed)
		if cost := int64(len(part)) * int64(len(edges)); steps >= maxCutSteps || cost > *budget {
			split, cut := greedySplit(part, edges, ties, mbs, fits)
			for _, k := range cut {
				cutTie(k)
			}
			done = append(done, split...)
			out.Exact = false
			continue
		}
		*budget -= int64(len(part)) * int64(len(edges))
		steps++
		a, b, cut := minCut(part, edges, ties)
		if len(b) == 0 || len(a) == 0 {
			done = append(done, part)
			continue
		}
		for _, k := range cut {
			cutTie(k)
		}
		parts = append(parts, a, b)
	}
	slices.SortStableFunc(out.Cuts, func(x, y Cut) int { return cmp.Compare(rightRank(x.Right), rightRank(y.Right)) })
	for _, p := range done {
		out.Parts = append(out.Parts, len(p))
	}
	slices.SortFunc(out.Parts, func(x, y int) int { return cmp.Compare(y, x) })
	return out
}

// edgesWithin lists the ties (not removed) between mailboxes of ids, in a fixed order.
func edgesWithin(ids []int, ties map[pair]*Tie, removed map[pair]bool) []pair {
	in := make(map[int]bool, len(ids))
	for _, i := range ids {
		in[i] = true
	}
	var edges []pair
	for k := range ties {
		if !removed[k] && in[k.a] && in[k.b] {
			edges = append(edges, k)
		}
	}
	slices.SortFunc(edges, func(x, y pair) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
	return edges
}

// greedySplit splits mailboxes into parts that fit a wave by keeping the
// strongest ties first (FullAccess, then SendAs...), each only when the
// two parts it joins fit together; the ties left between parts are the cuts.
func greedySplit(ids []int, edges []pair, ties map[pair]*Tie, mbs []Mailbox, fits func(int, float64) bool) (parts [][]int, cut []pair) {
	local := make(map[int]int, len(ids))
	for j, i := range ids {
		local[i] = j
	}
	order := slices.Clone(edges)
	slices.SortStableFunc(order, func(x, y pair) int { return cmp.Compare(ties[y].Right, ties[x].Right) })
	uf := newUnionFind(len(ids))
	count := make([]int, len(ids))
	size := make([]float64, len(ids))
	for j, i := range ids {
		count[j], size[j] = 1, mbs[i].SizeMB
	}
	for _, k := range order {
		a, b := uf.find(local[k.a]), uf.find(local[k.b])
		if a == b || !fits(count[a]+count[b], size[a]+size[b]) {
			continue
		}
		uf.union(a, b)
		r := uf.find(a)
		count[r], size[r] = count[a]+count[b], size[a]+size[b]
	}
	groups := map[int][]int{}
	for j, i := range ids {
		r := uf.find(j)
		groups[r] = append(groups[r], i)
	}
	for j := range ids {
		if g, ok := groups[j]; ok {
			parts = append(parts, g)
		}
	}
	for _, k := range edges {
		if uf.find(local[k.a]) != uf.find(local[k.b]) {
			cut = append(cut, k)
		}
	}
	return parts, cut
}

func rightRank(name string) Right {
	for r := FolderDelegate; r <= FullAccess; r++ {
		if r.String() == name {
			return r
		}
	}
	return NoTie
}

// minCut splits the mailboxes ids, connected by edges, by a minimum cut:
// the two sides and the ties across.
func minCut(ids []int, edges []pair, ties map[pair]*Tie) (sideA, sideB []int, cut []pair) {
	n := len(ids)
	local := make(map[int]int, n)
	for j, i := range ids {
		local[i] = j
	}
	heavy := int64(4*len(edges) + 1) // one tie more always weighs more than any mix of rights
	adj := make([]map[int]int64, n)
	for j := range adj {
		adj[j] = map[int]int64{}
	}
	for _, k := range edges {
		a, b := local[k.a], local[k.b]
		w := heavy + int64(ties[k].Right)
		adj[a][b] += w
		adj[b][a] += w
	}
	members := make([][]int, n)
	for j := range members {
		members[j] = []int{j}
	}
	active := make([]int, n)
	for j := range active {
		active[j] = j
	}
	best := int64(-1)
	var bestSide []int
	key := make([]int64, n)
	inA := make([]bool, n)
	for len(active) > 1 {
		for _, v := range active {
			key[v], inA[v] = 0, false
		}
		h := &maxHeap{}
		for _, v := range active {
			heap.Push(h, entry{v, 0})
		}
		prev, last := -1, -1
		for h.Len() > 0 {
			e := heap.Pop(h).(entry)
			if inA[e.node] || e.key != key[e.node] {
				continue
			}
			inA[e.node] = true
			prev, last = last, e.node
			for nb, w := range adj[e.node] {
				if !inA[nb] {
					key[nb] += w
					heap.Push(h, entry{nb, key[nb]})
				}
			}
		}
		if best < 0 || key[last] < best {
			best = key[last]
			bestSide = slices.Clone(members[last])
		}
		// Merge last into prev.
		members[prev] = append(members[prev], members[last]...)
		for nb, w := range adj[last] {
			delete(adj[nb], last)
			if nb != prev {
				adj[prev][nb] += w
				adj[nb][prev] += w
			}
		}
		adj[last] = nil
		active = slices.DeleteFunc(active, func(v int) bool { return v == last })
	}
	inSide := make([]bool, n)
	for _, j := range bestSide {
		inSide[j] = true
	}
	for j, i := range ids {
		if inSide[j] {
			sideB = append(sideB, i)
		} else {
			sideA = append(sideA, i)
		}
	}
	for _, k := range edges {
		if inSide[local[k.a]] != inSide[local[k.b]] {
			cut = append(cut, k)
		}
	}
	return sideA, sideB, cut
}

type entry struct {
	node int
	key  int64
}

type maxHeap []entry

func (h maxHeap) Len() int { return len(h) }
func (h maxHeap) Less(i, j int) bool {
	return h[i].key > h[j].key || h[i].key == h[j].key && h[i].node < h[j].node
}
func (h maxHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)   { *h = append(*h, x.(entry)) }
func (h *maxHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
