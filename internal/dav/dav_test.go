package dav_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/testdav"
)

// Discovery finds the same calendars and address books from the server's
// root (RFC 6764 well-known URLs) and from a URL with a path; a wrong
// password is an Unauthenticated error that says what to check.
func TestDialDiscovers(t *testing.T) {
	t.Parallel()
	r := testdav.Start(t, map[string]string{"alice": "alice-pw"})
	r.MakeCalendar(t, "alice", "work", "Arbeit", "#ff0000ff", "VEVENT")
	r.MakeCalendar(t, "alice", "todo", "Aufgaben", "#00ff00ff", "VTODO")
	r.MakeAddressBook(t, "alice", "contacts", "Kontakte")
	ctx := context.Background()
	for _, base := range []string{r.URL, strings.TrimSuffix(r.URL, "/"), r.URL + "alice/"} {
		c, err := dav.Dial(ctx, dav.Endpoint{URL: base, User: "alice", Password: "alice-pw"})
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		colls, err := c.Collections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, coll := range colls {
			got[coll.Path] = string(coll.Kind) + " " + coll.Name + " " + strings.Join(coll.Components, ",")
		}
		want := map[string]string{
			"/alice/work/": "calendar Arbeit VEVENT", "/alice/todo/": "calendar Aufgaben VTODO", "/alice/contacts/": "addressbook Kontakte ",
		}
		if len(got) != len(want) {
			t.Fatalf("%s: collections %v, want %v", base, got, want)
		}
		for p, w := range want {
			if got[p] != w {
				t.Errorf("%s: %s is %q, want %q", base, p, got[p], w)
			}
		}
	}

	_, err := dav.Dial(ctx, dav.Endpoint{URL: r.URL, User: "alice", Password: "wrong-pw"})
	if !errors.Is(err, fault.ErrUnauthenticated) || !strings.Contains(err.Error(), "check the user and password") || strings.Contains(err.Error(), "wrong-pw") {
		t.Fatalf("wrong password: %v", err)
	}
}
