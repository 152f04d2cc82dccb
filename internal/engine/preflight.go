package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/imapconn"
)

// Survey is what a pre-flight learns about one mailbox pair without
// copying anything: both sides' sign-in, each source folder's size and
// where the folder map would put it, the destination's quota and the
// messages larger than the destination accepts. internal/preflight turns
// it into findings.
type Survey struct {
	// SourceErr and DestErr say why a side could not be signed in to (the
	// mailbox does not exist, the administrator may not act for it, the
	// password is wrong); the rest of the survey is empty then.
	SourceErr, DestErr *imapconn.Error
	Folders            []FolderSurvey
	// Messages and Bytes add up the source folders that would be copied.
	Messages, Bytes int64
	// Quota is the destination's storage quota for INBOX's root, nil when
	// the server offers none (no QUOTA capability, or no STORAGE limit).
	Quota *Quota
	// DestMaxMessage is the message size limit the survey used: the given
	// limit, or the destination's APPENDLIMIT when smaller; 0 for none.
	DestMaxMessage int64
	// Oversized are the source messages larger than DestMaxMessage.
	Oversized []OversizedMessage
	// SizeFrom says how folder sizes were read: "STATUS SIZE" or "RFC822.SIZE".
	SizeFrom string
	// Unreadable are the source folders the server refused to count or
	// open (for good: a temporary failure fails the survey); the others
	// are surveyed.
	Unreadable []UnreadableFolder
}

// UnreadableFolder is a source folder the survey could not read.
type UnreadableFolder struct {
	Path string
	Err  *imapconn.Error
}

// FolderSurvey is one source folder and its destination.
type FolderSurvey struct {
	Path     string // display path at the source
	Dest     string // the destination folder the folder map gives it
	DestPath string // Dest as a display path (levels joined by '/')
	Depth    int    // levels of DestPath
	// LongestName is the longest level of DestPath, in characters.
	LongestName int
	Renamed     string // why Dest is not the folder's own name; "" when it is
	Messages    int64
	Bytes       int64
}

// Quota is a STORAGE quota (RFC 9208), in bytes.
type Quota struct {
	Root         string
	Usage, Limit int64
}

// OversizedMessage is a source message over the destination's limit.
type OversizedMessage struct {
	Folder  string // display path
	UID     uint32
	Subject string
	Size    int64
}

// SurveyMailbox signs in on both sides and surveys the mailbox pair.
// maxMessage is the destination's message size limit (0: only its
// APPENDLIMIT, if any). It reads sizes, never bodies: STATUS (SIZE when the
// server has it, else each message's RFC822.SIZE) and, for messages over
// the limit, UID SEARCH LARGER then their ENVELOPE. The error is for a
// failure after sign-in (a folder that cannot be read, a dropped
// connection); a refused sign-in is the survey's SourceErr or DestErr.
func (e *Engine) SurveyMailbox(ctx context.Context, job Job, maxMessage int64) (*Survey, error) {
	var src, dst *imapconn.Conn
	var srcErr, dstErr error
	var wg sync.WaitGroup
	wg.Go(func() { src, srcErr = imapconn.Dial(ctx, job.Source, e.Opts.Conn) })
	wg.Go(func() { dst, dstErr = imapconn.Dial(ctx, job.Dest, e.Opts.Conn) })
	wg.Wait()
	sv := &Survey{}
	if src != nil {
		defer src.Logout()
	}
	if dst != nil {
		defer dst.Logout()
	}
	if srcErr != nil {
		sv.SourceErr = sideErr("source", srcErr).(*imapconn.Error)
	}
	if dstErr != nil {
		sv.DestErr = sideErr("destination", dstErr).(*imapconn.Error)
	}
	if srcErr != nil || dstErr != nil {
		return sv, nil
	}
	srcFolders, err := listFolders(src)
	if err != nil {
		return sv, sideErr("source", err)
	}
	dstFolders, err := listFolders(dst)
	if err != nil {
		return sv, sideErr("destination", err)
	}
	srcNS, dstNS := Namespace{Delim: src.Delim, Prefix: src.Prefix}, Namespace{Delim: dst.Delim, Prefix: dst.Prefix}
	plans := MapFolders(srcFolders, srcNS, dstFolders, dstNS, e.Opts.Filter, nil)

	sv.DestMaxMessage = maxMessage
	if dst.AppendLimit > 0 && (sv.DestMaxMessage == 0 || dst.AppendLimit < sv.DestMaxMessage) {
		sv.DestMaxMessage = dst.AppendLimit
	}
	if sv.Quota, err = quotaOf(dst); err != nil {
		return sv, sideErr("destination", err)
	}
	statusSize := src.Caps().Has(imap.CapStatusSize) || src.Caps().Has(imap.CapIMAP4rev2)
	sv.SizeFrom = "RFC822.SIZE"
	if statusSize {
		sv.SizeFrom = "STATUS SIZE"
	}
	for _, p := range plans {
		destPath := dstNS.DisplayPath(p.Dest)
		levels := strings.Split(destPath, "/")
		f := FolderSurvey{Path: p.Path, Dest: p.Dest, DestPath: destPath, Depth: len(levels), Renamed: p.Renamed}
		for _, l := range levels {
			f.LongestName = max(f.LongestName, utf8.RuneCountInString(l))
		}
		if err := surveyFolder(src, p.Source.Name, statusSize, sv.DestMaxMessage, &f, &sv.Oversized); err != nil {
			var ie *imapconn.Error
			if errors.As(err, &ie) && !ie.Temporary && src.State() != imap.ConnStateLogout {
				sv.Unreadable = append(sv.Unreadable, UnreadableFolder{Path: p.Path, Err: ie})
				continue
			}
			return sv, sideErr("source", err)
		}
		sv.Messages += f.Messages
		sv.Bytes += f.Bytes
		sv.Folders = append(sv.Folders, f)
	}
	return sv, nil
}

// quotaOf reads the STORAGE quota of the destination's INBOX (RFC 9208
// counts it in units of 1024 octets).
func quotaOf(c *imapconn.Conn) (*Quota, error) {
	if !c.Caps().Has(imap.CapQuota) {
		return nil, nil
	}
	var roots []imapclient.QuotaData
	err := c.Do(func() (err error) {
		roots, err = c.GetQuotaRoot("INBOX").Wait()
		return err
	})
	if err != nil {
		return nil, imapconn.Classify("read the quota (GETQUOTAROOT INBOX)", err)
	}
	for _, r := range roots {
		if st, ok := r.Resources[imap.QuotaResourceStorage]; ok && st.Limit > 0 {
			return &Quota{Root: r.Root, Usage: st.Usage * 1024, Limit: st.Limit * 1024}, nil
		}
	}
	return nil, nil
}

// surveyFolder counts one source folder and names its messages over
// limit, reading sizes and envelopes only.
func surveyFolder(c *imapconn.Conn, name string, statusSize bool, limit int64, f *FolderSurvey, over *[]OversizedMessage) error {
	return c.Do(func() error {
		st, err := c.Status(name, &imap.StatusOptions{NumMessages: true, Size: statusSize}).Wait()
		if err != nil {
			return imapconn.Classify("STATUS "+f.Path, err)
		}
		if st.NumMessages != nil {
			f.Messages = int64(*st.NumMessages)
		}
		if st.Size != nil {
			f.Bytes = *st.Size
		}
		if f.Messages == 0 || (st.Size != nil && limit == 0) {
			return nil
		}
		if _, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			return imapconn.Classify("EXAMINE "+f.Path, err)
		}
		if st.Size == nil {
			// No STATUS=SIZE: each message's size, nothing else.
			msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{RFC822Size: true}).Collect()
			if err != nil {
				return imapconn.Classify("FETCH RFC822.SIZE in "+f.Path, err)
			}
			for _, m := range msgs {
				f.Bytes += m.RFC822Size
			}
		}
		if limit == 0 {
			return nil
		}
		found, err := c.UIDSearch(&imap.SearchCriteria{Larger: limit}, nil).Wait()
		if err != nil {
			return imapconn.Classify("SEARCH LARGER in "+f.Path, err)
		}
		uids := found.AllUIDs()
		if len(uids) == 0 {
			return nil
		}
		msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, Envelope: true, RFC822Size: true}).Collect()
		if err != nil {
			return imapconn.Classify("FETCH ENVELOPE in "+f.Path, err)
		}
		for _, m := range msgs {
			if m.RFC822Size <= limit {
				continue
			}
			o := OversizedMessage{Folder: f.Path, UID: uint32(m.UID), Size: m.RFC822Size}
			if m.Envelope != nil {
				o.Subject = m.Envelope.Subject
			}
			*over = append(*over, o)
		}
		return nil
	})
}

// String names the message as reports do.
func (o OversizedMessage) String() string {
	return fmt.Sprintf("%s UID %d %q (%d bytes)", o.Folder, o.UID, o.Subject, o.Size)
}
