package engine

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/store"
)

// Roles are the special-use folders, mapped by what they are for rather than their names.
var roles = []imap.MailboxAttr{imap.MailboxAttrSent, imap.MailboxAttrDrafts, imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive}

// roleNames recognises special folders on servers that do not announce
// SPECIAL-USE (Exchange 2003, older Cyrus and Zimbra), by their usual names.
var roleNames = map[string]imap.MailboxAttr{
	"sent": imap.MailboxAttrSent, "sent items": imap.MailboxAttrSent, "sent messages": imap.MailboxAttrSent, "sent mail": imap.MailboxAttrSent,
	"gesendete objekte": imap.MailboxAttrSent, "gesendet": imap.MailboxAttrSent, "éléments envoyés": imap.MailboxAttrSent,
	"drafts": imap.MailboxAttrDrafts, "draft": imap.MailboxAttrDrafts, "entwürfe": imap.MailboxAttrDrafts, "brouillons": imap.MailboxAttrDrafts,
	"trash": imap.MailboxAttrTrash, "deleted items": imap.MailboxAttrTrash, "deleted messages": imap.MailboxAttrTrash, "bin": imap.MailboxAttrTrash,
	"papierkorb": imap.MailboxAttrTrash, "gelöschte elemente": imap.MailboxAttrTrash, "corbeille": imap.MailboxAttrTrash,
	"junk": imap.MailboxAttrJunk, "spam": imap.MailboxAttrJunk, "junk e-mail": imap.MailboxAttrJunk, "junk email": imap.MailboxAttrJunk, "bulk mail": imap.MailboxAttrJunk,
	"archive": imap.MailboxAttrArchive, "archives": imap.MailboxAttrArchive, "archiv": imap.MailboxAttrArchive,
}

// Folder is a folder as a server lists it.
type Folder struct {
	Name       string
	Role       imap.MailboxAttr // "" or one of roles
	Subscribed bool
	NoSelect   bool
	// Skip is set for virtual folders whose messages live elsewhere too (Gmail's All Mail, Starred).
	Skip bool
	// All: the folder holds every message (\All: Gmail's All Mail).
	All bool
	// Special is \Flagged or \Important for Gmail's Starred and Important
	// folders (which are Skip), "" for others.
	Special imap.MailboxAttr
}

// Namespace is how a server arranges names: separator and personal prefix.
type Namespace struct {
	Delim  rune
	Prefix string
}

// segments splits a server name into its hierarchy below the personal prefix.
func (ns Namespace) segments(name string) []string {
	if strings.EqualFold(name, "INBOX") {
		return []string{"INBOX"}
	}
	rest := name
	if ns.Prefix != "" && strings.HasPrefix(strings.ToUpper(name), strings.ToUpper(ns.Prefix)) {
		rest = name[len(ns.Prefix):]
	}
	if ns.Delim == 0 {
		return []string{rest}
	}
	return strings.Split(rest, string(ns.Delim))
}

// join builds a server name from hierarchy segments. A separator inside a
// segment would create a folder level that the source did not have, so it
// becomes '_'.
func (ns Namespace) join(segs []string) string {
	clean := make([]string, len(segs))
	for i, s := range segs {
		if ns.Delim != 0 {
			s = strings.ReplaceAll(s, string(ns.Delim), "_")
		}
		clean[i] = s
	}
	if strings.EqualFold(clean[0], "INBOX") {
		if len(clean) == 1 {
			return "INBOX"
		}
		return "INBOX" + string(ns.Delim) + strings.Join(clean[1:], string(ns.Delim))
	}
	return ns.Prefix + strings.Join(clean, string(ns.Delim))
}

// DisplayPath is a folder's name with '/' between levels and no prefix, as
// users write it in --include/--exclude and as reports show it.
func (ns Namespace) DisplayPath(name string) string {
	return strings.Join(ns.segments(name), "/")
}

// roleOf returns the folder's role, announced or guessed from a top-level name.
func roleOf(ns Namespace, f Folder) imap.MailboxAttr {
	if f.Role != "" {
		return f.Role
	}
	segs := ns.segments(f.Name)
	if len(segs) == 1 {
		return roleNames[strings.ToLower(segs[0])]
	}
	return ""
}

// FolderPlan pairs a source folder with its destination.
type FolderPlan struct {
	Source     Folder
	Dest       string
	Path       string // display path of the source folder
	DestExists bool
	// Renamed says why Dest is not the source folder's own name on the
	// destination (another source folder already goes there, its parent
	// folder was renamed, or the destination refused the name); "" when it is.
	Renamed string
}

func (p FolderPlan) mapping() store.FolderMapping {
	return store.FolderMapping{Source: p.Source.Name, Dest: p.Dest, Renamed: p.Renamed}
}

// foldName is how destination names are compared: without regard to case,
// as many servers do (INBOX always), so that two source folders never meet
// in one destination folder on any of them.
func foldName(name string) string { return strings.ToLower(name) }

// under builds a destination name below parent from source levels, with
// the separator inside a level replaced as join does.
func (ns Namespace) under(parent string, segs []string) string {
	clean := make([]string, len(segs))
	for i, s := range segs {
		if ns.Delim != 0 {
			s = strings.ReplaceAll(s, string(ns.Delim), "_")
		}
		clean[i] = s
	}
	return parent + string(ns.Delim) + strings.Join(clean, string(ns.Delim))
}

// MapFolders decides where each source folder goes.
//
// The map is injective: no two source folders share a destination folder,
// names compared without regard to case. It does not depend on the order in
// which a server lists folders, and it is kept: kept is the map of earlier
// passes (store.FolderMapping), and a folder found there keeps its
// destination while a folder seen for the first time never takes a name
// the map already gives out. A folder goes
//   - where kept says;
//   - else to the destination's folder of its role, when both sides have one
//     (announced roles before roles guessed from names);
//   - else to its own name translated between the namespaces (below the
//     destination of a renamed parent folder, so that the hierarchy stays);
//   - and when another folder holds that name, to the name followed by
//     " (2)", " (3)"..., the first one free. Which folder keeps the name is
//     decided by rank: INBOX, then fewer levels, then a name that needed no
//     separator replaced, then the path in byte order.
//
// Filters are applied to display paths.
func MapFolders(src []Folder, srcNS Namespace, dst []Folder, dstNS Namespace, filter Filter, kept []store.FolderMapping) []FolderPlan {
	existing := map[string]bool{}
	for _, f := range dst {
		if !f.NoSelect {
			existing[f.Name] = true
		}
	}
	byRole := destinationRoles(dst, dstNS)

	var plans []*FolderPlan
	for _, f := range src {
		path := srcNS.DisplayPath(f.Name)
		if f.NoSelect || !filter.Wants(path, f.Skip) {
			continue
		}
		plans = append(plans, &FolderPlan{Source: f, Path: path})
	}
	rank := func(name string) folderRank { return rankOf(name, srcNS, dstNS) }
	sort.SliceStable(plans, func(i, j int) bool { return rank(plans[i].Source.Name).less(rank(plans[j].Source.Name)) })

	// holder: folded destination name -> the source folder (display path)
	// that goes there, and the name as given out.
	type holding struct{ path, dest string }
	holder := map[string]holding{"inbox": {"INBOX", "INBOX"}}
	claim := func(dest, path string) bool {
		if h, ok := holder[foldName(dest)]; ok && h.path != path {
			return false
		}
		holder[foldName(dest)] = holding{path, dest}
		return true
	}
	// decided: display path -> the mapping of a folder whose destination is
	// known, for the folders of this pass and those of earlier passes.
	decided := map[string]store.FolderMapping{}

	// 1. The map of earlier passes, also for folders not in this pass (they
	// keep their names). Rank decides between two that meet, which only a
	// state file written before the map was kept can hold.
	kept = slices.Clone(kept)
	slices.SortStableFunc(kept, func(a, b store.FolderMapping) int { return rank(a.Source).compare(rank(b.Source)) })
	for _, m := range kept {
		path := srcNS.DisplayPath(m.Source)
		if claim(m.Dest, path) {
			decided[path] = m
		}
	}
	// 2. Roles.
	roleOrder := slices.Clone(plans)
	sort.SliceStable(roleOrder, func(i, j int) bool { return roleOrder[i].Source.Role != "" && roleOrder[j].Source.Role == "" })
	for _, p := range roleOrder {
		if _, ok := decided[p.Path]; ok {
			continue
		}
		if r := roleOf(srcNS, p.Source); r != "" {
			if d, ok := byRole[r]; ok && claim(d, p.Path) {
				decided[p.Path] = store.FolderMapping{Source: p.Source.Name, Dest: d}
			}
		}
	}
	// natural is where a folder goes when its name is free.
	natural := func(p *FolderPlan) (string, string) {
		segs := srcNS.segments(p.Source.Name)
		for i := len(segs) - 1; i >= 1; i-- {
			if a, ok := decided[strings.Join(segs[:i], "/")]; ok && a.Renamed != "" {
				return dstNS.under(a.Dest, segs[i:]), fmt.Sprintf("its parent folder %s goes to %s", strings.Join(segs[:i], "/"), a.Dest)
			}
		}
		return dstNS.join(segs), ""
	}
	hasAncestorIn := func(p *FolderPlan, set map[string]bool) bool {
		segs := srcNS.segments(p.Source.Name)
		for i := 1; i < len(segs); i++ {
			if set[strings.Join(segs[:i], "/")] {
				return true
			}
		}
		return false
	}
	// 3. Own names, by rank; a folder whose name is held, and the folders
	// below it, wait for step 4.
	waiting := map[string]bool{}
	var later []*FolderPlan
	for _, p := range plans {
		if _, ok := decided[p.Path]; ok {
			continue
		}
		if hasAncestorIn(p, waiting) {
			later = append(later, p)
			continue
		}
		if d, why := natural(p); claim(d, p.Path) {
			decided[p.Path] = store.FolderMapping{Source: p.Source.Name, Dest: d, Renamed: why}
			continue
		}
		waiting[p.Path] = true
		later = append(later, p)
	}
	// 4. The first free name " (n)" for each folder whose name is held,
	// parents before children.
	for _, p := range later {
		d, why := natural(p)
		if !claim(d, p.Path) {
			h := holder[foldName(d)]
			why = fmt.Sprintf("source folder %s already goes to %s", h.path, h.dest)
			for n := 2; ; n++ {
				if alt := fmt.Sprintf("%s (%d)", d, n); claim(alt, p.Path) {
					d = alt
					break
				}
			}
		}
		decided[p.Path] = store.FolderMapping{Source: p.Source.Name, Dest: d, Renamed: why}
	}

	out := make([]FolderPlan, 0, len(plans))
	for _, p := range plans {
		m := decided[p.Path]
		p.Dest, p.Renamed = m.Dest, m.Renamed
		p.DestExists = existing[p.Dest] || strings.EqualFold(p.Dest, "INBOX")
		out = append(out, *p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// destinationRoles finds the destination's folder for each role: an
// announced role before a name that suggests it, then the first name in
// byte order, whatever order the server listed them in.
func destinationRoles(dst []Folder, ns Namespace) map[imap.MailboxAttr]string {
	sorted := slices.Clone(dst)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	byRole := map[imap.MailboxAttr]string{}
	announced := map[imap.MailboxAttr]bool{}
	for _, f := range sorted {
		if f.NoSelect {
			continue
		}
		r := roleOf(ns, f)
		if r == "" || announced[r] {
			continue
		}
		if _, guessed := byRole[r]; !guessed || f.Role != "" {
			byRole[r] = f.Name
			announced[r] = f.Role != ""
		}
	}
	return byRole
}

// folderRank orders source folders for the folder map: the first keeps a
// name that two would take.
type folderRank struct {
	notInbox bool
	depth    int
	altered  bool // a level holds the destination's separator, replaced by '_'
	path     string
}

func rankOf(name string, srcNS, dstNS Namespace) folderRank {
	segs := srcNS.segments(name)
	r := folderRank{notInbox: !strings.EqualFold(name, "INBOX"), depth: len(segs), path: strings.Join(segs, "/")}
	for _, s := range segs {
		if dstNS.Delim != 0 && strings.ContainsRune(s, dstNS.Delim) {
			r.altered = true
		}
	}
	return r
}

func (a folderRank) compare(b folderRank) int {
	boolInt := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	if c := boolInt(a.notInbox) - boolInt(b.notInbox); c != 0 {
		return c
	}
	if c := a.depth - b.depth; c != 0 {
		return c
	}
	if c := boolInt(a.altered) - boolInt(b.altered); c != 0 {
		return c
	}
	return strings.Compare(a.path, b.path)
}

func (a folderRank) less(b folderRank) bool { return a.compare(b) < 0 }

// Filter selects folders by pattern. '*' matches any run of characters,
// including the '/' between levels; '?' one character; case is ignored.
type Filter struct {
	Include []string
	Exclude []string
}

func globRE(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?i)^")
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func matchAny(patterns []string, path string) bool {
	for _, p := range patterns {
		if globRE(p).MatchString(path) {
			return true
		}
	}
	return false
}

// Wants reports whether a folder is migrated. Virtual folders (skipByDefault)
// are migrated only when an include pattern names them.
func (f Filter) Wants(path string, skipByDefault bool) bool {
	if matchAny(f.Exclude, path) {
		return false
	}
	if len(f.Include) > 0 {
		return matchAny(f.Include, path)
	}
	return !skipByDefault
}

// folderFromList turns a LIST answer into a Folder.
func folderFromList(d *imap.ListData) Folder {
	f := Folder{Name: d.Mailbox}
	for _, a := range d.Attrs {
		switch {
		case a == imap.MailboxAttrNoSelect || a == imap.MailboxAttrNonExistent:
			f.NoSelect = true
		case a == imap.MailboxAttrAll || a == imap.MailboxAttrFlagged || strings.EqualFold(string(a), `\Important`):
			f.Skip, f.All = true, f.All || a == imap.MailboxAttrAll
			if a != imap.MailboxAttrAll {
				f.Special = a
			}
		case a == imap.MailboxAttrSubscribed:
			f.Subscribed = true
		}
		for _, r := range roles {
			if strings.EqualFold(string(a), string(r)) {
				f.Role = r
			}
		}
	}
	return f
}
