package testimap

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// All tests of this file share the binary's one Courier; every test has its
// own users (names are global to the server).

func TestCourierLoginAppendListFetch(t *testing.T) {
	t.Parallel()
	srv := StartCourier(t, User{Name: "alf-alice", Password: "alice pw"}, User{Name: "alf-bob", Password: "bob pw"})
	c := srv.Login(t, "alf-alice")

	if err := c.Create("INBOX.Projects.2024", nil).Wait(); err != nil {
		t.Fatalf("CREATE: %v", err)
	}
	msg := dcMessage("courier one")
	date := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	cmd := c.Append("INBOX.Projects.2024", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen, "$Work"}, Time: date})
	if _, err := cmd.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	appended, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	if appended.UID == 0 || appended.UIDValidity == 0 {
		t.Errorf("APPEND gave no APPENDUID (UIDPLUS): %+v", appended)
	}

	list := dcList(t, c)
	got, ok := list["INBOX.Projects.2024"]
	if !ok || got.Delim != '.' {
		t.Fatalf("LIST: INBOX.Projects.2024 missing or with another separator: %v", slices.Collect(mapKeys(list)))
	}

	if _, err := c.Select("INBOX.Projects.2024", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(appended.UID), &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH UID %d: %v (%d messages)", appended.UID, err, len(msgs))
	}
	m := msgs[0]
	if body := m.FindBodySection(&imap.FetchItemBodySection{Peek: true}); !bytes.Equal(body, msg) {
		t.Errorf("body differs:\n got %q\nwant %q", body, msg)
	}
	if !slices.Contains(m.Flags, imap.FlagSeen) || !slices.Contains(m.Flags, "$Work") {
		t.Errorf("flags %v, want \\Seen and $Work", m.Flags)
	}
	if !m.InternalDate.Equal(date) {
		t.Errorf("internal date %v, want %v", m.InternalDate, date)
	}

	// imapd wrote the message as the unprivileged mail user.
	files, _ := filepath.Glob(filepath.Join(srv.MailDir("alf-alice"), ".Projects.2024", "cur", "*"))
	if len(files) != 1 {
		t.Fatalf("Maildir++ folder .Projects.2024 holds %v, want one message", files)
	}
	uid, _, err := dcMailOwner()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if owner := fi.Sys().(*syscall.Stat_t).Uid; owner != uint32(uid) {
		t.Errorf("message file %s belongs to uid %d, want %d (nobody)", files[0], owner, uid)
	}

	// The other user's mailbox is its own.
	b := srv.Login(t, "alf-bob")
	if l := dcList(t, b); len(l) != 1 {
		t.Errorf("bob sees %v, want only INBOX", slices.Collect(mapKeys(l)))
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestCourierRefusesWrongPassword: LOGIN is really checked (authdaemond,
// userdb). Courier answers a failed login only after 5 s, so the attempts
// run at once (t.Parallel would run only GOMAXPROCS of them at a time).
func TestCourierRefusesWrongPassword(t *testing.T) {
	t.Parallel()
	srv := StartCourier(t, User{Name: "pw-carol", Password: "right"})
	cases := []struct{ name, user, password string }{
		{"wrong password", "pw-carol", "wrong"},
		{"password of another case", "pw-carol", "RIGHT"},
		{"empty password", "pw-carol", ""},
		{"unknown user", "pw-nobody", "right"},
	}
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	for i, tc := range cases {
		wg.Go(func() {
			c, err := imapclient.DialInsecure(srv.Addr, nil)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			errs[i] = c.Login(tc.user, tc.password).Wait()
		})
	}
	wg.Wait()
	for i, tc := range cases {
		var ierr *imap.Error
		if !errors.As(errs[i], &ierr) || ierr.Type != imap.StatusResponseTypeNo {
			t.Errorf("%s: LOGIN %s: %v, want a NO", tc.name, tc.user, errs[i])
		}
	}
	srv.Login(t, "pw-carol") // and the right one works
}

// TestCourierQuirks pins what Courier-IMAP 5.0 does that the engine must
// survive. If one of these fails, Debian's Courier changed: the engine's
// tests against it (internal/engine/courier_test.go) may no longer cover
// what they were written for.
func TestCourierQuirks(t *testing.T) {
	t.Parallel()
	srv := StartCourier(t, User{Name: "quirks", Password: "pw"})
	c := srv.Login(t, "quirks")

	t.Run("capabilities", func(t *testing.T) {
		caps, err := c.Capability().Wait()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for cp := range caps {
			got = append(got, string(cp))
		}
		slices.Sort(got)
		// No LITERAL+ (every APPEND waits for the continuation), no
		// MOVE, MULTIAPPEND, SPECIAL-USE, CONDSTORE, ID or STARTTLS.
		want := []string{"ACL", "ACL2=UNION", "CHILDREN", "ENABLE", "IDLE", "IMAP4rev1", "NAMESPACE", "QUOTA",
			"SORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "UIDPLUS", "UTF8=ACCEPT"}
		if !slices.Equal(got, want) {
			t.Errorf("capabilities after login:\n got %v\nwant %v", got, want)
		}
	})

	t.Run("namespace INBOX. with '.'", func(t *testing.T) {
		ns, err := c.Namespace().Wait()
		if err != nil {
			t.Fatal(err)
		}
		if len(ns.Personal) != 1 || ns.Personal[0].Prefix != "INBOX." || ns.Personal[0].Delim != '.' {
			t.Errorf("personal namespace %+v, want INBOX. with '.'", ns.Personal)
		}
	})

	t.Run("SELECT without UIDNEXT, STATUS with it", func(t *testing.T) {
		dcMustAppend(t, c, "INBOX", dcMessage("uidnext"))
		sel, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if sel.UIDNext != 0 {
			t.Errorf("SELECT gave UIDNEXT %d; Courier sent none so far", sel.UIDNext)
		}
		if sel.UIDValidity == 0 || sel.NumMessages != 1 {
			t.Errorf("SELECT: UIDVALIDITY %d, %d messages; want both", sel.UIDValidity, sel.NumMessages)
		}
		st, err := c.Status("INBOX", &imap.StatusOptions{UIDNext: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if st.UIDNext != 2 {
			t.Errorf("STATUS UIDNEXT %d, want 2", st.UIDNext)
		}
	})

	t.Run("CREATE", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			ok   bool
		}{
			// Modified UTF-7 of a character outside the BMP (a
			// surrogate pair): "NO Error in IMAP command received by
			// server." (accepted only after ENABLE UTF8=ACCEPT).
			{"INBOX.📦 Boxes", false},
			{"INBOX.Café", true},
			{"INBOX.~tilde", true},
			{"INBOX.Reports_2024", true},
			{"INBOX.Inbox", true},
			{"INBOX.a/b", false}, // "NO Invalid mailbox name."
			{"Outside", false},   // only INBOX and INBOX.*: "NO Invalid mailbox name."
		} {
			err := c.Create(tc.name, nil).Wait()
			if tc.ok && err != nil {
				t.Errorf("CREATE %q: %v, want OK", tc.name, err)
			}
			if !tc.ok && err == nil {
				t.Errorf("CREATE %q succeeded; Courier refused it so far", tc.name)
			}
		}
	})

	t.Run("names are case-sensitive", func(t *testing.T) {
		for _, name := range []string{"INBOX.Work", "INBOX.work"} {
			if err := c.Create(name, nil).Wait(); err != nil {
				t.Fatalf("CREATE %s: %v", name, err)
			}
		}
		if err := c.Create("INBOX.Work", nil).Wait(); err == nil {
			t.Error("CREATE of an existing folder succeeded")
		} else if strings.Contains(err.Error(), "ALREADYEXISTS") {
			t.Errorf("Courier now answers with [ALREADYEXISTS]: %v", err)
		}
	})

	t.Run("parents of a new folder are placeholders", func(t *testing.T) {
		if err := c.Create("INBOX.Deep.Child", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		parent := dcList(t, c)["INBOX.Deep"]
		if parent == nil || !slices.Contains(parent.Attrs, imap.MailboxAttrNoSelect) {
			t.Errorf("INBOX.Deep is %+v, want a \\Noselect placeholder", parent)
		}
	})

	t.Run("APPEND dates", func(t *testing.T) {
		if err := c.Create("INBOX.Dates", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		before := time.Now().Add(-time.Minute)
		for _, d := range []time.Time{time.Unix(0, 0).UTC(), time.Date(1979, 12, 31, 23, 4, 5, 0, time.UTC)} {
			cmd := c.Append("INBOX.Dates", 10, &imap.AppendOptions{Time: d})
			cmd.Write([]byte("abcdefgh\r\n"))
			cmd.Close()
			if _, err := cmd.Wait(); err != nil {
				t.Fatalf("APPEND dated %v: %v", d, err)
			}
		}
		if _, err := c.Select("INBOX.Dates", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Fetch(imap.UIDSetNum(1, 2), &imap.FetchOptions{UID: true, InternalDate: true}).Collect()
		if err != nil || len(msgs) != 2 {
			t.Fatalf("FETCH: %v, %d messages", err, len(msgs))
		}
		slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.UID) - int(b.UID) })
		// The epoch itself means "no date" to Courier: it stores the
		// time of the APPEND. Other old dates survive.
		if msgs[0].InternalDate.Before(before) {
			t.Errorf("date 1970-01-01T00:00:00Z kept as %v; Courier replaced it by the APPEND time so far", msgs[0].InternalDate)
		}
		if want := time.Date(1979, 12, 31, 23, 4, 5, 0, time.UTC); !msgs[1].InternalDate.Equal(want) {
			t.Errorf("date %v became %v", want, msgs[1].InternalDate)
		}
	})

	t.Run("8-bit headers are kept", func(t *testing.T) {
		msg := []byte("Subject: caf\xe9 \xc3\xa9t\xc3\xa9\r\nFrom: a@example.com\r\n\r\nbody\r\n")
		dcMustAppend(t, c, "INBOX", msg)
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Fetch(imap.UIDSetNum(2), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("FETCH: %v, %d messages", err, len(msgs))
		}
		if body := msgs[0].FindBodySection(&imap.FetchItemBodySection{Peek: true}); !bytes.Equal(body, msg) {
			t.Errorf("8-bit message changed:\n got %q\nwant %q", body, msg)
		}
	})
}

// TestCourierUsersComeAndGo: users added while the server runs can log in
// at once, one after another (userdb.dat is rewritten each time), and a
// removed user's mail is gone.
func TestCourierUsersComeAndGo(t *testing.T) {
	t.Parallel()
	srv := StartCourier(t)
	for _, name := range []string{"cag-1", "cag-2", "cag-3"} {
		srv.AddUser(t, User{Name: name, Password: name + "-pw"})
		srv.Login(t, name)
	}
	var dir string
	t.Run("sub", func(t *testing.T) {
		sub := StartCourier(t, User{Name: "cag-temp", Password: "x"})
		dcMustAppend(t, sub.Login(t, "cag-temp"), "INBOX", dcMessage("temp"))
		dir = sub.MailDir("cag-temp")
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("mail of a removed user is still at %s (%v)", dir, err)
	}
}

// TestCourierLogTailIsTheTests: the log shown when a test fails has its own
// users' lines, not those of the other tests sharing the server.
func TestCourierLogTailIsTheTests(t *testing.T) {
	t.Parallel()
	srv := StartCourier(t, User{Name: "log-dave", Password: "pw"})
	other := StartCourier(t, User{Name: "log-erin", Password: "pw"})
	srv.Login(t, "log-dave").Logout().Wait()
	other.Login(t, "log-erin").Logout().Wait()
	tail := srv.LogTail()
	if !strings.Contains(tail, "INFO: LOGIN, user=log-dave,") {
		t.Errorf("the log tail lacks log-dave's LOGIN:\n%s", tail)
	}
	if strings.Contains(tail, "log-erin") {
		t.Errorf("the log tail shows another test's user:\n%s", tail)
	}
}
