package testimap

import (
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Latency wraps c so that each write reaches the server delay after it was
// made, in order, without holding the writer up: the latency of a far
// link, not a slow writer. A failed delivery fails the next write.
func Latency(c net.Conn, delay time.Duration) net.Conn {
	l := &latencyConn{Conn: c, queue: make(chan timedWrite, 4096)}
	l.delay = delay
	queue := l.queue
	go func() {
		for w := range queue {
			time.Sleep(time.Until(w.due)) // the link's latency
			if _, err := l.Conn.Write(w.data); err != nil {
				l.err.CompareAndSwap(nil, &err)
			}
		}
	}()
	return l
}

type latencyConn struct {
	net.Conn
	delay time.Duration
	mu    sync.Mutex // guards queue
	queue chan timedWrite
	err   atomic.Pointer[error] // of a failed delivery
}

type timedWrite struct {
	due  time.Time
	data []byte
}

func (l *latencyConn) Write(p []byte) (int, error) {
	if err := l.err.Load(); err != nil {
		return 0, *err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.queue == nil {
		return 0, net.ErrClosed
	}
	l.queue <- timedWrite{due: time.Now().Add(l.delay), data: slices.Clone(p)}
	return len(p), nil
}

func (l *latencyConn) Close() error {
	l.mu.Lock()
	if l.queue != nil {
		close(l.queue)
		l.queue = nil
	}
	l.mu.Unlock()
	return l.Conn.Close()
}
