package mailboxcsv

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// parseCSV reads a header-based list separated by delim.
func (p *parser) parseCSV(data []byte, delim rune) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = delim
	cr.Comment = '#'
	cr.FieldsPerRecord = -1 // checked here, against the header, with a better message
	// Allow "a, b" and "a, \"b\"": leading spaces are dropped before a
	// quote. Not for tabs, which would swallow empty fields.
	cr.TrimLeadingSpace = delim != '\t'

	var h *header
	rowsSeen := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) { // cannot happen with an in-memory reader
				p.add(1, 0, "", "cannot read the file: "+err.Error())
				return
			}
			p.syntaxError(pe)
			if h == nil {
				return // without a header the rest cannot be interpreted
			}
			rowsSeen++
			if !p.countRow(pe.Line) {
				return
			}
			continue // encoding/csv resumes on the next line
		}
		line, _ := cr.FieldPos(0)
		if blankRecord(rec) {
			continue
		}
		if h == nil {
			if h = p.parseHeader(rec, line); h == nil {
				return
			}
			continue
		}
		rowsSeen++
		if !p.countRow(line) {
			return
		}
		p.csvRow(cr, rec, line, h, delim)
	}
	switch {
	case h == nil:
		p.add(1, 0, "", emptyFileMsg)
	case rowsSeen == 0:
		p.add(h.line, 0, "", fmt.Sprintf("no mailboxes listed below the header; add one line per mailbox, e.g. `alice@old.example%salice@new.example`",
			string(delim)))
	}
}

// blankRecord reports records to ignore: every field empty (spreadsheets
// export empty rows as ",,,") or an indented '#' comment.
func blankRecord(rec []string) bool {
	if len(rec) > 0 && strings.HasPrefix(strings.TrimSpace(rec[0]), "#") {
		return true
	}
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func separatorName(delim rune) string {
	if delim == '\t' {
		return "a tab"
	}
	return "'" + string(delim) + "'"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (p *parser) csvRow(cr *csv.Reader, rec []string, line int, h *header, delim rune) {
	if len(rec) < h.width {
		p.add(line, 0, "", fmt.Sprintf(
			"this row has %s but the header on line %d has %s; give a value for every column, separated by %s (optional values may be empty)",
			plural(len(rec), "field", "fields"), h.line, plural(h.width, "column", "columns"), separatorName(delim)))
		return
	}
	for _, extra := range rec[h.width:] {
		if strings.TrimSpace(extra) != "" {
			example := `"pa` + string(delim) + `ss"`
			if delim == '\t' {
				example = `"pa<tab>ss"`
			}
			p.add(line, 0, "", fmt.Sprintf(
				"this row has %d fields but the header on line %d has %s; enclose a value that contains %s (passwords often do) in double quotes, e.g. %s",
				len(rec), h.line, plural(h.width, "column", "columns"), separatorName(delim), example))
			return
		}
	}
	rowOK := true
	for i := 0; i < h.width; i++ {
		if h.unnamed[i] && strings.TrimSpace(rec[i]) != "" {
			p.add(line, i+1, "unnamed column", fmt.Sprintf(
				"this column has no name in the header on line %d; name it there (the accepted columns are %s) or leave the value out",
				h.line, acceptedColumns))
			rowOK = false
		}
	}

	get := func(c column) cell {
		i := h.index[c]
		if i < 0 {
			return cell{}
		}
		l, col := cr.FieldPos(i)
		v := rec[i]
		quoted := col >= 1 && col <= len(p.raw(l)) && p.raw(l)[col-1] == '"'
		// Spaces around unquoted values are dropped; a quoted password is
		// taken exactly as written.
		if !quoted || (c != colSourcePassword && c != colDestinationPassword) {
			v = strings.TrimSpace(v)
		}
		return cell{present: true, col: i + 1, field: c.String(), value: v, line: l}
	}
	srcAddr, dstAddr := get(colSource), get(colDestination)
	src, srcOK := p.side(sideSpec{
		addr: srcAddr, login: get(colSourceLogin), pass: get(colSourcePassword), host: get(colSourceHost),
		needAddr:  "empty value; every row needs a source address",
		loginHint: "put the login in a source login column",
	})
	dst, dstOK := p.side(sideSpec{
		addr: dstAddr, login: get(colDestinationLogin), pass: get(colDestinationPassword), host: get(colDestinationHost),
		needAddr:  "empty value; every row needs a destination address",
		loginHint: "put the login in a destination login column",
	})
	p.finishRow(line, src, srcOK, dst, dstOK, rowOK, srcAddr, dstAddr)
}

// syntaxError turns an encoding/csv error into an Error.
func (p *parser) syntaxError(pe *csv.ParseError) {
	text := p.raw(pe.Line)
	// encoding/csv counts bytes; people count characters.
	char := func(byteCol int) int {
		b := min(max(byteCol-1, 0), len(text))
		return utf8.RuneCountInString(text[:b]) + 1
	}
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		p.add(pe.Line, char(pe.Column), "",
			`a double quote (") inside a value that does not start with one; enclose the whole value in double quotes and double the quote inside it, e.g. "pa""ss"`)
	case errors.Is(pe.Err, csv.ErrQuote) && pe.Column >= 1 && pe.Column <= len(text) && text[pe.Column-1] == '"':
		p.add(pe.Line, char(pe.Column), "",
			`unexpected text (even a space) after the closing double quote of a quoted value; a quoted value must end right before the separator or the end of the line, and a double quote inside it must be doubled ("")`)
	case errors.Is(pe.Err, csv.ErrQuote):
		p.add(pe.StartLine, 0, "",
			`a double quote opened on this line is never closed, so the rest of the file was read as one value; add the missing closing double quote (a double quote inside a quoted value is written "")`)
	default:
		p.add(pe.Line, char(pe.Column), "", "malformed CSV: "+pe.Err.Error())
	}
}
