package playbook

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a playbook.
type Problem struct {
	File string // the name given to Load
	Line int    // 1-based; 0 when not known (a playbook built in Go)
	Col  int    // 1-based; 0 when not known
	Msg  string // what is wrong and what to change
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in a playbook, in file order.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// position is where something is in the file.
type position struct{ line, col int }

// positions records where an item and its fields are: "" is the item itself,
// "name" its name field, "depends_on[2]" one list element.
type positions map[string]position

// at returns the position of a field, or of the item when the field is absent.
func (ps positions) at(field string) position {
	if p, ok := ps[field]; ok {
		return p
	}
	return ps[""]
}

func elem(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

// problems collects problems for one file.
type problems struct {
	file string
	list Problems
}

func (ps *problems) add(at position, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: ps.file, Line: at.line, Col: at.col, Msg: fmt.Sprintf(format, args...)})
}
