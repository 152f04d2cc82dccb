package api

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestInputCheckedBeforeWriting: values that used to give a 500 (some
// after saving the row) answer 400 naming the field, and leave nothing
// behind.
func TestInputCheckedBeforeWriting(t *testing.T) {
	t.Parallel()
	e, _ := newEngagementEnv(t)
	f := e.fixture("Contoso")
	d := e.engagement(f.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}})
	eng := fmt.Sprintf("/api/v1/engagements/%d", d.ID)
	proj := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	ctx := context.Background()

	code, b := e.call("POST", eng+"/post-migration-issues", map[string]any{"mailbox": "a@contoso.com", "migrated_at": "9999-12-31T23:00:00Z", "description": "x"})
	wantError(t, code, b, 400, "migrated_at", "between")
	code, b = e.call("POST", eng+"/events", map[string]any{"kind": "wave", "title": "W", "starts": "9999-12-31 20:00", "ends": "9999-12-31 23:59", "time_zone": "Pacific/Kiritimati"})
	wantError(t, code, b, 400, "starts", "between")
	code, b = e.call("PATCH", fmt.Sprintf("/api/v1/tasks/%d", firstTaskID(t, e, d.ID)), map[string]any{"due": "9999-12-31T23:00:00Z"})
	wantError(t, code, b, 400, "due", "between")
	if is, _ := e.st.PostMigrationIssues(ctx, d.ID); len(is) != 0 {
		t.Errorf("a refused issue was saved: %+v", is)
	}
	if evs, _ := e.st.Events(ctx, d.ID); len(evs) != 0 {
		t.Errorf("a refused event was saved: %+v", evs)
	}
	code, b = e.call("POST", fmt.Sprintf("/api/v1/customers/%d/migration-gate/override", f.customer.ID), map[string]any{"reason": "cutover weekend", "expires": "9999-12-24"})
	wantError(t, code, b, 400, "expires", "between")
	if gs, _ := e.st.GateOverrides(ctx, f.customer.ID); len(gs) != 0 {
		t.Errorf("a refused override was saved: %+v", gs)
	}

	code, b = e.call("GET", proj+"/items?search="+strings.Repeat("a", 60000), nil)
	wantError(t, code, b, 400, "search", "200 characters")
	var list ItemList
	e.must("GET", proj+"/items?search=%25", nil, 200, &list) // "%" is a character to find, not a pattern
	if list.Total != 0 {
		t.Errorf("searching for %%: %d items, want none", list.Total)
	}

	code, b = e.call("POST", eng+"/checklist", map[string]any{"title": "Enable TLS", "severity": "high", "source": nil})
	wantError(t, code, b, 400, "source", "null")
	if items, _ := e.st.ChecklistItems(ctx, d.ID); len(items) != 0 {
		t.Errorf("a refused checklist item was saved: %+v", items)
	}
}

func firstTaskID(t *testing.T, e *env, engagementID int64) int64 {
	t.Helper()
	var tasks struct {
		Tasks []struct {
			ID int64 `json:"id"`
		} `json:"tasks"`
	}
	e.must("GET", fmt.Sprintf("/api/v1/engagements/%d/tasks", engagementID), nil, 200, &tasks)
	if len(tasks.Tasks) == 0 {
		t.Fatal("no tasks")
	}
	return tasks.Tasks[0].ID
}
