package imapconn_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/testimap"
)

func dialAppender(t *testing.T, d *testimap.Dovecot) *imapconn.Appender {
	t.Helper()
	ep := imapconn.Endpoint{Host: d.Host, Port: d.Port, Security: imapconn.SecurityStartTLS, User: "alice", Password: "pw", AllowPlaintext: true}
	a, err := imapconn.DialAppender(context.Background(), ep, imapconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func msg(i, size int) string {
	body := fmt.Sprintf("Subject: message %d\r\nMessage-ID: <%d@test>\r\n\r\n", i, i)
	return body + strings.Repeat("x", max(0, size-len(body)))
}

// TestMultiAppendDovecot sends several messages in one MULTIAPPEND to a real
// Dovecot and reads one destination UID per message, in order.
func TestMultiAppendDovecot(t *testing.T) {
	t.Parallel()
	d := testimap.StartDovecot(t, testimap.DovecotOptions{Users: []testimap.User{{Name: "alice", Password: "pw"}}})
	a := dialAppender(t, d)
	if !a.MultiAppend() {
		t.Fatal("Dovecot announces MULTIAPPEND, the appender did not see it")
	}
	date := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	var ps []*imapconn.PendingAppend
	for b := 0; b < 2; b++ {
		var p *imapconn.PendingAppend
		for i := range 5 {
			m := msg(b*5+i, 100+i*50)
			var err error
			if i == 0 {
				p, err = a.Begin("INBOX", []imap.Flag{imap.FlagSeen}, date, int64(len(m)), strings.NewReader(m))
			} else {
				err = a.Add(nil, date, int64(len(m)), strings.NewReader(m))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := a.End(); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	var uids []uint32
	for _, p := range ps {
		if _, err := p.Wait(); err != nil {
			t.Fatal(err)
		}
		if len(p.UIDs) != 5 {
			t.Fatalf("UIDs %v, want 5", p.UIDs)
		}
		uids = append(uids, p.UIDs...)
	}
	for i, u := range uids {
		if u != uint32(i+1) {
			t.Fatalf("UIDs %v, want 1..10", uids)
		}
	}
	c := d.Login(t, "alice")
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 10 {
		t.Fatalf("INBOX has %v messages (%v), want 10", sel, err)
	}
}

// TestMultiAppendRefusedStoresNothing: when Dovecot refuses one message of a
// MULTIAPPEND, it stores none of them and the connection stays usable.
func TestMultiAppendRefusedStoresNothing(t *testing.T) {
	t.Parallel()
	d := testimap.StartDovecot(t, testimap.DovecotOptions{Users: []testimap.User{{Name: "alice", Password: "pw"}}, AppendLimit: 4 << 10})
	a := dialAppender(t, d)
	small, big := msg(1, 500), msg(2, 8<<10)
	p, err := a.Begin("INBOX", nil, time.Time{}, int64(len(small)), strings.NewReader(small))
	if err == nil {
		err = a.Add(nil, time.Time{}, int64(len(big)), strings.NewReader(big))
	}
	if err == nil {
		err = a.Add(nil, time.Time{}, int64(len(small)), strings.NewReader(small))
	}
	if err == nil {
		err = a.End()
	}
	if err == nil {
		err = a.Flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Wait()
	t.Logf("answer: %v", err)
	if err == nil {
		t.Fatal("a MULTIAPPEND with a message over APPENDLIMIT was accepted")
	}
	p, err = a.Append("INBOX", nil, time.Time{}, int64(len(small)), strings.NewReader(small))
	if err == nil {
		err = a.Flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatalf("the connection is not usable after a refused MULTIAPPEND: %v", err)
	}
	c := d.Login(t, "alice")
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatalf("INBOX has %d messages (%v), want 1", sel.NumMessages, err)
	}
}
