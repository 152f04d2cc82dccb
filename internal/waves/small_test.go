package waves_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/waves"
)

// TestPlanSmall: a hand-made organisation. Alice's assistant Bob holds
// FullAccess (as CONTOSO\bob) and Carol edits Bob's calendar: the three
// move together. SELF rows, SIDs and groups tie nothing; Dave and Erin
// have no dependency. With three mailboxes per wave the trio fills a wave
// and the two others another; with two, the trio is reported with the
// calendar permission (the weakest) to remove.
func TestPlanSmall(t *testing.T) {
	t.Parallel()
	perms := "Mailbox,User,AccessRights\n" +
		`alice@contoso.com,NT AUTHORITY\SELF,"FullAccess, ReadPermission"` + "\n" +
		`alice@contoso.com,CONTOSO\bob,FullAccess` + "\n" +
		`alice@contoso.com,bob@contoso.com,SendAs` + "\n" +
		`bob@contoso.com:\Calendar,carol@contoso.com,Editor` + "\n" +
		`dave@contoso.com,S-1-5-21-1004336348-1177238915-682003330-512,FullAccess` + "\n" +
		`dave@contoso.com,CONTOSO\Domain Admins,FullAccess` + "\n" +
		`erin@contoso.com,dave@contoso.com,ReadPermission` + "\n" +
		`ghost@contoso.com,alice@contoso.com,FullAccess` + "\n"
	boxes := "PrimarySMTPAddress,MailboxSize(MB)\nalice@contoso.com,3000\nbob@contoso.com,1000\ncarol@contoso.com,500\ndave@contoso.com,4000\nerin@contoso.com,\n"
	ps, err := waves.ParsePermissions("Permissions.csv", strings.NewReader(perms))
	if err != nil {
		t.Fatal(err)
	}
	mbs, err := waves.ParseMailboxes("Mailboxes.csv", strings.NewReader(boxes))
	if err != nil {
		t.Fatal(err)
	}
	every, _ := waves.ParseEvery("Fri 18:00", time.UTC)
	start := time.Date(2027, 1, 6, 9, 0, 0, 0, time.UTC) // a Wednesday
	rate := &waves.Rate{MBPerHour: 1000, Concurrent: 2, From: "4 runs"}
	plan, err := waves.Make(mbs, ps, waves.Options{MaxPerWave: 3, Start: start, Every: every, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	var batches, sched bytes.Buffer
	plan.WriteBatches(&batches)
	plan.WriteSchedule(&sched)
	wantBatches := "Batch,User\nBATCH-1,alice@contoso.com\nBATCH-1,bob@contoso.com\nBATCH-1,carol@contoso.com\n" +
		"BATCH-NoDependencies,dave@contoso.com\nBATCH-NoDependencies,erin@contoso.com\n"
	if batches.String() != wantBatches {
		t.Errorf("Batches.csv:\n%s\nwant\n%s", batches.String(), wantBatches)
	}
	wantSched := "Migration Date(MM/dd/yyyy),Migration Window,Migration Group,PrimarySMTPAddress,SuggestedBatch,MailboxSize(MB),Notes\n" +
		"01/08/2027,18:00-21:00,Wave 1,alice@contoso.com,BATCH-1,3000,\"about 3 h at 1000 MB/hour per mailbox, 2 at once (4 runs)\"\n" +
		"01/08/2027,18:00-21:00,Wave 1,bob@contoso.com,BATCH-1,1000,\"about 3 h at 1000 MB/hour per mailbox, 2 at once (4 runs)\"\n" +
		"01/08/2027,18:00-21:00,Wave 1,carol@contoso.com,BATCH-1,500,\"about 3 h at 1000 MB/hour per mailbox, 2 at once (4 runs)\"\n" +
		"01/15/2027,18:00-22:00,Wave 2,dave@contoso.com,BATCH-NoDependencies,4000,\"about 4 h at 1000 MB/hour per mailbox, 2 at once (4 runs)\"\n" +
		"01/15/2027,18:00-22:00,Wave 2,erin@contoso.com,BATCH-NoDependencies,,\"size unknown; about 4 h at 1000 MB/hour per mailbox, 2 at once (4 runs)\"\n"
	if sched.String() != wantSched {
		t.Errorf("Schedule.csv:\n%s\nwant\n%s", sched.String(), wantSched)
	}
	ig := plan.Ignored
	if ig.Self != 1 || ig.NotMailbox != 2 || ig.NoTie != 1 || ig.UnknownOwner != 1 || strings.Join(ig.NotMailboxes, ",") != `CONTOSO\Domain Admins` {
		t.Errorf("ignored %+v", ig)
	}

	plan, err = waves.Make(mbs, ps, waves.Options{MaxPerWave: 2, Start: start, Every: every})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Oversized) != 1 || len(plan.Oversized[0].Cuts) != 1 || !plan.Oversized[0].Exact {
		t.Fatalf("oversized %+v", plan.Oversized)
	}
	cut := plan.Oversized[0].Cuts[0]
	if cut.A != "bob@contoso.com" || cut.B != "carol@contoso.com" || cut.Right != "Calendar/folder delegate" || cut.Lines[0] != 5 {
		t.Errorf("cut %+v, want Carol's calendar permission on Bob (line 5)", cut)
	}
	if w := plan.Waves[0]; w.OverLimit == "" || w.EstimateNote != waves.NoMeasurement {
		t.Errorf("wave 1 %+v", w)
	}
}

func TestEvery(t *testing.T) {
	t.Parallel()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2027, 3, 26, 0, 0, 0, 0, berlin) // a Friday; DST begins on the 28th
	for _, c := range []struct {
		every string
		want  []string
	}{
		{"Fri 18:00", []string{"2027-03-26 18:00 CET", "2027-04-02 18:00 CEST"}},
		{"saturday 02:30", []string{"2027-03-27 02:30 CET", "2027-04-03 02:30 CEST"}},
		{"daily 22:00", []string{"2027-03-26 22:00 CET", "2027-03-27 22:00 CET"}},
	} {
		e, err := waves.ParseEvery(c.every, berlin)
		if err != nil {
			t.Fatal(err)
		}
		for i, tm := range e.Times(start, 2) {
			if got := tm.Format("2006-01-02 15:04 MST"); got != c.want[i] {
				t.Errorf("%s: %s, want %s", c.every, got, c.want[i])
			}
		}
	}
	for _, bad := range []string{"Friday", "Fr 18:00", "Fri 25:00", "weekly 18:00", ""} {
		if _, err := waves.ParseEvery(bad, time.UTC); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
