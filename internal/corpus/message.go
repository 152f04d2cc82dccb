package corpus

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

type kind uint8

const (
	kindNormal kind = iota
	kindSent
	kindDraft
	kindJunk
	kindTrash
	kindArchive
	// awkward kinds
	kindNoMessageID
	kindRaw8bit
	kindBareLF
	kindEmptyBody
	kindLongLine
	kindHuge
	kindDupA
	kindDupB
	kindNoDate
	kindDeep
	kindEmoji
)

var kindNames = [...]string{
	kindNoMessageID: "no-message-id",
	kindRaw8bit:     "raw-8bit-headers",
	kindBareLF:      "bare-lf",
	kindEmptyBody:   "empty-body",
	kindLongLine:    "long-line",
	kindHuge:        "huge",
	kindDupA:        "duplicate-a",
	kindDupB:        "duplicate-b",
	kindNoDate:      "no-date",
	kindDeep:        "deep-folder",
	kindEmoji:       "emoji-folder",
}

// Kind returns the awkward property of a message from Awkward (see Awkward
// for the list), or "" for an ordinary generated message.
func (m *Message) Kind() string {
	if int(m.kind) < len(kindNames) {
		return kindNames[m.kind]
	}
	return ""
}

// LongLineLen is the length (without line end) of the long body line of the
// "long-line" awkward message.
const LongLineLen = 12000

// Bytes returns the message: an RFC 5322 message of exactly m.Size bytes.
// It panics if m was not produced by Generate or Awkward (or its Size was
// changed).
func (m *Message) Bytes() []byte {
	var b bytes.Buffer
	b.Grow(int(m.Size))
	if _, err := m.WriteTo(&b); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// WriteTo streams the message to w (the same bytes as Bytes) without holding
// it in memory. It implements io.WriterTo.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(cw)
	err := m.write(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	bw.Reset(nil)
	writerPool.Put(bw)
	if err == nil && cw.n != m.Size {
		err = fmt.Errorf("corpus: generated %d bytes, want %d", cw.n, m.Size)
	}
	return cw.n, err
}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

type countWriter struct {
	w io.Writer
	n int64
}

func (cw *countWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	return n, err
}

var errTooSmall = errors.New("corpus: message Size too small for its headers (not a generated message?)")

func (m *Message) write(w *bufio.Writer) error {
	l := m.layout()
	if l.text < 0 || l.b64 < 0 || (l.text > 0 && l.text < int64(len(l.eol))) {
		return errTooSmall
	}
	br := rng{mix(m.seed, 2)}
	if m.kind == kindDupB {
		br = rng{mix(m.seed, 3)}
	}
	if _, err := w.Write(l.hdr); err != nil {
		return err
	}
	if !l.multipart {
		return m.writeText(w, &br, &l, l.text)
	}
	w.WriteString(l.pre)
	if err := m.writeText(w, &br, &l, l.text); err != nil {
		return err
	}
	w.WriteString(l.mid)
	if err := writeBase64(w, &br, l.att.magic, l.b64); err != nil {
		return err
	}
	_, err := w.WriteString(l.end)
	return err
}

// layout is the structure of a message: its header section and how the
// remaining bytes are split between the text part and the attachment.
type layout struct {
	eol       string
	hdr       []byte // header section including the terminating blank line
	multipart bool
	qp        bool
	att       *attachment
	pre       string // multipart: preamble, first delimiter and text part header
	mid       string // multipart: delimiter and attachment part header
	end       string // multipart: close delimiter
	text      int64  // bytes of text body (part)
	b64       int64  // bytes of base64 attachment body
}

// layout derives everything that determines the header from m.seed, so the
// two "duplicate" messages (same seed, different body seeds) share headers.
func (m *Message) layout() layout {
	r := rng{m.seed}
	l := layout{eol: "\r\n"}
	if m.kind == kindBareLF {
		l.eol = "\n"
	}
	eol := l.eol

	// All random draws happen unconditionally and in a fixed order.
	p1 := &people[r.intn(len(people))]
	p2 := &people[r.intn(len(people))]
	junk := &spammers[r.intn(len(spammers))]
	subj := subjects[r.intn(len(subjects))]
	junkSubj := junkSubjects[r.intn(len(junkSubjects))]
	num := strconv.Itoa(1000 + r.intn(9000))
	prefixRoll := r.intn(100)
	ccRoll := r.intn(100)
	encRoll := r.intn(100)
	zone := zones[r.intn(len(zones))]
	delay := time.Duration(r.intn(900)) * time.Second
	mpRoll := r.intn(100)
	qpRoll := r.intn(100)
	l.att = &attachments[r.intn(len(attachments))]
	boundary := fmt.Sprintf("=_ferry_%016x", r.next())
	textTarget := int64(300 + r.intn(5000))

	from, to := p1, &owner
	switch m.kind {
	case kindSent, kindDraft:
		from, to = &owner, p1
	case kindJunk:
		from = junk
		subj = junkSubj
	}
	var cc *person
	if ccRoll < 20 && p2 != from && p2 != to && m.kind != kindJunk {
		cc = p2
	}
	subj = strings.Replace(subj, "{n}", num, 1)
	subjPrefix := "" // kept outside the encoded words, as most clients do
	if m.kind != kindJunk && m.kind != kindDraft {
		switch {
		case prefixRoll < 20:
			subjPrefix = "Re: "
		case prefixRoll < 24:
			subjPrefix = "Fwd: "
		case prefixRoll < 26:
			subjPrefix = "AW: "
		}
	}

	switch m.kind {
	case kindHuge:
		l.multipart = true
	case kindEmptyBody, kindBareLF, kindLongLine, kindRaw8bit:
	default:
		l.multipart = m.Size >= 32<<10 && mpRoll < 90 || m.Size >= 4<<10 && mpRoll < 15
	}
	switch m.kind {
	case kindRaw8bit, kindBareLF, kindLongLine, kindEmptyBody:
	default:
		l.qp = qpRoll < 25
	}

	for {
		var h []byte
		add := func(name, value string) {
			h = append(h, name...)
			h = append(h, ": "...)
			h = append(h, value...)
			h = append(h, eol...)
		}
		if m.kind != kindNoDate {
			t := m.Date.Add(-delay).In(time.FixedZone("", zone))
			add("Date", t.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
		}
		if m.kind == kindRaw8bit {
			// Latin-1 in From, UTF-8 in Subject, both unencoded.
			add("From", "J\xfcrgen M\xfcller <juergen.mueller@firma.example>")
			add("To", formatAddr(to, encRoll))
			add("Subject", "Grüße aus Köln – Überweisung für März ✓")
		} else {
			add("From", formatAddr(from, encRoll))
			add("To", formatAddr(to, encRoll))
			if cc != nil {
				add("Cc", formatAddr(cc, encRoll))
			}
			add("Subject", subjPrefix+encodeHeader(subj, encRoll))
		}
		if m.MessageID != "" {
			add("Message-ID", m.MessageID)
		}
		add("MIME-Version", "1.0")
		cte := "8bit"
		if l.qp {
			cte = "quoted-printable"
		}
		if l.multipart {
			add("Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
		} else {
			add("Content-Type", "text/plain; charset=utf-8")
			add("Content-Transfer-Encoding", cte)
		}
		h = append(h, eol...)
		l.hdr = h

		avail := m.Size - int64(len(h))
		if !l.multipart {
			l.text = avail
			return l
		}
		l.pre = "This is a multi-part message in MIME format." + eol + eol +
			"--" + boundary + eol +
			"Content-Type: text/plain; charset=utf-8" + eol +
			"Content-Transfer-Encoding: " + cte + eol + eol
		l.mid = "--" + boundary + eol +
			"Content-Type: " + l.att.ctype + "; name=" + l.att.nameParam + eol +
			"Content-Disposition: attachment; " + l.att.fileParam + eol +
			"Content-Transfer-Encoding: base64" + eol + eol
		l.end = "--" + boundary + "--" + eol
		avail -= int64(len(l.pre) + len(l.mid) + len(l.end))
		if avail < 256 {
			// Too small for an attachment: fall back to a single part.
			l.multipart = false
			l.pre, l.mid, l.end = "", "", ""
			continue
		}
		t := max(min(textTarget, avail/4), 64)
		l.b64 = validBase64Len(avail - t)
		l.text = avail - l.b64
		return l
	}
}

// validBase64Len returns the largest n' <= n such that n' bytes can be a
// base64 body of 76-character lines with CRLF line ends (the last line being
// shorter, with a multiple of 4 characters).
func validBase64Len(n int64) int64 {
	q, r := n/78, n%78
	if r < 6 {
		r = 0
	} else {
		r = 6 + (r-6)/4*4
	}
	return q*78 + r
}

func writeBase64(w *bufio.Writer, r *rng, magic string, n int64) error {
	const lines = 64
	var raw [57 * lines]byte
	var enc [78 * lines]byte
	first := true
	for n > 0 {
		full := min(n/78, lines)
		var rawLen, outLen int
		if full > 0 {
			rawLen = int(full) * 57
		} else {
			rawLen = int(n-2) / 4 * 3
		}
		fillRandom(r, raw[:rawLen])
		if first {
			copy(raw[:], magic)
			first = false
		}
		for i := 0; i < rawLen; i += 57 {
			j := min(i+57, rawLen)
			k := base64.StdEncoding.EncodedLen(j - i)
			base64.StdEncoding.Encode(enc[outLen:], raw[i:j])
			outLen += k
			enc[outLen] = '\r'
			enc[outLen+1] = '\n'
			outLen += 2
		}
		if _, err := w.Write(enc[:outLen]); err != nil {
			return err
		}
		n -= int64(outLen)
	}
	return nil
}

func fillRandom(r *rng, b []byte) {
	for len(b) >= 8 {
		v := r.next()
		for i := 0; i < 8; i++ {
			b[i] = byte(v >> (8 * i))
		}
		b = b[8:]
	}
	v := r.next()
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
}

func (m *Message) writeText(w *bufio.Writer, r *rng, l *layout, n int64) error {
	eol := l.eol
	if n == 0 {
		return nil
	}
	if m.kind == kindLongLine {
		intro := "The next line is " + strconv.Itoa(LongLineLen) + " characters long." + eol
		w.WriteString(intro)
		writeLongLine(w, r, LongLineLen)
		w.WriteString(eol)
		n -= int64(len(intro) + LongLineLen + len(eol))
		if n < 0 {
			return errTooSmall
		}
		return fillText(w, r, n, false, eol)
	}
	greet := greetings[r.intn(len(greetings))] + eol + eol
	closing := eol + closings[r.intn(len(closings))] + eol + signatures[r.intn(len(signatures))] + eol
	if n < int64(len(greet)+len(closing))+64 {
		return fillText(w, r, n, l.qp, eol)
	}
	w.WriteString(greet)
	if err := fillText(w, r, n-int64(len(greet)+len(closing)), l.qp, eol); err != nil {
		return err
	}
	_, err := w.WriteString(closing)
	return err
}

func writeLongLine(w *bufio.Writer, r *rng, n int) {
	written := 0
	for written < n {
		word := asciiWords[r.intn(len(asciiWords))]
		if written > 0 {
			word = " " + word
		}
		if written+len(word) > n {
			word = strings.Repeat(".", n-written)
		}
		w.WriteString(word)
		written += len(word)
	}
}

// fillText writes exactly n bytes of text lines (each at most 76 characters
// plus eol, ending with eol). n must be 0 or >= len(eol).
func fillText(w *bufio.Writer, r *rng, n int64, qp bool, eol string) error {
	el := int64(len(eol))
	words := plainWords
	if qp {
		words = qpWords
	}
	var line []byte
	for n > 0 {
		if n <= 76+el {
			// Last line: ASCII words, padded with dots to the exact length.
			c := int(n - el)
			line = line[:0]
			for {
				word := asciiWords[r.intn(len(asciiWords))]
				need := len(word)
				if len(line) > 0 {
					need++
				}
				if len(line)+need > c {
					break
				}
				if len(line) > 0 {
					line = append(line, ' ')
				}
				line = append(line, word...)
			}
			for len(line) < c {
				line = append(line, '.')
			}
			line = append(line, eol...)
			_, err := w.Write(line)
			return err
		}
		if n > 76+2*el && r.intn(10) == 0 {
			w.WriteString(eol) // paragraph break
			n -= el
			continue
		}
		target := min(40+r.intn(37), int(n-2*el))
		line = line[:0]
		for {
			word := words[r.intn(len(words))]
			need := len(word)
			if len(line) > 0 {
				need++
			}
			if len(line)+need > target {
				break
			}
			if len(line) > 0 {
				line = append(line, ' ')
			}
			line = append(line, word...)
			if r.intn(9) == 0 && len(line)+1 <= target {
				line = append(line, '.')
			}
		}
		line = append(line, eol...)
		if _, err := w.Write(line); err != nil {
			return err
		}
		n -= int64(len(line))
	}
	return nil
}

type person struct {
	name, local, domain string
}

var owner = person{"Alex Ferry", "alex", "ferry.example"}

var people = []person{
	{"Anna Schmidt", "anna.schmidt", "example.com"},
	{"Jürgen Müller", "juergen.mueller", "firma.example"},
	{"Élodie Durand", "elodie.durand", "example.org"},
	{"Дмитрий Иванов", "d.ivanov", "example.net"},
	{"田中 太郎", "tanaka", "jp.example"},
	{"Bob Smith", "bob", "example.com"},
	{"Carol O'Neil", "carol.oneil", "example.org"},
	{"Li, Wei", "wei.li", "example.com"},
	{"", "noreply", "notifications.example"},
	{"Support Team", "support", "service.example"},
	{"Søren Kierkegaard", "soren", "example.net"},
	{"Dr. María José García-López", "mj.garcia", "universidad.example"},
}

var spammers = []person{
	{"Lottery Board", "winner", "prize.example"},
	{"Bank Security", "security", "bank-verify.example"},
	{"Pharmacy €€€", "deals", "cheap.example"},
}

var subjects = []string{
	"Quarterly report",
	"Meeting notes from Tuesday",
	"Invoice #{n}",
	"Lunch on Friday?",
	"Your order {n} has shipped",
	"Project X status update",
	"Photos from the trip",
	"Contract draft v{n}",
	"Weekly newsletter #{n}",
	"Server maintenance tonight",
	"Überweisung für März",
	"Réunion d'équipe à 14h",
	"Отчёт за квартал",
	"会議のお知らせ",
	"Grüße aus Köln 🎉",
	"Ça va ? Café demain",
	"Счёт №{n}",
	"見積書の送付について (No. {n})",
	"A very long subject line that goes on and on about the agenda for the upcoming planning meeting with all the stakeholders {n}",
	"Ειδοποίηση: νέα έκδοση",
}

var junkSubjects = []string{
	"You have WON {n} EUR!!!",
	"Urgent: verify your account",
	"Ganz schnell reich werden – nur heute!",
	"Cheap meds, no prescription",
}

var greetings = []string{"Hi,", "Hello,", "Dear all,", "Good morning,", "Hallo,", "Bonjour,"}
var closings = []string{"Best regards,", "Cheers,", "Thanks,", "Regards,", "Kind regards,"}
var signatures = []string{"Alex", "Anna", "Bob", "J. Mueller", "Elodie", "The Support Team"}

var zones = []int{0, 3600, 7200, -5 * 3600, -8 * 3600, 9 * 3600, 5*3600 + 1800, -3 * 3600}

type attachment struct {
	ctype, name, magic string
	nameParam          string // value of the Content-Type name parameter
	fileParam          string // Content-Disposition filename parameter (name=value)
}

var attachments = func() []attachment {
	l := []attachment{
		{ctype: "application/pdf", name: "report.pdf", magic: "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"},
		{ctype: "image/jpeg", name: "IMG_2041.jpg", magic: "\xff\xd8\xff\xe0\x00\x10JFIF\x00"},
		{ctype: "application/zip", name: "archive.zip", magic: "PK\x03\x04"},
		{ctype: "application/vnd.openxmlformats-officedocument.presentationml.presentation", name: "Präsentation Q1.pptx", magic: "PK\x03\x04"},
		{ctype: "image/png", name: "screenshot.png", magic: "\x89PNG\r\n\x1a\n"},
		{ctype: "application/octet-stream", name: "данные.bin"},
	}
	for i := range l {
		a := &l[i]
		if isASCII(a.name) {
			a.nameParam = `"` + a.name + `"`
			a.fileParam = `filename="` + a.name + `"`
		} else {
			a.nameParam = `"` + mime.BEncoding.Encode("UTF-8", a.name) + `"`
			a.fileParam = "filename*=UTF-8''" + strings.ReplaceAll(url.PathEscape(a.name), "+", "%2B")
		}
	}
	return l
}()

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// encodeHeader RFC 2047-encodes s if it is not ASCII (B or Q encoding).
func encodeHeader(s string, roll int) string {
	if isASCII(s) {
		return s
	}
	if roll < 60 {
		return mime.BEncoding.Encode("UTF-8", s)
	}
	return mime.QEncoding.Encode("UTF-8", s)
}

func formatAddr(p *person, roll int) string {
	a := "<" + p.local + "@" + p.domain + ">"
	switch {
	case p.name == "":
		return p.local + "@" + p.domain
	case !isASCII(p.name):
		return encodeHeader(p.name, roll) + " " + a
	case strings.ContainsAny(p.name, `,.;:"()<>@[]\`):
		return strconv.Quote(p.name) + " " + a
	}
	return p.name + " " + a
}

var plainWords, qpWords, asciiWords = func() (plain, qp, ascii []string) {
	plain = strings.Fields(`the project meeting report please review attached schedule budget
		update thanks next week we should discuss numbers before Friday team client deadline
		draft version final quick question about invoice payment shipment order travel hotel
		flight agenda notes follow-up call tomorrow morning afternoon office plan proposal
		contract signature details summary feedback issue fixed release server backup
		migration mailbox folder archive and to of in for on with is it this that
		für Grüße Überblick Müller café réunion équipe déjà naïve привет отчёт встреча
		会議 資料 ありがとう Straße Ærø señor`)
	for _, w := range plain {
		if isASCII(w) {
			ascii = append(ascii, w)
		}
		qp = append(qp, qpEncodeWord(w))
	}
	return plain, qp, ascii
}()

func qpEncodeWord(w string) string {
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= utf8.RuneSelf || c == '=' {
			fmt.Fprintf(&b, "=%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
