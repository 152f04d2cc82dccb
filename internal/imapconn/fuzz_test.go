package imapconn

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// FuzzServerAnswers: what Ferry reads itself from a server's bytes (the
// greeting's capabilities, the last BYE before a drop, the words and code
// of a NO/BAD/BYE) never panics and stays within bounds, whatever the
// server sends; a refused login's text never keeps the password, and
// HideServerWords never gives back the server's words. `make fuzz` runs it
// at length; go test runs the seeds (f.Add and testdata/fuzz).
func FuzzServerAnswers(f *testing.F) {
	f.Add("* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] ready\r\n", "NO", "AUTHENTICATIONFAILED", "Authentication failed for alice with pw s3cret", "s3cret")
	f.Add("* OK ready\r\n", "NO", "", "Server busy, backoff time: 15000 milliseconds", "")
	f.Add("* BYE too many connections\r\n", "BYE", "UNAVAILABLE", "Internal error occurred. Refer to server log", "x")
	f.Add("* OK [CAPABILITY]\r\n", "NO", "OVERQUOTA", "Quota exceeded (mailbox for user is full)", "\"q\\\\uo\\\"te\"")
	f.Add("", "BAD", "THROTTLED", "backoff time: 99999999999999999999 seconds", "[password]")
	f.Fuzz(func(t *testing.T, greeting, typ, code, text, password string) {
		for _, c := range []imap.Cap{imap.CapStartTLS, "AUTH=PLAIN", imap.Cap(code)} {
			greetingOffers(greeting, c)
		}

		tail := &byeTail{}
		tail.armed.Store(true)
		stream := greeting + "* BYE " + text + "\r\n" + text
		for len(stream) > 0 { // in uneven pieces, as reads arrive
			n := min(len(stream), 1+len(stream)%37)
			tail.Write([]byte(stream[:n]))
			stream = stream[n:]
		}
		if bye := tail.bye(); len(bye) > byeTailSize || strings.ContainsAny(bye, "\r\n") {
			t.Fatalf("bye() = %q", bye)
		}

		ie := &imap.Error{Type: imap.StatusResponseType(typ), Code: imap.ResponseCode(code), Text: redactSecrets(text, password)}
		if password != "" && !strings.Contains("[password]", password) && strings.Contains(ie.Text, password) {
			t.Fatalf("redactSecrets(%q, %q) kept the password: %q", text, password, ie.Text)
		}
		e := Classify("log in to imap://alice@mail.example:143", ie)
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter {
			t.Fatalf("RetryAfter %v from %q", e.RetryAfter, text)
		}
		e.Login = true
		shown := HideServerWords("source: " + e.Error())
		if !strings.HasPrefix(shown, "source: "+LoginRefused) {
			t.Fatalf("HideServerWords(%q) = %q", e.Error(), shown)
		}
		if rest := strings.TrimPrefix(shown, "source: "+LoginRefused); rest != "" && rest != " ("+e.Hint+")" {
			t.Fatalf("HideServerWords kept more than the hint: %q", shown)
		}
		_ = LoginWords(e)
	})
}
