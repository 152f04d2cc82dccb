package imapconn_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/testimap"
)

// TestGmailLabelsFromAllMail: one UID FETCH on All Mail gives every
// message's X-GM-MSGID and labels, as the Gmail emulator's label table
// has them; the id is the same in every folder and stays when labels
// change; a server without X-GM-EXT-1 is refused.
func TestGmailLabelsFromAllMail(t *testing.T) {
	t.Parallel()
	u := testimap.User{Name: "alice@example.org", Password: "pw"}
	g := testimap.StartGmail(t, u)
	msg := func(n int, labels ...string) testimap.GmailMessage {
		return testimap.GmailMessage{Body: fmt.Appendf(nil, "Subject: m%d\r\nMessage-ID: <m%d@x>\r\n\r\nbody %d\r\n", n, n, n), Labels: labels}
	}
	g.GmailDeliver(t, u, msg(1, "INBOX", "Work", "Été"), msg(2), msg(3, "[Gmail]/Sent Mail", "[Gmail]/Important"))
	ep := imapconn.Endpoint{Host: "127.0.0.1", Security: imapconn.SecurityStartTLS, User: u.Name, Password: u.Password, AllowPlaintext: true}
	fmt.Sscanf(g.Addr[strings.LastIndexByte(g.Addr, ':')+1:], "%d", &ep.Port)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	read := func(folder string) []imapconn.GmailMessage {
		t.Helper()
		c, err := imapconn.DialGmail(ctx, ep, imapconn.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Logout()
		ms, err := c.Labels(ctx, folder)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	all := read(testimap.GmailAllMail)
	var got []string
	ids := map[uint64]bool{}
	for _, m := range all {
		got = append(got, fmt.Sprintf("%d:%v", m.UID, m.Labels))
		ids[m.MsgID] = true
	}
	if want := `1:[\Inbox Work Été] 2:[] 3:[\Sent \Important]`; strings.Join(got, " ") != want || len(ids) != 3 {
		t.Fatalf("All Mail: %v (ids %v), want %s", got, ids, want)
	}
	work := read("Work")
	if len(work) != 1 || work[0].MsgID != all[0].MsgID {
		t.Fatalf("Work: %+v; the X-GM-MSGID differs from All Mail's %d", work, all[0].MsgID)
	}
	g.GmailLabel(t, u, "Later", msg(2))
	if again := read(testimap.GmailAllMail); again[1].MsgID != all[1].MsgID || fmt.Sprint(again[1].Labels) != "[Later]" {
		t.Fatalf("after a label was added: %+v", again[1])
	}
	if n := g.GmailExtensionCommands(); n != 3 {
		t.Fatalf("%d extension commands answered, want 3 (one a read)", n)
	}

	plain := testimap.StartMem(t, u)
	fmt.Sscanf(plain.Addr[strings.LastIndexByte(plain.Addr, ':')+1:], "%d", &ep.Port)
	if _, err := imapconn.DialGmail(ctx, ep, imapconn.Options{}); err == nil || !strings.Contains(err.Error(), "X-GM-EXT-1") {
		t.Fatalf("a server that is not Gmail: %v", err)
	}
}
