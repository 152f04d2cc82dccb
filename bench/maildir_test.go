package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/testimap"
)

// maildirKeywords are the keywords the corpus uses, in the order of the
// dovecot-keywords file written by writeMaildir (letters a, b, c, ...).
var maildirKeywords = []string{corpus.KeywordFwd, corpus.KeywordJunk, corpus.KeywordProj}

// writeMaildir puts corpus c into the benchmark user's mailbox at d (an
// fs-layout instance) by writing the message files straight into its
// Maildir, then lets Dovecot index them.
//
// APPENDing into a big Dovecot maildir folder gets slower with every
// message (each save re-reads the folder's dovecot-uidlist: 1.5 ms per
// message in an empty folder, 3 ms at 9,000, about 20 ms at 100,000), so
// loading 100,000 messages over IMAP would take a quarter of an hour.
// Files written here are what Dovecot itself would have stored: the
// message bytes, the internal date as the file's mtime, S= (size) and W=
// (RFC822.SIZE) in the name, flags in the name's ":2," suffix and keywords
// as letters defined in dovecot-keywords. The folders themselves (special
// use, subscriptions) are created over IMAP. Folder names must be ASCII
// without '&', '.' or '/'.
func writeMaildir(tb testing.TB, d *testimap.Dovecot, c *corpus.Corpus) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	start := time.Now()
	cl := testimap.Dial(tb, d.Addr, benchUser, benchPass)
	if err := corpus.Load(ctx, cl, &corpus.Corpus{Folders: c.Folders}); err != nil {
		tb.Fatalf("creating folders: %v", err)
	}
	if _, err := cl.Select("INBOX", nil).Wait(); err != nil {
		tb.Fatalf("SELECT INBOX: %v", err)
	}
	if err := cl.Logout().Wait(); err != nil {
		tb.Fatalf("LOGOUT: %v", err)
	}

	root := d.MailDir(benchUser)
	fi, err := os.Stat(root)
	if err != nil {
		tb.Fatalf("the user's Maildir: %v", err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	uid, gid := int(st.Uid), int(st.Gid)
	chown := func(path string) {
		if err := os.Lchown(path, uid, gid); err != nil {
			tb.Fatal(err)
		}
	}

	dirs := make([]string, len(c.Folders))
	for i, f := range c.Folders {
		dir := root
		if !(len(f.Path) == 1 && strings.EqualFold(f.Path[0], "INBOX")) {
			for _, seg := range f.Path {
				if strings.ContainsAny(seg, "&./") || strings.IndexFunc(seg, func(r rune) bool { return r > 126 || r < 32 }) >= 0 {
					tb.Fatalf("writeMaildir: folder name %q is not plain ASCII", f.Name())
				}
			}
			dir = filepath.Join(root, filepath.Join(f.Path...))
		}
		for _, sub := range []string{"", "cur", "new", "tmp"} {
			p := filepath.Join(dir, sub)
			if err := os.MkdirAll(p, 0o700); err != nil {
				tb.Fatal(err)
			}
			chown(p)
		}
		kw := filepath.Join(dir, "dovecot-keywords")
		if _, err := os.Stat(kw); err == nil {
			tb.Fatalf("writeMaildir: %s already exists", kw)
		}
		var b strings.Builder
		for j, k := range maildirKeywords {
			fmt.Fprintf(&b, "%d %s\n", j, k)
		}
		if err := os.WriteFile(kw, []byte(b.String()), 0o600); err != nil {
			tb.Fatal(err)
		}
		chown(kw)
		dirs[i] = dir
	}

	var buf bytes.Buffer
	w := bufio.NewWriterSize(nil, 64<<10)
	for i := range c.Messages {
		m := &c.Messages[i]
		buf.Reset()
		if _, err := m.WriteTo(&buf); err != nil {
			tb.Fatal(err)
		}
		data := buf.Bytes()
		// RFC822.SIZE counts line ends as CRLF.
		vsize := len(data) + bytes.Count(data, []byte("\n")) - bytes.Count(data, []byte("\r\n"))
		name := fmt.Sprintf("%d.M%dP%d.ferrybench,S=%d,W=%d:2,%s", m.Date.Unix(), i, os.Getpid(), len(data), vsize, maildirFlags(tb, m.Flags))
		path := filepath.Join(dirs[m.Folder], "cur", name)
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			tb.Fatal(err)
		}
		w.Reset(f)
		_, err = w.Write(data)
		if err == nil {
			err = w.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			tb.Fatal(err)
		}
		chown(path)
		if err := os.Chtimes(path, m.Date, m.Date); err != nil {
			tb.Fatal(err)
		}
	}
	wrote := time.Since(start)

	// Let Dovecot find the files and build its index (UIDs, flags, dates,
	// sizes), as a server that has been serving this mailbox would have.
	cl = testimap.Dial(tb, d.Addr, benchUser, benchPass)
	list, err := cl.List("", "*", nil).Collect()
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range list {
		if slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) {
			continue
		}
		if _, err := cl.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			tb.Fatalf("SELECT %q: %v", l.Mailbox, err)
		}
		var all imap.UIDSet
		all.AddRange(1, 0)
		if err := cl.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true}).Close(); err != nil {
			tb.Fatalf("FETCH in %q: %v", l.Mailbox, err)
		}
	}
	if err := cl.Logout().Wait(); err != nil {
		tb.Fatalf("LOGOUT: %v", err)
	}
	fmt.Printf("%s: wrote %d messages (%.1f MB) in %d folders as maildir files in %v, indexed by Dovecot in %v\n",
		tb.Name(), len(c.Messages), float64(c.TotalBytes())/1e6, len(c.Folders), wrote.Round(100*time.Millisecond),
		(time.Since(start) - wrote).Round(100*time.Millisecond))
}

// maildirFlags is the info part of a maildir file name for IMAP flags:
// system flag letters (uppercase) then keyword letters, each in ASCII order.
func maildirFlags(tb testing.TB, flags []string) string {
	var letters []byte
	for _, f := range flags {
		switch imap.Flag(f) {
		case imap.FlagDraft:
			letters = append(letters, 'D')
		case imap.FlagFlagged:
			letters = append(letters, 'F')
		case imap.FlagAnswered:
			letters = append(letters, 'R')
		case imap.FlagSeen:
			letters = append(letters, 'S')
		case imap.FlagDeleted:
			letters = append(letters, 'T')
		default:
			j := slices.Index(maildirKeywords, f)
			if j < 0 {
				tb.Fatalf("writeMaildir: no maildir letter for flag %q", f)
			}
			letters = append(letters, byte('a'+j))
		}
	}
	slices.Sort(letters)
	return string(letters)
}
