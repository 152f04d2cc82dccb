// Package mailboxcsv reads the list of mailboxes to migrate
// (ferry migrate --csv FILE).
//
// Two formats are accepted and told apart automatically:
//
//   - a CSV file with a header line naming the columns (source,
//     destination, and optionally per-row logins, passwords and hosts),
//     separated by ',', ';' or tab;
//   - imapsync-style lines host1;user1;password1;host2;user2;password2,
//     as used by imapsync's sync_loop scripts (a trailing ';' is allowed).
//
// Parse reports every problem it finds at once, each naming the file, line,
// column and what to change. Error messages never contain passwords.
// docs/csv-format.md describes the formats for users.
package mailboxcsv

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Side is one end (source or destination) of a migration row.
type Side struct {
	Address  string // the mailbox address as listed
	Login    string // login name ("" = use Address)
	Password string // "" when not given in the file
	Host     string // "" when not given; else host
	Port     int    // 0 when not given
	Scheme   string // "imap" or "imaps" when given as URL, else ""
}

// Row is one mailbox to migrate.
type Row struct {
	Line                int // 1-based line number in the file
	Source, Destination Side
}

// Format is the layout of a mailbox list.
type Format int

const (
	// Header is CSV with a header line naming the columns.
	Header Format = iota
	// Imapsync is host1;user1;password1;host2;user2;password2 lines.
	Imapsync
)

func (f Format) String() string {
	switch f {
	case Header:
		return "CSV with header"
	case Imapsync:
		return "imapsync lines"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Error is one problem in a mailbox list.
type Error struct {
	File string // the name given to Parse
	Line int    // 1-based line number
	// Column is the 1-based number of the field within the line, named by
	// Field, or 0 when the problem concerns the whole line. For CSV syntax
	// errors (malformed quoting) Field is empty and Column is the 1-based
	// character position within the line reported by encoding/csv.
	Column int
	Field  string // column name: "destination", "host1", ...
	Msg    string // what is wrong and how to fix it; never contains a password
	// Omitted, on the last Error of a list with more than MaxErrors
	// problems, is how many were not kept (that Error only says so).
	Omitted int
}

// Bounds of one mailbox list: a file of any size costs at most MaxRows
// rows and MaxErrors problems of memory, and its answer stays short.
const (
	// MaxRows is the most mailboxes one list may hold; a longer one is
	// refused as a whole (split it into several files).
	MaxRows = 50000
	// MaxErrors is how many problems are kept; the others are counted.
	MaxErrors = 100
	// MaxLineBytes is the longest line a list may have (a header of every
	// column with long names, or a row with long passwords, is far shorter).
	MaxLineBytes = 16 << 10
	// MaxFileBytes is the largest list read; the doors bound their uploads
	// lower (docs/security.md), this bounds `ferry migrate --csv` too.
	MaxFileBytes = 64 << 20
)

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "line %d", e.Line)
		switch {
		case e.Column > 0 && e.Field != "":
			fmt.Fprintf(&b, ", column %d (%s)", e.Column, e.Field)
		case e.Column > 0:
			fmt.Fprintf(&b, ", character %d", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a mailbox list, in file order.
type Errors []*Error

// MaxListed is how many problems Errors.Error spells out before
// summarizing the rest as "and N more problems".
const MaxListed = 20

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i == MaxListed {
			more := len(es) - MaxListed
			if last := es[len(es)-1]; last.Omitted > 0 {
				more += last.Omitted - 1
			}
			if more == 1 {
				b.WriteString("\nand 1 more problem")
			} else {
				fmt.Fprintf(&b, "\nand %d more problems", more)
			}
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find the individual *Error values.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

const emptyFileMsg = "no mailboxes listed; expected a header line such as `source,destination` or imapsync lines host1;user1;password1;host2;user2;password2"

// Parse reads a mailbox list. name is the file name used in error messages.
//
// On success it returns one Row per mailbox, in file order. When the list
// has problems it returns no rows and an Errors value holding all of them
// (plus the detected format); an error reading r is returned as is.
func Parse(name string, r io.Reader) ([]Row, Format, error) {
	rows, format, err := ParseAll(name, r)
	if err != nil {
		return nil, format, err
	}
	return rows, format, nil
}

// ParseAll is Parse for callers that may skip invalid rows: it returns the
// rows without problems together with the Errors of the others.
func ParseAll(name string, r io.Reader) ([]Row, Format, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, Header, fmt.Errorf("reading %s: %w", name, err)
	}
	p := &parser{file: name}
	if len(data) > MaxFileBytes { // read no further: memory stays bounded whatever the file
		p.add(1, 0, "", fmt.Sprintf("the file is larger than %d MB, far larger than a list of %d mailboxes; check that this is the list of mailboxes, or split it",
			MaxFileBytes>>20, MaxRows))
		return nil, Header, p.errs
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		p.add(1, 0, "", "the file is encoded as UTF-16; save it as UTF-8 instead (in Excel: Save As > CSV UTF-8)")
		return nil, Header, p.errs
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		p.add(1+bytes.Count(data[:i], []byte("\n")), 0, "",
			"contains a NUL byte, so this is not a UTF-8 text file (UTF-16 perhaps); save the list as UTF-8 text")
		return nil, Header, p.errs
	}
	// Old Mac line endings (CR only): treat CR as the line break.
	if !bytes.ContainsRune(data, '\n') && bytes.ContainsRune(data, '\r') {
		data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	}
	p.lines = strings.Split(string(data), "\n")
	for i, l := range p.lines {
		p.lines[i] = strings.TrimSuffix(l, "\r")
		if len(l) > MaxLineBytes { // work per line stays bounded too
			p.add(i+1, 0, "", fmt.Sprintf(
				"this line is longer than %d bytes, far longer than a mailbox's line; check that this is the list of mailboxes, saved as CSV text", MaxLineBytes))
			return nil, Header, p.errs
		}
	}

	first := -1
	for i, l := range p.lines {
		if !skipLine(l) {
			first = i
			break
		}
	}
	if first < 0 {
		p.add(1, 0, "", emptyFileMsg)
		return nil, Header, p.errs
	}

	format := Header
	if looksImapsync(p.lines[first]) {
		format = Imapsync
		p.parseImapsync()
	} else {
		p.parseCSV(data, detectDelimiter(p.lines[first]))
	}
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i], p.errs[j]
			return a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column)
		})
		if p.omitted > 0 {
			p.errs = append(p.errs, &Error{File: p.file, Line: p.firstOmitted, Omitted: p.omitted, Msg: fmt.Sprintf(
				"and %d more problems from here on not listed; fix the ones above and check the file again", p.omitted)})
		}
		var good []Row
		for _, row := range p.rows {
			if !p.bad[row.Line] {
				good = append(good, row)
			}
		}
		return good, format, p.errs
	}
	return p.rows, format, nil
}

// skipLine reports whether a raw line carries nothing: blank, a comment, or
// only separators (spreadsheets export empty rows as ",,,").
func skipLine(l string) bool {
	t := strings.TrimLeft(l, " \t\r\v\f")
	if strings.HasPrefix(t, "#") {
		return true
	}
	return strings.Trim(t, " \t\r\v\f,;") == ""
}

// imapsyncFields splits an imapsync line. A trailing ';' (imapsync's own
// examples end every line with one) yields a 7th empty field that is dropped.
func imapsyncFields(l string) []string {
	f := strings.Split(l, ";")
	if len(f) == 7 && strings.TrimSpace(f[6]) == "" {
		f = f[:6]
	}
	return f
}

// looksImapsync reports whether the first content line is an imapsync line:
// six ';'-separated fields, none of them a column name.
func looksImapsync(l string) bool {
	f := imapsyncFields(l)
	if len(f) != 6 {
		return false
	}
	for _, v := range f {
		if _, ok := columnByName[normalizeName(v)]; ok {
			return false
		}
	}
	return true
}

// detectDelimiter picks the separator under which the header line names the
// most known columns (',' on a tie, then the one splitting into most fields).
func detectDelimiter(header string) rune {
	best, bestKnown, bestFields := ',', -1, 0
	for _, d := range []rune{',', ';', '\t'} {
		parts := strings.Split(header, string(d))
		known := 0
		for _, p := range parts {
			if _, ok := columnByName[normalizeName(p)]; ok {
				known++
			}
		}
		if known > bestKnown || (known == bestKnown && known == 0 && len(parts) > bestFields) {
			best, bestKnown, bestFields = d, known, len(parts)
		}
	}
	return best
}

type parser struct {
	file  string
	lines []string // the file's lines, without line endings
	rows  []Row
	errs  Errors

	sources, destinations map[mailboxKey]int // first line listing each mailbox

	bad          map[int]bool // lines with a problem, kept or not
	omitted      int          // problems past MaxErrors
	firstOmitted int          // the line of the first of them
	rowCount     int          // mailbox rows read so far
}

func (p *parser) add(line, col int, field, msg string) {
	if p.bad == nil {
		p.bad = map[int]bool{}
	}
	p.bad[line] = true
	if len(p.errs) >= MaxErrors {
		if p.omitted == 0 {
			p.firstOmitted = line
		}
		p.omitted++
		return
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Column: col, Field: field, Msg: msg})
}

// countRow counts one more mailbox row; past MaxRows the list is refused
// with that one problem and parsing stops (false).
func (p *parser) countRow(line int) bool {
	p.rowCount++
	if p.rowCount <= MaxRows {
		return true
	}
	p.rows, p.omitted, p.bad = nil, 0, nil
	p.errs = Errors{{File: p.file, Line: line, Msg: fmt.Sprintf(
		"the list has more than %d mailboxes; split it into files of at most %d and add them one after another", MaxRows, MaxRows)}}
	return false
}

// raw returns the 1-based line n of the file, or "".
func (p *parser) raw(n int) string {
	if n < 1 || n > len(p.lines) {
		return ""
	}
	return p.lines[n-1]
}
