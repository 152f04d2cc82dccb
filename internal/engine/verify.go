package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/imapconn"
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
	Source   SideReport `json:"source"`
	Dest     SideReport `json:"destination"`
	Warnings []string   `json:"warnings,omitempty"`
}

// Check logs in on both sides, reads capabilities and rights, and counts
// folders, messages and bytes at the source. It moves nothing.
func (e *Engine) Check(ctx context.Context, job Job) (*CheckReport, error) {
	var s *session
	err := e.retry(ctx, &Progress{}, func() (bool, error) {
		var err error
		s, err = e.connect(ctx, job)
		return false, err
	})
	if err != nil {
		return nil, err
	}
	defer s.logout()
	rep := &CheckReport{}
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
	if !s.dst.Caps().Has(imap.CapUIDPlus) && !s.dst.Caps().Has(imap.CapIMAP4rev2) {
		rep.Warnings = append(rep.Warnings, "the destination lacks UIDPLUS: Ferry still copies exactly, but re-runs compare more headers")
	}
	if r := rep.Dest.Rights; r != "" && !strings.ContainsAny(r, "i") {
		rep.Warnings = append(rep.Warnings, "the destination login may not insert messages into INBOX (rights "+r+")")
	}
	if lim := rep.Dest.AppendLimit; lim > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the destination accepts messages up to %s; larger ones will be reported, not copied", HumanBytes(lim)))
	}
	return rep, nil
}

// FolderDiff compares one folder on both sides.
type FolderDiff struct {
	Folder      string   `json:"folder"`
	Dest        string   `json:"destination_folder"`
	Source      int      `json:"source_messages"`
	Destination int      `json:"destination_messages"`
	Missing     []string `json:"missing,omitempty"` // subjects (or UIDs) of source messages absent from the destination
	MissingN    int      `json:"missing_count"`
	Extra       int      `json:"extra_count"` // destination messages with no source counterpart (new mail is normal here)
	ExtraList   []string `json:"extra,omitempty"`
}

// Comparison is what `ferry verify` reports.
type Comparison struct {
	Folders []FolderDiff `json:"folders"`
	Missing int          `json:"missing"`
	Extra   int          `json:"extra"`
	Doubled int          `json:"doubled"`
	Altered int          `json:"altered"`
}

// Complete is true when the destination holds every source message.
func (c *Comparison) Complete() bool { return c.Missing == 0 }

// Compare checks folder by folder that every source message is in the
// destination: same size, internal date and identifying headers; when
// several source messages look alike, their bodies are compared too.
func (e *Engine) Compare(ctx context.Context, job Job) (*Comparison, error) {
	var s *session
	err := e.retry(ctx, &Progress{}, func() (bool, error) {
		var err error
		s, err = e.connect(ctx, job)
		return false, err
	})
	if err != nil {
		return nil, err
	}
	defer s.logout()
	run := &mailboxRun{e: e, job: job, prog: &Progress{},
		srcNS: Namespace{Delim: s.src.Delim, Prefix: s.src.Prefix}, dstNS: Namespace{Delim: s.dst.Delim, Prefix: s.dst.Prefix}}
	srcFolders, err := listFolders(s.src)
	if err != nil {
		return nil, sideErr("source", err)
	}
	dstFolders, err := listFolders(s.dst)
	if err != nil {
		return nil, sideErr("destination", err)
	}
	out := &Comparison{}
	for _, p := range MapFolders(srcFolders, run.srcNS, dstFolders, run.dstNS, e.Opts.Filter) {
		d := FolderDiff{Folder: p.Path, Dest: p.Dest}
		src, err := folderIdentities(s.src, p.Source.Name)
		if err != nil {
			return nil, sideErr("source", imapconn.Classify("read "+p.Path, err))
		}
		var dst []*message
		if p.DestExists {
			if dst, err = folderIdentities(s.dst, p.Dest); err != nil {
				return nil, sideErr("destination", imapconn.Classify("read "+p.Dest, err))
			}
		}
		d.Source, d.Destination = len(src), len(dst)
		srcBy, dstBy := groupByFP(src), groupByFP(dst)
		for fp, ss := range srcBy {
			ds := dstBy[fp]
			missing := ss
			if len(ss) > 1 && len(ds) > 0 {
				missing, err = run.missingByBody(s, p, ss, ds)
				if err != nil {
					return nil, err
				}
			} else if len(ds) >= len(ss) {
				missing = nil
			} else {
				missing = ss[len(ds):]
			}
			for _, m := range missing {
				d.MissingN++
				if len(d.Missing) < 20 {
					d.Missing = append(d.Missing, fmt.Sprintf("UID %d %q (%s)", m.uid, m.subject, HumanBytes(m.size)))
				}
			}
		}
		// Extra: destination messages beyond what the source accounts for.
		for fp, ds := range dstBy {
			matched := len(srcBy[fp])
			for _, m := range ds[min(matched, len(ds)):] {
				d.Extra++
				if len(d.ExtraList) < 20 {
					d.ExtraList = append(d.ExtraList, fmt.Sprintf("UID %d %q (%s)", m.uid, m.subject, HumanBytes(m.size)))
				}
			}
		}
		out.Missing += d.MissingN
		out.Extra += d.Extra
		out.Folders = append(out.Folders, d)
	}
	sort.Slice(out.Folders, func(i, j int) bool { return out.Folders[i].Folder < out.Folders[j].Folder })
	return out, nil
}

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
		out = append(out, identity(m))
		return nil
	})
	return out, err
}

func groupByFP(ms []*message) map[fingerprint][]*message {
	out := map[fingerprint][]*message{}
	for _, m := range ms {
		out[m.fp] = append(out[m.fp], m)
	}
	return out
}

// missingByBody compares bodies of look-alike messages (both folders are selected).
func (r *mailboxRun) missingByBody(s *session, p FolderPlan, ss, ds []*message) ([]*message, error) {
	hashes := func(c *imapconn.Conn, folder string, ms []*message) (map[uint32][32]byte, error) {
		uids := make([]uint32, len(ms))
		for i, m := range ms {
			uids[i] = m.uid
		}
		err := c.Do(func() error {
			_, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
			return err
		})
		if err != nil {
			return nil, err
		}
		return bodyHashes(c, uids)
	}
	sh, err := hashes(s.src, p.Source.Name, ss)
	if err != nil {
		return nil, sideErr("source", imapconn.Classify("compare "+p.Path, err))
	}
	dh, err := hashes(s.dst, p.Dest, ds)
	if err != nil {
		return nil, sideErr("destination", imapconn.Classify("compare "+p.Dest, err))
	}
	pool := map[[32]byte]int{}
	for _, h := range dh {
		pool[h]++
	}
	var missing []*message
	for _, m := range ss {
		if pool[sh[m.uid]] > 0 {
			pool[sh[m.uid]]--
		} else {
			missing = append(missing, m)
		}
	}
	return missing, nil
}
