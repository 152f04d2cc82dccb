package waves_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/mailboxcsv"
	"github.com/ferryhq/ferry/internal/waves"
)

// FuzzPlan: whatever a permissions export holds, reading it neither panics
// nor answers more than MaxErrors problems (plus the count of the rest),
// and a file that reads is planned with every mailbox in exactly one wave.
func FuzzPlan(f *testing.F) {
	for _, seed := range []string{
		"Mailbox,User,AccessRights\na@c.com,b@c.com,FullAccess\n",
		"#TYPE x\n\"Identity\",\"User\",\"AccessRights\",\"Deny\"\n\"a@c.com\",\"NT AUTHORITY\\SELF\",\"{FullAccess, ReadPermission}\",\"False\"\n",
		"Identity;Trustee;AccessRights\na@c.com:\\Calendar;C\\b;Editor\nb@c.com;a;SendAs\n",
		"Mailbox,User,AccessRights\n\"a@c.com,b@c.com,FullAccess\n",
		"\ufeffMailbox,User,AccessRights\n,,\na,b,Nonsense\n",
	} {
		f.Add(seed, 2, 1.5)
	}
	every, _ := waves.ParseEvery("Fri 18:00", time.UTC)
	f.Fuzz(func(t *testing.T, file string, maxPer int, maxGB float64) {
		perms, err := waves.ParsePermissions("p.csv", strings.NewReader(file))
		if err != nil {
			var es mailboxcsv.Errors
			if !errors.As(err, &es) || len(es) == 0 || len(es) > waves.MaxErrors+1 {
				t.Fatalf("error %v (%T)", err, err)
			}
			return
		}
		mbs := waves.MailboxesOf(perms)
		if len(mbs) == 0 {
			return
		}
		if maxPer < 0 || maxPer > 1000 {
			maxPer = 3
		}
		if !(maxGB >= 0 && maxGB < 1e6) {
			maxGB = 0
		}
		plan, err := waves.Make(mbs, perms, waves.Options{MaxPerWave: maxPer, MaxGBPerWave: maxGB, Start: time.Unix(1.8e9, 0), Every: every})
		if err != nil {
			if strings.Contains(err.Error(), "listed twice") {
				return // two spellings of one address in the Mailbox column
			}
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, w := range plan.Waves {
			for _, m := range w.Mailboxes {
				seen[strings.ToLower(m.Address)]++
			}
		}
		for _, m := range mbs {
			if seen[strings.ToLower(m.Address)] != 1 {
				t.Fatalf("%s is in %d waves", m.Address, seen[strings.ToLower(m.Address)])
			}
		}
	})
}

// FuzzMailboxes: whatever Mailboxes.csv holds, reading it neither panics
// nor answers more than MaxErrors problems (plus the count of the rest),
// and a file that reads lists each address once, with a size that is a
// number of MB a plan can add up.
func FuzzMailboxes(f *testing.F) {
	for _, seed := range []string{
		"PrimarySMTPAddress,MailboxSize(MB)\nalice@contoso.com,700\nbob@contoso.com,300.5\n",
		"\ufeff\"EmailAddress\";\"SizeMB\";\"ItemCount\"\n\"a@c.com\";\"1,536.5\";\"12,000\"\n",
		"Mailbox,TotalItemSize(MB)\na@c.com,\nA@C.com,5\n",
		"PrimarySMTPAddress,MailboxSize(MB)\nnot-an-address,-1\nb@c.com,1e309\nc@c.com,NaN\n",
		"UserPrincipalName,MailboxSize(MB),Items\n\"a@c.com,1\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, file string) {
		mbs, err := waves.ParseMailboxes("Mailboxes.csv", strings.NewReader(file))
		if err != nil {
			var es mailboxcsv.Errors
			if !errors.As(err, &es) || len(es) == 0 || len(es) > waves.MaxErrors+1 {
				t.Fatalf("error %v (%T)", err, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, m := range mbs {
			a := strings.ToLower(m.Address)
			if seen[a] || !strings.Contains(a, "@") {
				t.Fatalf("%q read twice or not an address", m.Address)
			}
			seen[a] = true
			if !(m.SizeMB >= 0 && m.SizeMB <= 1e8) || m.Items < 0 {
				t.Fatalf("%s: size %v MB, %d items", m.Address, m.SizeMB, m.Items)
			}
		}
	})
}
