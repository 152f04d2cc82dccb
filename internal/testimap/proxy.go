package testimap

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards TCP connections to a server and can cut them in the middle
// of a transfer: CutAfter(n) closes whichever connection carries the n-th
// byte from the server, so the client sees a connection drop mid-message.
type Proxy struct {
	Addr   string
	target string
	ln     net.Listener
	budget atomic.Int64 // bytes left before the next cut; <= 0 means no cut armed
	cuts   atomic.Int64
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

// StartProxy listens on 127.0.0.1 and forwards to target until the test ends.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}}
	go p.serve()
	tb.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

// CutAfter arms a one-shot cut after n more bytes from the server.
func (p *Proxy) CutAfter(n int64) { p.budget.Store(n) }

// Cuts is how many connections were cut so far.
func (p *Proxy) Cuts() int64 { return p.cuts.Load() }

func (p *Proxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.track(client, true)
		p.track(server, true)
		go func() {
			io.Copy(server, client)
			server.Close()
		}()
		go func() {
			defer func() {
				client.Close()
				server.Close()
				p.track(client, false)
				p.track(server, false)
			}()
			buf := make([]byte, 32<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 {
					if p.budget.Load() > 0 {
						if left := p.budget.Add(-int64(n)); left <= 0 {
							// Send part of this read, then cut: the client is mid-literal.
							client.Write(buf[:n/2])
							p.cuts.Add(1)
							return
						}
					}
					if _, werr := client.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// CutEach arms a cut after each of the byte counts in turn, the next once
// the one before has happened, while the caller's copy runs. The returned
// stop ends the re-arming and waits for it.
func (p *Proxy) CutEach(after ...int64) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := p.cuts.Load()
		for i, n := range after {
			p.CutAfter(n)
			for p.cuts.Load() <= start+int64(i) {
				select {
				case <-quit:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}
	}()
	return func() { close(quit); <-done }
}
