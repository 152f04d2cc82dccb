package imapconn

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// litPlusConn lets imapclient send its literals non-synchronizing on a
// server that has LITERAL+ (RFC 7888). imapclient (go-imap v2.0.0-beta.8)
// announces every literal of an APPEND synchronizing ("{N}") and waits a
// server turn for its "+" before it sends the message, holding the
// command encoder meanwhile, so that APPENDs on one connection cannot
// pipeline. Once on (after the login, never for the credentials), this
// layer, between imapclient and the connection (after TLS):
//   - follows the commands going out (lines, and literals: the bytes of a
//     message are never read as protocol) and announces each synchronizing
//     literal as "{N+}";
//   - follows the responses coming in (lines, literals after "{N}" at a
//     line's end, except in resp-text lines: "+", OK, NO, BAD, BYE and
//     PREAUTH, which never carry one) and hands imapclient a continuation
//     "+ " of its own at the next boundary between responses, so that its
//     wait ends without the server's turn. A read waiting on the server is
//     woken for it: the connection is read by a goroutine of its own, one
//     read at a time and only when imapclient asks for bytes, so that its
//     deadlines, Close and the watchdog act on that read as before.
//
// The continuation cannot come before an answer to the APPEND itself: it
// is queued before the announcement leaves, at the first boundary after
// the bytes imapclient has read, and the server cannot answer a command
// before it has it. imapclient reads with one goroutine (Read is not for
// concurrent use).
type litPlusConn struct {
	net.Conn
	on atomic.Bool // rewrite synchronizing literals (the server has LITERAL+)

	wmu  sync.Mutex
	cmd  cmdStream
	wbuf []byte

	mu      sync.Mutex
	resp    respStream
	inject  int    // continuations to hand out at the next boundaries
	synth   []byte // rest of a continuation being handed out
	buf     []byte // read from the server, not yet handed out
	rerr    error  // error of the last read, after buf
	reading bool   // a read of the connection is under way
	raw     []byte
	wake    chan struct{}
}

// continuation is what the server would have said.
var continuation = []byte("+ \r\n")

func newLitPlusConn(c net.Conn) *litPlusConn {
	return &litPlusConn{Conn: c, raw: make([]byte, 32<<10), wake: make(chan struct{}, 1)}
}

func (c *litPlusConn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *litPlusConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	out, syncs := c.cmd.rewrite(c.wbuf[:0], p, c.on.Load())
	c.wbuf = out[:0]
	if syncs > 0 {
		// Queued before the announcement leaves (see the type's comment).
		c.mu.Lock()
		c.inject += syncs
		c.mu.Unlock()
		c.signal()
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *litPlusConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if len(c.synth) > 0 {
			n := copy(p, c.synth)
			c.synth = c.synth[n:]
			return n, nil
		}
		if c.inject > 0 && c.resp.atBoundary() {
			c.inject--
			c.synth = continuation
			continue
		}
		if len(c.buf) > 0 {
			m := c.buf[:min(len(p), len(c.buf))]
			n := len(m)
			if c.inject > 0 {
				n = c.resp.advance(m) // up to the boundary where it goes
			} else {
				c.resp.advanceAll(m)
			}
			copy(p, c.buf[:n])
			c.buf = c.buf[n:]
			return n, nil
		}
		if c.rerr != nil {
			err := c.rerr
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				c.rerr = nil // a deadline passed; the connection may go on
			}
			return 0, err
		}
		if !c.reading {
			c.reading = true
			go c.fill()
		}
		c.mu.Unlock()
		<-c.wake
		c.mu.Lock()
	}
}

// fill reads the connection once, for Read.
func (c *litPlusConn) fill() {
	n, err := c.Conn.Read(c.raw)
	c.mu.Lock()
	c.buf = c.raw[:n]
	c.rerr = err
	c.reading = false
	c.mu.Unlock()
	c.signal()
}

// maxLiteralDigits bounds the size in a literal's announcement.
const maxLiteralDigits = 18

// cmdStream follows the commands a client sends: lines and the literals
// within them.
type cmdStream struct {
	lit int64  // bytes of a literal still to pass
	ann []byte // what may be a literal's announcement, held back
}

// rewrite appends p to out, each synchronizing literal announced
// non-synchronizing when on, and says how many it rewrote. The bytes of
// what may still become an announcement are held back until it is known.
func (s *cmdStream) rewrite(out, p []byte, on bool) ([]byte, int) {
	syncs := 0
	for len(p) > 0 {
		if s.lit > 0 {
			k := int(min(s.lit, int64(len(p))))
			out = append(out, p[:k]...)
			p, s.lit = p[k:], s.lit-int64(k)
			continue
		}
		b := p[0]
		if len(s.ann) == 0 {
			if b != '{' {
				i := bytes.IndexByte(p, '{')
				if i < 0 {
					i = len(p)
				}
				out = append(out, p[:i]...)
				p = p[i:]
				continue
			}
			s.ann = append(s.ann, b)
			p = p[1:]
			continue
		}
		switch announcement(append(s.ann, b)) {
		case annPrefix:
			s.ann = append(s.ann, b)
			p = p[1:]
		case annNone:
			out = append(out, s.ann...) // not one: b is looked at afresh
			s.ann = s.ann[:0]
		default:
			s.ann = append(s.ann, b)
			p = p[1:]
			n, plus := parseAnnouncement(s.ann)
			if on && !plus {
				out = append(out, '{')
				out = strconv.AppendInt(out, n, 10)
				out = append(out, "+}\r\n"...)
				syncs++
			} else {
				out = append(out, s.ann...)
			}
			s.ann = s.ann[:0]
			s.lit = n
		}
	}
	return out, syncs
}

const (
	annNone = iota
	annPrefix
	annWhole
)

// announcement says whether a, starting with '{', is a client's literal
// announcement ("{N}\r\n", "{N+}\r\n", "{N-}\r\n"), the start of one, or
// neither.
func announcement(a []byte) int {
	i := 1
	for i < len(a) && a[i] >= '0' && a[i] <= '9' {
		i++
	}
	digits := i - 1
	if digits > maxLiteralDigits {
		return annNone
	}
	if i == len(a) {
		return annPrefix
	}
	if digits == 0 {
		return annNone
	}
	if a[i] == '+' || a[i] == '-' {
		i++
	}
	for _, want := range []byte("}\r\n") {
		if i == len(a) {
			return annPrefix
		}
		if a[i] != want {
			return annNone
		}
		i++
	}
	if i != len(a) {
		return annNone
	}
	return annWhole
}

func parseAnnouncement(a []byte) (n int64, plus bool) {
	i := 1
	for a[i] >= '0' && a[i] <= '9' {
		n = n*10 + int64(a[i]-'0')
		i++
	}
	return n, a[i] == '+' || a[i] == '-'
}

// respStream follows the responses a server sends, to know where one ends
// and the next begins.
type respStream struct {
	lit    int64  // bytes of a literal still to pass
	inResp bool   // within a response (not at a boundary)
	later  bool   // the current line follows a literal of the response
	head   []byte // the start of the response's first line
	tail   []byte // the end of the current line
}

const (
	respHeadSize = 24
	respTailSize = maxLiteralDigits + 6 // "{", digits, "}", " ", CR, LF
)

func (s *respStream) atBoundary() bool { return !s.inResp }

// advanceAll takes in all of p.
func (s *respStream) advanceAll(p []byte) {
	for len(p) > 0 {
		p = p[s.advance(p):]
	}
}

// advance takes in p up to and including the end of the response under way
// and says how much of p it took.
func (s *respStream) advance(p []byte) int {
	i := 0
	for i < len(p) {
		if s.lit > 0 {
			k := int(min(s.lit, int64(len(p)-i)))
			i += k
			s.lit -= int64(k)
			continue
		}
		b := p[i]
		i++
		s.inResp = true
		if !s.later && len(s.head) < respHeadSize {
			s.head = append(s.head, b)
		}
		if len(s.tail) == respTailSize {
			s.tail = s.tail[:copy(s.tail, s.tail[1:])]
		}
		s.tail = append(s.tail, b)
		if b != '\n' {
			continue
		}
		if n, ok := lineLiteral(s.tail); ok && (s.later || !isRespText(s.head)) {
			s.lit, s.later, s.tail = n, true, s.tail[:0]
			continue
		}
		s.inResp, s.later, s.head, s.tail = false, false, s.head[:0], s.tail[:0]
		return i
	}
	return i
}

// lineLiteral: the line (its end, up to LF) announces a literal of n bytes,
// as imapclient reads one: "{N}", an optional space and CR, LF.
func lineLiteral(tail []byte) (n int64, ok bool) {
	t := bytes.TrimSuffix(tail, []byte("\n"))
	t = bytes.TrimSuffix(t, []byte("\r"))
	t = bytes.TrimSuffix(t, []byte(" "))
	t, ok = bytes.CutSuffix(t, []byte("}"))
	if !ok {
		return 0, false
	}
	i := bytes.LastIndexByte(t, '{')
	if i < 0 || i == len(t)-1 {
		return 0, false
	}
	for _, d := range t[i+1:] {
		if d < '0' || d > '9' {
			return 0, false
		}
		n = n*10 + int64(d-'0')
	}
	return n, true
}

// isRespText: a response starting so is a continuation or a status
// response, whose text never carries a literal.
func isRespText(head []byte) bool {
	if len(head) > 0 && head[0] == '+' {
		return true
	}
	_, rest, ok := bytes.Cut(head, []byte(" "))
	if !ok {
		return false
	}
	word, _, _ := bytes.Cut(rest, []byte(" "))
	word = bytes.TrimRight(word, "\r\n")
	for _, w := range []string{"OK", "NO", "BAD", "BYE", "PREAUTH"} {
		if bytes.EqualFold(word, []byte(w)) {
			return true
		}
	}
	return false
}
