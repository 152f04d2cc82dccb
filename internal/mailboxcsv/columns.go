package mailboxcsv

import (
	"fmt"
	"strings"
)

// column is one of the known header columns.
type column int

const (
	colSource column = iota
	colDestination
	colSourceLogin
	colDestinationLogin
	colSourcePassword
	colDestinationPassword
	colSourceHost
	colDestinationHost
	numColumns
)

// columnNames are the canonical names, used in messages.
var columnNames = [numColumns]string{
	colSource:              "source",
	colDestination:         "destination",
	colSourceLogin:         "source login",
	colDestinationLogin:    "destination login",
	colSourcePassword:      "source password",
	colDestinationPassword: "destination password",
	colSourceHost:          "source host",
	colDestinationHost:     "destination host",
}

func (c column) String() string { return columnNames[c] }

// columnByName maps every accepted (normalized) header name to its column.
// A name is a side, optionally followed by what the column holds:
//
//	side: source | from                 destination | to
//	what: (nothing) | address | email | mailbox   → the mailbox address
//	      login | username                        → the login name
//	      password                                → the password
//	      host | server                           → the server
var columnByName = func() map[string]column {
	sides := []struct {
		names       []string
		addr, login column
		pass, host  column
	}{
		{[]string{"source", "from"}, colSource, colSourceLogin, colSourcePassword, colSourceHost},
		{[]string{"destination", "to"}, colDestination, colDestinationLogin, colDestinationPassword, colDestinationHost},
	}
	m := map[string]column{}
	for _, s := range sides {
		for _, n := range s.names {
			m[n] = s.addr
			for _, w := range []string{"address", "email", "mailbox"} {
				m[n+" "+w] = s.addr
			}
			m[n+" login"] = s.login
			m[n+" username"] = s.login
			m[n+" password"] = s.pass
			m[n+" host"] = s.host
			m[n+" server"] = s.host
		}
	}
	return m
}()

// aliases lists the accepted names of c other than its canonical one.
func aliases(c column) []string {
	var out []string
	for _, side := range []string{"source", "from", "destination", "to"} {
		for _, what := range []string{"", " address", " email", " mailbox", " login", " username", " password", " host", " server"} {
			n := side + what
			if got, ok := columnByName[n]; ok && got == c && n != columnNames[c] {
				out = append(out, n)
			}
		}
	}
	return out
}

// normalizeName lowercases a header name, drops surrounding quotes and
// spaces, and treats '_' and '-' as spaces: "Source_Password" → "source password".
func normalizeName(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimSpace(strings.Trim(s, `"`))
	s = strings.ToLower(s)
	s = strings.NewReplacer("_", " ", "-", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

const (
	acceptedColumns = "source, destination, source login, destination login, source password, destination password, source host, destination host"
	aliasNote       = `names are case-insensitive, "from"/"to" may replace "source"/"destination", and docs/csv-format.md lists all aliases`
)

// header is the parsed header line of a CSV list.
type header struct {
	line    int
	width   int                // number of fields in the header
	index   [numColumns]int    // 0-based field index of each column, -1 when absent
	unnamed map[int]bool       // fields with an empty name
	written [numColumns]string // the name as written in the file
}

// parseHeader reads the header record. It reports problems and returns nil
// when the rows cannot be interpreted.
func (p *parser) parseHeader(rec []string, line int) *header {
	h := &header{line: line, width: len(rec), unnamed: map[int]bool{}}
	for i := range h.index {
		h.index[i] = -1
	}
	known := 0
	for _, name := range rec {
		if _, ok := columnByName[normalizeName(name)]; ok {
			known++
		}
	}
	if known == 0 {
		// Probably a data line: do not echo it, it may hold passwords.
		msg := "expected a header line naming the columns, but none of its fields is a column name; " +
			"start the file with a header line such as `source,destination`; the accepted columns are " + acceptedColumns
		if n := len(imapsyncFields(p.raw(line))); n >= 4 {
			msg += fmt.Sprintf("; or, for imapsync lines, give exactly 6 fields host1;user1;password1;host2;user2;password2 (this line has %d)", n)
		}
		p.add(line, 0, "", msg)
		return nil
	}
	ok := true
	for i, name := range rec {
		norm := normalizeName(name)
		if norm == "" {
			h.unnamed[i] = true
			continue
		}
		c, known := columnByName[norm]
		if !known {
			p.add(line, i+1, strings.TrimSpace(name), "unknown column; the accepted columns are "+acceptedColumns+" ("+aliasNote+")")
			ok = false
			continue
		}
		if prev := h.index[c]; prev >= 0 {
			p.add(line, i+1, strings.TrimSpace(name), fmt.Sprintf(
				"the %s column is already given in column %d (%s); remove one of them", c, prev+1, h.written[c]))
			ok = false
			continue
		}
		h.index[c] = i
		h.written[c] = strings.TrimSpace(name)
	}
	for _, c := range []column{colSource, colDestination} {
		if h.index[c] < 0 {
			p.add(line, 0, "", fmt.Sprintf("the header has no %s column; add one named %s (or %s)",
				c, c, strings.Join(aliases(c), ", ")))
			ok = false
		}
	}
	if !ok {
		return nil
	}
	return h
}
