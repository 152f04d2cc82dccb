package engine

import (
	"bytes"
	"context"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store"
)

// A folder copied for the first time into an empty destination folder
// sends every message it holds: nothing needs matching or choosing, so the
// identity FETCH that comes before the bodies elsewhere would only tell the
// copy what the body FETCH can tell it too. Such a folder (of one window)
// is read with one FETCH of each message's flags, date, size, identifying
// headers and body, and each APPEND starts as its body arrives: one round
// trip and one read of every message fewer at the source, which for a
// small folder is about a third of its time. Every filter of the pass
// applies as before: what this shortcut does not know how to decide (a
// date range, a byte budget, Gmail's labels, another pass than Full, a
// folder where a FETCH broke in this run) goes the usual way, and so does
// every attempt after the first.

// freshFetch reads a message's identity (as identityFetch) and its body.
var freshFetch = &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true,
	BodySection: []*imap.FetchItemBodySection{headerSection, {Peek: true}}}

// freshWindow says whether the window is copied by copyFresh, and notes
// that the folder had its one try.
func (r *mailboxRun) freshWindow(s *session, plan FolderPlan, windows []uidWindow, copies map[uint32]store.Copy, sel, dsel *imap.SelectData) bool {
	opts := r.e.Opts
	// As large as one body FETCH of the usual way at most (chunkBytes),
	// or, where the source did not say its size, small.
	size, sized := r.sizes[plan.Source.Name]
	if sized && size > chunkBytes || !sized && sel.NumMessages > appendWindow {
		return false
	}
	if len(windows) != 1 || len(copies) != 0 || dsel.NumMessages != 0 || opts.Pass != PassFull ||
		!opts.DateFrom.IsZero() || !opts.DateTo.IsZero() || r.budget != nil ||
		opts.SourceLabels || opts.DestLabels || r.gmail != nil || r.gmailDest(s) || r.fetchByList(plan.Source.Name) {
		return false
	}
	r.refusalsMu.Lock()
	defer r.refusalsMu.Unlock()
	if r.freshTried == nil {
		r.freshTried = map[string]bool{}
	}
	if r.freshTried[plan.Source.Name] {
		return false
	}
	r.freshTried[plan.Source.Name] = true
	return true
}

// copyFresh sends every message of the window into cp as the one FETCH
// delivers it, and returns how many messages and bytes it handed over.
// Messages over the size limit are reported, not sent, and messages set
// aside are left out, as sendable does.
func (r *mailboxRun) copyFresh(ctx context.Context, s *session, plan FolderPlan, w uidWindow, cp *copier, base, baseBytes int64) (sent, sentBytes int64, err error) {
	folder := plan.Source.Name
	var tooBig []store.Failure
	var delivered uint32 // the last UID whose message was read whole
	send := func(m *message, hdr []byte, lit imap.LiteralReader) error {
		if m.uid == 0 || !w.has(m.uid) || r.setAside(folder, m.uid) {
			return nil
		}
		if m.size == 0 {
			m.size = lit.Size()
		}
		m.fp, m.subject = makeFingerprint(hdr), subjectOf(hdr)
		if r.limit > 0 && m.size > r.limit {
			tooBig = append(tooBig, tooBigFailure(r, folder, m))
			return nil
		}
		sent++
		sentBytes += m.size
		r.folderCounter(&r.prog.ToCopy, "tocopy", folder, base+sent)
		r.folderCounter(&r.prog.ToCopyBytes, "tocopybytes", folder, baseBytes+sentBytes)
		return appendOne(s, plan, m, appendFlags(m.flags, cp.allowKeywords, cp.allowed), lit, *cp.buf, cp.b, cp.results)
	}
	s.srcBodyBroke.Store(false)
	err = s.src.Do(func() error {
		cmd := s.src.Fetch(w.set(), freshFetch)
		for {
			fm := cmd.Next()
			if fm == nil {
				break
			}
			if ctx.Err() != nil {
				// Not read to its end (it may be large): the connection
				// goes, between two messages, as the run stops.
				stopFetch(s, cmd, fm)
				return context.Cause(ctx)
			}
			uid, err := readFresh(s, fm, send)
			if err != nil {
				abandonFetch(s, cmd)
				return err
			}
			delivered = max(delivered, uid)
		}
		return cmd.Close()
	})
	if berr := cp.b.end(); berr != nil && err == nil {
		err = sideErr("destination", imapconn.Classify("append to "+plan.Dest, berr))
	}
	if err != nil {
		if _, side := err.(*imapconn.Error); !side {
			if s.src.State() == imap.ConnStateLogout {
				// Where it broke, for the careful attempts that follow
				// (unreadable.go): from the last message delivered.
				err = &brokeAt{uid: max(delivered, w.lo), err: err}
			}
			err = sideErr("source", imapconn.Classify("read messages of "+plan.Path, err))
		}
		return sent, sentBytes, err
	}
	return sent, sentBytes, r.fail(ctx, tooBig)
}

// readFresh reads one message of freshFetch and hands it to send with its
// identifying headers and its body, as the body arrives. A body the
// server sends before the message's UID or identity is read whole first.
func readFresh(s *session, fm *imapclient.FetchMessageData, send func(m *message, hdr []byte, lit imap.LiteralReader) error) (uint32, error) {
	m := &message{}
	var hdr, early []byte
	var gotHdr, gotFlags, gotDate, gotEarly, done bool
	for {
		item := fm.Next()
		if item == nil {
			break
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			m.uid = uint32(it.UID)
		case imapclient.FetchItemDataFlags:
			m.flags, gotFlags = flagString(it.Flags), true
		case imapclient.FetchItemDataInternalDate:
			m.date, gotDate = it.Time, true
		case imapclient.FetchItemDataRFC822Size:
			m.size = it.Size
		case imapclient.FetchItemDataBodySection:
			var body io.Reader
			if it.Literal != nil {
				body = &sourceBody{LiteralReader: it.Literal, broke: &s.srcBodyBroke}
			}
			if it.Section != nil && it.Section.Specifier == imap.PartSpecifierHeader {
				gotHdr = true
				if body != nil {
					b, err := io.ReadAll(body)
					if err != nil {
						return 0, err
					}
					hdr = b
				}
				continue
			}
			if body == nil || done {
				continue
			}
			if m.uid == 0 || !gotHdr || !gotFlags || !gotDate {
				b, err := io.ReadAll(body)
				if err != nil {
					return 0, err
				}
				early, gotEarly = b, true
				continue
			}
			done = true
			if err := send(m, hdr, &sourceBody{LiteralReader: it.Literal, broke: &s.srcBodyBroke}); err != nil {
				return 0, err
			}
		}
	}
	if gotEarly && !done {
		if !gotHdr {
			// The identifying headers are the body's own.
			hdr = early
			if i := bytes.Index(early, []byte("\r\n\r\n")); i >= 0 {
				hdr = early[:i+4]
			} else if i := bytes.Index(early, []byte("\n\n")); i >= 0 {
				hdr = early[:i+2]
			}
		}
		if err := send(m, hdr, &bytesLiteral{Reader: bytes.NewReader(early), n: int64(len(early))}); err != nil {
			return 0, err
		}
	}
	return m.uid, nil
}
