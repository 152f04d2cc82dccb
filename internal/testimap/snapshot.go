package testimap

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Snapshot is a mailbox's content: folder path (levels joined by '/',
// without namespace prefix) to sorted message descriptions (body hash,
// flags, internal date). Two mailboxes hold the same mail exactly when
// their snapshots are equal.
type Snapshot map[string][]string

// Count is the number of messages in all folders.
func (s Snapshot) Count() int {
	n := 0
	for _, m := range s {
		n += len(m)
	}
	return n
}

// Dial logs in with a plain connection, for test inspection.
func Dial(tb testing.TB, addr, user, password string) *imapclient.Client {
	tb.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr, err)
	}
	if err := c.Login(user, password).Wait(); err != nil {
		tb.Fatalf("login %s at %s: %v", user, addr, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// TakeSnapshot reads every message of every folder.
func TakeSnapshot(tb testing.TB, addr, user, password string) Snapshot {
	tb.Helper()
	c := Dial(tb, addr, user, password)
	defer c.Logout()
	prefix := ""
	if c.Caps().Has(imap.CapNamespace) {
		if ns, err := c.Namespace().Wait(); err == nil && len(ns.Personal) > 0 {
			prefix = ns.Personal[0].Prefix
		}
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		tb.Fatalf("list: %v", err)
	}
	snap := Snapshot{}
	for _, l := range list {
		noselect := false
		for _, a := range l.Attrs {
			if a == imap.MailboxAttrNoSelect || a == imap.MailboxAttrNonExistent {
				noselect = true
			}
		}
		if noselect {
			continue
		}
		name := l.Mailbox
		path := name
		if !strings.EqualFold(name, "INBOX") {
			path = strings.TrimPrefix(name, prefix)
		}
		if l.Delim != 0 {
			path = strings.ReplaceAll(path, string(l.Delim), "/")
		}
		sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			tb.Fatalf("select %s: %v", name, err)
		}
		if sel.NumMessages == 0 {
			continue
		}
		section := &imap.FetchItemBodySection{Peek: true}
		var set imap.UIDSet
		set.AddRange(1, 0)
		cmd := c.Fetch(set, &imap.FetchOptions{Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{section}})
		for {
			m := cmd.Next()
			if m == nil {
				break
			}
			buf, err := m.Collect()
			if err != nil {
				tb.Fatalf("fetch %s: %v", name, err)
			}
			var flags []string
			for _, f := range buf.Flags {
				if !strings.EqualFold(string(f), `\Recent`) {
					flags = append(flags, string(f))
				}
			}
			sort.Strings(flags)
			sum := sha256.Sum256(buf.FindBodySection(section))
			snap[path] = append(snap[path], fmt.Sprintf("%s %d %s [%s]", hex.EncodeToString(sum[:8]), len(buf.FindBodySection(section)), buf.InternalDate.UTC().Format("2006-01-02T15:04:05"), strings.Join(flags, " ")))
		}
		if err := cmd.Close(); err != nil {
			tb.Fatalf("fetch %s: %v", name, err)
		}
		sort.Strings(snap[path])
	}
	return snap
}

// Diff describes how b differs from a, "" when equal.
func (a Snapshot) Diff(b Snapshot) string {
	var out []string
	paths := map[string]bool{}
	for p := range a {
		paths[p] = true
	}
	for p := range b {
		paths[p] = true
	}
	var sorted []string
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	for _, p := range sorted {
		am, bm := count(a[p]), count(b[p])
		for k, n := range am {
			if bm[k] < n {
				out = append(out, fmt.Sprintf("%s: missing %d× %s", p, n-bm[k], k))
			}
		}
		for k, n := range bm {
			if am[k] < n {
				out = append(out, fmt.Sprintf("%s: extra %d× %s", p, n-am[k], k))
			}
		}
	}
	if len(out) > 30 {
		out = append(out[:30], fmt.Sprintf("… %d more differences", len(out)-30))
	}
	return strings.Join(out, "\n")
}

func count(ms []string) map[string]int {
	out := map[string]int{}
	for _, m := range ms {
		out[m]++
	}
	return out
}
