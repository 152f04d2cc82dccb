package imapconn_test

import (
	"context"
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
