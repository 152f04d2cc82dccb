package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store"
)

// SideReport describes one server as the Verify credentials pass found it.
type SideReport struct {
	Endpoint     string   `json:"endpoint"`
	Capabilities []string `json:"capabilities"` // the ones that matter to a migration
	Separator    string   `json:"separator"`
	Prefix       string   `json:"prefix"`
	AppendLimit  int64    `json:"append_limit,omitempty"`
	Rights       string   `json:"rights,omitempty"` // MYRIGHTS on INBOX when the server has ACL
	Folders      int      `json:"folders"`
	Messages     int64    `json:"messages"`
	Bytes        int64    `json:"bytes"`
}

// CheckReport is the outcome of Verify credentials: both logins work and what is there.
type CheckReport struct {
	Source SideReport `json:"source"`
	Dest   SideReport `json:"destination"`
	// Folders is the folder map: where each source folder the pass would
	// copy goes, by source path.
	Folders  []FolderMapEntry `json:"folder_map"`
	Warnings []string         `json:"warnings,omitempty"`
}

// FolderMapEntry is one source folder of the folder map.
type FolderMapEntry struct {
	Source string `json:"source"` // display path
	Dest   string `json:"destination"`
	// Create: the destination has no such folder yet; the first pass creates it.
	Create bool `json:"create"`
	// Renamed says why Dest is not the source folder's own name; "" when it is.
	Renamed string `json:"renamed,omitempty"`
}

// keptMap is the folder map of earlier passes; none without a state store.
func (e *Engine) keptMap(ctx context.Context, job Job) ([]store.FolderMapping, error) {
	if e.Store == nil {
		return nil, nil
	}
	mbox, err := e.Store.Mailbox(ctx, job.Key())
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	kept, err := e.Store.FolderMap(ctx, mbox)
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	return kept, nil
}

// Check logs in on both sides, reads capabilities and rights, counts
// folders, messages and bytes at the source, and shows the folder map. It
// moves nothing.
func (e *Engine) Check(ctx context.Context, job Job) (*CheckReport, error) {
	var s *session
	err := e.retry(ctx, &Progress{}, func() (bool, error) {
		var err error
		s, err = e.connect(ctx, job, false)
		return false, err
	})
	if err != nil {
		return nil, err
	}
	defer s.logout()
	rep := &CheckReport{}
	var srcFolders, dstFolders []Folder
	for _, side := range []struct {
		c   *imapconn.Conn
		out *SideReport
	}{{s.src, &rep.Source}, {s.dst, &rep.Dest}} {
		r := side.out
		c := side.c
		r.Endpoint = c.Endpoint.String()
		for _, name := range []imap.Cap{imap.CapUIDPlus, imap.CapLiteralPlus, imap.CapSpecialUse, imap.CapCondStore, imap.CapMove, imap.CapNamespace, imap.CapIMAP4rev2, imap.CapACL} {
			if c.Caps().Has(name) {
				r.Capabilities = append(r.Capabilities, string(name))
			}
		}
		r.Separator, r.Prefix, r.AppendLimit = string(c.Delim), c.Prefix, c.AppendLimit
		if c.Caps().Has(imap.CapACL) {
			c.Do(func() error {
				d, err := c.MyRights("INBOX").Wait()
				if err == nil {
					r.Rights = string(d.Rights)
				}
				return err
			})
		}
		folders, err := listFolders(c)
		if err != nil {
			return nil, err
		}
		if c == s.src {
			srcFolders = folders
		} else {
			dstFolders = folders
		}
		for _, f := range folders {
			if f.NoSelect {
				continue
			}
			r.Folders++
			if c != s.src {
				continue
			}
			opts := &imap.StatusOptions{NumMessages: true}
			if c.Caps().Has(imap.CapStatusSize) || c.Caps().Has(imap.CapIMAP4rev2) {
				opts.Size = true
			}
			var st *imap.StatusData
			if err := c.Do(func() (err error) { st, err = c.Status(f.Name, opts).Wait(); return err }); err != nil {
				return nil, sideErr("source", imapconn.Classify("count messages in "+f.Name, err))
			}
			if st.NumMessages != nil {
				r.Messages += int64(*st.NumMessages)
			}
			if st.Size != nil {
				r.Bytes += *st.Size
			} else if st.NumMessages != nil && *st.NumMessages > 0 {
				c.Do(func() error {
					if _, err := c.Select(f.Name, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
						return err
					}
					return fetchAll(c, allUIDs(), &imap.FetchOptions{UID: true, RFC822Size: true}, func(m *imapclient.FetchMessageBuffer) error {
						r.Bytes += m.RFC822Size
						return nil
					})
				})
			}
		}
	}
	kept, err := e.keptMap(ctx, job)
	if err != nil {
		return nil, err
	}
	srcNS, dstNS := Namespace{Delim: s.src.Delim, Prefix: s.src.Prefix}, Namespace{Delim: s.dst.Delim, Prefix: s.dst.Prefix}
	plans := MapFolders(srcFolders, srcNS, dstFolders, dstNS, e.Opts.Filter, kept)
	if e.Opts.SourceLabels || s.src.Caps().Has(capGmail) {
		r := &mailboxRun{e: e, job: job, srcNS: srcNS, dstNS: dstNS}
		if e.Store != nil {
			if r.mbox, err = e.Store.Mailbox(ctx, job.Key()); err != nil {
				return nil, fmt.Errorf("state store: %w", err)
			}
		}
		if plans, err = r.mapGmailFolders(ctx, s, srcFolders, dstFolders, e.Opts.Filter, kept); err != nil {
			return nil, err
		}
	}
	for _, p := range plans {
		rep.Folders = append(rep.Folders, FolderMapEntry{Source: p.Path, Dest: p.Dest, Create: !p.DestExists, Renamed: p.Renamed})
		if p.Renamed != "" {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("folder %s goes to %s: %s", p.Path, p.Dest, p.Renamed))
		}
	}
	if !s.dst.Caps().Has(imap.CapUIDPlus) && !s.dst.Caps().Has(imap.CapIMAP4rev2) {
		rep.Warnings = append(rep.Warnings, "the destination lacks UIDPLUS: Ferry still copies exactly, and finds where each copy went by its headers after each folder's copy (one more read of the copied messages' headers)")
	}
	if r := rep.Dest.Rights; r != "" && !strings.ContainsAny(r, "i") {
		rep.Warnings = append(rep.Warnings, "the destination login may not insert messages into INBOX (rights "+r+")")
	}
	if lim := rep.Dest.AppendLimit; lim > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the destination accepts messages up to %s; larger ones will be reported, not copied", HumanBytes(lim)))
	}
	return rep, nil
}

// FolderDiff compares one folder on both sides. Every source message is
// paired with a destination message of its own (see pairByKey); what is
// left over on either side is counted.
type FolderDiff struct {
	Folder      string   `json:"folder"`
	Dest        string   `json:"destination_folder"`
	Source      int      `json:"source_messages"`
	Destination int      `json:"destination_messages"`
	Missing     []string `json:"missing,omitempty"` // source messages with no copy of their own on the destination
	MissingN    int      `json:"missing_count"`
	// Altered: source messages whose copy the destination changed (header
	// bytes such as 8-bit text replaced, or the internal date): they are
	// there, so they do not make the folder incomplete.
	AlteredN    int      `json:"altered_count"`
	AlteredList []string `json:"altered,omitempty"`
	// Doubled: destination messages beyond the one copy each source
	// message needs, that look like a copy of one of them.
	DoubledN    int      `json:"doubled_count"`
	DoubledList []string `json:"doubled,omitempty"`
	// Extra: destination messages that look like no source message (new
	// mail delivered to the destination is normal here).
	Extra     int      `json:"extra_count"`
	ExtraList []string `json:"extra,omitempty"`
}

// Comparison is what `ferry verify` reports: the folders and the sums of their counts.
type Comparison struct {
	Folders []FolderDiff `json:"folders"`
	Missing int          `json:"missing"`
	Altered int          `json:"altered"`
	Doubled int          `json:"doubled"`
	Extra   int          `json:"extra"`
}

// Complete is true when every source message has its own copy on the
// destination, altered or not.
func (c *Comparison) Complete() bool { return c.Missing == 0 }

// listedAtMost is how many messages of each kind a folder's report names.
const listedAtMost = 20

// Compare checks folder by folder that every source message has its own
// copy on the destination, with the rule the copy uses to recognise what
// is already there (match key, then date and size with a tolerance, then
// bodies for look-alikes), and says which copies the destination altered,
// which are missing and which are there twice.
func (e *Engine) Compare(ctx context.Context, job Job) (*Comparison, error) {
	var s *session
	err := e.retry(ctx, &Progress{}, func() (bool, error) {
		var err error
		s, err = e.connect(ctx, job, false)
		return false, err
	})
	if err != nil {
		return nil, err
	}
	defer s.logout()
	srcNS, dstNS := Namespace{Delim: s.src.Delim, Prefix: s.src.Prefix}, Namespace{Delim: s.dst.Delim, Prefix: s.dst.Prefix}
	srcFolders, err := listFolders(s.src)
	if err != nil {
		return nil, sideErr("source", err)
	}
	dstFolders, err := listFolders(s.dst)
	if err != nil {
		return nil, sideErr("destination", err)
	}
	kept, err := e.keptMap(ctx, job)
	if err != nil {
		return nil, err
	}
	plans := MapFolders(srcFolders, srcNS, dstFolders, dstNS, e.Opts.Filter, kept)
	var gmail *mailboxRun
	if e.Opts.SourceLabels || s.src.Caps().Has(capGmail) {
		// The copy's own Gmail mapping: each message counts once per
		// label it should have, All Mail only for unlabelled ones.
		gmail = &mailboxRun{e: e, job: job, srcNS: srcNS, dstNS: dstNS}
		if e.Store != nil {
			if gmail.mbox, err = e.Store.Mailbox(ctx, job.Key()); err != nil {
				return nil, fmt.Errorf("state store: %w", err)
			}
		}
		if plans, err = gmail.mapGmailFolders(ctx, s, srcFolders, dstFolders, e.Opts.Filter, kept); err != nil {
			return nil, err
		}
		if _, err := gmail.labelled(ctx, s); err != nil {
			return nil, err
		}
	}
	out := &Comparison{}
	for _, p := range plans {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var keep func([]*message) ([]*message, error)
		if gmail != nil {
			keep = func(ms []*message) ([]*message, error) {
				ms, err := gmail.unlabelled(ctx, s, p, ms)
				if err != nil {
					return nil, err
				}
				return gmail.firstLabelOnly(p, ms), nil
			}
		}
		d, err := compareFolder(s, p, keep)
		if err != nil {
			return nil, err
		}
		out.Missing += d.MissingN
		out.Altered += d.AlteredN
		out.Doubled += d.DoubledN
		out.Extra += d.Extra
		out.Folders = append(out.Folders, d)
	}
	sort.Slice(out.Folders, func(i, j int) bool { return out.Folders[i].Folder < out.Folders[j].Folder })
	return out, nil
}

// compareFolder pairs one folder's messages. Both connections keep their
// folder selected, for the body hashes of look-alikes. keep, when set,
// says which of the source folder's messages belong in the destination
// folder (a Gmail source's label mapping; it must not select a folder).
func compareFolder(s *session, p FolderPlan, keep func([]*message) ([]*message, error)) (FolderDiff, error) {
	d := FolderDiff{Folder: p.Path, Dest: p.Dest}
	src, err := folderIdentities(s.src, p.Source.Name)
	if err != nil {
		return d, sideErr("source", imapconn.Classify("read "+p.Path, err))
	}
	if keep != nil {
		if src, err = keep(src); err != nil {
			return d, err
		}
	}
	var dst []*message
	if p.DestExists {
		if dst, err = folderIdentities(s.dst, p.Dest); err != nil {
			return d, sideErr("destination", imapconn.Classify("read "+p.Dest, err))
		}
	}
	d.Source, d.Destination = len(src), len(dst)
	describe := func(m *message) string {
		return fmt.Sprintf("UID %d %q (%s)", m.uid, m.subject, HumanBytes(m.size))
	}
	srcBy, dstBy := groupByFP(src), groupByFP(dst)
	paired := map[*message]bool{}
	for _, m := range src { // in UID order, for a stable report
		ss := srcBy[m.fp]
		if ss == nil {
			continue
		}
		delete(srcBy, m.fp)
		pairs, err := pairByKey(ss, dstBy[m.fp], func(srcs, dsts []*message) (map[uint32][32]byte, map[uint32][32]byte, error) {
			return bothBodyHashes(s, srcs, dsts)
		})
		if err != nil {
			return d, err
		}
		for _, pr := range pairs {
			paired[pr[0]], paired[pr[1]] = true, true
			if what := alteration(pr[0], pr[1]); what != "" {
				d.AlteredN++
				if len(d.AlteredList) < listedAtMost {
					d.AlteredList = append(d.AlteredList, describe(pr[0])+": "+what)
				}
			}
		}
		for _, sm := range ss {
			if !paired[sm] {
				d.MissingN++
				if len(d.Missing) < listedAtMost {
					d.Missing = append(d.Missing, describe(sm))
				}
			}
		}
	}
	keys := groupByFP(src)
	for _, m := range dst {
		if paired[m] {
			continue
		}
		if keys[m.fp] != nil {
			d.DoubledN++
			if len(d.DoubledList) < listedAtMost {
				d.DoubledList = append(d.DoubledList, describe(m))
			}
			continue
		}
		d.Extra++
		if len(d.ExtraList) < listedAtMost {
			d.ExtraList = append(d.ExtraList, describe(m))
		}
	}
	return d, nil
}

// alteration says how the destination changed a copy, "" when it did not
// (line ends and size aside: servers convert bare LF to CRLF).
func alteration(s, d *message) string {
	var what []string
	if s.raw != d.raw {
		what = append(what, "headers changed by the destination")
	}
	if !s.date.Equal(d.date) {
		what = append(what, fmt.Sprintf("internal date changed by the destination from %s to %s", s.date.UTC().Format(time.DateTime), d.date.UTC().Format(time.DateTime)))
	}
	if len(what) == 0 {
		return ""
	}
	return "altered by the destination (" + strings.Join(what, "; ") + ")"
}

// folderIdentities reads the identity of every message of a folder, in UID order.
func folderIdentities(c *imapconn.Conn, name string) ([]*message, error) {
	var out []*message
	var sel *imap.SelectData
	err := c.Do(func() (err error) {
		sel, err = c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	})
	if err != nil || sel.NumMessages == 0 {
		return nil, err
	}
	err = fetchAll(c, allUIDs(), identityFetch, func(m *imapclient.FetchMessageBuffer) error {
		msg := identity(m)
		msg.raw = rawHeaderHash(m.FindBodySection(headerSection))
		out = append(out, msg)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out, err
}

func groupByFP(ms []*message) map[fingerprint][]*message {
	out := map[fingerprint][]*message{}
	for _, m := range ms {
		out[m.fp] = append(out[m.fp], m)
	}
	return out
}
