package waves_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/mailboxcsv"
	"github.com/ferryhq/ferry/internal/waves"
)

// TestParsePermissions reads the shapes Exchange administrators export:
// Get-MailboxPermission (Identity/User, rights in braces, the SELF rows),
// Get-RecipientPermission (Trustee), Get-MailboxFolderPermission (a
// folder identity), with PowerShell's #TYPE line and a BOM.
func TestParsePermissions(t *testing.T) {
	t.Parallel()
	type perm struct {
		mailbox, folder, user string
		right                 waves.Right
	}
	cases := []struct {
		name, file string
		want       []perm
	}{
		{"Get-MailboxPermission with #TYPE and BOM",
			"\ufeff#TYPE Selected.Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject\n" +
				`"Identity","User","AccessRights","IsInherited","Deny"` + "\n" +
				`"alice@contoso.com","NT AUTHORITY\SELF","{FullAccess, ReadPermission}","False","False"` + "\n" +
				`"alice@contoso.com","CONTOSO\bob","{FullAccess}","False","False"` + "\n" +
				`"alice@contoso.com","S-1-5-21-3623811015-3361044348-30300820-1013","{FullAccess}","False","False"` + "\n" +
				`"alice@contoso.com","CONTOSO\carol","{FullAccess}","False","True"` + "\n",
			[]perm{{"alice@contoso.com", "", `NT AUTHORITY\SELF`, waves.FullAccess}, {"alice@contoso.com", "", `CONTOSO\bob`, waves.FullAccess},
				{"alice@contoso.com", "", "S-1-5-21-3623811015-3361044348-30300820-1013", waves.FullAccess}}},
		{"the task's columns, rights joined by commas",
			"Mailbox,User,AccessRights\nshared@contoso.com,bob@contoso.com,\"FullAccess,ReadPermission\"\nshared@contoso.com,bob@contoso.com,ReadPermission\n",
			[]perm{{"shared@contoso.com", "", "bob@contoso.com", waves.FullAccess}, {"shared@contoso.com", "", "bob@contoso.com", waves.NoTie}}},
		{"Get-RecipientPermission",
			"Identity,Trustee,AccessControlType,AccessRights,IsInherited\nalice@contoso.com,bob@contoso.com,Allow,{SendAs},False\n",
			[]perm{{"alice@contoso.com", "", "bob@contoso.com", waves.SendAs}}},
		{"separated by semicolons",
			"Mailbox;User;AccessRights\nboss@contoso.com;assistant@contoso.com;SendOnBehalf\n",
			[]perm{{"boss@contoso.com", "", "assistant@contoso.com", waves.SendOnBehalf}}},
		{"Get-MailboxFolderPermission, calendar delegates and free/busy",
			"Identity,FolderName,User,AccessRights\n" +
				`alice@contoso.com:\Calendar,Calendar,bob@contoso.com,{Editor}` + "\n" +
				`alice@contoso.com:\Calendar,Calendar,Default,{AvailabilityOnly}` + "\n" +
				`alice@contoso.com:\Inbox,Inbox,carol@contoso.com,{FullAccess}` + "\n",
			[]perm{{"alice@contoso.com", "Calendar", "bob@contoso.com", waves.FolderDelegate}, {"alice@contoso.com", "Calendar", "Default", waves.NoTie},
				{"alice@contoso.com", "Inbox", "carol@contoso.com", waves.FolderDelegate}}},
		{"SendOnBehalf rows and blank lines",
			"Mailbox,User,AccessRights\n\nboss@contoso.com,assistant@contoso.com,SendOnBehalf\n,,\n",
			[]perm{{"boss@contoso.com", "", "assistant@contoso.com", waves.SendOnBehalf}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := waves.ParsePermissions("Permissions.csv", strings.NewReader(c.file))
			if c.want == nil {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var g []perm
			for _, p := range got {
				g = append(g, perm{p.Mailbox, p.Folder, p.User, p.Right})
			}
			if !slices.Equal(g, c.want) {
				t.Fatalf("got  %v\nwant %v", g, c.want)
			}
		})
	}
}

// TestParseErrors: each problem names its line and column and says what to
// do; a file with many problems lists the first MaxErrors and counts the rest.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	many := "Mailbox,User,AccessRights\n" + strings.Repeat("a@contoso.com,b@contoso.com,Superpowers\n", waves.MaxErrors+7)
	cases := []struct {
		name, file string
		parse      func(string, string) error
		want       []string // each a problem's text, in order
	}{
		{"no header", "", perms, []string{"Permissions.csv line 1: the permissions export is empty"}},
		{"missing column", "Mailbox,AccessRights\na@contoso.com,FullAccess\n", perms, []string{"line 1: the header has no User column"}},
		{"unknown right", "Mailbox,User,AccessRights\na@contoso.com,b@contoso.com,FullAccess\na@contoso.com,b@contoso.com,{FullAcess}\n", perms,
			[]string{`line 3, column 3 (AccessRights): unknown access right "FullAcess"`}},
		{"empty values", "Mailbox,User,AccessRights\n,b@contoso.com,FullAccess\na@contoso.com,,FullAccess\n", perms,
			[]string{"line 2, column 1 (Mailbox): empty value", "line 3, column 2 (User): empty value"}},
		{"bad quote", "Mailbox,User,AccessRights\na@contoso.com,\"b@contoso.com,FullAccess\n", perms, []string{"malformed CSV"}},
		{"UTF-16", "\xff\xfeM\x00", perms, []string{"UTF-16"}},
		{"mailbox sizes", "PrimarySMTPAddress,MailboxSize(MB)\nalice@contoso.com,12 GB\nbob,5\nalice@contoso.com,3\n", mailboxes,
			[]string{`line 2, column 2 (MailboxSize(MB)): "12 GB" is not a size in MB`, `line 3, column 1 (PrimarySMTPAddress): "bob" is not an email address`,
				"line 4, column 1 (PrimarySMTPAddress): alice@contoso.com is listed already on line 2"}},
		{"no size column", "PrimarySMTPAddress\nalice@contoso.com\n", mailboxes, []string{"has no MailboxSize(MB) column"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.parse(c.name, c.file)
			var es mailboxcsv.Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %v (%T), want mailboxcsv.Errors", err, err)
			}
			if len(es) != len(c.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(es), len(c.want), err)
			}
			for i, w := range c.want {
				if !strings.Contains(es[i].Error(), w) {
					t.Errorf("problem %d: %q, want it to say %q", i, es[i].Error(), w)
				}
			}
		})
	}
	t.Run("many problems", func(t *testing.T) {
		t.Parallel()
		var es mailboxcsv.Errors
		if err := perms("many", many); !errors.As(err, &es) || len(es) != waves.MaxErrors+1 || es[len(es)-1].Omitted != 7 {
			t.Fatalf("%d problems, the last %+v", len(es), es[len(es)-1])
		}
	})
}

func perms(name, file string) error {
	_, err := waves.ParsePermissions("Permissions.csv", strings.NewReader(file))
	return err
}

func mailboxes(name, file string) error {
	_, err := waves.ParseMailboxes("Mailboxes.csv", strings.NewReader(file))
	return err
}
