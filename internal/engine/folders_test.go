package engine

import (
	"maps"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/ferryhq/ferry/internal/store"
)

func TestMapFolders(t *testing.T) {
	t.Parallel()
	fs := Namespace{Delim: '/'}
	pp := Namespace{Delim: '.', Prefix: "INBOX."}
	tests := []struct {
		name     string
		src      []Folder
		srcNS    Namespace
		dst      []Folder
		dstNS    Namespace
		filter   Filter
		kept     []store.FolderMapping // the map of earlier passes
		want     map[string]string     // source name -> destination name; absent = not migrated
		renamed  []string              // source names whose destination is not their own name
		excluded []string
	}{
		{
			name:  "slash to dot under INBOX.",
			src:   []Folder{{Name: "INBOX"}, {Name: "Projects/2024/Q1"}, {Name: "Données"}, {Name: "v1.2 notes"}},
			srcNS: fs, dstNS: pp,
			want: map[string]string{"INBOX": "INBOX", "Projects/2024/Q1": "INBOX.Projects.2024.Q1", "Données": "INBOX.Données", "v1.2 notes": "INBOX.v1_2 notes"},
		},
		{
			name:  "dot under INBOX. to slash",
			src:   []Folder{{Name: "INBOX"}, {Name: "INBOX.Archive.2019"}, {Name: "INBOX.a/b"}},
			srcNS: pp, dstNS: fs,
			want: map[string]string{"INBOX": "INBOX", "INBOX.Archive.2019": "Archive/2019", "INBOX.a/b": "a_b"},
		},
		{
			name:  "special-use by role, announced or by name",
			src:   []Folder{{Name: "Sent", Role: imap.MailboxAttrSent}, {Name: "Deleted Items"}, {Name: "Spam"}, {Name: "Projects/Sent"}},
			srcNS: fs,
			dst:   []Folder{{Name: "INBOX.Sent Items"}, {Name: "INBOX.Papierkorb", Role: imap.MailboxAttrTrash}, {Name: "INBOX.Junk E-mail"}},
			dstNS: pp,
			want:  map[string]string{"Sent": "INBOX.Sent Items", "Deleted Items": "INBOX.Papierkorb", "Spam": "INBOX.Junk E-mail", "Projects/Sent": "INBOX.Projects.Sent"},
		},
		{
			name:  "two source folders of one role: the second keeps its name",
			src:   []Folder{{Name: "Sent", Role: imap.MailboxAttrSent}, {Name: "Sent Messages"}},
			srcNS: fs, dst: []Folder{{Name: "Sent Items", Role: imap.MailboxAttrSent}}, dstNS: fs,
			want: map[string]string{"Sent": "Sent Items", "Sent Messages": "Sent Messages"},
		},
		{
			name:  "virtual Gmail folders and noselect parents are skipped",
			src:   []Folder{{Name: "[Gmail]", NoSelect: true}, {Name: "[Gmail]/All Mail", Skip: true}, {Name: "[Gmail]/Sent Mail", Role: imap.MailboxAttrSent}, {Name: "Work"}},
			srcNS: fs, dstNS: fs,
			want:     map[string]string{"[Gmail]/Sent Mail": "[Gmail]/Sent Mail", "Work": "Work"},
			excluded: []string{"[Gmail]", "[Gmail]/All Mail"},
		},
		{
			name:  "include and exclude patterns",
			src:   []Folder{{Name: "INBOX"}, {Name: "Archive"}, {Name: "Archive/2019"}, {Name: "Archive/2019/Old"}, {Name: "Trash"}},
			srcNS: fs, dstNS: fs,
			filter:   Filter{Include: []string{"archive*", "INBOX"}, Exclude: []string{"*/old"}},
			want:     map[string]string{"INBOX": "INBOX", "Archive": "Archive", "Archive/2019": "Archive/2019"},
			excluded: []string{"Trash", "Archive/2019/Old"},
		},
		{
			name:  "Work and INBOX/Work meet under INBOX.: fewer levels keep the name",
			src:   []Folder{{Name: "INBOX"}, {Name: "INBOX/Work"}, {Name: "Work"}},
			srcNS: fs, dstNS: pp,
			want:    map[string]string{"INBOX": "INBOX", "Work": "INBOX.Work", "INBOX/Work": "INBOX.Work (2)"},
			renamed: []string{"INBOX/Work"},
		},
		{
			name:  "a renamed folder keeps its children",
			src:   []Folder{{Name: "INBOX"}, {Name: "INBOX/Child"}, {Name: "INBOX/Child/Sub"}, {Name: "Child"}, {Name: "Child/Sub"}},
			srcNS: fs, dstNS: pp,
			want: map[string]string{"INBOX": "INBOX", "Child": "INBOX.Child", "Child/Sub": "INBOX.Child.Sub",
				"INBOX/Child": "INBOX.Child (2)", "INBOX/Child/Sub": "INBOX.Child (2).Sub"},
			renamed: []string{"INBOX/Child", "INBOX/Child/Sub"},
		},
		{
			name:  "a separator replaced by '_' meets a real '_'",
			src:   []Folder{{Name: "Reports.2024"}, {Name: "Reports_2024"}},
			srcNS: fs, dstNS: pp,
			want:    map[string]string{"Reports_2024": "INBOX.Reports_2024", "Reports.2024": "INBOX.Reports_2024 (2)"},
			renamed: []string{"Reports.2024"},
		},
		{
			name:  "names differing in case",
			src:   []Folder{{Name: "case"}, {Name: "Case"}, {Name: "CASE/x"}},
			srcNS: fs, dstNS: fs,
			want:    map[string]string{"Case": "Case", "case": "case (2)", "CASE/x": "CASE/x"},
			renamed: []string{"case"},
		},
		{
			name:  "a source folder named like the renamed one keeps its name",
			src:   []Folder{{Name: "INBOX/Work"}, {Name: "Work"}, {Name: "Work (2)"}},
			srcNS: fs, dstNS: pp,
			want:    map[string]string{"Work": "INBOX.Work", "Work (2)": "INBOX.Work (2)", "INBOX/Work": "INBOX.Work (3)"},
			renamed: []string{"INBOX/Work"},
		},
		{
			name:  "a folder named Inbox below INBOX. does not go into INBOX",
			src:   []Folder{{Name: "INBOX"}, {Name: "INBOX.Inbox"}},
			srcNS: pp, dstNS: fs,
			want:    map[string]string{"INBOX": "INBOX", "INBOX.Inbox": "INBOX (2)"},
			renamed: []string{"INBOX.Inbox"},
		},
		{
			name:  "a role folder and a folder with the role's name",
			src:   []Folder{{Name: "Sent Items"}, {Name: "Sent", Role: imap.MailboxAttrSent}},
			srcNS: fs, dst: []Folder{{Name: "INBOX.Sent Items"}}, dstNS: pp,
			want:    map[string]string{"Sent": "INBOX.Sent Items", "Sent Items": "INBOX.Sent Items (2)"},
			renamed: []string{"Sent Items"},
		},
		{
			name:  "the map of an earlier pass is kept; a new folder does not take a mapped name",
			src:   []Folder{{Name: "INBOX/Work"}, {Name: "Work"}},
			srcNS: fs, dstNS: pp,
			kept:    []store.FolderMapping{{Source: "INBOX/Work", Dest: "INBOX.Work"}},
			want:    map[string]string{"INBOX/Work": "INBOX.Work", "Work": "INBOX.Work (2)"},
			renamed: []string{"Work"},
		},
		{
			name:  "a folder gone from the source keeps its name; a new child goes below its renamed parent",
			src:   []Folder{{Name: "gone"}, {Name: "INBOX/Work"}, {Name: "INBOX/Work/New"}},
			srcNS: fs, dstNS: pp,
			kept: []store.FolderMapping{{Source: "Gone", Dest: "INBOX.Gone"}, {Source: "Work", Dest: "INBOX.Work"},
				{Source: "INBOX/Work", Dest: "INBOX.Work (2)", Renamed: "source folder Work already goes to INBOX.Work"}},
			want:    map[string]string{"gone": "INBOX.gone (2)", "INBOX/Work": "INBOX.Work (2)", "INBOX/Work/New": "INBOX.Work (2).New"},
			renamed: []string{"gone", "INBOX/Work", "INBOX/Work/New"},
		},
		{
			name:  "a state file that mapped two folders into one: the second is renamed",
			src:   []Folder{{Name: "INBOX/Work"}, {Name: "Work"}},
			srcNS: fs, dstNS: pp,
			kept:    []store.FolderMapping{{Source: "INBOX/Work", Dest: "INBOX.Work"}, {Source: "Work", Dest: "INBOX.Work"}},
			want:    map[string]string{"Work": "INBOX.Work", "INBOX/Work": "INBOX.Work (2)"},
			renamed: []string{"INBOX/Work"},
		},
		{
			name:  "the refused name's fallback of an earlier pass is kept",
			src:   []Folder{{Name: "~tilde"}, {Name: "_tilde"}},
			srcNS: fs, dstNS: pp,
			kept:    []store.FolderMapping{{Source: "~tilde", Dest: "INBOX._tilde", Renamed: "the destination refused INBOX.~tilde"}},
			want:    map[string]string{"~tilde": "INBOX._tilde", "_tilde": "INBOX._tilde (2)"},
			renamed: []string{"~tilde", "_tilde"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The map does not depend on the order the servers list folders in.
			var got map[string]string
			for _, order := range []func([]Folder) []Folder{
				func(f []Folder) []Folder { return f },
				func(f []Folder) []Folder { f = slices.Clone(f); slices.Reverse(f); return f },
				func(f []Folder) []Folder {
					f = slices.Clone(f)
					return append(f[len(f)/2:], f[:len(f)/2]...)
				},
			} {
				this := map[string]string{}
				renamed := map[string]bool{}
				for _, p := range MapFolders(order(tt.src), tt.srcNS, order(tt.dst), tt.dstNS, tt.filter, slices.Clone(tt.kept)) {
					this[p.Source.Name] = p.Dest
					renamed[p.Source.Name] = p.Renamed != ""
				}
				if got != nil && !maps.Equal(got, this) {
					t.Fatalf("the map changed with the LIST order: %v, then %v", got, this)
				}
				got = this
				for _, s := range tt.renamed {
					if !renamed[s] {
						t.Errorf("%q is not marked renamed", s)
					}
					delete(renamed, s)
				}
				for s, r := range renamed {
					if r {
						t.Errorf("%q is marked renamed", s)
					}
				}
			}
			for s, d := range tt.want {
				if got[s] != d {
					t.Errorf("%q -> %q, want %q", s, got[s], d)
				}
			}
			for _, s := range tt.excluded {
				if _, ok := got[s]; ok {
					t.Errorf("%q was not excluded", s)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("mapped %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFlagDiff(t *testing.T) {
	t.Parallel()
	add, del := diffFlags(`$Label1 \Seen`, `\Flagged \Seen`)
	if len(add) != 1 || add[0] != `\Flagged` || len(del) != 1 || del[0] != "$Label1" {
		t.Fatalf("add %v del %v", add, del)
	}
	if s := flagString([]imap.Flag{`\Seen`, `\Recent`, `\Answered`}); s != `\Answered \Seen` {
		t.Fatalf("flagString = %q", s)
	}
	keywords, allowed := flagPolicy([]imap.Flag{`\Seen`, `\Flagged`})
	if f := appendFlags(`$Custom \Flagged \Seen`, keywords, allowed); len(f) != 2 {
		t.Fatalf("keywords kept on a server without \\*: %v", f)
	}
}
