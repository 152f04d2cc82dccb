package ews_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/ferryhq/ferry/internal/ews"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/testdav"
	"github.com/ferryhq/ferry/internal/testews"
)

// exchangeMime writes a corpus item as Exchange exports it: METHOD:PUBLISH
// on calendar items; a contact's vCard without UID when noUID.
func exchangeMime(data []byte, noUID bool) []byte {
	s := string(data)
	if strings.HasPrefix(s, "BEGIN:VCALENDAR") {
		s = strings.Replace(s, "VERSION:2.0\r\n", "METHOD:PUBLISH\r\nVERSION:2.0\r\n", 1)
	}
	if noUID {
		var out []string
		for _, l := range strings.Split(s, "\r\n") {
			if !strings.HasPrefix(l, "UID:") {
				out = append(out, l)
			}
		}
		s = strings.Join(out, "\r\n")
	}
	return []byte(s)
}

// Mailbox fills an EWS double's mailbox for alice: events (the corpus's
// hard cases first) in Calendar and a subfolder, contacts, tasks.
func fill(s *testews.Server, events, contacts int) *testews.Mailbox {
	m := s.AddMailbox("alice@contoso.test", "alice")
	cal := s.Folder(m, "calendar", "")
	sub := s.Folder(m, "calendar", "Projekte")
	for i, it := range testdav.Events(events) {
		f := cal
		if i%10 == 9 {
			f = sub
		}
		s.Add(f, &testews.Item{Mime: exchangeMime(it.Data, false)})
	}
	con := s.Folder(m, "contacts", "")
	for i, it := range testdav.Contacts(contacts, 2000) {
		s.Add(con, &testews.Item{Mime: exchangeMime(it.Data, i == 1)})
	}
	tasks := s.Folder(m, "tasks", "")
	s.Add(tasks, &testews.Item{Task: &testews.Task{Subject: "Steuern prüfen", Body: "Belege, Quittungen", Status: "NotStarted", Importance: "High", DueDate: "2026-05-01T00:00:00Z", Categories: []string{"Privat"}}})
	s.Add(tasks, &testews.Item{Task: &testews.Task{Subject: "Erledigt", Status: "Completed", CompleteDate: "2026-01-10T12:00:00Z"}})
	return m
}

func TestReadMailboxByImpersonation(t *testing.T) {
	t.Parallel()
	s := testews.Start(t)
	s.AddAccount("alice", "alice-pw")
	s.AddAccount("svc-migrate", "svc-pw")
	s.GrantImpersonation("svc-migrate")
	fill(s, 230, 7)
	c, err := ews.New(ews.Endpoint{URL: s.URL, User: "svc-migrate", Password: "svc-pw", Mailbox: "alice@contoso.test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	colls, err := c.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, coll := range colls {
		names = append(names, fmt.Sprintf("%s:%s", coll.Kind, coll.Name))
	}
	if got := strings.Join(names, " "); got != "calendar:Calendar calendar:Projekte calendar:Tasks addressbook:Contacts" {
		t.Fatalf("collections %s", got)
	}
	s.Busy(2, 1) // ErrorServerBusy is waited out
	objs, err := c.All(ctx, colls[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 207 { // 230 minus every tenth in Projekte, over 3 FindItem pages
		t.Fatalf("read %d calendar items, want 207", len(objs))
	}
	series := objs[0].Cal
	if series.Props.Get(ical.PropMethod) != nil {
		t.Errorf("METHOD kept on a stored object")
	}
	var comps []string
	for _, ch := range series.Children {
		comps = append(comps, ch.Name)
	}
	if strings.Join(comps, ",") != "VTIMEZONE,VEVENT,VEVENT" {
		t.Errorf("the series arrives as %v, want its timezone, master and override in one object", comps)
	}
	cards, err := c.All(ctx, colls[3])
	if err != nil {
		t.Fatal(err)
	}
	uids := map[string]bool{}
	for _, o := range cards {
		uids[o.Card.Value(vcard.FieldUID)] = true
	}
	if len(cards) != 7 || len(uids) != 7 || uids[""] {
		t.Errorf("%d contacts with %d UIDs (one made for the card without)", len(cards), len(uids))
	}
	tasks, err := c.All(ctx, colls[2])
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 {
		t.Fatalf("%d tasks", len(tasks))
	}
	todo := tasks[0].Cal.Children[0]
	if todo.Name != ical.CompToDo || todo.Props.Get(ical.PropSummary).Value != "Steuern prüfen" || todo.Props.Get(ical.PropDue).Value != "20260501" ||
		todo.Props.Get(ical.PropPriority).Value != "1" || !strings.HasPrefix(todo.Props.Get(ical.PropUID).Value, "ews-") {
		t.Errorf("task read as %+v", todo.Props)
	}
	if st := tasks[1].Cal.Children[0].Props.Get(ical.PropStatus).Value; st != "COMPLETED" {
		t.Errorf("completed task has STATUS %s", st)
	}
}

func TestLoginAndImpersonationRefusals(t *testing.T) {
	t.Parallel()
	s := testews.Start(t)
	s.AddAccount("alice", "alice-pw")
	s.AddAccount("helpdesk", "hd-pw")
	s.AddAccount("svc-migrate", "svc-pw")
	s.GrantImpersonation("svc-migrate")
	fill(s, 3, 1)
	tests := []struct {
		name string
		ep   ews.Endpoint
		kind fault.Kind
		want string
	}{
		{"wrong password", ews.Endpoint{User: "svc-migrate", Password: "nope", Mailbox: "alice@contoso.test"}, fault.Unauthenticated, "refused the login"},
		{"no impersonation right", ews.Endpoint{User: "helpdesk", Password: "hd-pw", Mailbox: "alice@contoso.test"}, fault.Forbidden, "ApplicationImpersonation"},
		{"no such mailbox", ews.Endpoint{User: "svc-migrate", Password: "svc-pw", Mailbox: "bob@contoso.test"}, fault.NotFound, "ErrorNonExistentMailbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.ep.URL = s.URL
			c, err := ews.New(tt.ep)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Collections(context.Background())
			if fault.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v (%v), want %v with %q", err, fault.KindOf(err), tt.kind, tt.want)
			}
			if strings.Contains(err.Error(), tt.ep.Password) {
				t.Fatalf("the error shows the password: %v", err)
			}
		})
	}
	// Without impersonation the login reads its own mailbox.
	c, _ := ews.New(ews.Endpoint{URL: s.URL, User: "alice", Password: "alice-pw"})
	if colls, err := c.Collections(context.Background()); err != nil || len(colls) != 4 {
		t.Fatalf("own mailbox: %v %v", colls, err)
	}
}

// TestServerWordsLoseThePassword: a server that echoes the password it was
// sent (in a SOAP fault or an answer that is not SOAP) does not get it into
// Ferry's errors, which are stored and shown to people without it.
func TestServerWordsLoseThePassword(t *testing.T) {
	t.Parallel()
	const pw = "s3cret-Pw\"<x>"
	for _, answer := range []string{
		`<html>login svc-migrate with ` + pw + ` refused</html>`,
		`<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>` +
			`<faultcode>a:ErrorInternalServerError</faultcode><faultstring>bad password s3cret-Pw&quot;&lt;x&gt; for svc-migrate</faultstring></s:Fault></s:Body></s:Envelope>`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, answer)
		}))
		t.Cleanup(srv.Close)
		c, err := ews.New(ews.Endpoint{URL: srv.URL, User: "svc-migrate", Password: pw, Mailbox: "alice@contoso.test"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Collections(context.Background())
		if err == nil || !strings.Contains(err.Error(), "svc-migrate") {
			t.Fatalf("%.40s: %v, want an error with the server's words", answer, err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
