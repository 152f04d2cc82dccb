package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store"
)

// A source message the server cannot read (Dovecot: a message file it may
// not open) makes the server answer BYE and close the connection on any
// FETCH of its headers or body. Which message it was is not plain: Dovecot
// sends the message's FETCH response (without its content) and then BYE;
// other servers stop before the message. So a FETCH of several messages
// that breaks only says where to look: from the last message delivered
// (or the first asked for), the next attempts fetch the messages of the
// careful span one per FETCH. A single-message FETCH that breaks names its
// message exactly; after maxRefusals such breaks it is set aside for the
// run and recorded as one failure, so the rest of the folder is copied and
// a later Retry errors pass can try it again.

// carefulSpan is how many UIDs from where a FETCH broke are fetched one
// per FETCH afterwards. A culprit further on breaks a later FETCH, which
// moves the span.
const carefulSpan = 64

// brokeAt is a source FETCH that ended with the connection gone. When
// single, uid is the one message it asked for; otherwise the careful span
// starts at uid. msg is the message's identity when known.
type brokeAt struct {
	uid    uint32
	single bool
	msg    *message
	err    error
}

func (e *brokeAt) Error() string { return e.err.Error() }
func (e *brokeAt) Unwrap() error { return e.err }

// sourceBroke wraps err from a FETCH of uids (sorted) when the connection
// is gone.
func sourceBroke(c *imapconn.Conn, err error, uids []uint32, delivered func(uint32) bool, known map[uint32]*message) error {
	if err == nil || len(uids) == 0 || c.State() != imap.ConnStateLogout {
		return err
	}
	from := uids[0]
	for _, u := range uids {
		if delivered(u) {
			from = u
		}
	}
	return &brokeAt{uid: from, single: len(uids) == 1, msg: known[from], err: err}
}

// noteBrokenFetch learns from a failed attempt whose source FETCH broke:
// the folder is fetched by UID list from now on (a range cannot leave a
// message out), a FETCH of several messages starts a careful span, and a
// single-message FETCH counts a strike against its message.
func (r *mailboxRun) noteBrokenFetch(folder string, err error) {
	var b *brokeAt
	if !errors.As(err, &b) {
		return
	}
	setAside := b.single && r.strike(folder, b.uid)
	r.refusalsMu.Lock()
	defer r.refusalsMu.Unlock()
	if r.brokenFolders == nil {
		r.brokenFolders = map[string]uint32{}
		r.unreadable = map[string][]brokeAt{}
	}
	if setAside {
		r.unreadable[folder] = append(r.unreadable[folder], *b)
	}
	if _, ok := r.brokenFolders[folder]; !ok || !b.single {
		r.brokenFolders[folder] = b.uid
	}
}

// fetchByList says whether a folder's messages are fetched by UID list
// because a FETCH broke there in this run.
func (r *mailboxRun) fetchByList(folder string) bool {
	r.refusalsMu.Lock()
	defer r.refusalsMu.Unlock()
	_, ok := r.brokenFolders[folder]
	return ok
}

// alone says which messages of the folder are fetched one per FETCH: those
// of the careful span.
func (r *mailboxRun) alone(folder string) func(uint32) bool {
	r.refusalsMu.Lock()
	from, ok := r.brokenFolders[folder]
	r.refusalsMu.Unlock()
	return func(uid uint32) bool { return ok && uid >= from && uid-from < carefulSpan }
}

// reportUnreadable records the messages of the folder set aside since its
// last attempt. Their size and date come from a FETCH that reads no message
// content (servers keep them in their index); the subject only when a body
// FETCH broke after the headers had been read.
func (r *mailboxRun) reportUnreadable(ctx context.Context, s *session, plan FolderPlan) error {
	r.refusalsMu.Lock()
	set := r.unreadable[plan.Source.Name]
	delete(r.unreadable, plan.Source.Name)
	r.refusalsMu.Unlock()
	if len(set) == 0 {
		return nil
	}
	sizes := map[uint32]int64{}
	var uids imap.UIDSet
	for _, b := range set {
		uids.AddNum(imap.UID(b.uid))
	}
	sizeErr := fetchAll(s.src, uids, &imap.FetchOptions{UID: true, RFC822Size: true}, func(m *imapclient.FetchMessageBuffer) error {
		sizes[uint32(m.UID)] = m.RFC822Size
		return nil
	})
	var fs []store.Failure
	for _, b := range set {
		f := store.Failure{Folder: plan.Source.Name, UID: b.uid, Size: sizes[b.uid], Pass: string(r.e.Opts.Pass), Temporary: true,
			ServerText: brokenWords(b.err),
			Hint: fmt.Sprintf("the source server closed the connection %d times while sending this message; it may be unable to read it (check its log at that time). "+
				"The message was set aside so the mailbox could go on: repair it at the source, then run Retry errors", maxRefusals)}
		if b.msg != nil {
			f.Subject = b.msg.subject
			f.Size = cmp.Or(f.Size, b.msg.size)
		}
		if _, ok := sizes[b.uid]; !ok && sizeErr == nil {
			continue // expunged meanwhile: nothing is missing
		}
		fs = append(fs, f)
	}
	if err := r.fail(ctx, fs); err != nil {
		return err
	}
	if sizeErr != nil {
		// Recorded without its size (a server that must read the message
		// for that too); the folder goes on after a new connection.
		return sideErr("source", imapconn.Classify("read the size of messages of "+plan.Path, sizeErr))
	}
	return nil
}

// brokenWords is what the source said when it broke the connection: its
// BYE, or the network error.
func brokenWords(err error) string {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return imapconn.ServerWords(ie)
	}
	return "the connection closed: " + err.Error()
}
