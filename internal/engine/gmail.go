package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store"
)

// Gmail shows each label as a folder: a message with three labels is in
// three folders, and [Gmail]/All Mail holds every message, labelled or
// not. From Gmail (Options.SourceLabels) Ferry copies
//
//   - each label's folder, so a message lands once in the folder of each
//     of its labels, as Gmail's own IMAP view shows it (each folder's copies
//     are recorded and matched by content, so re-runs, lost state and
//     labels added later never double a message);
//   - Inbox, Sent Mail, Drafts to the destination's folders of those roles
//     (created with the destination system's names when missing); starred
//     messages keep \Flagged, [Gmail]/Starred and [Gmail]/Important are not
//     folders of their own;
//   - Spam and Trash only when asked (LabelOptions.SpamAndTrash or an
//     include pattern);
//   - from All Mail only the messages without a label that Ferry copies
//     (archived mail), into the destination's archive folder. A message
//     copied from a label folder in an earlier pass is not added there when
//     its label is removed: it is at the destination already.
//   - a label renamed between passes keeps its destination folder
//     (renamedLabels): nothing is copied again.

// capGmail is announced by Gmail's IMAP servers (X-GM-EXT-1): a source
// announcing it is Gmail whether or not the endpoint's type says so.
const capGmail imap.Cap = "X-GM-EXT-1"

// LabelOptions say how a Gmail source's labels become folders of a
// destination without labels.
type LabelOptions struct {
	// FirstLabelOnly puts a message with several labels only in the
	// folder of its first label: the first of its X-GM-LABELS, in the
	// order Gmail gives them (without X-GM-EXT-1: Inbox first, then the
	// labels by name); by default it goes to the folder of each, as
	// Gmail's IMAP view shows it.
	FirstLabelOnly bool
	// SpamAndTrash copies [Gmail]/Spam and [Gmail]/Trash, skipped by default.
	SpamAndTrash bool
}

// DefaultRoleFolders name the folders Ferry creates for a role the
// destination has no folder for (a preset's Folders replace them).
var DefaultRoleFolders = map[string]string{"sent": "Sent", "drafts": "Drafts", "trash": "Trash", "junk": "Junk", "archive": "Archive"}

var roleWords = map[string]imap.MailboxAttr{
	"sent": imap.MailboxAttrSent, "drafts": imap.MailboxAttrDrafts, "trash": imap.MailboxAttrTrash,
	"junk": imap.MailboxAttrJunk, "archive": imap.MailboxAttrArchive,
}

// labelState is what a run knows of a Gmail source's labels.
type labelState struct {
	allMail string   // the source's All Mail folder, "" when there is none
	labels  []string // the source folders copied besides All Mail
	// roles: the source folder of each role, for Gmail's system labels.
	roles map[imap.MailboxAttr]string
	// byUID: All Mail's messages' labels from X-GM-LABELS (read once, on a
	// connection of its own, when the source announces X-GM-EXT-1); nil
	// when they were read from the label folders instead.
	byUID map[uint32][]string
	// labelsIn: with FirstLabelOnly and X-GM-EXT-1, each copied label
	// folder's messages' labels (by UID there), in Gmail's order; nil when
	// the label folders' headers were read instead (first says then).
	labelsIn map[string]map[uint32][]string

	mu       sync.Mutex
	labelled map[fingerprint]bool // messages with a label Ferry copies (nil: not read yet)
	// first: with FirstLabelOnly, the one folder each labelled message goes
	// to: where it was copied from before, else its first label's folder.
	first map[fingerprint]string
}

// mapGmailFolders maps a Gmail source's folders: All Mail to the archive
// role, Spam and Trash skipped unless asked, and missing role folders
// named as the destination system names them.
func (r *mailboxRun) mapGmailFolders(ctx context.Context, s *session, src, dst []Folder, filter Filter, kept []store.FolderMapping) ([]FolderPlan, error) {
	src = append([]Folder(nil), src...)
	allMail := ""
	for i := range src {
		switch {
		case src[i].All:
			src[i].Skip, src[i].Role, allMail = false, imap.MailboxAttrArchive, src[i].Name
		case src[i].Role == imap.MailboxAttrJunk, src[i].Role == imap.MailboxAttrTrash:
			src[i].Skip = !r.e.Opts.Labels.SpamAndTrash
		}
	}
	existing := map[string]bool{}
	for _, f := range dst {
		existing[f.Name] = !f.NoSelect
	}
	// A role the destination has no folder for gets one, named as the
	// destination system names it.
	names := r.e.Opts.RoleFolders
	if names == nil {
		names = DefaultRoleFolders
	}
	byRole := destinationRoles(dst, r.dstNS)
	withRoles := append([]Folder(nil), dst...)
	for word, role := range roleWords {
		if _, ok := byRole[role]; !ok && names[word] != "" {
			withRoles = append(withRoles, Folder{Name: r.dstNS.join(r.dstNS.segments(names[word])), Role: role})
		}
	}
	kept, err := r.renamedLabels(ctx, s, src, kept, allMail)
	if err != nil {
		return nil, err
	}
	plans := MapFolders(src, r.srcNS, withRoles, r.dstNS, filter, kept)
	r.gmail = &labelState{allMail: allMail, roles: map[imap.MailboxAttr]string{}}
	for _, f := range src {
		if f.Role != "" && r.gmail.roles[f.Role] == "" {
			r.gmail.roles[f.Role] = f.Name
		}
	}
	for i := range plans {
		plans[i].DestExists = existing[plans[i].Dest] || plans[i].Dest == "INBOX"
		if plans[i].Source.Name != allMail {
			r.gmail.labels = append(r.gmail.labels, plans[i].Source.Name)
		}
	}
	slices.SortStableFunc(r.gmail.labels, func(a, b string) int {
		if (a == "INBOX") != (b == "INBOX") {
			if a == "INBOX" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return plans, nil
}

// renamedLabels finds labels renamed since an earlier pass: a folder
// that earlier passes copied is gone, and a folder they did not know holds
// mostly the same messages. The renamed label keeps its destination
// folder (the old name), as a user expects of a rename: its messages stay
// where they are, nothing is copied again, and new mail with the label
// joins them. The destination folder is not renamed: the user may have
// worked with it.
func (r *mailboxRun) renamedLabels(ctx context.Context, s *session, src []Folder, kept []store.FolderMapping, allMail string) ([]store.FolderMapping, error) {
	present, known := map[string]bool{}, map[string]bool{}
	for _, f := range src {
		present[f.Name] = true
	}
	var gone []int
	for i, m := range kept {
		known[m.Source] = true
		if !present[m.Source] && m.Source != allMail {
			gone = append(gone, i)
		}
	}
	if len(gone) == 0 {
		return kept, nil
	}
	// A label renamed in an earlier pass: its old mapping stays in the
	// store, but the folder of the new name holds its destination now.
	held := map[string]bool{}
	for _, m := range kept {
		if present[m.Source] {
			held[m.Dest] = true
		}
	}
	kept = slices.DeleteFunc(slices.Clone(kept), func(m store.FolderMapping) bool { return !present[m.Source] && held[m.Dest] })
	gone = gone[:0]
	for i, m := range kept {
		if !present[m.Source] && m.Source != allMail {
			gone = append(gone, i)
		}
	}
	for _, f := range src {
		if known[f.Name] || f.NoSelect || f.All || f.Skip || f.Name == "INBOX" {
			continue
		}
		fps, err := folderFingerprints(s, f.Name)
		if err != nil {
			return nil, sideErr("source", imapconn.Classify("read the messages of label "+r.srcNS.DisplayPath(f.Name), err))
		}
		if len(fps) == 0 {
			continue
		}
		for _, i := range gone {
			same := 0
			if err := r.e.Store.Copies(ctx, r.mbox, kept[i].Source, func(c store.Copy) error {
				var fp fingerprint
				copy(fp[:], c.Fingerprint)
				if fps[fp] {
					same++
				}
				return nil
			}); err != nil {
				return nil, err
			}
			if same*2 > len(fps) {
				old := r.srcNS.DisplayPath(kept[i].Source)
				kept[i].Source = f.Name
				kept[i].Renamed = fmt.Sprintf("the label %s was renamed %s; its messages stay in %s", old, r.srcNS.DisplayPath(f.Name), kept[i].Dest)
				gone = slices.DeleteFunc(gone, func(j int) bool { return j == i })
				break
			}
		}
	}
	return kept, nil
}

// folderFingerprints reads the identity of every message of a source folder.
func folderFingerprints(s *session, name string) (map[fingerprint]bool, error) {
	set := map[fingerprint]bool{}
	var sel *imap.SelectData
	err := s.src.Do(func() (err error) {
		sel, err = s.src.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	})
	if err == nil && sel.NumMessages > 0 {
		err = fetchAll(s.src, allUIDs(), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{headerSection}}, func(m *imapclient.FetchMessageBuffer) error {
			set[identity(m).fp] = true
			return nil
		})
	}
	return set, err
}

// unlabelled keeps, of All Mail's messages, those that no copied label
// folder holds now and none held when it was copied.
func (r *mailboxRun) unlabelled(ctx context.Context, s *session, plan FolderPlan, pending []*message) ([]*message, error) {
	if !r.isAllMail(plan) || len(pending) == 0 {
		return pending, nil
	}
	labelled, err := r.labelled(ctx, s)
	if err != nil {
		return nil, err
	}
	out := pending[:0]
	for _, m := range pending {
		if !labelled[m.fp] && !r.gmail.copiedLabel(m.uid) {
			out = append(out, m)
		}
	}
	return out, nil
}

// copiedLabel: X-GM-LABELS gives All Mail's message uid a label whose
// folder Ferry copies (so it goes there, not to the archive).
func (g *labelState) copiedLabel(uid uint32) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, l := range g.byUID[uid] {
		if slices.Contains(g.labels, g.labelFolder(l)) {
			return true
		}
	}
	return false
}

// gmailSystemLabels are X-GM-LABELS' system labels and the roles of their
// folders (whose names depend on the account's language); \Starred and
// \Important are no folders Ferry copies.
var gmailSystemLabels = map[string]imap.MailboxAttr{
	`\sent`: imap.MailboxAttrSent, `\draft`: imap.MailboxAttrDrafts, `\spam`: imap.MailboxAttrJunk, `\trash`: imap.MailboxAttrTrash,
	`\starred`: imap.MailboxAttrFlagged, `\important`: imap.MailboxAttr(`\Important`),
}

// labelFolder is the source folder Gmail shows a label as.
func (g *labelState) labelFolder(label string) string {
	lower := strings.ToLower(label)
	if lower == `\inbox` || lower == "inbox" {
		return "INBOX"
	}
	if role, ok := gmailSystemLabels[lower]; ok {
		return g.roles[role]
	}
	return label
}

// readGmailLabels reads the labels of the messages of folders with
// X-GM-LABELS (one FETCH a folder, no headers), on a connection of its
// own; by folder, then UID. ok is false when the source cannot (no
// X-GM-EXT-1, or a command failed): the label folders are read instead.
func (r *mailboxRun) readGmailLabels(ctx context.Context, s *session, folders []string) (map[string]map[uint32][]string, bool) {
	if !s.src.Caps().Has(capGmail) {
		return nil, false
	}
	c, err := imapconn.DialGmail(ctx, s.src.Endpoint, r.e.Opts.Conn)
	if err != nil {
		return nil, false
	}
	defer c.Logout()
	out := make(map[string]map[uint32][]string, len(folders))
	for _, f := range folders {
		msgs, err := c.Labels(ctx, f)
		if err != nil {
			return nil, false
		}
		byUID := make(map[uint32][]string, len(msgs))
		for _, m := range msgs {
			byUID[m.UID] = m.Labels
		}
		out[f] = byUID
	}
	return out, true
}

// firstFolder is the copied label folder of the first of labels (in
// Gmail's order); "" when none of them is copied.
func (g *labelState) firstFolder(labels []string) string {
	for _, l := range labels {
		if f := g.labelFolder(l); f != "" && slices.Contains(g.labels, f) {
			return f
		}
	}
	return ""
}

// firstLabelOnly keeps, of a label folder's messages, those whose one
// folder it is (LabelOptions.FirstLabelOnly).
func (r *mailboxRun) firstLabelOnly(plan FolderPlan, pending []*message) []*message {
	if r.gmail == nil || !r.e.Opts.Labels.FirstLabelOnly || r.isAllMail(plan) {
		return pending
	}
	g := r.gmail
	g.mu.Lock()
	defer g.mu.Unlock()
	here := g.labelsIn[plan.Source.Name]
	out := pending[:0]
	for _, m := range pending {
		f, ok := g.first[m.fp] // copied before: it stays where it is
		if !ok {
			f = g.firstFolder(here[m.uid]) // its first label, as Gmail orders them
		}
		if f == "" || f == plan.Source.Name {
			out = append(out, m)
		}
	}
	return out
}

// labelled reads, once a run, the identities of the copies recorded from
// any folder but All Mail, and what says which messages are labelled: the
// X-GM-LABELS of All Mail (and, with FirstLabelOnly, of each label folder)
// when the source has X-GM-EXT-1, else the identities of the messages of
// every copied label folder. syncFolder calls it before it opens All Mail:
// it selects other folders.
func (r *mailboxRun) labelled(ctx context.Context, s *session) (map[fingerprint]bool, error) {
	g := r.gmail
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.labelled != nil {
		return g.labelled, nil
	}
	set := map[fingerprint]bool{}
	var kept []store.FolderMapping
	if r.e.Store != nil { // nil: verify without a state store
		var err error
		if kept, err = r.e.Store.FolderMap(ctx, r.mbox); err != nil {
			return nil, err
		}
	}
	first := map[fingerprint]string{}
	for _, m := range kept {
		if m.Source == g.allMail {
			continue
		}
		if err := r.e.Store.Copies(ctx, r.mbox, m.Source, func(c store.Copy) error {
			var fp fingerprint
			copy(fp[:], c.Fingerprint)
			set[fp] = true
			if _, ok := first[fp]; !ok {
				first[fp] = m.Source // copied already: it stays where it is
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	// All Mail's labels in one FETCH (X-GM-LABELS): unlabelled asks
	// copiedLabel by UID. With FirstLabelOnly each label folder's labels
	// too, one FETCH a folder: firstLabelOnly takes the first in Gmail's
	// order. No label folder's headers are read.
	var folders []string
	if g.allMail != "" {
		folders = append(folders, g.allMail)
	}
	if r.e.Opts.Labels.FirstLabelOnly {
		folders = append(folders, g.labels...)
	}
	if len(folders) > 0 {
		if read, ok := r.readGmailLabels(ctx, s, folders); ok {
			g.byUID, g.labelled, g.first = read[g.allMail], set, first
			if r.e.Opts.Labels.FirstLabelOnly {
				g.labelsIn = read
			}
			return set, nil
		}
	}
	for _, name := range g.labels { // Inbox first, then by name
		fps, err := folderFingerprints(s, name)
		for fp := range fps {
			set[fp] = true
			if _, ok := first[fp]; !ok {
				first[fp] = name
			}
		}
		if err != nil {
			return nil, sideErr("source", imapconn.Classify("read the messages of label "+r.srcNS.DisplayPath(name)+" (to leave them out of All Mail)", err))
		}
	}
	g.labelled, g.first = set, first
	return set, nil
}

func (r *mailboxRun) isAllMail(plan FolderPlan) bool {
	return r.gmail != nil && r.gmail.allMail != "" && plan.Source.Name == r.gmail.allMail
}

// Into Gmail (Options.DestLabels, or a destination announcing
// X-GM-EXT-1) a message is one message with labels: copied from several
// source folders it is appended once, into the first folder copied, and
// given the label of each other folder with STORE +X-GM-LABELS, which puts
// it in that label's folder. The folders are copied one at a time, so a
// message's first APPEND is answered and recorded before another folder
// looks for it.

// gmailDest reports whether the destination is Gmail.
func (r *mailboxRun) gmailDest(s *session) bool {
	return r.e.Opts.DestLabels || s.dst.Caps().Has(capGmail)
}

// gmailFolder is what one of Gmail's own folders is into Gmail.
type gmailFolder struct {
	// label is the system label that puts a message in the folder
	// (\Sent, \Draft, \Starred, \Important); "" for a folder that is
	// appended to: All Mail (no label), Spam and Trash.
	label string
	// own: the folder holds its messages alone (Spam, Trash): a copy there
	// is not labelled into other folders.
	own bool
}

// gmailFolderOf says what a destination folder that announces a role
// stands for on Gmail; ok is false for a folder without one.
func gmailFolderOf(f Folder) (g gmailFolder, ok bool) {
	switch {
	case f.All:
		return gmailFolder{}, true
	case f.Role == imap.MailboxAttrJunk, f.Role == imap.MailboxAttrTrash:
		return gmailFolder{own: true}, true
	case f.Role == imap.MailboxAttrSent:
		return gmailFolder{label: `\Sent`}, true
	case f.Role == imap.MailboxAttrDrafts:
		return gmailFolder{label: `\Draft`}, true
	case f.Special == imap.MailboxAttrFlagged:
		return gmailFolder{label: `\Starred`}, true
	case strings.EqualFold(string(f.Special), `\Important`):
		return gmailFolder{label: `\Important`}, true
	}
	return gmailFolder{}, false
}

// destLabel is the Gmail label a destination folder stands for: Inbox
// and Gmail's own folders ([Gmail]/Sent Mail...) their system labels
// (\Inbox, \Sent, \Draft, \Starred, \Important), a user folder its name;
// "" for a folder that is appended to (All Mail, Spam, Trash, and one of
// Gmail's folders that announces no role).
func (r *mailboxRun) destLabel(folder string) string {
	if strings.EqualFold(folder, "INBOX") {
		return `\Inbox`
	}
	if g, ok := r.dstSystem[folder]; ok {
		return g.label
	}
	if strings.HasPrefix(folder, "[Gmail]/") || strings.HasPrefix(folder, "[Google Mail]/") {
		return ""
	}
	return folder
}

type heldCopy struct {
	folder string
	uid    uint32
}

// labelOnGmail labels, instead of appending, the pending messages that
// an earlier folder of this mailbox copied into the Gmail account already
// (the state's copies say where); it records them as copies of this
// folder and returns the others, to be appended.
func (r *mailboxRun) labelOnGmail(ctx context.Context, s *session, plan FolderPlan, pending []*message) ([]*message, error) {
	label := r.destLabel(plan.Dest)
	if len(pending) == 0 || label == "" || !r.gmailDest(s) {
		return pending, nil
	}
	// A copy in Spam or Trash is not labelled out of there.
	held, err := r.heldElsewhere(ctx, plan, func(dest string) bool { return r.dstSystem[dest].own })
	if err != nil {
		return nil, err
	}
	var rest []*message
	var labelled []store.Copy
	var sizes []int64
	var g *imapconn.GmailConn
	defer func() {
		if g != nil {
			g.Logout()
		}
	}()
	for _, m := range pending {
		h, ok := held[m.fp]
		if !ok {
			rest = append(rest, m)
			continue
		}
		if g == nil {
			if g, err = imapconn.DialGmail(ctx, s.dst.Endpoint, r.e.Opts.Conn); err != nil {
				return nil, sideErr("destination", err)
			}
		}
		uid, err := g.AddLabel(ctx, h.folder, h.uid, label, plan.Dest)
		if err != nil {
			if imapconn.IsTemporary(err) {
				return nil, sideErr("destination", err)
			}
			rest = append(rest, m) // gone from where it was: appended instead
			continue
		}
		labelled = append(labelled, store.Copy{SourceUID: m.uid, DestUID: uid, Fingerprint: m.fp[:], Flags: m.flags, Size: m.size})
		sizes = append(sizes, m.size)
	}
	if len(labelled) > 0 {
		if err := r.e.Store.RecordCopies(ctx, r.mbox, plan.Source.Name, labelled); err != nil {
			return nil, err
		}
		for _, size := range sizes {
			r.countCopied(plan.Source.Name, size)
		}
	}
	return rest, nil
}

// heldElsewhere is where the destination holds the messages copied from
// the mailbox's other folders (by fingerprint; copies whose UID the
// destination did not say are left out, and those in the folders skip
// names, when skip is not nil).
func (r *mailboxRun) heldElsewhere(ctx context.Context, plan FolderPlan, skip func(dest string) bool) (map[fingerprint]heldCopy, error) {
	kept, err := r.e.Store.FolderMap(ctx, r.mbox)
	if err != nil {
		return nil, err
	}
	held := map[fingerprint]heldCopy{}
	for _, m := range kept {
		if m.Source == plan.Source.Name || m.Dest == plan.Dest || (skip != nil && skip(m.Dest)) {
			continue
		}
		if err := r.e.Store.Copies(ctx, r.mbox, m.Source, func(c store.Copy) error {
			var fp fingerprint
			copy(fp[:], c.Fingerprint)
			if _, ok := held[fp]; !ok && c.DestUID != 0 {
				held[fp] = heldCopy{m.Dest, c.DestUID}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return held, nil
}

// gmailSource: the source is Gmail with its extensions, whose label
// folders show one message in several folders.
func (r *mailboxRun) gmailSource(s *session) bool {
	return r.gmail != nil && s.src.Caps().Has(capGmail)
}

// reuseCopies spares a message's second read or write: into Gmail it is
// labelled (labelOnGmail); from Gmail, a message of several labels is
// read from Gmail once, and the destination copies the copy it holds into
// the folder of each other label (UID COPY on the destination, which
// costs no download from Gmail's daily budget). The mailbox's folders are
// copied one at a time in both cases, so a message's first copy is
// recorded before another folder looks for it.
func (r *mailboxRun) reuseCopies(ctx context.Context, s *session, plan FolderPlan, todo []*message) ([]*message, error) {
	switch {
	case r.gmailDest(s):
		return r.labelOnGmail(ctx, s, plan, todo)
	case r.gmailSource(s) && !r.isAllMail(plan):
		return r.copyOnDestination(ctx, s, plan, todo)
	}
	return todo, nil
}

// copyOnDestination copies, on the destination, the copies it holds of
// todo's messages into plan's folder, records them, and returns the
// messages it holds none of (or could not copy: they are read from the
// source as any other).
func (r *mailboxRun) copyOnDestination(ctx context.Context, s *session, plan FolderPlan, todo []*message) ([]*message, error) {
	if len(todo) == 0 {
		return todo, nil
	}
	held, err := r.heldElsewhere(ctx, plan, nil)
	if err != nil {
		return nil, err
	}
	byFolder := map[string][]*message{}
	var rest []*message
	for _, m := range todo {
		if h, ok := held[m.fp]; ok {
			byFolder[h.folder] = append(byFolder[h.folder], m)
		} else {
			rest = append(rest, m)
		}
	}
	if len(byFolder) == 0 {
		return todo, nil
	}
	// A connection of its own: s.dst keeps the folder being copied selected.
	c, err := imapconn.Dial(ctx, s.dst.Endpoint, r.e.Opts.Conn)
	if err != nil {
		return nil, sideErr("destination", err)
	}
	defer c.Logout()
	folders := make([]string, 0, len(byFolder))
	for f := range byFolder {
		folders = append(folders, f)
	}
	slices.Sort(folders)
	for _, folder := range folders {
		ms := byFolder[folder]
		var uids imap.UIDSet
		bySrc := map[uint32]*message{}
		for _, m := range ms {
			h := held[m.fp]
			uids.AddNum(imap.UID(h.uid))
			bySrc[h.uid] = m
		}
		var data *imap.CopyData
		err := c.Do(func() error {
			if _, err := c.Select(folder, nil).Wait(); err != nil {
				return err
			}
			var err error
			data, err = c.Copy(uids, plan.Dest).Wait()
			return err
		})
		if err != nil {
			e := imapconn.Classify("copy messages from "+folder+" to "+plan.Dest+" on the destination", err)
			if e.Temporary {
				return nil, sideErr("destination", e)
			}
			rest = append(rest, ms...) // read from the source instead
			continue
		}
		var from, to []uint32
		if data != nil {
			from, to = uidList(data.SourceUIDs), uidList(data.DestUIDs)
		}
		if len(from) != len(to) || len(from) != len(ms) {
			// No COPYUID: the copies are there, recorded without their
			// UID (found by content next time, as after an APPEND
			// without APPENDUID); reading them again would double them.
			copies := make([]store.Copy, 0, len(ms))
			for _, m := range ms {
				copies = append(copies, store.Copy{SourceUID: m.uid, Fingerprint: m.fp[:], Flags: m.flags, Size: m.size})
				r.countCopied(plan.Source.Name, m.size)
			}
			if err := r.e.Store.RecordCopies(ctx, r.mbox, plan.Source.Name, copies); err != nil {
				return nil, err
			}
			continue
		}
		copies := make([]store.Copy, 0, len(ms))
		for i, u := range from {
			m := bySrc[u]
			if m == nil {
				continue
			}
			copies = append(copies, store.Copy{SourceUID: m.uid, DestUID: to[i], Fingerprint: m.fp[:], Flags: m.flags, Size: m.size})
			r.countCopied(plan.Source.Name, m.size)
		}
		if err := r.e.Store.RecordCopies(ctx, r.mbox, plan.Source.Name, copies); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// uidList spells out a COPYUID uid-set; nil when it has ranges open at
// the end or none.
func uidList(set imap.UIDSet) []uint32 {
	nums, ok := set.Nums()
	if !ok {
		return nil
	}
	out := make([]uint32, len(nums))
	for i, n := range nums {
		out[i] = uint32(n)
	}
	return out
}
