package testimap

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// StartSilent starts a listener that accepts connections and never writes
// a byte: a server that hangs before its greeting (or a TLS port that never
// answers the handshake). It returns host:port.
func StartSilent(tb testing.TB) string {
	tb.Helper()
	return serveScript(tb, func(c net.Conn) {
		// Hold the connection open until the client gives up.
		bufio.NewReader(c).WriteTo(discardWriter{})
	})
}

// StartMuteAfterGreeting starts a server that greets, answers CAPABILITY
// (IMAP4rev1, LOGIN allowed, no STARTTLS) and then never answers again:
// a server that hangs at LOGIN. It returns host:port.
func StartMuteAfterGreeting(tb testing.TB) string {
	tb.Helper()
	return serveScript(tb, func(c net.Conn) {
		c.Write([]byte("* OK [CAPABILITY IMAP4rev1 LITERAL+] mute test server ready\r\n"))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			tag, cmd, _ := strings.Cut(strings.TrimSpace(line), " ")
			if strings.EqualFold(cmd, "CAPABILITY") {
				c.Write([]byte("* CAPABILITY IMAP4rev1 LITERAL+\r\n" + tag + " OK done\r\n"))
			}
			// Anything else (LOGIN, AUTHENTICATE) gets no answer.
		}
	})
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// serveScript accepts connections on 127.0.0.1 and runs serve on each until
// the test ends.
func serveScript(tb testing.TB, serve func(net.Conn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { defer c.Close(); serve(c) }()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// NoLiteralPlusProxy stands in front of an IMAP server, hides its LITERAL+
// (as Gmail and Exchange do not offer it, so a client waits for "+" before
// each message) and can go silent at an APPEND: the server's "+" and all
// that follows on that connection are swallowed, as when a server hangs
// mid-command. Capability lines are rewritten line by line; a message body
// with a line starting "* CAPABILITY" would be rewritten too (not in the
// test corpora).
type NoLiteralPlusProxy struct {
	Addr  string
	mutes atomic.Int64 // APPENDs still to go silent at
	muted atomic.Int64
}

// StartNoLiteralPlusProxy forwards to target until the test ends.
func StartNoLiteralPlusProxy(tb testing.TB, target string) *NoLiteralPlusProxy {
	tb.Helper()
	p := &NoLiteralPlusProxy{}
	p.Addr = serveScript(tb, func(client net.Conn) {
		server, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer server.Close()
		var silent atomic.Bool
		go func() {
			// Client to server: raw, watching for the APPEND to go silent at.
			buf := make([]byte, 32<<10)
			for {
				n, err := client.Read(buf)
				if n > 0 {
					if bytes.Contains(buf[:n], []byte(" APPEND ")) && p.mutes.Add(-1) >= 0 {
						silent.Store(true)
						p.muted.Add(1)
					}
					server.Write(buf[:n])
				}
				if err != nil {
					server.Close()
					return
				}
			}
		}()
		r := bufio.NewReader(server)
		for {
			line, err := r.ReadString('\n')
			if silent.Load() {
				if err != nil {
					return
				}
				continue // the connection stays open, and says nothing
			}
			if strings.HasPrefix(line, "* CAPABILITY ") || strings.Contains(line, "OK [CAPABILITY ") {
				line = strings.Replace(line, " LITERAL+", "", 1)
			}
			if _, werr := io.WriteString(client, line); werr != nil || err != nil {
				return
			}
		}
	})
	return p
}

// MuteAppends makes the next n APPEND commands (on any connection) go
// unanswered: no "+", nothing more on their connection.
func (p *NoLiteralPlusProxy) MuteAppends(n int) { p.mutes.Store(int64(n)) }

// Muted is how many connections went silent at an APPEND.
func (p *NoLiteralPlusProxy) Muted() int64 { return p.muted.Load() }
