package waves

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

// The pictures are SVG written here, on the server: the portal shows them
// inline, with no JavaScript. Bounds keep a large organisation's picture
// readable and small.
const (
	svgMaxBatches   = 48  // the largest batches are drawn
	svgMaxMailboxes = 600 // at most this many mailboxes in the graph
)

// rightStyle is how a tie is drawn: the stronger, the darker and thicker.
func rightStyle(r Right) (color string, width float64, dash string) {
	switch r {
	case FullAccess:
		return "#b3261e", 2.2, ""
	case SendAs:
		return "#d9730d", 1.8, ""
	case SendOnBehalf:
		return "#2f6fb3", 1.5, ""
	}
	return "#7a7a7a", 1.2, "4 3"
}

// GraphSVG draws the permission graph: each batch a ring of its
// mailboxes with its ties, the largest batches first, the ties a plan
// suggests removing (an oversized batch) drawn dashed in black. A
// mailbox's address is its tooltip.
func (p *Plan) GraphSVG() string {
	var batches []Batch
	for _, b := range p.Batches {
		if b.Name != NoDependencies {
			batches = append(batches, b)
		}
	}
	drawn, total := 0, 0
	var shown []Batch
	for _, b := range batches {
		total += len(b.Mailboxes)
		if len(shown) < svgMaxBatches && drawn+len(b.Mailboxes) <= svgMaxMailboxes {
			shown = append(shown, b)
			drawn += len(b.Mailboxes)
		}
	}
	cut := map[[2]string]bool{}
	for _, o := range p.Oversized {
		for _, c := range o.Cuts {
			cut[[2]string{c.A, c.B}] = true
		}
	}
	// Cells of a grid; a batch's cell grows with its size.
	const cols, cell = 6, 150.0
	radius := func(n int) float64 { return math.Min(cell/2-26, math.Max(24, 5*float64(n))) }
	big := func(b Batch) bool { return len(b.Mailboxes) > 20 }
	type place struct{ x, y, r float64 }
	places := make([]place, len(shown))
	x, y, rowH := 0.0, 0.0, 0.0
	width := cols * cell
	for i, b := range shown {
		w := cell
		if big(b) {
			w = 2 * cell
		}
		if x+w > width {
			x, y, rowH = 0, y+rowH, 0
		}
		r := radius(len(b.Mailboxes))
		if big(b) {
			r = cell - 24
		}
		places[i] = place{x + w/2, y + w/2, r}
		x += w
		rowH = math.Max(rowH, w)
	}
	height := y + rowH + 40
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-labelledby="graph-title">`, width, height)
	fmt.Fprintf(&s, `<title id="graph-title">Permission graph: %d batches of %d mailboxes tied by permissions (%d drawn)</title>`, len(batches), total, drawn)
	pos := map[string][2]float64{}
	for i, b := range shown {
		pl := places[i]
		for j, m := range b.Mailboxes {
			a := 2 * math.Pi * float64(j) / float64(len(b.Mailboxes))
			pos[m] = [2]float64{pl.x + pl.r*math.Cos(a), pl.y + pl.r*math.Sin(a)}
		}
	}
	ties := slices.Clone(p.Ties)
	slices.SortStableFunc(ties, func(a, b Tie) int { return int(a.Right - b.Right) })
	for _, t := range ties {
		a, okA := pos[t.A]
		b, okB := pos[t.B]
		if !okA || !okB {
			continue
		}
		color, w, dash := rightStyle(t.Right)
		if cut[[2]string{t.A, t.B}] {
			color, dash = "#000", "2 2"
		}
		fmt.Fprintf(&s, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"`, a[0], a[1], b[0], b[1], color, w)
		if dash != "" {
			fmt.Fprintf(&s, ` stroke-dasharray="%s"`, dash)
		}
		fmt.Fprintf(&s, `><title>%s: %s and %s</title></line>`, t.Right, html.EscapeString(t.A), html.EscapeString(t.B))
	}
	for i, b := range shown {
		pl := places[i]
		for _, m := range b.Mailboxes {
			c := pos[m]
			fmt.Fprintf(&s, `<circle cx="%.1f" cy="%.1f" r="5" fill="#fff" stroke="#333"><title>%s</title></circle>`, c[0], c[1], html.EscapeString(m))
		}
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" font-family="sans-serif">%s (%d)</text>`,
			pl.x, pl.y+pl.r+16, html.EscapeString(b.Name), len(b.Mailboxes))
	}
	// Legend.
	lx, ly := 10.0, height-16
	for _, r := range []Right{FullAccess, SendAs, SendOnBehalf, FolderDelegate} {
		color, w, dash := rightStyle(r)
		fmt.Fprintf(&s, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="%.1f" stroke-dasharray="%s"/>`, lx, ly, lx+24, ly, color, w, dash)
		fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" font-size="11" font-family="sans-serif">%s</text>`, lx+28, ly+4, r)
		lx += 60 + 6*float64(len(r.String()))
	}
	fmt.Fprintf(&s, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#000" stroke-dasharray="2 2"/><text x="%.0f" y="%.0f" font-size="11" font-family="sans-serif">remove to split</text>`, lx, ly, lx+24, ly, lx+28, ly+4)
	s.WriteString(`</svg>`)
	return s.String()
}

// TimelineSVG draws the waves on a time line: one mark per cutover, a bar
// as long as the wave's estimate, its mailboxes and size.
func (p *Plan) TimelineSVG() string {
	const rowH, left, width = 26.0, 90.0, 900.0
	height := rowH*float64(len(p.Waves)) + 40
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-labelledby="timeline-title">`, width, height)
	fmt.Fprintf(&s, `<title id="timeline-title">Timeline of %d waves</title>`, len(p.Waves))
	if len(p.Waves) == 0 || p.Waves[0].Cutover.IsZero() {
		s.WriteString(`</svg>`)
		return s.String()
	}
	first, last := p.Waves[0].Cutover, p.Waves[len(p.Waves)-1].Cutover.Add(p.Waves[len(p.Waves)-1].Estimate)
	span := math.Max(last.Sub(first).Hours(), 24)
	scale := (width - left - 260) / span
	for i, w := range p.Waves {
		y := 20 + rowH*float64(i)
		x := left + w.Cutover.Sub(first).Hours()*scale
		color := "#2f6fb3"
		if w.OverLimit != "" {
			color = "#b3261e"
		}
		bar := math.Max(w.Estimate.Hours()*scale, 3)
		fmt.Fprintf(&s, `<text x="4" y="%.0f" font-size="12" font-family="sans-serif">%s</text>`, y+4, html.EscapeString(w.Name))
		fmt.Fprintf(&s, `<rect x="%.1f" y="%.0f" width="%.1f" height="12" fill="%s"><title>%s</title></rect>`, x, y-6, bar, color, html.EscapeString(w.EstimateNote))
		label := fmt.Sprintf("%s · %d mailboxes · %.1f GB", w.Cutover.Format("Mon 02 Jan 15:04 MST"), len(w.Mailboxes), w.SizeMB/1024)
		if w.OverLimit != "" {
			label += " · over limit"
		}
		fmt.Fprintf(&s, `<text x="%.1f" y="%.0f" font-size="11" font-family="sans-serif">%s</text>`, x+bar+6, y+4, html.EscapeString(label))
	}
	s.WriteString(`</svg>`)
	return s.String()
}
