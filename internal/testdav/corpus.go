package testdav

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// Item is one object of a generated corpus, as raw bytes for PUT.
type Item struct {
	Name string // resource name in its collection
	UID  string
	Data []byte
}

// fold writes iCalendar/vCard content lines: CRLF ends, lines longer than
// 75 octets folded (RFC 5545 §3.1), without splitting a UTF-8 sequence.
func fold(lines ...string) []byte {
	var b strings.Builder
	for _, l := range lines {
		for len(l) > 75 {
			cut := 75
			for cut > 0 && l[cut]&0xC0 == 0x80 {
				cut--
			}
			b.WriteString(l[:cut] + "\r\n ")
			l = l[cut:]
		}
		b.WriteString(l + "\r\n")
	}
	return []byte(b.String())
}

const berlin = `BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE`

// Events returns n calendar objects; the first ones are the hard cases:
// a recurring series in Europe/Berlin with a cancelled (EXDATE) and a
// moved (RECURRENCE-ID) occurrence in the same resource, an all-day event,
// a meeting with organizer and attendees, alarms, categories, colour, an
// inline attachment, and text with unicode, commas, semicolons and long
// folded lines. The rest are plain events.
func Events(n int) []Item {
	long := strings.Repeat("Zeile mit Umlauten äöü, Kommas; Semikolons und Emoji 🚀 ", 8)
	attach := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("agenda line\n", 200)))
	var items []Item
	add := func(uid string, body ...string) {
		lines := []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Ferry tests//corpus//EN"}
		for _, b := range body {
			lines = append(lines, strings.Split(b, "\n")...)
		}
		lines = append(lines, "END:VCALENDAR")
		items = append(items, Item{Name: fmt.Sprintf("ev-%03d.ics", len(items)), UID: uid, Data: fold(lines...)})
	}
	add("series-1@ferry.test", berlin,
		"BEGIN:VEVENT\nUID:series-1@ferry.test\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=Europe/Berlin:20260105T090000\nDTEND;TZID=Europe/Berlin:20260105T093000\n"+
			"RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=20\nEXDATE;TZID=Europe/Berlin:20260119T090000\nSUMMARY:Weekly stand-up\\, team Ä\n"+
			"CATEGORIES:Work,Team\nCOLOR:steelblue\n"+
			"BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:Stand-up\nTRIGGER:-PT10M\nEND:VALARM\nEND:VEVENT",
		"BEGIN:VEVENT\nUID:series-1@ferry.test\nDTSTAMP:20260101T000000Z\nRECURRENCE-ID;TZID=Europe/Berlin:20260112T090000\n"+
			"DTSTART;TZID=Europe/Berlin:20260112T110000\nDTEND;TZID=Europe/Berlin:20260112T113000\nSUMMARY:Weekly stand-up (moved)\nEND:VEVENT")
	add("allday-1@ferry.test", "BEGIN:VEVENT\nUID:allday-1@ferry.test\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:20260214\nDTEND;VALUE=DATE:20260215\nSUMMARY:Ganztägig: Valentinstag\nTRANSP:TRANSPARENT\nEND:VEVENT")
	add("meeting-1@ferry.test", "BEGIN:VEVENT\nUID:meeting-1@ferry.test\nDTSTAMP:20260101T000000Z\nDTSTART:20260301T140000Z\nDTEND:20260301T150000Z\n"+
		"SUMMARY:Budget review; Q1\nORGANIZER;CN=\"Boss, The\":mailto:boss@ferry.test\n"+
		"ATTENDEE;CN=\"Müller, Anna\";PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:anna@ferry.test\n"+
		"ATTENDEE;CN=José;PARTSTAT=DECLINED:mailto:jose@ferry.test\n"+
		"ATTACH;FMTTYPE=text/plain;ENCODING=BASE64;VALUE=BINARY:"+attach+"\n"+
		"ATTACH:https://files.ferry.test/agenda.pdf\n"+
		"DESCRIPTION:"+long+"\nLOCATION:Raum 3\\; 2. OG\nEND:VEVENT")
	for len(items) < n {
		i := len(items)
		add(fmt.Sprintf("plain-%d@ferry.test", i), fmt.Sprintf("BEGIN:VEVENT\nUID:plain-%d@ferry.test\nDTSTAMP:20260101T000000Z\nDTSTART:202604%02dT100000Z\nDTEND:202604%02dT110000Z\nSUMMARY:Event %d — ✓\nEND:VEVENT", i, i%28+1, i%28+1, i))
	}
	return items[:n]
}

// Tasks returns n VTODO objects (one with a due date, priority and an
// alarm; one completed).
func Tasks(n int) []Item {
	var items []Item
	for i := range n {
		uid := fmt.Sprintf("task-%d@ferry.test", i)
		status := "NEEDS-ACTION"
		if i%2 == 1 {
			status = "COMPLETED\nCOMPLETED:20260110T120000Z"
		}
		items = append(items, Item{Name: fmt.Sprintf("task-%03d.ics", i), UID: uid, Data: fold(strings.Split(fmt.Sprintf(
			"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Ferry tests//corpus//EN\nBEGIN:VTODO\nUID:%s\nDTSTAMP:20260101T000000Z\nSUMMARY:Aufgabe %d: Steuern, Belege; prüfen\nDUE;VALUE=DATE:202605%02d\nPRIORITY:%d\nSTATUS:%s\n"+
				"BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:due\nTRIGGER;RELATED=END:-P1D\nEND:VALARM\nEND:VTODO\nEND:VCALENDAR", uid, i, i%28+1, i%9+1, status), "\n")...)})
	}
	return items
}

// Contacts returns n vCards 3.0: structured names with commas and
// semicolons, unicode, grouped properties, several phone types; every
// third has a photo of photoBytes bytes.
func Contacts(n, photoBytes int) []Item {
	photo := make([]byte, photoBytes)
	for i := range photo {
		photo[i] = byte(i * 31)
	}
	photo64 := base64.StdEncoding.EncodeToString(photo)
	var items []Item
	for i := range n {
		uid := fmt.Sprintf("contact-%d@ferry.test", i)
		lines := []string{"BEGIN:VCARD", "VERSION:3.0", "UID:" + uid,
			fmt.Sprintf("FN:Zoë O'Brien-Łukasiewicz %d", i),
			fmt.Sprintf("N:O'Brien-Łukasiewicz;Zoë;Maria\\, Anna;Dr.;%d", i),
			"ORG:Müller & Söhne\\, GmbH;Vertrieb",
			"TEL;TYPE=WORK,VOICE:+49 30 1234567",
			"TEL;TYPE=CELL:+49 170 7654321",
			"item1.EMAIL;TYPE=INTERNET:zoe" + fmt.Sprint(i) + "@ferry.test",
			"item1.X-ABLabel:Privat",
			"ADR;TYPE=HOME:;;Straße 1\\; Hinterhaus;Berlin;;10115;Deutschland",
			"NOTE:" + strings.Repeat(`Notiz\, mit\; Zeichen ✓ `, 10),
			"CATEGORIES:Kunden,VIP"}
		if i%3 == 0 {
			lines = append(lines, "PHOTO;ENCODING=b;TYPE=JPEG:"+photo64)
		}
		lines = append(lines, "END:VCARD")
		items = append(items, Item{Name: fmt.Sprintf("contact-%03d.vcf", i), UID: uid, Data: fold(lines...)})
	}
	return items
}

// Load puts the items into the collection at path as user.
func (r *Radicale) Load(tb testing.TB, user, path, contentType string, items []Item) {
	tb.Helper()
	for _, it := range items {
		r.Put(tb, user, path+it.Name, contentType, it.Data)
	}
}
