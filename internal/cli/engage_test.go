package cli

import (
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/store"
)

func TestPlaybookCommands(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)

	good := e.write("good.yaml", string(playbook.DefaultSource()))
	out := e.ok("playbook", "validate", good)
	if !strings.Contains(out, "valid") {
		t.Errorf("validate good: %s", out)
	}

	broken := e.write("broken.yaml", string(playbook.DefaultSource())+"\nbogus_field: 1\n")
	code, out, errOut := e.ferry("playbook", "validate", broken)
	if code != ExitFailures {
		t.Fatalf("validate broken: exit %d, want 1\n%s%s", code, out, errOut)
	}
	if !regexp.MustCompile(`broken\.yaml:\d+:\d+: .*bogus_field`).MatchString(out) {
		t.Errorf("validate broken: no file:line:col problem naming the field:\n%s", out)
	}

	if _, errOut := e.usage("playbook", "validate", filepath.Join(e.dir, "missing.yaml")); !strings.Contains(errOut, "cannot read") {
		t.Errorf("validate missing: %s", errOut)
	}

	var pb struct {
		Name   string `json:"name"`
		Phases []struct {
			Name      string `json:"name"`
			Processes []struct {
				Steps []struct {
					Tasks []struct {
						ID        string `json:"id"`
						Mandatory bool   `json:"mandatory"`
						Role      string `json:"role"`
					} `json:"tasks"`
				} `json:"steps"`
			} `json:"processes"`
		} `json:"phases"`
	}
	e.okJSON(&pb, "playbook", "show")
	found := false
	for _, ph := range pb.Phases {
		for _, pr := range ph.Processes {
			for _, st := range pr.Steps {
				for _, tk := range st.Tasks {
					found = found || (tk.ID == "1141" && tk.Mandatory && tk.Role != "")
				}
			}
		}
	}
	if len(pb.Phases) != 5 || !found {
		t.Errorf("playbook show --json: %d phases, 1141 found %v", len(pb.Phases), found)
	}
	if out := e.ok("playbook", "show"); !strings.Contains(out, "1141") || !strings.Contains(out, "Phase Remediate (exit gate 1700)") {
		t.Errorf("playbook show:\n%s", out)
	}
	if out := e.ok("playbook", "default"); out != string(playbook.DefaultSource()) {
		t.Error("playbook default differs from the embedded default")
	}

	// A broken --playbook is refused by commands that open the database.
	if _, errOut := e.usage("engagement", "list", "--customer", "1", "--playbook", broken); !strings.Contains(errOut, "bogus_field") {
		t.Errorf("broken --playbook: %s", errOut)
	}
}

// taskRows maps task IDs to row IDs of an engagement, over every service.
func (e *mgmtEnv) taskRows(engagement int64) map[string]int64 {
	e.t.Helper()
	var tasks []store.EngagementTask
	e.okJSON(&tasks, "task", "list", "--engagement", id(engagement), "--service", "all")
	out := map[string]int64{}
	for _, t := range tasks {
		out[t.TaskID] = t.ID
	}
	return out
}

func TestEngagementLifecycle(t *testing.T) {
	t.Parallel()
	e := newMgmtEnv(t)
	f := e.fixture()
	cust := id(f.customer)

	// Eligibility: 100 seats are refused, with the rule.
	_, errOut := e.usage("engagement", "create", "--customer", cust, "--name", "Small", "--seats", "100", "--service", "core")
	if !strings.Contains(errOut, "--seats") || !strings.Contains(errOut, "150 licenses") {
		t.Errorf("100 seats: %s", errOut)
	}
	out := e.ok("engagement", "eligibility", "--seats", "100")
	if !strings.Contains(out, "NOT MET") || !strings.Contains(out, "NOT eligible") {
		t.Errorf("eligibility 100:\n%s", out)
	}

	var created struct {
		ID    int64 `json:"id"`
		Tasks int   `json:"tasks"`
	}
	e.okJSON(&created, "engagement", "create", "--customer", cust, "--name", "Onboarding", "--seats", "800",
		"--service", "core", "--service", "exchange", "--workload", "imap")
	if created.ID == 0 || created.Tasks == 0 {
		t.Fatalf("create: %+v", created)
	}
	eng := id(created.ID)
	if out := e.ok("engagement", "list", "--customer", cust); !strings.Contains(out, "Onboarding") {
		t.Errorf("engagement list:\n%s", out)
	}

	// The default task view is Core Onboarding.
	out = e.ok("task", "list", "--engagement", eng)
	if !strings.Contains(out, "view: Core Onboarding") || !strings.Contains(out, "1141") {
		t.Errorf("task list:\n%s", out)
	}
	rows := e.taskRows(created.ID)
	for _, want := range []string{"1141", "1699", "1700", "3190", "1635"} {
		if rows[want] == 0 {
			t.Fatalf("task %s not instantiated: %v", want, rows)
		}
	}

	// The migration gate holds full passes back; verify and trial run.
	_, errOut = e.usage("pass", "start", "--project", id(f.project), "--pass", "full", "--all")
	if !strings.Contains(errOut, "1141") {
		t.Errorf("full pass before prerequisites: %s", errOut)
	}
	e.ok("pass", "start", "--project", id(f.project), "--pass", "trial", "--all")
	// People in roles are accounts.
	_, errOut = e.usage("engagement", "assign", eng, "--role", "ftm", "--person", "Fiona")
	if !strings.Contains(errOut, "--person") || !strings.Contains(errOut, "Fiona has no account") {
		t.Errorf("assign free text: %s", errOut)
	}
	pw := e.write("people.pw", "pa55word-for-the-portal\n")
	for _, p := range [][3]string{{"fiona@fasttrack.example", "Fiona", "fasttrack-manager"}, {"eve@fasttrack.example", "Eve", "fasttrack-engineer"},
		{"zed@fasttrack.example", "Zed", "fasttrack-engineer"}, {"someone@fasttrack.example", "Someone", "fasttrack-engineer"}} {
		e.ok("user", "create", "--email", p[0], "--name", p[1], "--role", p[2], "--password-file", pw)
	}
	e.ok("engagement", "assign", eng, "--role", "ftm", "--person", "Fiona@FastTrack.example")
	e.ok("engagement", "assign", eng, "--role", "engineer", "--person", "eve@fasttrack.example")
	// An override is recorded as whoever runs the command: there is no --as.
	if _, errOut = e.usage("engagement", "override", "--customer", cust, "--as", "Fiona", "--reason", "customer deadline"); !strings.Contains(errOut, "unknown flag: --as") {
		t.Errorf("override in another's name: %s", errOut)
	}
	_, errOut = e.usage("engagement", "override", "--customer", cust, "--reason", "customer deadline", "--expires", "soon")
	if !strings.Contains(errOut, "2026-12-24") {
		t.Errorf("override with a bad expiry: %s", errOut)
	}
	e.ok("engagement", "override", "--customer", cust, "--reason", "customer deadline", "--expires", time.Now().AddDate(0, 0, 7).Format("2006-01-02"))
	// Someone leaves a role: gone from the engagement's people.
	e.ok("engagement", "assign", eng, "--role", "engineer", "--person", "zed@fasttrack.example")
	if out := e.ok("engagement", "unassign", eng, "--role", "engineer", "--person", "zed@fasttrack.example"); !strings.Contains(out, "zed@fasttrack.example is no longer engineer") {
		t.Errorf("unassign said: %s", out)
	}
	if out := e.ok("engagement", "show", eng); strings.Contains(out, "Zed") || !strings.Contains(out, "Eve") {
		t.Errorf("people after Zed left: %s", out)
	}
	e.ok("pass", "start", "--project", id(f.project), "--pass", "full", "--all")

	// Initiate exits once the kickoff was held and every role with a
	// mandatory task has a person.
	_, errOut = e.usage("engagement", "exit", eng, "--phase", "Initiate", "--as", "Fiona")
	if !strings.Contains(errOut, "kickoff") || !strings.Contains(errOut, "role FastTrack Ready Partner (FRP)") {
		t.Errorf("exit Initiate before the kickoff: %s", errOut)
	}
	kickoff := time.Now().Add(-48 * time.Hour).UTC()
	e.ok("event", "add", "--engagement", eng, "--kind", "meeting", "--title", "Kickoff", "--time-zone", "UTC",
		"--starts", kickoff.Format("2006-01-02 15:04"), "--ends", kickoff.Add(time.Hour).Format("2006-01-02 15:04"))
	for _, role := range []string{"frp", "mvm", "architect", "sme", "customer-pm", "customer-tech-lead"} {
		e.ok("engagement", "assign", eng, "--role", role, "--person", "someone@fasttrack.example")
	}
	_, errOut = e.usage("engagement", "exit", eng, "--phase", "Initiate", "--as", "Fiona")
	if !strings.Contains(errOut, "success plan") {
		t.Errorf("exit Initiate without a success plan: %s", errOut)
	}
	if _, errOut = e.usage("engagement", "success-plan", eng); !strings.Contains(errOut, "no success plan yet") {
		t.Errorf("success plan before one: %s", errOut)
	}
	if _, errOut = e.usage("engagement", "success-plan", eng, "--goals", "mail in Exchange Online", "--owner", "fiona@fasttrack.example", "--agreed", "soon"); !strings.Contains(errOut, "--agreed") {
		t.Errorf("success plan without a date: %s", errOut)
	}
	e.ok("engagement", "success-plan", eng, "--goals", "mail in Exchange Online", "--outcomes", "IMAP retired", "--owner", "fiona@fasttrack.example",
		"--agreed", kickoff.Format("2006-01-02"))
	if out := e.ok("engagement", "success-plan", eng); !strings.Contains(out, "IMAP retired") || !strings.Contains(out, "fiona@fasttrack.example") {
		t.Errorf("success plan:\n%s", out)
	}
	e.ok("engagement", "exit", eng, "--phase", "Initiate", "--as", "Fiona")

	// The customer's responsibilities, ticked off.
	var rs []struct {
		Key, Phase, Text string
		Done             bool
	}
	e.okJSON(&rs, "engagement", "responsibilities", eng)
	if len(rs) < 20 {
		t.Fatalf("responsibilities %+v", rs)
	}
	if out := e.ok("engagement", "responsibilities", eng, "--tick", rs[0].Key); !strings.Contains(out, rs[0].Key+": done") {
		t.Errorf("tick:\n%s", out)
	}
	if _, errOut := e.usage("engagement", "responsibilities", eng, "--tick", "nothing"); !strings.Contains(errOut, "--tick") {
		t.Errorf("tick an unknown key: %s", errOut)
	}

	// A phase exit is refused naming the tasks in the way, then allowed.
	_, errOut = e.usage("engagement", "exit", eng, "--phase", "Assess", "--as", "Fiona")
	if !strings.Contains(errOut, "--phase") || !strings.Contains(errOut, "1699") {
		t.Errorf("exit Assess: %s", errOut)
	}
	e.ok("task", "update", id(rows["1699"]), "--as", "Eve", "--status", "complete", "--notes", "assessment done")
	if out := e.ok("engagement", "exit", eng, "--phase", "assess", "--as", "Fiona"); !strings.Contains(out, "Assess exited") {
		t.Errorf("exit Assess: %s", out)
	}

	// The task's history records who changed what.
	var hist struct {
		Events []store.TaskEvent `json:"events"`
	}
	e.okJSON(&hist, "task", "history", id(rows["1699"]))
	var sawStatus bool
	for _, ev := range hist.Events {
		sawStatus = sawStatus || (ev.Field == "status" && ev.Who == "Eve" && ev.Before == "Not Started" && ev.After == "Complete")
	}
	if !sawStatus || len(hist.Events) < 3 {
		t.Errorf("history: %+v", hist.Events)
	}
	if out := e.ok("task", "history", id(rows["1699"])); !strings.Contains(out, "Eve") || !strings.Contains(out, "assessment done") {
		t.Errorf("history table:\n%s", out)
	}
	e.ok("task", "time", id(rows["1699"]), "--as", "Eve", "--minutes", "45", "--note", "workshop")
	if out := e.ok("task", "mine", "--as", "fiona@fasttrack.example"); !strings.Contains(out, "1700") {
		t.Errorf("task mine:\n%s", out)
	}
	// Without --as: the account named like whoever runs the command, else a clear question.
	if u, err := user.Current(); err == nil {
		if _, errOut := e.usage("task", "mine"); !strings.Contains(errOut, "--as") || !strings.Contains(errOut, u.Username) {
			t.Errorf("task mine without an account: %s", errOut)
		}
		e.ok("user", "create", "--email", u.Username+"@ferry.example", "--name", "Me", "--role", "fasttrack-manager", "--password-file", pw)
		e.ok("engagement", "assign", eng, "--role", "ftm", "--person", u.Username+"@ferry.example")
		if out := e.ok("task", "mine"); !strings.Contains(out, "1700") {
			t.Errorf("task mine as %s:\n%s", u.Username, out)
		}
	}

	// Gate 1700 waits for the remediation checklist.
	var item idJSON
	e.okJSON(&item, "checklist", "add", "--engagement", eng, "--title", "Legacy TLS on relay", "--severity", "high")
	e.ok("task", "update", id(rows["3190"]), "--as", "Eve", "--status", "Complete")
	_, errOut = e.usage("task", "update", id(rows["1700"]), "--as", "Fiona", "--status", "Complete")
	if !strings.Contains(errOut, "Legacy TLS") {
		t.Errorf("1700 Complete with an open item: %s", errOut)
	}
	_, errOut = e.usage("engagement", "exit", eng, "--phase", "Remediate", "--as", "Fiona")
	if !strings.Contains(errOut, "Legacy TLS") {
		t.Errorf("exit Remediate with an open item: %s", errOut)
	}
	if out := e.ok("engagement", "gates", eng); !strings.Contains(out, "Legacy TLS") {
		t.Errorf("gates:\n%s", out)
	}
	if out := e.ok("checklist", "update", id(item.ID), "--engagement", eng, "--due", "2026-12-18", "--owner", "eve@fasttrack.example"); !strings.Contains(out, "due 2026-12-18") || !strings.Contains(out, "owner eve@fasttrack.example") {
		t.Errorf("checklist due date:\n%s", out)
	}
	if _, errOut := e.usage("checklist", "update", id(item.ID), "--engagement", eng, "--due", "Friday"); !strings.Contains(errOut, "--due") {
		t.Errorf("checklist due date that is no date: %s", errOut)
	}
	e.ok("checklist", "update", id(item.ID), "--engagement", eng, "--state", "resolved")

	// A go/no-go at its event, with the evidence of the moment.
	var gng idJSON
	e.okJSON(&gng, "event", "add", "--engagement", eng, "--kind", "go-no-go", "--title", "Wave 1 go/no-go", "--time-zone", "UTC",
		"--starts", kickoff.Format("2006-01-02 15:04"), "--ends", kickoff.Add(time.Hour).Format("2006-01-02 15:04"))
	if _, errOut := e.usage("engagement", "go-no-go", eng, "--event", id(gng.ID), "--decision", "no-go"); !strings.Contains(errOut, "--notes") {
		t.Errorf("no-go without notes: %s", errOut)
	}
	e.ok("engagement", "go-no-go", eng, "--event", id(gng.ID), "--decision", "go", "--notes", "pilot clean")
	if out := e.ok("engagement", "go-no-go", eng); !strings.Contains(out, "GO at Wave 1 go/no-go") || !strings.Contains(out, "gate Initiate: exited") {
		t.Errorf("go/no-go list:\n%s", out)
	}
	if out := e.ok("checklist", "list", "--engagement", eng); !strings.Contains(out, "resolved") {
		t.Errorf("checklist list:\n%s", out)
	}
	e.ok("task", "update", id(rows["1700"]), "--as", "Fiona", "--status", "Complete")
	e.ok("engagement", "exit", eng, "--phase", "Remediate", "--as", "Fiona")

	// Post-migration issues reported after five business days are late.
	out = e.ok("issue", "report", "--engagement", eng, "--mailbox", "alice@contoso.com",
		"--migrated-at", time.Now().Add(-240*time.Hour).Format(time.RFC3339), "--description", "calendar missing")
	if !strings.Contains(out, "LATE") || !strings.Contains(out, "deadline") {
		t.Errorf("late issue: %s", out)
	}
	out = e.ok("issue", "report", "--engagement", eng, "--mailbox", "bob@contoso.com",
		"--migrated-at", time.Now().Add(-time.Hour).Format(time.RFC3339), "--description", "rules missing")
	if strings.Contains(out, "LATE") {
		t.Errorf("fresh issue flagged late: %s", out)
	}
	if out := e.ok("issue", "list", "--engagement", eng); !strings.Contains(out, "LATE") {
		t.Errorf("issue list:\n%s", out)
	}

	// Events: times are shown in the event's zone; a bad zone is refused.
	out = e.ok("event", "add", "--engagement", eng, "--kind", "migration-window", "--title", "Wave 1",
		"--starts", "2026-12-05 18:00", "--ends", "2026-12-06 06:00", "--time-zone", "Europe/Berlin")
	if !strings.Contains(out, "2026-12-05 18:00") {
		t.Errorf("event add: %s", out)
	}
	if out := e.ok("event", "list", "--engagement", eng); !strings.Contains(out, "2026-12-05 18:00") || !strings.Contains(out, "Europe/Berlin") {
		t.Errorf("event list:\n%s", out)
	}
	if _, errOut := e.usage("event", "add", "--engagement", eng, "--kind", "wave", "--title", "W", "--starts", "2026-12-05 18:00",
		"--ends", "2026-12-06 06:00", "--time-zone", "Mars/Olympus"); !strings.Contains(errOut, "--time-zone") {
		t.Errorf("bad time zone: %s", errOut)
	}

	// Show, progress, scope and reports.
	out = e.ok("engagement", "show", eng)
	for _, want := range []string{"Eligibility", "NOT MET", "Gates", "exited", "Fiona"} {
		if !strings.Contains(out, want) {
			t.Errorf("engagement show lacks %q:\n%s", want, out)
		}
	}
	if out := e.ok("engagement", "progress", eng); !strings.Contains(out, "PHASE") || !strings.Contains(out, "Remediate") {
		t.Errorf("progress:\n%s", out)
	}
	var scope struct{ Added, Retired int }
	e.okJSON(&scope, "engagement", "scope", eng, "--workload", "gmail", "--as", "Fiona")
	if scope.Added == 0 || scope.Retired == 0 {
		t.Errorf("scope imap → gmail: %+v", scope)
	}
	out = e.ok("engagement", "report", eng, "--format", "markdown")
	for _, want := range []string{"## Phases", "## Tasks", "1141", "Legacy TLS"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown report lacks %q", want)
		}
	}
	file := filepath.Join(e.dir, "report.json")
	e.ok("engagement", "report", eng, "--format", "json", "--output", file)
	data, err := os.ReadFile(file)
	var rep map[string]any
	if err != nil || json.Unmarshal(data, &rep) != nil || rep["tasks"] == nil {
		t.Errorf("json report: %v", err)
	}
	// A report names the customer's people and mailboxes: private to its owner.
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the exported report's mode: %v, %v; want 0600", st.Mode().Perm(), err)
	}
	if out := e.ok("engagement", "report", eng, "--format", "csv"); !strings.HasPrefix(out, "task_id,") {
		t.Errorf("csv report: %.80s", out)
	}

	// Every bad input exits 2 naming the flag.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"engagement", "create", "--name", "X", "--seats", "800", "--service", "core"}, "--customer"},
		{[]string{"engagement", "create", "--customer", cust, "--seats", "800", "--service", "core"}, "--name"},
		{[]string{"engagement", "create", "--customer", cust, "--name", "X", "--service", "core"}, "--seats"},
		{[]string{"engagement", "create", "--customer", cust, "--name", "X", "--seats", "800", "--service", "warp"}, "--service"},
		{[]string{"engagement", "create", "--customer", cust, "--name", "X", "--seats", "800", "--service", "core", "--workload", "fax"}, "--workload"},
		{[]string{"engagement", "create", "--customer", "999", "--name", "X", "--seats", "800", "--service", "core"}, "--customer"},
		{[]string{"engagement", "create", "--customer", cust, "--name", "Onboarding", "--seats", "800", "--service", "core"}, "--name"},
		{[]string{"engagement", "show", "999"}, "engagement 999 does not exist"},
		{[]string{"engagement", "show", "abc"}, "engagement ID"},
		{[]string{"engagement", "assign", eng, "--role", "wizard", "--person", "P"}, "--role"},
		{[]string{"engagement", "unassign", eng, "--role", "frp", "--person", "Nobody"}, "holds no role"},
		{[]string{"engagement", "unassign", eng, "--role", "ftm"}, "--person"},
		{[]string{"engagement", "exit", eng, "--phase", "Teardown", "--as", "Fiona"}, "--phase"},
		{[]string{"engagement", "exit", eng, "--phase", "Enable"}, "--as"},
		{[]string{"engagement", "report", eng, "--format", "pdf"}, "--format"},
		{[]string{"engagement", "override", "--customer", cust}, "--reason"},
		{[]string{"engagement", "eligibility"}, "--seats"},
		{[]string{"task", "list"}, "--engagement"},
		{[]string{"task", "list", "--engagement", eng, "--service", "warp"}, "--service"},
		{[]string{"task", "list", "--engagement", eng, "--phase", "Teardown"}, "--phase"},
		{[]string{"task", "list", "--engagement", eng, "--status", "Done-ish"}, "--status"},
		{[]string{"task", "update", id(rows["1141"]), "--as", "Eve", "--status", "Done-ish"}, "--status"},
		{[]string{"task", "update", id(rows["1141"]), "--as", "Eve", "--percent", "150"}, "--percent"},
		{[]string{"task", "update", id(rows["1141"]), "--as", "Eve", "--due", "next week"}, "--due"},
		{[]string{"task", "update", id(rows["1141"]), "--status", "Complete"}, "--as"},
		{[]string{"task", "update", "99999", "--as", "Eve", "--status", "Complete"}, "task 99999 does not exist"},
		{[]string{"task", "time", id(rows["1141"]), "--as", "Eve", "--minutes", "0"}, "--minutes"},
		{[]string{"checklist", "add", "--engagement", eng, "--title", "T", "--severity", "dire"}, "--severity"},
		{[]string{"checklist", "add", "--engagement", eng, "--severity", "low"}, "--title"},
		{[]string{"checklist", "update", id(item.ID), "--engagement", eng, "--state", "gone"}, "--state"},
		{[]string{"checklist", "update", "999", "--engagement", eng, "--state", "resolved"}, "no checklist item 999"},
		{[]string{"issue", "report", "--engagement", eng, "--mailbox", "a@b.c", "--description", "d", "--migrated-at", "yesterday"}, "--migrated-at"},
		{[]string{"issue", "report", "--engagement", eng, "--description", "d", "--migrated-at", "2026-01-01T00:00:00Z"}, "--mailbox"},
		{[]string{"issue", "report", "--engagement", eng, "--mailbox", "nobody@b.c", "--description", "d"}, "no completed Full pass for nobody@b.c"},
		{[]string{"event", "add", "--engagement", eng, "--kind", "party", "--title", "T", "--starts", "2026-12-05 18:00", "--ends", "2026-12-05 19:00", "--time-zone", "UTC"}, "--kind"},
		{[]string{"event", "add", "--engagement", eng, "--kind", "wave", "--title", "T", "--starts", "tomorrow", "--ends", "2026-12-05 19:00", "--time-zone", "UTC"}, "--starts"},
		{[]string{"event", "add", "--engagement", eng, "--kind", "wave", "--title", "T", "--starts", "2026-12-05 18:00", "--ends", "2026-12-05 17:00", "--time-zone", "UTC"}, "--ends"},
		{[]string{"event", "list", "--engagement", "999"}, "engagement 999 does not exist"},
	} {
		if _, errOut := e.usage(tc.args...); !strings.Contains(errOut, tc.want) {
			t.Errorf("ferry %s: stderr %q lacks %q", strings.Join(tc.args, " "), errOut, tc.want)
		}
	}
}
