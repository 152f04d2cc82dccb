package waves_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/ferryhq/ferry/internal/waves"
)

// org is a generated organisation: its Mailboxes.csv and permissions
// export, shaped like real ones.
type org struct {
	mailboxes   []byte // Mailboxes.csv
	permissions []byte // Get-MailboxPermission + Get-RecipientPermission + folder permissions, one export
}

// generateOrg makes an organisation of n mailboxes and about perms
// permission rows: teams of 3 to 12 people, each with a manager whose
// assistant holds FullAccess and SendOnBehalf, colleagues on each other's
// calendars, a shared team mailbox everyone opens (FullAccess, SendAs),
// a few ties across teams, and the rows that tie nothing that real
// exports hold (NT AUTHORITY\SELF, orphaned SIDs, groups, system accounts,
// ReadPermission, free/busy only).
func generateOrg(seed uint64, n, perms int) org {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	addr := func(i int) string { return fmt.Sprintf("user%04d@contoso.com", i) }
	var mb bytes.Buffer
	mw := csv.NewWriter(&mb)
	mw.Write([]string{"PrimarySMTPAddress", "MailboxSize(MB)", "ItemCount"})
	for i := range n {
		size := r.ExpFloat64() * 2000
		mw.Write([]string{addr(i), strconv.FormatFloat(size, 'f', 1, 64), strconv.Itoa(int(size * 40))})
	}
	mw.Flush()

	var pb bytes.Buffer
	pw := csv.NewWriter(&pb)
	pb.WriteString("#TYPE Selected.Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject\n")
	pw.Write([]string{"Mailbox", "User", "AccessRights", "IsInherited", "Deny"})
	rows := 0
	row := func(m, u, rights string) {
		pw.Write([]string{m, u, rights, "False", "False"})
		rows++
	}
	var teams [][]int
	for i := 0; i < n; {
		size := min(3+r.IntN(10), n-i)
		team := make([]int, size)
		for j := range team {
			team[j] = i + j
		}
		teams = append(teams, team)
		i += size
	}
	for rows < perms {
		switch k := r.IntN(100); {
		case k < 12: // noise: self, SIDs, groups, system accounts
			noise := []string{`NT AUTHORITY\SELF`, "S-1-5-21-3623811015-3361044348-30300820-" + strconv.Itoa(1000+r.IntN(9000)),
				`CONTOSO\Organization Management`, `NT AUTHORITY\SYSTEM`, `CONTOSO\Domain Admins`}
			row(addr(r.IntN(n)), noise[r.IntN(len(noise))], "{FullAccess, ReadPermission}")
		case k < 16: // rights that tie nothing
			t := teams[r.IntN(len(teams))]
			row(addr(t[r.IntN(len(t))])+`:\Calendar`, addr(t[r.IntN(len(t))]), "AvailabilityOnly")
		case k < 18: // across teams
			row(addr(r.IntN(n)), addr(r.IntN(n)), []string{"FullAccess", "SendAs", "Reviewer"}[r.IntN(3)])
		default: // within a team
			t := teams[r.IntN(len(teams))]
			a, b := t[r.IntN(len(t))], t[r.IntN(len(t))]
			switch r.IntN(4) {
			case 0:
				row(addr(a), `CONTOSO\`+fmt.Sprintf("user%04d", b), "FullAccess")
			case 1:
				row(addr(a), addr(b), "SendAs")
			case 2:
				row(addr(a), addr(b), "SendOnBehalf")
			default:
				row(addr(a)+`:\Calendar`, addr(b), "Editor")
			}
		}
	}
	pw.Flush()
	return org{mailboxes: mb.Bytes(), permissions: pb.Bytes()}
}

func (o org) parse() ([]waves.Mailbox, []waves.Permission, error) {
	mbs, err := waves.ParseMailboxes("Mailboxes.csv", bytes.NewReader(o.mailboxes))
	if err != nil {
		return nil, nil, err
	}
	perms, err := waves.ParsePermissions("Permissions.csv", bytes.NewReader(o.permissions))
	return mbs, perms, err
}
