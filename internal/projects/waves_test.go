package projects_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// TestAcceptWaves: a plan made on a project's mailboxes with the rate its
// Trial pass measured, accepted, becomes waves with their mailboxes, a
// scheduled Pre-stage (ahead) and Full pass (at the cutover) per mailbox,
// and a go/no-go and a wave event on the engagement. Accepting it again
// adds nothing; a different plan is refused.
func TestAcceptWaves(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	ctx := operator
	e := store.Engagement{CustomerID: b.project.CustomerID, Name: "Onboarding", Seats: 50}
	if err := b.st.CreateEngagement(ctx, &e, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := b.st.Project(ctx, b.project.ID)
	p.EngagementID = e.ID
	if err := b.st.UpdateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	// u0's assistant u1 holds FullAccess, u2 edits u1's calendar: one batch.
	perms := "Mailbox,User,AccessRights\n" +
		"u0@fabrikam.com,NT AUTHORITY\\SELF,FullAccess\n" +
		"u0@fabrikam.com,FABRIKAM\\u1,FullAccess\n" +
		"u1@fabrikam.com:\\Calendar,u2@fabrikam.com,Editor\n" +
		"u3@fabrikam.com,S-1-5-21-1004336348-1177238915-682003330-512,FullAccess\n"
	start := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	in := projects.WavePlanInput{Permissions: perms, MaxPerWave: 3, Start: start, Every: "daily 18:00", TimeZone: "Europe/Berlin"}

	plan, err := b.svc.PlanWaves(ctx, b.project.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Rate != nil || plan.Waves[0].EstimateNote != "no measurement yet" {
		t.Fatalf("before any pass: rate %+v, note %q", plan.Rate, plan.Waves[0].EstimateNote)
	}
	if _, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "trial", Selection: projects.Selection{All: true}}); err != nil {
		t.Fatal(err)
	}
	b.waitStatus(t, store.StatusCompletedTrial, 30*time.Second)
	plan, err = b.svc.PlanWaves(ctx, b.project.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Rate == nil || plan.Rate.MBPerHour <= 0 || !strings.Contains(plan.Waves[0].EstimateNote, "measured on 5 runs of Trial and Pre-stage passes") {
		t.Fatalf("after the Trial pass: rate %+v, note %q", plan.Rate, plan.Waves[0].EstimateNote)
	}

	acc := projects.WaveAcceptInput{WavePlanInput: in}
	res, err := b.svc.AcceptWaves(ctx, b.project.ID, acc)
	if err != nil {
		t.Fatal(err)
	}
	if res.AlreadyAccepted || res.PassesQueued != 10 || res.EventsCreated != 4 || len(res.Waves) != 2 {
		t.Fatalf("accepted %+v", res)
	}
	w1, w2 := res.Waves[0], res.Waves[1]
	var got []string
	for _, it := range w1.Items {
		got = append(got, it.Source+" "+it.Batch)
	}
	if strings.Join(got, ",") != "u0@fabrikam.com BATCH-1,u1@fabrikam.com BATCH-1,u2@fabrikam.com BATCH-1" || len(w2.Items) != 2 || w2.Items[0].Batch != "BATCH-NoDependencies" {
		t.Fatalf("waves %+v", res.Waves)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if c := w1.Cutover.In(berlin); c.Format("2006-01-02 15:04") != start+" 18:00" || !w1.PrestageAt.Equal(w1.Cutover.AddDate(0, 0, -7)) || !w2.Cutover.Equal(w1.Cutover.AddDate(0, 0, 1)) {
		t.Fatalf("wave 1 cuts over %v, Pre-stage %v; wave 2 %v", w1.Cutover, w1.PrestageAt, w2.Cutover)
	}
	checkJobs := func() {
		t.Helper()
		rows, err := b.st.DB().QueryContext(ctx, `SELECT json_extract(args, '$.item_id'), json_extract(args, '$.pass'), scheduled_at FROM river_job WHERE state = 'scheduled' AND kind = 'ferry_pass'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		at := map[int64]map[string]bool{}
		n := 0
		for rows.Next() {
			var item int64
			var pass string
			var when time.Time
			if err := rows.Scan(&item, &pass, &when); err != nil {
				t.Fatal(err)
			}
			n++
			wave := w1
			if item == w2.Items[0].ItemID || item == w2.Items[1].ItemID {
				wave = w2
			}
			want := map[string]time.Time{"prestage": wave.PrestageAt, "full": wave.Cutover}[pass]
			if d := when.Sub(want); d > time.Second || d < -time.Second {
				t.Errorf("item %d: %s scheduled at %v, want %v", item, pass, when, want)
			}
			if at[item] == nil {
				at[item] = map[string]bool{}
			}
			at[item][pass] = true
		}
		if n != 10 || len(at) != 5 {
			t.Fatalf("%d scheduled passes for %d items, want a Pre-stage and a Full for each of 5", n, len(at))
		}
	}
	checkJobs()
	events, _ := b.st.Events(ctx, e.ID)
	kinds := map[string]int{}
	for _, ev := range events {
		kinds[ev.Kind]++
	}
	if kinds["go-no-go"] != 2 || kinds["wave"] != 2 || !events[0].Starts.Equal(w1.Cutover.Add(-24*time.Hour)) {
		t.Fatalf("events %+v", events)
	}

	again, err := b.svc.AcceptWaves(ctx, b.project.ID, acc)
	if err != nil || !again.AlreadyAccepted || again.PassesQueued != 0 || again.EventsCreated != 0 {
		t.Fatalf("accepted again: %+v %v", again, err)
	}
	checkJobs()
	if events, _ := b.st.Events(ctx, e.ID); len(events) != 4 {
		t.Fatalf("%d events after accepting twice", len(events))
	}

	other := acc
	other.MaxPerWave = 5
	if _, err := b.svc.AcceptWaves(ctx, b.project.ID, other); !isKind(err, fault.Conflict) {
		t.Fatalf("a different plan: %v, want a conflict", err)
	}
}

// TestPlanWavesInput: bad options and files are named, with line and column.
func TestPlanWavesInput(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	ok := projects.WavePlanInput{Permissions: "Mailbox,User,AccessRights\nu0@fabrikam.com,NT AUTHORITY\\SELF,FullAccess\n", Start: "2030-01-04"}
	for _, c := range []struct {
		field, want string
		change      func(*projects.WavePlanInput)
	}{
		{"every", `"Friday": say when waves cut over`, func(in *projects.WavePlanInput) { in.Every = "Friday" }},
		{"start", "write the first day as 2027-01-08", func(in *projects.WavePlanInput) { in.Start = "01/04/2030" }},
		{"time_zone", "is not a time zone", func(in *projects.WavePlanInput) { in.TimeZone = "CET+1" }},
		{"permissions", "line 2, column 3 (AccessRights): unknown access right", func(in *projects.WavePlanInput) {
			in.Permissions = "Mailbox,User,AccessRights\nu0@fabrikam.com,x,Read\n"
		}},
		{"mailboxes", "line 2, column 2 (MailboxSize(MB))", func(in *projects.WavePlanInput) {
			in.Mailboxes = "PrimarySMTPAddress,MailboxSize(MB)\nu0@fabrikam.com,big\n"
		}},
	} {
		in := ok
		c.change(&in)
		_, err := b.svc.PlanWaves(operator, b.project.ID, in)
		fe, isFault := fault.As(err)
		if !isFault || fe.Kind != fault.Invalid || fe.Field != c.field || !strings.Contains(fe.Msg, c.want) {
			t.Errorf("%s: %v", c.field, err)
		}
	}
	if _, err := b.svc.PlanWaves(operator, b.project.ID, ok); err != nil {
		t.Fatal(err)
	}
}

func isKind(err error, k fault.Kind) bool {
	fe, ok := fault.As(err)
	return ok && fe.Kind == k
}
