package mailboxcsv

import "strings"

// SafeCell is text for a cell of a CSV file Ferry writes that a spreadsheet
// will not run as a formula (OWASP's advice on CSV injection): a cell
// starting with = + - @, a tab or a carriage return is prefixed with a
// single quote. Every CSV export uses it for text people or servers wrote.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
