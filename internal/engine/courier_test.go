package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testimap"
)

// Courier-IMAP 5.0 (Debian) as a source and a destination. Courier sends no
// [UIDNEXT] on SELECT, has no LITERAL+, MOVE, SPECIAL-USE or MULTIAPPEND,
// keeps every folder under "INBOX." with '.', and refuses names with
// characters outside the BMP (emoji). testimap.StartCourier serves the whole
// test binary; every test has its own Courier user. (First copies and
// re-runs with and without the state: realservers_matching_test.go.)

// imapPeer is one side of a migration: where it is and how to log in.
type imapPeer struct {
	addr, user, password string
}

func (p imapPeer) endpoint() imapconn.Endpoint {
	ep := endpoint(p.addr)
	ep.User, ep.Password = p.user, p.password
	return ep
}

func (p imapPeer) snapshot(t *testing.T) testimap.Snapshot {
	t.Helper()
	return testimap.TakeSnapshot(t, p.addr, p.user, p.password)
}

// crossMigration copies one mailbox between two real servers with a state
// file of its own.
type crossMigration struct {
	src, dst  imapPeer
	want      testimap.Snapshot // the source, before any copy
	messages  int
	statePath string
}

func newCrossMigration(t *testing.T, src, dst imapPeer, mail *corpus.Corpus) *crossMigration {
	t.Helper()
	c := testimap.Dial(t, src.addr, src.user, src.password)
	if err := corpus.Load(context.Background(), c, mail); err != nil {
		t.Fatalf("loading the corpus into the source: %v", err)
	}
	c.Logout().Wait()
	return &crossMigration{
		src: src, dst: dst,
		want:      src.snapshot(t),
		messages:  len(mail.Messages),
		statePath: filepath.Join(t.TempDir(), "state.db"),
	}
}

// migrate runs one pass with the state file at m.statePath; progress may be
// nil.
func (m *crossMigration) migrate(t *testing.T, ctx context.Context, progress *engine.Progress) *engine.Result {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), m.statePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	opts := engine.Options{Conn: imapconn.Options{Timeout: 10 * time.Second}, MaxBackoff: 50 * time.Millisecond}
	job := engine.Job{Source: m.src.endpoint(), Dest: m.dst.endpoint()}
	return engine.New(st, opts).Migrate(ctx, job, progress)
}

// requireExact: the destination holds every source message once, in the
// same folder, with the same bytes, flags and date.
func (m *crossMigration) requireExact(t *testing.T, after string) {
	t.Helper()
	if d := m.want.Diff(m.dst.snapshot(t)); d != "" {
		t.Fatalf("after %s the destination differs from the source:\n%s", after, d)
	}
}

// TestCourierCrashBetweenAppendAndRecord: Dovecot to Courier and Courier to
// Dovecot, a pass ends between an APPEND the destination stored and the
// state's record of it, as when ferry is killed there; the next pass, with
// the state, must leave the exact source on the destination. The answer is
// held back at the destination deterministically (a random cancel or kill
// hits that moment only sometimes). First copies and re-runs with and
// without the state are TestRealServersMatchWhatSurvives's.
func TestCourierCrashBetweenAppendAndRecord(t *testing.T) {
	t.Parallel()
	// 12 folders: the generated corpus's 13th is "🎉 Events", which
	// Courier refuses (see TestCourierRefusedFolder). Courier answers
	// pipelined APPENDs only after a delayed ACK (~40 ms each), so the
	// corpus is small.
	mail := corpus.Generate(corpus.Spec{Seed: 41, Messages: 48, Folders: 12, MaxSize: 128 << 10})
	const dovecotUser = "crash"
	dov := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: []testimap.User{
		{Name: dovecotUser + "-to-courier", Password: pass}, {Name: dovecotUser + "-from-courier", Password: pass}}})

	for _, tc := range []struct {
		name            string
		login           string
		courierIsSource bool
	}{
		{"dovecot to courier", dovecotUser + "-to-courier", false},
		{"courier to dovecot", dovecotUser + "-from-courier", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cour := testimap.StartCourier(t, testimap.User{Name: tc.login, Password: pass})
			src, dst := imapPeer{dov.Addr, tc.login, pass}, imapPeer{cour.Addr, tc.login, pass}
			if tc.courierIsSource {
				src, dst = dst, src
			}
			m := newCrossMigration(t, src, dst, mail)

			holder := startAnswerHolder(t, m.dst.addr, 3)
			crashed := *m
			crashed.dst.addr = holder.addr
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-holder.held:
					cancel()
				case <-ctx.Done():
				}
			}()
			r := crashed.migrate(t, ctx, nil)
			cancel()
			select {
			case <-holder.held:
			default:
				t.Fatalf("the pass ended (%d copied, %v) before an APPEND answer was held back", r.Run.Copied, r.Err)
			}
			requireOK(t, m.migrate(t, context.Background(), nil))
			m.requireExact(t, "a crash and a resumed pass")
		})
	}
}

// TestCourierRefusedFolder: Courier refuses to create a folder named with
// an emoji. The mailbox still completes, every other message arrives once,
// and the refused folder's messages are accounted for: copied under another
// name, or reported, one failure per message or one for the whole folder,
// with Courier's words and what to do.
func TestCourierRefusedFolder(t *testing.T) {
	t.Parallel()
	const name = "refused-folder"
	dov := testimap.StartDovecot(t, testimap.DovecotOptions{Layout: testimap.LayoutFS, Users: []testimap.User{{Name: name, Password: pass}}})
	cour := testimap.StartCourier(t, testimap.User{Name: name, Password: pass})
	// Seed 57 puts two of the 60 messages into "🎉 Events".
	mail := corpus.Generate(corpus.Spec{Seed: 57, Messages: 60, Folders: 14, MaxSize: 64 << 10})
	m := newCrossMigration(t, imapPeer{dov.Addr, name, pass}, imapPeer{cour.Addr, name, pass}, mail)
	const refused = "🎉 Events"
	if len(m.want[refused]) == 0 {
		t.Fatalf("the corpus has no messages in %q: %v", refused, keys(m.want))
	}

	r := m.migrate(t, context.Background(), nil)
	if r.Err != nil {
		t.Fatalf("the mailbox failed over one folder: %v", r.Err)
	}
	got := m.dst.snapshot(t)
	reportedMessages, folderReported := 0, false
	for _, f := range r.Failures {
		if f.Folder != refused || f.ServerText == "" || f.Hint == "" {
			t.Errorf("unexpected failure: %+v", f)
			continue
		}
		if f.UID == 0 {
			folderReported = true
		} else {
			reportedMessages++
		}
	}
	// Whatever the destination calls the refused folder, the messages
	// that arrived are exactly the source's, less those reported.
	want := testimap.Snapshot{}
	arrived := testimap.Snapshot{}
	for p, msgs := range m.want {
		if p != refused {
			want[p] = msgs
		}
	}
	for p, msgs := range got {
		if _, ok := want[p]; ok {
			arrived[p] = msgs
			continue
		}
		arrived[refused] = append(arrived[refused], msgs...)
	}
	elsewhere := len(arrived[refused])
	delete(arrived, refused)
	switch {
	case folderReported && elsewhere == 0 && reportedMessages == 0:
	case !folderReported && elsewhere+reportedMessages == len(m.want[refused]):
	default:
		t.Errorf("%q holds %d messages: %d arrived elsewhere, %d were reported one by one, the folder was reported: %v",
			refused, len(m.want[refused]), elsewhere, reportedMessages, folderReported)
	}
	if d := want.Diff(arrived); d != "" {
		t.Errorf("the other folders differ:\n%s", d)
	}
}

// answerHolder forwards IMAP connections to a server and holds back the
// tagged answer to the n-th APPEND (counting over all connections), and
// everything after it on that connection: the server has stored the
// message, the client never hears so. held is closed then.
type answerHolder struct {
	addr   string
	target string
	n      int64
	seen   atomic.Int64
	held   chan struct{}
	once   sync.Once
}

func startAnswerHolder(t *testing.T, target string, n int64) *answerHolder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &answerHolder{addr: ln.Addr().String(), target: target, n: n, held: make(chan struct{})}
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c ...net.Conn) {
		mu.Lock()
		conns = append(conns, c...)
		mu.Unlock()
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			track(client, server)
			go func() {
				io.Copy(server, client)
				server.Close()
			}()
			go h.forwardAnswers(client, server)
		}
	}()
	return h
}

// forwardAnswers copies the server's lines to the client until it meets
// the answer to hold.
func (h *answerHolder) forwardAnswers(client, server net.Conn) {
	defer client.Close()
	r := bufio.NewReaderSize(server, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 && !bytes.HasPrefix(line, []byte("* ")) && bytes.Contains(line, []byte(" OK [APPENDUID ")) {
			if h.seen.Add(1) == h.n {
				h.once.Do(func() { close(h.held) })
				io.Copy(io.Discard, r) // the client waits for the answer in vain
				return
			}
		}
		if _, werr := client.Write(line); werr != nil {
			return
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}
