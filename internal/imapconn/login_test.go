package imapconn_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/testimap"
)

// TestRefusedLoginNeverCarriesThePassword: a server that quotes the
// credentials in its refusal has the password cut from its words; the
// error says the server refused the login, and HideServerWords leaves only
// that for people who do not manage endpoints.
func TestRefusedLoginNeverCarriesThePassword(t *testing.T) {
	t.Parallel()
	const pw = "Wr0ng-Pass-Phrase"
	ms := testimap.StartMem(t, testimap.User{Name: "alice", Password: "right password"})
	ms.EchoCredentialsOnFailedLogin.Store(true)
	host, port, _ := net.SplitHostPort(ms.Addr)
	p, _ := strconv.Atoi(port)
	ep := imapconn.Endpoint{Host: host, Port: p, Security: imapconn.SecurityStartTLS, User: "alice", Password: pw, AllowPlaintext: true}
	_, err := imapconn.Dial(context.Background(), ep, imapconn.Options{Timeout: 5 * time.Second})
	if err == nil {
		t.Fatal("a wrong password logged in")
	}
	text := err.Error()
	if strings.Contains(text, pw) {
		t.Fatalf("the error carries the password: %s", text)
	}
	if !strings.Contains(text, imapconn.LoginRefused) || !strings.Contains(text, "Authentication failed") {
		t.Fatalf("the error does not say the server refused the login in its words: %s", text)
	}
	side := "source: " + text
	hidden := imapconn.HideServerWords(side)
	if strings.Contains(hidden, "Authentication failed") || strings.Contains(hidden, "alice") ||
		!strings.HasPrefix(hidden, "source: "+imapconn.LoginRefused) || !strings.Contains(hidden, "check the user name and password") {
		t.Fatalf("HideServerWords(%q) = %q", side, hidden)
	}
	if other := "destination: connection refused"; imapconn.HideServerWords(other) != other {
		t.Fatalf("HideServerWords changed a failure that is not a refused login: %q", imapconn.HideServerWords(other))
	}
}

// TestRefusedSASLNeverCarriesThePassword: a server that echoes the SASL
// PLAIN answer it refused (base64 of user and password, as sent) has that
// cut from its words too, with and without SASL-IR, on the connection that
// reads and on the one that appends.
func TestRefusedSASLNeverCarriesThePassword(t *testing.T) {
	t.Parallel()
	const pw = "Wr0ng-Pass-Phrase"
	for _, caps := range []string{"IMAP4rev1 AUTH=PLAIN", "IMAP4rev1 AUTH=PLAIN SASL-IR"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go echoSASLServer(c, caps)
			}
		}()
		host, port, _ := net.SplitHostPort(ln.Addr().String())
		p, _ := strconv.Atoi(port)
		ep := imapconn.Endpoint{Host: host, Port: p, Security: imapconn.SecurityStartTLS, User: "alice@contoso.com", Password: pw, AllowPlaintext: true}
		sent := base64.StdEncoding.EncodeToString([]byte("\x00alice@contoso.com\x00" + pw))
		_, err = imapconn.Dial(context.Background(), ep, imapconn.Options{Timeout: 5 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "rejected") {
			t.Fatalf("%s: %v, want the server's refusal", caps, err)
		}
		if strings.Contains(err.Error(), sent) || strings.Contains(err.Error(), pw) {
			t.Errorf("%s: the error carries the password: %v", caps, err)
		}
		if !strings.Contains(caps, "SASL-IR") {
			continue // the appender logs in with SASL-IR or LOGIN
		}
		_, err = imapconn.DialAppender(context.Background(), ep, imapconn.Options{Timeout: 5 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "rejected") {
			t.Fatalf("appender, %s: %v, want the server's refusal", caps, err)
		}
		if strings.Contains(err.Error(), sent) || strings.Contains(err.Error(), pw) {
			t.Errorf("appender, %s: the error carries the password: %v", caps, err)
		}
	}
}

// echoSASLServer answers every AUTHENTICATE with a NO quoting what the
// client sent.
func echoSASLServer(c net.Conn, caps string) {
	defer c.Close()
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "* OK [CAPABILITY %s] ready\r\n", caps)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return
		}
		switch strings.ToUpper(f[1]) {
		case "CAPABILITY":
			fmt.Fprintf(c, "* CAPABILITY %s\r\n%s OK done\r\n", caps, f[0])
		case "AUTHENTICATE":
			answer := ""
			if len(f) > 3 {
				answer = f[3]
			} else {
				fmt.Fprint(c, "+ \r\n")
				if answer, err = r.ReadString('\n'); err != nil {
					return
				}
			}
			fmt.Fprintf(c, "%s NO [AUTHENTICATIONFAILED] rejected %s\r\n", f[0], strings.TrimSpace(answer))
		case "LOGOUT":
			fmt.Fprintf(c, "* BYE\r\n%s OK bye\r\n", f[0])
			return
		default:
			fmt.Fprintf(c, "%s BAD unknown\r\n", f[0])
		}
	}
}
