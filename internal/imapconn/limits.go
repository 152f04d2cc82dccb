package imapconn

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// A provider limit is recognised by the words its servers answer with;
// the words are each provider's own (docs/systems/limits.md).
type providerLimit struct {
	words string            // lower case, found in the answer's text
	code  imap.ResponseCode // or this response code
	limit string            // what Error.Limit says
	daily bool
	hint  string
}

var providerLimits = []providerLimit{
	// Gmail: the account's daily IMAP bandwidth is spent; IMAP stays shut
	// for this mailbox for up to a day.
	{words: "account exceeded command or bandwidth limits", limit: "Gmail's daily bandwidth limit (about 2,500 MB download and 500 MB upload a day)", daily: true,
		hint: "Gmail shut IMAP for this mailbox for up to a day; the pass pauses and goes on when the limit allows"},
	// Gmail slows a client that sends commands too fast.
	{code: "THROTTLED", limit: "Gmail's command rate limit", hint: "Gmail is slowing Ferry down; it backs off and resumes on its own"},
	// Exchange Online and Exchange Server: "Request is throttled. Suggested
	// Backoff Time: 299961 milliseconds".
	{words: "request is throttled", limit: "Microsoft's request rate limit (Exchange throttling policy)",
		hint: "Exchange is throttling Ferry; it waits as long as Exchange suggests and resumes on its own"},
}

// classifyLimit marks e when the answer is a provider's limit.
func classifyLimit(e *Error, ie *imap.Error) bool {
	lower := strings.ToLower(ie.Text)
	for _, l := range providerLimits {
		if (l.words != "" && strings.Contains(lower, l.words)) || (l.code != "" && ie.Code == l.code) {
			e.Temporary, e.Throttled, e.Limit, e.DailyLimit, e.Hint = true, true, l.limit, l.daily, l.hint
			return true
		}
	}
	return false
}
