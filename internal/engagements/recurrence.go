package engagements

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// recurrence is the part of RFC 5545's RRULE Ferry reads: enough for the
// playbook's weekly checkpoint meeting and its kin.
type recurrence struct {
	freq     string // DAILY, WEEKLY, MONTHLY
	interval int
	count    int       // 0: no limit
	until    time.Time // zero: no limit; the end of that day in the event's zone
}

const recurrenceHelp = "write it as FREQ=DAILY|WEEKLY|MONTHLY with optional INTERVAL=n, COUNT=n or UNTIL=YYYYMMDD, e.g. FREQ=WEEKLY;COUNT=12"

// parseRecurrence reads a rule; "" is an event that happens once (nil).
func parseRecurrence(rule string, loc *time.Location) (*recurrence, error) {
	rule = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rule), "RRULE:"))
	if rule == "" {
		return nil, nil
	}
	bad := func(why string) error {
		return fault.InvalidField("recurrence", "%q: %s; %s", rule, why, recurrenceHelp)
	}
	r := &recurrence{interval: 1}
	for _, part := range strings.Split(rule, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, bad("each part is NAME=value")
		}
		switch strings.ToUpper(k) {
		case "FREQ":
			r.freq = strings.ToUpper(v)
			if !slices.Contains([]string{"DAILY", "WEEKLY", "MONTHLY"}, r.freq) {
				return nil, bad("Ferry repeats events daily, weekly or monthly")
			}
		case "INTERVAL", "COUNT":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return nil, bad(strings.ToUpper(k) + " is a whole number from 1 to 1000")
			}
			if strings.ToUpper(k) == "INTERVAL" {
				r.interval = n
			} else {
				r.count = n
			}
		case "UNTIL":
			d, err := time.ParseInLocation("20060102", v[:min(len(v), 8)], loc)
			if err != nil {
				return nil, bad("UNTIL is a date, YYYYMMDD")
			}
			r.until = d.AddDate(0, 0, 1)
		default:
			return nil, bad("Ferry does not read " + strings.ToUpper(k))
		}
	}
	if r.freq == "" {
		return nil, bad("FREQ is missing")
	}
	return r, nil
}

// nth is the start of the n-th occurrence (0 the first), counted in the
// event's time zone so that it keeps its local time across daylight-saving changes.
func (r *recurrence) nth(first time.Time, n int) time.Time {
	switch r.freq {
	case "DAILY":
		return first.AddDate(0, 0, n*r.interval)
	case "WEEKLY":
		return first.AddDate(0, 0, 7*n*r.interval)
	}
	return first.AddDate(0, n*r.interval, 0)
}

// Occurrence is one time an event takes place.
type Occurrence struct {
	EventID  int64     `json:"event_id"`
	Kind     string    `json:"kind"`
	Title    string    `json:"title"`
	Starts   time.Time `json:"starts"`
	Ends     time.Time `json:"ends"`
	TimeZone string    `json:"time_zone"`
}

// occurrences lists an event's occurrences that have not ended by now, at most max.
func occurrences(ev store.ScheduledEvent, now time.Time, max int) []Occurrence {
	loc, err := time.LoadLocation(ev.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	r, err := parseRecurrence(ev.Recurrence, loc)
	if err != nil {
		r = nil // a rule stored before it could be checked: show the event once
	}
	first, length := ev.Starts.In(loc), ev.Ends.Sub(ev.Starts)
	var out []Occurrence
	for n := 0; len(out) < max; n++ {
		starts := first
		if r != nil {
			if r.count > 0 && n >= r.count {
				break
			}
			starts = r.nth(first, n)
			if !r.until.IsZero() && !starts.Before(r.until) {
				break
			}
		} else if n > 0 {
			break
		}
		if starts.Add(length).After(now) {
			out = append(out, Occurrence{EventID: ev.ID, Kind: ev.Kind, Title: ev.Title, Starts: starts, Ends: starts.Add(length), TimeZone: ev.TimeZone})
		}
		if r != nil && r.count == 0 && r.until.IsZero() && n > 100000 {
			break // a rule without an end, started long ago: enough
		}
	}
	return out
}

// UpcomingEvents lists the next occurrences of the engagement's events,
// recurring ones included, soonest first, at most max (an event still
// running counts).
func (s *Service) UpcomingEvents(ctx context.Context, engagementID int64, max int) ([]Occurrence, error) {
	if _, err := s.engagement(ctx, auth.ActionListEvents, engagementID); err != nil {
		return nil, err
	}
	if max < 1 || max > 500 {
		return nil, fault.InvalidField("count", "%d: ask for 1 to 500 occurrences", max)
	}
	events, err := s.Store.Events(ctx, engagementID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []Occurrence
	for _, ev := range events {
		out = append(out, occurrences(ev, now, max)...)
	}
	slices.SortStableFunc(out, func(a, b Occurrence) int { return a.Starts.Compare(b.Starts) })
	return out[:min(len(out), max)], nil
}
