package testimap

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Gmail's IMAP extensions (X-GM-EXT-1), as Google documents them at
// https://developers.google.com/gmail/imap/imap-extensions, answered by a
// protocol-level front: go-imap's server knows none of them. The front
// reads each command line a client sends to a StartGmail server (literals
// passed through untouched); the extension commands it answers itself
// from the label table, everything else goes on to go-imap:
//
//   - FETCH and UID FETCH of X-GM-MSGID, X-GM-THRID and X-GM-LABELS (with
//     UID and FLAGS; other items beside them are refused with BAD);
//   - STORE and UID STORE of X-GM-LABELS, +X-GM-LABELS, -X-GM-LABELS
//     (.SILENT too): adding a label puts the message in that label's
//     folder, removing one takes it out, as Gmail's IMAP view shows it;
//   - SEARCH and UID SEARCH X-GM-MSGID id;
//   - SEARCH and UID SEARCH X-GM-RAW "query" for the terms label:,
//     in:inbox/sent/drafts/spam/trash/anywhere, is:starred, is:important,
//     has:nouserlabels and rfc822msgid: (ANDed); another term is refused
//     with NO, never answered wrongly.
//
// An APPEND into a label folder also puts the message in All Mail (once:
// the same bytes are the same message). The label table: a message is
// identified by its bytes; its X-GM-MSGID
// is given the first time the front sees it and never changes; its labels
// are the folders (but All Mail) that hold it, system folders as \Inbox,
// \Sent, \Draft, \Starred, \Important, \Spam, \Trash. X-GM-LABELS lists
// them in an order of Gmail's own, which its documentation leaves open:
// here the order the message was given them (put in their folders), and
// labels whose order is not known (a folder renamed) after those, by name.

// gmailSystemLabels are the system labels and their folders.
var gmailSystemLabels = map[string]string{
	`\Inbox`: "INBOX", `\Sent`: "[Gmail]/Sent Mail", `\Draft`: "[Gmail]/Drafts", `\Starred`: "[Gmail]/Starred",
	`\Important`: "[Gmail]/Important", `\Spam`: "[Gmail]/Spam", `\Trash`: "[Gmail]/Trash",
}

// gmailLabelOf is the label a folder stands for ("" for All Mail).
func gmailLabelOf(folder string) string {
	if folder == GmailAllMail {
		return ""
	}
	for l, f := range gmailSystemLabels {
		if f == folder {
			return l
		}
	}
	return folder
}

// gmailFolderOf is the folder of a label (system labels in any case).
func gmailFolderOf(label string) string {
	for l, f := range gmailSystemLabels {
		if strings.EqualFold(l, label) {
			return f
		}
	}
	if strings.EqualFold(label, "INBOX") {
		return "INBOX"
	}
	return label
}

// gmailTable is what the front knows beyond go-imap's store.
type gmailTable struct {
	mu        sync.Mutex
	passwords map[string]string              // user -> password, for the front's own reads
	ids       map[string]map[[32]byte]uint64 // user -> message bytes -> X-GM-MSGID
	next      uint64
	// Commands counts the extension commands the front answered;
	// frontAppends the APPENDs the front made to put a message in a
	// label's folder (not a client's).
	commands, frontAppends int
	// inAllMail: the bytes of each message of each user's All Mail. An
	// APPEND into a label folder puts a message there too, as on Gmail;
	// the same bytes again are the same message (Gmail merges a message
	// appended again with the same Message-ID into one with both labels).
	inAllMail map[string]map[[32]byte]bool
	// given: each user's messages' folders (but All Mail), in the order
	// the message was put in them: X-GM-LABELS' order.
	given map[string]map[[32]byte][]string
}

// mirrorToAllMail says whether an APPEND of body into mailbox must also
// put the message in All Mail, and notes it there (and the label the
// folder stands for, in the order labels were given).
func (t *gmailTable) mirrorToAllMail(user, mailbox string, body []byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.inAllMail == nil {
		t.inAllMail, t.given = map[string]map[[32]byte]bool{}, map[string]map[[32]byte][]string{}
	}
	if t.inAllMail[user] == nil {
		t.inAllMail[user], t.given[user] = map[[32]byte]bool{}, map[[32]byte][]string{}
	}
	sum := sha256.Sum256(body)
	if mailbox != GmailAllMail && !slices.Contains(t.given[user][sum], mailbox) {
		t.given[user][sum] = append(t.given[user][sum], mailbox)
	}
	switch mailbox {
	case GmailAllMail:
		t.inAllMail[user][sum] = true
		return false
	case "[Gmail]/Spam", "[Gmail]/Trash":
		return false
	}
	if t.inAllMail[user][sum] {
		return false
	}
	t.inAllMail[user][sum] = true
	return true
}

func (t *gmailTable) msgID(user string, sum [32]byte) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ids[user] == nil {
		t.ids[user] = map[[32]byte]uint64{}
	}
	id, ok := t.ids[user][sum]
	if !ok {
		t.next++
		id = 1_600_000_000_000_000_000 + t.next*7919 // large, as Gmail's are
		t.ids[user][sum] = id
	}
	return id
}

// GmailExtensionCommands says how many X-GM-EXT-1 commands the server
// answered: tests check that a client used them.
func (ms *MemServer) GmailExtensionCommands() int {
	ms.gmailExt.mu.Lock()
	defer ms.gmailExt.mu.Unlock()
	return ms.gmailExt.commands
}

// GmailFrontAppends says how many APPENDs the front made itself to put a
// message in a label's folder (STORE +X-GM-LABELS): the server's APPEND
// count less these is what clients appended.
func (ms *MemServer) GmailFrontAppends() int {
	ms.gmailExt.mu.Lock()
	defer ms.gmailExt.mu.Unlock()
	return ms.gmailExt.frontAppends
}

// gmailMsg is one message of a folder as the front reads it.
type gmailMsg struct {
	seq   uint32
	uid   imap.UID
	sum   [32]byte
	body  []byte
	flags []imap.Flag
	date  time.Time
	msgID []byte // Message-ID header value
}

// gmailView is an account as the front reads it: every folder's messages.
type gmailView struct {
	ms      *MemServer
	c       *imapclient.Client
	user    string
	folders map[string][]gmailMsg
	names   []string
}

func (ms *MemServer) gmailRead(user string) (*gmailView, error) {
	ms.gmailExt.mu.Lock()
	pw, ok := ms.gmailExt.passwords[user]
	ms.gmailExt.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("unknown user %q", user)
	}
	c, err := imapclient.DialInsecure(ms.Addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, pw).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	v := &gmailView{ms: ms, c: c, user: user, folders: map[string][]gmailMsg{}}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		c.Close()
		return nil, err
	}
	for _, l := range list {
		if slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) {
			continue
		}
		if err := v.read(l.Mailbox); err != nil {
			c.Close()
			return nil, err
		}
		v.names = append(v.names, l.Mailbox)
	}
	sort.Strings(v.names)
	return v, nil
}

var messageIDHeader = regexp.MustCompile(`(?im)^Message-ID:[ \t]*<?([^>\r\n]*)>?`)

func (v *gmailView) read(folder string) error {
	sel, err := v.c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return err
	}
	var ms []gmailMsg
	if sel.NumMessages > 0 {
		var seqs imap.SeqSet
		seqs.AddRange(1, 0)
		bufs, err := v.c.Fetch(seqs, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil {
			return err
		}
		for _, b := range bufs {
			body := b.FindBodySection(&imap.FetchItemBodySection{Peek: true})
			m := gmailMsg{seq: b.SeqNum, uid: b.UID, sum: sha256.Sum256(body), body: body, flags: b.Flags, date: b.InternalDate}
			if hm := messageIDHeader.FindSubmatch(body); hm != nil {
				m.msgID = hm[1]
			}
			ms = append(ms, m)
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].uid < ms[j].uid })
	v.folders[folder] = ms
	return nil
}

// labels are a message's labels: the folders but All Mail holding it, in
// the order it was given them (those of unknown order after, by name).
func (v *gmailView) labels(sum [32]byte) []string {
	var in []string
	for _, f := range v.names {
		if gmailLabelOf(f) == "" {
			continue
		}
		for _, m := range v.folders[f] {
			if m.sum == sum {
				in = append(in, f)
				break
			}
		}
	}
	v.ms.gmailExt.mu.Lock()
	given := v.ms.gmailExt.given[v.user][sum]
	v.ms.gmailExt.mu.Unlock()
	rank := func(f string) int {
		if i := slices.Index(given, f); i >= 0 {
			return i
		}
		return len(given)
	}
	slices.SortStableFunc(in, func(a, b string) int { return rank(a) - rank(b) }) // v.names is sorted by name
	out := make([]string, len(in))
	for i, f := range in {
		out[i] = gmailLabelOf(f)
	}
	return out
}

func (v *gmailView) close() { v.c.Logout().Wait(); v.c.Close() }

// gmailFront is one connection's front: it reads the client's commands.
type gmailFront struct {
	ms       *MemServer
	conn     *behaviourConn
	in       *bufio.Reader
	pending  []byte // bytes for go-imap's reader
	literal  int64  // bytes of a literal still to pass through
	user     string
	selected string
}

var (
	gmLiteralAtEnd = regexp.MustCompile(`\{(\d+)\+?\}\r?\n$`)
	gmFetchCmd     = regexp.MustCompile(`(?i)^(\S+) (UID )?FETCH (\S+) \((.*)\)\r?\n$`)
	gmStoreCmd     = regexp.MustCompile(`(?i)^(\S+) (UID )?STORE (\S+) ([+-]?)X-GM-LABELS(\.SILENT)? \((.*)\)\r?\n$`)
	gmSearchCmd    = regexp.MustCompile(`(?i)^(\S+) (UID )?SEARCH X-GM-RAW (.*)\r?\n$`)
	gmMsgIDSearch  = regexp.MustCompile(`(?i)^(\S+) (UID )?SEARCH X-GM-MSGID (\d+)\r?\n$`)
	gmSelectCmd    = regexp.MustCompile(`(?i)^\S+ (SELECT|EXAMINE) (.*?)\r?\n$`)
	gmLoginCmd     = regexp.MustCompile(`(?i)^\S+ LOGIN (\S+|"(?:[^"\\]|\\.)*") `)
	gmAuthPlainCmd = regexp.MustCompile(`(?i)^\S+ AUTHENTICATE PLAIN (\S+)\r?\n$`)
)

// Read gives go-imap the client's bytes but for the extension commands,
// which the front answers.
func (f *gmailFront) Read(p []byte) (int, error) {
	for len(f.pending) == 0 {
		if f.literal > 0 {
			n, err := f.in.Read(p[:min(int64(len(p)), f.literal)])
			f.literal -= int64(n)
			return n, err
		}
		line, err := f.in.ReadBytes('\n')
		if err != nil {
			if len(line) > 0 {
				f.pending = line
				break
			}
			return 0, err
		}
		if f.handle(line) {
			continue
		}
		f.pending = line
		if m := gmLiteralAtEnd.FindSubmatch(line); m != nil {
			f.literal, _ = strconv.ParseInt(string(m[1]), 10, 64)
		}
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	return n, nil
}

// handle answers line when it is an extension command; it notes the
// user and the selected folder of the lines it passes on.
func (f *gmailFront) handle(line []byte) bool {
	s := string(line)
	if m := gmLoginCmd.FindStringSubmatch(s); m != nil {
		f.user = unquoteIMAP(m[1])
	}
	if m := gmAuthPlainCmd.FindStringSubmatch(s); m != nil {
		if b, err := base64.StdEncoding.DecodeString(m[1]); err == nil {
			if parts := strings.Split(string(b), "\x00"); len(parts) == 3 {
				f.user = parts[1]
				if parts[0] != "" {
					f.user = parts[0]
				}
			}
		}
	}
	if m := gmSelectCmd.FindStringSubmatch(s); m != nil {
		f.selected = unquoteIMAP(m[2])
		if decoded := decodeUTF7(f.selected); decoded != "" {
			f.selected = decoded
		}
		if strings.EqualFold(f.selected, "INBOX") {
			f.selected = "INBOX"
		}
	}
	var answer string
	switch {
	case gmFetchCmd.MatchString(s) && strings.Contains(strings.ToUpper(s), "X-GM-"):
		answer = f.fetch(gmFetchCmd.FindStringSubmatch(s))
	case gmStoreCmd.MatchString(s):
		answer = f.store(gmStoreCmd.FindStringSubmatch(s))
	case gmSearchCmd.MatchString(s):
		answer = f.search(gmSearchCmd.FindStringSubmatch(s))
	case gmMsgIDSearch.MatchString(s):
		answer = f.searchMsgID(gmMsgIDSearch.FindStringSubmatch(s))
	default:
		return false
	}
	f.ms.gmailExt.mu.Lock()
	f.ms.gmailExt.commands++
	f.ms.gmailExt.mu.Unlock()
	f.conn.writeRaw([]byte(answer))
	return true
}

func unquoteIMAP(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(s[1 : len(s)-1])
	}
	return s
}

// view reads the account and the selected folder, or says why not.
func (f *gmailFront) view(tag string) (*gmailView, []gmailMsg, string) {
	if f.user == "" || f.selected == "" {
		return nil, nil, tag + " BAD [testimap] log in and select a folder first\r\n"
	}
	v, err := f.ms.gmailRead(f.user)
	if err != nil {
		return nil, nil, fmt.Sprintf("%s NO [testimap] %v\r\n", tag, err)
	}
	msgs, ok := v.folders[f.selected]
	if !ok {
		v.close()
		return nil, nil, tag + " NO [NONEXISTENT] no such folder\r\n"
	}
	return v, msgs, ""
}

// inSet: whether a message is in the command's sequence or UID set.
func inSet(set string, m gmailMsg, byUID bool, last gmailMsg) bool {
	n := uint32(m.seq)
	max := uint32(last.seq)
	if byUID {
		n, max = uint32(m.uid), uint32(last.uid)
	}
	for part := range strings.SplitSeq(set, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, b := parseSeqNum(lo, max), parseSeqNum(hi, max)
		if !isRange {
			b = a
		}
		if a > b {
			a, b = b, a
		}
		if n >= a && n <= b {
			return true
		}
	}
	return false
}

func parseSeqNum(s string, max uint32) uint32 {
	if s == "*" {
		return max
	}
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

func quoteLabel(l string) string {
	if strings.HasPrefix(l, `\`) {
		return l
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(encodeUTF7(l)) + `"`
}

func (f *gmailFront) labelList(v *gmailView, m gmailMsg) string {
	var ls []string
	for _, l := range v.labels(m.sum) {
		ls = append(ls, quoteLabel(l))
	}
	return "(" + strings.Join(ls, " ") + ")"
}

func (f *gmailFront) fetch(m []string) string {
	tag, byUID, set, items := m[1], m[2] != "", m[3], strings.Fields(strings.ToUpper(m[4]))
	for _, it := range items {
		switch it {
		case "UID", "FLAGS", "X-GM-MSGID", "X-GM-THRID", "X-GM-LABELS":
		default:
			return fmt.Sprintf("%s BAD [testimap] the Gmail front answers X-GM-MSGID, X-GM-THRID and X-GM-LABELS with UID and FLAGS only, not %s\r\n", tag, it)
		}
	}
	v, msgs, bad := f.view(tag)
	if bad != "" {
		return bad
	}
	defer v.close()
	var b strings.Builder
	for _, msg := range msgs {
		if !inSet(set, msg, byUID, msgs[len(msgs)-1]) {
			continue
		}
		parts := []string{}
		if byUID || slices.Contains(items, "UID") {
			parts = append(parts, fmt.Sprintf("UID %d", msg.uid))
		}
		for _, it := range items {
			switch it {
			case "FLAGS":
				var fl []string
				for _, x := range msg.flags {
					fl = append(fl, string(x))
				}
				parts = append(parts, "FLAGS ("+strings.Join(fl, " ")+")")
			case "X-GM-MSGID", "X-GM-THRID":
				parts = append(parts, fmt.Sprintf("%s %d", it, f.ms.gmailExt.msgID(f.user, msg.sum)))
			case "X-GM-LABELS":
				parts = append(parts, "X-GM-LABELS "+f.labelList(v, msg))
			}
		}
		fmt.Fprintf(&b, "* %d FETCH (%s)\r\n", msg.seq, strings.Join(parts, " "))
	}
	b.WriteString(tag + " OK Success\r\n")
	return b.String()
}

// parseLabels reads a STORE's label list: atoms and quoted strings.
func parseLabels(s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			out = append(out, decodeUTF7(unquoteIMAP(s[:min(end+1, len(s))])))
			s = s[min(end+1, len(s)):]
			continue
		}
		word, rest, _ := strings.Cut(s, " ")
		if !strings.HasPrefix(word, `\`) {
			word = decodeUTF7(word)
		}
		out, s = append(out, word), rest
	}
	return out
}

func (f *gmailFront) store(m []string) string {
	tag, byUID, set, op, silent, labels := m[1], m[2] != "", m[3], m[4], m[5] != "", parseLabels(m[6])
	v, msgs, bad := f.view(tag)
	if bad != "" {
		return bad
	}
	defer v.close()
	var touched []gmailMsg
	for _, msg := range msgs {
		if !inSet(set, msg, byUID, msgs[len(msgs)-1]) {
			continue
		}
		touched = append(touched, msg)
		want := map[string]bool{}
		var order []string // the labels' folders as given: X-GM-LABELS' order
		for _, l := range labels {
			if fo := gmailFolderOf(l); !want[fo] {
				want[fo] = true
				order = append(order, fo)
			}
		}
		if op == "" { // replace: remove the labels not given
			for _, l := range v.labels(msg.sum) {
				if fo := gmailFolderOf(l); !want[fo] && fo != f.selected {
					if err := v.remove(fo, msg.sum); err != nil {
						return fmt.Sprintf("%s NO [testimap] %v\r\n", tag, err)
					}
				}
			}
		}
		for _, fo := range order {
			var err error
			if op == "-" {
				err = v.remove(fo, msg.sum)
			} else {
				err = v.add(fo, msg)
			}
			if err != nil {
				return fmt.Sprintf("%s NO [testimap] %v\r\n", tag, err)
			}
		}
	}
	var b strings.Builder
	if !silent {
		for _, msg := range touched {
			fmt.Fprintf(&b, "* %d FETCH (UID %d X-GM-LABELS %s)\r\n", msg.seq, msg.uid, f.labelList(v, msg))
		}
	}
	b.WriteString(tag + " OK Success\r\n")
	return b.String()
}

// add puts a message in a label's folder (created as Gmail creates a
// label on first use), once.
func (v *gmailView) add(folder string, msg gmailMsg) error {
	if folder == GmailAllMail {
		return nil
	}
	if _, ok := v.folders[folder]; !ok {
		if err := v.c.Create(folder, nil).Wait(); err != nil {
			return err
		}
		v.names = append(v.names, folder)
		sort.Strings(v.names)
	}
	for _, m := range v.folders[folder] {
		if m.sum == msg.sum {
			return nil
		}
	}
	v.ms.gmailExt.mu.Lock()
	v.ms.gmailExt.frontAppends++
	v.ms.gmailExt.mu.Unlock()
	cmd := v.c.Append(folder, int64(len(msg.body)), &imap.AppendOptions{Flags: msg.flags, Time: msg.date})
	cmd.Write(msg.body)
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		return err
	}
	return v.read(folder)
}

// remove takes a message out of a label's folder.
func (v *gmailView) remove(folder string, sum [32]byte) error {
	if folder == GmailAllMail {
		return nil
	}
	var uids imap.UIDSet
	for _, m := range v.folders[folder] {
		if m.sum == sum {
			uids.AddNum(m.uid)
		}
	}
	if len(uids) == 0 {
		return nil
	}
	v.ms.gmailExt.mu.Lock() // given again later, the label goes last
	if g := v.ms.gmailExt.given[v.user]; g != nil {
		g[sum] = slices.DeleteFunc(g[sum], func(f string) bool { return f == folder })
	}
	v.ms.gmailExt.mu.Unlock()
	if _, err := v.c.Select(folder, nil).Wait(); err != nil {
		return err
	}
	if err := v.c.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		return err
	}
	if err := v.c.Expunge().Close(); err != nil {
		return err
	}
	return v.read(folder)
}

func (f *gmailFront) search(m []string) string {
	tag, byUID, query := m[1], m[2] != "", unquoteIMAP(strings.TrimSpace(m[3]))
	v, msgs, bad := f.view(tag)
	if bad != "" {
		return bad
	}
	defer v.close()
	var hits []string
	for _, msg := range msgs {
		labels := v.labels(msg.sum)
		match := true
		for _, term := range strings.Fields(query) {
			key, val, _ := strings.Cut(strings.ToLower(term), ":")
			val = strings.Trim(val, `"`)
			var ok bool
			switch key {
			case "label":
				for _, l := range labels {
					name := strings.ToLower(strings.TrimPrefix(l, `\`))
					if name == val || strings.ReplaceAll(name, "/", "-") == val || strings.ReplaceAll(name, " ", "-") == val {
						ok = true
					}
				}
			case "in":
				if val == "anywhere" {
					ok = true
					break
				}
				sys := map[string]string{"inbox": `\Inbox`, "sent": `\Sent`, "drafts": `\Draft`, "spam": `\Spam`, "trash": `\Trash`}[val]
				ok = sys != "" && slices.Contains(labels, sys)
			case "is":
				sys := map[string]string{"starred": `\Starred`, "important": `\Important`}[val]
				ok = sys != "" && slices.Contains(labels, sys)
			case "has":
				if val != "nouserlabels" {
					return fmt.Sprintf("%s NO [testimap] X-GM-RAW term %q is not emulated\r\n", tag, term)
				}
				ok = true
				for _, l := range labels {
					if !strings.HasPrefix(l, `\`) {
						ok = false
					}
				}
			case "rfc822msgid":
				ok = strings.EqualFold(strings.Trim(val, "<>"), string(msg.msgID))
			default:
				return fmt.Sprintf("%s NO [testimap] X-GM-RAW term %q is not emulated\r\n", tag, term)
			}
			match = match && ok
		}
		if match {
			n := uint32(msg.seq)
			if byUID {
				n = uint32(msg.uid)
			}
			hits = append(hits, strconv.FormatUint(uint64(n), 10))
		}
	}
	return "* SEARCH" + func() string {
		if len(hits) == 0 {
			return ""
		}
		return " " + strings.Join(hits, " ")
	}() + "\r\n" + tag + " OK SEARCH completed (Success)\r\n"
}

// searchMsgID answers SEARCH X-GM-MSGID id: the message's number in the
// selected folder, if it is there.
func (f *gmailFront) searchMsgID(m []string) string {
	tag, byUID := m[1], m[2] != ""
	want, _ := strconv.ParseUint(m[3], 10, 64)
	v, msgs, bad := f.view(tag)
	if bad != "" {
		return bad
	}
	defer v.close()
	var hits []string
	for _, msg := range msgs {
		if f.ms.gmailExt.msgID(f.user, msg.sum) == want {
			n := uint32(msg.seq)
			if byUID {
				n = uint32(msg.uid)
			}
			hits = append(hits, " "+strconv.FormatUint(uint64(n), 10))
		}
	}
	return "* SEARCH" + strings.Join(hits, "") + "\r\n" + tag + " OK SEARCH completed (Success)\r\n"
}

// decodeUTF7 reads modified UTF-7 (RFC 3501 5.1.3), leaving invalid text as is.
func decodeUTF7(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '&' {
			sb.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '-')
		if end < 0 {
			return s
		}
		enc := s[i+1 : i+end]
		i += end + 1
		if enc == "" {
			sb.WriteByte('&')
			continue
		}
		b, err := base64.RawStdEncoding.DecodeString(strings.ReplaceAll(enc, ",", "/"))
		if err != nil || len(b)%2 != 0 {
			return s
		}
		u := make([]uint16, 0, len(b)/2)
		for j := 0; j+1 < len(b); j += 2 {
			u = append(u, uint16(b[j])<<8|uint16(b[j+1]))
		}
		sb.WriteString(string(utf16.Decode(u)))
	}
	return sb.String()
}

// encodeUTF7 writes modified UTF-7 for names outside printable ASCII.
func encodeUTF7(s string) string {
	var sb strings.Builder
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		sb.WriteString("&" + strings.ReplaceAll(base64.RawStdEncoding.EncodeToString(run), "/", ",") + "-")
		run = run[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				sb.WriteString("&-")
			} else {
				sb.WriteRune(r)
			}
			continue
		}
		if r > 0xffff { // a surrogate pair
			r -= 0x10000
			hi, lo := 0xd800+(r>>10), 0xdc00+(r&0x3ff)
			run = append(run, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
			continue
		}
		run = append(run, byte(r>>8), byte(r))
	}
	flush()
	return sb.String()
}

var _ io.Reader = (*gmailFront)(nil)
