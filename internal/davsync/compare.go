package davsync

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/ferryhq/ferry/internal/dav"
)

// Difference is what a comparison found for one workload.
type Difference struct {
	Source    int `json:"source"`    // objects at the source
	Missing   int `json:"missing"`   // source UIDs with no copy at the destination
	Different int `json:"different"` // copies whose parsed data differs
	Doubled   int `json:"doubled"`   // UIDs held more than once by one destination collection
}

// Comparison is Compare's answer; Problems names each object found
// missing, different or doubled.
type Comparison struct {
	Workloads map[Workload]*Difference `json:"workloads"`
	Problems  []string                 `json:"problems,omitempty"`
}

// Complete reports whether every source object has one exact copy.
func (c *Comparison) Complete() bool {
	for _, d := range c.Workloads {
		if d.Missing > 0 || d.Different > 0 || d.Doubled > 0 {
			return false
		}
	}
	return true
}

// Compare reads both accounts whole and checks, for the wanted workloads,
// that every source object has exactly one copy with the same parsed data
// in the destination collection Copy would use (see Equal). It writes
// nothing; a destination collection that does not exist counts all its
// objects missing.
//
// A destination that keeps events and tasks apart (Microsoft 365 through
// Graph) holds what it can of an object, not the object: there a copy is
// the same when its title and date are (see docs/workloads.md).
func Compare(ctx context.Context, src Source, dst Destination, want map[Workload]bool) (*Comparison, error) {
	cmp := &Comparison{Workloads: map[Workload]*Difference{}}
	for w, on := range want {
		if on {
			cmp.Workloads[w] = &Difference{}
		}
	}
	srcColls, err := src.Collections(ctx)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	dstColls, err := dst.Collections(ctx)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	split := dst.SplitsComponents()
	same := Equal
	if split {
		same = func(a, b dav.Object) bool {
			x, y := Describe(a), Describe(b)
			return textValue(x.Title) == textValue(y.Title) && x.Date == y.Date
		}
	}
	for _, coll := range srcColls {
		if !wanted(coll, want) {
			continue
		}
		objs, err := src.All(ctx, coll)
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		copies := map[string][]dav.Object{}
		var targets []dav.Collection
		switch {
		case split && coll.Kind == dav.Calendar:
			for _, comp := range []string{"VEVENT", "VTODO"} {
				var cands []dav.Collection
				for _, d := range dstColls {
					if d.Kind == dav.Calendar && d.Holds(comp) {
						cands = append(cands, d)
					}
				}
				if t, ok := existingDestination(coll, cands); ok && coll.Holds(comp) {
					targets = append(targets, t)
				}
			}
		default:
			if t, ok := existingDestination(coll, dstColls); ok {
				targets = append(targets, t)
			}
		}
		for _, target := range targets {
			dobjs, err := readAll(ctx, dst, target)
			if err != nil {
				return nil, fmt.Errorf("destination: %w", err)
			}
			for _, o := range dobjs {
				uid := Describe(o).UID
				copies[uid] = append(copies[uid], o)
			}
		}
		for _, o := range objs {
			info := Describe(o)
			d := cmp.Workloads[info.Workload]
			if d == nil {
				continue
			}
			d.Source++
			got := copies[info.UID]
			what := fmt.Sprintf("%s %q (UID %s) in %q", info.Workload, info.Title, info.UID, coll.Name)
			switch {
			case len(got) == 0:
				d.Missing++
				cmp.Problems = append(cmp.Problems, "missing: "+what+"; run the migration again")
			case len(got) > 1:
				d.Doubled++
				cmp.Problems = append(cmp.Problems, fmt.Sprintf("doubled (%d copies): %s", len(got), what))
			case !same(got[0], o):
				d.Different++
				cmp.Problems = append(cmp.Problems, "different: "+what+"; run the migration again (a source change not copied yet, or an edit at the destination)")
			}
		}
	}
	return cmp, nil
}

// readAll reads a destination collection whole, batch objects at a time.
func readAll(ctx context.Context, dst Destination, coll dav.Collection) ([]dav.Object, error) {
	refs, err := dst.List(ctx, coll)
	if err != nil {
		return nil, err
	}
	var out []dav.Object
	for len(refs) > 0 {
		n := min(batch, len(refs))
		paths := make([]string, n)
		for i, ref := range refs[:n] {
			paths[i] = ref.Path
		}
		refs = refs[n:]
		objs, err := dst.Get(ctx, coll, paths)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// existingDestination is destination without creating: the collection
// Copy writes a source collection to, when it exists.
func existingDestination(coll dav.Collection, existing []dav.Collection) (dav.Collection, bool) {
	seg := path.Base(strings.TrimSuffix(coll.Path, "/"))
	for _, pass := range []func(dav.Collection) bool{
		func(d dav.Collection) bool { return coll.Name != "" && d.Name == coll.Name },
		func(d dav.Collection) bool { return path.Base(strings.TrimSuffix(d.Path, "/")) == seg },
	} {
		for _, d := range existing {
			if d.Kind == coll.Kind && pass(d) {
				return d, true
			}
		}
	}
	return dav.Collection{}, false
}

// textValue undoes iCalendar TEXT escaping (RFC 5545 3.3.11), which
// servers apply or leave out on unescaped semicolons and commas.
var textValue = strings.NewReplacer(`\\`, `\`, `\;`, ";", `\,`, ",", `\n`, "\n", `\N`, "\n").Replace
