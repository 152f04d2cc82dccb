package api

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
)

// TestWavesAPI: plan, accept (201), accept again (200, nothing added), a
// different plan (409), list; another customer's principal gets 404 and a
// Viewer may plan but not accept.
func TestWavesAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	proj := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	e.must("POST", proj+"/items", map[string]any{"source": "bob@contoso.com", "destination": "bob@contoso.onmicrosoft.com", "destination_password": itemPassword}, 201, nil)
	in := map[string]any{
		"permissions":  "Identity,Trustee,AccessRights\nalice@contoso.com,bob@contoso.com,{SendAs}\nbob@contoso.com,NT AUTHORITY\\SELF,{FullAccess}\n",
		"mailboxes":    "PrimarySMTPAddress,MailboxSize(MB)\nalice@contoso.com,700\nbob@contoso.com,300\n",
		"max_per_wave": 5, "start": time.Now().AddDate(0, 0, 20).Format("2006-01-02"), "every": "Sat 02:00", "time_zone": "America/New_York",
	}
	var plan WavePlan
	e.must("POST", proj+"/waves/plan", in, 200, &plan)
	if len(plan.Waves) != 1 || len(plan.Batches) != 1 || plan.Batches[0].Name != "BATCH-1" || plan.Waves[0].SizeMB != 1000 || plan.Rate != nil ||
		plan.Waves[0].EstimateNote != "no measurement yet" || plan.Ignored.Self != 1 || plan.Waves[0].Cutover.Weekday() != time.Saturday {
		t.Fatalf("plan %+v", plan)
	}
	var res WaveAcceptResult
	e.must("POST", proj+"/waves", in, 201, &res)
	if res.AlreadyAccepted || res.PassesQueued != 4 || len(res.Waves) != 1 || len(res.Waves[0].Items) != 2 || !res.Waves[0].PassesQueued {
		t.Fatalf("accepted %+v", res)
	}
	e.must("POST", proj+"/waves", in, 200, &res)
	if !res.AlreadyAccepted || res.PassesQueued != 0 {
		t.Fatalf("accepted again %+v", res)
	}
	in["start"] = time.Now().AddDate(0, 0, 40).Format("2006-01-02")
	if code, b := e.call("POST", proj+"/waves", in); code != 409 {
		t.Fatalf("a different plan: %d %s", code, b)
	}
	var list struct {
		Waves []Wave `json:"waves"`
	}
	e.must("GET", proj+"/waves", nil, 200, &list)
	if len(list.Waves) != 1 || list.Waves[0].TimeZone != "America/New_York" {
		t.Fatalf("list %+v", list)
	}
	in["permissions"] = "Mailbox,User,AccessRights\nalice@contoso.com,bob@contoso.com,Everything\n"
	if code, b := e.call("POST", proj+"/waves/plan", in); code != 400 || !strings.Contains(string(b), "line 2, column 3 (AccessRights)") {
		t.Fatalf("bad export: %d %s", code, b)
	}

	g := e.fixture("Fabrikam")
	for _, tc := range []struct {
		role     auth.Role
		customer int64
		method   string
		path     string
		want     int
	}{
		{auth.Viewer, g.customer.ID, "GET", proj + "/waves", 404},
		{auth.Viewer, g.customer.ID, "POST", proj + "/waves/plan", 404},
		{auth.Partner, g.customer.ID, "POST", proj + "/waves", 404},
		{auth.Viewer, f.customer.ID, "GET", proj + "/waves", 200},
		{auth.Viewer, f.customer.ID, "POST", proj + "/waves", 403},
	} {
		h := NewWithOptions(e.svc, e.st, Options{Authenticators: []Authenticator{roleAuthenticator{tc.role, tc.customer}}})
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s of customer %d: %s %s: %d, want %d: %s", tc.role, tc.customer, tc.method, tc.path, rec.Code, tc.want, rec.Body)
		}
	}
}

// TestWavePlanTakesTheImportLimit: a wave plan carries CSV files in its
// JSON, so it may be as large as an import (10 MB), not a form's 1 MB;
// over that it is 413.
func TestWavePlanTakesTheImportLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fixture("Contoso")
	proj := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	plan := func(size int) (int, []byte) {
		// A real permissions export, after JSON whitespace up to size.
		body := `{` + strings.Repeat(" ", size) + `"permissions": "Identity,Trustee,AccessRights\nalice@contoso.com,bob@contoso.com,{FullAccess}\n",` +
			`"max_per_wave": 5, "start": "` + time.Now().AddDate(0, 0, 20).Format("2006-01-02") + `"}`
		return e.call("POST", proj+"/waves/plan", body)
	}
	if code, b := plan(3 << 20); code != 200 {
		t.Errorf("a 3 MB plan: %d %.300s, want 200", code, b)
	}
	if code, b := plan(maxImportBody); code != 413 || !strings.Contains(string(b), "limit of 10 MB") {
		t.Errorf("a plan over 10 MB: %d %.300s, want 413", code, b)
	}
}
