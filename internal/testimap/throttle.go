package testimap

import (
	"fmt"

	"github.com/emersion/go-imap/v2"
)

// Providers' throttling answers, word for word, for Faults hooks to
// return: the in-process server then answers as Exchange or Gmail does
// when a limit is hit.

// MicrosoftThrottled is Exchange's (Online and Server) answer when its
// throttling policy holds a client back, with its suggested back-off.
func MicrosoftThrottled(backoffMillis int) *imap.Error {
	return &imap.Error{Type: imap.StatusResponseTypeNo, Text: fmt.Sprintf("Request is throttled. Suggested Backoff Time: %d milliseconds", backoffMillis)}
}

// GmailThrottled is Gmail's answer to a client that sends commands too fast.
var GmailThrottled = &imap.Error{Type: imap.StatusResponseTypeNo, Code: "THROTTLED", Text: "Too many commands, slow down. (Failure)"}

// GmailBandwidthExceeded is Gmail's answer once an account's daily IMAP
// bandwidth is spent; IMAP stays shut for the account for up to a day.
var GmailBandwidthExceeded = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlert, Text: "Account exceeded command or bandwidth limits. (Failure)"}
