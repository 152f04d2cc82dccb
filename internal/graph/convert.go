package graph

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/ferryhq/ferry/internal/fault"
)

// Identity and meeting data live in single-value extended properties of
// the public-strings property set (PS_PUBLIC_STRINGS): Graph's iCalUId is
// read-only (Exchange makes its own) and contacts have no UID at all.
const (
	psPublicStrings = "{00020329-0000-0000-C000-000000000046}"
	// PropUID holds the iCalendar or vCard UID of a copied event or contact.
	PropUID = "String " + psPublicStrings + " Name Ferry.UID"
	// PropParticipants holds a meeting's ORGANIZER and ATTENDEE lines (JSON)
	// so that the people and their answers stay with the event as data
	// without Exchange sending anyone a message (see docs/workloads.md).
	PropParticipants = "String " + psPublicStrings + " Name Ferry.Participants"
	// linkedApp names Ferry's linkedResource on a To Do task, whose
	// externalId is the VTODO's UID (tasks have no extended properties).
	linkedApp = "Ferry"
)

// expandProps is the $expand that returns Ferry's two properties.
var expandProps = "$expand=singleValueExtendedProperties($filter=id eq '" + PropUID + "' or id eq '" + PropParticipants + "')"

type extProp struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type dateTimeTZ struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

type itemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

type location struct {
	DisplayName string `json:"displayName"`
}

type recurrencePattern struct {
	Type           string   `json:"type"`
	Interval       int      `json:"interval"`
	Month          int      `json:"month,omitempty"`
	DayOfMonth     int      `json:"dayOfMonth,omitempty"`
	DaysOfWeek     []string `json:"daysOfWeek,omitempty"`
	FirstDayOfWeek string   `json:"firstDayOfWeek,omitempty"`
	Index          string   `json:"index,omitempty"`
}

type recurrenceRange struct {
	Type                string `json:"type"`
	StartDate           string `json:"startDate"`
	EndDate             string `json:"endDate,omitempty"`
	NumberOfOccurrences int    `json:"numberOfOccurrences,omitempty"`
	RecurrenceTimeZone  string `json:"recurrenceTimeZone,omitempty"`
}

// Recurrence is Graph's patternedRecurrence.
type Recurrence struct {
	Pattern recurrencePattern `json:"pattern"`
	Range   recurrenceRange   `json:"range"`
}

// Attendee is Graph's attendee; Ferry never writes one (see
// PropParticipants), the test double reads them to send invitations.
type Attendee struct {
	EmailAddress struct {
		Address string `json:"address"`
		Name    string `json:"name,omitempty"`
	} `json:"emailAddress"`
	Type string `json:"type,omitempty"`
}

// Event is the part of Graph's event resource Ferry writes and reads.
type Event struct {
	ID                         string      `json:"id,omitempty"`
	ETag                       string      `json:"@odata.etag,omitempty"`
	Subject                    string      `json:"subject"`
	Body                       *itemBody   `json:"body,omitempty"`
	Start                      *dateTimeTZ `json:"start,omitempty"`
	End                        *dateTimeTZ `json:"end,omitempty"`
	IsAllDay                   bool        `json:"isAllDay"`
	Location                   *location   `json:"location,omitempty"`
	Categories                 []string    `json:"categories"`
	ShowAs                     string      `json:"showAs,omitempty"`
	Sensitivity                string      `json:"sensitivity,omitempty"`
	IsReminderOn               bool        `json:"isReminderOn"`
	ReminderMinutesBeforeStart int         `json:"reminderMinutesBeforeStart"`
	Recurrence                 *Recurrence `json:"recurrence"`
	Attendees                  []Attendee  `json:"attendees,omitempty"`
	Type                       string      `json:"type,omitempty"`
	OriginalStart              string      `json:"originalStart,omitempty"`
	Ext                        []extProp   `json:"singleValueExtendedProperties,omitempty"`
}

const graphTime = "2006-01-02T15:04:05.0000000"

// participant is one ORGANIZER or ATTENDEE line kept as data.
type participant struct {
	Prop   string              `json:"prop"`
	Value  string              `json:"value"`
	Params map[string][]string `json:"params,omitempty"`
}

// eventParts is one iCalendar object as Graph takes it: the series (or
// single event) and what to do to its occurrences afterwards.
type eventParts struct {
	UID       string
	Event     Event
	Cancelled []time.Time // EXDATEs: occurrences to delete (their original start)
	Overrides []override  // RECURRENCE-ID components: occurrences to update
}

type override struct {
	OriginalStart time.Time
	Patch         Event
}

func (e *Event) ext(id string) string {
	for _, p := range e.Ext {
		if strings.EqualFold(p.ID, id) {
			return p.Value
		}
	}
	return ""
}

// toEvent converts a calendar object holding a VEVENT (and its overrides).
func toEvent(cal *ical.Calendar) (*eventParts, error) {
	var master *ical.Component
	var overrides []*ical.Component
	for _, comp := range cal.Children {
		if comp.Name != ical.CompEvent {
			continue
		}
		if comp.Props.Get(ical.PropRecurrenceID) != nil {
			overrides = append(overrides, comp)
		} else if master == nil {
			master = comp
		}
	}
	if master == nil {
		if len(overrides) == 0 {
			return nil, fault.New(fault.Invalid, "the object holds no VEVENT")
		}
		// Only modified occurrences, no series: each is a single event;
		// Microsoft 365 has no series without its master. Take the first.
		master = overrides[0]
		overrides = nil
	}
	p := &eventParts{UID: text(master, ical.PropUID)}
	ev, err := eventFields(master)
	if err != nil {
		return nil, err
	}
	ev.Ext = []extProp{{ID: PropUID, Value: p.UID}}
	if parts := participants(master); parts != "" {
		ev.Ext = append(ev.Ext, extProp{ID: PropParticipants, Value: parts})
	}
	if rr := master.Props.Get(ical.PropRecurrenceRule); rr != nil {
		start := master.Props.Get(ical.PropDateTimeStart)
		rec, err := recurrenceOf(rr.Value, start)
		if err != nil {
			return nil, err
		}
		ev.Recurrence = rec
		for _, ex := range master.Props.Values(ical.PropExceptionDates) {
			for _, v := range strings.Split(ex.Value, ",") {
				one := ex
				one.Value = v
				t, err := one.DateTime(time.UTC)
				if err != nil {
					return nil, fault.Wrap(fault.Invalid, err, "EXDATE %q", v)
				}
				p.Cancelled = append(p.Cancelled, t)
			}
		}
		for _, o := range overrides {
			rid := o.Props.Get(ical.PropRecurrenceID)
			t, err := rid.DateTime(time.UTC)
			if err != nil {
				return nil, fault.Wrap(fault.Invalid, err, "RECURRENCE-ID %q", rid.Value)
			}
			if strings.EqualFold(text(o, ical.PropStatus), "CANCELLED") {
				p.Cancelled = append(p.Cancelled, t)
				continue
			}
			patch, err := eventFields(o)
			if err != nil {
				return nil, err
			}
			p.Overrides = append(p.Overrides, override{OriginalStart: t, Patch: patch})
		}
	}
	p.Event = ev
	return p, nil
}

// eventFields maps one VEVENT's own properties.
func eventFields(comp *ical.Component) (Event, error) {
	ev := Event{Subject: text(comp, ical.PropSummary), Categories: categories(comp), ShowAs: "busy"}
	if d := text(comp, ical.PropDescription); d != "" {
		ev.Body = &itemBody{ContentType: "text", Content: d}
	}
	if l := text(comp, ical.PropLocation); l != "" {
		ev.Location = &location{DisplayName: l}
	}
	if strings.EqualFold(text(comp, ical.PropTransparency), "TRANSPARENT") {
		ev.ShowAs = "free"
	}
	switch strings.ToUpper(text(comp, ical.PropClass)) {
	case "PRIVATE":
		ev.Sensitivity = "private"
	case "CONFIDENTIAL":
		ev.Sensitivity = "confidential"
	}
	start := comp.Props.Get(ical.PropDateTimeStart)
	if start == nil {
		return ev, fault.New(fault.Invalid, "the event has no DTSTART")
	}
	allDay := start.ValueType() == ical.ValueDate
	st, stz, err := graphDateTime(start)
	if err != nil {
		return ev, err
	}
	ev.Start = &dateTimeTZ{DateTime: st, TimeZone: stz}
	ev.IsAllDay = allDay
	var end *dateTimeTZ
	if e := comp.Props.Get(ical.PropDateTimeEnd); e != nil {
		et, etz, err := graphDateTime(e)
		if err != nil {
			return ev, err
		}
		end = &dateTimeTZ{DateTime: et, TimeZone: etz}
	} else {
		t, _ := time.Parse(graphTime, st)
		d := time.Duration(0)
		if allDay {
			d = 24 * time.Hour
		}
		if du := comp.Props.Get(ical.PropDuration); du != nil {
			if x, err := du.Duration(); err == nil {
				d = x
			}
		}
		end = &dateTimeTZ{DateTime: t.Add(d).Format(graphTime), TimeZone: stz}
	}
	ev.End = end
	for _, a := range comp.Children {
		if a.Name != ical.CompAlarm {
			continue
		}
		if tr := a.Props.Get(ical.PropTrigger); tr != nil && tr.ValueType() != ical.ValueDateTime {
			if d, err := tr.Duration(); err == nil && d <= 0 {
				ev.IsReminderOn, ev.ReminderMinutesBeforeStart = true, int(-d/time.Minute)
				break
			}
		}
	}
	return ev, nil
}

// graphDateTime writes a DTSTART/DTEND as Graph's dateTimeTimeZone: local
// time and the TZID (IANA names are accepted by Graph), UTC for a time in
// Z or floating, midnight in UTC for a date (all-day: Graph wants both
// ends at midnight in one time zone).
func graphDateTime(p *ical.Prop) (string, string, error) {
	v := p.Value
	switch {
	case p.ValueType() == ical.ValueDate || len(v) == 8:
		t, err := time.Parse("20060102", v)
		if err != nil {
			return "", "", fault.Wrap(fault.Invalid, err, "date %q", v)
		}
		return t.Format(graphTime), "UTC", nil
	case strings.HasSuffix(v, "Z"):
		t, err := time.Parse("20060102T150405Z", v)
		if err != nil {
			return "", "", fault.Wrap(fault.Invalid, err, "time %q", v)
		}
		return t.Format(graphTime), "UTC", nil
	}
	t, err := time.Parse("20060102T150405", v)
	if err != nil {
		return "", "", fault.Wrap(fault.Invalid, err, "time %q", v)
	}
	tz := p.Params.Get(ical.ParamTimezoneID)
	if tz == "" {
		tz = "UTC"
	}
	return t.Format(graphTime), tz, nil
}

var weekdays = map[string]string{"MO": "monday", "TU": "tuesday", "WE": "wednesday", "TH": "thursday", "FR": "friday", "SA": "saturday", "SU": "sunday"}
var indexes = map[string]string{"1": "first", "2": "second", "3": "third", "4": "fourth", "-1": "last"}

// recurrenceOf maps an RRULE onto Graph's patterns; a rule Graph cannot
// hold is an error that says so (the event is reported, not bent).
func recurrenceOf(rule string, start *ical.Prop) (*Recurrence, error) {
	parts := map[string]string{}
	for _, kv := range strings.Split(rule, ";") {
		k, v, _ := strings.Cut(kv, "=")
		parts[strings.ToUpper(k)] = strings.ToUpper(v)
	}
	cannot := func(why string) error {
		return fault.New(fault.Invalid, "Microsoft 365 cannot hold the recurrence rule %q: %s", rule, why)
	}
	for k := range parts {
		switch k {
		case "FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST":
		default:
			return nil, cannot(k + " has no equivalent")
		}
	}
	st, tz, err := graphDateTime(start)
	if err != nil {
		return nil, err
	}
	t0, _ := time.Parse(graphTime, st)
	r := &Recurrence{Pattern: recurrencePattern{Interval: 1}, Range: recurrenceRange{Type: "noEnd", StartDate: t0.Format("2006-01-02"), RecurrenceTimeZone: tz}}
	if iv := parts["INTERVAL"]; iv != "" {
		if r.Pattern.Interval, err = strconv.Atoi(iv); err != nil || r.Pattern.Interval < 1 {
			return nil, cannot("INTERVAL")
		}
	}
	var days []string
	index := ""
	for _, d := range strings.Split(parts["BYDAY"], ",") {
		if d == "" {
			continue
		}
		pre, wd := d[:len(d)-2], d[len(d)-2:]
		name, ok := weekdays[wd]
		if !ok {
			return nil, cannot("BYDAY " + d)
		}
		if pre != "" {
			if index != "" && index != pre {
				return nil, cannot("several positions in BYDAY")
			}
			index = pre
		}
		days = append(days, name)
	}
	if sp := parts["BYSETPOS"]; sp != "" {
		index = sp
	}
	if index != "" {
		if r.Pattern.Index = indexes[strings.TrimPrefix(index, "+")]; r.Pattern.Index == "" {
			return nil, cannot("position " + index)
		}
	}
	mday := t0.Day()
	if md := parts["BYMONTHDAY"]; md != "" {
		if mday, err = strconv.Atoi(md); err != nil || mday < 1 {
			return nil, cannot("BYMONTHDAY " + md)
		}
	}
	month := int(t0.Month())
	if m := parts["BYMONTH"]; m != "" {
		if month, err = strconv.Atoi(m); err != nil {
			return nil, cannot("BYMONTH " + m)
		}
	}
	switch parts["FREQ"] {
	case "DAILY":
		r.Pattern.Type = "daily"
	case "WEEKLY":
		r.Pattern.Type = "weekly"
		if len(days) == 0 {
			days = []string{strings.ToLower(t0.Weekday().String())}
		}
		r.Pattern.DaysOfWeek = days
		r.Pattern.FirstDayOfWeek = "monday"
		if w := weekdays[parts["WKST"]]; w != "" {
			r.Pattern.FirstDayOfWeek = w
		}
	case "MONTHLY":
		if len(days) > 0 {
			r.Pattern.Type, r.Pattern.DaysOfWeek = "relativeMonthly", days
			if r.Pattern.Index == "" {
				r.Pattern.Index = "first"
			}
		} else {
			r.Pattern.Type, r.Pattern.DayOfMonth = "absoluteMonthly", mday
		}
	case "YEARLY":
		r.Pattern.Month = month
		if len(days) > 0 {
			r.Pattern.Type, r.Pattern.DaysOfWeek = "relativeYearly", days
			if r.Pattern.Index == "" {
				r.Pattern.Index = "first"
			}
		} else {
			r.Pattern.Type, r.Pattern.DayOfMonth = "absoluteYearly", mday
		}
	default:
		return nil, cannot("FREQ=" + parts["FREQ"])
	}
	switch {
	case parts["COUNT"] != "":
		n, err := strconv.Atoi(parts["COUNT"])
		if err != nil || n < 1 {
			return nil, cannot("COUNT")
		}
		r.Range.Type, r.Range.NumberOfOccurrences = "numbered", n
	case parts["UNTIL"] != "":
		u := parts["UNTIL"]
		if len(u) < 8 {
			return nil, cannot("UNTIL")
		}
		ut, err := time.Parse("20060102", u[:8])
		if err != nil {
			return nil, cannot("UNTIL")
		}
		r.Range.Type, r.Range.EndDate = "endDate", ut.Format("2006-01-02")
	}
	return r, nil
}

// rrule writes a Graph pattern back as an RRULE (for reading events back).
func (r *Recurrence) rrule() string {
	var b strings.Builder
	byday := func(index string) string {
		pre := ""
		for k, v := range indexes {
			if v == index {
				pre = k
			}
		}
		var ds []string
		for _, d := range r.Pattern.DaysOfWeek {
			for k, v := range weekdays {
				if v == strings.ToLower(d) {
					ds = append(ds, pre+k)
				}
			}
		}
		return strings.Join(ds, ",")
	}
	switch r.Pattern.Type {
	case "daily":
		b.WriteString("FREQ=DAILY")
	case "weekly":
		b.WriteString("FREQ=WEEKLY;BYDAY=" + byday(""))
	case "absoluteMonthly":
		fmt.Fprintf(&b, "FREQ=MONTHLY;BYMONTHDAY=%d", r.Pattern.DayOfMonth)
	case "relativeMonthly":
		b.WriteString("FREQ=MONTHLY;BYDAY=" + byday(r.Pattern.Index))
	case "absoluteYearly":
		fmt.Fprintf(&b, "FREQ=YEARLY;BYMONTH=%d;BYMONTHDAY=%d", r.Pattern.Month, r.Pattern.DayOfMonth)
	case "relativeYearly":
		fmt.Fprintf(&b, "FREQ=YEARLY;BYMONTH=%d;BYDAY=%s", r.Pattern.Month, byday(r.Pattern.Index))
	}
	if r.Pattern.Interval > 1 {
		fmt.Fprintf(&b, ";INTERVAL=%d", r.Pattern.Interval)
	}
	switch r.Range.Type {
	case "numbered":
		fmt.Fprintf(&b, ";COUNT=%d", r.Range.NumberOfOccurrences)
	case "endDate":
		b.WriteString(";UNTIL=" + strings.ReplaceAll(r.Range.EndDate, "-", ""))
	}
	return b.String()
}

func participants(comp *ical.Component) string {
	var out []participant
	for _, name := range []string{ical.PropOrganizer, ical.PropAttendee} {
		for _, p := range comp.Props.Values(name) {
			params := map[string][]string{}
			for k, v := range p.Params {
				if k != "SCHEDULE-AGENT" && k != "SCHEDULE-STATUS" {
					params[k] = v
				}
			}
			out = append(out, participant{Prop: name, Value: p.Value, Params: params})
		}
	}
	if len(out) == 0 {
		return ""
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// fromEvent writes an event read from Graph as an iCalendar object: the
// fields Ferry maps, the UID and the participants kept as data.
func fromEvent(ev *Event) *ical.Calendar {
	cal := newCalendar()
	comp := ical.NewComponent(ical.CompEvent)
	setText(comp, ical.PropUID, ev.ext(PropUID))
	comp.Props.SetDateTime(ical.PropDateTimeStamp, time.Unix(0, 0).UTC())
	setText(comp, ical.PropSummary, ev.Subject)
	if ev.Body != nil {
		setText(comp, ical.PropDescription, ev.Body.Content)
	}
	if ev.Location != nil {
		setText(comp, ical.PropLocation, ev.Location.DisplayName)
	}
	for i, dt := range []*dateTimeTZ{ev.Start, ev.End} {
		if dt == nil {
			continue
		}
		name := ical.PropDateTimeStart
		if i == 1 {
			name = ical.PropDateTimeEnd
		}
		t, _ := time.Parse(graphTime, dt.DateTime)
		p := ical.NewProp(name)
		switch {
		case ev.IsAllDay:
			p.SetDate(t)
		case dt.TimeZone == "UTC" || dt.TimeZone == "":
			p.Value = t.Format("20060102T150405Z")
		default:
			p.Value = t.Format("20060102T150405")
			p.Params.Set(ical.ParamTimezoneID, dt.TimeZone)
		}
		comp.Props.Set(p)
	}
	if len(ev.Categories) > 0 {
		p := ical.NewProp(ical.PropCategories)
		p.SetTextList(ev.Categories)
		comp.Props.Set(p)
	}
	if ev.ShowAs == "free" {
		setText(comp, ical.PropTransparency, "TRANSPARENT")
	}
	if ev.Recurrence != nil {
		p := ical.NewProp(ical.PropRecurrenceRule)
		p.Value = ev.Recurrence.rrule()
		comp.Props.Set(p)
	}
	var parts []participant
	json.Unmarshal([]byte(ev.ext(PropParticipants)), &parts)
	for _, pt := range parts {
		p := ical.NewProp(pt.Prop)
		p.Value = pt.Value
		for k, v := range pt.Params {
			p.Params[k] = v
		}
		comp.Props.Add(p)
	}
	if ev.IsReminderOn {
		a := ical.NewComponent(ical.CompAlarm)
		setText(a, ical.PropAction, "DISPLAY")
		tr := ical.NewProp(ical.PropTrigger)
		tr.SetDuration(-time.Duration(ev.ReminderMinutesBeforeStart) * time.Minute)
		a.Props.Set(tr)
		comp.Children = append(comp.Children, a)
	}
	cal.Children = append(cal.Children, comp)
	return cal
}

// Task is the part of Graph's todoTask Ferry writes and reads.
type Task struct {
	ID                string           `json:"id,omitempty"`
	ETag              string           `json:"@odata.etag,omitempty"`
	Title             string           `json:"title"`
	Body              *itemBody        `json:"body,omitempty"`
	Status            string           `json:"status,omitempty"`
	Importance        string           `json:"importance,omitempty"`
	DueDateTime       *dateTimeTZ      `json:"dueDateTime,omitempty"`
	StartDateTime     *dateTimeTZ      `json:"startDateTime,omitempty"`
	CompletedDateTime *dateTimeTZ      `json:"completedDateTime,omitempty"`
	IsReminderOn      bool             `json:"isReminderOn"`
	ReminderDateTime  *dateTimeTZ      `json:"reminderDateTime,omitempty"`
	Categories        []string         `json:"categories"`
	LinkedResources   []LinkedResource `json:"linkedResources,omitempty"`
}

// LinkedResource is Graph's linkedResource: Ferry's carries the UID.
type LinkedResource struct {
	ID              string `json:"id,omitempty"`
	ApplicationName string `json:"applicationName"`
	DisplayName     string `json:"displayName,omitempty"`
	ExternalID      string `json:"externalId"`
	WebURL          string `json:"webUrl,omitempty"`
}

func toTask(cal *ical.Calendar) (string, *Task, error) {
	var comp *ical.Component
	for _, c := range cal.Children {
		if c.Name == ical.CompToDo {
			comp = c
			break
		}
	}
	if comp == nil {
		return "", nil, fault.New(fault.Invalid, "the object holds no VTODO")
	}
	uid := text(comp, ical.PropUID)
	t := &Task{Title: text(comp, ical.PropSummary), Categories: categories(comp), Status: "notStarted", Importance: "normal"}
	if d := text(comp, ical.PropDescription); d != "" {
		t.Body = &itemBody{ContentType: "text", Content: d}
	}
	switch strings.ToUpper(text(comp, ical.PropStatus)) {
	case "COMPLETED":
		t.Status = "completed"
	case "IN-PROCESS":
		t.Status = "inProgress"
	case "CANCELLED":
		t.Status = "deferred"
	}
	if p, err := strconv.Atoi(text(comp, ical.PropPriority)); err == nil && p > 0 {
		switch {
		case p <= 4:
			t.Importance = "high"
		case p >= 6:
			t.Importance = "low"
		}
	}
	for _, f := range []struct {
		prop string
		to   **dateTimeTZ
	}{{ical.PropDue, &t.DueDateTime}, {ical.PropDateTimeStart, &t.StartDateTime}, {ical.PropCompleted, &t.CompletedDateTime}} {
		if p := comp.Props.Get(f.prop); p != nil {
			dt, tz, err := graphDateTime(p)
			if err != nil {
				return "", nil, err
			}
			*f.to = &dateTimeTZ{DateTime: dt, TimeZone: tz}
		}
	}
	for _, a := range comp.Children {
		if a.Name != ical.CompAlarm || t.DueDateTime == nil {
			continue
		}
		if tr := a.Props.Get(ical.PropTrigger); tr != nil && tr.ValueType() != ical.ValueDateTime {
			if d, err := tr.Duration(); err == nil {
				due, _ := time.Parse(graphTime, t.DueDateTime.DateTime)
				t.IsReminderOn = true
				t.ReminderDateTime = &dateTimeTZ{DateTime: due.Add(d).Format(graphTime), TimeZone: t.DueDateTime.TimeZone}
				break
			}
		}
	}
	t.LinkedResources = []LinkedResource{{ApplicationName: linkedApp, DisplayName: "Ferry migration", ExternalID: uid}}
	return uid, t, nil
}

func fromTask(t *Task, links []LinkedResource) *ical.Calendar {
	cal := newCalendar()
	comp := ical.NewComponent(ical.CompToDo)
	for _, l := range append(links, t.LinkedResources...) {
		if l.ApplicationName == linkedApp {
			setText(comp, ical.PropUID, l.ExternalID)
			break
		}
	}
	comp.Props.SetDateTime(ical.PropDateTimeStamp, time.Unix(0, 0).UTC())
	setText(comp, ical.PropSummary, t.Title)
	if t.Body != nil {
		setText(comp, ical.PropDescription, t.Body.Content)
	}
	switch t.Status {
	case "completed":
		setText(comp, ical.PropStatus, "COMPLETED")
	case "inProgress":
		setText(comp, ical.PropStatus, "IN-PROCESS")
	case "deferred":
		setText(comp, ical.PropStatus, "CANCELLED")
	default:
		setText(comp, ical.PropStatus, "NEEDS-ACTION")
	}
	if t.DueDateTime != nil {
		d, _ := time.Parse(graphTime, t.DueDateTime.DateTime)
		p := ical.NewProp(ical.PropDue)
		p.SetDate(d)
		comp.Props.Set(p)
	}
	if len(t.Categories) > 0 {
		p := ical.NewProp(ical.PropCategories)
		p.SetTextList(t.Categories)
		comp.Props.Set(p)
	}
	cal.Children = append(cal.Children, comp)
	return cal
}

// Contact is the part of Graph's contact resource Ferry writes and reads.
type Contact struct {
	ID             string         `json:"id,omitempty"`
	ETag           string         `json:"@odata.etag,omitempty"`
	DisplayName    string         `json:"displayName"`
	GivenName      string         `json:"givenName"`
	MiddleName     string         `json:"middleName"`
	Surname        string         `json:"surname"`
	Title          string         `json:"title"`
	Generation     string         `json:"generation"`
	NickName       string         `json:"nickName"`
	CompanyName    string         `json:"companyName"`
	Department     string         `json:"department"`
	JobTitle       string         `json:"jobTitle"`
	EmailAddresses []emailAddress `json:"emailAddresses"`
	BusinessPhones []string       `json:"businessPhones"`
	HomePhones     []string       `json:"homePhones"`
	MobilePhone    string         `json:"mobilePhone"`
	HomeAddress    *address       `json:"homeAddress,omitempty"`
	BusinessAddr   *address       `json:"businessAddress,omitempty"`
	OtherAddress   *address       `json:"otherAddress,omitempty"`
	PersonalNotes  string         `json:"personalNotes"`
	Categories     []string       `json:"categories"`
	Birthday       string         `json:"birthday,omitempty"`
	Ext            []extProp      `json:"singleValueExtendedProperties,omitempty"`
}

type emailAddress struct {
	Address string `json:"address"`
	Name    string `json:"name,omitempty"`
}

type address struct {
	Street          string `json:"street"`
	City            string `json:"city"`
	State           string `json:"state"`
	PostalCode      string `json:"postalCode"`
	CountryOrRegion string `json:"countryOrRegion"`
}

// toContact maps a vCard; the photo (decoded) is written separately.
func toContact(card vcard.Card) (string, *Contact, []byte, error) {
	uid := card.Value(vcard.FieldUID)
	c := &Contact{DisplayName: card.Value(vcard.FieldFormattedName), NickName: card.Value(vcard.FieldNickname),
		JobTitle: card.Value(vcard.FieldTitle), PersonalNotes: card.Value(vcard.FieldNote),
		EmailAddresses: []emailAddress{}, BusinessPhones: []string{}, HomePhones: []string{}, Categories: card.Categories()}
	if c.Categories == nil {
		c.Categories = []string{}
	}
	if n := card.Name(); n != nil {
		c.GivenName, c.MiddleName, c.Surname, c.Title, c.Generation = n.GivenName, n.AdditionalName, n.FamilyName, n.HonorificPrefix, n.HonorificSuffix
	}
	if org := card.Value(vcard.FieldOrganization); org != "" {
		parts := splitStructured(org)
		c.CompanyName = parts[0]
		if len(parts) > 1 {
			c.Department = strings.Join(parts[1:], ", ")
		}
	}
	for _, e := range card[vcard.FieldEmail] {
		if len(c.EmailAddresses) < 3 { // Graph keeps three
			c.EmailAddresses = append(c.EmailAddresses, emailAddress{Address: e.Value, Name: c.DisplayName})
		}
	}
	for _, t := range card[vcard.FieldTelephone] {
		types := strings.ToLower(strings.Join(t.Params[vcard.ParamType], ","))
		switch {
		case strings.Contains(types, "cell") && c.MobilePhone == "":
			c.MobilePhone = t.Value
		case strings.Contains(types, "home"):
			c.HomePhones = append(c.HomePhones, t.Value)
		default:
			c.BusinessPhones = append(c.BusinessPhones, t.Value)
		}
	}
	for _, a := range card.Addresses() {
		ad := &address{Street: strings.TrimSpace(strings.Join([]string{a.PostOfficeBox, a.StreetAddress, a.ExtendedAddress}, " ")),
			City: a.Locality, State: a.Region, PostalCode: a.PostalCode, CountryOrRegion: a.Country}
		ad.Street = strings.Join(strings.Fields(ad.Street), " ")
		types := strings.ToLower(strings.Join(a.Params[vcard.ParamType], ","))
		switch {
		case strings.Contains(types, "home") && c.HomeAddress == nil:
			c.HomeAddress = ad
		case strings.Contains(types, "work") && c.BusinessAddr == nil:
			c.BusinessAddr = ad
		case c.OtherAddress == nil:
			c.OtherAddress = ad
		}
	}
	if b := card.Value(vcard.FieldBirthday); len(b) >= 8 {
		if t, err := time.Parse("20060102", strings.ReplaceAll(b[:min(len(b), 10)], "-", "")); err == nil {
			c.Birthday = t.Format("2006-01-02") + "T11:59:00Z"
		}
	}
	c.Ext = []extProp{{ID: PropUID, Value: uid}}
	var photo []byte
	if f := card.Get(vcard.FieldPhoto); f != nil && !strings.HasPrefix(f.Value, "http") {
		v := f.Value
		if i := strings.Index(v, ";base64,"); strings.HasPrefix(v, "data:") && i > 0 {
			v = v[i+len(";base64,"):]
		}
		if b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), "")); err == nil {
			photo = b
		}
	}
	return uid, c, photo, nil
}

func splitStructured(v string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			i++
			cur.WriteByte(v[i])
		case v[i] == ';':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	return append(parts, cur.String())
}

func fromContact(c *Contact) vcard.Card {
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, "3.0")
	card.SetValue(vcard.FieldUID, c.ext(PropUID))
	card.SetValue(vcard.FieldFormattedName, c.DisplayName)
	card.SetName(&vcard.Name{GivenName: c.GivenName, AdditionalName: c.MiddleName, FamilyName: c.Surname, HonorificPrefix: c.Title, HonorificSuffix: c.Generation})
	for _, e := range c.EmailAddresses {
		card.AddValue(vcard.FieldEmail, e.Address)
	}
	if c.CompanyName != "" {
		card.SetValue(vcard.FieldOrganization, c.CompanyName)
	}
	if c.PersonalNotes != "" {
		card.SetValue(vcard.FieldNote, c.PersonalNotes)
	}
	return card
}

func (c *Contact) ext(id string) string {
	for _, p := range c.Ext {
		if strings.EqualFold(p.ID, id) {
			return p.Value
		}
	}
	return ""
}

func newCalendar() *ical.Calendar {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "-//Ferry//Microsoft Graph//EN")
	return cal
}

func text(comp *ical.Component, name string) string {
	p := comp.Props.Get(name)
	if p == nil {
		return ""
	}
	if s, err := p.Text(); err == nil {
		return s
	}
	return p.Value
}

func setText(comp *ical.Component, name, v string) {
	if v != "" {
		comp.Props.SetText(name, v)
	}
}

func categories(comp *ical.Component) []string {
	out := []string{}
	for _, p := range comp.Props.Values(ical.PropCategories) {
		l, err := p.TextList()
		if err != nil {
			continue
		}
		out = append(out, l...)
	}
	return out
}
