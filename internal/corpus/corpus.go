// Package corpus generates deterministic, realistic test mailboxes.
//
// A Corpus is a list of folders and messages. Generating one is cheap: a
// Message only keeps a few generation parameters, and its RFC 5322 bytes are
// produced on demand by Message.Bytes or streamed by Message.WriteTo. The same
// Spec always yields a byte-identical corpus (the generator uses integer-only
// arithmetic and its own PRNG, so this also holds across platforms).
//
// Generate builds the "ordinary" corpus (heavy-tailed sizes, nested and
// international folder names, the five special-use folders, realistic flags
// and dates); Awkward builds a small set of messages and folders that are
// known to trip up migration tools. Load appends a corpus into an IMAP
// account.
package corpus

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Spec describes a generated corpus. The zero value of every field except Seed
// selects a default.
type Spec struct {
	Seed     int64
	Messages int   // total messages across folders
	Folders  int   // number of folders besides INBOX (nested, international and special-use ones)
	MaxSize  int64 // cap on generated message size in bytes; 0 = 4 MiB
	MinSize  int64 // floor on generated message size in bytes; 0 = 1 KiB (values below 1 KiB are raised to 1 KiB)

	// Now is the reference time: message dates spread over the ~3 years
	// before it. The zero value means Epoch(), which keeps the corpus
	// independent of the wall clock. Set it to time.Now() (e.g. in a demo)
	// to make "older than N days" filters behave as they would on a live
	// account.
	Now time.Time
}

// Folder is a mailbox of the corpus.
type Folder struct {
	Path       []string // hierarchy segments, e.g. {"Projects","2024","Q1 Überblick"}; INBOX is {"INBOX"}
	SpecialUse string   // "" or one of `\Sent` `\Drafts` `\Trash` `\Junk` `\Archive`
	Subscribed bool
}

// Name returns the folder's path joined with "/" (for messages and logs; see
// MailboxName for the name on a server).
func (f Folder) Name() string { return strings.Join(f.Path, "/") }

// Message is one message of the corpus. Its content is generated on demand.
//
// Flags slices may be shared between messages: do not modify them.
type Message struct {
	Folder    int       // index into Corpus.Folders
	Size      int64     // exact byte length of Bytes()
	Flags     []string  // IMAP flags and keywords, e.g. `\Seen`, `$Forwarded`
	Date      time.Time // internal date (UTC, second precision)
	MessageID string    // Message-ID header value including the angle brackets; "" when the message has none

	seed uint64 // content seed
	kind kind
}

// Corpus is a set of folders and the messages in them. Within a folder,
// messages are listed in the order Load appends them.
type Corpus struct {
	Folders  []Folder
	Messages []Message
}

// TotalBytes returns the sum of all message sizes.
func (c *Corpus) TotalBytes() int64 {
	var n int64
	for i := range c.Messages {
		n += c.Messages[i].Size
	}
	return n
}

// Epoch returns the default reference time of generated corpora
// (2026-01-01T00:00:00Z).
func Epoch() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

const (
	defaultMaxSize = 4 << 20
	minMinSize     = 1 << 10
	dateSpan       = 3 * 365 * 24 * 3600 // seconds
)

// IMAP flags used by the generator.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDraft    = `\Draft`
	KeywordFwd   = `$Forwarded`
	KeywordJunk  = `$Junk`
	KeywordProj  = `Project-X`
)

var flagNames = [...]string{FlagSeen, FlagAnswered, FlagFlagged, FlagDraft, KeywordFwd, KeywordJunk, KeywordProj}

const (
	fSeen = 1 << iota
	fAnswered
	fFlagged
	fDraft
	fForwarded
	fJunk
	fProjectX
	fAll
)

// flagSet interns flag slices by bitmask so that messages share them.
type flagSet [fAll][]string

func (fs *flagSet) get(mask int) []string {
	if fs[mask] == nil {
		l := make([]string, 0, 4)
		for i, name := range flagNames {
			if mask&(1<<i) != 0 {
				l = append(l, name)
			}
		}
		fs[mask] = l[:len(l):len(l)]
	}
	return fs[mask]
}

type folderDef struct {
	path   string // "/"-separated segments
	use    string
	sub    bool
	weight int
}

const inboxWeight = 35

// folderPool lists the folders of generated corpora, parents before children,
// so any prefix of it is closed under "parent of".
var folderPool = []folderDef{
	{"Sent", `\Sent`, true, 15},
	{"Drafts", `\Drafts`, true, 1},
	{"Trash", `\Trash`, true, 4},
	{"Junk", `\Junk`, true, 3},
	{"Archive", `\Archive`, true, 10},
	{"Projects", "", true, 3},
	{"Projects/2024", "", true, 2},
	{"Projects/2024/Q1 Überblick", "", true, 3},
	{"Rechnungen", "", true, 3},
	{"Reçus & Factures", "", true, 2},
	{"Работа", "", true, 3},
	{"請求書", "", true, 2},
	{"🎉 Events", "", true, 1},
	{"Travel Plans", "", false, 2},
	{"Archive/2023", "", true, 4},
	{"Clients", "", true, 1},
	{"Clients/Müller GmbH", "", true, 2},
	{"Clients/Müller GmbH/Verträge", "", true, 2},
	{"Clients/Müller GmbH/Verträge/2023", "", true, 2},
	{"Projects/2024/Q2 Résumé", "", true, 2},
	{"Работа/Отчёты", "", true, 2},
	{"プロジェクト", "", true, 1},
	{"プロジェクト/東京 オフィス", "", true, 2},
	{"Newsletters", "", false, 3},
	{"Family & Friends", "", true, 2},
	{"Ελληνικά", "", true, 1},
}

func folderDefAt(i int) folderDef {
	if i < len(folderPool) {
		return folderPool[i]
	}
	k := i - len(folderPool) + 1
	return folderDef{
		path:   "Newsletters/Digest " + pad3(k),
		sub:    k%3 != 0,
		weight: 1,
	}
}

func pad3(k int) string {
	s := strconv.Itoa(k)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}

// Generate builds a corpus from spec. It does not build message bytes; the
// same spec always gives an identical corpus.
func Generate(spec Spec) *Corpus {
	minSize, maxSize := spec.MinSize, spec.MaxSize
	if minSize < minMinSize {
		minSize = minMinSize
	}
	if maxSize <= 0 {
		maxSize = defaultMaxSize
	}
	if maxSize > 1<<40 {
		maxSize = 1 << 40
	}
	if maxSize < minSize {
		maxSize = minSize
	}
	now := spec.Now
	if now.IsZero() {
		now = Epoch()
	}
	nowSec := now.Unix()

	nf := max(spec.Folders, 0)
	c := &Corpus{Folders: make([]Folder, 0, nf+1)}
	c.Folders = append(c.Folders, Folder{Path: []string{"INBOX"}, Subscribed: true})
	cum := make([]int, 0, nf+1) // cumulative folder weights
	cum = append(cum, inboxWeight)
	roles := make([]kind, 0, nf+1)
	roles = append(roles, kindNormal)
	for i := 0; i < nf; i++ {
		d := folderDefAt(i)
		c.Folders = append(c.Folders, Folder{Path: strings.Split(d.path, "/"), SpecialUse: d.use, Subscribed: d.sub})
		cum = append(cum, cum[len(cum)-1]+d.weight)
		roles = append(roles, roleKind(d.use))
	}
	total := cum[len(cum)-1]

	n := max(spec.Messages, 0)
	c.Messages = make([]Message, n)
	var flags flagSet
	hasID := make([]bool, n)
	for i := range c.Messages {
		s := mix(uint64(spec.Seed), uint64(i))
		r := rng{s}
		m := &c.Messages[i]
		w := r.intn(total)
		m.Folder, _ = slices.BinarySearch(cum, w+1)
		m.kind = roles[m.Folder]
		m.seed = mix(s, 1)
		m.Size = sampleSize(&r, minSize, maxSize)
		age := min(r.int63n(dateSpan), r.int63n(dateSpan)) + 60 // skewed towards recent mail
		m.Date = time.Unix(nowSec-age, 0).UTC()
		m.Flags = flags.get(sampleFlags(&r, m.kind, m.Folder, age))
		hasID[i] = m.kind != kindDraft || r.pct(60)
	}

	// Order by folder, then date, so that Load appends each folder
	// chronologically. hasID travels with its message via the seed.
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		ma, mb := &c.Messages[a], &c.Messages[b]
		if ma.Folder != mb.Folder {
			return ma.Folder - mb.Folder
		}
		if c := ma.Date.Compare(mb.Date); c != 0 {
			return c
		}
		if ma.seed != mb.seed {
			if ma.seed < mb.seed {
				return -1
			}
			return 1
		}
		return int(a - b)
	})
	sorted := make([]Message, n)
	sortedHasID := make([]bool, n)
	for i, j := range idx {
		sorted[i] = c.Messages[j]
		sortedHasID[i] = hasID[j]
	}
	c.Messages = sorted

	// Message-IDs live in one shared string to keep per-message memory low.
	var b strings.Builder
	b.Grow(n * 48)
	ends := make([]int, n)
	for i := range c.Messages {
		if sortedHasID[i] {
			appendMessageID(&b, &c.Messages[i])
		}
		ends[i] = b.Len()
	}
	all := b.String()
	start := 0
	for i := range c.Messages {
		c.Messages[i].MessageID = all[start:ends[i]]
		start = ends[i]
	}
	return c
}

func roleKind(use string) kind {
	switch use {
	case `\Sent`:
		return kindSent
	case `\Drafts`:
		return kindDraft
	case `\Junk`:
		return kindJunk
	case `\Trash`:
		return kindTrash
	case `\Archive`:
		return kindArchive
	}
	return kindNormal
}

func appendMessageID(b *strings.Builder, m *Message) {
	var buf [64]byte
	out := append(buf[:0], '<')
	out = strconv.AppendUint(out, m.seed, 36)
	out = append(out, '.')
	out = strconv.AppendInt(out, m.Date.Unix(), 36)
	out = append(out, '@')
	out = append(out, idDomains[m.seed%uint64(len(idDomains))]...)
	out = append(out, '>')
	b.Write(out)
}

var idDomains = []string{"mail.example.com", "example.org", "mx.firma.example", "smtp.example.net", "ferry.example"}

// sampleSize draws a heavy-tailed size: a log-normal bulk (median 5 KiB,
// sigma 1.25) plus a 1% log-uniform tail from 512 KiB up to maxSize.
func sampleSize(r *rng, minSize, maxSize int64) int64 {
	var size int64
	if r.intn(1000) < 10 {
		lo := min(int64(512<<10), maxSize/8)
		lo = max(lo, minSize)
		llo, lhi := log2q(lo), log2q(maxSize)
		l := llo
		if lhi > llo {
			l += r.int63n(lhi - llo + 1)
		}
		size = exp2q(l)
	} else {
		// sigma / ln 2 = 1.803 = 462/256
		size = exp2q(log2q(5<<10) + r.normalQ16()*462>>8)
	}
	return min(max(size, minSize), maxSize)
}

func sampleFlags(r *rng, k kind, folder int, age int64) int {
	f := 0
	switch k {
	case kindSent:
		f = fSeen
	case kindDraft:
		f = fSeen | fDraft
	case kindTrash:
		if r.pct(95) {
			f |= fSeen
		}
	case kindJunk:
		if r.pct(30) {
			f |= fSeen
		}
		if r.pct(60) {
			f |= fJunk
		}
	case kindArchive:
		f = fSeen
		if r.pct(20) {
			f |= fAnswered
		}
		if r.pct(3) {
			f |= fFlagged
		}
	default:
		seen := 93
		if age < 30*24*3600 {
			seen = 60
		}
		if r.pct(seen) {
			f |= fSeen
			if r.pct(15) {
				f |= fAnswered
			}
			if r.pct(4) {
				f |= fForwarded
			}
		}
		if r.pct(5) {
			f |= fFlagged
		}
		if r.intn(1000) < 15 {
			f |= fProjectX
		}
	}
	return f
}

// Awkward returns the awkward corpus: messages that commonly break migration
// tools, in a folder structure of its own. Use Message.Kind to tell them
// apart:
//
//   - "no-message-id": no Message-ID header (MessageID is "")
//   - "raw-8bit-headers": raw UTF-8 in Subject and raw Latin-1 in From
//   - "bare-lf": LF line ends only, no CR anywhere
//   - "empty-body": header, blank line, nothing after
//   - "long-line": a body line of exactly 12,000 characters
//   - "huge": a 30 MiB multipart message with a base64 attachment
//   - "duplicate-a", "duplicate-b": same Message-ID, Date, headers and size,
//     different body bytes
//   - "no-date": no Date header
//   - "deep-folder": in a folder 9 levels deep
//   - "emoji-folder": in the folder "📦 Archive 2019"
//
// Folder 0 is INBOX; there is also an empty, unsubscribed folder.
func Awkward(seed int64) *Corpus {
	deep := []string{"Kunden", "Europa", "Deutschland", "Bayern", "München", "Müller & Söhne GmbH", "Verträge", "2019", "Anhänge – Entwürfe"}
	c := &Corpus{Messages: make([]Message, 0, 16)}
	c.Folders = append(c.Folders, Folder{Path: []string{"INBOX"}, Subscribed: true})
	for i := range deep {
		c.Folders = append(c.Folders, Folder{Path: slices.Clone(deep[:i+1]), Subscribed: true})
	}
	deepFolder := len(c.Folders) - 1
	c.Folders = append(c.Folders,
		Folder{Path: []string{"📦 Archive 2019"}, Subscribed: true},
		Folder{Path: []string{"空のフォルダ"}, Subscribed: false},
	)
	emojiFolder := deepFolder + 1

	var flags flagSet
	base := Epoch().Unix()
	add := func(k kind, folder int, size int64, daysAgo int64, f int) *Message {
		i := len(c.Messages)
		s := mix(uint64(seed), uint64(1000+i))
		m := Message{
			Folder: folder,
			Size:   size,
			Flags:  flags.get(f),
			Date:   time.Unix(base-daysAgo*86400-int64(s%86400), 0).UTC(),
			seed:   s,
			kind:   k,
		}
		if k != kindNoMessageID {
			var b strings.Builder
			appendMessageID(&b, &m)
			m.MessageID = b.String()
		}
		c.Messages = append(c.Messages, m)
		return &c.Messages[len(c.Messages)-1]
	}
	add(kindNoMessageID, 0, 3000, 400, fSeen)
	add(kindRaw8bit, 0, 2600, 350, fSeen)
	add(kindBareLF, 0, 4100, 300, fSeen|fFlagged)
	e := add(kindEmptyBody, 0, 0, 250, 0)
	e.Size = int64(len(e.layout().hdr))
	add(kindLongLine, 0, 16000, 200, fSeen)
	add(kindHuge, 0, 30<<20, 150, fSeen)
	a := add(kindDupA, 0, 6000, 100, fSeen)
	b := add(kindDupB, 0, 6000, 100, fSeen)
	b.seed, b.Date, b.MessageID = a.seed, a.Date, a.MessageID
	add(kindNoDate, 0, 3200, 50, 0)
	add(kindDeep, deepFolder, 5000, 700, fSeen|fAnswered)
	add(kindEmoji, emojiFolder, 7000, 2000, fSeen)
	return c
}
