package engine

import (
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestGmailLabelFolder: X-GM-LABELS' system labels, in any case, name the
// source folders of their roles; user labels are folders of their name.
func TestGmailLabelFolder(t *testing.T) {
	t.Parallel()
	g := &labelState{roles: map[imap.MailboxAttr]string{
		imap.MailboxAttrSent: "[Gmail]/Sent Mail", imap.MailboxAttrDrafts: "[Gmail]/Drafts",
		imap.MailboxAttrJunk: "[Gmail]/Spam", imap.MailboxAttrTrash: "[Gmail]/Trash",
	}}
	for label, want := range map[string]string{
		`\Inbox`: "INBOX", `\Sent`: "[Gmail]/Sent Mail", `\Draft`: "[Gmail]/Drafts", `\Spam`: "[Gmail]/Spam",
		`\Trash`: "[Gmail]/Trash", `\TRASH`: "[Gmail]/Trash", `\Starred`: "", "Work/Clients": "Work/Clients",
	} {
		if got := g.labelFolder(label); got != want {
			t.Errorf("labelFolder(%q) = %q, want %q", label, got, want)
		}
	}
}
