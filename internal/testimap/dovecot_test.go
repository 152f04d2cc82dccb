package testimap

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// dcMessage returns a small RFC 5322 message.
func dcMessage(subject string) []byte {
	return []byte("From: Sender <sender@example.com>\r\n" +
		"To: Rcpt <rcpt@example.com>\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.com>\r\n" +
		"\r\n" +
		"Hello, " + subject + ".\r\n")
}

func dcAppend(c *imapclient.Client, mailbox string, msg []byte, flags ...imap.Flag) error {
	cmd := c.Append(mailbox, int64(len(msg)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write(msg); err != nil {
		cmd.Close()
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}

func dcMustAppend(t *testing.T, c *imapclient.Client, mailbox string, msg []byte, flags ...imap.Flag) {
	t.Helper()
	if err := dcAppend(c, mailbox, msg, flags...); err != nil {
		t.Fatalf("APPEND %s (%d bytes): %v", mailbox, len(msg), err)
	}
}

func dcStatus(t *testing.T, c *imapclient.Client, mailbox string) *imap.StatusData {
	t.Helper()
	st, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true, NumUnseen: true, Size: true}).Wait()
	if err != nil {
		t.Fatalf("STATUS %s: %v", mailbox, err)
	}
	return st
}

func dcList(t *testing.T, c *imapclient.Client) map[string]*imap.ListData {
	t.Helper()
	l, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	m := map[string]*imap.ListData{}
	for _, d := range l {
		m[d.Mailbox] = d
	}
	return m
}

// dcName builds the mailbox name of a folder path for d's layout.
func dcName(d *Dovecot, parts ...string) string {
	if len(parts) == 1 && parts[0] == "INBOX" {
		return "INBOX"
	}
	return d.Prefix + strings.Join(parts, string(d.Delim))
}

func TestDovecotLayouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		layout string
		delim  rune
		prefix string
		subdir string // Maildir directory of Projects/2024 below MailDir
	}{
		{"", '/', "", "Projects/2024"},
		{LayoutMaildirPP, '.', "INBOX.", ".Projects.2024"},
	} {
		t.Run("layout="+tc.layout, func(t *testing.T) {
			t.Parallel()
			d := StartDovecot(t, DovecotOptions{Layout: tc.layout, Users: []User{{"alice", "alice-pw"}, {"bob", "bob-pw"}}})
			if d.Delim != tc.delim || d.Prefix != tc.prefix {
				t.Fatalf("Delim/Prefix = %q/%q, want %q/%q", d.Delim, d.Prefix, tc.delim, tc.prefix)
			}
			if _, err := os.Stat(d.Config); err != nil {
				t.Fatal(err)
			}
			c := d.Login(t, "alice")

			ns, err := c.Namespace().Wait()
			if err != nil {
				t.Fatalf("NAMESPACE: %v", err)
			}
			if len(ns.Personal) != 1 || ns.Personal[0].Prefix != tc.prefix || ns.Personal[0].Delim != tc.delim {
				t.Fatalf("personal namespaces = %+v, want prefix %q delim %q", ns.Personal, tc.prefix, tc.delim)
			}

			nested := dcName(d, "Projects", "2024")
			if err := c.Create(nested, nil).Wait(); err != nil {
				t.Fatalf("CREATE %s: %v", nested, err)
			}
			sent := dcName(d, "Sent")
			if err := c.Create(sent, nil).Wait(); err != nil {
				t.Fatalf("CREATE %s: %v", sent, err)
			}
			dcMustAppend(t, c, nested, dcMessage("nested"))
			dcMustAppend(t, c, "INBOX", dcMessage("inbox"), imap.FlagSeen)

			list := dcList(t, c)
			for _, name := range []string{"INBOX", nested, sent} {
				ld, ok := list[name]
				if !ok {
					t.Fatalf("LIST lacks %q: %v", name, slices.Sorted(maps.Keys(list)))
				}
				if ld.Delim != tc.delim {
					t.Errorf("LIST %s delim = %q, want %q", name, ld.Delim, tc.delim)
				}
			}
			if !slices.Contains(list[sent].Attrs, imap.MailboxAttrSent) {
				t.Errorf("LIST %s attrs = %v, want \\Sent", sent, list[sent].Attrs)
			}
			if st := dcStatus(t, c, nested); *st.NumMessages != 1 {
				t.Errorf("%s has %d messages, want 1", nested, *st.NumMessages)
			}
			if st := dcStatus(t, c, "INBOX"); *st.NumMessages != 1 || *st.NumUnseen != 0 {
				t.Errorf("INBOX messages/unseen = %d/%d, want 1/0", *st.NumMessages, *st.NumUnseen)
			}

			if tc.layout == LayoutMaildirPP {
				// Everything lives below INBOX.
				if err := c.Create("Outside", nil).Wait(); err == nil {
					t.Errorf("CREATE Outside (not below INBOX.) succeeded")
				}
			}

			// The message file is where MailDir says.
			files, _ := filepath.Glob(filepath.Join(d.MailDir("alice"), tc.subdir, "*", "*"))
			var found bool
			for _, f := range files {
				if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("Subject: nested")) {
					found = true
				}
			}
			if !found {
				t.Errorf("message not found below %s (files %v)", filepath.Join(d.MailDir("alice"), tc.subdir), files)
			}

			// Users are separate.
			if l := dcList(t, d.Login(t, "bob")); len(l) != 1 {
				t.Errorf("bob sees %d mailboxes, want only INBOX", len(l))
			}

			// doveadm works on this instance.
			out, err := d.Doveadm("mailbox", "list", "-u", "alice")
			if err != nil || !strings.Contains(string(out), nested) {
				t.Errorf("doveadm mailbox list = %q, %v; want %s", out, err, nested)
			}
		})
	}
}

func TestDovecotBigAppendManyConnections(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t, DovecotOptions{Users: []User{{"alice", "pw"}}})

	// 30 MB with ordinary 78-byte lines.
	var msg bytes.Buffer
	msg.Write(dcMessage("big")[:bytes.Index(dcMessage("big"), []byte("\r\n\r\n"))+4])
	line := bytes.Repeat([]byte("0123456789"), 7)
	line = append(line, "abcdef\r\n"...)
	for msg.Len() < 30<<20 {
		msg.Write(line)
	}
	c := d.Login(t, "alice")
	dcMustAppend(t, c, "INBOX", msg.Bytes())
	if st := dcStatus(t, c, "INBOX"); *st.NumMessages != 1 || *st.Size != int64(msg.Len()) {
		t.Fatalf("INBOX messages/size = %d/%d, want 1/%d", *st.NumMessages, *st.Size, msg.Len())
	}

	// More simultaneous connections per user than Dovecot's default (10).
	const n = 25
	var wg sync.WaitGroup
	errs := make(chan error, n)
	clients := make(chan *imapclient.Client, n)
	for range n {
		wg.Go(func() {
			c, err := imapclient.DialInsecure(d.Addr, nil)
			if err != nil {
				errs <- err
				return
			}
			clients <- c
			if err := c.Login("alice", "pw").Wait(); err != nil {
				errs <- err
				return
			}
			if _, err := c.Select("INBOX", nil).Wait(); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	close(clients)
	for c := range clients {
		c.Close()
	}
	for err := range errs {
		t.Errorf("connection: %v", err)
	}
}

func TestDovecotMasterUser(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t, DovecotOptions{
		Users:      []User{{"alice", "alice-pw"}, {"bob", "bob-pw"}},
		MasterUser: &User{"admin", "admin-pw"},
	})
	if err := d.Login(t, "alice").Create("Secret", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	dial := func() *imapclient.Client {
		c, err := imapclient.DialInsecure(d.Addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	// SASL PLAIN: authzid = target user, authcid = master user.
	c := dial()
	if err := c.Authenticate(sasl.NewPlainClient("alice", "admin", "admin-pw")); err != nil {
		t.Fatalf("master AUTHENTICATE PLAIN as alice: %v", err)
	}
	if _, ok := dcList(t, c)["Secret"]; !ok {
		t.Errorf("master login as alice does not see alice's folder")
	}

	// LOGIN "target*master".
	c = dial()
	if err := c.Login("bob*admin", "admin-pw").Wait(); err != nil {
		t.Fatalf("LOGIN bob*admin: %v", err)
	}
	if _, ok := dcList(t, c)["Secret"]; ok {
		t.Errorf("master login as bob sees alice's folder")
	}

	for _, tc := range []struct{ authzid, authcid, pw string }{
		{"alice", "admin", "wrong"},     // bad master password
		{"", "admin", "admin-pw"},       // the master user has no mailbox
		{"bob", "alice", "alice-pw"},    // normal users are no masters
		{"nobody", "admin", "admin-pw"}, // unknown target
	} {
		if err := dial().Authenticate(sasl.NewPlainClient(tc.authzid, tc.authcid, tc.pw)); err == nil {
			t.Errorf("AUTHENTICATE PLAIN %q/%q/%q succeeded", tc.authzid, tc.authcid, tc.pw)
		}
	}
}

func TestDovecotTLS(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t, DovecotOptions{Users: []User{{"alice", "pw"}}, TLS: true})
	if d.TLSAddr == "" || d.RootCAs == nil || d.TLSAddr == d.Addr {
		t.Fatalf("TLSAddr=%q RootCAs=%v", d.TLSAddr, d.RootCAs)
	}
	opts := &imapclient.Options{TLSConfig: &tls.Config{RootCAs: d.RootCAs}}

	plain, err := imapclient.DialInsecure(d.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if !plain.Caps().Has(imap.CapStartTLS) {
		t.Errorf("plain port does not offer STARTTLS: %v", plain.Caps())
	}
	if err := plain.Login("alice", "pw").Wait(); err != nil {
		t.Errorf("plaintext LOGIN on the plain port: %v", err)
	}

	st, err := imapclient.DialStartTLS(d.Addr, opts)
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer st.Close()
	if err := st.Login("alice", "pw").Wait(); err != nil {
		t.Errorf("LOGIN after STARTTLS: %v", err)
	}

	imaps, err := imapclient.DialTLS(d.TLSAddr, opts)
	if err != nil {
		t.Fatalf("imaps: %v", err)
	}
	defer imaps.Close()
	if err := imaps.Login("alice", "pw").Wait(); err != nil {
		t.Errorf("LOGIN over imaps: %v", err)
	}
	if err := imaps.Create("Over/TLS", nil).Wait(); err != nil {
		t.Errorf("CREATE over imaps: %v", err)
	}

	// Without the harness' root the certificate is rejected.
	if c, err := imapclient.DialTLS(d.TLSAddr, &imapclient.Options{TLSConfig: &tls.Config{}}); err == nil {
		c.Close()
		t.Errorf("imaps without RootCAs verified")
	}
}

func TestDovecotAppendLimit(t *testing.T) {
	t.Parallel()
	const limit = 1000
	d := StartDovecot(t, DovecotOptions{Users: []User{{"alice", "pw"}}, AppendLimit: limit})

	c, err := imapclient.DialInsecure(d.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if l, ok := c.Caps().AppendLimit(); !ok || l == nil || *l != limit {
		t.Errorf("pre-login APPENDLIMIT = %v, %v; want %d", l, ok, limit)
	}
	if err := c.Login("alice", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if l, ok := c.Caps().AppendLimit(); !ok || l == nil || *l != limit {
		t.Errorf("post-login APPENDLIMIT = %v, %v; want %d", l, ok, limit)
	}

	small := dcMessage("small")
	big := append(dcMessage("big"), bytes.Repeat([]byte("x"), limit)...)
	dcMustAppend(t, c, "INBOX", small)
	if err := dcAppend(c, "INBOX", big); err == nil {
		t.Errorf("APPEND of %d bytes with APPENDLIMIT=%d succeeded", len(big), limit)
	} else if !strings.Contains(err.Error(), "LIMIT") && !strings.Contains(err.Error(), "TOOBIG") {
		t.Errorf("APPEND over the limit failed without [LIMIT]/[TOOBIG]: %v", err)
	}
	if st := dcStatus(t, c, "INBOX"); *st.NumMessages != 1 {
		t.Errorf("INBOX has %d messages, want 1", *st.NumMessages)
	}
}

func TestDovecotAddUser(t *testing.T) {
	t.Parallel()
	d := StartDovecot(t, DovecotOptions{Users: []User{{"alice", "pw"}}})
	d.Login(t, "alice")
	d.AddUser(t, User{"carol", "carol-pw"})
	if d.Password("carol") != "carol-pw" {
		t.Errorf("Password(carol) = %q", d.Password("carol"))
	}
	d.Login(t, "carol")
}

// TestDovecotDoveadmBackup migrates a mailbox between two instances with
// `doveadm backup -R imapc:` run on the destination, as the benchmarks do.
func TestDovecotDoveadmBackup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		src, dst        string
		master, overTLS bool
	}{
		{name: "fs-fs", src: LayoutFS, dst: LayoutFS},
		{name: "fs-maildir++", src: LayoutFS, dst: LayoutMaildirPP},
		{name: "maildir++-fs", src: LayoutMaildirPP, dst: LayoutFS},
		{name: "maildir++-maildir++", src: LayoutMaildirPP, dst: LayoutMaildirPP},
		{name: "master-user", src: LayoutFS, dst: LayoutFS, master: true},
		{name: "imaps", src: LayoutMaildirPP, dst: LayoutFS, overTLS: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srcOpts := DovecotOptions{Layout: tc.src, Users: []User{{"alice", "src-pw"}}, TLS: tc.overTLS}
			if tc.master {
				srcOpts.MasterUser = &User{"admin", "admin-pw"}
			}
			src := StartDovecot(t, srcOpts)
			dst := StartDovecot(t, DovecotOptions{Layout: tc.dst, Users: []User{{"alice", "dst-pw"}}})

			folders := [][]string{{"INBOX"}, {"Projects"}, {"Projects", "2024"}, {"Sent"}}
			c := src.Login(t, "alice")
			for _, f := range folders[1:] {
				if err := c.Create(dcName(src, f...), nil).Wait(); err != nil {
					t.Fatal(err)
				}
			}
			for i, f := range folders {
				for j := 0; j <= i; j++ {
					dcMustAppend(t, c, dcName(src, f...), dcMessage(fmt.Sprintf("%s %d", strings.Join(f, " "), j)), imap.FlagSeen)
				}
			}
			dcMustAppend(t, c, "INBOX", dcMessage("unseen"))

			var args []string
			switch {
			case tc.master:
				args = src.ImapcArgs("alice", "admin-pw", "imapc_master_user=admin")
			case tc.overTLS:
				args = src.ImapcArgs("alice", "src-pw", src.ImapcTLSSettings()...)
			default:
				args = src.ImapcArgs("alice", "src-pw")
			}
			args = append(args, "backup", "-R", "-u", "alice", "imapc:")
			start := time.Now()
			if out, err := dst.Doveadm(args...); err != nil {
				t.Fatalf("%v\n%s\nsource log:\n%s", err, out, src.LogTail())
			}
			t.Logf("doveadm backup took %v", time.Since(start))
			// Incremental run: nothing to do, must still succeed.
			if out, err := dst.Doveadm(args...); err != nil {
				t.Fatalf("second backup: %v\n%s", err, out)
			}

			dc := dst.Login(t, "alice")
			for i, f := range folders {
				name := dcName(dst, f...)
				want := uint32(i + 1)
				if name == "INBOX" {
					want++
				}
				st := dcStatus(t, dc, name)
				if *st.NumMessages != want {
					t.Errorf("destination %s has %d messages, want %d", name, *st.NumMessages, want)
				}
				if wantUnseen := map[bool]uint32{true: 1, false: 0}[name == "INBOX"]; *st.NumUnseen != wantUnseen {
					t.Errorf("destination %s has %d unseen, want %d", name, *st.NumUnseen, wantUnseen)
				}
			}
			if l := dcList(t, dc); len(l) != len(folders) {
				t.Errorf("destination has mailboxes %v, want %d", slices.Sorted(maps.Keys(l)), len(folders))
			}
		})
	}
}
