package web

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestTaskFilterUnknownValue: a task filter naming a service, role, phase
// or status the playbook does not have (a link typed by hand, or from
// before the playbook changed) is answered with the API's message for the
// same filter next to the filter, not with an empty list.
func TestTaskFilterUnknownValue(t *testing.T) {
	t.Parallel()
	f := setupEngagements(t)
	token, _, err := f.tp.auth.CreateToken(operator(), 0, "filter")
	if err != nil {
		t.Fatal(err)
	}
	base := "/engagements/" + itoa(f.eng.ID)
	for _, tc := range []struct{ name, query, field string }{
		{"service", "?service=sharepoint-online", "service"},
		{"role", "?service=&role=janitor", "role"},
		{"phase", "?phase=Celebrate", "phase"},
		{"status", "?service=exchange&status=Done", "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.tp.srv.URL+"/api/v1/engagements/"+itoa(f.eng.ID)+"/tasks"+tc.query, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var p struct{ Detail, Field string }
			if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(b, &p) != nil || p.Field != tc.field || p.Detail == "" {
				t.Fatalf("the API answers %d %s, want 400 naming %s", resp.StatusCode, b, tc.field)
			}

			page := f.partner.get(base + tc.query)
			if page.status != http.StatusBadRequest {
				t.Errorf("page: %d, want 400", page.status)
			}
			filter := strings.Index(page.body, `aria-label="Filter tasks"`)
			msg := strings.Index(html.UnescapeString(page.body), p.Detail)
			tasks := strings.Index(page.body, `<div id="tasks"`)
			if filter < 0 || tasks < filter || msg < tasks {
				t.Errorf("page: the message %q is not in the task list after the filter (filter at %d, list at %d, message at %d)", p.Detail, filter, tasks, msg)
			}
			if got := rows(page.body); len(got) != 0 {
				t.Errorf("page: rows %v under a filter that selects nothing", got)
			}

			part := f.partner.hx("GET", base+"/tasks"+tc.query, nil)
			if part.status != http.StatusBadRequest || part.header.Get("HX-Retarget") != "#tasks" || strings.Contains(part.body, "<html") {
				t.Errorf("partial: %d, HX-Retarget %q, want 400 for #tasks", part.status, part.header.Get("HX-Retarget"))
			}
			if !strings.Contains(html.UnescapeString(part.body), p.Detail) || len(rows(part.body)) != 0 {
				t.Errorf("partial: want the message %q and no rows: %s", p.Detail, part.body)
			}
		})
	}
	// A phase in another case is the phase, as in the API.
	page := f.partner.get(base + "?service=&phase=remediate")
	if page.status != http.StatusOK || len(rows(page.body)) == 0 {
		t.Errorf("phase=remediate: %d with %d rows, want Remediate's tasks", page.status, len(rows(page.body)))
	}
}
