package imapconn

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/emersion/go-imap/v2"
)

// Appender is a destination connection that does one thing: APPEND with
// non-synchronizing literals (LITERAL+), many in flight, answers read in
// order by a goroutine of its own. go-imap v2 waits for the server's "+"
// before every literal over 4 KiB, which costs a round trip per message;
// across a 20 ms link that wait is most of a migration's time. Servers
// without LITERAL+ are served by Conn.Append instead.
type Appender struct {
	Endpoint Endpoint
	watch    *watchedConn
	conn     net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	utf8     bool // IMAP4rev2: names go as UTF-8, not modified UTF-7
	// literalPlus: the server takes non-synchronizing literals; always
	// true once logged in (Appender needs LITERAL+), maybe not before.
	literalPlus bool
	multi       bool // the server announced MULTIAPPEND (RFC 3502)
	mu          sync.Mutex
	tag         int
	queue       chan *PendingAppend
	readErr     error
	// selected is the mailbox last SELECTed: APPENDs into the selected
	// mailbox reuse the server's open copy of it, where an APPEND into
	// another one makes Dovecot open and resync it every time (for maildir,
	// a cost that grows with the folder).
	selected string
	open     *PendingAppend // the APPEND being written, between Begin and End
	done     chan struct{}
	// raw: a connection for commands go-imap cannot send (gmail.go), one
	// at a time, answers read by the caller; LITERAL+ not needed.
	raw  bool
	caps imap.CapSet // after login
}

// PendingAppend is an APPEND whose answer has not been read yet.
type PendingAppend struct {
	tag      string
	isSelect bool // a SELECT sent ahead of APPENDs; its answer is not reported
	finished chan struct{}
	UID      uint32
	Validity uint32
	// UIDs of a MULTIAPPEND's messages in the order they were sent, from
	// APPENDUID's uid-set; nil when the server did not say.
	UIDs []uint32
	// Count is the number of messages in the command.
	Count int
	err   error
}

// Wait blocks until the server has answered.
func (p *PendingAppend) Wait() (*imap.AppendData, error) {
	<-p.finished
	if p.err != nil {
		return nil, p.err
	}
	return &imap.AppendData{UID: imap.UID(p.UID), UIDValidity: p.Validity}, nil
}

// SupportsPipelinedAppend reports whether Appender can be used with a server.
func SupportsPipelinedAppend(caps imap.CapSet) bool { return caps.Has(imap.CapLiteralPlus) }

// DialAppender connects and logs in like Dial, on a connection of its own.
func DialAppender(ctx context.Context, ep Endpoint, opt Options) (*Appender, error) {
	w, err := dialWatched(ctx, ep, opt)
	if err != nil {
		return nil, err
	}
	a := &Appender{Endpoint: ep, watch: w, queue: make(chan *PendingAppend, 4096), done: make(chan struct{})}
	a.conn = a.watch
	a.watch.begin()
	err = a.handshake(ctx)
	a.watch.end()
	if err != nil {
		a.watch.Close()
		return nil, err
	}
	go a.readAnswers()
	return a, nil
}

func (a *Appender) setConn(c net.Conn) {
	a.conn = c
	a.br = bufio.NewReaderSize(c, 16<<10)
	a.bw = bufio.NewWriterSize(c, 64<<10)
}

func (a *Appender) handshake(ctx context.Context) error {
	ep := a.Endpoint
	side := ep.String()
	tlsConf := ep.tlsConfig()
	if ep.Security == SecurityTLS {
		tc := tls.Client(a.watch, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return a.watch.setupErr("TLS handshake with "+side, err, "check the host and port (imaps:// is usually port 993) and the server certificate")
		}
		a.setConn(tc)
	} else {
		a.setConn(a.watch)
	}
	if _, err := a.readLine(); err != nil { // greeting
		return a.watch.setupErr("greeting from "+side, err, "")
	}
	caps, err := a.capabilities()
	if err != nil {
		return err
	}
	if ep.Security == SecurityStartTLS {
		if caps.Has(imap.CapStartTLS) {
			if err := a.simple("STARTTLS"); err != nil {
				return a.watch.setupErr("STARTTLS with "+side, err, "")
			}
			tc := tls.Client(a.watch, tlsConf)
			if err := tc.HandshakeContext(ctx); err != nil {
				return a.watch.setupErr("STARTTLS with "+side, err, "the server offered STARTTLS but the TLS handshake failed; check its certificate")
			}
			a.setConn(tc)
			if caps, err = a.capabilities(); err != nil {
				return err
			}
		} else if !ep.AllowPlaintext {
			return errNoStartTLS(side)
		}
	}
	a.literalPlus = caps.Has(imap.CapLiteralPlus)
	var login string
	var loginArgs []string
	switch {
	case ep.usesOAuth2():
		// Logged in here, below: a refused token is renewed once.
	case caps.Has(imap.Cap("AUTH=PLAIN")) && caps.Has(imap.CapSASLIR):
		login = "AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte(ep.ActAs+"\x00"+ep.User+"\x00"+ep.Password))
	case ep.ActAs != "":
		return &Error{Op: "log in to " + side, Err: errors.New("the server does not offer AUTH=PLAIN with SASL-IR"), Hint: "an administrator login acting for a mailbox needs SASL PLAIN"}
	default:
		login, loginArgs = "LOGIN", []string{ep.User, ep.Password}
	}
	err = nil
	sent := []string{ep.Password, ep.OAuth2Token} // kept out of the server's words, with the SASL answer as sent
	if ir, ok := strings.CutPrefix(login, "AUTHENTICATE PLAIN "); ok {
		sent = append(sent, ir)
	}
	if ep.usesOAuth2() {
		mech := ep.oauth2Mechanism(caps)
		err = xoauth2Login(ctx, ep, "log in to "+side, func(token string) error {
			ir := base64.StdEncoding.EncodeToString(oauth2Response(mech, ep.Mailbox(), ep.Host, ep.Port, token))
			sent = append(sent, token, ir)
			return a.simple("AUTHENTICATE " + string(mech) + " " + ir)
		})
	} else {
		err = a.simple(login, loginArgs...)
	}
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) { // some servers quote the credentials they refused
			redacted := *ie
			redacted.Text = redactSecrets(ie.Text, sent...)
			ie, err = &redacted, &redacted
		}
		e := a.watch.setupErr("log in to "+side, err, "")
		e.Login = ie != nil
		if !e.Temporary && e.Hint == "" {
			e.Hint = "check the user name and password"
		}
		return e
	}
	if caps, err = a.capabilities(); err != nil {
		return err
	}
	a.caps = caps
	if a.raw {
		a.utf8 = caps.Has(imap.CapIMAP4rev2)
		return nil
	}
	if !SupportsPipelinedAppend(caps) {
		return &Error{Op: "pipelined append to " + side, Err: errors.New("the server lost LITERAL+ after login")}
	}
	a.utf8 = caps.Has(imap.CapIMAP4rev2)
	a.literalPlus = true
	a.multi = caps.Has(imap.Cap("MULTIAPPEND"))
	return nil
}

// MultiAppend reports whether the server announced MULTIAPPEND, so that
// Begin, Add and End may be used.
func (a *Appender) MultiAppend() bool { return a.multi }

func errNoStartTLS(side string) *Error {
	return &Error{Op: "connect to " + side, Err: errors.New("the server offers no STARTTLS, so the password would travel unencrypted"),
		Hint: "use imaps:// if the server has it, or pass --allow-plaintext to accept an unencrypted login"}
}

func (a *Appender) nextTag() string {
	a.tag++
	return "F" + strconv.Itoa(a.tag)
}

// simple sends a command, its arguments as IMAP strings (writeString), and
// waits for its tagged answer (handshake only).
func (a *Appender) simple(verb string, args ...string) error {
	tag := a.nextTag()
	a.bw.WriteString(tag + " " + verb)
	for _, arg := range args {
		a.bw.WriteByte(' ')
		if err := a.writeString(arg); err != nil {
			return err
		}
	}
	a.bw.WriteString("\r\n")
	if err := a.bw.Flush(); err != nil {
		return err
	}
	for {
		line, err := a.readLine()
		if err != nil {
			return err
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			return statusError(rest)
		}
		if strings.HasPrefix(line, "* BYE") {
			return &imap.Error{Type: imap.StatusResponseTypeBye, Text: strings.TrimPrefix(line, "* BYE ")}
		}
		if strings.HasPrefix(line, "+") {
			// An OAuth2 mechanism's error challenge: the dummy response
			// 0x01 (RFC 7628 3.2.3; XOAUTH2 servers take it too, see
			// oauth2SASL.Next) makes the server send its NO.
			a.bw.WriteString("AQ==\r\n")
			if err := a.bw.Flush(); err != nil {
				return err
			}
		}
	}
}

// writeString writes s as an IMAP string that cannot end the command: a
// quoted string when it may be one, else a literal, so that CR or LF in a
// folder name, user name or password is data and never a new command.
// Literals are non-synchronizing with LITERAL+; without it (only possible
// in the handshake, before readAnswers runs) the server's "+" is awaited.
func (a *Appender) writeString(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("imapconn: a string sent to the server contains a NUL byte, which IMAP cannot carry")
	}
	if quotable(s, a.utf8) {
		_, err := a.bw.WriteString(quote(s))
		return err
	}
	if a.literalPlus {
		fmt.Fprintf(a.bw, "{%d+}\r\n", len(s))
		_, err := a.bw.WriteString(s)
		return err
	}
	fmt.Fprintf(a.bw, "{%d}\r\n", len(s))
	if err := a.bw.Flush(); err != nil {
		return err
	}
	line, err := a.readLine()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+") {
		_, rest, _ := strings.Cut(line, " ")
		if err := statusError(rest); err != nil {
			return err
		}
		return fmt.Errorf("imap: expected the server's \"+\" for a literal, got %q", line)
	}
	_, err = a.bw.WriteString(s)
	return err
}

// quotable reports whether s may travel as a quoted string: no CR, LF or
// NUL, and 8-bit bytes only where the server reads UTF-8.
func quotable(s string, utf8 bool) bool {
	if len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			return false
		case c >= 0x80 && !utf8:
			return false
		}
	}
	return true
}

// mailboxName spells a folder name the way go-imap does for the same
// server, so that the Appender and Conn name the same folder.
func (a *Appender) mailboxName(mailbox string) string {
	if a.utf8 {
		return strings.ReplaceAll(mailbox, "&", "&-")
	}
	return encodeUTF7(mailbox)
}

func (a *Appender) capabilities() (imap.CapSet, error) {
	tag := a.nextTag()
	a.bw.WriteString(tag + " CAPABILITY\r\n")
	if err := a.bw.Flush(); err != nil {
		return nil, a.watch.setupErr("read capabilities of "+a.Endpoint.String(), err, "")
	}
	caps := imap.CapSet{}
	for {
		line, err := a.readLine()
		if err != nil {
			return nil, a.watch.setupErr("read capabilities of "+a.Endpoint.String(), err, "")
		}
		if rest, ok := strings.CutPrefix(line, "* CAPABILITY "); ok {
			for _, c := range strings.Fields(rest) {
				c = strings.ToUpper(c)
				if c == strings.ToUpper(string(imap.CapIMAP4rev2)) {
					c = string(imap.CapIMAP4rev2) // go-imap's spelling, which CapSet.Has compares with
				}
				caps[imap.Cap(c)] = struct{}{}
			}
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			if err := statusError(rest); err != nil {
				return nil, a.watch.setupErr("read capabilities of "+a.Endpoint.String(), err, "")
			}
			return caps, nil
		}
	}
}

// maxResponse bounds one server response (a line with the literals it
// carries). The Appender reads only short answers; a server that sends
// more is broken or hostile, and reading on would grow memory without end.
const maxResponse = 1 << 20

// errResponseTooLong is returned when a server response exceeds maxResponse.
var errResponseTooLong = fmt.Errorf("imap: the server sent a response longer than %d bytes", maxResponse)

// readLine reads one response line, with any literals it carries inlined,
// at most maxResponse bytes in all.
func (a *Appender) readLine() (string, error) {
	var sb strings.Builder
	for {
		var line []byte
		for {
			chunk, err := a.br.ReadSlice('\n')
			if sb.Len()+len(line)+len(chunk) > maxResponse {
				return "", errResponseTooLong
			}
			line = append(line, chunk...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil {
				return "", err
			}
			break
		}
		text := strings.TrimRight(string(line), "\r\n")
		sb.WriteString(text)
		if i := strings.LastIndexByte(text, '{'); i >= 0 && strings.HasSuffix(text, "}") {
			n, err := strconv.Atoi(strings.TrimSuffix(text[i+1:len(text)-1], "+"))
			if err == nil && n >= 0 {
				if sb.Len()+n > maxResponse {
					return "", errResponseTooLong
				}
				buf := make([]byte, n)
				if _, err := io.ReadFull(a.br, buf); err != nil {
					return "", err
				}
				sb.Write(buf)
				continue
			}
		}
		return sb.String(), nil
	}
}

// statusError turns "OK ...", "NO [CODE] text" or "BAD text" into nil or *imap.Error.
func statusError(rest string) error {
	typ, text, _ := strings.Cut(rest, " ")
	var code string
	if strings.HasPrefix(text, "[") {
		if end := strings.IndexByte(text, ']'); end > 0 {
			code, text = text[1:end], strings.TrimSpace(text[end+1:])
		}
	}
	code, _, _ = strings.Cut(code, " ") // "APPENDUID 1 2" -> "APPENDUID"
	switch strings.ToUpper(typ) {
	case "OK":
		return nil
	case "NO":
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCode(code), Text: text}
	default:
		return &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCode(code), Text: text}
	}
}

// Append sends one APPEND with the message streamed from r (size bytes) and
// returns at once; the answer comes through the returned PendingAppend.
func (a *Appender) Append(mailbox string, flags []imap.Flag, date time.Time, size int64, r io.Reader) (*PendingAppend, error) {
	p, err := a.Begin(mailbox, flags, date, size, r)
	if err != nil {
		return p, err
	}
	return p, a.End()
}

// Begin starts an APPEND command with its first message, streamed from r.
// More messages may be added with Add (a MULTIAPPEND, RFC 3502, when
// MultiAppend reports true) until End finishes the command. The server
// stores all of a MULTIAPPEND's messages or none of them. Only one command
// may be open at a time.
func (a *Appender) Begin(mailbox string, flags []imap.Flag, date time.Time, size int64, r io.Reader) (*PendingAppend, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.readErr != nil {
		return nil, a.readErr
	}
	if a.open != nil {
		return nil, errors.New("imapconn: an APPEND is already open")
	}
	name := a.mailboxName(mailbox)
	if strings.IndexByte(name, 0) >= 0 {
		return nil, fmt.Errorf("imapconn: the folder name %q contains a NUL byte, which IMAP cannot carry", mailbox)
	}
	if a.selected != mailbox {
		sel := &PendingAppend{tag: a.nextTag(), isSelect: true, finished: make(chan struct{})}
		a.watch.begin()
		a.queue <- sel
		a.bw.WriteString(sel.tag + " SELECT ")
		a.writeString(name)
		if _, err := a.bw.WriteString("\r\n"); err != nil {
			return nil, err
		}
		a.selected = mailbox
	}
	p := &PendingAppend{tag: a.nextTag(), finished: make(chan struct{})}
	a.watch.begin() // until the answer is read
	a.queue <- p
	a.open = p
	a.bw.WriteString(p.tag + " APPEND ")
	a.writeString(name) // a write error is sticky: addLocked reports it
	return p, a.addLocked(flags, date, size, r)
}

// Add appends one more message to the command opened by Begin.
func (a *Appender) Add(flags []imap.Flag, date time.Time, size int64, r io.Reader) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.open == nil {
		return errors.New("imapconn: no APPEND is open")
	}
	if !a.multi {
		return errors.New("imapconn: the server has no MULTIAPPEND")
	}
	return a.addLocked(flags, date, size, r)
}

func (a *Appender) addLocked(flags []imap.Flag, date time.Time, size int64, r io.Reader) error {
	var sb strings.Builder
	sb.WriteString(" (")
	for i, f := range flags {
		if !validFlag(string(f)) {
			return fmt.Errorf("imapconn: %q is not a flag IMAP can carry", f)
		}
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(string(f))
	}
	sb.WriteString(")")
	if !date.IsZero() {
		sb.WriteString(` "` + date.Format("02-Jan-2006 15:04:05 -0700") + `"`)
	}
	fmt.Fprintf(&sb, " {%d+}\r\n", size)
	a.open.Count++
	if _, err := a.bw.WriteString(sb.String()); err != nil {
		return err
	}
	n, err := io.CopyN(a.bw, r, size)
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		// The server is waiting for bytes that will not come: the connection is unusable.
		a.conn.Close()
		a.open = nil
		return err
	}
	return nil
}

// End finishes the command opened by Begin. Call Flush before waiting.
func (a *Appender) End() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.open == nil {
		return errors.New("imapconn: no APPEND is open")
	}
	a.open = nil
	_, err := a.bw.WriteString("\r\n")
	return err
}

// Flush sends what is buffered; call it before waiting for answers.
func (a *Appender) Flush() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bw.Flush()
}

func (a *Appender) readAnswers() {
	defer close(a.done)
	var cur *PendingAppend
	fail := func(err error) {
		a.mu.Lock()
		a.readErr = err
		a.mu.Unlock()
		a.conn.Close()
		if cur != nil {
			cur.err = err
			close(cur.finished)
			a.watch.end()
		}
		for {
			select {
			case p := <-a.queue:
				p.err = err
				close(p.finished)
				a.watch.end()
			default:
				return
			}
		}
	}
	for {
		line, err := a.readLine()
		if err != nil {
			if a.watch.killed.Load() {
				err = fmt.Errorf("%w: %v", ErrDeadConnection, err)
			}
			fail(err)
			return
		}
		if strings.HasPrefix(line, "* BYE") {
			fail(&imap.Error{Type: imap.StatusResponseTypeBye, Text: strings.TrimPrefix(line, "* BYE ")})
			return
		}
		if strings.HasPrefix(line, "*") || strings.HasPrefix(line, "+") {
			continue
		}
		tag, rest, _ := strings.Cut(line, " ")
		if cur == nil {
			select {
			case cur = <-a.queue:
			default:
				continue // an answer to nothing we sent
			}
		}
		if tag != cur.tag {
			fail(fmt.Errorf("imap: answer %q out of order, expected %s", tag, cur.tag))
			return
		}
		cur.err = statusError(rest)
		if cur.isSelect {
			// A folder that cannot be selected still takes APPENDs; only speed is lost.
			cur.err = nil
		}
		if cur.err == nil {
			if i := strings.Index(strings.ToUpper(rest), "[APPENDUID "); i >= 0 {
				code, _, _ := strings.Cut(rest[i+11:], "]")
				f := strings.Fields(code)
				if len(f) >= 2 {
					v, _ := strconv.ParseUint(f[0], 10, 32)
					cur.Validity = uint32(v)
					if uids := parseUIDSet(f[1]); len(uids) == cur.Count {
						cur.UIDs = uids
						cur.UID = uids[0]
					}
				}
			}
		}
		close(cur.finished)
		a.watch.end()
		cur = nil
	}
}

// Close drops the connection; pending appends fail.
func (a *Appender) Close() error {
	err := a.watch.Close()
	<-a.done
	return err
}

// Logout ends the session politely, bounded in time.
func (a *Appender) Logout() {
	a.mu.Lock()
	a.bw.WriteString(a.nextTag() + " LOGOUT\r\n")
	a.bw.Flush()
	a.mu.Unlock()
	select {
	case <-a.done:
	case <-time.After(5 * time.Second):
	}
	a.Close()
}

// parseUIDSet reads APPENDUID's uid-set ("7", "7:9", "7,9:10") in order.
// It returns nil when the set is malformed or unreasonably large.
func parseUIDSet(s string) []uint32 {
	var out []uint32
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil || a == 0 {
			return nil
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 32); err != nil || b == 0 {
				return nil
			}
		}
		if b < a {
			a, b = b, a
		}
		if b-a > 1<<20 || len(out) > 1<<20 {
			return nil
		}
		for u := a; u <= b; u++ {
			out = append(out, uint32(u))
		}
	}
	return out
}

// validFlag reports whether f is a flag or keyword atom (RFC 3501: no
// space, control, parenthesis, brace, quote, '%', '*' or ']'), so that it
// cannot change the command it is written into.
func validFlag(f string) bool {
	name := strings.TrimPrefix(f, "\\")
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\\]`, c) >= 0 {
			return false
		}
	}
	return true
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// encodeUTF7 is IMAP's modified UTF-7 for mailbox names (RFC 3501 5.1.3).
func encodeUTF7(s string) string {
	var sb strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		b := make([]byte, 2*len(u))
		for i, c := range u {
			b[2*i], b[2*i+1] = byte(c>>8), byte(c)
		}
		enc := base64.StdEncoding.WithPadding(base64.NoPadding).EncodeToString(b)
		sb.WriteString("&" + strings.ReplaceAll(enc, "/", ",") + "-")
		run = run[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				sb.WriteString("&-")
			} else {
				sb.WriteRune(r)
			}
			continue
		}
		run = append(run, r)
	}
	flush()
	return sb.String()
}
