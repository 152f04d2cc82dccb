package engine_test

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/testimap"
)

// TestRealSourcesCountFoldersInTheirListing: Dovecot and Cyrus announce
// LIST-STATUS, so planning reads the folders' counts from its LIST and
// sends no STATUS; Courier does not, and is asked STATUS for each folder.
// The commands are counted on the wire to the source.
func TestRealSourcesCountFoldersInTheirListing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		source     func(t *testing.T) peer
		listStatus bool
	}{
		{"Dovecot", dovecotPeer, true},
		{"Cyrus", func(t *testing.T) peer { return cyrusPeer(t, '/') }, true},
		{"Courier", courierPeer, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := tc.source(t)
			const folders, messages = 3, 20
			c := testimap.Dial(t, src.addr, src.user, src.password)
			if err := corpus.Load(context.Background(), c, corpus.Generate(corpus.Spec{Seed: 15, Messages: messages, Folders: folders, MinSize: 512, MaxSize: 2048})); err != nil {
				t.Fatalf("load corpus: %v", err)
			}
			c.Logout().Wait()
			want := src.snapshot(t)
			dst := testimap.StartMem(t, testimap.User{Name: user, Password: pass})

			srcAddr := net.JoinHostPort(src.ep.Host, strconv.Itoa(src.ep.Port))
			var wire commandLog
			opts := engine.Options{}
			opts.Conn.DialContext = func(ctx context.Context, network, address string) (net.Conn, error) {
				nc, err := (&net.Dialer{}).DialContext(ctx, network, address)
				if err != nil || address != srcAddr {
					return nc, err
				}
				return &loggedConn{Conn: nc, log: &wire}, nil
			}
			r := migrateOnce(t, engine.Job{Source: src.ep, Dest: endpoint(dst.Addr)}, opts)
			requireOK(t, r)
			if r.Run.Copied != messages {
				t.Fatalf("copied %d, want %d", r.Run.Copied, messages)
			}
			if got := testimap.TakeSnapshot(t, dst.Addr, user, pass); want.Diff(got) != "" {
				t.Fatalf("destination differs:\n%s", want.Diff(got))
			}
			if wire.count("STARTTLS") > 0 {
				t.Fatal("the source's connection is encrypted: its commands cannot be counted")
			}
			statuses, listStatus := wire.count("STATUS"), wire.listStatus()
			if tc.listStatus && (statuses != 0 || listStatus != 1) {
				t.Errorf("%d STATUS and %d LIST ... RETURN (... STATUS ...) sent to the source, want 0 and 1", statuses, listStatus)
			}
			if !tc.listStatus && (statuses < folders+1 || listStatus != 0) {
				t.Errorf("%d STATUS and %d LIST ... RETURN (... STATUS ...) sent to the source, want one STATUS per folder (%d) and no LIST-STATUS", statuses, listStatus, folders+1)
			}
		})
	}
}

// commandLog keeps the command lines a client sent.
type commandLog struct {
	mu      sync.Mutex
	lines   [][]byte
	partial map[*loggedConn][]byte
}

func (l *commandLog) add(c *loggedConn, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.partial == nil {
		l.partial = map[*loggedConn][]byte{}
	}
	buf := append(l.partial[c], p...)
	for {
		i := bytes.Index(buf, []byte("\r\n"))
		if i < 0 {
			break
		}
		l.lines = append(l.lines, bytes.Clone(buf[:i]))
		buf = buf[i+2:]
	}
	l.partial[c] = bytes.Clone(buf)
}

// count is how many commands named name ("tag NAME ...") were sent.
func (l *commandLog) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if f := bytes.Fields(line); len(f) >= 2 && bytes.EqualFold(f[1], []byte(name)) {
			n++
		}
	}
	return n
}

// listStatus is how many LIST commands asked for STATUS in their answer.
func (l *commandLog) listStatus() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if f := bytes.Fields(line); len(f) >= 2 && bytes.EqualFold(f[1], []byte("LIST")) && bytes.Contains(bytes.ToUpper(line), []byte(" STATUS (")) {
			n++
		}
	}
	return n
}

type loggedConn struct {
	net.Conn
	log *commandLog
}

func (c *loggedConn) Write(p []byte) (int, error) {
	c.log.add(c, p)
	return c.Conn.Write(p)
}
