package testimap_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/testimap"
)

// cyrusSeparators: both hierarchy separators met in the field.
var cyrusSeparators = []struct {
	name string
	sep  rune
}{{"dot", '.'}, {"slash", '/'}}

func cyrusAppend(t *testing.T, c *imapclient.Client, mailbox string, msg []byte, opts *imap.AppendOptions) (*imap.AppendData, error) {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(msg)), opts)
	if _, err := cmd.Write(msg); err != nil {
		t.Fatalf("append to %s: %v", mailbox, err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("append to %s: %v", mailbox, err)
	}
	return cmd.Wait()
}

type cyrusMessage struct {
	body []byte
	date time.Time
	size int64
}

func cyrusFetch(t *testing.T, c *imapclient.Client, mailbox string) []cyrusMessage {
	t.Helper()
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatalf("select %s: %v", mailbox, err)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{InternalDate: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("fetch %s: %v", mailbox, err)
	}
	var out []cyrusMessage
	for _, m := range msgs {
		out = append(out, cyrusMessage{body: m.FindBodySection(section), date: m.InternalDate, size: m.RFC822Size})
	}
	return out
}

func statusOf(err error) *imap.Error {
	var e *imap.Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// TestCyrusServesUsers: a user logs in, creates a folder under INBOX with
// the configured separator, appends, lists and fetches; a wrong password
// is refused.
func TestCyrusServesUsers(t *testing.T) {
	t.Parallel()
	for _, tc := range cyrusSeparators {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := testimap.SharedCyrus(t, testimap.CyrusSeparator(tc.sep))
			u := srv.NewUser(t)
			c := srv.Login(t, u.Name)

			ns, err := c.Namespace().Wait()
			if err != nil {
				t.Fatal(err)
			}
			if len(ns.Personal) != 1 || ns.Personal[0].Prefix != srv.Prefix || ns.Personal[0].Delim != tc.sep {
				t.Fatalf("personal namespace %+v, want prefix %q delimiter %q", ns.Personal, srv.Prefix, tc.sep)
			}
			folder := srv.Prefix + "Projects" + string(tc.sep) + "2024"
			if err := c.Create(folder, nil).Wait(); err != nil {
				t.Fatal(err)
			}
			msg := []byte("From: a@example.com\r\nSubject: hello\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n")
			date := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
			data, err := cyrusAppend(t, c, folder, msg, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: date})
			if err != nil {
				t.Fatal(err)
			}
			if data.UID == 0 {
				t.Fatal("no APPENDUID")
			}
			list, err := c.List("", "*", nil).Collect()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, l := range list {
				names = append(names, l.Mailbox)
				if l.Delim != tc.sep {
					t.Errorf("%s listed with delimiter %q", l.Mailbox, l.Delim)
				}
			}
			if !strings.Contains(strings.Join(names, "\n"), folder) {
				t.Fatalf("LIST %v lacks %s", names, folder)
			}
			got := cyrusFetch(t, c, folder)
			if len(got) != 1 || !bytes.Equal(got[0].body, msg) || !got[0].date.Equal(date) {
				t.Fatalf("fetched %+v", got)
			}

			other, err := imapclient.DialInsecure(srv.Addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			err = other.Login(u.Name, u.Password+"x").Wait()
			if e := statusOf(err); e == nil || e.Type != imap.StatusResponseTypeNo {
				t.Fatalf("login with a wrong password: %v, want NO", err)
			}
		})
	}
}

// TestCyrusQuirks pins what Cyrus 3.6 does that the engine must survive, so
// that the engine's tests meet the server users meet.
func TestCyrusQuirks(t *testing.T) {
	t.Parallel()
	srv := testimap.SharedCyrus(t)
	u := srv.NewUser(t)
	c := srv.Login(t, u.Name)

	t.Run("munge8bit: 8-bit header bytes come back as X, the body is kept", func(t *testing.T) {
		folder := "INBOX.munge"
		if err := c.Create(folder, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		msg := []byte("From: J\xc3\xbcrgen <j@example.com>\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nK\xc3\xa4se\r\n")
		if _, err := cyrusAppend(t, c, folder, msg, nil); err != nil {
			t.Fatal(err)
		}
		want := []byte("From: JXXrgen <j@example.com>\r\nSubject: GrXXXXe\r\n\r\nK\xc3\xa4se\r\n")
		got := cyrusFetch(t, c, folder)
		if len(got) != 1 || !bytes.Equal(got[0].body, want) {
			t.Fatalf("fetched %d messages (%+v), want one: %q", len(got), got, want)
		}
	})

	t.Run("internal dates: the epoch becomes the APPEND time, before 1970 is BAD, 1975 is kept", func(t *testing.T) {
		folder := "INBOX.dates"
		if err := c.Create(folder, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		kept := time.Date(1975, 6, 15, 12, 0, 0, 0, time.UTC)
		before := time.Now().Add(-time.Minute)
		for _, d := range []time.Time{time.Unix(0, 0).UTC(), kept} {
			if _, err := cyrusAppend(t, c, folder, []byte("Subject: old\r\n\r\nx\r\n"), &imap.AppendOptions{Time: d}); err != nil {
				t.Fatalf("append dated %v: %v", d, err)
			}
		}
		got := cyrusFetch(t, c, folder)
		if len(got) != 2 || got[0].date.Before(before) || !got[1].date.Equal(kept) {
			t.Fatalf("internal dates %v and %v, want the APPEND time and %v", got[0].date, got[1].date, kept)
		}
		_, err := cyrusAppend(t, c, folder, []byte("Subject: older\r\n\r\nx\r\n"), &imap.AppendOptions{Time: time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)})
		if e := statusOf(err); e == nil || e.Type != imap.StatusResponseTypeBad {
			t.Fatalf("append dated 1969: %v, want BAD", err)
		}
	})

	t.Run("CREATE of an existing folder is NO without [ALREADYEXISTS]", func(t *testing.T) {
		if err := c.Create("INBOX.twice", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		err := c.Create("INBOX.twice", nil).Wait()
		e := statusOf(err)
		if e == nil || e.Type != imap.StatusResponseTypeNo || e.Code != "" || !strings.Contains(e.Text, "already exists") {
			t.Fatalf("second CREATE: %v, want NO Mailbox already exists without a code", err)
		}
	})

	t.Run("quota: NO Over quota without [OVERQUOTA]", func(t *testing.T) {
		q := srv.NewUser(t)
		srv.SetQuota(t, q.Name, 10)
		qc := srv.Login(t, q.Name)
		msg := []byte("Subject: big\r\n\r\n" + strings.Repeat("x", 20<<10) + "\r\n")
		_, err := cyrusAppend(t, qc, "INBOX", msg, nil)
		e := statusOf(err)
		if e == nil || e.Type != imap.StatusResponseTypeNo || e.Code != "" || !strings.Contains(e.Text, "Over quota") {
			t.Fatalf("APPEND over quota: %v, want NO Over quota without a code", err)
		}
	})
}

// TestCyrusFolderNames pins which folder names Cyrus refuses ("NO Invalid
// mailbox name") under each separator, and that a '.' in a name under the
// '.' separator makes two levels.
func TestCyrusFolderNames(t *testing.T) {
	t.Parallel()
	refusedEverywhere := []string{`a"b`, "a%b", "a!b", "a;b", "a<b", "a>b", `a\b`, "a`b", "a{b", "a|b", "a}b"}
	for _, tc := range cyrusSeparators {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := testimap.SharedCyrus(t, testimap.CyrusSeparator(tc.sep))
			u := srv.NewUser(t)
			c := srv.Login(t, u.Name)
			refused := append([]string{}, refusedEverywhere...)
			accepted := []string{"~tilde", "a~b", "Reports_2024", "sp ace", "Caf&AOk-", "Inbox", "2024", "#hash", "x@y"}
			if tc.sep == '.' {
				refused = append(refused, "a/b")
				accepted = append(accepted, "Reports.2024")
			} else {
				refused = append(refused, "a^b")
				accepted = append(accepted, "Reports.2024", "dot.dot")
			}
			for _, name := range refused {
				err := c.Create(srv.Prefix+name, nil).Wait()
				if e := statusOf(err); e == nil || e.Type != imap.StatusResponseTypeNo || !strings.Contains(e.Text, "Invalid mailbox name") {
					t.Errorf("CREATE %q: %v, want NO Invalid mailbox name", srv.Prefix+name, err)
				}
			}
			for _, name := range accepted {
				if err := c.Create(srv.Prefix+name, nil).Wait(); err != nil {
					t.Errorf("CREATE %q: %v", srv.Prefix+name, err)
				}
			}
			// Outside INBOX the user may create nothing (altnamespace off).
			if err := c.Create("Top", nil).Wait(); statusOf(err) == nil {
				t.Errorf("CREATE Top: %v, want NO", err)
			}
			list, err := c.List("", srv.Prefix+"Reports*", nil).Collect()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, l := range list {
				names = append(names, l.Mailbox)
			}
			want := []string{"INBOX.Reports", "INBOX.Reports.2024", "INBOX.Reports_2024"} // the dot made a parent
			if tc.sep == '/' {
				want = []string{"INBOX/Reports.2024", "INBOX/Reports_2024"}
			}
			if strings.Join(names, " ") != strings.Join(want, " ") {
				t.Errorf("LIST %sReports*: %v, want %v", srv.Prefix, names, want)
			}
		})
	}
}
