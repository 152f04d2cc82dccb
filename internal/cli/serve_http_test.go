package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestServerCutsSlowClients: a client that sends its headers and then
// trickles its body is cut off after the read timeout, and a kept-alive
// connection left idle is closed after the idle timeout. The timeouts are
// shortened; serveTimeouts are the real ones.
func TestServerCutsSlowClients(t *testing.T) {
	t.Parallel()
	if serveTimeouts.Read == 0 || serveTimeouts.Write == 0 || serveTimeouts.Idle == 0 || serveTimeouts.ReadHeader == 0 {
		t.Fatalf("serve has no timeout for some phase: %+v", serveTimeouts)
	}
	short := httpTimeouts{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond, Write: 2 * time.Second, Idle: 400 * time.Millisecond}
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, "body not read", http.StatusRequestTimeout)
			return
		}
		fmt.Fprintf(w, "read %d bytes", n)
	}), short)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// closedWithin reads until the server closes the connection, failing
	// when it is still open after limit.
	closedWithin := func(t *testing.T, c net.Conn, limit time.Duration) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(limit))
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the connection is still open after %v", limit)
		}
	}

	t.Run("trickled body", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, "POST /import HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
		stop := make(chan struct{})
		defer close(stop)
		go func() { // one byte every 100 ms: 100 s for the whole body
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
				}
			}
		}()
		closedWithin(t, c, 5*time.Second)
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || res.StatusCode != http.StatusOK || res.Close {
			t.Fatalf("first request: %v %+v", err, res)
		}
		b, _ := io.ReadAll(res.Body)
		if !strings.Contains(string(b), "read 0 bytes") {
			t.Fatalf("first answer %q", b)
		}
		closedWithin(t, c, 5*time.Second)
	})
}
