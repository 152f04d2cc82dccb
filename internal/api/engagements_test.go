package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/store"
)

// newEngagementEnv is newEnv with an engagement service whose migration
// gate holds the project service's passes back.
func newEngagementEnv(t *testing.T) (*env, *engagements.Service) {
	t.Helper()
	var eng *engagements.Service
	e := newEnv(t, func(st store.Store) Options {
		eng = &engagements.Service{Store: st, Playbook: playbook.Default()}
		return Options{Engagements: eng}
	})
	e.svc.MigrationGate = eng.CheckMigration
	return e, eng
}

// engagement creates an engagement for a customer through the API.
func (e *env) engagement(customerID int64, body map[string]any) EngagementDetail {
	e.t.Helper()
	var d EngagementDetail
	e.must("POST", fmt.Sprintf("/api/v1/customers/%d/engagements", customerID), body, 201, &d)
	return d
}

// wantError checks an error answer: status, code and field, and a message containing each of msgs.
func wantError(t *testing.T, code int, b []byte, wantCode int, field string, msgs ...string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("%d, want %d: %s", code, wantCode, b)
	}
	eb := parseError(t, b)
	if eb.Field != field {
		t.Errorf("field %q, want %q: %s", eb.Field, field, b)
	}
	for _, m := range msgs {
		if !strings.Contains(eb.Detail, m) {
			t.Errorf("message %q does not contain %q", eb.Detail, m)
		}
	}
}

func TestEngagementCreateAndScope(t *testing.T) {
	t.Parallel()
	e, _ := newEngagementEnv(t)
	f := e.fixture("Contoso")
	base := fmt.Sprintf("/api/v1/customers/%d/engagements", f.customer.ID)

	code, b := e.call("POST", base, map[string]any{"name": "Onboarding", "seats": 100, "services": []string{"exchange"}})
	wantError(t, code, b, 400, "seats", "not eligible", "150")
	code, b = e.call("POST", base, map[string]any{"name": "Onboarding", "seats": 300, "services": []string{"exchange"}, "workloads": []string{"imap"}})
	wantError(t, code, b, 400, "seats", "500")
	code, b = e.call("POST", base, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}, "licences": 3})
	wantError(t, code, b, 400, "licences", "unknown field", "seats")
	code, b = e.call("POST", base, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"lotus"}})
	wantError(t, code, b, 400, "services", "lotus")
	code, b = e.call("POST", "/api/v1/customers/999999/engagements", map[string]any{"name": "x", "seats": 800})
	wantError(t, code, b, 404, "")

	code, b = e.call("POST", base, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}, "workloads": []string{"imap"}})
	if code != 201 {
		t.Fatalf("create: %d %s", code, b)
	}
	var d EngagementDetail
	json.Unmarshal(b, &d)
	if d.ID == 0 || d.CustomerID != f.customer.ID || len(d.Gates) != 5 || len(d.Eligibility) != 3 || d.People == nil {
		t.Fatalf("created %s", b)
	}
	code, b = e.call("POST", base, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}})
	wantError(t, code, b, 409, "name", "already")

	var list struct{ Engagements []store.Engagement }
	e.must("GET", base, nil, 200, &list)
	if len(list.Engagements) != 1 || list.Engagements[0].ID != d.ID {
		t.Fatalf("list %+v", list)
	}
	var got EngagementDetail
	e.must("GET", fmt.Sprintf("/api/v1/engagements/%d", d.ID), nil, 200, &got)
	if got.Name != "Onboarding" || len(got.Gates) != 5 || got.Gates[2].Phase != "Remediate" || got.Gates[2].ExitTask != "1700" {
		t.Fatalf("detail %+v", got)
	}
	code, b = e.call("GET", "/api/v1/engagements/999999", nil)
	wantError(t, code, b, 404, "")
	code, b = e.call("GET", "/api/v1/engagements/abc", nil)
	wantError(t, code, b, 400, "id")

	var sr ScopeResult
	e.must("PATCH", fmt.Sprintf("/api/v1/engagements/%d/scope", d.ID), map[string]any{"workloads": []string{"gmail"}}, 200, &sr)
	if sr.Added == 0 || sr.Retired == 0 || !slices.Equal(sr.Engagement.Workloads, []string{"gmail"}) || sr.Engagement.Seats != 800 {
		t.Fatalf("scope change %+v", sr)
	}
	code, b = e.call("PATCH", fmt.Sprintf("/api/v1/engagements/%d/scope", d.ID), map[string]any{"seats": 10})
	wantError(t, code, b, 400, "seats", "not eligible")
	code, b = e.call("PATCH", fmt.Sprintf("/api/v1/engagements/%d/scope", d.ID), map[string]any{"name": "x"})
	wantError(t, code, b, 400, "name", "unknown field")

	var retired, current struct{ Tasks []store.EngagementTask }
	e.must("GET", fmt.Sprintf("/api/v1/engagements/%d/tasks?retired=true", d.ID), nil, 200, &retired)
	e.must("GET", fmt.Sprintf("/api/v1/engagements/%d/tasks", d.ID), nil, 200, &current)
	if len(retired.Tasks) != len(current.Tasks)+sr.Retired {
		t.Fatalf("%d tasks with the retired, %d without, %d retired", len(retired.Tasks), len(current.Tasks), sr.Retired)
	}
}

func TestEngagementTasksPeopleAndHistory(t *testing.T) {
	t.Parallel()
	e, _ := newEngagementEnv(t)
	f := e.fixture("Contoso")
	d := e.engagement(f.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}, "workloads": []string{"imap"}})
	tasksPath := fmt.Sprintf("/api/v1/engagements/%d/tasks", d.ID)

	var all, rem, frp struct{ Tasks []store.EngagementTask }
	e.must("GET", tasksPath, nil, 200, &all)
	e.must("GET", tasksPath+"?phase=remediate", nil, 200, &rem)
	e.must("GET", tasksPath+"?role=frp&status=Not+Started", nil, 200, &frp)
	if len(all.Tasks) == 0 || len(rem.Tasks) == 0 || len(rem.Tasks) >= len(all.Tasks) || len(frp.Tasks) == 0 {
		t.Fatalf("%d tasks, %d in Remediate, %d of frp", len(all.Tasks), len(rem.Tasks), len(frp.Tasks))
	}
	for _, tk := range rem.Tasks {
		if tk.Phase != "Remediate" {
			t.Fatalf("task %+v listed for Remediate", tk)
		}
	}
	code, b := e.call("GET", tasksPath+"?status=Done", nil)
	wantError(t, code, b, 400, "status", "Blocked-Pending Remediation")
	code, b = e.call("GET", tasksPath+"?phase=Deploy", nil)
	wantError(t, code, b, 400, "phase", "Remediate")
	code, b = e.call("GET", tasksPath+"?service=nonsense", nil)
	wantError(t, code, b, 400, "service", "exchange")
	code, b = e.call("GET", tasksPath+"?role=nonsense", nil)
	wantError(t, code, b, 400, "role", "frp")

	tk := rem.Tasks[0]
	taskPath := fmt.Sprintf("/api/v1/tasks/%d", tk.ID)
	var upd store.EngagementTask
	e.must("PATCH", taskPath, map[string]any{"status": "In Progress", "notes": "waiting on DNS access", "due": "2026-12-01T00:00:00Z"}, 200, &upd)
	if upd.Status != "In Progress" || upd.Notes != "waiting on DNS access" || upd.Due.IsZero() {
		t.Fatalf("updated %+v", upd)
	}
	code, b = e.call("PATCH", taskPath, map[string]any{"status": "Finished"})
	wantError(t, code, b, 400, "status", "Not Started")
	code, b = e.call("PATCH", taskPath, map[string]any{"percent_complete": 140})
	wantError(t, code, b, 400, "percent_complete", "0 to 100")
	code, b = e.call("PATCH", taskPath, map[string]any{"percent": 40})
	wantError(t, code, b, 400, "percent", "unknown field", "percent_complete")
	code, b = e.call("PATCH", "/api/v1/tasks/999999", map[string]any{"notes": "x"})
	wantError(t, code, b, 404, "")

	var te store.TimeEntry
	e.must("POST", taskPath+"/time", map[string]any{"minutes": 45, "note": "call with the customer"}, 201, &te)
	if te.Who != "test" || te.Minutes != 45 {
		t.Fatalf("time entry %+v", te)
	}
	code, b = e.call("POST", taskPath+"/time", map[string]any{"minutes": 0})
	wantError(t, code, b, 400, "minutes", "1440")

	var h TaskHistory
	e.must("GET", taskPath+"/history", nil, 200, &h)
	if h.Task.Minutes != 45 || len(h.Events) != 3 || len(h.TimeEntries) != 1 {
		t.Fatalf("history %+v", h)
	}
	for _, ev := range h.Events {
		if ev.Who != "test" {
			t.Fatalf("event %+v not recorded under the token's name", ev)
		}
	}
	if h.Events[0].Field != "status" || h.Events[0].Before != "Not Started" || h.Events[0].After != "In Progress" {
		t.Fatalf("first event %+v", h.Events[0])
	}
	code, b = e.call("GET", "/api/v1/tasks/999999/history", nil)
	wantError(t, code, b, 404, "")

	var people struct{ People []Assignment }
	code, b = e.call("POST", fmt.Sprintf("/api/v1/engagements/%d/people", d.ID), map[string]any{"role": "frp", "person": "pat@partner.com"})
	wantError(t, code, b, 400, "person", "has no account")
	pat := e.account("pat@partner.com", auth.Partner, f.customer.ID)
	e.must("POST", fmt.Sprintf("/api/v1/engagements/%d/people", d.ID), map[string]any{"role": "frp", "person": "pat@partner.com"}, 200, &people)
	if len(people.People) != 1 || people.People[0].Role != "frp" || people.People[0].UserID != pat.ID || !people.People[0].Account || people.People[0].Name != "pat" {
		t.Fatalf("people %+v", people)
	}
	code, b = e.call("POST", fmt.Sprintf("/api/v1/engagements/%d/people", d.ID), map[string]any{"role": "wizard", "person": "x"})
	wantError(t, code, b, 400, "role", "frp")
	var mine struct{ Tasks []store.EngagementTask }
	e.must("GET", "/api/v1/people/pat@partner.com/tasks", nil, 200, &mine)
	if len(mine.Tasks) == 0 {
		t.Fatal("the partner has no tasks")
	}
	for _, tk := range mine.Tasks {
		if tk.Role != "frp" {
			t.Fatalf("task of role %s listed for the partner", tk.Role)
		}
	}
	code, b = e.call("GET", "/api/v1/people/nobody/tasks", nil)
	wantError(t, code, b, 400, "person", "has no account")
	e.must("GET", fmt.Sprintf("/api/v1/people/%d/tasks", pat.ID), nil, 200, &mine)
	if len(mine.Tasks) == 0 {
		t.Fatal("the partner's tasks by account number")
	}

	// Taking people off roles: what to fix when they do not hold it, then gone.
	people0 := fmt.Sprintf("/api/v1/engagements/%d/people", d.ID)
	for _, tc := range []struct{ query, field, words string }{
		{"?role=ftm&person=pat@partner.com", "role", "they hold frp"},
		{"?role=frp&person=nobody@x", "person", "holds no role"},
		{"?role=frp&person=", "person", "who leaves"},
	} {
		code, b = e.call("DELETE", people0+tc.query, nil)
		wantError(t, code, b, 400, tc.field, tc.words)
	}
	e.must("DELETE", people0+"?role=frp&person=pat@partner.com", nil, 200, &people)
	if len(people.People) != 0 {
		t.Fatalf("still there: %+v", people)
	}
	e.must("GET", "/api/v1/people/pat@partner.com/tasks", nil, 200, &mine)
	if len(mine.Tasks) != 0 {
		t.Fatalf("the partner left the role but still has %d tasks", len(mine.Tasks))
	}
}

// account gives a person an account (once per environment), seeing the customers given.
func (e *env) account(email string, role auth.Role, customers ...int64) store.User {
	e.t.Helper()
	u := store.User{Email: email, Name: strings.Split(email, "@")[0], Role: string(role), PasswordHash: "x", Created: time.Now(), Customers: customers}
	err := e.st.CreateUser(operator(), &u)
	if errors.Is(err, store.ErrDuplicate) {
		if u, err = e.st.UserByEmail(operator(), email); err == nil {
			return u
		}
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// completePhase sets every task of a phase Complete (mandatory) or Not Required.
func (e *env) completePhase(engagementID int64, phase string) {
	e.t.Helper()
	var list struct{ Tasks []store.EngagementTask }
	e.must("GET", fmt.Sprintf("/api/v1/engagements/%d/tasks?phase=%s", engagementID, phase), nil, 200, &list)
	for _, tk := range list.Tasks {
		st := engagements.Complete
		if !tk.Mandatory {
			st = engagements.NotRequired
		}
		e.must("PATCH", fmt.Sprintf("/api/v1/tasks/%d", tk.ID), map[string]any{"status": st}, 200, nil)
	}
}

// exitPhasesBefore passes the exits of the phases before phase: Initiate's
// kickoff is held and every role with a mandatory task has a person, and
// each earlier phase's tasks are done.
func (e *env) exitPhasesBefore(engagementID int64, phase string) {
	e.t.Helper()
	eng := fmt.Sprintf("/api/v1/engagements/%d", engagementID)
	kickoff := time.Now().Add(-48 * time.Hour).UTC()
	e.must("POST", eng+"/events", map[string]any{"kind": "meeting", "title": "Kickoff", "time_zone": "UTC",
		"starts": kickoff.Format("2006-01-02 15:04"), "ends": kickoff.Add(time.Hour).Format("2006-01-02 15:04")}, 201, nil)
	var list struct{ Tasks []store.EngagementTask }
	e.must("GET", eng+"/tasks", nil, 200, &list)
	assigned := map[string]bool{}
	for _, tk := range list.Tasks {
		if tk.Mandatory && !assigned[tk.Role] {
			assigned[tk.Role] = true
			who := e.account(tk.Role+"@people.example", auth.FastTrackEngineer)
			e.must("POST", eng+"/people", map[string]any{"role": tk.Role, "person": who.Email}, 200, nil)
		}
	}
	owner := e.account("owner@people.example", auth.FastTrackEngineer)
	e.must("PUT", eng+"/success-plan", map[string]any{"goals": "every mailbox in Exchange Online", "owner": owner.Email, "agreed": kickoff.Format("2006-01-02")}, 200, nil)
	for _, ph := range playbook.PhaseOrder() {
		if ph == phase {
			return
		}
		e.completePhase(engagementID, ph)
		e.must("POST", eng+"/phases/"+ph+"/exit", nil, 200, nil)
	}
}

func TestEngagementGatesAndChecklist(t *testing.T) {
	t.Parallel()
	e, _ := newEngagementEnv(t)
	f := e.fixture("Contoso")
	d := e.engagement(f.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}})
	eng := fmt.Sprintf("/api/v1/engagements/%d", d.ID)

	refused := func(want ...string) {
		t.Helper()
		code, b := e.call("POST", eng+"/phases/Remediate/exit", nil)
		if code != 409 {
			t.Fatalf("exit: %d, want 409: %s", code, b)
		}
		ref := parseError(t, b)
		if ref.Code != CodeRefused || ref.Gate == nil || ref.Rule != ref.Gate.ExitTask || ref.Gate.Phase != "Remediate" || len(ref.Gate.Blockers) == 0 {
			t.Fatalf("refusal: %s", b)
		}
		for _, w := range want {
			if !strings.Contains(ref.Detail, w) {
				t.Errorf("refusal %q does not name %q", ref.Detail, w)
			}
		}
	}
	refused("1700")
	code, b := e.call("POST", eng+"/phases/Deploy/exit", nil)
	wantError(t, code, b, 400, "phase", "Initiate")

	var item store.ChecklistItem
	e.must("POST", eng+"/checklist", map[string]any{"title": "Enable TLS 1.2 on the relay", "severity": "high", "source": "assessment tool"}, 201, &item)
	if item.ID == 0 || item.State != "open" || item.Source != "assessment tool" {
		t.Fatalf("item %+v", item)
	}
	code, b = e.call("POST", eng+"/checklist", map[string]any{"title": "x", "severity": "urgent"})
	wantError(t, code, b, 400, "severity", "critical")
	code, b = e.call("POST", eng+"/checklist", map[string]any{"title": "x", "severity": "low", "priority": 1})
	wantError(t, code, b, 400, "priority", "unknown field")

	e.exitPhasesBefore(d.ID, "Remediate")
	var tasks struct{ Tasks []store.EngagementTask }
	e.must("GET", eng+"/tasks?phase=Remediate", nil, 200, &tasks)
	for _, tk := range tasks.Tasks {
		st := engagements.Complete
		if !tk.Mandatory {
			st = engagements.NotRequired
		}
		code, b := e.call("PATCH", fmt.Sprintf("/api/v1/tasks/%d", tk.ID), map[string]any{"status": st})
		if tk.TaskID == "1700" {
			wantError(t, code, b, 409, "", "TLS 1.2")
			continue
		}
		if code != 200 {
			t.Fatalf("PATCH task %s: %d %s", tk.TaskID, code, b)
		}
	}
	refused("TLS 1.2")
	var gates struct{ Gates []engagements.Gate }
	e.must("GET", eng+"/gates", nil, 200, &gates)
	if g := gates.Gates[2]; g.Phase != "Remediate" || g.CanExit || len(g.Blockers) != 2 || g.Blockers[0].TaskID != "1700" || g.Blockers[1].TaskID != "" {
		t.Fatalf("gate %+v", g)
	}

	code, b = e.call("PATCH", fmt.Sprintf("%s/checklist/%d", eng, item.ID), map[string]any{"state": "done"})
	wantError(t, code, b, 400, "state", "resolved")
	code, b = e.call("PATCH", eng+"/checklist/99999", map[string]any{"state": "resolved"})
	wantError(t, code, b, 404, "")
	code, b = e.call("PATCH", eng+"/checklist/abc", map[string]any{"state": "resolved"})
	wantError(t, code, b, 400, "item")
	// Owners are accounts.
	code, b = e.call("PATCH", fmt.Sprintf("%s/checklist/%d", eng, item.ID), map[string]any{"owner": "ana"})
	wantError(t, code, b, 400, "owner", "has no account")
	if err := e.st.CreateUser(operator(), &store.User{Email: "ana@partner.example", Name: "Ana", Role: string(auth.FastTrackEngineer)}); err != nil {
		t.Fatal(err)
	}
	e.must("PATCH", fmt.Sprintf("%s/checklist/%d", eng, item.ID), map[string]any{"state": "resolved", "owner": "ana@partner.example"}, 200, &item)
	if item.State != "resolved" || item.Owner != "ana@partner.example" {
		t.Fatalf("item %+v", item)
	}
	e.completePhase(d.ID, "Remediate")
	var list struct{ Items []store.ChecklistItem }
	e.must("GET", eng+"/checklist", nil, 200, &list)
	if len(list.Items) != 1 || list.Items[0].State != "resolved" {
		t.Fatalf("checklist %+v", list)
	}

	var g engagements.Gate
	e.must("POST", eng+"/phases/remediate/exit", nil, 200, &g)
	if !g.Exited || g.Phase != "Remediate" {
		t.Fatalf("gate after exit %+v", g)
	}
	e.must("POST", eng+"/phases/Remediate/exit", nil, 200, &g) // exited already
	code, b = e.call("POST", "/api/v1/engagements/999999/phases/Remediate/exit", nil)
	wantError(t, code, b, 404, "")
}

func TestMigrationGateHoldsPasses(t *testing.T) {
	t.Parallel()
	e, _ := newEngagementEnv(t)
	f := e.fixture("Contoso")
	e.engagement(f.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}, "workloads": []string{"imap"}})
	passes := fmt.Sprintf("/api/v1/projects/%d/passes", f.project.ID)
	gate := fmt.Sprintf("/api/v1/customers/%d/migration-gate", f.customer.ID)

	code, b := e.call("POST", passes, map[string]any{"pass": "full", "all": true})
	wantError(t, code, b, 409, "", "1141", "FastTrack Manager")
	if eb := parseError(t, b); eb.Code != CodeRefused || eb.Rule != "1141" {
		t.Fatalf("the gate's refusal names no rule: %s", b)
	}
	e.must("POST", passes, map[string]any{"pass": "trial", "all": true}, 202, nil)

	var mg MigrationGate
	e.must("GET", gate, nil, 200, &mg)
	if !mg.Blocked || !slices.ContainsFunc(mg.Blockers, func(b engagements.Blocker) bool { return b.TaskID == "1141" }) || mg.Overrides == nil {
		t.Fatalf("gate %+v", mg)
	}

	// A partner of the customer may not override, in anyone's name.
	partner := NewWithOptions(e.svc, e.st, Options{Authenticators: []Authenticator{scopedAuthenticator{[]int64{f.customer.ID}}},
		Engagements: &engagements.Service{Store: e.st, Playbook: playbook.Default()}})
	for _, body := range []string{`{"reason":"pilot users"}`, `{"as":"fiona@fasttrack.example","reason":"pilot users"}`} {
		rec := httptest.NewRecorder()
		partner.ServeHTTP(rec, httptest.NewRequest("POST", gate+"/override", strings.NewReader(body)))
		if rec.Code != 403 && rec.Code != 400 || rec.Code == 201 {
			t.Fatalf("a partner overrode the gate with %s: %d %s", body, rec.Code, rec.Body)
		}
	}
	code, b = e.call("POST", gate+"/override", map[string]any{"as": "fiona@fasttrack.example", "reason": "pilot users"})
	wantError(t, code, b, 400, "as", "unknown field")
	code, b = e.call("POST", gate+"/override", map[string]any{"reason": " "})
	wantError(t, code, b, 400, "reason")
	code, b = e.call("POST", gate+"/override", map[string]any{"reason": "x", "expires": "tomorrow"})
	wantError(t, code, b, 400, "expires", "2026-12-24")
	var ov store.GateOverride
	e.must("POST", gate+"/override", map[string]any{"reason": "pilot users move before sync"}, 201, &ov)
	if ov.Who != "test" || ov.CustomerID != f.customer.ID {
		t.Fatalf("override %+v, want it recorded as the token's owner", ov)
	}
	e.must("GET", gate, nil, 200, &mg)
	if mg.Blocked || len(mg.Blockers) == 0 || len(mg.Overrides) != 1 {
		t.Fatalf("gate after the override %+v", mg)
	}
	e.must("POST", passes, map[string]any{"pass": "full", "all": true}, 202, nil)

	// Revoked, with a reason: passes wait again, and the record stays.
	revoke := fmt.Sprintf("%s/overrides/%d/revoke", gate, ov.ID)
	code, b = e.call("POST", revoke, map[string]any{})
	wantError(t, code, b, 400, "reason")
	e.must("POST", revoke, map[string]any{"reason": "sync is broken"}, 200, &ov)
	if ov.RevokedBy != "test" || ov.RevokeReason != "sync is broken" || ov.RevokedAt.IsZero() {
		t.Fatalf("revoked %+v", ov)
	}
	e.must("GET", gate, nil, 200, &mg)
	if !mg.Blocked || len(mg.Overrides) != 1 {
		t.Fatalf("gate after the revocation %+v", mg)
	}
	code, b = e.call("POST", passes, map[string]any{"pass": "full", "all": true})
	wantError(t, code, b, 409, "", "1141")
	code, b = e.call("POST", fmt.Sprintf("%s/overrides/99999/revoke", gate), map[string]any{"reason": "x"})
	wantError(t, code, b, 404, "")

	code, b = e.call("GET", "/api/v1/customers/999999/migration-gate", nil)
	wantError(t, code, b, 404, "")
	code, b = e.call("POST", "/api/v1/customers/999999/migration-gate/override", map[string]any{"reason": "y"})
	wantError(t, code, b, 404, "")
}

func TestEngagementReportIssuesEvents(t *testing.T) {
	t.Parallel()
	e, _ := newEngagementEnv(t)
	f := e.fixture("Contoso")
	d := e.engagement(f.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}, "workloads": []string{"imap"}})
	eng := fmt.Sprintf("/api/v1/engagements/%d", d.ID)

	var issue store.PostMigrationIssue
	e.must("POST", eng+"/post-migration-issues", map[string]any{"mailbox": "a@contoso.com", "migrated_at": "2020-01-03T18:00:00Z", "description": "shared calendar missing"}, 201, &issue)
	if !issue.Late || issue.Deadline.Day() != 10 || issue.Status != "open" {
		t.Fatalf("issue %+v", issue)
	}
	code, b := e.call("POST", eng+"/post-migration-issues", map[string]any{"mailbox": "a@contoso.com", "description": "x"})
	wantError(t, code, b, 400, "migrated_at", "no completed Full pass for a@contoso.com", "give the time")
	// Without migrated_at, the end of the mailbox's last completed Full pass in the customer's projects.
	ctx := context.Background()
	mb, err := e.st.Mailbox(ctx, store.MailboxKey{Source: "imaps://" + f.item.Source, Destination: "imaps://" + f.item.Dest})
	if err != nil {
		t.Fatal(err)
	}
	fullEnd := time.Date(2026, 11, 13, 18, 30, 0, 0, time.UTC)
	run := &store.Run{Pass: "full", Started: fullEnd.Add(-time.Hour), ItemID: f.item.ID}
	if err := e.st.StartRun(ctx, mb, run); err != nil {
		t.Fatal(err)
	}
	run.Ended, run.Status = fullEnd, "completed"
	if err := e.st.FinishRun(ctx, mb, run); err != nil {
		t.Fatal(err)
	}
	it, _ := e.st.Item(ctx, f.item.ID)
	it.MailboxID = mb
	if err := e.st.UpdateItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	e.must("POST", eng+"/post-migration-issues", map[string]any{"mailbox": strings.ToUpper(f.item.Dest), "description": "rules missing"}, 201, &issue)
	if !issue.MigratedAt.Equal(fullEnd) || !issue.Deadline.Equal(engagements.AddBusinessDays(fullEnd, engagements.ReportWindowDays)) {
		t.Fatalf("issue without migrated_at: %+v, want migrated at %v", issue, fullEnd)
	}
	var issues struct{ Issues []store.PostMigrationIssue }
	e.must("GET", eng+"/post-migration-issues", nil, 200, &issues)
	if len(issues.Issues) != 2 {
		t.Fatalf("issues %+v", issues)
	}

	var ev store.ScheduledEvent
	e.must("POST", eng+"/events", map[string]any{"kind": "migration-window", "title": "Wave 1 cutover", "starts": "2026-12-05 18:00", "ends": "2026-12-06 06:00", "time_zone": "Europe/Berlin"}, 201, &ev)
	if ev.Starts.UTC().Hour() != 17 {
		t.Fatalf("event %+v", ev)
	}
	code, b = e.call("POST", eng+"/events", map[string]any{"kind": "wave", "title": "x", "starts": "2026-12-05 18:00", "ends": "2026-12-05 19:00", "time_zone": "Mars/Olympus"})
	wantError(t, code, b, 400, "time_zone", "IANA")
	var evs struct{ Events []store.ScheduledEvent }
	e.must("GET", eng+"/events", nil, 200, &evs)
	if len(evs.Events) != 1 {
		t.Fatalf("events %+v", evs)
	}

	var p engagements.Progress
	e.must("GET", eng+"/progress", nil, 200, &p)
	if p.Overall.Tasks == 0 || len(p.ByPhase) != 5 || len(p.ByRole) == 0 {
		t.Fatalf("progress %+v", p)
	}

	for _, tc := range []struct{ format, ctype, has string }{
		{"", "text/markdown", "| Remediate | 1700 |"},
		{"markdown", "text/markdown", "Wave 1 cutover"},
		{"csv", "text/csv", "task_id,phase,name"},
		{"json", "application/json", `"remediation_checklist"`},
	} {
		resp, b := e.send("GET", eng+"/report?format="+tc.format, "Bearer "+e.token, "", nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(b), tc.has) {
			t.Errorf("report %q: %d %s:\n%s", tc.format, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		if tc.format == "json" {
			var rep engagements.ReportJSON
			if err := json.Unmarshal(b, &rep); err != nil || rep.Engagement.ID != d.ID || rep.Customer.ID != f.customer.ID {
				t.Errorf("json report %v: %+v", err, rep.Engagement)
			}
		}
	}
	code, b = e.call("GET", eng+"/report?format=pdf", nil)
	wantError(t, code, b, 400, "format", "markdown, csv or json")
	code, b = e.call("GET", "/api/v1/engagements/999999/report", nil)
	wantError(t, code, b, 404, "")

	var pb playbook.Playbook
	e.must("GET", "/api/v1/playbook", nil, 200, &pb)
	if pb.Name == "" || len(pb.Phases) != 5 || len(pb.Roles) == 0 {
		t.Fatalf("playbook %s %d phases", pb.Name, len(pb.Phases))
	}
}

// scopedAuthenticator signs every request in as a principal limited to some customers.
type scopedAuthenticator struct{ customers []int64 }

func (a scopedAuthenticator) Authenticate(r *http.Request) (*Principal, error) {
	return &Principal{Name: "scoped", Kind: "session", Role: auth.Partner, Customers: a.customers}, nil
}

func TestEngagementAuth(t *testing.T) {
	t.Parallel()
	e, _ := newEngagementEnv(t)
	f := e.fixture("Contoso")
	g := e.fixture("Fabrikam")
	d := e.engagement(f.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}})
	e.engagement(g.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}})
	e.account("pat@partner.com", auth.Partner, f.customer.ID)
	e.must("POST", fmt.Sprintf("/api/v1/engagements/%d/people", d.ID), map[string]any{"role": "frp", "person": "pat@partner.com"}, 200, nil)

	for _, path := range []string{fmt.Sprintf("/api/v1/engagements/%d", d.ID), "/api/v1/playbook", "/api/v1/people/pat@partner.com/tasks"} {
		resp, b := e.send("GET", path, "", "", nil)
		wantError(t, resp.StatusCode, b, 401, "", "ferry token create")
	}

	// A principal limited to Fabrikam sees nothing of Contoso's engagement, but may read the playbook.
	st := e.st
	srv := NewWithOptions(e.svc, st, Options{Authenticators: []Authenticator{scopedAuthenticator{[]int64{g.customer.ID}}},
		Engagements: &engagements.Service{Store: st, Playbook: playbook.Default()}})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", fmt.Sprintf("/api/v1/engagements/%d", d.ID), 404},
		{"GET", fmt.Sprintf("/api/v1/customers/%d/engagements", f.customer.ID), 404},
		{"GET", fmt.Sprintf("/api/v1/customers/%d/engagements", g.customer.ID), 200},
		{"GET", "/api/v1/playbook", 200},
		{"GET", "/api/v1/people/pat@partner.com/tasks", 200},
	} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, rec.Code, tc.want, rec.Body.String())
		}
		if tc.path == "/api/v1/people/pat@partner.com/tasks" && !strings.Contains(rec.Body.String(), `"tasks":[]`) {
			t.Errorf("Contoso's tasks shown to a principal limited to Fabrikam: %s", rec.Body.String())
		}
	}
}

// engagementSchemaTypes are the Go types of the engagement schemas.
var engagementSchemaTypes = map[string]any{
	"Engagement": Engagement{}, "EngagementInput": engagements.Input{}, "EngagementDetail": EngagementDetail{},
	"EligibilityRule": engagements.Rule{}, "Gate": engagements.Gate{}, "Blocker": engagements.Blocker{},
	"Assignment": Assignment{}, "AssignInput": AssignInput{}, "ScopeChange": ScopeChange{}, "ScopeResult": ScopeResult{},
	"EngagementTask": EngagementTask{}, "TaskUpdate": engagements.TaskUpdate{}, "TimeInput": TimeInput{},
	"TimeEntry": TimeEntry{}, "TaskEvent": TaskEvent{}, "TaskHistory": TaskHistory{},
	"OverrideInput": OverrideInput{}, "RevokeInput": RevokeInput{}, "GateOverride": GateOverride{},
	"MigrationGate": MigrationGate{}, "ChecklistItem": ChecklistItem{}, "ChecklistInput": engagements.ChecklistInput{},
	"ChecklistUpdate": ChecklistUpdate{}, "WaiveInput": WaiveInput{}, "PostMigrationIssue": PostMigrationIssue{}, "IssueInput": engagements.IssueInput{}, "IssueUpdate": engagements.IssueUpdate{}, "IssueEvent": IssueEvent{},
	"ScheduledEvent": ScheduledEvent{}, "EventInput": engagements.EventInput{}, "Occurrence": Occurrence{}, "Tally": engagements.Tally{},
	"Progress": engagements.Progress{}, "Report": engagements.ReportJSON{}, "Playbook": playbook.Playbook{},
	"SuccessPlan": SuccessPlan{}, "SuccessPlanInput": engagements.SuccessPlanInput{}, "GoNoGoInput": engagements.GoNoGoInput{},
	"GoNoGoDecision": GoNoGoDecision{}, "Evidence": engagements.Evidence{}, "GateState": engagements.GateState{}, "ProjectFigures": engagements.ProjectFigures{},
	"Responsibility": engagements.Responsibility{}, "TickInput": TickInput{},
	"GateEvent": engagements.GateEvent{}, "SuccessPlanRecord": engagements.ReportSuccessPlan{},
}

// TestOpenAPIEngagementSchemasMatchTypes: the engagement schemas have exactly the JSON fields of the Go types.
func TestOpenAPIEngagementSchemasMatchTypes(t *testing.T) {
	t.Parallel()
	doc, _ := loadOpenAPI(t)
	checkSchemas(t, doc, engagementSchemaTypes)
}

// TestSuccessPlanGoNoGoAndFigures: the success plan, go/no-go decisions
// with their evidence, the migration figures and a checklist item's due
// date through the API.
func TestSuccessPlanGoNoGoAndFigures(t *testing.T) {
	t.Parallel()
	e, _ := newEngagementEnv(t)
	f := e.fixture("Contoso")
	d := e.engagement(f.customer.ID, map[string]any{"name": "Onboarding", "seats": 800, "services": []string{"exchange"}})
	eng := fmt.Sprintf("/api/v1/engagements/%d", d.ID)
	code, b := e.call("GET", eng+"/success-plan", nil)
	wantError(t, code, b, 404, "", "no success plan yet")
	e.account("carl@contoso.com", auth.CustomerProjectManager, f.customer.ID)
	code, b = e.call("PUT", eng+"/success-plan", map[string]any{"goals": "mail in Exchange Online", "owner": "carl@contoso.com", "agreed": "03.12.2026"})
	wantError(t, code, b, 400, "agreed", "2026-12-03")
	var plan SuccessPlan
	e.must("PUT", eng+"/success-plan", map[string]any{"goals": "mail in Exchange Online", "outcomes": "IMAP retired", "owner": "carl@contoso.com", "agreed": "2026-12-03"}, 200, &plan)
	e.must("GET", eng+"/success-plan", nil, 200, &plan)
	if plan.Goals != "mail in Exchange Online" || plan.Owner != "carl@contoso.com" || plan.Agreed != "2026-12-03" {
		t.Fatalf("plan %+v", plan)
	}

	var ev ScheduledEvent
	e.must("POST", eng+"/events", map[string]any{"kind": "go-no-go", "title": "Wave 1 go/no-go", "time_zone": "UTC", "starts": "2026-12-05 09:00", "ends": "2026-12-05 09:30"}, 201, &ev)
	code, b = e.call("POST", eng+"/go-no-go", map[string]any{"event_id": ev.ID, "decision": "no-go"})
	wantError(t, code, b, 400, "notes", "why")
	var dec GoNoGoDecision
	e.must("POST", eng+"/go-no-go", map[string]any{"event_id": ev.ID, "decision": "go", "notes": "pilot clean"}, 201, &dec)
	if dec.Decision != "go" || dec.Event != "Wave 1 go/no-go" || len(dec.Evidence.Gates) != 5 || len(dec.Evidence.Projects) != 1 || dec.Evidence.Projects[0].Items == 0 {
		t.Fatalf("decision %+v", dec)
	}
	var list struct{ Decisions []GoNoGoDecision }
	e.must("GET", eng+"/go-no-go", nil, 200, &list)
	if len(list.Decisions) != 1 || list.Decisions[0].Who == "" {
		t.Fatalf("decisions %+v", list)
	}
	var figs struct{ Projects []engagements.ProjectFigures }
	e.must("GET", eng+"/figures", nil, 200, &figs)
	if len(figs.Projects) != 1 || figs.Projects[0].ByStatus == nil {
		t.Fatalf("figures %+v", figs)
	}

	var item ChecklistItem
	e.must("POST", eng+"/checklist", map[string]any{"title": "Remediation timeline", "severity": "medium", "source": "person"}, 201, &item)
	e.must("PATCH", fmt.Sprintf("%s/checklist/%d", eng, item.ID), map[string]any{"due": "2026-12-18", "owner": "carl@contoso.com"}, 200, &item)
	if item.Due.Format("2006-01-02") != "2026-12-18" || item.Owner != "carl@contoso.com" {
		t.Fatalf("item %+v", item)
	}
	code, b = e.call("PATCH", fmt.Sprintf("%s/checklist/%d", eng, item.ID), map[string]any{"due": "soon"})
	wantError(t, code, b, 400, "due", "2026-12-24")

	var rs struct{ Responsibilities []engagements.Responsibility }
	e.must("GET", eng+"/responsibilities", nil, 200, &rs)
	if len(rs.Responsibilities) < 20 || rs.Responsibilities[0].Key == "" {
		t.Fatalf("responsibilities %+v", rs)
	}
	var r engagements.Responsibility
	e.must("POST", eng+"/responsibilities/"+rs.Responsibilities[0].Key, map[string]any{"done": true}, 200, &r)
	if !r.Done || r.Who == "" {
		t.Fatalf("ticked %+v", r)
	}
	code, b = e.call("POST", eng+"/responsibilities/nothing", map[string]any{"done": true})
	wantError(t, code, b, 400, "key", "no customer responsibility")
}
