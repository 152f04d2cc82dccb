package waves

import (
	"cmp"
	"container/heap"
	"slices"
)

// maxCutSteps bounds the cuts looked for in one oversized batch: a batch
// that needs more is reported with the cuts found so far.
const maxCutSteps = 32

// oversize reports a batch too large for a wave with the permissions
// whose removal would split it into parts that fit: a global minimum cut
// (Stoer-Wagner) of the batch, then of each part still too large. A tie
// weighs enough that fewer ties always win, and then the weaker: calendar
// and folder delegates before SendOnBehalf, SendAs, FullAccess.
func oversize(name string, ids []int, mb float64, why string, mbs []Mailbox, ties map[pair]*Tie, o Options) Oversize {
	out := Oversize{Batch: name, Mailboxes: len(ids), SizeMB: mb, Why: why, Cuts: []Cut{}}
	tooBig := func(part []int) bool {
		var size float64
		for _, i := range part {
			size += mbs[i].SizeMB
		}
		return len(part) > 1 && overWhy(len(part), size, o) != ""
	}
	removed := map[pair]bool{}
	parts := [][]int{slices.Clone(ids)}
	var done [][]int
	for steps := 0; len(parts) > 0; {
		part := parts[len(parts)-1]
		parts = parts[:len(parts)-1]
		if !tooBig(part) || steps >= maxCutSteps {
			done = append(done, part)
			continue
		}
		steps++
		a, b, cut := minCut(part, ties, removed)
		if len(b) == 0 {
			done = append(done, part)
			continue
		}
		for _, k := range cut {
			removed[k] = true
			t := ties[k]
			out.Cuts = append(out.Cuts, Cut{A: t.A, B: t.B, Right: t.Right.String(), Lines: t.Lines})
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

func rightRank(name string) Right {
	for r := FolderDelegate; r <= FullAccess; r++ {
		if r.String() == name {
			return r
		}
	}
	return NoTie
}

// minCut splits the mailboxes ids (connected by the ties not removed) by
// a minimum cut: the two sides and the ties across.
func minCut(ids []int, ties map[pair]*Tie, removed map[pair]bool) (sideA, sideB []int, cut []pair) {
	n := len(ids)
	local := make(map[int]int, n)
	for j, i := range ids {
		local[i] = j
	}
	var edges []pair
	for k := range ties {
		if removed[k] {
			continue
		}
		if _, ok := local[k.a]; !ok {
			continue
		}
		if _, ok := local[k.b]; ok {
			edges = append(edges, k)
		}
	}
	slices.SortFunc(edges, func(x, y pair) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
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
