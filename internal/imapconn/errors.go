package imapconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Error is a failure with the one fact retry logic reads: whether trying
// again later can succeed. Everything that decides to retry looks at
// Temporary and RetryAfter, and nothing else.
type Error struct {
	Op        string // what was being done: "log in", "append", "fetch"...
	Temporary bool
	// RetryAfter is the server's back-off hint, zero when it gave none.
	RetryAfter time.Duration
	// Throttled: the server limits the rate of the whole session; the
	// command that got the answer is not at fault.
	Throttled bool
	// Limit names the provider's limit a throttling answer says is hit
	// ("Gmail's daily bandwidth limit"), empty when it names none.
	Limit string
	// DailyLimit: the provider's daily transfer limit is spent; waiting
	// within the run will not help (Gmail shuts IMAP for up to a day).
	DailyLimit bool
	// Hint says what a person can do about it.
	Hint string
	// Login: the server refused the login. Its words may name the account
	// (never the password: Dial cuts it out), so they are shown only to
	// people who manage endpoints (HideServerWords).
	Login bool
	Err   error
}

// LoginRefused is what a refused login says to people who may not read the
// server's own words about it.
const LoginRefused = "the server refused the login"

// serverSaid separates a refused login's class and hint from the server's
// words in an error's text, so HideServerWords can cut them off.
const serverSaid = "; the server said: "

func (e *Error) Error() string {
	if e.Login {
		msg := e.Op + ": " + LoginRefused
		if e.Hint != "" {
			msg += " (" + e.Hint + ")"
		}
		return msg + serverSaid + ServerWords(e.Err)
	}
	msg := e.Op + ": " + ServerWords(e.Err)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// LoginWords is the server's text on a failure as a store keeps it
// (store.Failure.ServerText): for a refused login, marked as such.
func LoginWords(e *Error) string {
	if e.Login {
		return LoginRefused + serverSaid + ServerWords(e.Err)
	}
	return ServerWords(e.Err)
}

// HideServerWords is a stored failure text (a run's error, a failure's
// server text) for someone who does not manage endpoints: a refused login
// keeps its side ("source: "), LoginRefused and the hint, and loses the
// endpoint's login names and the server's words. Other texts are returned
// as they are.
func HideServerWords(text string) string {
	i := strings.Index(text, LoginRefused)
	if i < 0 {
		return text
	}
	side := ""
	for _, s := range []string{"source: ", "destination: "} {
		if strings.HasPrefix(text, s) {
			side = s
		}
	}
	rest := text[i:]
	if j := strings.Index(rest, serverSaid); j >= 0 {
		rest = rest[:j]
	} else {
		rest = LoginRefused
	}
	return side + rest
}

// redactSecrets cuts secrets out of a server's words, as written and as
// an IMAP quoted string would carry them.
func redactSecrets(text string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
		text = strings.ReplaceAll(strings.ReplaceAll(text, s, "[password]"), quoted, "[password]")
	}
	return text
}

func (e *Error) Unwrap() error { return e.Err }

// ServerWords is the server's own text for an IMAP error, or the error text.
func ServerWords(err error) string {
	var ie *imap.Error
	if errors.As(err, &ie) {
		s := string(ie.Type)
		if ie.Code != "" {
			s += " [" + string(ie.Code) + "]"
		}
		return s + " " + ie.Text
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// ErrDeadConnection is reported when a server stops answering.
var ErrDeadConnection = errors.New("the server stopped answering (no data within the timeout); the connection was closed")

// ErrSilentServer is reported when a server accepted the connection but
// then said nothing (no TLS handshake, greeting or answer to the login)
// within the timeout. It is not retried: such a port is not an IMAP server
// at work, and trying again would only wait again.
var ErrSilentServer = errors.New("the server accepted the connection but sent nothing")

// quotaRE recognises quota answers that carry no [OVERQUOTA] code: Cyrus
// ("Over quota"), Dovecot without the code ("Quota exceeded"), Exchange and
// appliances ("Mailbox is full", "Insufficient storage").
var quotaRE = regexp.MustCompile(`(?i)quota|mailbox is full|insufficient storage`)

const quotaHint = "the destination mailbox is full; raise its quota and run Retry errors"

// maxRetryAfter bounds a server's back-off hint: a number too large to be
// meant (or to fit a time.Duration) waits this long, not for ever.
const maxRetryAfter = time.Hour

var backoffRE = regexp.MustCompile(`(?i)backoff time:\s*(\d+)\s*(milliseconds|ms|seconds|s)?`)

// Classify wraps err as an *Error for operation op. It is the only place
// that decides whether a failure is temporary.
func Classify(op string, err error) *Error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return already
	}
	e := &Error{Op: op, Err: err}
	var ie *imap.Error
	if errors.As(err, &ie) {
		text := ie.Text
		if m := backoffRE.FindStringSubmatch(text); m != nil {
			n, err := strconv.ParseInt(m[1], 10, 64)
			unit := time.Millisecond
			if u := strings.ToLower(m[2]); u == "seconds" || u == "s" {
				unit = time.Second
			}
			if err != nil || n > int64(maxRetryAfter/unit) {
				e.RetryAfter = maxRetryAfter
			} else {
				e.RetryAfter = time.Duration(n) * unit
			}
		}
		if classifyLimit(e, ie) {
			return e
		}
		lower := strings.ToLower(text)
		switch {
		case strings.Contains(lower, "throttl"), strings.Contains(lower, "try again later"), strings.Contains(lower, "server busy"):
			e.Temporary, e.Throttled = true, true
			e.Hint = "the server is throttling Ferry; it backs off and resumes on its own"
			return e
		}
		switch ie.Code {
		case imap.ResponseCodeUnavailable, imap.ResponseCodeLimit, imap.ResponseCodeInUse, imap.ResponseCodeServerBug, "THROTTLED":
			e.Temporary = true
		case imap.ResponseCodeAuthenticationFailed, imap.ResponseCodeAuthorizationFailed:
			e.Hint = "check the user name and password, and for an administrator login that it may act for this mailbox"
		case imap.ResponseCodeTooBig:
			e.Hint = "the destination refuses messages this large"
		case imap.ResponseCodeOverQuota:
			e.Hint = quotaHint
		case "":
			if quotaRE.MatchString(text) {
				e.Hint = quotaHint
			}
		case imap.ResponseCodePrivacyRequired:
			e.Hint = "the server requires an encrypted connection; use imaps:// or a server that offers STARTTLS"
		}
		if ie.Type == imap.StatusResponseTypeBye {
			e.Temporary = true
		}
		if expiredToken(text) {
			e.Temporary = true
			e.Hint = "the server ended the session because its OAuth2 token expired; Ferry reconnects with a renewed token"
		}
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return e
	}
	if errors.Is(err, ErrSilentServer) {
		e.Hint = "check the host and port (imaps:// is usually 993, imap:// 143) and that the server is up; raise --timeout if it is only slow"
		return e
	}
	// Anything that broke the connection itself is worth another try on a new one.
	var ne net.Error
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, ErrDeadConnection) || errors.As(err, &ne) || isConnText(err.Error()) {
		e.Temporary = true
		return e
	}
	return e
}

func isConnText(s string) bool {
	for _, w := range []string{"connection reset", "broken pipe", "use of closed network connection", "connection refused", "EOF", "i/o timeout", "imapclient: "} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// IsTemporary reports whether err, classified, is temporary.
func IsTemporary(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary
	}
	return Classify("", err).Temporary
}

// Errorf builds a permanent *Error with a hint.
func Errorf(op, hint, format string, args ...any) *Error {
	return &Error{Op: op, Hint: hint, Err: fmt.Errorf(format, args...)}
}
