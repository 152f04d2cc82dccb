package corpus

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

func corpusHash(t testing.TB, c *Corpus) [32]byte {
	t.Helper()
	h := sha256.New()
	for i := range c.Messages {
		m := &c.Messages[i]
		fmt.Fprintf(h, "%d %d %v %d %q\n", m.Folder, m.Size, m.Flags, m.Date.Unix(), m.MessageID)
		if _, err := m.WriteTo(h); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	for _, f := range c.Folders {
		fmt.Fprintf(h, "%q %s %v\n", f.Path, f.SpecialUse, f.Subscribed)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	tests := []Spec{
		{Seed: 1, Messages: 200, Folders: 20},
		{Seed: -42, Messages: 50, Folders: 3, MaxSize: 64 << 10, MinSize: 2 << 10},
		{Seed: 7, Messages: 100, Folders: 40, Now: time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)},
		{Seed: 0, Messages: 0, Folders: 0},
	}
	for _, spec := range tests {
		t.Run(fmt.Sprintf("seed%d_n%d", spec.Seed, spec.Messages), func(t *testing.T) {
			t.Parallel()
			a, b := Generate(spec), Generate(spec)
			if !reflect.DeepEqual(a, b) {
				t.Fatal("two Generate calls with the same spec differ")
			}
			if corpusHash(t, a) != corpusHash(t, b) {
				t.Fatal("message bytes differ between two Generate calls")
			}
			if spec.Messages > 0 {
				other := spec
				other.Seed++
				if corpusHash(t, a) == corpusHash(t, Generate(other)) {
					t.Fatal("different seeds gave the same corpus")
				}
			}
		})
	}
	t.Run("awkward", func(t *testing.T) {
		t.Parallel()
		a, b := Awkward(3), Awkward(3)
		if !reflect.DeepEqual(a, b) {
			t.Fatal("two Awkward calls differ")
		}
		// Hash everything but the 30 MiB message twice; it is covered by
		// TestMessageSizes.
		for i := range a.Messages {
			if a.Messages[i].Kind() == "huge" {
				continue
			}
			if !bytes.Equal(a.Messages[i].Bytes(), b.Messages[i].Bytes()) {
				t.Fatalf("awkward message %d differs", i)
			}
		}
	})
}

// checkMessage validates the bytes of m: size, line ends, headers and MIME
// structure.
func checkMessage(t *testing.T, m *Message, b []byte) {
	t.Helper()
	if int64(len(b)) != m.Size {
		t.Fatalf("%s: len(Bytes()) = %d, Size = %d", m.Kind(), len(b), m.Size)
	}
	bareLF := m.Kind() == "bare-lf"
	eol := "\r\n"
	if bareLF {
		eol = "\n"
		if bytes.IndexByte(b, '\r') >= 0 {
			t.Fatalf("bare-lf message contains CR")
		}
	} else {
		for i, c := range b {
			if c == '\n' && (i == 0 || b[i-1] != '\r') || c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
				t.Fatalf("%s: bare CR or LF at offset %d", m.Kind(), i)
			}
		}
	}
	hdrEnd := bytes.Index(b, []byte(eol+eol))
	if hdrEnd < 0 {
		t.Fatalf("%s: no end of header", m.Kind())
	}
	hdr, body := string(b[:hdrEnd+len(eol)]), b[hdrEnd+2*len(eol):]
	for _, line := range strings.Split(string(b), eol) {
		if len(line) > 998 && !(m.Kind() == "long-line" && len(line) == LongLineLen) {
			t.Fatalf("%s: line of %d bytes: %.100q", m.Kind(), len(line), line)
		}
	}
	for _, h := range []string{"From: ", "To: ", "Subject: ", "MIME-Version: 1.0", "Content-Type: "} {
		if !strings.Contains(hdr, h) {
			t.Fatalf("%s: header lacks %q:\n%s", m.Kind(), h, hdr)
		}
	}
	if got, want := strings.HasPrefix(hdr, "Date: ") || strings.Contains(hdr, eol+"Date: "), m.Kind() != "no-date"; got != want {
		t.Fatalf("%s: has Date header = %v", m.Kind(), got)
	}
	if m.MessageID == "" {
		if strings.Contains(hdr, "Message-ID:") {
			t.Fatalf("%s: Message-ID header present but MessageID empty", m.Kind())
		}
	} else if !strings.Contains(hdr, eol+"Message-ID: "+m.MessageID+eol) {
		t.Fatalf("%s: header lacks Message-ID %s", m.Kind(), m.MessageID)
	}
	if bareLF {
		return
	}

	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: net/mail: %v", m.Kind(), err)
	}
	if m.Kind() != "raw-8bit-headers" {
		if _, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
			t.Fatalf("%s: subject: %v", m.Kind(), err)
		}
		if !isASCII(hdr) {
			t.Fatalf("%s: non-ASCII header", m.Kind())
		}
	}
	if m.Kind() != "no-date" {
		d, err := msg.Header.Date()
		if err != nil {
			t.Fatalf("%s: Date: %v", m.Kind(), err)
		}
		if diff := m.Date.Sub(d); diff < 0 || diff > time.Hour {
			t.Fatalf("%s: Date header %v vs internal date %v", m.Kind(), d, m.Date)
		}
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("%s: Content-Type: %v", m.Kind(), err)
	}
	if mt != "multipart/mixed" {
		if mt != "text/plain" {
			t.Fatalf("content type %q", mt)
		}
		if len(body) > 0 && !bytes.HasSuffix(body, []byte(eol)) {
			t.Fatalf("%s: text body does not end with a line end", m.Kind())
		}
		return
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	parts := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: multipart: %v", m.Kind(), err)
		}
		parts++
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("%s: part %d: %v", m.Kind(), parts, err)
		}
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			clean := strings.ReplaceAll(string(data), "\r\n", "")
			raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(clean, "="))
			if err != nil {
				t.Fatalf("%s: base64 attachment: %v", m.Kind(), err)
			}
			if len(raw) < 100 {
				t.Fatalf("%s: attachment of %d bytes", m.Kind(), len(raw))
			}
			if _, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition")); err != nil || params["filename"] == "" {
				t.Fatalf("%s: Content-Disposition %q: %v", m.Kind(), p.Header.Get("Content-Disposition"), err)
			}
		} else if !utf8.Valid(data) {
			t.Fatalf("%s: text part is not UTF-8", m.Kind())
		}
	}
	if parts != 2 {
		t.Fatalf("%s: %d parts, want 2", m.Kind(), parts)
	}
}

func streamHash(t *testing.T, m *Message) (int64, [32]byte) {
	t.Helper()
	h := sha256.New()
	n, err := m.WriteTo(h)
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return n, sum
}

func TestMessageSizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    *Corpus
	}{
		{"small", Generate(Spec{Seed: 5, Messages: 300, Folders: 30, MaxSize: 256 << 10})},
		{"default", Generate(Spec{Seed: 6, Messages: 150, Folders: 10})},
		{"tiny-min", Generate(Spec{Seed: 9, Messages: 100, Folders: 2, MinSize: 1, MaxSize: 1500})},
		{"awkward", Awkward(8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for i := range tt.c.Messages {
				m := &tt.c.Messages[i]
				b := m.Bytes()
				n, sum := streamHash(t, m)
				if n != m.Size || int64(len(b)) != m.Size {
					t.Fatalf("message %d: Size %d, len(Bytes()) %d, WriteTo %d", i, m.Size, len(b), n)
				}
				if sum != sha256.Sum256(b) {
					t.Fatalf("message %d: WriteTo and Bytes differ", i)
				}
				checkMessage(t, m, b)
			}
		})
	}
}

// TestWriteToStreams checks that writing the 30 MiB message does not build it
// in memory. It is not parallel so that the allocation count is its own.
func TestWriteToStreams(t *testing.T) {
	c := Awkward(1)
	var huge *Message
	for i := range c.Messages {
		if c.Messages[i].Kind() == "huge" {
			huge = &c.Messages[i]
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, err := huge.WriteTo(io.Discard)
	runtime.ReadMemStats(&after)
	if err != nil || n != 30<<20 {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("WriteTo of a 30 MiB message allocated %d bytes", alloc)
	}
}

func TestHeavyTail(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			c := Generate(Spec{Seed: seed, Messages: 2000, Folders: 20})
			sizes := make([]int64, len(c.Messages))
			for i, m := range c.Messages {
				sizes[i] = m.Size
			}
			slices.Sort(sizes)
			median, maxSize := sizes[len(sizes)/2], sizes[len(sizes)-1]
			t.Logf("min %d, median %d, p90 %d, p99 %d, max %d, total %d", sizes[0], median, sizes[len(sizes)*9/10], sizes[len(sizes)*99/100], maxSize, c.TotalBytes())
			if median >= 20<<10 || median < 2<<10 {
				t.Errorf("median size %d", median)
			}
			if maxSize <= 1<<20 || maxSize > 4<<20 {
				t.Errorf("max size %d", maxSize)
			}
			if sizes[0] < 1<<10 {
				t.Errorf("min size %d", sizes[0])
			}
			multipart := 0
			for i := range c.Messages {
				if c.Messages[i].layout().multipart {
					multipart++
				}
			}
			if multipart < 100 || multipart > 1000 {
				t.Errorf("%d of 2000 messages have attachments", multipart)
			}
		})
	}
}

func TestDatesAndFlags(t *testing.T) {
	t.Parallel()
	c := Generate(Spec{Seed: 4, Messages: 3000, Folders: 30})
	now := Epoch()
	old, recent := 0, 0
	flagCount := map[string]int{}
	for i := range c.Messages {
		m := &c.Messages[i]
		if m.Date.Nanosecond() != 0 || m.Date.Location() != time.UTC {
			t.Fatalf("date %v not UTC seconds", m.Date)
		}
		if m.Date.After(now) || m.Date.Before(now.AddDate(-3, 0, -2)) {
			t.Fatalf("date %v out of range", m.Date)
		}
		if now.Sub(m.Date) > 90*24*time.Hour {
			old++
		} else {
			recent++
		}
		for _, f := range m.Flags {
			flagCount[f]++
		}
		draft := slices.Contains(m.Flags, FlagDraft)
		if inDrafts := c.Folders[m.Folder].SpecialUse == `\Drafts`; draft != inDrafts {
			t.Fatalf("message in %v has flags %v", c.Folders[m.Folder].Path, m.Flags)
		}
		if i > 0 && m.Folder == c.Messages[i-1].Folder && m.Date.Before(c.Messages[i-1].Date) {
			t.Fatalf("messages of a folder not in date order")
		}
		if i > 0 && m.Folder < c.Messages[i-1].Folder {
			t.Fatalf("messages not grouped by folder")
		}
	}
	t.Logf("older than 90 days: %d, newer: %d, flags: %v", old, recent, flagCount)
	if recent < 150 || old < 1500 {
		t.Errorf("90-day split: %d old, %d recent", old, recent)
	}
	n := len(c.Messages)
	if flagCount[FlagSeen] < n*7/10 || flagCount[FlagSeen] == n {
		t.Errorf("%d of %d seen", flagCount[FlagSeen], n)
	}
	for _, f := range []string{FlagFlagged, FlagAnswered, FlagDraft, KeywordFwd, KeywordJunk, KeywordProj} {
		if flagCount[f] == 0 || flagCount[f] > n/4 {
			t.Errorf("flag %s on %d of %d messages", f, flagCount[f], n)
		}
	}
	ids := map[string]bool{}
	for _, m := range c.Messages {
		if m.MessageID == "" {
			if c.Folders[m.Folder].SpecialUse != `\Drafts` {
				t.Fatalf("non-draft without Message-ID")
			}
			continue
		}
		if ids[m.MessageID] {
			t.Fatalf("duplicate Message-ID %s", m.MessageID)
		}
		ids[m.MessageID] = true
	}

	// Spec.Now moves the dates.
	later := Generate(Spec{Seed: 4, Messages: 10, Folders: 30, Now: now.AddDate(1, 0, 0)})
	early := Generate(Spec{Seed: 4, Messages: 10, Folders: 30})
	if got := later.Messages[0].Date.Sub(early.Messages[0].Date); got != 365*24*time.Hour {
		t.Errorf("Now shifted dates by %v", got)
	}
}

func TestFolders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		folders int
		want    []string // joined paths that must be present
	}{
		{0, nil},
		{3, []string{"Sent", "Drafts", "Trash"}},
		{30, []string{"Sent", "Drafts", "Trash", "Junk", "Archive", "Projects/2024/Q1 Überblick", "Clients/Müller GmbH/Verträge/2023", "Работа", "請求書", "🎉 Events", "Travel Plans", "Reçus & Factures"}},
		{60, []string{"Newsletters/Digest 001"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.folders), func(t *testing.T) {
			t.Parallel()
			c := Generate(Spec{Seed: 1, Messages: 500, Folders: tt.folders})
			if len(c.Folders) != tt.folders+1 {
				t.Fatalf("%d folders, want %d", len(c.Folders), tt.folders+1)
			}
			if !reflect.DeepEqual(c.Folders[0], Folder{Path: []string{"INBOX"}, Subscribed: true}) {
				t.Fatalf("folder 0 = %+v", c.Folders[0])
			}
			checkFolders(t, c)
			names := map[string]Folder{}
			for _, f := range c.Folders {
				names[f.Name()] = f
			}
			for _, w := range tt.want {
				if _, ok := names[w]; !ok {
					t.Errorf("missing folder %q", w)
				}
			}
			for _, su := range []string{"Sent", "Drafts", "Trash", "Junk", "Archive"} {
				if f, ok := names[su]; ok && f.SpecialUse != `\`+su {
					t.Errorf("%s has special use %q", su, f.SpecialUse)
				}
			}
			perFolder := make([]int, len(c.Folders))
			for _, m := range c.Messages {
				perFolder[m.Folder]++
			}
			if tt.folders >= 5 && (perFolder[0] < 100 || perFolder[0] > 300) {
				t.Errorf("INBOX has %d of 500 messages", perFolder[0])
			}
			if tt.folders == 0 && perFolder[0] != 500 {
				t.Errorf("INBOX has %d of 500 messages", perFolder[0])
			}
		})
	}
}

// checkFolders checks that folder names are unique, parents are listed before
// their children, and segments are usable on any server.
func checkFolders(t *testing.T, c *Corpus) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range c.Folders {
		name := f.Name()
		if seen[name] {
			t.Fatalf("duplicate folder %q", name)
		}
		seen[name] = true
		if len(f.Path) > 1 && !seen[strings.Join(f.Path[:len(f.Path)-1], "/")] {
			t.Fatalf("folder %q listed before its parent", name)
		}
		for _, s := range f.Path {
			if s == "" || strings.ContainsAny(s, `/.%*"\`) || !utf8.ValidString(s) {
				t.Fatalf("bad segment %q", s)
			}
		}
	}
}

func TestAwkward(t *testing.T) {
	t.Parallel()
	c := Awkward(5)
	checkFolders(t, c)
	byKind := map[string]*Message{}
	for i := range c.Messages {
		m := &c.Messages[i]
		if m.Kind() == "" || byKind[m.Kind()] != nil {
			t.Fatalf("message %d has kind %q", i, m.Kind())
		}
		byKind[m.Kind()] = m
		if f := c.Folders[m.Folder]; m.Kind() != "deep-folder" && m.Kind() != "emoji-folder" && f.Name() != "INBOX" {
			t.Errorf("%s is in %q", m.Kind(), f.Name())
		}
	}
	want := []string{"no-message-id", "raw-8bit-headers", "bare-lf", "empty-body", "long-line", "huge", "duplicate-a", "duplicate-b", "no-date", "deep-folder", "emoji-folder"}
	for _, k := range want {
		if byKind[k] == nil {
			t.Fatalf("missing awkward message %q", k)
		}
	}
	get := func(k string) []byte { return byKind[k].Bytes() }

	if b := get("no-message-id"); byKind["no-message-id"].MessageID != "" || bytes.Contains(bytes.ToLower(b), []byte("message-id")) {
		t.Error("no-message-id has a Message-ID")
	}
	b := get("raw-8bit-headers")
	hdr := b[:bytes.Index(b, []byte("\r\n\r\n"))]
	if !bytes.Contains(hdr, []byte("\r\nFrom: J\xfcrgen M\xfcller")) || !bytes.Contains(hdr, []byte("\r\nSubject: Grüße aus Köln")) {
		t.Errorf("raw-8bit-headers header:\n%q", hdr)
	}
	if utf8.Valid(hdr) {
		t.Error("raw-8bit-headers header is valid UTF-8 (expected Latin-1 bytes in From)")
	}
	if b := get("bare-lf"); bytes.IndexByte(b, '\r') >= 0 || bytes.Count(b, []byte("\n")) < 20 {
		t.Error("bare-lf has CR or too few lines")
	}
	if b := get("empty-body"); !bytes.HasSuffix(b, []byte("\r\n\r\n")) || bytes.Index(b, []byte("\r\n\r\n")) != len(b)-4 {
		t.Errorf("empty-body: %q", b)
	}
	found := false
	for _, line := range strings.Split(string(get("long-line")), "\r\n") {
		if len(line) == LongLineLen {
			found = true
		}
	}
	if !found {
		t.Error("long-line has no 12,000-character line")
	}
	huge := byKind["huge"]
	if huge.Size != 30<<20 {
		t.Errorf("huge size %d", huge.Size)
	}
	hb := huge.Bytes()
	if !bytes.Contains(hb[:4096], []byte("Content-Type: multipart/mixed")) || !bytes.Contains(hb[:16384], []byte("Content-Transfer-Encoding: base64")) {
		t.Error("huge is not multipart with a base64 attachment")
	}
	hb = nil

	da, db := byKind["duplicate-a"], byKind["duplicate-b"]
	ba, bb := da.Bytes(), db.Bytes()
	if da.MessageID == "" || da.MessageID != db.MessageID || da.Size != db.Size || !da.Date.Equal(db.Date) || bytes.Equal(ba, bb) {
		t.Error("duplicates: want same Message-ID, size and date, different bytes")
	}
	ha, hb2 := ba[:bytes.Index(ba, []byte("\r\n\r\n"))], bb[:bytes.Index(bb, []byte("\r\n\r\n"))]
	if !bytes.Equal(ha, hb2) {
		t.Errorf("duplicates have different headers:\n%s\n%s", ha, hb2)
	}
	if b := get("no-date"); bytes.Contains(b, []byte("\r\nDate:")) || bytes.HasPrefix(b, []byte("Date:")) {
		t.Error("no-date has a Date header")
	}
	if f := c.Folders[byKind["deep-folder"].Folder]; len(f.Path) < 8 {
		t.Errorf("deep folder %q", f.Path)
	}
	if f := c.Folders[byKind["emoji-folder"].Folder]; f.Name() != "📦 Archive 2019" {
		t.Errorf("emoji folder %q", f.Path)
	}
}

// TestGenerateLarge checks that a 100,000-message corpus is cheap. It is not
// parallel so that the heap measurement is its own.
func TestGenerateLarge(t *testing.T) {
	if s := unsafe.Sizeof(Message{}); s > 120 {
		t.Errorf("sizeof(Message) = %d", s)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	c := Generate(Spec{Seed: 99, Messages: 100_000, Folders: 50})
	elapsed := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perMsg := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / 100_000
	t.Logf("Generate(100k): %v, %d bytes/message retained, %d MB total", elapsed, perMsg, c.TotalBytes()>>20)
	if perMsg > 160 {
		t.Errorf("%d bytes per message retained", perMsg)
	}
	if elapsed > 5*time.Second {
		t.Errorf("Generate(100k) took %v", elapsed)
	}
	if len(c.Messages) != 100_000 {
		t.Fatalf("%d messages", len(c.Messages))
	}
	runtime.KeepAlive(c)
}

// --- Load ---

type nsSession struct {
	imapserver.Session
	prefix string
}

func (s *nsSession) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: s.prefix, Delim: '/'}}}, nil
}

// wireLog keeps the first bytes of the server's protocol trace.
type wireLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *wireLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := 1<<20 - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (w *wireLog) commands(verb string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var l []string
	sc := bufio.NewScanner(bytes.NewReader(w.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if f := strings.SplitN(sc.Text(), " ", 3); len(f) == 3 && f[1] == verb {
			l = append(l, f[2])
		}
	}
	return l
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func startServer(t *testing.T, caps imap.CapSet, prefix string, log io.Writer) string {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("user", "pass")
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			if prefix != "" {
				return &nsSession{Session: mem.NewSession(), prefix: prefix}, nil, nil
			}
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		DebugWriter:  log,
		Logger:       nopLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login("user", "pass").Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func capSet(caps ...imap.Cap) imap.CapSet {
	s := imap.CapSet{}
	for _, c := range caps {
		s[c] = struct{}{}
	}
	return s
}

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		caps   imap.CapSet
		prefix string
		corpus func() *Corpus
		wire   func(t *testing.T, log *wireLog)
	}{{
		name:   "generated/imap4rev1+literal+",
		caps:   capSet(imap.CapIMAP4rev1, imap.CapNamespace, imap.CapLiteralPlus, imap.CapCreateSpecialUse),
		corpus: func() *Corpus { return Generate(Spec{Seed: 11, Messages: 400, Folders: 30, MaxSize: 1 << 20}) },
		wire: func(t *testing.T, log *wireLog) {
			creates := strings.Join(log.commands("CREATE"), "\n")
			for _, want := range []string{`"Projects/2024/Q1 &ANw-berblick"`, `"Re&AOc-us &- Factures"`, `"Sent" (USE (\Sent))`, `"Archive" (USE (\Archive))`} {
				if !strings.Contains(creates, want) {
					t.Errorf("no CREATE %s in:\n%s", want, creates)
				}
			}
			if !isASCII(creates) {
				t.Errorf("CREATE commands are not ASCII:\n%s", creates)
			}
		},
	}, {
		name:   "generated/namespace-prefix",
		caps:   capSet(imap.CapIMAP4rev1, imap.CapNamespace),
		prefix: "INBOX/",
		corpus: func() *Corpus { return Generate(Spec{Seed: 12, Messages: 120, Folders: 12, MaxSize: 256 << 10}) },
		wire: func(t *testing.T, log *wireLog) {
			creates := strings.Join(log.commands("CREATE"), "\n")
			if !strings.Contains(creates, `"INBOX/Sent"`) || strings.Contains(creates, "USE") {
				t.Errorf("CREATE commands:\n%s", creates)
			}
		},
	}, {
		name:   "awkward/imap4rev1",
		caps:   capSet(imap.CapIMAP4rev1),
		corpus: func() *Corpus { return Awkward(1) },
		wire: func(t *testing.T, log *wireLog) {
			creates := strings.Join(log.commands("CREATE"), "\n")
			if !strings.Contains(creates, `"Kunden/Europa/Deutschland/Bayern/M&APw-nchen"`) || !isASCII(creates) {
				t.Errorf("CREATE commands:\n%s", creates)
			}
		},
	}, {
		name:   "awkward/imap4rev2+literal+",
		caps:   capSet(imap.CapIMAP4rev2, imap.CapLiteralPlus),
		corpus: func() *Corpus { return Awkward(2) },
		wire: func(t *testing.T, log *wireLog) {
			// IMAP4rev2 allows UTF-8 in quoted strings instead of modified UTF-7.
			creates := strings.Join(log.commands("CREATE"), "\n")
			if !strings.Contains(creates, `"📦 Archive 2019"`) || !strings.Contains(creates, `&- Söhne`) {
				t.Errorf("CREATE commands:\n%s", creates)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := &wireLog{}
			addr := startServer(t, tt.caps, tt.prefix, log)
			corp := tt.corpus()
			c := dial(t, addr)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := Load(ctx, c, corp); err != nil {
				t.Fatal(err)
			}
			tt.wire(t, log)
			// Verify over a fresh connection.
			verifyAccount(t, dial(t, addr), corp, tt.prefix)
		})
	}
}

func verifyAccount(t *testing.T, c *imapclient.Client, corp *Corpus, wantPrefix string) {
	t.Helper()
	delim, prefix, err := ServerNaming(c)
	if err != nil {
		t.Fatal(err)
	}
	if delim != '/' || prefix != wantPrefix {
		t.Fatalf("ServerNaming = %q, %q", delim, prefix)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*imap.ListData{}
	for _, d := range list {
		got[d.Mailbox] = d
	}
	want := map[string]bool{}
	for _, f := range corp.Folders {
		want[MailboxName(f, delim, prefix)] = true
	}
	if len(got) != len(want) {
		var names []string
		for n := range got {
			names = append(names, n)
		}
		sort.Strings(names)
		t.Errorf("server has %d mailboxes, corpus %d: %q", len(got), len(want), names)
	}

	for i, f := range corp.Folders {
		name := MailboxName(f, delim, prefix)
		d := got[name]
		if d == nil {
			t.Errorf("mailbox %q missing", name)
			continue
		}
		if sub := slices.Contains(d.Attrs, imap.MailboxAttrSubscribed); sub != f.Subscribed && name != "INBOX" {
			t.Errorf("%q: subscribed = %v, want %v", name, sub, f.Subscribed)
		}
		var msgs []*Message
		for j := range corp.Messages {
			if corp.Messages[j].Folder == i {
				msgs = append(msgs, &corp.Messages[j])
			}
		}
		sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("SELECT %q: %v", name, err)
		}
		if int(sel.NumMessages) != len(msgs) {
			t.Errorf("%q: %d messages, want %d", name, sel.NumMessages, len(msgs))
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		var all, small imap.SeqSet
		all.AddRange(1, uint32(len(msgs)))
		for k, m := range msgs {
			if m.Size <= 256<<10 {
				small.AddNum(uint32(k + 1))
			}
		}
		bufs, err := c.Fetch(all, &imap.FetchOptions{Flags: true, InternalDate: true, RFC822Size: true}).Collect()
		if err != nil {
			t.Fatalf("FETCH %q: %v", name, err)
		}
		if len(bufs) != len(msgs) {
			t.Fatalf("%q: fetched %d messages", name, len(bufs))
		}
		for _, b := range bufs {
			m := msgs[b.SeqNum-1]
			if b.RFC822Size != m.Size {
				t.Errorf("%q #%d: size %d, want %d", name, b.SeqNum, b.RFC822Size, m.Size)
			}
			if !b.InternalDate.Equal(m.Date) {
				t.Errorf("%q #%d: internal date %v, want %v", name, b.SeqNum, b.InternalDate, m.Date)
			}
			var gotFlags, wantFlags []string
			for _, f := range b.Flags {
				gotFlags = append(gotFlags, strings.ToLower(string(f)))
			}
			for _, f := range m.Flags {
				wantFlags = append(wantFlags, strings.ToLower(f))
			}
			slices.Sort(gotFlags)
			slices.Sort(wantFlags)
			if !slices.Equal(gotFlags, wantFlags) {
				t.Errorf("%q #%d: flags %v, want %v", name, b.SeqNum, gotFlags, wantFlags)
			}
		}
		if len(small) == 0 {
			continue
		}
		section := &imap.FetchItemBodySection{Peek: true}
		bufs, err = c.Fetch(small, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			t.Fatalf("FETCH BODY[] %q: %v", name, err)
		}
		for _, b := range bufs {
			got, want := b.FindBodySection(section), msgs[b.SeqNum-1].Bytes()
			if msgs[b.SeqNum-1].Kind() == "bare-lf" {
				// imapmemserver re-serializes the header of BODY[] with
				// CRLF (RFC822.SIZE above shows it stored the raw bytes).
				got = bytes.ReplaceAll(got, []byte("\r\n"), []byte("\n"))
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%q #%d: content differs", name, b.SeqNum)
			}
		}
	}
}

func TestMailboxName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path   []string
		delim  rune
		prefix string
		want   string
	}{
		{[]string{"INBOX"}, '.', "INBOX.", "INBOX"},
		{[]string{"inbox"}, '/', "", "INBOX"},
		{[]string{"Projects", "2024", "Q1 Überblick"}, '/', "", "Projects/2024/Q1 Überblick"},
		{[]string{"Projects", "2024", "Q1 Überblick"}, '.', "INBOX.", "INBOX.Projects.2024.Q1 Überblick"},
		{[]string{"v1.2", "notes"}, '.', "", "v1_2.notes"},
		{[]string{"a", "b"}, 0, "", "a/b"},
	}
	for _, tt := range tests {
		if got := MailboxName(Folder{Path: tt.path}, tt.delim, tt.prefix); got != tt.want {
			t.Errorf("MailboxName(%q, %q, %q) = %q, want %q", tt.path, tt.delim, tt.prefix, got, tt.want)
		}
	}
}

func BenchmarkGenerate100k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Generate(Spec{Seed: 1, Messages: 100_000, Folders: 40})
	}
}

func BenchmarkWriteTo(b *testing.B) {
	c := Generate(Spec{Seed: 1, Messages: 1000, Folders: 20})
	b.SetBytes(c.TotalBytes() / int64(len(c.Messages)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Messages[i%len(c.Messages)].WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
