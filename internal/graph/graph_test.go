package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/testgraph"
	"github.com/ferryhq/ferry/internal/testoauth"
)

const mailbox = "adele@contoso.test"

type bundle struct {
	srv    *testgraph.Server
	tokens *testoauth.Server
	src    *oauth.Source
	c      *Client
	mu     sync.Mutex
	slept  []time.Duration
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ts := testoauth.Start(t)
	ts.AddApp(&testoauth.App{ClientID: "ferry-app", Secret: "app-secret"})
	srv := testgraph.Start(t, ts.IntrospectURL)
	srv.AddMailbox(mailbox)
	src, err := oauth.New(oauth.Config{Tenant: "contoso", ClientID: "ferry-app", ClientSecret: "app-secret", TokenURL: ts.TokenURL, Scope: Scope}, srv.Client)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{URL: srv.URL, Mailbox: mailbox, Tokens: src, HTTP: srv.Client})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{srv: srv, tokens: ts, src: src, c: c}
	// Waits are recorded, not slept: the test checks they are what
	// Retry-After said.
	c.sleep = func(_ context.Context, d time.Duration) error {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.slept = append(b.slept, d)
		return nil
	}
	return b
}

func event(uid, summary, extra string) dav.Object {
	data := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:20260101T000000Z\r\n" +
		"DTSTART:20260301T140000Z\r\nDTEND:20260301T150000Z\r\nSUMMARY:" + summary + "\r\n" + extra + "END:VEVENT\r\nEND:VCALENDAR\r\n"
	cal, err := ical.NewDecoder(strings.NewReader(data)).Decode()
	if err != nil {
		panic(err)
	}
	return dav.Object{Path: uid + ".ics", Cal: cal}
}

func calendar(t *testing.T, b *bundle) dav.Collection {
	t.Helper()
	colls, err := b.c.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range colls {
		if c.Name == "Calendar" && c.Holds("VEVENT") {
			return c
		}
	}
	t.Fatalf("no default calendar in %v", colls)
	return dav.Collection{}
}

// TestClientPagesBatchesAndWaitsOutThrottling writes 45 events, lists
// them through pages of 10 (@odata.nextLink), reads them in $batch
// requests of at most 20, and meets 429s on whole requests and inside a
// batch: each is retried after exactly its Retry-After.
func TestClientPagesBatchesAndWaitsOutThrottling(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cal := calendar(t, b)
	for i := range 45 {
		if _, _, err := b.c.Put(ctx, cal, event(fmt.Sprintf("uid-%d@t", i), fmt.Sprintf("Event %d", i), ""), ""); err != nil {
			t.Fatal(err)
		}
	}
	b.srv.SetPageSize(10)
	b.srv.Throttle(2, 7)
	refs, err := b.c.List(ctx, cal)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 45 {
		t.Fatalf("listed %d events, want 45", len(refs))
	}
	_, batchesBefore, _ := b.srv.Stats()
	b.srv.ThrottleInBatch(3, 4)
	var paths []string
	for _, r := range refs {
		paths = append(paths, r.Path)
	}
	objs, err := b.c.Get(ctx, cal, paths)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, o := range objs {
		seen[strings.TrimSpace(o.Cal.Children[0].Props.Get(ical.PropUID).Value)] = true
	}
	if len(objs) != 45 || len(seen) != 45 {
		t.Fatalf("read %d events (%d UIDs), want 45", len(objs), len(seen))
	}
	_, batchesAfter, throttled := b.srv.Stats()
	// 45 reads: 3 batches of at most 20, then one more for the 3 throttled.
	if n := batchesAfter - batchesBefore; n != 4 {
		t.Errorf("%d batches, want 4", n)
	}
	if throttled != 5 {
		t.Errorf("the double throttled %d requests, want 5", throttled)
	}
	want := []time.Duration{7 * time.Second, 7 * time.Second, 4 * time.Second}
	if fmt.Sprint(b.slept) != fmt.Sprint(want) {
		t.Errorf("waited %v, want %v (the Retry-After answers)", b.slept, want)
	}
}

// TestClientRenewsRefusedToken: a token Graph refuses as expired (401
// InvalidAuthenticationToken) is replaced by a new one and the request
// is sent again; a throttled request waits no longer than MaxWait.
func TestClientRenewsRefusedToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cal := calendar(t, b)
	tok, err := b.src.Token(ctx, mailbox)
	if err != nil {
		t.Fatal(err)
	}
	b.srv.ExpireToken(tok)
	grants := b.tokens.Grants()
	if _, _, err := b.c.Put(ctx, cal, event("renew@t", "After renewal", ""), ""); err != nil {
		t.Fatalf("write with an expired token: %v", err)
	}
	if b.tokens.Grants() != grants+1 {
		t.Errorf("%d new tokens, want 1", b.tokens.Grants()-grants)
	}
	b.c.maxWait = 30 * time.Second
	b.srv.Throttle(100, 20)
	_, err = b.c.List(ctx, cal)
	if err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "still throttled after waiting 20s") {
		t.Fatalf("throttled for good: %v", err)
	}
}

// TestMeetingWrittenWithoutInvitations: the double sends invitations as
// Exchange does when an event with attendees is created through Graph
// (checked first with a raw request); a meeting Ferry writes reaches no
// attendee, and its organizer, attendees and answers are kept as data.
func TestMeetingWrittenWithoutInvitations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cal := calendar(t, b)

	// The double's side: a plain create with attendees invites them.
	raw := map[string]any{"subject": "Raw meeting", "start": map[string]string{"dateTime": "2026-03-01T14:00:00", "timeZone": "UTC"},
		"end":       map[string]string{"dateTime": "2026-03-01T15:00:00", "timeZone": "UTC"},
		"attendees": []any{map[string]any{"emailAddress": map[string]string{"address": "anna@fabrikam.test"}, "type": "required"}}}
	if _, err := b.c.do(ctx, http.MethodPost, b.c.userPath(cal.Path+"events"), raw, nil); err != nil {
		t.Fatal(err)
	}
	if sent := b.srv.Sent(); len(sent) != 1 || sent[0].Kind != "invitation" || sent[0].To != "anna@fabrikam.test" {
		t.Fatalf("the double sent %v for a created meeting, want one invitation", sent)
	}

	meeting := event("meeting@t", "Budget review", "ORGANIZER;CN=Boss:mailto:boss@fabrikam.test\r\n"+
		"ATTENDEE;CN=\"Müller, Anna\";PARTSTAT=ACCEPTED;SCHEDULE-AGENT=CLIENT:mailto:anna@fabrikam.test\r\n"+
		"ATTENDEE;PARTSTAT=DECLINED:mailto:jose@fabrikam.test\r\n")
	path, tag, err := b.c.Put(ctx, cal, meeting, "")
	if err != nil {
		t.Fatal(err)
	}
	moved := event("meeting@t", "Budget review (moved)", "ORGANIZER;CN=Boss:mailto:boss@fabrikam.test\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:anna@fabrikam.test\r\nLOCATION:Room 4\r\n")
	moved.Path = path
	if _, _, err := b.c.Put(ctx, cal, moved, tag); err != nil {
		t.Fatal(err)
	}
	if sent := b.srv.Sent(); len(sent) != 1 {
		t.Fatalf("writing and updating a meeting sent %v", sent[1:])
	}
	objs, err := b.c.Get(ctx, cal, []string{path})
	if err != nil || len(objs) != 1 {
		t.Fatalf("read back: %v %v", objs, err)
	}
	ev := objs[0].Cal.Children[0]
	if ev.Props.Get(ical.PropUID).Value != "meeting@t" || ev.Props.Get(ical.PropOrganizer) == nil ||
		len(ev.Props.Values(ical.PropAttendee)) != 1 || ev.Props.Get(ical.PropAttendee).Params.Get("PARTSTAT") != "ACCEPTED" {
		var buf bytes.Buffer
		ical.NewEncoder(&buf).Encode(objs[0].Cal)
		t.Fatalf("the meeting's people are not kept:\n%s", buf.String())
	}
}

// TestSeriesAllDayTaskAndContact: a weekly series with a cancelled and a
// moved occurrence is one series item whose instances show both; an
// all-day event stays all-day at midnight; a task keeps its UID in its
// linked resource; a contact's photo is set.
func TestSeriesAllDayTaskAndContact(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cal := calendar(t, b)
	series := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:series@t\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20260105T090000\r\nDTEND;TZID=Europe/Berlin:20260105T093000\r\n" +
		"RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=20\r\nEXDATE;TZID=Europe/Berlin:20260119T090000\r\nSUMMARY:Stand-up\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:series@t\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260112T090000\r\n" +
		"DTSTART;TZID=Europe/Berlin:20260112T110000\r\nDTEND;TZID=Europe/Berlin:20260112T113000\r\nSUMMARY:Stand-up (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	scal, err := ical.NewDecoder(strings.NewReader(series)).Decode()
	if err != nil {
		t.Fatal(err)
	}
	path, _, err := b.c.Put(ctx, cal, dav.Object{Cal: scal}, "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.c.do(ctx, http.MethodGet, b.c.userPath(path+"/instances?startDateTime=2026-01-01T00:00:00Z&endDateTime=2026-02-01T00:00:00Z"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var inst struct {
		Value []Event `json:"value"`
	}
	json.Unmarshal(resp.Body, &inst)
	var got []string
	for _, e := range inst.Value {
		got = append(got, e.OriginalStart+" "+e.Subject)
	}
	want := []string{"2026-01-05T08:00:00Z Stand-up", "2026-01-12T08:00:00Z Stand-up (moved)", "2026-01-26T08:00:00Z Stand-up"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("January's occurrences %q, want %q", got, want)
	}

	allday := event("allday@t", "Holiday", "")
	allday.Cal.Children[0].Props.Del(ical.PropDateTimeStart)
	allday.Cal.Children[0].Props.Del(ical.PropDateTimeEnd)
	for name, v := range map[string]string{ical.PropDateTimeStart: "20260214", ical.PropDateTimeEnd: "20260215"} {
		p := ical.NewProp(name)
		p.Value = v
		p.SetValueType(ical.ValueDate)
		allday.Cal.Children[0].Props.Set(p)
	}
	apath, _, err := b.c.Put(ctx, cal, allday, "")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := b.c.Get(ctx, cal, []string{apath})
	if err != nil || len(objs) != 1 {
		t.Fatal(objs, err)
	}
	if p := objs[0].Cal.Children[0].Props.Get(ical.PropDateTimeStart); p.Value != "20260214" || p.ValueType() != ical.ValueDate {
		t.Errorf("all-day event came back starting %v %q", p.Params, p.Value)
	}
}
