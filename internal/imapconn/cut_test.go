package imapconn_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/testimap"
)

// TestConnectionCutInsideABody: when the connection ends in the middle of
// a message body, reading the body fails (a short body must never read as
// a whole one), the failure is temporary, and closing the command after it
// is safe. Before, the body ended with io.EOF as if complete, and imapclient
// then read the connection from two goroutines at once (go test -race
// reported it in FetchCommand.Close and FetchMessageData.Collect).
func TestConnectionCutInsideABody(t *testing.T) {
	t.Parallel()
	const size = 1 << 20
	d := testimap.StartDovecot(t, testimap.DovecotOptions{Users: []testimap.User{{Name: "alice", Password: "pw"}}})
	body := msg(1, size)
	appendTo(t, d, body)
	tests := []struct {
		name string
		read func(cmd *imapclient.FetchCommand) (int64, error) // bytes of the body read, and the error
	}{
		{"streamed, then the command closed", func(cmd *imapclient.FetchCommand) (int64, error) {
			defer cmd.Close()
			fm := cmd.Next()
			if fm == nil {
				return 0, cmd.Close()
			}
			for item := fm.Next(); item != nil; item = fm.Next() {
				if b, ok := item.(imapclient.FetchItemDataBodySection); ok && b.Literal != nil {
					return io.Copy(io.Discard, b.Literal)
				}
			}
			return 0, errors.New("no body in the answer")
		}},
		{"collected", func(cmd *imapclient.FetchCommand) (int64, error) {
			msgs, err := cmd.Collect()
			if len(msgs) == 1 && len(msgs[0].BodySection) == 1 {
				return int64(len(msgs[0].BodySection[0].Bytes)), err
			}
			return 0, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			proxy := testimap.StartProxy(t, d.Addr)
			conn, err := imapconn.Dial(context.Background(), endpointAt(t, proxy.Addr, imapconn.SecurityStartTLS), imapconn.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
				t.Fatal(err)
			}
			proxy.CutAfter(size / 4)
			var n int64
			err = conn.Do(func() error {
				cmd := conn.Fetch(imap.UIDSetNum(1), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
				n, err = tt.read(cmd)
				return err
			})
			if proxy.Cuts() != 1 {
				t.Fatalf("the proxy cut %d connections, want 1", proxy.Cuts())
			}
			if n >= int64(len(body)) {
				t.Fatalf("read %d bytes of a %d-byte body through a cut connection", n, len(body))
			}
			if err == nil {
				t.Fatalf("a body cut after %d of %d bytes read as complete", n, len(body))
			}
			if e := imapconn.Classify("read INBOX", err); !e.Temporary || !strings.Contains(e.Error(), "closed the connection") {
				t.Fatalf("error %q (temporary %v), want a temporary error that says the server closed the connection", e, e.Temporary)
			}
		})
	}
}

// appendTo stores body in alice's INBOX on d.
func appendTo(t *testing.T, d *testimap.Dovecot, body string) {
	t.Helper()
	c := testimap.Dial(t, d.Addr, "alice", "pw")
	app := c.Append("INBOX", int64(len(body)), nil)
	if _, err := app.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}
}
