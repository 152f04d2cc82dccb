package engine_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// commandCounter forwards connections to target and counts the client's
// command lines that contain word and not except (a literal's lines would
// count too: the test appends little through it, none with the word).
type commandCounter struct {
	Addr         string
	word, except string
	count        atomic.Int64
}

func countCommands(t *testing.T, target, word, except string) *commandCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cc := &commandCounter{Addr: ln.Addr().String(), word: word, except: except}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Go(func() { io.Copy(c, s); c.Close() })
			wg.Go(func() {
				defer s.Close()
				r := bufio.NewReader(io.TeeReader(c, s))
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if up := strings.ToUpper(line); strings.Contains(up, " "+cc.word+" ") && !strings.Contains(up, cc.except) {
						cc.count.Add(1)
					}
				}
			})
		}
	})
	return cc
}

// TestRerunDoesNotSubscribeAgain: the first pass subscribes the
// destination's folders as the source's are; a later pass, which finds
// them subscribed, sends no SUBSCRIBE (one command per folder and pass
// that the server would answer for nothing) but INBOX's, which a server
// may leave out of its LIST.
func TestRerunDoesNotSubscribeAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, smallCorpus(7))
	direct := b.job.Dest
	subs := countCommands(t, b.dst.Addr, "SUBSCRIBE", " SUBSCRIBE INBOX")
	b.job.Dest = endpoint(subs.Addr)
	requireOK(t, b.run(t, nil))
	first := subs.count.Load()
	if first == 0 {
		t.Fatal("the first pass subscribed nothing; the test needs subscribed source folders")
	}
	b.requireExact(t)
	requireOK(t, b.run(t, nil))
	if again := subs.count.Load() - first; again != 0 {
		t.Fatalf("the second pass sent %d SUBSCRIBE commands for folders other than INBOX, want 0", again)
	}
	b.job.Dest = direct
	b.requireExact(t)
}
