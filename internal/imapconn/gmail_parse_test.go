package imapconn

import (
	"fmt"
	"strings"
	"testing"
)

// TestParseGmailFetch: the answer shapes Gmail documents for X-GM-MSGID
// and X-GM-LABELS (items in any order, labels as atoms, quoted strings
// with escapes, literals, modified UTF-7, system labels), other untagged
// lines ignored, and broken FETCH lines refused rather than guessed.
func TestParseGmailFetch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		line   string
		ok     bool
		want   string // fmt of GmailMessage
		errSub string
	}{
		{`* 1 FETCH (X-GM-MSGID 1278455344230334865 UID 7 X-GM-LABELS (\Inbox \Sent Important "Muy Importante"))`, true, `{7 1278455344230334865 [\Inbox \Sent Important Muy Importante]}`, ""},
		{`* 12 FETCH (UID 9 X-GM-LABELS () X-GM-MSGID 42)`, true, `{9 42 []}`, ""},
		{`* 3 FETCH (UID 10 FLAGS (\Seen \Flagged) MODSEQ (12345) X-GM-MSGID 5 X-GM-LABELS ("Work/Clients" "say \"hi\"" {6}a b )c))`, true, `{10 5 [Work/Clients say "hi" a b )c]}`, ""},
		{`* 4 FETCH (UID 11 X-GM-MSGID 6 X-GM-LABELS (&AMk-t&AOk- Caf&AOk- AT&-T \Starred))`, true, `{11 6 [Été Café AT&T \Starred]}`, ""},
		{`* 5 EXISTS`, false, "", ""},
		{`* OK [UIDVALIDITY 3] ok`, false, "", ""},
		{`* 5 FETCH (UID 1 X-GM-LABELS (\Inbox))`, true, "", "without UID or X-GM-MSGID"},
		{`* 5 FETCH (UID 1 X-GM-MSGID x)`, true, "", "bad X-GM-MSGID"},
		{`* 5 FETCH (UID 1 X-GM-MSGID 3 X-GM-LABELS ("open`, true, "", "unterminated"},
		{`* 5 FETCH (UID 1 X-GM-MSGID 3 X-GM-LABELS ({99}ab))`, true, "", "bad literal"},
		{`* 5 FETCH (UID 1 X-GM-MSGID 3 X-GM-LABELS (a b`, true, "", "cut short"},
		{`* 5 FETCH (UID 1 X-GM-MSGID 3 FOO ((((((((((((x)))))))))))))`, true, "", "nested too deep"},
		{`* 5 FETCH UID 1`, true, "", "without its list"},
	} {
		m, ok, err := ParseGmailFetch(tc.line, false)
		if ok != tc.ok {
			t.Errorf("%s: ok %v", tc.line, ok)
			continue
		}
		if tc.errSub != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errSub) {
				t.Errorf("%s: err %v, want %q", tc.line, err, tc.errSub)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if got := fmt.Sprint(m); ok && got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.line, got, tc.want)
		}
	}
	// With UTF8=ACCEPT enabled the labels come as UTF-8 and are not decoded.
	if m, _, _ := ParseGmailFetch(`* 1 FETCH (UID 1 X-GM-MSGID 2 X-GM-LABELS ("Été" &AMk-))`, true); fmt.Sprint(m.Labels) != "[Été &AMk-]" {
		t.Errorf("utf8 labels %q", m.Labels)
	}
}

// FuzzGmailFetch: whatever a server sends as a FETCH line, the parser
// never panics, never loops, and what it returns is bounded by the line.
func FuzzGmailFetch(f *testing.F) {
	f.Add(`* 1 FETCH (X-GM-MSGID 1278455344230334865 UID 7 X-GM-LABELS (\Inbox \Sent Important "Muy Importante"))`, false)
	f.Add(`* 3 FETCH (UID 10 FLAGS (\Seen) MODSEQ (1) X-GM-MSGID 5 X-GM-LABELS ("a\"b" {3}x y))`, false)
	f.Add(`* 4 FETCH (UID 11 X-GM-MSGID 6 X-GM-LABELS (&AMk-t&AOk- &- &Jjo- &ZeVnLIqe-))`, false)
	f.Add(`* 4 FETCH (UID 11 X-GM-MSGID 6 X-GM-LABELS ({-1}))`, true)
	f.Add(`* 4 FETCH (UID 11 X-GM-MSGID 6 X-GM-LABELS ({18446744073709551616}))`, false)
	f.Fuzz(func(t *testing.T, line string, utf8 bool) {
		m, ok, err := ParseGmailFetch(line, utf8)
		if !ok && (err != nil || m.UID != 0) {
			t.Fatalf("not a FETCH line but %+v %v", m, err)
		}
		total := 0
		for _, l := range m.Labels {
			total += len(l)
		}
		if len(m.Labels) > maxGmailLabels || total > 4*len(line) {
			t.Fatalf("%d labels, %d bytes from a %d-byte line", len(m.Labels), total, len(line))
		}
	})
}
