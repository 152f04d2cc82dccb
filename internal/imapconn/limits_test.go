package imapconn

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// TestClassifyProviderLimits: each provider's throttling words say which
// of its limits is hit, whether it is the day's limit, and how long to
// wait when the provider says so.
func TestClassifyProviderLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       *imap.Error
		limit     string // part of Error.Limit
		daily     bool
		after     time.Duration
		throttled bool
	}{
		{"microsoft", &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Request is throttled. Suggested Backoff Time: 299961 milliseconds"},
			"Microsoft", false, 299961 * time.Millisecond, true},
		{"gmail throttled code", &imap.Error{Type: imap.StatusResponseTypeNo, Code: "THROTTLED", Text: "Too many commands, slow down. (Failure)"},
			"Gmail's command rate", false, 0, true},
		{"gmail bandwidth", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlert, Text: "Account exceeded command or bandwidth limits. (Failure)"},
			"Gmail's daily bandwidth", true, 0, true},
		{"gmail bandwidth as BYE", &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Account exceeded command or bandwidth limits."},
			"Gmail's daily bandwidth", true, 0, true},
		{"not a limit", &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "later"}, "", false, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := Classify("fetch", tt.err)
			if !e.Temporary && tt.throttled {
				t.Errorf("not temporary")
			}
			if e.Throttled != tt.throttled || e.DailyLimit != tt.daily || e.RetryAfter != tt.after {
				t.Errorf("throttled %v daily %v after %v; want %v %v %v", e.Throttled, e.DailyLimit, e.RetryAfter, tt.throttled, tt.daily, tt.after)
			}
			if (tt.limit == "") != (e.Limit == "") || !strings.Contains(e.Limit, tt.limit) {
				t.Errorf("limit %q; want one naming %q", e.Limit, tt.limit)
			}
		})
	}
}
