package imapconn_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/imapconn"
)

// recordingServer is an IMAP server script that answers OK to every
// command and records each command as the server parsed it (literals
// inlined), so a test sees exactly which commands a client sent.
type recordingServer struct {
	addr     string
	mu       sync.Mutex
	commands []string
}

func startRecordingServer(t *testing.T, caps string) *recordingServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &recordingServer{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, caps)
		}
	}()
	return s
}

func (s *recordingServer) serve(c net.Conn, caps string) {
	defer c.Close()
	fmt.Fprintf(c, "* OK [CAPABILITY %s] ready\r\n", caps)
	r := bufio.NewReader(c)
	for {
		var cmd strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			cmd.WriteString(line)
			i := strings.LastIndexByte(line, '{')
			if i < 0 || !strings.HasSuffix(line, "}") {
				break
			}
			spec := line[i+1 : len(line)-1]
			n, err := strconv.Atoi(strings.TrimSuffix(spec, "+"))
			if err != nil {
				break
			}
			if !strings.HasSuffix(spec, "+") {
				io.WriteString(c, "+ go ahead\r\n")
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(r, buf); err != nil {
				return
			}
			cmd.Write(buf)
		}
		tag, rest, _ := strings.Cut(cmd.String(), " ")
		s.mu.Lock()
		s.commands = append(s.commands, rest)
		s.mu.Unlock()
		verb, _, _ := strings.Cut(strings.ToUpper(rest), " ")
		switch verb {
		case "CAPABILITY":
			fmt.Fprintf(c, "* CAPABILITY %s\r\n%s OK done\r\n", caps, tag)
		case "APPEND":
			fmt.Fprintf(c, "%s OK [APPENDUID 1 %d] done\r\n", tag, len(s.commands))
		case "LOGOUT":
			fmt.Fprintf(c, "* BYE bye\r\n%s OK done\r\n", tag)
			return
		default:
			fmt.Fprintf(c, "%s OK done\r\n", tag)
		}
	}
}

func (s *recordingServer) verbs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.commands {
		v, _, _ := strings.Cut(c, " ")
		out = append(out, strings.ToUpper(v))
	}
	return out
}

// TestAppenderSendsNoInjectedCommand: folder names, user names and
// passwords with CR/LF go to the server as literals, never as the end of a
// command: the server sees only the commands the Appender meant to send.
func TestAppenderSendsNoInjectedCommand(t *testing.T) {
	t.Parallel()
	const evil = "\r\nX1 DELETE INBOX\r\nX2 DELETE"
	tests := []struct {
		name, caps     string
		user, password string
		folder         string
		wantVerbs      string
	}{
		{"folder name, UTF-8 server", "IMAP4rev2 LITERAL+", "alice", "pw", "Work" + evil, "CAPABILITY LOGIN CAPABILITY SELECT APPEND"},
		{"folder name, UTF-7 server", "IMAP4rev1 LITERAL+", "alice", "pw", "Work" + evil, "CAPABILITY LOGIN CAPABILITY SELECT APPEND"},
		{"password, LITERAL+ before login", "IMAP4rev2 LITERAL+", "alice", "pw" + evil, "Work", "CAPABILITY LOGIN CAPABILITY SELECT APPEND"},
		{"user name, no LITERAL+ before login", "IMAP4rev1", "alice" + evil, "pw", "Work", "CAPABILITY LOGIN CAPABILITY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startRecordingServer(t, tt.caps)
			ep := endpointAt(t, srv.addr, imapconn.SecurityStartTLS)
			ep.User, ep.Password = tt.user, tt.password
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, err := imapconn.DialAppender(ctx, ep, imapconn.Options{Timeout: 5 * time.Second})
			if err == nil {
				body := "Subject: hi\r\n\r\nhello\r\n"
				p, err := a.Append(tt.folder, nil, time.Time{}, int64(len(body)), strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				a.Flush()
				if _, err := p.Wait(); err != nil {
					t.Fatal(err)
				}
				a.Close()
			}
			if got := strings.Join(srv.verbs(), " "); got != tt.wantVerbs {
				t.Fatalf("the server received %q, want %q (err %v)", got, tt.wantVerbs, err)
			}
		})
	}
}

// TestAppenderBoundsServerResponses: a server that sends an endless line
// (or a huge literal) gets an error, not the process's memory.
func TestAppenderBoundsServerResponses(t *testing.T) {
	t.Parallel()
	for name, greeting := range map[string]string{
		"line":    "* OK " + strings.Repeat("x", 4<<20) + "\r\n",
		"literal": "* OK {4194304}\r\n" + strings.Repeat("x", 4<<20) + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				io.WriteString(c, greeting)
				io.Copy(io.Discard, c)
			}()
			_, err = imapconn.DialAppender(context.Background(), endpointAt(t, ln.Addr().String(), imapconn.SecurityStartTLS), imapconn.Options{Timeout: 2 * time.Second})
			if err == nil || !strings.Contains(err.Error(), "longer than") {
				t.Fatalf("err = %v, want the response refused as too long", err)
			}
		})
	}
}
