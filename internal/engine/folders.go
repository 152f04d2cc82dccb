package engine

import (
	"regexp"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
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
}

// MapFolders decides where each source folder goes: by role when both
// sides have a folder for that role, else by hierarchy translated between
// the two namespaces. Filters are applied to display paths.
func MapFolders(src []Folder, srcNS Namespace, dst []Folder, dstNS Namespace, filter Filter) []FolderPlan {
	byRole := map[imap.MailboxAttr]string{}
	existing := map[string]bool{}
	for _, f := range dst {
		existing[f.Name] = true
		if r := roleOf(dstNS, f); r != "" {
			if _, dup := byRole[r]; !dup || f.Role != "" {
				byRole[r] = f.Name
			}
		}
	}
	var plans []FolderPlan
	taken := map[string]bool{}
	for _, f := range src {
		path := srcNS.DisplayPath(f.Name)
		if f.NoSelect || !filter.Wants(path, f.Skip) {
			continue
		}
		dest := ""
		if r := roleOf(srcNS, f); r != "" {
			if d, ok := byRole[r]; ok && !taken[d] {
				dest = d
			}
		}
		if dest == "" {
			dest = dstNS.join(srcNS.segments(f.Name))
		}
		taken[dest] = true
		plans = append(plans, FolderPlan{Source: f, Dest: dest, Path: path, DestExists: existing[dest]})
	}
	sort.SliceStable(plans, func(i, j int) bool { return plans[i].Path < plans[j].Path })
	return plans
}

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
			f.Skip = true
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
