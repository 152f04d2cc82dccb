package waves

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/ferryhq/ferry/internal/mailboxcsv"
)

// Bounds of the input files: a file of any size costs at most this much
// memory and work, and its answer stays short. The problems are
// mailboxcsv's (line, column, what to do), the first MaxErrors of them,
// the rest counted.
const (
	// MaxPermissions is the most rows a permissions export may hold
	// (an organisation of 50,000 mailboxes with ten rows each).
	MaxPermissions = 500000
	// MaxMailboxes is the most mailboxes a plan may hold.
	MaxMailboxes = mailboxcsv.MaxRows
	// MaxErrors is how many problems are kept; the others are counted.
	MaxErrors = mailboxcsv.MaxErrors
	// MaxLineBytes is the longest line read.
	MaxLineBytes = mailboxcsv.MaxLineBytes
	// MaxFileBytes is the largest file read.
	MaxFileBytes = mailboxcsv.MaxFileBytes
)

// problems collects the first MaxErrors problems of one file, counting the rest.
type problems struct {
	file         string
	errs         mailboxcsv.Errors
	omitted      int
	firstOmitted int
}

func (p *problems) add(line, col int, field, format string, args ...any) {
	if len(p.errs) >= MaxErrors {
		if p.omitted == 0 {
			p.firstOmitted = line
		}
		p.omitted++
		return
	}
	p.errs = append(p.errs, &mailboxcsv.Error{File: p.file, Line: line, Column: col, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	if p.omitted > 0 {
		p.errs = append(p.errs, &mailboxcsv.Error{File: p.file, Line: p.firstOmitted, Omitted: p.omitted, Msg: fmt.Sprintf(
			"and %d more problems from here on not listed; fix the ones above and check the file again", p.omitted)})
	}
	return p.errs
}

// column is one column a file may have: its accepted header names
// (compared without case, spaces, dots, underscores and parentheses).
type column struct {
	names    []string
	required bool
}

func normalizeHeader(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '.', '(', ')', '-', '"':
			return -1
		}
		return r
	}, s)
}

// record is one data row: the 1-based line and the values of the columns
// asked for ("" when the file has no such column).
type record struct {
	line   int
	values []string
	cols   []int // 1-based column numbers in the file, 0 when absent
}

// readTable reads a CSV export with a header line naming cols (other
// columns, as PowerShell's Export-Csv writes them, are ignored), calling
// row for each data row. example completes the "expected a header" message.
func readTable(p *problems, r io.Reader, cols []column, maxRows int, what, example string, row func(record)) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		p.add(0, 0, "", "cannot read the file: %v", err)
		return
	}
	if len(data) > MaxFileBytes {
		p.add(1, 0, "", "the file is larger than %d MB; check that this is the %s, or split it", MaxFileBytes>>20, what)
		return
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.IndexByte(data, 0) >= 0 {
		p.add(1, 0, "", "the file is encoded as UTF-16 (PowerShell's -Encoding Unicode); export it again with Export-Csv -NoTypeInformation -Encoding UTF8")
		return
	}
	for i, l := range bytes.Split(data, []byte("\n")) {
		if len(l) > MaxLineBytes {
			p.add(i+1, 0, "", "this line is longer than %d bytes; check that this is the %s, saved as CSV text", MaxLineBytes, what)
			return
		}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = delimiter(data)
	cr.Comment = '#' // Export-Csv's "#TYPE ..." first line
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var index []int // file column (0-based) of each wanted column, -1 when absent
	headerLine, rows := 0, 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				p.add(pe.Line, pe.Column, "", "malformed CSV: %v; a value holding a comma or a double quote must be enclosed in double quotes, with a quote inside it doubled (\"\")", pe.Err)
				if index == nil {
					return
				}
				rows++
				continue
			}
			p.add(0, 0, "", "cannot read the file: %v", err)
			return
		}
		line, _ := cr.FieldPos(0)
		blank := true
		for _, f := range rec {
			blank = blank && strings.TrimSpace(f) == ""
		}
		if blank {
			continue
		}
		if index == nil {
			headerLine = line
			index = make([]int, len(cols))
			byName := map[string]int{}
			for i, h := range rec {
				if _, dup := byName[normalizeHeader(h)]; !dup {
					byName[normalizeHeader(h)] = i
				}
			}
			ok := true
			for i, c := range cols {
				index[i] = -1
				for _, n := range c.names {
					if j, found := byName[normalizeHeader(n)]; found {
						index[i] = j
						break
					}
				}
				if index[i] < 0 && c.required {
					p.add(line, 0, "", "the header has no %s column; expected a header such as %s", c.names[0], example)
					ok = false
				}
			}
			if !ok {
				return
			}
			continue
		}
		rows++
		if rows > maxRows {
			p.errs, p.omitted = nil, 0
			p.add(line, 0, "", "the %s has more than %d rows; Ferry plans at most %d at once", what, maxRows, maxRows)
			return
		}
		rc := record{line: line, values: make([]string, len(cols)), cols: make([]int, len(cols))}
		for i, j := range index {
			if j >= 0 && j < len(rec) {
				rc.values[i] = strings.TrimSpace(rec[j])
				rc.cols[i] = j + 1
			} else if j >= 0 {
				rc.cols[i] = j + 1
			}
		}
		row(rc)
	}
	switch {
	case index == nil:
		p.add(1, 0, "", "the %s is empty; expected a header such as %s", what, example)
	case rows == 0:
		p.add(headerLine, 0, "", "nothing listed below the header of the %s", what)
	}
}

// delimiter is ',' unless the header line is separated by ';' or tabs
// (Export-Csv -Delimiter, or a spreadsheet saved in a European locale).
func delimiter(data []byte) rune {
	for _, l := range bytes.Split(data, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		for _, d := range []byte{',', ';', '\t'} {
			if bytes.IndexByte(t, d) >= 0 {
				return rune(d)
			}
		}
		return ','
	}
	return ','
}
