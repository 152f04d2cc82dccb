package imapconn_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/testimap"
)

// The dead-connection watchdog blames the server only for its own silence.
// Two waits that are not the server's: Ferry not reading a message body for
// a while (its destination is slow to take the bytes), and Ferry sending a
// message body for longer than the timeout (the server answers only at the
// end). Before, both connections were closed as dead: under -race a 30 MB
// message was copied twice after such a close.
// watchdogTimeout is long enough for a login on a loaded machine.
const watchdogTimeout = 2 * time.Second

func TestWatchdogIgnoresAPauseInReadingABody(t *testing.T) {
	t.Parallel()
	const size = 4 << 20
	d := testimap.StartDovecot(t, testimap.DovecotOptions{Users: []testimap.User{{Name: "alice", Password: "pw"}}})
	body := msg(1, size)
	appendTo(t, d, body)
	ep := imapconn.Endpoint{Host: d.Host, Port: d.Port, Security: imapconn.SecurityStartTLS, User: "alice", Password: "pw", AllowPlaintext: true}
	c, err := imapconn.Dial(context.Background(), ep, imapconn.Options{Timeout: watchdogTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var n int64
	err = c.Do(func() error {
		cmd := c.Fetch(imap.UIDSetNum(1), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		defer cmd.Close()
		for fm := cmd.Next(); fm != nil; fm = cmd.Next() {
			for item := fm.Next(); item != nil; item = fm.Next() {
				b, ok := item.(imapclient.FetchItemDataBodySection)
				if !ok || b.Literal == nil {
					continue
				}
				m, err := io.CopyN(io.Discard, b.Literal, 64<<10)
				n += m
				if err != nil {
					return err
				}
				// The body's reader waits, as for a destination that takes
				// its bytes slowly; the server has sent what the network holds.
				<-time.After(3 * watchdogTimeout)
				m, err = io.Copy(io.Discard, b.Literal)
				n += m
				if err != nil {
					return err
				}
			}
		}
		return cmd.Close()
	})
	if err != nil || n != int64(len(body)) {
		t.Fatalf("read %d of %d bytes: %v", n, len(body), err)
	}
}

func TestWatchdogIgnoresALongUpload(t *testing.T) {
	t.Parallel()
	const size = 6 << 20
	d := testimap.StartDovecot(t, testimap.DovecotOptions{Users: []testimap.User{{Name: "alice", Password: "pw"}}})
	slow := startSlowUplink(t, d.Addr, 64<<10, 40*time.Millisecond) // 6 MB in about 4 s
	ep := endpointAt(t, slow, imapconn.SecurityStartTLS)
	// Small socket buffers on both sides of the slow link: the last write
	// returns shortly before the server has the whole message, as on a
	// long link whose buffers are small beside the message.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = c.(*net.TCPConn).SetWriteBuffer(64 << 10)
		}
		return c, err
	}
	a, err := imapconn.DialAppender(context.Background(), ep, imapconn.Options{Timeout: watchdogTimeout, DialContext: dial})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	body := msg(1, size)
	p, err := a.Begin("INBOX", nil, time.Time{}, int64(len(body)), strings.NewReader(body))
	if err == nil {
		err = a.End()
	}
	if err == nil {
		err = a.Flush()
	}
	if err == nil {
		_, err = p.Wait()
	}
	if err != nil {
		t.Fatalf("a %d-byte upload that took longer than the %s timeout: %v", len(body), watchdogTimeout, err)
	}
}

// startSlowUplink forwards connections to target, passing at most chunk
// bytes towards the server per interval; answers come back at once.
func startSlowUplink(t *testing.T, target string, chunk int, interval time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			client.(*net.TCPConn).SetReadBuffer(chunk)
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			t.Cleanup(func() { client.Close(); server.Close() })
			go io.Copy(client, server)
			go func() {
				defer server.Close()
				tick := time.NewTicker(interval)
				defer tick.Stop()
				buf := make([]byte, chunk)
				for {
					n, err := client.Read(buf)
					if n > 0 {
						if _, werr := server.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
					<-tick.C
				}
			}()
		}
	}()
	return ln.Addr().String()
}
