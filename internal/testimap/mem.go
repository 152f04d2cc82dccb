package testimap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
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

	// Folder-name behaviours of real servers; set them before connecting.
	//
	// CaseInsensitiveNames: a folder answers to its name in any case, as on
	// Exchange: CREATE "work" when "Work" exists is refused, SELECT "work"
	// opens "Work", and LIST "" "work" lists "Work".
	CaseInsensitiveNames atomic.Bool
	// ListReversed: LIST answers in reverse name order (servers list folders
	// in an order of their own).
	ListReversed atomic.Bool
	// AlreadyExistsWithoutCode: CREATE of an existing folder is answered
	// "NO Mailbox already exists" without [ALREADYEXISTS], as Cyrus does.
	AlreadyExistsWithoutCode atomic.Bool
	// folders: each user's folder names, for the switches above.
	foldersMu sync.Mutex
	folders   map[string]map[string]bool

	// Behaviours of real servers, off by default. They apply to
	// connections and commands from the moment they are switched on.
	NoUIDNext     atomic.Bool // SELECT answers without [UIDNEXT] (Courier)
	NoUIDPlus     atomic.Bool // no UIDPLUS announced, APPEND answers without [APPENDUID]
	NoLiteralPlus atomic.Bool // no LITERAL+ announced: clients wait for "+" before each literal (Exchange, Gmail)
	NoListStatus  atomic.Bool // no LIST-STATUS announced (Courier): folders are counted with STATUS
	NoStatusSize  atomic.Bool // no STATUS=SIZE announced: folders are counted without their size
	// ListWithoutStatus: LIST ... RETURN (STATUS ...) is answered without
	// the STATUS lines (an optional answer a server may leave out).
	ListWithoutStatus   atomic.Bool
	Munge8bitHeaders    atomic.Bool // 8-bit header bytes stored as 'X' (Cyrus's default munge8bit)
	OldDatesBecomeToday atomic.Bool // internal dates before 1980 replaced by the APPEND time (Cyrus)

	// EchoCredentialsOnFailedLogin: a refused LOGIN is answered with a NO
	// that quotes the user name and the password given, as some appliances do.
	EchoCredentialsOnFailedLogin atomic.Bool

	// Logins counts successful logins: how many connections a client opened.
	Logins atomic.Int64
	// BodiesRead counts the whole message bodies clients fetched by UID
	// (a message fetched twice counts twice).
	BodiesRead atomic.Int64
	// Fetches counts the FETCH commands clients sent.
	Fetches atomic.Int64
	// Namespaces counts the NAMESPACE commands clients sent.
	Namespaces atomic.Int64
	// Statuses counts the STATUS commands clients sent.
	Statuses atomic.Int64

	// gmail: the server shows a Gmail account (StartGmail, gmail.go);
	// gmailExt answers its IMAP extensions (gmailext.go).
	gmail    atomic.Bool
	gmailExt gmailTable
	// NoGmailExtensions: a StartGmail server that does not announce
	// X-GM-EXT-1 (Gmail's folders and roles without its extensions).
	NoGmailExtensions atomic.Bool
}

// Faults are hooks called before the server handles a command; an error
// they return goes back to the client as the command's answer. Use
// *imap.Error values for NO/BAD answers, or ErrDrop to cut the connection.
type Faults struct {
	mu           sync.Mutex
	BeforeAppend func(n int, mailbox string, size int64) error
	BeforeFetch  func(n int) error
	// BeforeCreate refuses folder names as a server does (Cyrus: "Reports.2024",
	// Courier: emoji); nil creates every name.
	BeforeCreate func(name string) error
	// BeforeSelect refuses to open a folder (SELECT or EXAMINE) as a server
	// does for a folder it cannot read (a shared folder without rights).
	BeforeSelect func(name string) error
	// AfterAppend runs once the message is stored, before the answer: an
	// error here (ErrDrop) leaves the client not knowing that it succeeded.
	AfterAppend func(n int) error
	appends     int
	fetches     int

	// Unreadable (folder -> UIDs): a FETCH of headers or bodies that
	// reaches one of these messages answers BYE and closes the connection
	// after the messages before it, as Dovecot does when it cannot read a
	// message file. UIDs, flags, sizes and dates stay readable (Dovecot
	// keeps them in its index).
	Unreadable map[string][]uint32
	// UnreadableBodiesOnly limits Unreadable to FETCHes of whole bodies:
	// the headers come from the server's cache.
	UnreadableBodiesOnly bool
	// KeywordLimit, when above 0, refuses with NO (and no response code,
	// as Cyrus does at its user-flag limit) a STORE that would give the
	// selected folder more than this many distinct keywords.
	KeywordLimit int
	// OnlyKeywords, when not nil, makes SELECT announce PERMANENTFLAGS with
	// the system flags and only these keywords, without \*: a server that
	// will not store other keywords.
	OnlyKeywords []imap.Flag
	keywords     map[string]map[imap.Flag]bool // folder -> keywords set by APPEND or STORE
}

// ErrDrop makes the server close the connection without an answer.
var ErrDrop = errors.New("testimap: drop connection")

// appendHook numbers an APPEND (its number is also the one AfterAppend
// gets: several connections append at once) and runs BeforeAppend.
func (f *Faults) appendHook(mailbox string, size int64) (int, error) {
	f.mu.Lock()
	f.appends++
	n, hook := f.appends, f.BeforeAppend
	f.mu.Unlock()
	if hook == nil {
		return n, nil
	}
	return n, hook(n, mailbox, size)
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
	ms := &MemServer{Mem: imapmemserver.New(), Faults: &Faults{}, folders: map[string]map[string]bool{}}
	for _, u := range users {
		mu := imapmemserver.NewUser(u.Name, u.Password)
		mu.Create("INBOX", nil) // real servers always have one
		ms.Mem.AddUser(mu)
		ms.folders[u.Name] = map[string]bool{"INBOX": true}
	}
	ms.srv = imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			inner := ms.Mem.NewSession().(imapserver.SessionNamespace)
			return &faultSession{SessionNamespace: inner, faults: ms.Faults, conn: c, ms: ms}, nil, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {}, imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapListExtended: {},
			imap.CapStatusSize: {}, imap.CapLiteralPlus: {}, imap.CapListStatus: {},
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
	faults   *Faults
	conn     *imapserver.Conn
	ms       *MemServer
	user     string
	selected string
}

func (s *faultSession) Namespace() (*imap.NamespaceData, error) {
	s.ms.Namespaces.Add(1)
	return s.SessionNamespace.Namespace()
}

func (s *faultSession) fault(err error) error {
	if errors.Is(err, ErrDrop) {
		s.conn.NetConn().Close()
	}
	return err
}

func (s *faultSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	mailbox = s.folderName(mailbox)
	n, err := s.faults.appendHook(mailbox, r.Size())
	if err != nil {
		io.Copy(io.Discard, r)
		return nil, s.fault(err)
	}
	// go-imap's in-memory server stores whatever part of a literal arrived
	// before the connection dropped; a real server stores nothing then.
	body, err := io.ReadAll(r)
	if err == nil && int64(len(body)) != r.Size() {
		err = fmt.Errorf("testimap: the connection closed after %d of the message's %d bytes", len(body), r.Size())
	}
	if err != nil {
		return nil, err
	}
	r, options = s.ms.alterAppend(&memLiteral{bytes.NewReader(body), int64(len(body))}, options)
	data, err := s.SessionNamespace.Append(mailbox, r, options)
	if err == nil && s.ms.gmail.Load() && s.ms.gmailExt.mirrorToAllMail(s.user, mailbox, body) {
		// Gmail: a message appended to a label is in All Mail too.
		if _, merr := s.SessionNamespace.Append(GmailAllMail, &memLiteral{bytes.NewReader(body), int64(len(body))}, options); merr != nil {
			return nil, merr
		}
	}
	if err == nil && options != nil {
		s.faults.addKeywords(mailbox, options.Flags)
	}
	if err == nil && s.ms.NoUIDPlus.Load() {
		data = nil // the answer carries no APPENDUID
	}
	if err == nil {
		s.faults.mu.Lock()
		hook := s.faults.AfterAppend
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
	s.ms.Fetches.Add(1)
	// A FETCH of bodies may ask for header fields too (before or after).
	bodies := slices.ContainsFunc(options.BodySection, func(b *imap.FetchItemBodySection) bool {
		return b.Specifier == imap.PartSpecifierNone && len(b.HeaderFields) == 0
	})
	if bodies {
		if err := s.faults.fetchHook(); err != nil {
			return s.fault(err)
		}
		if uids, ok := numSet.(imap.UIDSet); ok {
			if nums, ok := uids.Nums(); ok {
				s.ms.BodiesRead.Add(int64(len(nums)))
			}
		}
	}
	if uids, ok := numSet.(imap.UIDSet); ok && len(options.BodySection) > 0 {
		if bad, found := s.faults.firstUnreadable(s.selected, uids, bodies); found {
			// The messages before the unreadable one go out, then BYE.
			if before := uidsBelow(uids, bad); len(before) > 0 {
				if err := s.SessionNamespace.Fetch(w, before, options); err != nil {
					return err
				}
			}
			s.conn.Bye("Internal error occurred. Refer to server log for more information.")
			return ErrDrop
		}
	}
	return s.SessionNamespace.Fetch(w, numSet, options)
}

func (s *faultSession) Login(username, password string) error {
	err := s.SessionNamespace.Login(username, password)
	if err == nil {
		s.user = username
		s.ms.Logins.Add(1)
	}
	if err != nil && s.ms.EchoCredentialsOnFailedLogin.Load() {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed,
			Text: fmt.Sprintf("Authentication failed for user %q with password %q", username, password)}
	}
	return err
}

// folderName is the stored name a client's name stands for: itself, or
// with CaseInsensitiveNames the folder whose name differs only in case.
func (s *faultSession) folderName(name string) string {
	if !s.ms.CaseInsensitiveNames.Load() {
		return name
	}
	s.ms.foldersMu.Lock()
	defer s.ms.foldersMu.Unlock()
	if s.ms.folders[s.user][name] {
		return name
	}
	for n := range s.ms.folders[s.user] {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return name
}

func (s *faultSession) setFolder(name string, exists bool) {
	s.ms.foldersMu.Lock()
	defer s.ms.foldersMu.Unlock()
	if s.ms.folders[s.user] == nil {
		s.ms.folders[s.user] = map[string]bool{}
	}
	if exists {
		s.ms.folders[s.user][name] = true
	} else {
		delete(s.ms.folders[s.user], name)
	}
}

func (s *faultSession) Create(mailbox string, options *imap.CreateOptions) error {
	s.faults.mu.Lock()
	hook := s.faults.BeforeCreate
	s.faults.mu.Unlock()
	if hook != nil {
		if err := hook(mailbox); err != nil {
			return s.fault(err)
		}
	}
	mailbox = strings.TrimRight(mailbox, "/")
	var err error
	if n := s.folderName(mailbox); n != mailbox {
		err = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	} else {
		err = s.SessionNamespace.Create(mailbox, options)
	}
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists && s.ms.AlreadyExistsWithoutCode.Load() {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Text: ie.Text}
	}
	if err == nil {
		s.setFolder(mailbox, true)
	}
	return err
}

func (s *faultSession) Delete(mailbox string) error {
	mailbox = s.folderName(mailbox)
	err := s.SessionNamespace.Delete(mailbox)
	if err == nil {
		s.setFolder(mailbox, false)
	}
	return err
}

func (s *faultSession) Rename(mailbox, newName string, options *imap.RenameOptions) error {
	mailbox = s.folderName(mailbox)
	err := s.SessionNamespace.Rename(mailbox, newName, options)
	if err == nil {
		s.setFolder(mailbox, false)
		s.setFolder(strings.TrimRight(newName, "/"), true)
	}
	return err
}

func (s *faultSession) Status(mailbox string, options *imap.StatusOptions) (*imap.StatusData, error) {
	s.ms.Statuses.Add(1)
	return s.SessionNamespace.Status(s.folderName(mailbox), options)
}

func (s *faultSession) Subscribe(mailbox string) error {
	return s.SessionNamespace.Subscribe(s.folderName(mailbox))
}

func (s *faultSession) Unsubscribe(mailbox string) error {
	return s.SessionNamespace.Unsubscribe(s.folderName(mailbox))
}

func (s *faultSession) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	return s.SessionNamespace.Copy(numSet, s.folderName(dest))
}

func (s *faultSession) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	patterns = slices.Clone(patterns)
	for i, p := range patterns {
		if !strings.ContainsAny(p, "*%") {
			patterns[i] = s.folderName(p)
		}
	}
	if options != nil && options.ReturnStatus != nil && s.ms.ListWithoutStatus.Load() {
		o := *options
		o.ReturnStatus = nil
		options = &o
	}
	if !s.ms.ListReversed.Load() || len(patterns) == 0 {
		return s.SessionNamespace.List(w, ref, patterns, options)
	}
	s.ms.foldersMu.Lock()
	var names []string
	for n := range s.ms.folders[s.user] {
		for _, p := range patterns {
			if imapserver.MatchList(n, '/', ref, p) {
				names = append(names, n)
				break
			}
		}
	}
	s.ms.foldersMu.Unlock()
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	for _, n := range names {
		if err := s.SessionNamespace.List(w, "", []string{n}, options); err != nil {
			return err
		}
	}
	return nil
}

func (f *Faults) firstUnreadable(folder string, uids imap.UIDSet, wholeBody bool) (uint32, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	first, found := uint32(0), false
	if f.UnreadableBodiesOnly && !wholeBody {
		return 0, false
	}
	for _, uid := range f.Unreadable[folder] {
		if uids.Contains(imap.UID(uid)) && (!found || uid < first) {
			first, found = uid, true
		}
	}
	return first, found
}

// uidsBelow is the part of uids below limit.
func uidsBelow(uids imap.UIDSet, limit uint32) imap.UIDSet {
	var out imap.UIDSet
	for _, r := range uids {
		start, stop := uint32(r.Start), uint32(r.Stop)
		if stop == 0 || stop >= limit { // 0 is *
			stop = limit - 1
		}
		if start != 0 && start <= stop {
			out.AddRange(imap.UID(start), imap.UID(stop))
		}
	}
	return out
}

func (s *faultSession) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	mailbox = s.folderName(mailbox)
	s.faults.mu.Lock()
	hook := s.faults.BeforeSelect
	s.faults.mu.Unlock()
	if hook != nil {
		if err := hook(mailbox); err != nil {
			return nil, s.fault(err)
		}
	}
	data, err := s.SessionNamespace.Select(mailbox, options)
	if err != nil {
		return nil, err
	}
	s.selected = mailbox
	s.faults.mu.Lock()
	only := s.faults.OnlyKeywords
	s.faults.mu.Unlock()
	if only != nil {
		data.PermanentFlags = append([]imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft}, only...)
	}
	return data, nil
}

func (s *faultSession) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	if flags.Op != imap.StoreFlagsDel {
		s.faults.mu.Lock()
		limit, have := s.faults.KeywordLimit, s.faults.keywords[s.selected]
		n := len(have)
		for _, f := range flags.Flags {
			if !strings.HasPrefix(string(f), `\`) && !have[f] {
				n++
			}
		}
		s.faults.mu.Unlock()
		if limit > 0 && n > limit {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Too many user flags in mailbox"}
		}
	}
	if err := s.SessionNamespace.Store(w, numSet, flags, options); err != nil {
		return err
	}
	if flags.Op != imap.StoreFlagsDel {
		s.faults.addKeywords(s.selected, flags.Flags)
	}
	return nil
}

func (f *Faults) addKeywords(mailbox string, flags []imap.Flag) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fl := range flags {
		if strings.HasPrefix(string(fl), `\`) {
			continue
		}
		if f.keywords == nil {
			f.keywords = map[string]map[imap.Flag]bool{}
		}
		if f.keywords[mailbox] == nil {
			f.keywords[mailbox] = map[imap.Flag]bool{}
		}
		f.keywords[mailbox][fl] = true
	}
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
	bc := &behaviourConn{Conn: c, ms: l.ms}
	if l.ms.gmail.Load() {
		bc.front = &gmailFront{ms: l.ms, conn: bc, in: bufio.NewReader(c)}
	}
	return bc, nil
}

type behaviourConn struct {
	net.Conn
	ms *MemServer
	// front answers Gmail's extension commands (gmailext.go); nil when the
	// server is not Gmail.
	front   *gmailFront
	writeMu sync.Mutex // the front's answers and go-imap's, whole
}

func (c *behaviourConn) Read(p []byte) (int, error) {
	if c.front != nil {
		return c.front.Read(p)
	}
	return c.Conn.Read(p)
}

// writeRaw sends the front's answer.
func (c *behaviourConn) writeRaw(p []byte) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.Conn.Write(p)
}

var (
	uidNextLine       = regexp.MustCompile(`(?m)^\* OK \[UIDNEXT \d+\][^\r\n]*\r\n`)
	uidPlusInCaps     = regexp.MustCompile(`(?m)^(\* CAPABILITY|.*\[CAPABILITY)([^\r\n]*) UIDPLUS`)
	literalPlusInCaps = regexp.MustCompile(`(?m)^(\* CAPABILITY|.*\[CAPABILITY)([^\r\n]*) LITERAL\+`)
	statusSizeInCaps  = regexp.MustCompile(`(?m)^(\* CAPABILITY|.*\[CAPABILITY)([^\r\n]*) STATUS=SIZE`)
	listStatusInCaps  = regexp.MustCompile(`(?m)^(\* CAPABILITY|.*\[CAPABILITY)([^\r\n]*) LIST-STATUS`)
)

// Write edits whole response lines; the server writes each of these in
// one piece, so none is split across writes.
func (c *behaviourConn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	out := p
	if c.ms.NoUIDNext.Load() {
		out = uidNextLine.ReplaceAll(out, nil)
	}
	if c.ms.NoUIDPlus.Load() {
		out = uidPlusInCaps.ReplaceAll(out, []byte("$1$2"))
	}
	if c.ms.NoLiteralPlus.Load() {
		out = literalPlusInCaps.ReplaceAll(out, []byte("$1$2"))
	}
	if c.ms.NoStatusSize.Load() {
		out = statusSizeInCaps.ReplaceAll(out, []byte("$1$2"))
	}
	if c.ms.NoListStatus.Load() {
		out = listStatusInCaps.ReplaceAll(out, []byte("$1$2"))
	}
	out = c.gmailEdit(out)
	if len(out) == len(p) {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
