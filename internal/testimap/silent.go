package testimap

import (
	"bufio"
	"net"
	"strings"
	"sync"
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
