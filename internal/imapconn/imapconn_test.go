package imapconn

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Endpoint
		wantErr string
	}{
		{in: "imaps://alice@mail.example.com", want: Endpoint{Host: "mail.example.com", Port: 993, Security: SecurityTLS, User: "alice"}},
		{in: "imap://alice@example.com@old.example:1143", want: Endpoint{Host: "old.example", Port: 1143, Security: SecurityStartTLS, User: "alice@example.com"}},
		{in: "IMAP://bob%40example.com@[::1]:143/", want: Endpoint{Host: "::1", Port: 143, Security: SecurityStartTLS, User: "bob@example.com"}},
		{in: "imap://host.only", want: Endpoint{Host: "host.only", Port: 143, Security: SecurityStartTLS}},
		{in: "imap://alice:hunter2@host", wantErr: "--from-password-file"},
		{in: "pop3://alice@host", wantErr: "unknown scheme"},
		{in: "alice@host", wantErr: "not an IMAP URL"},
		{in: "imap://alice@host:99999", wantErr: "bad port"},
		{in: "imap://alice@", wantErr: "no host"},
		{in: "imap://alice@host/INBOX", wantErr: "no path"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseURL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatal("the error shows the password")
				}
				return
			}
			if err != nil || got.Host != tt.want.Host || got.Port != tt.want.Port || got.Security != tt.want.Security || got.User != tt.want.User {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestEndpointStringHasNoSecret(t *testing.T) {
	t.Parallel()
	ep := Endpoint{Host: "h", Port: 993, User: "admin", ActAs: "alice", Password: "p4ss", OAuth2Token: "tok"}
	if s := ep.String(); strings.Contains(s, "p4ss") || strings.Contains(s, "tok") || !strings.Contains(s, "alice (as admin)") {
		t.Fatalf("String() = %q", s)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	no := func(code imap.ResponseCode, text string) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	tests := []struct {
		name      string
		err       error
		temporary bool
		after     time.Duration
	}{
		{"office 365 throttling", no("", "Request is throttled. Suggested Backoff Time: 299961 milliseconds"), true, 299961 * time.Millisecond},
		{"unavailable", no(imap.ResponseCodeUnavailable, "later"), true, 0},
		{"limit", no(imap.ResponseCodeLimit, "too many"), true, 0},
		{"bye", &imap.Error{Type: imap.StatusResponseTypeBye, Text: "shutting down"}, true, 0},
		{"eof", io.ErrUnexpectedEOF, true, 0},
		{"dead", ErrDeadConnection, true, 0},
		{"reset", errors.New("read tcp: connection reset by peer"), true, 0},
		{"auth", no(imap.ResponseCodeAuthenticationFailed, "bad"), false, 0},
		{"too big", no(imap.ResponseCodeTooBig, "too big"), false, 0},
		{"rejected", no("", "Message contains invalid header"), false, 0},
	}
	quota := []error{
		no(imap.ResponseCodeOverQuota, "Quota exceeded (mailbox for user is full)"),
		no("", "Over quota"), // Cyrus
		no("", "Quota exceeded (mailbox for user is full)"), // Dovecot without the code
		no("", "Mailbox is full"),
		no("", "The mailbox is full and can't accept messages now"),
		no("", "Insufficient storage space"),
	}
	for _, err := range quota {
		if e := Classify("append", err); e.Temporary || !strings.Contains(e.Hint, "quota") {
			t.Errorf("%v: temporary %v, hint %q; want the quota hint", err, e.Temporary, e.Hint)
		}
	}
	if e := Classify("append", no("", "Message contains invalid header")); e.Hint != "" {
		t.Errorf("a refusal that is not about quota got the hint %q", e.Hint)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := Classify("append", tt.err)
			if e.Temporary != tt.temporary || e.RetryAfter != tt.after {
				t.Fatalf("temporary=%v after=%v, want %v %v", e.Temporary, e.RetryAfter, tt.temporary, tt.after)
			}
		})
	}
}

func TestByeTailKeepsTheServersLastWords(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 2*byeTailSize)
	tests := []struct {
		name   string
		armed  bool
		writes []string
		want   string
	}{
		{"bye after a response", true, []string{"* 3 FETCH (UID 7)\r\n", "* BYE Internal error occurred.\r\n"}, "Internal error occurred."},
		{"bye split across reads", true, []string{"* 3 FETCH (UID 7)\r\n* B", "YE shutting down\r\n"}, "shutting down"},
		{"bye after more than the tail", true, []string{long, "\r\n* BYE gone\r\n"}, "gone"},
		{"a long read ending in bye", true, []string{long + "\r\n* BYE gone"}, "gone"},
		{"no bye", true, []string{"* 3 FETCH (UID 7)\r\n"}, ""},
		{"bye text inside a line", true, []string{"a1 LOGIN x \"* BYE y\"\r\n"}, ""},
		{"before login nothing is kept", false, []string{"* BYE early\r\n"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var tail byeTail
			tail.armed.Store(tt.armed)
			for _, w := range tt.writes {
				tail.Write([]byte(w))
			}
			if got := tail.bye(); got != tt.want {
				t.Fatalf("bye() = %q, want %q", got, tt.want)
			}
		})
	}
}
