package engine

import (
	"testing"
)

// The pairs a mailbox is worth: one per 500 messages or 32 MB, at most one
// per folder holding mail and at most the limit; a folder the server did
// not count is taken as worth a pair.
func TestConnectionPairs(t *testing.T) {
	t.Parallel()
	counted := func(messages, bytes int64) folderAmount {
		return folderAmount{messages: messages, bytes: bytes, known: true}
	}
	for _, tc := range []struct {
		name    string
		limit   int
		folders []folderAmount
		want    int
	}{
		{"empty mailbox", 4, []folderAmount{counted(0, 0)}, 1},
		{"small mailbox, four folders", 4, []folderAmount{counted(8, 9000), counted(4, 5000), counted(4, 5000), counted(4, 5000)}, 1},
		{"501 messages", 4, []folderAmount{counted(300, 1<<20), counted(201, 1<<20)}, 2},
		{"large mailbox", 4, []folderAmount{counted(9000, 200<<20), counted(6000, 100<<20), counted(3000, 50<<20), counted(2000, 30<<20)}, 4},
		{"large mailbox, one folder with mail", 4, []folderAmount{counted(20000, 500<<20), counted(0, 0)}, 1},
		{"few large messages", 4, []folderAmount{counted(10, 40<<20), counted(10, 40<<20), counted(10, 40<<20)}, 3},
		{"uncounted folders", 4, []folderAmount{{}, {}, counted(3, 3000)}, 3},
		{"limit of one", 1, []folderAmount{counted(9000, 200<<20), counted(6000, 100<<20)}, 1},
	} {
		if got := connectionPairs(tc.limit, tc.folders); got != tc.want {
			t.Errorf("%s: %d pairs, want %d", tc.name, got, tc.want)
		}
	}
}

// The appender (a second destination connection) is worth its login when
// the transactions its MULTIAPPENDs save outweigh it, however far the
// destination: the one connection's APPENDs do not wait for the server's
// turns either.
func TestAppenderPays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		messages int64
		want     bool
	}{
		{"empty mailbox", 0, false},
		{"3 messages", 3, false},
		{"20 messages", 20, false},
		{"60 messages", 60, false},
		{"200 messages", 200, true},
		{"2,000 messages", 2000, true},
	} {
		if got := appenderPays(tc.messages); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
