package imapconn_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/testimap"
)

// plusCounter counts the continuation requests ("+" lines) a server sends.
type plusCounter struct {
	net.Conn
	last   byte
	pluses *atomic.Int64
}

func (c *plusCounter) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	for _, b := range p[:n] {
		if b == '+' && c.last == '\n' {
			c.pluses.Add(1)
		}
		c.last = b
	}
	return n, err
}

func countingDial(pluses *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &plusCounter{Conn: c, last: '\n', pluses: pluses}, nil
	}
}

// appendPipelined sends n APPENDs on one connection before it waits for
// any answer, as the engine does, and checks each got its own UID.
func appendPipelined(t *testing.T, c *imapconn.Conn, n int) {
	t.Helper()
	var cmds []*imapclient.AppendCommand
	err := c.Do(func() error {
		for i := range n {
			m := msg(i, 5000+i*300) // above LITERAL-'s 4096 bytes
			app := c.Append("INBOX", int64(len(m)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
			if _, err := app.Write([]byte(m)); err != nil {
				return err
			}
			if err := app.Close(); err != nil {
				return err
			}
			cmds = append(cmds, app)
		}
		uids := map[imap.UID]bool{}
		for _, app := range cmds {
			data, err := app.Wait()
			if err != nil {
				return err
			}
			uids[data.UID] = true
		}
		if len(uids) != n {
			t.Errorf("%d distinct UIDs for %d APPENDs", len(uids), n)
		}
		st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			return err
		}
		if *st.NumMessages != uint32(n) {
			t.Errorf("INBOX holds %d messages, want %d", *st.NumMessages, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The continuations the server sends for 20 APPENDs on one connection: on
// a server with LITERAL+ (Dovecot) none is asked for; a server without it
// (Courier) is sent synchronizing literals and asked for each "+", as
// before.
func TestPipelinedAppendsAskForContinuations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		server      string
		start       func(t *testing.T) imapconn.Endpoint
		literalPlus bool
		want        int64
	}{
		{"Dovecot", func(t *testing.T) imapconn.Endpoint {
			d := testimap.StartDovecot(t, testimap.DovecotOptions{Users: []testimap.User{{Name: "alice", Password: "pw"}}})
			return imapconn.Endpoint{Host: d.Host, Port: d.Port, Security: imapconn.SecurityStartTLS, AllowPlaintext: true, User: "alice", Password: "pw"}
		}, true, 0},
		{"Courier", func(t *testing.T) imapconn.Endpoint {
			cr := testimap.StartCourier(t, testimap.User{Name: "carol", Password: "pw"})
			return imapconn.Endpoint{Host: cr.Host, Port: cr.Port, Security: imapconn.SecurityStartTLS, AllowPlaintext: true, User: "carol", Password: "pw"}
		}, false, 20},
	} {
		t.Run(tc.server, func(t *testing.T) {
			t.Parallel()
			ep := tc.start(t)
			var pluses atomic.Int64
			c, err := imapconn.Dial(context.Background(), ep, imapconn.Options{Timeout: 30 * time.Second, DialContext: countingDial(&pluses)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.Caps().Has(imap.CapLiteralPlus); got != tc.literalPlus {
				t.Fatalf("%s announces LITERAL+: %v, this test expects %v", tc.server, got, tc.literalPlus)
			}
			before := pluses.Load()
			appendPipelined(t, c, 20)
			if got := pluses.Load() - before; got != tc.want {
				t.Errorf("the server sent %d continuations for 20 APPENDs, want %d", got, tc.want)
			}
		})
	}
}

// Over TLS (implicit or STARTTLS: there the server's "+" cannot be
// counted on the wire) 20 APPENDs over a link that delays what Ferry sends
// take a few delays, not one each.
func TestPipelinedAppendsOverTLSTakeOneTurnDovecot(t *testing.T) {
	t.Parallel()
	const delay = 100 * time.Millisecond
	d := testimap.StartDovecot(t, testimap.DovecotOptions{TLS: true, Users: []testimap.User{{Name: "alice", Password: "pw"}, {Name: "bob", Password: "pw"}}})
	slow := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return testimap.Latency(c, delay), nil
	}
	for _, ep := range []imapconn.Endpoint{
		{Host: d.Host, Port: d.TLSPort, Security: imapconn.SecurityTLS, TLSConfig: d.TLSConfig(), User: "alice", Password: "pw"},
		{Host: d.Host, Port: d.Port, Security: imapconn.SecurityStartTLS, TLSConfig: d.TLSConfig(), User: "bob", Password: "pw"},
	} {
		t.Run(ep.Security.String(), func(t *testing.T) {
			t.Parallel()
			c, err := imapconn.Dial(context.Background(), ep, imapconn.Options{Timeout: 30 * time.Second, DialContext: slow})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			appendPipelined(t, c, 20) // and a STATUS: two turns
			if took := time.Since(start); took > 10*delay {
				t.Errorf("20 APPENDs and a STATUS took %v over a link of %v: the APPENDs waited for the server's turns", took, delay)
			}
		})
	}
}

// APPENDs the server refuses (a message above its APPENDLIMIT, one over
// the quota) among pipelined ones that do not wait for "+": each gets its
// own answer, the connection goes on, and what was taken is all there.
func TestPipelinedAppendsRefusedDovecot(t *testing.T) {
	t.Parallel()
	d := testimap.StartDovecot(t, testimap.DovecotOptions{AppendLimit: 20000, Quota: 60000, Users: []testimap.User{{Name: "alice", Password: "pw"}}})
	var pluses atomic.Int64
	ep := imapconn.Endpoint{Host: d.Host, Port: d.Port, Security: imapconn.SecurityStartTLS, AllowPlaintext: true, User: "alice", Password: "pw"}
	c, err := imapconn.Dial(context.Background(), ep, imapconn.Options{Timeout: 30 * time.Second, DialContext: countingDial(&pluses)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.AppendLimit != 20000 {
		t.Fatalf("APPENDLIMIT %d", c.AppendLimit)
	}
	sizes := []int{5000, 30000, 15000, 15000, 15000, 15000, 5000}
	want := []bool{true, false, true, true, true, false, true} // the sixth is over the quota
	before := pluses.Load()
	err = c.Do(func() error {
		var cmds []*imapclient.AppendCommand
		for i, size := range sizes {
			m := msg(i, size)
			app := c.Append("INBOX", int64(len(m)), nil)
			if _, err := app.Write([]byte(m)); err != nil {
				return err
			}
			if err := app.Close(); err != nil {
				return err
			}
			cmds = append(cmds, app)
		}
		taken := 0
		for i, app := range cmds {
			_, err := app.Wait()
			if (err == nil) != want[i] {
				t.Errorf("APPEND %d (%d bytes): %v", i, sizes[i], err)
			}
			if err == nil {
				taken++
			}
		}
		st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			return err
		}
		if int(*st.NumMessages) != taken {
			t.Errorf("INBOX holds %d messages, %d were taken", *st.NumMessages, taken)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := pluses.Load() - before; got != 0 {
		t.Errorf("the server sent %d continuations", got)
	}
}

// cutConn drops the connection in the middle of what the client writes,
// once armed: after budget more bytes.
type cutConn struct {
	net.Conn
	budget atomic.Int64 // <= 0: not armed
}

func (c *cutConn) Write(p []byte) (int, error) {
	if c.budget.Load() > 0 {
		if left := c.budget.Add(-int64(len(p))); left <= 0 {
			n, _ := c.Conn.Write(p[:int64(len(p))+left])
			c.Conn.Close()
			return n, net.ErrClosed
		}
	}
	return c.Conn.Write(p)
}

// A connection dropped in the middle of a message, with APPENDs in flight
// that did not wait for "+": every APPEND ends with an answer or an error
// (no wait hangs), and the server holds the messages sent whole at most,
// among them every one it said OK to.
func TestPipelinedAppendsDroppedMidLiteralDovecot(t *testing.T) {
	t.Parallel()
	d := testimap.StartDovecot(t, testimap.DovecotOptions{Users: []testimap.User{{Name: "alice", Password: "pw"}}})
	var cut *cutConn
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cut = &cutConn{Conn: c}
		return cut, nil
	}
	ep := imapconn.Endpoint{Host: d.Host, Port: d.Port, Security: imapconn.SecurityStartTLS, AllowPlaintext: true, User: "alice", Password: "pw"}
	c, err := imapconn.Dial(context.Background(), ep, imapconn.Options{Timeout: 10 * time.Second, DialContext: dial})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// INBOX is made now, not by the APPENDs (Dovecot's INBOX creation
	// races with the check's when the dropped session still runs).
	if err := c.Do(func() error { _, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait(); return err }); err != nil {
		t.Fatal(err)
	}
	msgs := []string{msg(0, 6000), msg(1, 6000), msg(2, 20000), msg(3, 6000), msg(4, 6000)}
	cut.budget.Store(int64(len(msgs[0]) + len(msgs[1]) + 200 + len(msgs[2])/2)) // in the third message
	done := make(chan struct{})
	oks := 0
	go func() {
		defer close(done)
		c.Do(func() error {
			var cmds []*imapclient.AppendCommand
			for _, m := range msgs {
				app := c.Append("INBOX", int64(len(m)), nil)
				app.Write([]byte(m))
				app.Close()
				cmds = append(cmds, app)
			}
			for _, app := range cmds {
				if _, err := app.Wait(); err == nil {
					oks++
				}
			}
			return nil
		})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the APPENDs did not end after the connection dropped")
	}
	if cut.budget.Load() > 0 {
		t.Fatal("the connection was not cut")
	}
	if oks > 2 {
		t.Fatalf("%d APPENDs said OK, only 2 messages went whole", oks)
	}
	check := d.Login(t, "alice")
	defer check.Close()
	st, err := check.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d said OK, %d stored", oks, *st.NumMessages)
	if n := int(*st.NumMessages); n < oks || n > 2 {
		t.Errorf("INBOX holds %d messages: %d were said OK, 2 went whole", n, oks)
	}
}

// A server that offers STARTTLS and then refuses it: Dial fails (it never
// falls back to clear text) and says so.
func TestStartTLSRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("* OK [CAPABILITY IMAP4rev1 STARTTLS LITERAL+] hi\r\n"))
		buf := make([]byte, 256)
		n, _ := c.Read(buf)
		tag, _, _ := strings.Cut(string(buf[:n]), " ")
		c.Write([]byte("* OK still here\r\n" + tag + " NO not today\r\n"))
		c.Read(buf)
	}()
	ep := endpointAt(t, ln.Addr().String(), imapconn.SecurityStartTLS)
	_, err = imapconn.Dial(context.Background(), ep, imapconn.Options{Timeout: 5 * time.Second})
	var e *imapconn.Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "not today") || !strings.Contains(e.Hint, "refused") {
		t.Fatalf("Dial: %v (%+v)", err, e)
	}
}
