package imapconn

import (
	"net"
	"strings"
	"testing"
	"time"
)

// The commands going out: each synchronizing literal is announced
// non-synchronizing when on, whatever the writes' cuts, and nothing within
// a literal is read as an announcement.
func TestCmdStreamRewritesSynchronizingLiterals(t *testing.T) {
	t.Parallel()
	body := "Subject: x\r\n\r\nsee {12}\r\nand {3+}\r\n{}\r\n"
	for _, tc := range []struct {
		name, in, want string
		on             bool
		syncs          int
	}{
		{"append", "T1 APPEND INBOX {5}\r\nhello\r\n", "T1 APPEND INBOX {5+}\r\nhello\r\n", true, 1},
		{"off", "T1 APPEND INBOX {5}\r\nhello\r\n", "T1 APPEND INBOX {5}\r\nhello\r\n", false, 0},
		{"login before", "T1 LOGIN {5}\r\nalice {6}\r\nsecret\r\n", "T1 LOGIN {5}\r\nalice {6}\r\nsecret\r\n", false, 0},
		{"non-synchronizing already", "T1 APPEND INBOX {5+}\r\nhello\r\n", "T1 APPEND INBOX {5+}\r\nhello\r\n", true, 0},
		{"a body holding announcements", "T1 APPEND INBOX (\\Seen) {38}\r\n" + body + "\r\nT2 NOOP\r\n",
			"T1 APPEND INBOX (\\Seen) {38+}\r\n" + body + "\r\nT2 NOOP\r\n", true, 1},
		{"pipelined appends", "T1 APPEND A {2}\r\nab\r\nT2 APPEND B {3}\r\n{1}\r\nT3 APPEND C {0}\r\n\r\n",
			"T1 APPEND A {2+}\r\nab\r\nT2 APPEND B {3+}\r\n{1}\r\nT3 APPEND C {0+}\r\n\r\n", true, 3},
		{"not announcements", "T1 SELECT \"a{5}\" {x}\r\nT2 X {5}a\r\nT3 {{7}}\r\n", "T1 SELECT \"a{5}\" {x}\r\nT2 X {5}a\r\nT3 {{7}}\r\n", true, 0},
		{"literal8", "T1 APPEND INBOX ~{4}\r\nabcd\r\n", "T1 APPEND INBOX ~{4+}\r\nabcd\r\n", true, 1},
		{"a brace at the end", "T1 APPEND INBOX {12}\r\nabc{12}\r\n{1", "T1 APPEND INBOX {12+}\r\nabc{12}\r\n{1", true, 1},
	} {
		for cut := 0; cut <= len(tc.in); cut++ {
			var s cmdStream
			out, n1 := s.rewrite(nil, []byte(tc.in[:cut]), tc.on)
			out, n2 := s.rewrite(out, []byte(tc.in[cut:]), tc.on)
			out = append(out, s.ann...) // held back at the end
			if string(out) != tc.want || n1+n2 != tc.syncs {
				t.Errorf("%s, cut at %d: %q, %d rewritten; want %q, %d", tc.name, cut, out, n1+n2, tc.want, tc.syncs)
			}
		}
		var s cmdStream
		var out []byte
		syncs := 0
		for i := range len(tc.in) {
			var n int
			out, n = s.rewrite(out, []byte{tc.in[i]}, tc.on)
			syncs += n
		}
		if out = append(out, s.ann...); string(out) != tc.want || syncs != tc.syncs {
			t.Errorf("%s, byte by byte: %q, %d rewritten", tc.name, out, syncs)
		}
	}
}

// The responses coming in: where each ends, whatever the reads' cuts.
func TestRespStreamBoundaries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		resps []string
	}{
		{"status responses", []string{"* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n", "T1 OK done\r\n"}},
		{"fetch with literals", []string{"* 1 FETCH (UID 4 BODY[] {11}\r\nab{3}\r\ncd\r\n)\r\n", "* 2 FETCH (BODY[HEADER] {5}\r\n)\r\n\r\n BODY[TEXT] {0}\r\n)\r\n", "T2 OK fetched\r\n"}},
		{"resp-text ending in a literal's look", []string{"* OK it said {5}\r\n", "T3 NO [OVERQUOTA] over by {12}\r\n", "+ go on {3}\r\n", "* BYE bye {2}\r\n", "T4 bad {1}\r\n"}},
		{"literal8 and lone LF", []string{"* 3 FETCH (BINARY[] ~{4}\r\n\r\n\r\n)\r\n", "* 4 FETCH (BODY[] {2} \n\n\n)\n", "T5 OK\r\n"}},
		{"list with a literal name", []string{"* LIST () \"/\" {8}\r\nA\r\n{1}\r\n\r\n", "* STATUS {3}\r\nOK  (MESSAGES 1)\r\n", "T6 OK\r\n"}},
	} {
		stream := strings.Join(tc.resps, "")
		var want []int
		end := 0
		for _, r := range tc.resps {
			end += len(r)
			want = append(want, end)
		}
		for cut := 0; cut <= len(stream); cut++ {
			var s respStream
			var got []int
			pos := 0
			for _, part := range []string{stream[:cut], stream[cut:]} {
				p := []byte(part)
				for len(p) > 0 {
					n := s.advance(p)
					p, pos = p[n:], pos+n
					if s.atBoundary() {
						got = append(got, pos)
					}
				}
			}
			if !equalInts(got, want) {
				t.Errorf("%s, cut at %d: boundaries at %v, want %v", tc.name, cut, got, want)
			}
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A read waiting on the server gets the continuation as soon as a
// synchronizing literal is announced, and one in the middle of a response
// gets it after that response, never inside it.
func TestLitPlusConnContinuation(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	c := newLitPlusConn(client)
	c.on.Store(true)
	reads := make(chan string, 16)
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(reads)
				return
			}
			reads <- string(buf[:n])
		}
	}()
	got := func(want string) {
		t.Helper()
		var sb strings.Builder
		deadline := time.After(5 * time.Second)
		for sb.Len() < len(want) {
			select {
			case s := <-reads:
				sb.WriteString(s)
			case <-deadline:
				t.Fatalf("read %q, want %q", sb.String(), want)
			}
		}
		if sb.String() != want {
			t.Fatalf("read %q, want %q", sb.String(), want)
		}
	}
	sent := make(chan string, 16)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := server.Read(buf)
			if err != nil {
				return
			}
			sent <- string(buf[:n])
		}
	}()
	write := func(s string) {
		t.Helper()
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("write: %d, %v", n, err)
		}
	}
	server.Write([]byte("* OK ready\r\n"))
	got("* OK ready\r\n")

	write("T1 APPEND INBOX {5}\r\n")
	if s := <-sent; s != "T1 APPEND INBOX {5+}\r\n" {
		t.Fatalf("server read %q", s)
	}
	got("+ \r\n")

	// The server is in the middle of a response when the next one is announced.
	server.Write([]byte("* 1 FETCH (BODY[] {9}\r\nT1 "))
	got("* 1 FETCH (BODY[] {9}\r\nT1 ")
	write("hello\r\nT2 APPEND INBOX {3}\r\n")
	if s := <-sent; s != "hello\r\nT2 APPEND INBOX {3+}\r\n" {
		t.Fatalf("server read %q", s)
	}
	select {
	case s := <-reads:
		t.Fatalf("read %q within a response", s)
	case <-time.After(50 * time.Millisecond):
	}
	server.Write([]byte("OK {5})\r\nT1 OK [APPENDUID 1 1] done\r\n"))
	got("OK {5})\r\n+ \r\nT1 OK [APPENDUID 1 1] done\r\n")
}

// Closing the connection ends a read waiting on it.
func TestLitPlusConnClose(t *testing.T) {
	t.Parallel()
	client, server := net.Pipe()
	defer server.Close()
	c := newLitPlusConn(client)
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 8)); done <- err }()
	time.Sleep(10 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read did not end")
	}
}
