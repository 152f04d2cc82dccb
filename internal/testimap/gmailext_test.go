package testimap

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// gmailSession talks IMAP as text to a StartGmail server.
type gmailSession struct {
	t  *testing.T
	c  net.Conn
	r  *bufio.Reader
	nr int
}

func (s *gmailSession) cmd(line string) []string {
	s.t.Helper()
	s.nr++
	tag := fmt.Sprintf("G%d", s.nr)
	fmt.Fprintf(s.c, "%s %s\r\n", tag, line)
	var out []string
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("%s: %v", line, err)
		}
		l = strings.TrimRight(l, "\r\n")
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			return out
		}
	}
}

// TestGmailFrontAnswersTheExtensions: X-GM-MSGID and X-GM-LABELS in
// FETCH, STORE +/-X-GM-LABELS (the label's folder gains or loses the
// message, as Gmail's IMAP view shows; X-GM-LABELS lists the labels in the
// order they were given), X-GM-RAW search, and normal
// commands untouched between them, literals included.
func TestGmailFrontAnswersTheExtensions(t *testing.T) {
	t.Parallel()
	u := User{Name: "alice@example.org", Password: "pw"}
	g := StartGmail(t, u)
	g.GmailDeliver(t, u,
		GmailMessage{Body: []byte("Subject: a\r\nMessage-ID: <a@x>\r\n\r\nA\r\n"), Labels: []string{"INBOX", "Work"}},
		GmailMessage{Body: []byte("Subject: b\r\nMessage-ID: <b@x>\r\n\r\nB\r\n"), Starred: true})
	c, err := net.DialTimeout("tcp", g.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	s := &gmailSession{t: t, c: c, r: bufio.NewReader(c)}
	s.r.ReadString('\n') // greeting
	expect := func(got []string, want ...string) {
		t.Helper()
		all := strings.Join(got, "\n")
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Fatalf("answer\n%s\nlacks %q", all, w)
			}
		}
	}
	expect(s.cmd(`LOGIN "alice@example.org" "pw"`), "OK")
	expect(s.cmd(`SELECT "[Gmail]/All Mail"`), "OK")
	fetch := s.cmd(`UID FETCH 1:* (UID X-GM-MSGID X-GM-LABELS)`)
	expect(fetch, `* 1 FETCH (UID 1 X-GM-MSGID `, `X-GM-LABELS (\Inbox "Work"))`, `* 2 FETCH (UID 2 X-GM-MSGID `, `X-GM-LABELS (\Starred))`, "OK Success")
	expect(s.cmd(`UID SEARCH X-GM-RAW "label:work"`), "* SEARCH 1", "OK")
	expect(s.cmd(`UID SEARCH X-GM-RAW "is:starred has:nouserlabels"`), "* SEARCH 2")
	expect(s.cmd(`SEARCH X-GM-RAW "rfc822msgid:<b@x>"`), "* SEARCH 2")
	expect(s.cmd(`UID SEARCH X-GM-RAW "older_than:1y"`), "NO [testimap] X-GM-RAW term")
	expect(s.cmd(`UID STORE 2 +X-GM-LABELS ("Travel/2026" \Inbox)`), `* 2 FETCH (UID 2 X-GM-LABELS (\Starred "Travel/2026" \Inbox))`, "OK")
	expect(s.cmd(`UID STORE 1 -X-GM-LABELS (Work)`), `* 1 FETCH (UID 1 X-GM-LABELS (\Inbox))`)
	// A normal command with a literal passes through the front untouched.
	fmt.Fprintf(c, "G90 APPEND \"Notes\" {25}\r\n")
	if l, _ := s.r.ReadString('\n'); !strings.HasPrefix(l, "+") {
		t.Fatalf("APPEND continuation: %q", l)
	}
	fmt.Fprintf(c, "Subject: c\r\n\r\nUID FETCH\r\n\r\n")
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "G90 ") {
			if !strings.HasPrefix(l, "G90 NO") && !strings.HasPrefix(l, "G90 OK") {
				t.Fatalf("APPEND: %q", l)
			}
			break
		}
	}
	expect(s.cmd(`LOGOUT`), "OK")
	snap := TakeSnapshot(t, g.Addr, u.Name, u.Password)
	for folder, want := range map[string]int{"INBOX": 2, "Work": 0, "Travel/2026": 1, GmailAllMail: 2} {
		if len(snap[folder]) != want {
			t.Errorf("%s holds %d messages, want %d", folder, len(snap[folder]), want)
		}
	}
}
