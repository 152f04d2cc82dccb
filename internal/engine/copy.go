package engine

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store"
)

// message is what the engine keeps of a source message while it works on a folder.
type message struct {
	uid     uint32
	size    int64
	date    time.Time
	flags   string
	fp      fingerprint // match key: what survives of the identifying headers
	raw     [16]byte    // the identifying headers byte for byte, to tell a copy a server altered (verify only)
	subject string
}

const (
	// A body FETCH covers up to a window's messages: each one costs the
	// source a round trip before its first byte.
	chunkMessages = 2000
	chunkBytes    = 256 << 20
	appendWindow  = 64
	// A MULTIAPPEND carries at most batchMessages messages or batchBytes
	// (a single larger message goes alone). Dovecot stores a MULTIAPPEND in
	// one transaction: one index and uidlist update instead of one per message.
	batchMessages   = 100
	batchBytes      = 8 << 20
	checkpointEvery = 200
	checkpointAge   = 2 * time.Second
	uidSetChunk     = 2000
)

// syncFolder brings one folder up to date for the pass. It is idempotent:
// after any failure, running it again on new connections continues from the
// last checkpoint without copying anything twice.
//
// A large folder is worked a window of source UIDs at a time (about
// windowMessages messages each): its copies are read from the store, flags
// and identities fetched, the pass decided and the messages copied, then the
// next window. What the engine holds does not grow with the folder.
func (r *mailboxRun) syncFolder(ctx context.Context, s *session, plan FolderPlan) error {
	opts := r.e.Opts
	if r.isAllMail(plan) || (r.gmail != nil && r.e.Opts.Labels.FirstLabelOnly) {
		if _, err := r.labelled(ctx, s); err != nil {
			return err
		}
	}
	// Both sides open the folder at once. (The identity FETCH is not sent
	// behind the SELECT to save a round trip: read in a goroutine of its
	// own while go-imap's reader went on, it raced that reader under the
	// race detector.)
	var sel, dsel *imap.SelectData
	var srcErr error
	var opened sync.WaitGroup
	opened.Go(func() {
		srcErr = s.src.Do(func() (err error) {
			sel, err = s.src.Select(plan.Source.Name, &imap.SelectOptions{ReadOnly: true}).Wait()
			return err
		})
	})
	dstErr := s.dst.Do(func() (err error) {
		dsel, err = s.dst.Select(plan.Dest, nil).Wait()
		return err
	})
	opened.Wait()
	if srcErr != nil {
		return sideErr("source", imapconn.Classify("open folder "+plan.Path, srcErr))
	}
	if dstErr != nil {
		return sideErr("destination", imapconn.Classify("open folder "+plan.Dest, dstErr))
	}
	if err := s.appender(); err != nil {
		return err
	}
	if err := r.reportUnreadable(ctx, s, plan); err != nil {
		return err
	}

	st, err := r.e.Store.Folder(ctx, r.mbox, plan.Source.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if st.Appending {
		// A run died mid-copy: wait until APPENDs it had sent are stored, or
		// they would land after the matching below and be copied twice.
		if dsel, err = r.settle(ctx, s, plan); err != nil {
			return err
		}
	}
	// unsaved: the folder is new to the state and its destination is
	// empty, so nothing is recorded of it and nothing needs matching: its
	// state is first written when the copy starts (Appending) or when the
	// folder ends, one write where there were two.
	unsaved := false
	if errors.Is(err, store.ErrNotFound) || st.SourceValidity != sel.UIDValidity || st.DestValidity != dsel.UIDValidity || st.Dest != plan.Dest {
		// A new generation of UIDs on either side: what we knew is void, and
		// the destination is matched by content from its first message.
		st = store.FolderState{Source: plan.Source.Name, SourceValidity: sel.UIDValidity, Dest: plan.Dest, DestValidity: dsel.UIDValidity}
		if errors.Is(err, store.ErrNotFound) && dsel.NumMessages == 0 {
			unsaved = true
		} else if err := r.e.Store.SaveFolder(ctx, r.mbox, st); err != nil {
			return err
		}
	}
	saveUnsaved := func() error {
		if !unsaved {
			return nil
		}
		unsaved = false
		return r.e.Store.SaveFolder(ctx, r.mbox, st)
	}
	if sel.NumMessages == 0 {
		return saveUnsaved()
	}
	windows, err := uidWindows(s.src, sel.NumMessages)
	if err != nil {
		return sideErr("source", imapconn.Classify("read message list of "+plan.Path, err))
	}

	// 1. Messages that reached the destination but were never checkpointed
	// (a crash, a dropped connection, lost state), and copies whose UID the
	// destination did not tell (no UIDPLUS), are found by content. A
	// destination that sends no UIDNEXT (Courier) is looked at every time:
	// one FETCH tells whether anything is above the mark.
	if dsel.NumMessages > 0 && (dsel.UIDNext == 0 || uint32(dsel.UIDNext) > st.DestScannedUID) {
		if err := r.matchAndMark(ctx, s, plan, &st, windows, uint32(dsel.UIDNext)); err != nil {
			return err
		}
	}

	var failed map[uint32]bool
	if opts.Pass == PassRetry && !r.wholeFolder[plan.Source.Name] {
		if failed, err = r.failedIn(ctx, plan.Source.Name); err != nil {
			return err
		}
	}
	permFlags := dsel.PermanentFlags
	var cp *copier
	defer func() {
		if cp != nil {
			cp.finish()
		}
	}()
	startCopy := func() error {
		if cp != nil {
			return nil
		}
		st.Appending = true
		if err := r.e.Store.SaveFolder(ctx, r.mbox, st); err != nil {
			return err
		}
		unsaved = false
		cp = r.startCopier(ctx, s, plan, permFlags, s.app != nil && s.app.MultiAppend())
		return nil
	}
	// Counters are set, not added: this folder may be a retry of an attempt
	// that already counted its copies.
	base, baseBytes := r.copiedIn(plan.Source.Name), r.copiedBytesIn(plan.Source.Name)
	var known, toCopy, toCopyBytes int64
	var trial []*message
	for _, w := range windows {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		// 2. The window's recorded copies, and every source UID in it with its flags.
		copies := map[uint32]store.Copy{}
		if err := r.e.Store.CopiesRange(ctx, r.mbox, plan.Source.Name, w.lo, w.hi, func(c store.Copy) error {
			copies[c.SourceUID] = c
			return nil
		}); err != nil {
			return err
		}
		known += int64(len(copies))
		r.folderCounter(&r.prog.Skipped, "skipped", plan.Source.Name, known-base)
		if r.freshWindow(s, plan, windows, copies, sel, dsel) {
			// A first copy into an empty folder: identities and bodies
			// in one FETCH (fresh.go).
			if err := startCopy(); err != nil {
				return err
			}
			sent, sentBytes, err := r.copyFresh(ctx, s, plan, w, cp, base, baseBytes)
			toCopy, toCopyBytes = toCopy+sent, toCopyBytes+sentBytes
			if err != nil {
				return cp.abort(err)
			}
			if cp.failed.Load() {
				return cp.abort(nil)
			}
			continue
		}
		srcFlags := map[uint32]string{}
		var pending []*message
		if len(copies) == 0 && !r.fetchByList(plan.Source.Name) {
			// Nothing of the window is copied yet: one FETCH reads the
			// identities (with flags) of all of it.
			if pending, err = fetchWindowIdentities(s.src, w); err != nil {
				return sideErr("source", imapconn.Classify("read message headers of "+plan.Path, err))
			}
		} else {
			var unmapped []uint32
			err = fetchAll(s.src, w.set(), &imap.FetchOptions{UID: true, Flags: true}, func(m *imapclient.FetchMessageBuffer) error {
				uid := uint32(m.UID)
				if !w.has(uid) {
					return nil
				}
				srcFlags[uid] = flagString(m.Flags)
				if _, ok := copies[uid]; !ok && !r.setAside(plan.Source.Name, uid) {
					unmapped = append(unmapped, uid)
				}
				return nil
			})
			if err != nil {
				return sideErr("source", imapconn.Classify("read message list of "+plan.Path, err))
			}
			slices.Sort(unmapped)
			// 3. Identity of the messages not known to be copied.
			if len(unmapped) > 0 {
				if pending, err = fetchIdentity(s.src, unmapped, r.alone(plan.Source.Name)); err != nil {
					return sideErr("source", imapconn.Classify("read message headers of "+plan.Path, err))
				}
			}
		}

		// What this pass copies of them (of Gmail's All Mail: the unlabelled).
		if pending, err = r.unlabelled(ctx, s, plan, pending); err != nil {
			return err
		}
		pending = r.firstLabelOnly(plan, pending)
		todo := r.choose(plan, pending, failed)
		if opts.Pass != PassTrial {
			// A message copied from another folder already: labelled into
			// Gmail, or copied on the destination from Gmail (reuseCopies).
			if todo, err = r.reuseCopies(ctx, s, plan, todo); err != nil {
				return err
			}
		} else {
			trial = newest(append(trial, todo...), TrialLimit)
			todo = nil
		}
		send, sendBytes, err := r.sendable(ctx, plan, todo)
		if err != nil {
			return err
		}
		toCopy += int64(len(send))
		toCopyBytes += sendBytes
		r.folderCounter(&r.prog.ToCopy, "tocopy", plan.Source.Name, base+toCopy)
		r.folderCounter(&r.prog.ToCopyBytes, "tocopybytes", plan.Source.Name, baseBytes+toCopyBytes)

		// 4. Copy, streaming each message from the source literal into the
		// destination's APPEND. The APPENDs stay in flight while the next
		// window is read.
		if len(send) > 0 {
			if err := startCopy(); err != nil {
				return err
			}
			if err := cp.feed(ctx, send); err != nil {
				return cp.abort(err)
			}
		}
		if cp != nil && cp.failed.Load() {
			return cp.abort(nil)
		}

		// 5. Flags changed at the source since they were copied.
		if opts.Pass == PassFull || opts.Pass == PassRetry {
			if err := r.syncFlags(ctx, s, plan, copies, srcFlags, permFlags); err != nil {
				return err
			}
		}
	}
	if len(trial) > 0 {
		slices.SortFunc(trial, func(a, b *message) int { return cmp.Compare(a.uid, b.uid) })
		trial, err := r.reuseCopies(ctx, s, plan, trial)
		if err != nil {
			return err
		}
		send, sendBytes, err := r.sendable(ctx, plan, trial)
		if err != nil {
			return err
		}
		r.folderCounter(&r.prog.ToCopy, "tocopy", plan.Source.Name, base+int64(len(send)))
		r.folderCounter(&r.prog.ToCopyBytes, "tocopybytes", plan.Source.Name, baseBytes+sendBytes)
		if len(send) > 0 {
			if err := startCopy(); err != nil {
				return err
			}
			if err := cp.feed(ctx, send); err != nil {
				return cp.abort(err)
			}
		}
	}
	if cp == nil {
		return saveUnsaved()
	}
	c := cp
	cp = nil
	single, maxDest, err := c.finish()
	if err != nil {
		return err
	}
	unnamed := c.unnamed
	if len(single) > 0 {
		// A MULTIAPPEND the destination refused stored none of its
		// messages: they go again one by one, so that each refusal is
		// told apart.
		c = r.startCopier(ctx, s, plan, permFlags, false)
		ferr := c.feed(ctx, single)
		_, maxSingle, err := c.finish()
		if err = cmp.Or(ferr, err); err != nil {
			return err
		}
		maxDest = max(maxDest, maxSingle)
		unnamed += c.unnamed
	}
	// Every APPEND of this attempt is answered and recorded: the
	// destination below its highest UID needs no matching next time.
	st.Appending = false
	if maxDest > 0 && maxDest >= st.DestScannedUID {
		st.DestScannedUID = maxDest + 1
	}
	if unnamed > 0 {
		// The destination did not say where the copies went (no
		// UIDPLUS): one pass over what was appended finds them, so that
		// flag changes reach them and the next run need not look again.
		return r.matchAndMark(ctx, s, plan, &st, windows, 0)
	}
	return r.e.Store.SaveFolder(ctx, r.mbox, st)
}

// fetchWindowIdentities reads the identities (with flags) of every message
// of a window with one FETCH, sorted by UID. When the source breaks the
// connection, the error says after which UID (brokeAt).
func fetchWindowIdentities(c *imapconn.Conn, w uidWindow) ([]*message, error) {
	var pending []*message
	last := w.lo
	collect := func(m *imapclient.FetchMessageBuffer) error {
		if w.has(uint32(m.UID)) {
			pending = append(pending, identity(m))
			last = max(last, uint32(m.UID))
		}
		return nil
	}
	err := fetchAll(c, w.set(), identityFetch, collect)
	if err != nil && c.State() == imap.ConnStateLogout {
		err = &brokeAt{uid: last, err: err}
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(pending, func(a, b *message) int { return cmp.Compare(a.uid, b.uid) })
	return pending, nil
}

// matchAndMark records what matchDestination finds and moves the scanned
// mark past every destination UID it looked at (and past uidNext, when the
// destination told it).
func (r *mailboxRun) matchAndMark(ctx context.Context, s *session, plan FolderPlan, st *store.FolderState, windows []uidWindow, uidNext uint32) error {
	matched, highest, err := r.matchDestination(ctx, s, plan, *st, windows)
	if err != nil {
		return err
	}
	if err := r.e.Store.RecordCopies(ctx, r.mbox, plan.Source.Name, matched); err != nil {
		return err
	}
	if highest > 0 {
		st.DestScannedUID = max(st.DestScannedUID, highest+1)
	}
	st.DestScannedUID = max(st.DestScannedUID, uidNext)
	return r.e.Store.SaveFolder(ctx, r.mbox, *st)
}

// windowMessages is about how many messages of a folder are worked on at once.
var windowMessages uint32 = 2000

// uidWindow is a range of source UIDs, [lo, hi].
type uidWindow struct{ lo, hi uint32 }

func (w uidWindow) has(uid uint32) bool { return uid >= w.lo && uid <= w.hi }

func (w uidWindow) set() imap.UIDSet {
	var set imap.UIDSet
	if w.hi == math.MaxUint32 {
		set.AddRange(imap.UID(w.lo), 0) // lo:*
	} else {
		set.AddRange(imap.UID(w.lo), imap.UID(w.hi))
	}
	return set
}

// uidWindows cuts the selected folder into UID ranges of about
// windowMessages messages each: the UIDs of every windowMessages-th message
// are the bounds. The ranges cover every UID, so a message expunged or
// added meanwhile moves a bound but is never left out.
func uidWindows(c *imapconn.Conn, n uint32) ([]uidWindow, error) {
	var bounds []uint32
	if n > windowMessages {
		var seq imap.SeqSet
		for i := windowMessages; i < n; i += windowMessages {
			seq.AddNum(i)
		}
		err := fetchAll(c, seq, &imap.FetchOptions{UID: true}, func(m *imapclient.FetchMessageBuffer) error {
			bounds = append(bounds, uint32(m.UID))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	var out []uidWindow
	lo := uint32(1)
	for _, b := range bounds {
		if b >= lo && b < math.MaxUint32 {
			out = append(out, uidWindow{lo, b})
			lo = b + 1
		}
	}
	return append(out, uidWindow{lo, math.MaxUint32}), nil
}

// sendable drops what this run set aside and reports (without sending)
// messages over the size limit.
func (r *mailboxRun) sendable(ctx context.Context, plan FolderPlan, todo []*message) ([]*message, int64, error) {
	var send []*message
	var sendBytes int64
	var tooBig []store.Failure
	for _, m := range todo {
		if r.setAside(plan.Source.Name, m.uid) {
			continue
		}
		if r.limit > 0 && m.size > r.limit {
			tooBig = append(tooBig, tooBigFailure(r, plan.Source.Name, m))
			continue
		}
		if !r.budget.take(plan.Source.Name, m.uid, m.size) {
			r.prog.BudgetReached.Store(true)
			continue // a smaller message may still fit
		}
		send = append(send, m)
		sendBytes += m.size
	}
	return send, sendBytes, r.fail(ctx, tooBig)
}

// tooBigFailure reports a message over the size limit, not sent.
func tooBigFailure(r *mailboxRun, folder string, m *message) store.Failure {
	return store.Failure{Folder: folder, UID: m.uid, Subject: m.subject, Size: m.size, Pass: string(r.e.Opts.Pass),
		ServerText: fmt.Sprintf("message of %s is larger than the limit of %s", HumanBytes(m.size), HumanBytes(r.limit)),
		Hint:       "not sent: the destination (or --max-message-size) does not accept messages this large; move it by hand, e.g. save its attachments elsewhere"}
}

// newest keeps the n messages with the latest internal dates.
func newest(ms []*message, n int) []*message {
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].date.After(ms[j].date) })
	return ms[:min(len(ms), n)]
}

func allUIDs() imap.UIDSet {
	var set imap.UIDSet
	set.AddRange(1, 0)
	return set
}

// fetchAll runs a FETCH (of UIDs or sequence numbers) and hands each
// message, collected, to fn. Only for small items: bodies go through
// streamBodies.
func fetchAll(c *imapconn.Conn, set imap.NumSet, opts *imap.FetchOptions, fn func(*imapclient.FetchMessageBuffer) error) error {
	return c.Do(func() error { return collectFetch(c, c.Fetch(set, opts), fn) })
}

// collectFetch hands each message of a FETCH already sent on c, collected,
// to fn. When a read of a body (a header section) fails, the connection is
// dropped rather than the FETCH read on (HACKING.md, Races).
func collectFetch(c *imapconn.Conn, cmd *imapclient.FetchCommand, fn func(*imapclient.FetchMessageBuffer) error) error {
	var ferr error
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		buf, broke, err := collectMessage(msg)
		if err != nil {
			if broke {
				c.Close()
			} else {
				cmd.Close()
			}
			return err
		}
		if ferr == nil {
			ferr = fn(buf)
		}
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	return ferr
}

// collectMessage is go-imap's FetchMessageData.Collect without the discard
// it defers: after a failed read of a body that discard reads the body
// again, racing go-imap's reader goroutine, which took the connection back.
// broke says a body read failed: the FETCH must not be read on.
func collectMessage(msg *imapclient.FetchMessageData) (buf *imapclient.FetchMessageBuffer, broke bool, err error) {
	buf = &imapclient.FetchMessageBuffer{SeqNum: msg.SeqNum}
	for {
		item := msg.Next()
		if item == nil {
			return buf, false, nil
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataBodySection:
			var b []byte
			if it.Literal != nil {
				if b, err = io.ReadAll(it.Literal); err != nil {
					return nil, true, err
				}
			}
			buf.BodySection = append(buf.BodySection, imapclient.FetchBodySectionBuffer{Section: it.Section, Bytes: b})
		case imapclient.FetchItemDataBinarySection:
			var b []byte
			if it.Literal != nil {
				if b, err = io.ReadAll(it.Literal); err != nil {
					return nil, true, err
				}
			}
			buf.BinarySection = append(buf.BinarySection, imapclient.FetchBinarySectionBuffer{Section: it.Section, Bytes: b})
		case imapclient.FetchItemDataFlags:
			buf.Flags = it.Flags
		case imapclient.FetchItemDataEnvelope:
			buf.Envelope = it.Envelope
		case imapclient.FetchItemDataInternalDate:
			buf.InternalDate = it.Time
		case imapclient.FetchItemDataRFC822Size:
			buf.RFC822Size = it.Size
		case imapclient.FetchItemDataUID:
			buf.UID = it.UID
		case imapclient.FetchItemDataBodyStructure:
			buf.BodyStructure = it.BodyStructure
		case imapclient.FetchItemDataBinarySectionSize:
			buf.BinarySectionSize = append(buf.BinarySectionSize, it)
		case imapclient.FetchItemDataModSeq:
			buf.ModSeq = it.ModSeq
		default:
			return nil, false, fmt.Errorf("the server answered FETCH with an item Ferry did not ask for (%T)", it)
		}
	}
}

func uidsOf(ms []*message) []uint32 {
	out := make([]uint32, len(ms))
	for i, m := range ms {
		out[i] = m.uid
	}
	return out
}

func uidChunks(uids []uint32, n int) []imap.UIDSet {
	var out []imap.UIDSet
	for i := 0; i < len(uids); i += n {
		var set imap.UIDSet
		for _, u := range uids[i:min(i+n, len(uids))] {
			set.AddNum(imap.UID(u))
		}
		out = append(out, set)
	}
	return out
}

var identityFetch = &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{headerSection}}

func identity(m *imapclient.FetchMessageBuffer) *message {
	hdr := m.FindBodySection(headerSection)
	return &message{uid: uint32(m.UID), size: m.RFC822Size, date: m.InternalDate, flags: flagString(m.Flags),
		fp: makeFingerprint(hdr), subject: subjectOf(hdr)}
}

// fetchIdentity reads the identity of messages (sorted UIDs), up to
// uidSetChunk per FETCH; those alone says are fetched one per FETCH.
func fetchIdentity(c *imapconn.Conn, uids []uint32, alone func(uint32) bool) ([]*message, error) {
	out := make([]*message, 0, len(uids))
	for len(uids) > 0 {
		n := 1
		for !alone(uids[0]) && n < len(uids) && n < uidSetChunk && !alone(uids[n]) {
			n++
		}
		part := uids[:n]
		uids = uids[n:]
		var set imap.UIDSet
		for _, u := range part {
			set.AddNum(imap.UID(u))
		}
		got := map[uint32]bool{}
		err := fetchAll(c, set, identityFetch, func(m *imapclient.FetchMessageBuffer) error {
			out = append(out, identity(m))
			got[uint32(m.UID)] = true
			return nil
		})
		if err != nil {
			return nil, sourceBroke(c, err, part, func(u uint32) bool { return got[u] }, nil)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out, nil
}

// matchDestination pairs source messages that no recorded copy names
// (never copied, or copied without the destination saying its UID) with
// destination messages that Ferry has not accounted for (at or above the
// scanned mark and named by no recorded copy), by match key (see
// pairByKey). It trusts no optional answer: what is at or above the mark
// is read with one UID FETCH, and the highest UID it returns (0 when none)
// is the new mark's base. Only the destination's unaccounted messages and
// their source look-alikes are held.
func (r *mailboxRun) matchDestination(ctx context.Context, s *session, plan FolderPlan, st store.FolderState, windows []uidWindow) ([]store.Copy, uint32, error) {
	var set imap.UIDSet
	set.AddRange(imap.UID(max(st.DestScannedUID, 1)), 0)
	dst := map[uint32]heldMessage{}
	var highest uint32
	err := fetchAll(s.dst, set, &imap.FetchOptions{UID: true, InternalDate: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{headerSection}},
		func(m *imapclient.FetchMessageBuffer) error {
			// "n:*" answers with the last message even when its UID is below n.
			if u := uint32(m.UID); u >= st.DestScannedUID {
				dst[u] = heldMessage{size: m.RFC822Size, unix: m.InternalDate.Unix(), fp: makeFingerprint(m.FindBodySection(headerSection))}
				highest = max(highest, u)
			}
			return nil
		})
	if err != nil {
		return nil, 0, sideErr("destination", imapconn.Classify("read message headers of "+plan.Dest, err))
	}
	if len(dst) > 0 {
		if err := r.e.Store.Copies(ctx, r.mbox, plan.Source.Name, func(c store.Copy) error {
			delete(dst, c.DestUID)
			return nil
		}); err != nil {
			return nil, 0, err
		}
	}
	if len(dst) == 0 {
		return nil, highest, nil
	}
	dstByFP := map[fingerprint][]heldMessage{}
	for _, u := range slices.Sorted(maps.Keys(dst)) {
		h := dst[u]
		h.uid = u
		dstByFP[h.fp] = append(dstByFP[h.fp], h)
	}
	dst = nil

	// The source messages without a known copy whose key is there.
	srcByFP := map[fingerprint][]*message{}
	var fps []fingerprint          // in the order first seen, for a stable outcome
	written := map[uint32]string{} // flags already written with copies whose UID was not told
	for _, w := range windows {
		copied := map[uint32]store.Copy{}
		if err := r.e.Store.CopiesRange(ctx, r.mbox, plan.Source.Name, w.lo, w.hi, func(c store.Copy) error {
			copied[c.SourceUID] = c
			return nil
		}); err != nil {
			return nil, 0, err
		}
		var unmapped []uint32
		err := fetchAll(s.src, w.set(), &imap.FetchOptions{UID: true}, func(m *imapclient.FetchMessageBuffer) error {
			if u := uint32(m.UID); w.has(u) && !r.setAside(plan.Source.Name, u) {
				if c, ok := copied[u]; !ok || c.DestUID == 0 {
					unmapped = append(unmapped, u)
				}
			}
			return nil
		})
		if err != nil {
			return nil, 0, sideErr("source", imapconn.Classify("read message list of "+plan.Path, err))
		}
		if len(unmapped) == 0 {
			continue
		}
		slices.Sort(unmapped)
		pending, err := fetchIdentity(s.src, unmapped, r.alone(plan.Source.Name))
		if err != nil {
			return nil, 0, sideErr("source", imapconn.Classify("read message headers of "+plan.Path, err))
		}
		for _, m := range pending {
			if _, ok := dstByFP[m.fp]; ok {
				if srcByFP[m.fp] == nil {
					fps = append(fps, m.fp)
				}
				srcByFP[m.fp] = append(srcByFP[m.fp], m)
				if c, ok := copied[m.uid]; ok {
					written[m.uid] = c.Flags
				}
			}
		}
	}
	var out []store.Copy
	for _, fp := range fps {
		var dsts []*message
		for _, h := range dstByFP[fp] {
			dsts = append(dsts, &message{uid: h.uid, size: h.size, date: time.Unix(h.unix, 0), fp: h.fp})
		}
		pairs, err := pairByKey(srcByFP[fp], dsts, func(srcs, dsts []*message) (map[uint32][32]byte, map[uint32][32]byte, error) {
			return bothBodyHashes(s, srcs, dsts)
		})
		if err != nil {
			return nil, 0, err
		}
		for _, p := range pairs {
			m := p[0]
			out = append(out, store.Copy{SourceUID: m.uid, DestUID: p[1].uid, Fingerprint: m.fp[:], Flags: written[m.uid], Size: m.size})
		}
	}
	return out, highest, nil
}

// heldMessage is what pairing needs of an unaccounted destination message
// and no more (48 bytes): matching holds one for each of them.
type heldMessage struct {
	uid  uint32
	size int64
	unix int64 // internal date
	fp   fingerprint
}

// bothBodyHashes hashes the bodies of look-alike messages on both sides
// (each connection has its folder selected).
func bothBodyHashes(s *session, srcs, dsts []*message) (map[uint32][32]byte, map[uint32][32]byte, error) {
	sh, err := bodyHashes(s.src, uidsOf(srcs))
	if err != nil {
		return nil, nil, sideErr("source", imapconn.Classify("compare messages", err))
	}
	dh, err := bodyHashes(s.dst, uidsOf(dsts))
	if err != nil {
		return nil, nil, sideErr("destination", imapconn.Classify("compare messages", err))
	}
	return sh, dh, nil
}

// choose applies the pass to the messages not yet in the destination.
// Trial's newest messages are picked by the caller across the folder.
func (r *mailboxRun) choose(plan FolderPlan, pending []*message, failed map[uint32]bool) []*message {
	opts := r.e.Opts
	if !opts.DateFrom.IsZero() || !opts.DateTo.IsZero() {
		pending = slices.DeleteFunc(slices.Clone(pending), func(m *message) bool {
			return (!opts.DateFrom.IsZero() && m.date.Before(opts.DateFrom)) || (!opts.DateTo.IsZero() && !m.date.Before(opts.DateTo))
		})
	}
	switch opts.Pass {
	case PassPrestage:
		cutoff := opts.Now().Add(-opts.OlderThan)
		var out []*message
		for _, m := range pending {
			if m.date.Before(cutoff) {
				out = append(out, m)
			}
		}
		return out
	case PassRetry:
		if failed == nil {
			// The folder failed as a whole before (the destination refused
			// to create it): all of it is retried.
			return pending
		}
		var out []*message
		for _, m := range pending {
			if failed[m.uid] {
				out = append(out, m)
			}
		}
		return out
	}
	return pending
}

// failedIn is the UIDs of a folder's recorded failures (Retry errors).
func (r *mailboxRun) failedIn(ctx context.Context, folder string) (map[uint32]bool, error) {
	fs, err := r.e.Store.Failures(ctx, r.mbox)
	if err != nil {
		return nil, err
	}
	want := map[uint32]bool{}
	for _, f := range fs {
		if f.Folder == folder && f.UID != 0 {
			want[f.UID] = true
		}
	}
	return want, nil
}

// fail records failed messages and stops the mailbox at MaxErrors. No more
// than MaxErrors are recorded in a run: the answers of pipelined APPENDs
// come back together, and those past the limit are dropped, not counted
// (their messages are simply not copied yet).
func (r *mailboxRun) fail(ctx context.Context, fs []store.Failure) error {
	if len(fs) == 0 {
		return nil
	}
	limit := int64(r.e.Opts.MaxErrors)
	var before int64
	for {
		before = r.errors.Load()
		if before >= limit {
			return r.tooManyErrors()
		}
		n := min(int64(len(fs)), limit-before)
		if r.errors.CompareAndSwap(before, before+n) {
			fs = fs[:n]
			break
		}
	}
	if err := r.e.Store.RecordFailures(context.WithoutCancel(ctx), r.mbox, fs); err != nil {
		return err
	}
	for _, f := range fs {
		r.prog.Failed.Add(1)
		r.prog.FailedBytes.Add(f.Size)
		r.e.observer().Failed(failureScope(f.UID), f.Temporary)
	}
	if before+int64(len(fs)) >= limit {
		return r.tooManyErrors()
	}
	return nil
}

func (r *mailboxRun) tooManyErrors() error {
	return fmt.Errorf("%w: the mailbox stopped at %d failed messages (--max-errors); messages not tried yet are left for the next pass: fix the cause shown for each failure and run the pass again",
		errTooManyErrors, r.e.Opts.MaxErrors)
}

// inflight is one APPEND command on its way: one message, or several in a
// MULTIAPPEND. wait returns the destination UIDs in the order of msgs, or
// nil when the server did not say.
type inflight struct {
	wait func() ([]uint32, error)
	msgs []*message
}

// copier streams messages in chunks: one UID FETCH per chunk on the
// source, pipelined APPENDs (in MULTIAPPEND batches when multi is set) on
// the destination, and a goroutine that waits for the answers and
// checkpoints them in batches. Nothing is buffered whole except a rare
// message whose UID the server sends after its body. feed may be called
// several times (one per window); finish waits for every answer.
type copier struct {
	r             *mailboxRun
	s             *session
	plan          FolderPlan
	allowKeywords bool
	allowed       map[string]bool
	multi         bool
	buf           *[]byte // from copyBufs until finish
	b             *batcher
	results       chan inflight
	wg            sync.WaitGroup
	// set by the goroutine, read after wg.Wait
	waitErr error
	single  []*message // messages of refused MULTIAPPENDs
	maxDest uint32     // highest destination UID recorded
	unnamed int        // copies recorded without a destination UID (no UIDPLUS)
	failed  atomic.Bool
	closed  bool
	lost    keywordLoss // keywords left out of the messages stored
}

// copyBufs are the copiers' buffers for a message's way from the source's
// literal into an APPEND of its own: a copier takes one for its folder and
// gives it back when it finishes, so that a run of many small folders does
// not allocate (and clear, and collect) 64 KiB for each of them.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func (r *mailboxRun) startCopier(ctx context.Context, s *session, plan FolderPlan, permFlags []imap.Flag, multi bool) *copier {
	c := &copier{r: r, s: s, plan: plan, multi: multi, buf: copyBufs.Get().(*[]byte), results: make(chan inflight, appendWindow)}
	c.allowKeywords, c.allowed = flagPolicy(permFlags)
	c.b = &batcher{app: s.app, dest: plan.Dest, multi: multi, results: c.results}
	c.wg.Add(1)
	go c.wait(ctx, c.results)
	return c
}

func (c *copier) wait(ctx context.Context, results <-chan inflight) {
	defer c.wg.Done()
	r, plan := c.r, c.plan
	var batch []store.Copy
	var failures []store.Failure
	last := time.Now()
	flush := func() {
		if len(batch) > 0 {
			if err := r.e.Store.RecordCopies(context.WithoutCancel(ctx), r.mbox, plan.Source.Name, batch); err != nil && c.waitErr == nil {
				c.waitErr = err
			}
			batch = batch[:0]
		}
		if len(failures) > 0 {
			if err := r.fail(ctx, failures); err != nil && c.waitErr == nil {
				c.waitErr = err
			}
			failures = nil
		}
		last = time.Now()
		if c.waitErr != nil {
			c.failed.Store(true)
		}
	}
	for f := range results {
		uids, err := f.wait()
		if err != nil {
			ie := imapconn.Classify("append to "+plan.Dest, err)
			var answer *imap.Error
			isAnswer := errors.As(err, &answer)
			if len(f.msgs) > 1 {
				if isAnswer && !ie.Throttled {
					c.single = append(c.single, f.msgs...)
				} else if c.waitErr == nil {
					c.waitErr = sideErr("destination", ie)
					c.failed.Store(true)
				}
				continue
			}
			msg := f.msgs[0]
			refused := isAnswer && answer.Type == imap.StatusResponseTypeNo && !ie.Throttled
			if ie.Temporary && !(refused && r.strike(plan.Source.Name, msg.uid)) {
				if c.waitErr == nil {
					c.waitErr = sideErr("destination", ie)
					c.failed.Store(true)
				}
				continue
			}
			hint := ie.Hint
			if ie.Temporary {
				hint = fmt.Sprintf("the destination refused this message %d times with a temporary answer; it was set aside so the mailbox could go on: run Retry errors later", maxRefusals)
			}
			if hint == "" {
				hint = "the destination refused this message; check the server's words, fix or remove the message at the source, then run Retry errors"
			}
			failures = append(failures, store.Failure{Folder: plan.Source.Name, UID: msg.uid, Subject: msg.subject, Size: msg.size,
				Pass: string(r.e.Opts.Pass), Temporary: ie.Temporary, ServerText: imapconn.ServerWords(err), Hint: hint})
			continue
		}
		if len(uids) != len(f.msgs) {
			uids = nil // the server did not say (no UIDPLUS)
		}
		for i, m := range f.msgs {
			var dest uint32
			if uids != nil {
				dest = uids[i]
				c.maxDest = max(c.maxDest, dest)
			}
			if dest == 0 {
				c.unnamed++
			}
			batch = append(batch, store.Copy{SourceUID: m.uid, DestUID: dest, Fingerprint: m.fp[:], Flags: m.flags, Size: m.size})
			r.countCopied(plan.Source.Name, m.size)
			c.lost.add(m, m.flags, c.allowKeywords, c.allowed)
		}
		if len(batch) >= checkpointEvery || time.Since(last) > checkpointAge {
			flush()
		}
	}
	flush()
	// After the copies are recorded: recording a copy clears its failures.
	if err := r.reportKeywordLoss(ctx, plan.Source.Name, &c.lost); err != nil && c.waitErr == nil {
		c.waitErr = err
		c.failed.Store(true)
	}
}

// feed sends messages (sorted by UID) on their way.
func (c *copier) feed(ctx context.Context, send []*message) error {
	byUID := make(map[uint32]*message, len(send))
	for _, m := range send {
		byUID[m.uid] = m
	}
	return c.r.streamChunks(ctx, c.s, c.plan, send, byUID, c.allowKeywords, c.allowed, *c.buf, c.b, c.results)
}

// abort ends the copy after err (nil: after a failed answer) and returns
// the first failure: an answer's (which may be the --max-errors stop) or err.
func (c *copier) abort(err error) error {
	_, _, werr := c.finish()
	return cmp.Or(werr, err)
}

// finish waits for every answer and returns the messages of refused
// MULTIAPPENDs and the highest destination UID recorded. Safe to call twice;
// the copier is not fed after it (feed and finish run on one goroutine).
func (c *copier) finish() ([]*message, uint32, error) {
	if !c.closed {
		c.closed = true
		close(c.results)
		c.wg.Wait()
		copyBufs.Put(c.buf)
		c.buf = nil
	}
	return c.single, c.maxDest, c.waitErr
}

func (r *mailboxRun) streamChunks(ctx context.Context, s *session, plan FolderPlan, send []*message, byUID map[uint32]*message,
	allowKeywords bool, allowed map[string]bool, buf []byte, b *batcher, results chan<- inflight) error {
	section := &imap.FetchItemBodySection{Peek: true}
	alone := r.alone(plan.Source.Name)
	for start := 0; start < len(send); {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		var set imap.UIDSet
		var bytesIn int64
		end := start
		for end < len(send) && end-start < chunkMessages && (bytesIn < chunkBytes || end == start) {
			if end > start && (alone(send[end].uid) || alone(send[end-1].uid)) {
				break
			}
			set.AddNum(imap.UID(send[end].uid))
			bytesIn += send[end].size
			end++
		}
		chunk := send[start:end]
		start = end
		delivered := make(map[uint32]bool, len(chunk))
		s.srcBodyBroke.Store(false)
		err := s.src.Do(func() error {
			cmd := s.src.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
			for {
				fm := cmd.Next()
				if fm == nil {
					break
				}
				uid, err := r.sendOne(s, plan, fm, byUID, allowKeywords, allowed, buf, b, results)
				if err != nil {
					abandonFetch(s, cmd)
					return err
				}
				delivered[uid] = true
			}
			return cmd.Close()
		})
		if berr := b.end(); berr != nil && err == nil {
			return sideErr("destination", imapconn.Classify("append to "+plan.Dest, berr))
		}
		if err != nil {
			err = sourceBroke(s.src, err, uidsOf(chunk), func(u uint32) bool { return delivered[u] }, byUID)
			return sideErr("source", imapconn.Classify("read messages of "+plan.Path, err))
		}
	}
	return nil
}

// sourceBody is a message body being read from the source. It notes when a
// read of it fails (the connection broke inside it), so that the FETCH is
// not read on: see streamChunks.
type sourceBody struct {
	imap.LiteralReader
	broke *atomic.Bool
}

func (b *sourceBody) Read(p []byte) (int, error) {
	n, err := b.LiteralReader.Read(p)
	if err != nil && err != io.EOF {
		b.broke.Store(true)
	}
	return n, err
}

// batcher gathers pipelined APPENDs into MULTIAPPEND commands.
type batcher struct {
	app     *imapconn.Appender
	dest    string
	multi   bool
	p       *imapconn.PendingAppend
	msgs    []*message
	bytes   int64
	results chan<- inflight
}

// add streams one message into the open command, or a new one.
func (b *batcher) add(m *message, flags []imap.Flag, lit imap.LiteralReader) error {
	var err error
	if b.p == nil {
		b.p, err = b.app.Begin(b.dest, flags, m.date, lit.Size(), lit)
		if b.p == nil {
			return err
		}
	} else {
		err = b.app.Add(flags, m.date, lit.Size(), lit)
	}
	b.msgs = append(b.msgs, m)
	b.bytes += lit.Size()
	if err != nil {
		b.send() // it may have reached the server: its answer is waited for
		return err
	}
	if !b.multi || len(b.msgs) >= batchMessages || b.bytes >= batchBytes {
		return b.end()
	}
	return nil
}

// end finishes the open command, if any, and sends what is buffered.
func (b *batcher) end() error {
	if b.p == nil {
		return nil
	}
	err := b.app.End()
	if err == nil {
		err = b.app.Flush()
	}
	b.send()
	return err
}

func (b *batcher) send() {
	p := b.p
	b.results <- inflight{wait: func() ([]uint32, error) {
		if _, err := p.Wait(); err != nil {
			return nil, err
		}
		return p.UIDs, nil
	}, msgs: b.msgs}
	b.p, b.msgs, b.bytes = nil, nil, 0
}

// sendOne hands one fetched message to the destination and returns its UID.
func (r *mailboxRun) sendOne(s *session, plan FolderPlan, fm *imapclient.FetchMessageData, byUID map[uint32]*message,
	allowKeywords bool, allowed map[string]bool, buf []byte, b *batcher, results chan<- inflight) (uint32, error) {
	var uid uint32
	var early []byte // body that arrived before its UID
	var lit imap.LiteralReader
	for {
		item := fm.Next()
		if item == nil {
			break
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = uint32(it.UID)
			if early != nil {
				lit = &bytesLiteral{Reader: bytes.NewReader(early), n: int64(len(early))}
			}
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil {
				continue
			}
			body := &sourceBody{LiteralReader: it.Literal, broke: &s.srcBodyBroke}
			if uid == 0 {
				b, err := io.ReadAll(body)
				if err != nil {
					return 0, err
				}
				early = b
				continue
			}
			lit = body
		}
		if lit != nil && uid != 0 {
			m := byUID[uid]
			if m == nil {
				return uid, nil
			}
			if err := appendOne(s, plan, m, appendFlags(m.flags, allowKeywords, allowed), lit, buf, b, results); err != nil {
				return 0, err
			}
			lit = nil
		}
	}
	return uid, nil
}

// appendOne sends one message, its body read from lit, to the
// destination: into the appender's pipeline when there is one, else as an
// APPEND of its own on the destination connection. Its answer is waited
// for by the copier (results).
func appendOne(s *session, plan FolderPlan, m *message, flags []imap.Flag, lit imap.LiteralReader, buf []byte, b *batcher, results chan<- inflight) error {
	var err error
	if s.app != nil {
		// Even a failed send is waited for: it may have reached the server.
		err = b.add(m, flags, lit)
	} else {
		var app *imapclient.AppendCommand
		// Without LITERAL+ the server's "+" is awaited before the
		// message is sent: the watchdog covers that wait too. With it
		// the connection does not wait (imapconn's litPlusConn).
		err = s.dst.Do(func() error {
			app = s.dst.Append(plan.Dest, lit.Size(), &imap.AppendOptions{Time: m.date, Flags: flags})
			_, err := io.CopyBuffer(app, lit, buf)
			if cerr := app.Close(); err == nil {
				err = cerr
			}
			return err
		})
		results <- inflight{wait: func() ([]uint32, error) {
			var data *imap.AppendData
			err := s.dst.Do(func() (err error) { data, err = app.Wait(); return err })
			if err != nil {
				return nil, err
			}
			return []uint32{uint32(data.UID)}, nil
		}, msgs: []*message{m}}
	}
	if err != nil {
		return sideErr("destination", imapconn.Classify("append to "+plan.Dest, err))
	}
	return nil
}

type bytesLiteral struct {
	*bytes.Reader
	n int64
}

func (b *bytesLiteral) Size() int64 { return b.n }

// flagPolicy reads PERMANENTFLAGS: which flags the destination keeps, and
// whether it accepts new keywords (\*).
func flagPolicy(perm []imap.Flag) (bool, map[string]bool) {
	allowed := map[string]bool{}
	if len(perm) == 0 {
		return true, allowed
	}
	keywords := false
	for _, f := range perm {
		if f == imap.FlagWildcard {
			keywords = true
		}
		allowed[strings.ToLower(string(f))] = true
	}
	return keywords, allowed
}

func appendFlags(flags string, allowKeywords bool, allowed map[string]bool) []imap.Flag {
	var out []imap.Flag
	for _, f := range parseFlags(flags) {
		if keptFlag(f, allowKeywords, allowed) {
			out = append(out, f)
		}
	}
	return out
}

// keptFlag says whether the destination stores the flag: system flags
// always, keywords when PERMANENTFLAGS has \* or names them.
func keptFlag(f imap.Flag, allowKeywords bool, allowed map[string]bool) bool {
	return strings.HasPrefix(string(f), `\`) || allowKeywords || allowed[strings.ToLower(string(f))]
}

// syncFlags carries flag changes made at the source since the last copy,
// as additions and removals so that changes made at the destination stay.
// A change the destination refuses is reported (see flagreport.go), not
// fatal: its copies keep their old flags in the state and are tried again
// by the next pass.
func (r *mailboxRun) syncFlags(ctx context.Context, s *session, plan FolderPlan, copies map[uint32]store.Copy, srcFlags map[uint32]string, perm []imap.Flag) error {
	allowKeywords, allowed := flagPolicy(perm)
	type change struct{ add, del string }
	groups := map[change][]store.Copy{}
	for uid, c := range copies {
		now, ok := srcFlags[uid]
		if !ok || now == c.Flags || c.DestUID == 0 {
			continue
		}
		add, del := diffFlags(c.Flags, now)
		ch := change{strings.Join(add, " "), strings.Join(del, " ")}
		groups[ch] = append(groups[ch], c)
	}
	var updated []store.Copy
	var lost keywordLoss
	var refused *store.Copy // the refused change's message with the lowest UID
	var refusal error
	refusedCount := 0
	for ch, cs := range groups {
		slices.SortFunc(cs, func(a, b store.Copy) int { return cmp.Compare(a.DestUID, b.DestUID) })
		uids := make([]uint32, len(cs))
		for i, c := range cs {
			uids[i] = c.DestUID
		}
		var chErr error
		for _, set := range uidChunks(uids, uidSetChunk) {
			for _, op := range []struct {
				op    imap.StoreFlagsOp
				flags string
			}{{imap.StoreFlagsAdd, ch.add}, {imap.StoreFlagsDel, ch.del}} {
				fl := appendFlags(op.flags, allowKeywords, allowed)
				if len(fl) == 0 {
					continue
				}
				err := s.dst.Do(func() error {
					return s.dst.Store(set, &imap.StoreFlags{Op: op.op, Silent: true, Flags: fl}, nil).Close()
				})
				if err == nil {
					continue
				}
				ie := imapconn.Classify("update flags in "+plan.Dest, err)
				var answer *imap.Error
				if !errors.As(err, &answer) || answer.Type == imap.StatusResponseTypeBye || ie.Throttled {
					return sideErr("destination", ie) // the connection or the session's rate: try again
				}
				chErr = cmp.Or(chErr, err)
			}
		}
		if chErr != nil {
			refusedCount += len(cs)
			for _, c := range cs {
				if refused == nil || c.SourceUID < refused.SourceUID {
					refused, refusal = &c, chErr
				}
			}
			continue
		}
		for _, c := range cs {
			lost.add(&message{uid: c.SourceUID, size: c.Size}, ch.add, allowKeywords, allowed)
			c.Flags = srcFlags[c.SourceUID]
			updated = append(updated, c)
		}
	}
	if err := r.e.Store.RecordCopies(ctx, r.mbox, plan.Source.Name, updated); err != nil {
		return err
	}
	r.prog.FlagsUpdated.Add(int64(len(updated)))
	if lost.first != nil && !r.wasReported("keywords", plan.Source.Name) {
		lost.first.subject = sourceSubject(s, lost.first.uid)
	}
	if err := r.reportKeywordLoss(ctx, plan.Source.Name, &lost); err != nil {
		return err
	}
	if refused == nil || !r.reportOnce("flags", plan.Source.Name) {
		return nil
	}
	ie := imapconn.Classify("update flags in "+plan.Dest, refusal)
	return r.fail(ctx, []store.Failure{{Folder: plan.Source.Name, UID: refused.SourceUID, Subject: sourceSubject(s, refused.SourceUID), Size: refused.Size,
		Pass: string(r.e.Opts.Pass), Temporary: ie.Temporary, ServerText: imapconn.ServerWords(refusal),
		Hint: fmt.Sprintf("the destination refused a flag update for %d messages of this folder (this one first); the messages are copied, only the flag change is missing. "+
			"If it is a keyword limit, remove unused keywords at the destination or at the source, or raise the limit; the next Full or Retry errors pass tries again", refusedCount)}})
}

// sourceSubject reads the subject of a message of the selected source
// folder, for a report; "" when it cannot be read.
func sourceSubject(s *session, uid uint32) string {
	ms, err := fetchIdentity(s.src, []uint32{uid}, func(uint32) bool { return true })
	if err != nil || len(ms) == 0 {
		return ""
	}
	return ms[0].subject
}

func diffFlags(old, now string) (add, del []string) {
	o, n := map[string]bool{}, map[string]bool{}
	for _, f := range strings.Fields(old) {
		o[f] = true
	}
	for _, f := range strings.Fields(now) {
		n[f] = true
		if !o[f] {
			add = append(add, f)
		}
	}
	for _, f := range strings.Fields(old) {
		if !n[f] {
			del = append(del, f)
		}
	}
	return add, del
}

// HumanBytes writes a size for people: 1.5 MB.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Counters survive a folder being retried: each folder's contribution is
// set, not added, so that a retry does not count the same messages twice.
type folderCounters struct {
	mu     sync.Mutex
	values map[string]int64
}

func (r *mailboxRun) folderCounter(total interface{ Add(int64) int64 }, kind, folder string, v int64) {
	r.counters.mu.Lock()
	defer r.counters.mu.Unlock()
	if r.counters.values == nil {
		r.counters.values = map[string]int64{}
	}
	k := kind + "\x00" + folder
	total.Add(v - r.counters.values[k])
	r.counters.values[k] = v
}

func (r *mailboxRun) counter(kind, folder string) int64 {
	r.counters.mu.Lock()
	defer r.counters.mu.Unlock()
	return r.counters.values[kind+"\x00"+folder]
}

func (r *mailboxRun) copiedIn(folder string) int64      { return r.counter("copied", folder) }
func (r *mailboxRun) copiedBytesIn(folder string) int64 { return r.counter("copiedbytes", folder) }

func (r *mailboxRun) countCopied(folder string, size int64) {
	r.folderCounter(&r.prog.Copied, "copied", folder, r.copiedIn(folder)+1)
	r.folderCounter(&r.prog.CopiedBytes, "copiedbytes", folder, r.copiedBytesIn(folder)+size)
	r.e.observer().MessageCopied(size)
}

// bodyHashes hashes the bodies (the text after the header) of messages
// of the selected folder, each literal as it arrives: nothing is held
// whole. Used only for look-alike messages that keys cannot tell apart;
// the header is left out because destinations alter it (see
// makeFingerprint), line ends and trailing newlines because they convert them.
func bodyHashes(c *imapconn.Conn, uids []uint32) (map[uint32][32]byte, error) {
	out := map[uint32][32]byte{}
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText, Peek: true}
	for _, set := range uidChunks(uids, uidSetChunk) {
		err := c.Do(func() error {
			cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
			for {
				fm := cmd.Next()
				if fm == nil {
					break
				}
				var uid uint32
				var sum [32]byte
				hashed := false
				for {
					item := fm.Next()
					if item == nil {
						break
					}
					switch it := item.(type) {
					case imapclient.FetchItemDataUID:
						uid = uint32(it.UID)
					case imapclient.FetchItemDataBodySection:
						h := &bodyHasher{h: sha256.New()}
						if it.Literal != nil {
							if _, err := io.Copy(h, it.Literal); err != nil {
								cmd.Close()
								return err
							}
						}
						h.h.Sum(sum[:0])
						hashed = true
					}
				}
				if uid != 0 && hashed {
					out[uid] = sum
				}
			}
			return cmd.Close()
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bodyHasher hashes a body without its CRs and trailing newlines.
type bodyHasher struct {
	h        hash.Hash
	newlines int // held back until more text follows
	buf      []byte
}

func (b *bodyHasher) Write(p []byte) (int, error) {
	b.buf = b.buf[:0]
	for _, c := range p {
		switch c {
		case '\r':
		case '\n':
			b.newlines++
		default:
			for ; b.newlines > 0; b.newlines-- {
				b.buf = append(b.buf, '\n')
			}
			b.buf = append(b.buf, c)
		}
	}
	b.h.Write(b.buf)
	return len(p), nil
}

// settleQuiet is how long the destination's message count and UIDNEXT must stay unchanged
// before Ferry believes no APPEND of an interrupted run is still arriving.
var settleQuiet, settleMax = 1500 * time.Millisecond, 60 * time.Second

// settle waits until the destination folder stops growing, then selects it again.
func (r *mailboxRun) settle(ctx context.Context, s *session, plan FolderPlan) (*imap.SelectData, error) {
	r.prog.setPhase("waiting for the destination to settle after an interrupted run")
	deadline := time.Now().Add(settleMax)
	// The message count and UIDNEXT together: a server may leave either
	// out of STATUS, and an expunge elsewhere can hide a growing count.
	type growth struct {
		messages uint32
		uidNext  imap.UID
	}
	var last growth
	stableSince := time.Now()
	for time.Now().Before(deadline) {
		var st *imap.StatusData
		err := s.dst.Do(func() (err error) {
			st, err = s.dst.Status(plan.Dest, &imap.StatusOptions{NumMessages: true, UIDNext: true}).Wait()
			return err
		})
		if err != nil {
			return nil, sideErr("destination", imapconn.Classify("read the state of "+plan.Dest, err))
		}
		now := growth{uidNext: st.UIDNext}
		if st.NumMessages != nil {
			now.messages = *st.NumMessages
		}
		if now != last {
			last, stableSince = now, time.Now()
		} else if time.Since(stableSince) >= settleQuiet {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	r.prog.setPhase("copying")
	var dsel *imap.SelectData
	err := s.dst.Do(func() (err error) {
		dsel, err = s.dst.Select(plan.Dest, nil).Wait()
		return err
	})
	if err != nil {
		return nil, sideErr("destination", imapconn.Classify("open folder "+plan.Dest, err))
	}
	return dsel, nil
}

// maxRefusals: a message the destination answers NO to this many times with
// a temporary-looking answer ([LIMIT], [UNAVAILABLE], throttling), or on
// which the source breaks the connection this many times, is set aside for
// this run, so that one message cannot keep a whole mailbox from moving.
const maxRefusals = 3

// strike counts one temporary failure of a message and says whether it is
// now set aside.
func (r *mailboxRun) strike(folder string, uid uint32) bool {
	r.refusalsMu.Lock()
	defer r.refusalsMu.Unlock()
	if r.refusals == nil {
		r.refusals = map[string]int{}
	}
	k := messageKey(folder, uid)
	r.refusals[k]++
	return r.refusals[k] >= maxRefusals
}

func (r *mailboxRun) setAside(folder string, uid uint32) bool {
	r.refusalsMu.Lock()
	defer r.refusalsMu.Unlock()
	return r.refusals[messageKey(folder, uid)] >= maxRefusals
}

// abandonFetch ends a body FETCH that failed midway. go-imap gives the
// connection back to its reader goroutine once a body read fails; reading
// the rest of the FETCH (Close) would race that goroutine, and the
// connection is broken anyway: it is dropped. Otherwise the rest of the
// FETCH is read and discarded.
func abandonFetch(s *session, cmd *imapclient.FetchCommand) {
	if s.srcBodyBroke.Load() {
		s.src.Close()
	} else {
		cmd.Close()
	}
}

// stopFetch ends at once a body FETCH that the run stops reading between
// two messages; fm is the message cmd.Next handed over last (nil: none),
// not read yet. go-imap's reader goroutine hands a message over as its
// first body starts, then waits until that body is read to its end or
// fails, and Client.Close waits for that goroutine: closing the connection
// with fm unread waited for ever (a stopped first copy hung so). The
// socket is cut first, so that only what the client had already buffered
// is left of the FETCH; that is read and thrown away until the FETCH ends
// or a read fails (the goroutine, given its connection back, then ends
// too: the FETCH is not touched again), and the connection is closed.
func stopFetch(s *session, cmd *imapclient.FetchCommand, fm *imapclient.FetchMessageData) {
	s.src.Cut()
	var broke atomic.Bool
	for fm != nil && !broke.Load() {
		for item := fm.Next(); item != nil && !broke.Load(); {
			if it, ok := item.(imapclient.FetchItemDataBodySection); ok && it.Literal != nil {
				io.Copy(io.Discard, &sourceBody{LiteralReader: it.Literal, broke: &broke})
			}
			if !broke.Load() {
				item = fm.Next()
			}
		}
		if !broke.Load() {
			fm = cmd.Next()
		}
	}
	s.src.Close()
}
