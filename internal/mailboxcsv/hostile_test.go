package mailboxcsv

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestHostileListsAreBounded: a list of one mailbox 40,000 times, or of
// 45,000 bad rows, gives at most MaxErrors problems and a count of the
// rest, and a list over MaxRows mailboxes is refused with one problem.
func TestHostileListsAreBounded(t *testing.T) {
	t.Parallel()
	var dup, bad, long strings.Builder
	dup.WriteString("source,destination\n")
	for range 40000 {
		dup.WriteString("alice@old.example,alice@new.example\n")
	}
	bad.WriteString("source,destination\n")
	for i := range 45000 {
		fmt.Fprintf(&bad, "not-an-address-%d,x\n", i)
	}
	long.WriteString("source,destination\n")
	for i := range MaxRows + 10 {
		fmt.Fprintf(&long, "u%d@old.example,u%d@new.example\n", i, i)
	}
	for _, tc := range []struct {
		name, in string
		more     string
	}{
		{"one mailbox 40,000 times (each a duplicate source and destination)", dup.String(), "79898 more problems from here on"},
		{"45,000 bad rows", bad.String(), "44899 more problems from here on"},
		{"more rows than the limit", long.String(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rows, _, err := ParseAll("big.csv", strings.NewReader(tc.in))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("no problems reported: %v", err)
			}
			if len(errs) > MaxErrors+1 {
				t.Fatalf("%d problems kept, want at most %d and a count of the rest", len(errs), MaxErrors+1)
			}
			if tc.more != "" && !strings.Contains(errs[len(errs)-1].Msg, tc.more) {
				t.Errorf("the last problem does not count the rest: %v", errs[len(errs)-1])
			}
			if tc.more == "" && (len(errs) != 1 || !strings.Contains(errs[0].Msg, "more than 50000 mailboxes")) {
				t.Errorf("a list over the limit: %v", err)
			}
			if len(rows) > MaxRows {
				t.Errorf("%d rows returned, over the limit of %d", len(rows), MaxRows)
			}
			if s := err.Error(); len(s) > 10000 {
				t.Errorf("the error text is %d bytes long", len(s))
			}
		})
	}
}

// TestBadRowsNeverEchoPasswords: whatever is wrong with a row, no problem
// quotes the password written in it.
func TestBadRowsNeverEchoPasswords(t *testing.T) {
	t.Parallel()
	const pw = "Zq9-Secret-Pw"
	for _, in := range []string{
		"source,destination,source_password\nalice@old.example,alice@new.example," + pw + ",extra\n",
		"source,destination,source_password\nalice@old.example,alice@new.example,\"" + pw + "\n",
		"source,destination,source_password\nalice@old.example,alice@new.example,\"" + pw + "\"x\n",
		"source,destination,source_password\nalice@old.example,alice@new.example,a" + pw + "\"b\n",
		"imap.old.example;alice;" + pw + ";imap.new.example;alice\n",
	} {
		_, _, err := ParseAll("list.csv", strings.NewReader(in))
		if err == nil {
			t.Errorf("no problem found in %q", in)
			continue
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "Secret") {
			t.Errorf("a problem quotes the password: %v", err)
		}
	}
}

// TestOverlongLinesAreRefused: a line longer than MaxLineBytes (a header of
// a million columns, one row of a million fields) is refused at once rather
// than parsed field by field.
func TestOverlongLinesAreRefused(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"header":   strings.Repeat("source,", 1<<20) + "\n",
		"row":      "source,destination\n" + strings.Repeat("a,", 1<<20) + "\n",
		"one line": strings.Repeat("x", 4<<20),
	} {
		_, _, err := ParseAll("wide.csv", strings.NewReader(in))
		var errs Errors
		if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(errs[0].Msg, "longer than 16384 bytes") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// endlessList is a mailbox list that never ends: a header, then the same
// row for ever.
type endlessList struct{ off int }

func (e *endlessList) Read(p []byte) (int, error) {
	const header, row = "source,destination\n", "alice@old.example,alice@new.example\n"
	for i := range p {
		if e.off < len(header) {
			p[i] = header[e.off]
		} else {
			p[i] = row[(e.off-len(header))%len(row)]
		}
		e.off++
	}
	return len(p), nil
}

// TestEndlessListIsRefused: a list that never ends is read up to
// MaxFileBytes and refused, not read until memory runs out.
func TestEndlessListIsRefused(t *testing.T) {
	t.Parallel()
	_, _, err := ParseAll("endless.csv", &endlessList{})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(errs[0].Msg, "larger than 64 MB") {
		t.Fatalf("an endless list: %v", err)
	}
}
