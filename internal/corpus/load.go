package corpus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// appendWindow is the number of APPEND commands Load keeps in flight.
const appendWindow = 64

// ServerNaming returns how Load names mailboxes on the server c is connected
// to: the hierarchy delimiter (from LIST "" "", falling back to the personal
// namespace's; 0 for a flat server) and the personal namespace prefix (from
// NAMESPACE when the server supports it, e.g. "INBOX."; otherwise "").
func ServerNaming(c *imapclient.Client) (delim rune, prefix string, err error) {
	l, err := c.List("", "", nil).Collect()
	if err != nil {
		return 0, "", fmt.Errorf(`corpus: LIST "" "": %w`, err)
	}
	for _, d := range l {
		if d.Delim != 0 {
			delim = d.Delim
			break
		}
	}
	if c.Caps().Has(imap.CapNamespace) {
		ns, err := c.Namespace().Wait()
		if err != nil {
			return 0, "", fmt.Errorf("corpus: NAMESPACE: %w", err)
		}
		if len(ns.Personal) > 0 {
			prefix = ns.Personal[0].Prefix
			if delim == 0 {
				delim = ns.Personal[0].Delim
			}
		}
	}
	return delim, prefix, nil
}

// MailboxName returns the name Load uses for folder f on a server with that
// hierarchy delimiter and personal namespace prefix: prefix + the path
// segments joined with delim. INBOX stays "INBOX". A delimiter occurring
// inside a segment is replaced with "_"; a zero delim (flat server) joins
// with "/". The name is a plain Go (UTF-8) string; the IMAP client encodes
// it (modified UTF-7, or UTF-8 with IMAP4rev2/UTF8=ACCEPT) on the wire.
func MailboxName(f Folder, delim rune, prefix string) string {
	if len(f.Path) == 1 && strings.EqualFold(f.Path[0], "INBOX") {
		return "INBOX"
	}
	if delim == 0 {
		delim = '/'
	}
	d := string(delim)
	segs := make([]string, len(f.Path))
	for i, s := range f.Path {
		segs[i] = strings.ReplaceAll(s, d, "_")
	}
	return prefix + strings.Join(segs, d)
}

func mailboxKey(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return name
}

// Load appends the corpus into the IMAP account of the logged-in client c.
//
// It creates the folders that do not exist yet (parents first; named by
// MailboxName with the server's delimiter and personal namespace prefix, see
// ServerNaming), with CREATE (USE (...)) for special-use folders when the
// server supports CREATE-SPECIAL-USE, subscribes the subscribed ones, and
// appends every message with its flags and internal date. Messages are
// streamed with Message.WriteTo, and up to 64 APPENDs are kept in flight
// (pipelined) before waiting for their results.
//
// ctx is checked between commands; a literal being written is not
// interrupted.
func Load(ctx context.Context, c *imapclient.Client, corpus *Corpus) error {
	delim, prefix, err := ServerNaming(c)
	if err != nil {
		return err
	}
	caps := c.Caps()

	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return fmt.Errorf(`corpus: LIST "" "*": %w`, err)
	}
	existing := make(map[string]bool, len(list))
	for _, d := range list {
		existing[mailboxKey(d.Mailbox)] = true
	}

	create := func(name, use string) error {
		if existing[mailboxKey(name)] {
			return nil
		}
		var opts *imap.CreateOptions
		if use != "" && caps.Has(imap.CapCreateSpecialUse) {
			opts = &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{imap.MailboxAttr(use)}}
		}
		err := c.Create(name, opts).Wait()
		if err != nil && opts != nil && !alreadyExists(err) {
			// E.g. [USEATTR]: the role is taken by another mailbox.
			err = c.Create(name, nil).Wait()
		}
		if err != nil && !alreadyExists(err) {
			return fmt.Errorf("corpus: CREATE %q: %w", name, err)
		}
		existing[mailboxKey(name)] = true
		return nil
	}

	names := make([]string, len(corpus.Folders))
	for i, f := range corpus.Folders {
		if err := ctx.Err(); err != nil {
			return err
		}
		names[i] = MailboxName(f, delim, prefix)
		for k := 1; k < len(f.Path); k++ {
			if err := create(MailboxName(Folder{Path: f.Path[:k]}, delim, prefix), ""); err != nil {
				return err
			}
		}
		if err := create(names[i], f.SpecialUse); err != nil {
			return err
		}
	}

	var subs []*imapclient.Command
	var subNames []string
	for i, f := range corpus.Folders {
		if f.Subscribed {
			subs = append(subs, c.Subscribe(names[i]))
			subNames = append(subNames, names[i])
		}
	}
	var firstErr error
	for i, cmd := range subs {
		if err := cmd.Wait(); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("corpus: SUBSCRIBE %q: %w", subNames[i], err)
		}
	}
	if firstErr != nil {
		return firstErr
	}

	return appendAll(ctx, c, corpus, names)
}

func appendAll(ctx context.Context, c *imapclient.Client, corpus *Corpus, names []string) error {
	type pending struct {
		cmd *imapclient.AppendCommand
		i   int
	}
	queue := make([]pending, 0, appendWindow)
	wait := func(p pending) error {
		if _, err := p.cmd.Wait(); err != nil {
			m := &corpus.Messages[p.i]
			return fmt.Errorf("corpus: APPEND message %d (%d bytes) to %q: %w", p.i, m.Size, names[m.Folder], err)
		}
		return nil
	}
	drain := func(err error) error {
		for _, p := range queue {
			if werr := wait(p); err == nil {
				err = werr
			}
		}
		queue = queue[:0]
		return err
	}

	flagCache := map[*string][]imap.Flag{}
	for i := range corpus.Messages {
		if err := ctx.Err(); err != nil {
			return drain(err)
		}
		m := &corpus.Messages[i]
		var flags []imap.Flag
		if len(m.Flags) > 0 {
			var ok bool
			if flags, ok = flagCache[&m.Flags[0]]; !ok || len(flags) != len(m.Flags) {
				flags = make([]imap.Flag, len(m.Flags))
				for j, f := range m.Flags {
					flags[j] = imap.Flag(f)
				}
				flagCache[&m.Flags[0]] = flags
			}
		}
		cmd := c.Append(names[m.Folder], m.Size, &imap.AppendOptions{Flags: flags, Time: m.Date})
		_, werr := m.WriteTo(cmd)
		cerr := cmd.Close()
		queue = append(queue, pending{cmd, i})
		if werr != nil || cerr != nil {
			// The server's answer (e.g. a NO instead of a continuation
			// request) is the most useful error.
			err := drain(nil)
			if err == nil {
				err = errors.Join(werr, cerr)
				err = fmt.Errorf("corpus: APPEND message %d to %q: %w", i, names[m.Folder], err)
			}
			return err
		}
		if len(queue) == appendWindow {
			if err := wait(queue[0]); err != nil {
				queue = queue[1:]
				return drain(err)
			}
			queue = queue[1:]
		}
	}
	return drain(nil)
}

func alreadyExists(err error) bool {
	var ierr *imap.Error
	return errors.As(err, &ierr) && ierr.Code == imap.ResponseCodeAlreadyExists
}
