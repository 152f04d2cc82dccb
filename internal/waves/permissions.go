package waves

import (
	"io"
	"strconv"
	"strings"
)

// Right is how strongly a permission ties two mailboxes together: the
// owner and the delegate must move in the same wave, and a plan that has
// to separate them should break the weakest ties first.
type Right int

// Rights, weakest first.
const (
	// NoTie: the right gives no access that breaks when the two
	// mailboxes are on different systems (free/busy, ReadPermission...).
	NoTie Right = iota
	// FolderDelegate: calendar or other folder permissions (Editor, Reviewer...).
	FolderDelegate
	SendOnBehalf
	SendAs
	FullAccess
)

func (r Right) String() string {
	switch r {
	case FolderDelegate:
		return "Calendar/folder delegate"
	case SendOnBehalf:
		return "SendOnBehalf"
	case SendAs:
		return "SendAs"
	case FullAccess:
		return "FullAccess"
	}
	return "no tie"
}

// rightNames maps the AccessRights values of Get-MailboxPermission,
// Get-RecipientPermission, Get-MailboxFolderPermission and
// GrantSendOnBehalfTo exports to the tie they make (lower case).
var rightNames = map[string]Right{
	"fullaccess":   FullAccess,
	"sendas":       SendAs,
	"sendonbehalf": SendOnBehalf, "sendonbehalfof": SendOnBehalf, "grantsendonbehalfto": SendOnBehalf,
	// Folder roles and their parts.
	"owner": FolderDelegate, "publishingeditor": FolderDelegate, "editor": FolderDelegate,
	"publishingauthor": FolderDelegate, "author": FolderDelegate, "nonediting author": FolderDelegate,
	"noneditingauthor": FolderDelegate, "reviewer": FolderDelegate, "contributor": FolderDelegate,
	"readitems": FolderDelegate, "createitems": FolderDelegate, "editowneditems": FolderDelegate,
	"deleteowneditems": FolderDelegate, "editallitems": FolderDelegate, "deleteallitems": FolderDelegate,
	"createsubfolders": FolderDelegate, "folderowner": FolderDelegate, "foldercontact": FolderDelegate,
	"delegate": FolderDelegate,
	// Rights that do not make the two mailboxes depend on each other.
	"none": NoTie, "availabilityonly": NoTie, "limiteddetails": NoTie, "foldervisible": NoTie,
	"readpermission": NoTie, "changepermission": NoTie, "changeowner": NoTie, "deleteitem": NoTie,
	"externalaccount": NoTie,
}

// Permission is one row of a permissions export.
type Permission struct {
	Line    int
	Mailbox string // as written, without a folder part ("alice@contoso.com")
	Folder  string // "Calendar" for "alice@contoso.com:\Calendar"; "" for the mailbox
	User    string // the principal as written ("bob@contoso.com", "CONTOSO\bob", "NT AUTHORITY\SELF", a SID)
	Rights  []string
	// Right is the strongest tie among Rights.
	Right Right
}

const permissionsExample = "`Mailbox,User,AccessRights` (Get-MailboxPermission), `Identity,Trustee,AccessRights` (Get-RecipientPermission) or `Identity,User,AccessRights` (Get-MailboxFolderPermission)"

// ParsePermissions reads a permissions export: the columns Mailbox (or
// Identity), User (or Trustee) and AccessRights, as Exchange exports them;
// rows with Deny True are left out (they grant nothing). Problems come
// back as mailboxcsv.Errors, each with its line and column.
func ParsePermissions(name string, r io.Reader) ([]Permission, error) {
	p := &problems{file: name}
	cols := []column{
		{names: []string{"Mailbox", "Identity", "PrimarySMTPAddress"}, required: true},
		{names: []string{"User", "Trustee"}, required: true},
		{names: []string{"AccessRights", "Rights", "ExtendedRights"}, required: true},
		{names: []string{"Deny"}},
		{names: []string{"FolderName"}},
	}
	var out []Permission
	readTable(p, r, cols, MaxPermissions, "permissions export", permissionsExample, func(rc record) {
		mbox, user, rights := rc.values[0], rc.values[1], rc.values[2]
		if deny, err := strconv.ParseBool(rc.values[3]); err == nil && deny {
			return
		}
		ok := true
		if mbox == "" {
			p.add(rc.line, rc.cols[0], "Mailbox", "empty value; every row names the mailbox the permission is on")
			ok = false
		}
		if user == "" {
			p.add(rc.line, rc.cols[1], "User", "empty value; every row names who holds the permission")
			ok = false
		}
		perm := Permission{Line: rc.line, User: user}
		perm.Mailbox, perm.Folder = splitFolder(mbox)
		if perm.Folder == "" && rc.values[4] != "" {
			perm.Folder = rc.values[4]
		}
		for _, v := range splitRights(rights) {
			right, known := rightNames[strings.ToLower(v)]
			if !known {
				p.add(rc.line, rc.cols[2], "AccessRights", "unknown access right %q; expected FullAccess, SendAs, SendOnBehalf, a folder role (Owner, Editor, Reviewer, Author...) or a right that ties nothing (ReadPermission, AvailabilityOnly...)", v)
				ok = false
				continue
			}
			perm.Rights = append(perm.Rights, v)
			if perm.Folder != "" && right > FolderDelegate {
				right = FolderDelegate // a folder's permission reaches that folder only
			}
			perm.Right = max(perm.Right, right)
		}
		if len(perm.Rights) == 0 && ok {
			p.add(rc.line, rc.cols[2], "AccessRights", "empty value; give the rights, e.g. FullAccess")
			ok = false
		}
		if ok {
			out = append(out, perm)
		}
	})
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// splitFolder separates a folder permission's identity, "alice@contoso.com:\Calendar".
func splitFolder(identity string) (mailbox, folder string) {
	if i := strings.Index(identity, ":\\"); i >= 0 {
		return strings.TrimSpace(identity[:i]), strings.TrimSpace(identity[i+2:])
	}
	return identity, ""
}

// splitRights splits "{FullAccess, ReadPermission}" and "FullAccess;SendAs".
func splitRights(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == '{' || r == '}' || r == ' ' || r == '\t'
	})
}

// Mailbox is one mailbox to plan.
type Mailbox struct {
	Address string  `json:"address"`
	SizeMB  float64 `json:"size_mb"`
	// Items is the message count when known (0: unknown).
	Items int64 `json:"items,omitempty"`
	// SizeUnknown: no size was given (the plan counts it as 0 MB).
	SizeUnknown bool `json:"size_unknown,omitempty"`
}

const mailboxesExample = "`PrimarySMTPAddress,MailboxSize(MB)`"

// ParseMailboxes reads Mailboxes.csv: PrimarySMTPAddress and
// MailboxSize(MB), optionally ItemCount.
func ParseMailboxes(name string, r io.Reader) ([]Mailbox, error) {
	p := &problems{file: name}
	cols := []column{
		{names: []string{"PrimarySMTPAddress", "EmailAddress", "Mailbox", "UserPrincipalName"}, required: true},
		{names: []string{"MailboxSize(MB)", "MailboxSizeMB", "SizeMB", "TotalItemSize(MB)"}, required: true},
		{names: []string{"ItemCount", "Items"}},
	}
	var out []Mailbox
	seen := map[string]int{}
	readTable(p, r, cols, MaxMailboxes, "mailbox list", mailboxesExample, func(rc record) {
		addr, size, items := rc.values[0], rc.values[1], rc.values[2]
		mb := Mailbox{Address: addr}
		ok := true
		switch {
		case addr == "":
			p.add(rc.line, rc.cols[0], "PrimarySMTPAddress", "empty value; every row names a mailbox by its primary SMTP address")
			ok = false
		case !strings.Contains(addr, "@"):
			p.add(rc.line, rc.cols[0], "PrimarySMTPAddress", "%q is not an email address; give the primary SMTP address, e.g. alice@contoso.com", addr)
			ok = false
		default:
			if first, dup := seen[strings.ToLower(addr)]; dup {
				p.add(rc.line, rc.cols[0], "PrimarySMTPAddress", "%s is listed already on line %d; list each mailbox once", addr, first)
				ok = false
			}
			seen[strings.ToLower(addr)] = rc.line
		}
		if size == "" {
			mb.SizeUnknown = true
		} else if v, err := strconv.ParseFloat(strings.ReplaceAll(size, ",", ""), 64); err != nil || v < 0 || v > 1e8 {
			p.add(rc.line, rc.cols[1], "MailboxSize(MB)", "%q is not a size in MB; write a number such as 1536.5 (no unit)", size)
			ok = false
		} else {
			mb.SizeMB = v
		}
		if items != "" {
			v, err := strconv.ParseInt(strings.ReplaceAll(items, ",", ""), 10, 64)
			if err != nil || v < 0 {
				p.add(rc.line, rc.cols[2], "ItemCount", "%q is not a number of items; write a whole number such as 12034", items)
				ok = false
			}
			mb.Items = v
		}
		if ok {
			out = append(out, mb)
		}
	})
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}
