package imapconn

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/emersion/go-imap/v2"
)

// Gmail's IMAP extensions (X-GM-EXT-1,
// https://developers.google.com/gmail/imap/imap-extensions): go-imap v2
// cannot send the X-GM-MSGID and X-GM-LABELS fetch items nor read their
// answers, so GmailConn sends those few commands itself on a connection
// of its own (dialled and logged in as the Appender is) and parses the one
// answer shape they have, with bounds.

// GmailMessage is one message as Gmail's X-GM-EXT-1 describes it: its UID
// in the folder read, its X-GM-MSGID (the same in every folder, for the
// life of the message) and its labels (user labels by name, system ones
// as \Inbox, \Sent, \Draft, \Starred, \Important, \Spam, \Trash).
type GmailMessage struct {
	UID    uint32
	MsgID  uint64
	Labels []string
}

// GmailConn is a connection for Gmail's extension commands.
type GmailConn struct{ a *Appender }

// DialGmail connects and logs in like Dial, on a connection of its own.
// The server must announce X-GM-EXT-1.
func DialGmail(ctx context.Context, ep Endpoint, opt Options) (*GmailConn, error) {
	w, err := dialWatched(ctx, ep, opt)
	if err != nil {
		return nil, err
	}
	a := &Appender{Endpoint: ep, watch: w, raw: true, done: make(chan struct{})}
	a.conn = a.watch
	a.watch.begin()
	err = a.handshake(ctx)
	a.watch.end()
	if err == nil && !a.caps.Has("X-GM-EXT-1") {
		err = &Error{Op: "read Gmail labels of " + ep.String(), Err: errors.New("the server does not announce X-GM-EXT-1: it is not Gmail")}
	}
	if err != nil {
		a.watch.Close()
		return nil, err
	}
	return &GmailConn{a: a}, nil
}

// Logout ends the session, bounded in time by the connection's watchdog.
func (g *GmailConn) Logout() {
	a := g.a
	a.watch.begin()
	tag := a.nextTag()
	a.bw.WriteString(tag + " LOGOUT\r\n")
	if a.bw.Flush() == nil {
		for { // the answer read to its end: the server closes, not we mid-answer
			line, err := a.readLine()
			if err != nil || strings.HasPrefix(line, tag+" ") {
				break
			}
		}
	}
	a.watch.end()
	a.watch.Close()
}

// maxGmailMessages bounds one folder's listing (Gmail allows far fewer
// messages per mailbox than this).
const maxGmailMessages = 50_000_000

// Labels reads the X-GM-MSGID and labels of every message of folder
// (usually [Gmail]/All Mail), in UID order: EXAMINE, then
// UID FETCH 1:* (UID X-GM-MSGID X-GM-LABELS).
func (g *GmailConn) Labels(ctx context.Context, folder string) ([]GmailMessage, error) {
	a := g.a
	op := "read Gmail labels in " + folder
	a.watch.begin()
	defer a.watch.end()
	if err := a.simple("EXAMINE " + quote(a.mailboxName(folder))); err != nil {
		return nil, Classify(op, err)
	}
	tag := a.nextTag()
	a.bw.WriteString(tag + " UID FETCH 1:* (UID X-GM-MSGID X-GM-LABELS)\r\n")
	if err := a.bw.Flush(); err != nil {
		return nil, Classify(op, err)
	}
	var out []GmailMessage
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		line, err := a.readLine()
		if err != nil {
			return nil, a.watch.setupErr(op, err, "")
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			if err := statusError(rest); err != nil {
				return nil, Classify(op, err)
			}
			return out, nil
		}
		if strings.HasPrefix(line, "* BYE") {
			return nil, Classify(op, &imap.Error{Type: imap.StatusResponseTypeBye, Text: strings.TrimPrefix(line, "* BYE ")})
		}
		m, ok, err := ParseGmailFetch(line, a.utf8)
		if err != nil {
			return nil, &Error{Op: op, Err: err}
		}
		if ok {
			if len(out) >= maxGmailMessages {
				return nil, &Error{Op: op, Err: fmt.Errorf("more than %d messages", maxGmailMessages)}
			}
			out = append(out, m)
		}
	}
}

// Limits of ParseGmailFetch: a hostile or broken server cannot make it
// recurse or allocate without end (the line itself is bounded by
// maxResponse).
const (
	maxGmailLabels = 10_000
	maxGmailDepth  = 8
)

// ParseGmailFetch reads one "* n FETCH (UID u X-GM-MSGID id X-GM-LABELS
// (...))" line (literals inlined after their "{n}", as readLine gives
// them). ok is false for any other untagged line; err says what is wrong
// with a FETCH line that lacks UID or X-GM-MSGID or does not parse. Labels
// come decoded from modified UTF-7 unless utf8.
func ParseGmailFetch(line string, utf8 bool) (m GmailMessage, ok bool, err error) {
	rest, found := strings.CutPrefix(line, "* ")
	if !found {
		return m, false, nil
	}
	num, rest, _ := strings.Cut(rest, " ")
	if _, err := strconv.ParseUint(num, 10, 32); err != nil || !strings.HasPrefix(strings.ToUpper(rest), "FETCH ") {
		return m, false, nil
	}
	p := &gmParser{s: rest[len("FETCH "):]}
	if !p.take('(') {
		return m, true, errors.New("Gmail FETCH answer without its list")
	}
	var haveUID, haveID bool
	for !p.take(')') {
		if p.done() {
			return m, true, errors.New("Gmail FETCH answer cut short")
		}
		name := strings.ToUpper(p.atom())
		if name == "" {
			return m, true, fmt.Errorf("Gmail FETCH answer: unexpected %q", p.near())
		}
		p.space()
		switch name {
		case "UID":
			n, err := strconv.ParseUint(p.atom(), 10, 32)
			if err != nil || n == 0 {
				return m, true, errors.New("Gmail FETCH answer: bad UID")
			}
			m.UID, haveUID = uint32(n), true
		case "X-GM-MSGID":
			n, err := strconv.ParseUint(p.atom(), 10, 64)
			if err != nil {
				return m, true, errors.New("Gmail FETCH answer: bad X-GM-MSGID")
			}
			m.MsgID, haveID = n, true
		case "X-GM-LABELS":
			if m.Labels, err = p.labels(utf8); err != nil {
				return m, true, err
			}
		default:
			if err := p.skip(0); err != nil {
				return m, true, err
			}
		}
		p.space()
	}
	if !haveUID || !haveID {
		return m, true, errors.New("Gmail FETCH answer without UID or X-GM-MSGID")
	}
	return m, true, nil
}

type gmParser struct {
	s string
	i int
}

func (p *gmParser) done() bool { return p.i >= len(p.s) }

func (p *gmParser) near() string { return p.s[p.i:min(len(p.s), p.i+20)] }

func (p *gmParser) take(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *gmParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

// atom reads up to a space, parenthesis or quote.
func (p *gmParser) atom() string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(" ()\"{", rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}

// str reads an atom, a quoted string or a literal ({n} then n bytes).
func (p *gmParser) str() (string, error) {
	switch {
	case p.take('"'):
		var sb strings.Builder
		for {
			if p.done() {
				return "", errors.New("Gmail FETCH answer: unterminated string")
			}
			c := p.s[p.i]
			p.i++
			switch c {
			case '"':
				return sb.String(), nil
			case '\\':
				if p.done() {
					return "", errors.New("Gmail FETCH answer: unterminated string")
				}
				sb.WriteByte(p.s[p.i])
				p.i++
			default:
				sb.WriteByte(c)
			}
		}
	case p.take('{'):
		end := strings.IndexByte(p.s[p.i:], '}')
		if end < 0 {
			return "", errors.New("Gmail FETCH answer: bad literal")
		}
		n, err := strconv.Atoi(strings.TrimSuffix(p.s[p.i:p.i+end], "+"))
		p.i += end + 1
		if err != nil || n < 0 || n > len(p.s)-p.i {
			return "", errors.New("Gmail FETCH answer: bad literal")
		}
		v := p.s[p.i : p.i+n]
		p.i += n
		return v, nil
	}
	a := p.atom()
	if a == "" {
		return "", fmt.Errorf("Gmail FETCH answer: unexpected %q", p.near())
	}
	return a, nil
}

func (p *gmParser) labels(utf8 bool) ([]string, error) {
	if !p.take('(') {
		return nil, errors.New("Gmail FETCH answer: X-GM-LABELS without its list")
	}
	labels := []string{}
	for {
		p.space()
		if p.take(')') {
			return labels, nil
		}
		if p.done() {
			return nil, errors.New("Gmail FETCH answer: X-GM-LABELS list cut short")
		}
		if len(labels) >= maxGmailLabels {
			return nil, fmt.Errorf("Gmail FETCH answer: more than %d labels", maxGmailLabels)
		}
		l, err := p.str()
		if err != nil {
			return nil, err
		}
		if !utf8 && !strings.HasPrefix(l, `\`) {
			l = decodeUTF7(l)
		}
		labels = append(labels, l)
	}
}

// skip passes over one value of an item Ferry does not read (FLAGS,
// MODSEQ...).
func (p *gmParser) skip(depth int) error {
	if depth > maxGmailDepth {
		return errors.New("Gmail FETCH answer: lists nested too deep")
	}
	if !p.take('(') {
		_, err := p.str()
		return err
	}
	for {
		p.space()
		if p.take(')') {
			return nil
		}
		if p.done() {
			return errors.New("Gmail FETCH answer: list cut short")
		}
		if err := p.skip(depth + 1); err != nil {
			return err
		}
	}
}

// decodeUTF7 reads IMAP's modified UTF-7 (RFC 3501 5.1.3); a name that is
// not valid modified UTF-7 is kept as it is.
func decodeUTF7(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '&' {
			sb.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '-')
		if end < 0 {
			return s
		}
		enc := s[i+1 : i+end]
		i += end + 1
		if enc == "" {
			sb.WriteByte('&')
			continue
		}
		b, err := base64.RawStdEncoding.DecodeString(strings.ReplaceAll(enc, ",", "/"))
		if err != nil || len(b)%2 != 0 {
			return s
		}
		u := make([]uint16, len(b)/2)
		for j := range u {
			u[j] = uint16(b[2*j])<<8 | uint16(b[2*j+1])
		}
		sb.WriteString(string(utf16.Decode(u)))
	}
	return sb.String()
}

// AddLabel gives the message uid of folder one more label (UID STORE
// +X-GM-LABELS) and returns its UID in that label's folder (UID SEARCH
// X-GM-MSGID there): on Gmail a message is in the folder of each of its
// labels, so this puts it in labelFolder without a second APPEND.
func (g *GmailConn) AddLabel(ctx context.Context, folder string, uid uint32, label, labelFolder string) (uint32, error) {
	a := g.a
	op := fmt.Sprintf("add the label %s to message UID %d of %s", label, uid, folder)
	a.watch.begin()
	defer a.watch.end()
	if err := a.simple("SELECT " + quote(a.mailboxName(folder))); err != nil {
		return 0, Classify(op, err)
	}
	var msgID uint64
	found := false
	if err := g.command(ctx, op, fmt.Sprintf("UID FETCH %d (UID X-GM-MSGID)", uid), func(line string) error {
		if m, ok, err := ParseGmailFetch(line, a.utf8); ok && err == nil && m.UID == uid {
			msgID, found = m.MsgID, true
		}
		return nil
	}); err != nil {
		return 0, err
	}
	if !found {
		return 0, &Error{Op: op, Err: errors.New("the message is not there any more")}
	}
	l := label
	if !strings.HasPrefix(l, `\`) {
		l = quote(a.mailboxName(label))
	}
	if err := g.command(ctx, op, fmt.Sprintf("UID STORE %d +X-GM-LABELS.SILENT (%s)", uid, l), nil); err != nil {
		return 0, err
	}
	if err := a.simple("SELECT " + quote(a.mailboxName(labelFolder))); err != nil {
		return 0, Classify(op, err)
	}
	var got uint32
	if err := g.command(ctx, op, fmt.Sprintf("UID SEARCH X-GM-MSGID %d", msgID), func(line string) error {
		if rest, ok := strings.CutPrefix(line, "* SEARCH"); ok {
			for _, f := range strings.Fields(rest) {
				if n, err := strconv.ParseUint(f, 10, 32); err == nil && uint32(n) > got {
					got = uint32(n)
				}
			}
		}
		return nil
	}); err != nil {
		return 0, err
	}
	if got == 0 {
		return 0, &Error{Op: op, Err: fmt.Errorf("Gmail did not show the message in %s after labelling it", labelFolder)}
	}
	return got, nil
}

// command sends one command and hands each untagged line to fn.
func (g *GmailConn) command(ctx context.Context, op, cmd string, fn func(line string) error) error {
	a := g.a
	tag := a.nextTag()
	a.bw.WriteString(tag + " " + cmd + "\r\n")
	if err := a.bw.Flush(); err != nil {
		return Classify(op, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, err := a.readLine()
		if err != nil {
			return a.watch.setupErr(op, err, "")
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			if err := statusError(rest); err != nil {
				return Classify(op, err)
			}
			return nil
		}
		if strings.HasPrefix(line, "* BYE") {
			return Classify(op, &imap.Error{Type: imap.StatusResponseTypeBye, Text: strings.TrimPrefix(line, "* BYE ")})
		}
		if fn != nil {
			if err := fn(line); err != nil {
				return err
			}
		}
	}
}
