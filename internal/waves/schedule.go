package waves

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fault"
)

// Every is when waves cut over: a weekday and a time of day ("Fri
// 18:00"), or a time every day ("daily 18:00"), in Location.
type Every struct {
	Daily    bool
	Weekday  time.Weekday
	Hour     int
	Minute   int
	Location *time.Location
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseEvery reads "Fri 18:00", "friday 18:00" or "daily 02:00" in loc.
func ParseEvery(s string, loc *time.Location) (Every, error) {
	if loc == nil {
		loc = time.UTC
	}
	bad := fmt.Errorf("%q: say when waves cut over as a weekday and a time, e.g. \"Fri 18:00\", or \"daily 02:00\"", s)
	f := strings.Fields(s)
	if len(f) != 2 {
		return Every{}, bad
	}
	e := Every{Location: loc}
	day := strings.ToLower(f[0])
	if day == "daily" {
		e.Daily = true
	} else if wd, ok := weekdays[day[:min(3, len(day))]]; ok && strings.HasPrefix(strings.ToLower(wd.String()), day) {
		e.Weekday = wd
	} else {
		return Every{}, bad
	}
	t, err := time.Parse("15:04", f[1])
	if err != nil {
		return Every{}, bad
	}
	e.Hour, e.Minute = t.Hour(), t.Minute()
	return e, nil
}

func (e Every) String() string {
	if e.Location == nil {
		return ""
	}
	day := e.Weekday.String()[:3]
	if e.Daily {
		day = "daily"
	}
	return fmt.Sprintf("%s %02d:%02d", day, e.Hour, e.Minute)
}

// Times gives n cutover times, the first on or after start's day.
func (e Every) Times(start time.Time, n int) []time.Time {
	if e.Location == nil || start.IsZero() {
		return nil
	}
	s := start.In(e.Location)
	t := time.Date(s.Year(), s.Month(), s.Day(), e.Hour, e.Minute, 0, 0, e.Location)
	step := 1
	if !e.Daily {
		step = 7
		for t.Weekday() != e.Weekday {
			t = t.AddDate(0, 0, 1)
		}
	}
	for t.Before(start) {
		t = t.AddDate(0, 0, step)
	}
	out := make([]time.Time, n)
	for i := range out {
		out[i] = t
		t = t.AddDate(0, 0, step)
	}
	return out
}

// Rate is how fast one mailbox moved on this project's Trial and
// Pre-stage passes, and how many copy at once.
type Rate struct {
	MBPerHour    float64 `json:"mb_per_hour"`
	ItemsPerHour float64 `json:"items_per_hour"`
	Concurrent   int     `json:"concurrent"`
	// From says what was measured ("12 runs of Trial and Pre-stage passes").
	From string `json:"from"`
}

// NoMeasurement is a wave's estimate note before any pass was measured.
const NoMeasurement = "no measurement yet"

// estimate is how long a wave's Full pass takes: its mailboxes copy
// Concurrent at a time at the measured rate each, and never faster than
// its largest mailbox alone.
func (r *Rate) estimate(w Wave) (time.Duration, string) {
	if r == nil || r.MBPerHour <= 0 {
		return 0, NoMeasurement
	}
	parallel := float64(max(1, min(r.Concurrent, len(w.Mailboxes))))
	var largestMB float64
	var largestItems int64
	for _, m := range w.Mailboxes {
		largestMB, largestItems = max(largestMB, m.SizeMB), max(largestItems, m.Items)
	}
	hours := max(w.SizeMB/(r.MBPerHour*parallel), largestMB/r.MBPerHour)
	if r.ItemsPerHour > 0 && w.Items > 0 {
		hours = max(hours, float64(w.Items)/(r.ItemsPerHour*parallel), float64(largestItems)/r.ItemsPerHour)
	}
	d := time.Duration(math.Ceil(hours*60)) * time.Minute
	note := fmt.Sprintf("about %s at %.0f MB/hour", roundDuration(d), r.MBPerHour)
	if r.ItemsPerHour > 0 {
		note += fmt.Sprintf(" and %.0f items/hour", r.ItemsPerHour)
	}
	note += fmt.Sprintf(" per mailbox, %d at once (%s)", int(parallel), r.From)
	return d, note
}

func roundDuration(d time.Duration) string {
	if d < time.Hour {
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	h := int(d.Hours())
	m := int(d.Minutes()) - 60*h
	if m == 0 {
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %02d min", h, m)
}

// NewOptions reads the planning options as people write them: the limits,
// the first day ("2027-01-08"), when waves cut over ("Fri 18:00") and the
// IANA time zone of both ("" for UTC).
func NewOptions(maxPerWave int, maxGBPerWave float64, start, every, timeZone string) (Options, error) {
	if maxPerWave < 0 {
		return Options{}, fault.InvalidField("max_per_wave", "cannot be negative; 0 means no limit")
	}
	if maxGBPerWave < 0 || math.IsNaN(maxGBPerWave) || math.IsInf(maxGBPerWave, 0) {
		return Options{}, fault.InvalidField("max_gb_per_wave", "give a number of GB, or 0 for no limit")
	}
	loc := time.UTC
	if timeZone != "" {
		l, err := time.LoadLocation(timeZone)
		if err != nil {
			return Options{}, fault.InvalidField("time_zone", "%q is not a time zone; use an IANA name like Europe/Berlin or America/New_York", timeZone)
		}
		loc = l
	}
	if every == "" {
		every = "Fri 18:00"
	}
	e, err := ParseEvery(every, loc)
	if err != nil {
		return Options{}, fault.InvalidField("every", "%s", err.Error())
	}
	if start == "" {
		return Options{}, fault.InvalidField("start", "give the first day waves may cut over, as 2027-01-08")
	}
	day, err := time.ParseInLocation("2006-01-02", start, loc)
	if err != nil {
		return Options{}, fault.InvalidField("start", "%q: write the first day as 2027-01-08", start)
	}
	return Options{MaxPerWave: maxPerWave, MaxGBPerWave: maxGBPerWave, Start: day, Every: e}, nil
}
