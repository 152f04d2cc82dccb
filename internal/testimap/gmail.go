package testimap

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Gmail's IMAP view, as its documentation describes it: every label is a
// folder and a message with several labels is in each; [Gmail]/All Mail
// holds every message but those in Spam and Trash; starred messages are
// \Flagged and in [Gmail]/Starred. The special folders announce their
// roles (SPECIAL-USE) and the server announces X-GM-EXT-1.
//
// Gmail's IMAP extensions (X-GM-MSGID, X-GM-LABELS, X-GM-RAW) are
// answered by a front of their own (gmailext.go).

// GmailFolders are Gmail's special folders and their roles.
var GmailFolders = []struct {
	Name string
	Role imap.MailboxAttr
}{
	{"[Gmail]/All Mail", imap.MailboxAttrAll},
	{"[Gmail]/Sent Mail", imap.MailboxAttrSent},
	{"[Gmail]/Drafts", imap.MailboxAttrDrafts},
	{"[Gmail]/Spam", imap.MailboxAttrJunk},
	{"[Gmail]/Trash", imap.MailboxAttrTrash},
	{"[Gmail]/Starred", imap.MailboxAttrFlagged},
	{"[Gmail]/Important", imap.MailboxAttr(`\Important`)},
}

// GmailAllMail is the folder that holds every message.
const GmailAllMail = "[Gmail]/All Mail"

// StartGmail starts an in-process server that shows a Gmail account of
// each user: Gmail's special folders, with their roles.
func StartGmail(tb testing.TB, users ...User) *MemServer {
	tb.Helper()
	ms := StartMem(tb, users...)
	ms.gmailExt.passwords, ms.gmailExt.ids = map[string]string{}, map[string]map[[32]byte]uint64{}
	for _, u := range users {
		ms.gmailExt.passwords[u.Name] = u.Password
	}
	ms.gmail.Store(true)
	for _, u := range users {
		c := Dial(tb, ms.Addr, u.Name, u.Password)
		for _, f := range GmailFolders {
			if err := c.Create(f.Name, &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{f.Role}}).Wait(); err != nil {
				tb.Fatalf("gmail: create %s: %v", f.Name, err)
			}
		}
		c.Logout().Wait()
	}
	return ms
}

// GmailMessage is a message of a Gmail account and its labels: "INBOX",
// "[Gmail]/Sent Mail", "[Gmail]/Starred", "Work", "Work/Clients"... With
// no label it is archived: only in All Mail.
type GmailMessage struct {
	Body []byte
	Date time.Time
	Seen bool
	// Starred messages are \Flagged in every folder and in [Gmail]/Starred.
	Starred bool
	Labels  []string
}

// GmailDeliver stores messages as Gmail shows them: in All Mail and in
// the folder of each label (Spam and Trash hold theirs alone), \Flagged
// when starred. Label folders are created as needed.
func (ms *MemServer) GmailDeliver(tb testing.TB, u User, msgs ...GmailMessage) {
	tb.Helper()
	for _, m := range msgs {
		folders := []string{GmailAllMail}
		for _, l := range m.Labels {
			if l == "[Gmail]/Spam" || l == "[Gmail]/Trash" {
				folders = folders[:0] // not in All Mail
			}
		}
		folders = append(folders, m.Labels...)
		if m.Starred {
			folders = append(folders, "[Gmail]/Starred")
		}
		ms.gmailStore(tb, u, m, folders)
	}
}

func (ms *MemServer) gmailStore(tb testing.TB, u User, m GmailMessage, folders []string) {
	tb.Helper()
	c := Dial(tb, ms.Addr, u.Name, u.Password)
	defer func() { c.Logout().Wait() }()
	{
		var flags []imap.Flag
		if m.Seen {
			flags = append(flags, imap.FlagSeen)
		}
		if m.Starred {
			flags = append(flags, imap.FlagFlagged)
		}
		for _, f := range folders {
			if f != "INBOX" && !ms.hasFolder(u.Name, f) {
				if err := c.Create(f, nil).Wait(); err != nil {
					tb.Fatalf("gmail: create label %s: %v", f, err)
				}
			}
			date := m.Date
			if date.IsZero() {
				date = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			}
			cmd := c.Append(f, int64(len(m.Body)), &imap.AppendOptions{Flags: flags, Time: date})
			cmd.Write(m.Body)
			cmd.Close()
			if _, err := cmd.Wait(); err != nil {
				tb.Fatalf("gmail: store a message in %s: %v", f, err)
			}
		}
	}
}

func (ms *MemServer) hasFolder(user, name string) bool {
	ms.foldersMu.Lock()
	defer ms.foldersMu.Unlock()
	return ms.folders[user][name]
}

var (
	capsLine = regexp.MustCompile(`(?m)^(\* CAPABILITY|.*\[CAPABILITY)([^\r\n\]]*)`)
	listLine = regexp.MustCompile(`(?m)^\* LIST \(([^)]*)\) ("[^"]*"|NIL) "?(\[Gmail\]/[^"\r\n]*)"?\r\n`)
)

// gmailEdit adds Gmail's announcements to capability lists, and its
// special folders' roles to LIST answers (the in-memory server keeps no
// roles).
func (c *behaviourConn) gmailEdit(out []byte) []byte {
	if !c.ms.gmail.Load() {
		return out
	}
	if bytes.Contains(out, []byte("CAPABILITY")) {
		if c.ms.NoGmailExtensions.Load() {
			out = capsLine.ReplaceAll(out, []byte("$1$2 SPECIAL-USE"))
		} else {
			out = capsLine.ReplaceAll(out, []byte("$1$2 X-GM-EXT-1 SPECIAL-USE"))
		}
	}
	if !bytes.Contains(out, []byte("* LIST")) {
		return out
	}
	return listLine.ReplaceAllFunc(out, func(line []byte) []byte {
		m := listLine.FindSubmatch(line)
		for _, f := range GmailFolders {
			if string(m[3]) == f.Name {
				attrs := strings.TrimSpace(string(m[1]) + " " + string(f.Role))
				return []byte(fmt.Sprintf("* LIST (%s) %s \"%s\"\r\n", attrs, m[2], f.Name))
			}
		}
		return line
	})
}

// GmailLabel gives messages already in the account one more label: they
// appear in that label's folder too, as on Gmail.
func (ms *MemServer) GmailLabel(tb testing.TB, u User, label string, msgs ...GmailMessage) {
	tb.Helper()
	for _, m := range msgs {
		ms.gmailStore(tb, u, m, []string{label})
	}
}
