package testimap

import (
	"errors"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"testing"

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
			return &faultSession{SessionNamespace: inner, faults: ms.Faults, conn: c}, nil, nil
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
	go ms.srv.Serve(ln)
	tb.Cleanup(func() { ms.srv.Close() })
	return ms
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

type faultSession struct {
	imapserver.SessionNamespace
	faults *Faults
	conn   *imapserver.Conn
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
	data, err := s.SessionNamespace.Append(mailbox, r, options)
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
