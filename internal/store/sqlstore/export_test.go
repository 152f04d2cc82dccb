package sqlstore

// OpenSQLiteUpTo opens a state file with the schema up to version upTo, as
// an older Ferry left it; OpenSQLite then applies the rest.
var OpenSQLiteUpTo = openSQLite
