package engine

import (
	"testing"

	"github.com/emersion/go-imap/v2"
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
		want     map[string]string // source name -> destination name; absent = not migrated
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := map[string]string{}
			for _, p := range MapFolders(tt.src, tt.srcNS, tt.dst, tt.dstNS, tt.filter) {
				got[p.Source.Name] = p.Dest
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
