package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

func TestEditAndDeleteItems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	proj := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	item := fmt.Sprintf("/api/v1/items/%d", f.item.ID)
	var bob, carol Item
	e.must("POST", proj+"/items", map[string]any{"source": "bob@contoso.com", "destination": "bob@contoso.onmicrosoft.com", "destination_password": itemPassword}, 201, &bob)
	e.must("POST", proj+"/items", map[string]any{"source": "carol@contoso.com", "destination": "carol@contoso.onmicrosoft.com", "destination_password": itemPassword}, 201, &carol)

	var edited Item
	e.must("PATCH", item, map[string]any{"destination_login": "alice.admin@contoso.onmicrosoft.com", "destination_password": itemPassword + "-new"}, 200, &edited)
	e.secret(itemPassword + "-new")
	if edited.DestLogin != "alice.admin@contoso.onmicrosoft.com" || edited.Dest != f.item.Dest {
		t.Fatalf("edited %+v", edited)
	}
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		status int
		field  string
	}{
		{"the source is not editable", "PATCH", item, map[string]any{"source": "x@contoso.com"}, 400, "source"},
		{"destination of another item", "PATCH", item, map[string]any{"destination": bob.Dest}, 409, "destination"},
		{"empty password", "PATCH", item, map[string]any{"destination_password": ""}, 400, "destination_password"},
		{"bulk delete without ids", "POST", proj + "/items/delete", map[string]any{"ids": []int64{}}, 400, "ids"},
		{"bulk delete of an unknown item", "POST", proj + "/items/delete", map[string]any{"ids": []int64{bob.ID, 9999}}, 404, ""},
	} {
		code, b := e.call(tc.method, tc.path, tc.body)
		if code != tc.status {
			t.Fatalf("%s: %d %s, want %d", tc.name, code, b, tc.status)
		}
		if eb := parseError(t, b); eb.Field != tc.field {
			t.Fatalf("%s: field %q, want %q: %s", tc.name, eb.Field, tc.field, b)
		}
	}
	// Not while its pass is queued.
	e.must("POST", proj+"/passes", map[string]any{"pass": "full", "item_ids": []int64{carol.ID}}, 202, nil)
	if code, b := e.call("DELETE", fmt.Sprintf("/api/v1/items/%d", carol.ID), nil); code != 409 {
		t.Fatalf("delete of a queued item: %d %s", code, b)
	}
	e.must("DELETE", item, nil, 204, nil)
	e.must("POST", proj+"/items/delete", map[string]any{"ids": []int64{bob.ID}}, 204, nil)
	var list ItemList
	e.must("GET", proj+"/items", nil, 200, &list)
	if list.Total != 1 || list.Items[0].ID != carol.ID {
		t.Fatalf("items left %+v", list)
	}
}

func TestIssueUpdateAndHistory(t *testing.T) {
	t.Parallel()
	e, _ := newEngagementEnv(t)
	f := e.fixture("Contoso")
	d := e.engagement(f.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}, "workloads": []string{"imap"}})
	eng := fmt.Sprintf("/api/v1/engagements/%d", d.ID)
	if err := e.st.CreateUser(operator(), &store.User{Email: "eng@partner.com", Name: "Eve", Role: string(auth.FastTrackEngineer)}); err != nil {
		t.Fatal(err)
	}
	var issue PostMigrationIssue
	e.must("POST", eng+"/post-migration-issues", map[string]any{"mailbox": "a@contoso.com", "migrated_at": "2026-12-04T18:00:00Z", "description": "calendar missing"}, 201, &issue)
	one := fmt.Sprintf("%s/post-migration-issues/%d", eng, issue.ID)

	e.must("PATCH", one, map[string]any{"owner": "eng@partner.com", "status": "investigating"}, 200, &issue)
	if issue.Owner != "eng@partner.com" || issue.Status != "investigating" {
		t.Fatalf("after assigning %+v", issue)
	}
	e.must("PATCH", one, map[string]any{"status": "closed", "note": "permissions restored"}, 200, &issue)
	code, b := e.call("PATCH", one, map[string]any{"status": "open"})
	wantError(t, code, b, 400, "note", "say why it is reopened")
	code, b = e.call("PATCH", one, map[string]any{"owner": "nobody@partner.com"})
	wantError(t, code, b, 400, "owner", "has no account")
	code, b = e.call("PATCH", fmt.Sprintf("%s/post-migration-issues/%d", eng, issue.ID+50), map[string]any{"status": "closed"})
	wantError(t, code, b, 404, "")

	var history struct {
		Events []IssueEvent `json:"events"`
	}
	e.must("GET", one+"/history", nil, 200, &history)
	if len(history.Events) != 3 || history.Events[2].Field != "status" || history.Events[2].After != "closed" || history.Events[2].Note != "permissions restored" || history.Events[0].Who == "" {
		t.Fatalf("history %+v", history)
	}
}

func TestMailboxStatisticsExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	proj := fmt.Sprintf("/api/v1/projects/%d/mailbox-statistics", f.project.ID)
	run := &store.Run{ItemID: f.item.ID, Pass: "full", Started: time.Now().Add(-time.Hour), Status: "completed", Copied: 600, CopiedBytes: 300e6}
	mb, _ := e.st.Mailbox(operator(), store.MailboxKey{Source: "imaps://a@old", Destination: "imaps://a@new"})
	e.st.StartRun(operator(), mb, run)
	run.Ended = run.Started.Add(30 * time.Minute)
	e.st.FinishRun(operator(), mb, run)

	var list struct {
		Mailboxes []projects.MailboxStatistic `json:"mailboxes"`
	}
	e.must("GET", proj, nil, 200, &list)
	if len(list.Mailboxes) != 1 || list.Mailboxes[0].Source != f.item.Source || list.Mailboxes[0].MBPerHour != 600 || list.Mailboxes[0].ItemsPerHour != 1200 {
		t.Fatalf("statistics %+v", list)
	}
	resp, b := e.send("GET", proj+"?format=csv", "Bearer "+e.token, "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(string(b), "source,destination,status") ||
		!strings.Contains(string(b), f.item.Source+","+f.item.Dest+",") {
		t.Fatalf("csv: %d %s\n%s", resp.StatusCode, resp.Header, b)
	}
	code, body := e.call("GET", proj+"?format=xlsx", nil)
	wantError(t, code, body, 400, "format", "csv or json")
}

func TestUpcomingEvents(t *testing.T) {
	t.Parallel()
	e, _ := newEngagementEnv(t)
	f := e.fixture("Contoso")
	d := e.engagement(f.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}, "workloads": []string{"imap"}})
	eng := fmt.Sprintf("/api/v1/engagements/%d", d.ID)
	start := time.Now().Add(24 * time.Hour).UTC()
	var ev ScheduledEvent
	e.must("POST", eng+"/events", map[string]any{"kind": "meeting", "title": "Weekly checkpoint", "starts": start.Format("2006-01-02 15:04"),
		"ends": start.Add(30 * time.Minute).Format("2006-01-02 15:04"), "time_zone": "UTC", "recurrence": "FREQ=WEEKLY"}, 201, &ev)
	if ev.Recurrence != "FREQ=WEEKLY" {
		t.Fatalf("event %+v", ev)
	}
	var up struct {
		Occurrences []Occurrence `json:"occurrences"`
	}
	e.must("GET", eng+"/events/upcoming?count=3", nil, 200, &up)
	if len(up.Occurrences) != 3 || up.Occurrences[2].Starts.Sub(up.Occurrences[0].Starts) != 14*24*time.Hour || up.Occurrences[0].EventID != ev.ID {
		t.Fatalf("upcoming %+v", up)
	}
	code, b := e.call("POST", eng+"/events", map[string]any{"kind": "meeting", "title": "x", "starts": "2026-12-05 18:00", "ends": "2026-12-05 19:00", "time_zone": "UTC", "recurrence": "every week"})
	wantError(t, code, b, 400, "recurrence", "FREQ=")
	code, b = e.call("GET", eng+"/events/upcoming?count=lots", nil)
	wantError(t, code, b, 400, "count")
}

// TestEditItemsAtOnce: PATCH /api/v1/projects/{id}/items sets one login or
// password on several items, all or nothing, the error naming the mailbox.
func TestEditItemsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	g := e.fixture("Fabrikam")
	proj := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	var bob, carol Item
	e.must("POST", proj+"/items", map[string]any{"source": "bob@contoso.com", "destination": "bob@contoso.onmicrosoft.com", "destination_password": itemPassword}, 201, &bob)
	e.must("POST", proj+"/items", map[string]any{"source": "carol@contoso.com", "destination": "carol@contoso.onmicrosoft.com", "destination_password": itemPassword}, 201, &carol)
	ctx := context.Background()
	sealed := func(id int64) string { it, _ := e.st.Item(ctx, id); return it.SealedDestPassword }
	was := map[int64]string{f.item.ID: sealed(f.item.ID), bob.ID: sealed(bob.ID), carol.ID: sealed(carol.ID)}

	var out EditedItems
	e.must("PATCH", proj+"/items", map[string]any{"ids": []int64{f.item.ID, bob.ID}, "destination_login": "admin@contoso.onmicrosoft.com",
		"destination_password": itemPassword + "-bulk"}, 200, &out)
	e.secret(itemPassword + "-bulk")
	if len(out.Items) != 2 || out.Items[0].ID != f.item.ID || out.Items[1].ID != bob.ID {
		t.Fatalf("edited %+v", out)
	}
	for _, it := range out.Items {
		if it.DestLogin != "admin@contoso.onmicrosoft.com" || sealed(it.ID) == was[it.ID] || sealed(it.ID) == "" {
			t.Errorf("item %d not edited: %+v", it.ID, it)
		}
	}
	if sealed(carol.ID) != was[carol.ID] {
		t.Error("an item not named changed")
	}

	// Carol's pass is queued: the edit naming her changes nothing.
	e.must("POST", proj+"/passes", map[string]any{"pass": "full", "item_ids": []int64{carol.ID}}, 202, nil)
	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
		words  string
	}{
		{"no ids", map[string]any{"ids": []int64{}, "source_login": "x"}, 400, "ids", "select the mailboxes"},
		{"nothing to change", map[string]any{"ids": []int64{bob.ID}}, 400, "ids", "nothing to change"},
		{"a destination for all", map[string]any{"ids": []int64{bob.ID}, "destination": "x@contoso.com"}, 400, "", "destination"},
		{"an empty password", map[string]any{"ids": []int64{bob.ID}, "source_password": ""}, 400, "source_password", "mailbox bob@contoso.com"},
		{"a queued item", map[string]any{"ids": []int64{bob.ID, carol.ID}, "source_login": "bulk"}, 409, "item", "mailbox carol@contoso.com"},
		{"another customer's item", map[string]any{"ids": []int64{bob.ID, g.item.ID}, "source_login": "bulk"}, 404, "", "nothing was changed"},
	} {
		code, b := e.call("PATCH", proj+"/items", tc.body)
		if code != tc.status || !strings.Contains(string(b), tc.words) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.name, code, b, tc.status, tc.words)
			continue
		}
		if eb := parseError(t, b); tc.field != "" && eb.Field != tc.field {
			t.Errorf("%s: field %q, want %q: %s", tc.name, eb.Field, tc.field, b)
		}
	}
	if it, _ := e.st.Item(ctx, bob.ID); it.SourceLogin != "" {
		t.Errorf("a refused bulk edit changed bob: %+v", it)
	}

	// Another customer's partner does not see the project; a viewer may not edit.
	for _, tc := range []struct {
		role     auth.Role
		customer int64
		want     int
	}{{auth.Partner, g.customer.ID, 404}, {auth.Viewer, f.customer.ID, 403}, {auth.Partner, f.customer.ID, 200}} {
		h := NewWithOptions(e.svc, e.st, Options{Authenticators: []Authenticator{roleAuthenticator{tc.role, tc.customer}}})
		req := httptest.NewRequest("PATCH", proj+"/items", strings.NewReader(fmt.Sprintf(`{"ids":[%d],"source_login":""}`, bob.ID)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s of customer %d: %d, want %d: %s", tc.role, tc.customer, rec.Code, tc.want, rec.Body)
		}
	}
}
