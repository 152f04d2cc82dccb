package engagements_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
)

// TestRecurringEventsShowTheirNextOccurrences: the playbook's weekly
// checkpoint meeting keeps its local time across a daylight-saving change,
// ends with its COUNT or UNTIL, and a rule Ferry cannot read is refused.
func TestRecurringEventsShowTheirNextOccurrences(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, _ := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	b.svc.Now = func() time.Time { return time.Date(2026, 10, 20, 8, 10, 0, 0, time.UTC) } // during the second checkpoint
	weekly, err := b.svc.ScheduleEvent(operator, e.ID, engagements.EventInput{Kind: "meeting", Title: "Weekly checkpoint", Starts: "2026-10-13 10:00", Ends: "2026-10-13 10:30",
		TimeZone: "Europe/Berlin", Recurrence: "FREQ=WEEKLY;COUNT=4"})
	if err != nil {
		t.Fatal(err)
	}
	if weekly.Recurrence != "FREQ=WEEKLY;COUNT=4" {
		t.Fatalf("event %+v", weekly)
	}
	if _, err := b.svc.ScheduleEvent(operator, e.ID, engagements.EventInput{Kind: "meeting", Title: "Daily stand-up", Starts: "2026-10-21 09:00", Ends: "2026-10-21 09:15",
		TimeZone: "Europe/Berlin", Recurrence: "FREQ=DAILY;INTERVAL=2;UNTIL=20261025"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"every week", "FREQ=HOURLY", "FREQ=WEEKLY;COUNT=0", "FREQ=WEEKLY;INTERVAL=x", "FREQ=WEEKLY;BYDAY=MO"} {
		_, err := b.svc.ScheduleEvent(operator, e.ID, engagements.EventInput{Kind: "meeting", Title: "x", Starts: "2026-10-21 09:00", Ends: "2026-10-21 09:15", TimeZone: "UTC", Recurrence: bad})
		if fe, ok := fault.As(err); !ok || fe.Field != "recurrence" {
			t.Errorf("%q: %v, want refused on recurrence", bad, err)
		}
	}
	up, err := b.svc.UpcomingEvents(operator, e.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range up {
		got = append(got, o.Title+" "+o.Starts.In(time.UTC).Format("01-02 15:04Z"))
	}
	// Berlin leaves summer time on 25 October: 10:00 local is 08:00Z, then 09:00Z.
	want := []string{
		"Weekly checkpoint 10-20 08:00Z", // today's, not over yet
		"Daily stand-up 10-21 07:00Z",
		"Daily stand-up 10-23 07:00Z",
		"Daily stand-up 10-25 08:00Z",
		"Weekly checkpoint 10-27 09:00Z",
		"Weekly checkpoint 11-03 09:00Z", // the fourth and last
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("upcoming:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
