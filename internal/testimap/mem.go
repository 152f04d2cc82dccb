package testimap

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// MemServer is the in-process go-imap server, for fast tests and for faults
// a real server will not produce on demand.
type MemServer struct {
	Addr   string
	Mem    *imapmemserver.Server
	Faults *Faults
	srv    *imapserver.Server

	// Behaviours of real servers, off by default. They apply to
	// connections and commands from the moment they are switched on.
	NoUIDNext           atomic.Bool // SELECT answers without [UIDNEXT] (Courier)
	NoUIDPlus           atomic.Bool // no UIDPLUS announced, APPEND answers without [APPENDUID]
	Munge8bitHeaders    atomic.Bool // 8-bit header bytes stored as 'X' (Cyrus's default munge8bit)
	OldDatesBecomeToday atomic.Bool // internal dates before 1980 replaced by the APPEND time (Cyrus)
}

// Faults are hooks called before the server handles a command; an error
// they return goes back to the client as the command's answer. Use
// *imap.Error values for NO/BAD answers, or ErrDrop to cut the connection.
type Faults struct {
	mu           sync.Mutex
	BeforeAppend func(n int, mailbox string, size int64) error
	BeforeFetch  func(n int) error
	// AfterAppend runs once the message is stored, before the answer: an
	// error here (ErrDrop) leaves the client not knowing that it succeeded.
	AfterAppend func(n int) error
	appends     int
	fetches     int
}

// ErrDrop makes the server close the connection without an answer.
var ErrDrop = errors.New("testimap: drop connection")

func (f *Faults) appendHook(mailbox string, size int64) error {
	f.mu.Lock()
	f.appends++
	n, hook := f.appends, f.BeforeAppend
	f.mu.Unlock()
	if hook == nil {
		return nil
	}
	return hook(n, mailbox, size)
}

func (f *Faults) fetchHook() error {
	f.mu.Lock()
	f.fetches++
	n, hook := f.fetches, f.BeforeFetch
	f.mu.Unlock()
	if hook == nil {
		return nil
	}
	return hook(n)
}

// Set replaces the hooks under the lock.
func (f *Faults) Set(beforeAppend func(n int, mailbox string, size int64) error, beforeFetch func(n int) error) {
	f.mu.Lock()
	f.BeforeAppend, f.BeforeFetch, f.appends, f.fetches = beforeAppend, beforeFetch, 0, 0
	f.mu.Unlock()
}

// StartMem starts an in-process server with the users, on 127.0.0.1, with
// plaintext login allowed. It stops when the test ends.
func StartMem(tb testing.TB, users ...User) *MemServer {
	tb.Helper()
	ms := &MemServer{Mem: imapmemserver.New(), Faults: &Faults{}}
	for _, u := range users {
		mu := imapmemserver.NewUser(u.Name, u.Password)
		mu.Create("INBOX", nil) // real servers always have one
		ms.Mem.AddUser(mu)
	}
	ms.srv = imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			inner := ms.Mem.NewSession().(imapserver.SessionNamespace)
			return &faultSession{SessionNamespace: inner, faults: ms.Faults, conn: c, ms: ms}, nil, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapListExtended: {},
			imap.CapStatusSize: {}, imap.CapLiteralPlus: {},
		},
		InsecureAuth: true,
		Logger:       log.New(os.Stderr, "memserver: ", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	ms.Addr = ln.Addr().String()
	go ms.srv.Serve(behaviourListener{ln, ms})
	tb.Cleanup(func() { ms.srv.Close() })
	return ms
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

type faultSession struct {
	imapserver.SessionNamespace
	faults *Faults
	conn   *imapserver.Conn
	ms     *MemServer
}

func (s *faultSession) fault(err error) error {
	if errors.Is(err, ErrDrop) {
		s.conn.NetConn().Close()
	}
	return err
}

func (s *faultSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	if err := s.faults.appendHook(mailbox, r.Size()); err != nil {
		io.Copy(io.Discard, r)
		return nil, s.fault(err)
	}
	r, options = s.ms.alterAppend(r, options)
	data, err := s.SessionNamespace.Append(mailbox, r, options)
	if err == nil && s.ms.NoUIDPlus.Load() {
		data = nil // the answer carries no APPENDUID
	}
	if err == nil {
		s.faults.mu.Lock()
		n, hook := s.faults.appends, s.faults.AfterAppend
		s.faults.mu.Unlock()
		if hook != nil {
			if herr := hook(n); herr != nil {
				return nil, s.fault(herr)
			}
		}
	}
	return data, err
}

func (s *faultSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if len(options.BodySection) > 0 && options.BodySection[0].Specifier == imap.PartSpecifierNone {
		if err := s.faults.fetchHook(); err != nil {
			return s.fault(err)
		}
	}
	return s.SessionNamespace.Fetch(w, numSet, options)
}

// alterAppend changes a message on its way in the way Cyrus does, when
// those behaviours are on: 8-bit header bytes become 'X' (the size stays),
// and a date before 1980 becomes the time of the APPEND.
func (ms *MemServer) alterAppend(r imap.LiteralReader, options *imap.AppendOptions) (imap.LiteralReader, *imap.AppendOptions) {
	if ms.OldDatesBecomeToday.Load() && options != nil && !options.Time.IsZero() && options.Time.Year() < 1980 {
		o := *options
		o.Time = time.Now()
		options = &o
	}
	if !ms.Munge8bitHeaders.Load() {
		return r, options
	}
	msg, err := io.ReadAll(r)
	if err != nil {
		return &memLiteral{bytes.NewReader(msg), int64(len(msg))}, options
	}
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(msg)
	}
	for i := range msg[:end] {
		if msg[i] >= 0x80 {
			msg[i] = 'X'
		}
	}
	return &memLiteral{bytes.NewReader(msg), int64(len(msg))}, options
}

type memLiteral struct {
	*bytes.Reader
	n int64
}

func (l *memLiteral) Size() int64 { return l.n }

// behaviourListener hands out connections whose responses are edited to
// leave out what a switched-on behaviour says the server does not send.
type behaviourListener struct {
	net.Listener
	ms *MemServer
}

func (l behaviourListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &behaviourConn{Conn: c, ms: l.ms}, nil
}

type behaviourConn struct {
	net.Conn
	ms *MemServer
}

var (
	uidNextLine   = regexp.MustCompile(`(?m)^\* OK \[UIDNEXT \d+\][^\r\n]*\r\n`)
	uidPlusInCaps = regexp.MustCompile(`(?m)^(\* CAPABILITY|.*\[CAPABILITY)([^\r\n]*) UIDPLUS`)
)

// Write edits whole response lines; the server writes each of these in
// one piece, so none is split across writes.
func (c *behaviourConn) Write(p []byte) (int, error) {
	out := p
	if c.ms.NoUIDNext.Load() {
		out = uidNextLine.ReplaceAll(out, nil)
	}
	if c.ms.NoUIDPlus.Load() {
		out = uidPlusInCaps.ReplaceAll(out, []byte("$1$2"))
	}
	if len(out) == len(p) {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
