package sqlstore

// OpenSQLiteUpTo opens a state file with the schema up to version upTo, as
// an older Ferry left it; OpenSQLite then applies the rest.
var OpenSQLiteUpTo = openSQLite

// Unprepared lists the engine's statements that the store runs from their
// text, not prepared.
func Unprepared(s *Store) []string {
	var out []string
	for _, q := range enginePrepared {
		if s.prepared[q] == nil {
			out = append(out, q)
		}
	}
	return out
}
