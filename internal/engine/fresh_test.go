package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
	"github.com/ferryhq/ferry/internal/testimap"
)

// A first copy whose run stops between two messages of its FETCH ends at
// once. go-imap's reader goroutine hands a message over as its first body
// starts and then waits for that body to be read; closing the connection
// waits for that goroutine. Here the run's context has ended before the
// FETCH while the connections stay open (as when another folder's failure
// stops the run: the first pair's connections follow the caller's context,
// not the run's): the first message is handed over, the stop is seen, and
// the source connection used to be closed with that message unread, which
// never returned (TestSignalStopsRunAndRerunCompletes hung so, e88c798).
// Nothing is appended after the stop.
func TestFirstCopyStoppedBetweenMessagesEnds(t *testing.T) {
	t.Parallel()
	const user, pass = "stop@example.org", "pw-stop"
	src := testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	dst := testimap.StartMem(t, testimap.User{Name: user, Password: pass})
	c := testimap.Dial(t, src.Addr, user, pass)
	for i := range 5 {
		body := fmt.Sprintf("Message-ID: <%d@stop>\r\nSubject: message %d\r\n\r\nbody %d\r\n", i, i, i)
		app := c.Append("INBOX", int64(len(body)), nil)
		app.Write([]byte(body))
		app.Close()
		if _, err := app.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	c.Logout().Wait()

	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dial := func(addr string) *imapconn.Conn {
		host, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		ep := imapconn.Endpoint{Host: host, Port: p, Security: imapconn.SecurityStartTLS, User: user, Password: pass, AllowPlaintext: true}
		conn, err := imapconn.Dial(context.Background(), ep, imapconn.Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		return conn
	}
	// Closed only once the copy ended: a close would wait on the hang too.
	s := &session{src: dial(src.Addr), dst: dial(dst.Addr)}
	e := New(st, Options{Pass: PassFull})
	job := Job{Source: s.src.Endpoint, Dest: s.dst.Endpoint}
	mbox, err := st.Mailbox(context.Background(), job.Key())
	if err != nil {
		t.Fatal(err)
	}
	r := &mailboxRun{e: e, job: job, mbox: mbox, prog: &Progress{}}
	plan := FolderPlan{Source: Folder{Name: "INBOX"}, Dest: "INBOX", Path: "INBOX"}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		cp := r.startCopier(ctx, s, plan, nil, false)
		_, _, err := r.copyFresh(ctx, s, plan, uidWindow{1, math.MaxUint32}, cp, 0, 0)
		done <- cp.abort(err)
	}()
	select {
	case err := <-done:
		s.close()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the stopped copy ended with %v, want the stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first copy did not end within 10 s of its stop")
	}
	if n := r.prog.Copied.Load(); n != 0 {
		t.Errorf("%d messages copied after the stop", n)
	}
	if n := testimap.TakeSnapshot(t, dst.Addr, user, pass).Count(); n != 0 {
		t.Errorf("%d messages reached the destination after the stop, want none", n)
	}
}
