package playbook

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDefaultLoadsWithoutProblems(t *testing.T) {
	t.Parallel()
	p, err := Load("default.yaml", defaultYAML)
	if err != nil {
		t.Fatalf("default.yaml:\n%v", err)
	}
	if probs := p.Validate(); len(probs) > 0 {
		t.Fatalf("Validate:\n%v", probs)
	}
	if got := Default(); len(got.Tasks()) != len(p.Tasks()) {
		t.Fatalf("Default() has %d tasks, Load %d", len(got.Tasks()), len(p.Tasks()))
	}
	var names []string
	for _, ph := range p.Phases {
		names = append(names, ph.Name)
	}
	if !slices.Equal(names, PhaseOrder()) {
		t.Errorf("phases %v, want %v", names, PhaseOrder())
	}
}

func TestDefaultIsAFreshCopy(t *testing.T) {
	t.Parallel()
	a, b := Default(), Default()
	ta, _ := a.Task("1700")
	ta.Name = "changed"
	if tb, _ := b.Task("1700"); tb.Name == "changed" {
		t.Fatal("Default() returned shared data")
	}
	if !bytes.Equal(DefaultSource(), defaultYAML) {
		t.Fatal("DefaultSource differs from default.yaml")
	}
}

func TestDefaultExitGates(t *testing.T) {
	t.Parallel()
	p := Default()
	want := map[string]string{Assess: "1699", Remediate: "1700", Enable: "1701", Migrate: "1702"}
	for _, ph := range p.Phases {
		if ph.ExitGate != want[ph.Name] {
			t.Errorf("phase %s: exit gate %q, want %q", ph.Name, ph.ExitGate, want[ph.Name])
		}
		if ph.ExitGate == "" {
			continue
		}
		gate, ok := p.Task(ph.ExitGate)
		if !ok || gate.Phase != ph || !gate.Mandatory {
			t.Errorf("phase %s: gate %s is not a mandatory task of the phase", ph.Name, ph.ExitGate)
		}
	}
}

func TestDefaultMarksSpecialTasks(t *testing.T) {
	t.Parallel()
	p := Default()
	workshops := map[string]string{ // seed 000: workshop task per source workload
		"1629": "e2e", "1635": "imap", "2006": "gmail", "2118": "groupwise",
		"2277": "notes", "3169": "box", "2467": "google-drive", "3009": "file-shares",
	}
	for id, w := range workshops {
		task, ok := p.Task(id)
		if !ok || !slices.Equal(task.Workloads, []string{w}) || task.Role != "mvm" {
			t.Errorf("task %s: want an MVM task for workload %s only, got %+v", id, w, task)
		}
	}
	for _, id := range []string{"3208", "3209", "3358"} {
		if task, _ := p.Task(id); task == nil || task.Eligibility != EligibilityEnterprise {
			t.Errorf("task %s: want eligibility enterprise", id)
		}
	}
	var prereqs []string
	for _, task := range p.MigrationPrerequisites() {
		prereqs = append(prereqs, task.ID)
	}
	if want := []string{"1141", "3157", "3158", "3159", "3160", "1701"}; !slices.Equal(prereqs, want) {
		t.Errorf("migration prerequisites %v, want %v", prereqs, want)
	}
	// The first migration step waits for every prerequisite.
	onboard, _ := p.Task("3392")
	for _, id := range prereqs {
		if !slices.Contains(onboard.DependsOn, id) {
			t.Errorf("task 3392 does not depend on migration prerequisite %s", id)
		}
	}
	for _, task := range p.Tasks() {
		if task.Party == "" || task.Eligibility == "" {
			t.Errorf("task %s: party %q eligibility %q not defaulted", task.ID, task.Party, task.Eligibility)
		}
	}
}

func TestTasksInOrderWithBackReferences(t *testing.T) {
	t.Parallel()
	p := Default()
	tasks := p.Tasks()
	if first := tasks[0]; first.ID != "1699" || first.Phase.Name != Assess || first.Process.Name != "Assess Technical Readiness" {
		t.Errorf("first task %s in %s/%s, want 1699 in Assess", first.ID, first.Phase.Name, first.Process.Name)
	}
	if last := tasks[len(tasks)-1]; last.ID != "1702" || last.Phase.Name != Migrate {
		t.Errorf("last task %s, want 1702", last.ID)
	}
	task, ok := p.Task("4101")
	if !ok || task.Phase.Name != Remediate || task.Process.Name != "Address Technical Gaps" || task.Step.Name != "Assist with Remediation Steps" {
		t.Fatalf("task 4101: %+v", task)
	}
	if _, ok := p.Task("9999"); ok {
		t.Error("Task(9999) found a task")
	}
	// Phases follow one another: no task's position goes backwards.
	last := 0
	for _, task := range tasks {
		i := slices.Index(phaseOrder, task.Phase.Name)
		if i < last {
			t.Fatalf("task %s (%s) after a task of %s", task.ID, task.Phase.Name, phaseOrder[last])
		}
		last = i
	}
}

func TestApplies(t *testing.T) {
	t.Parallel()
	p := Default()
	tests := []struct {
		id         string
		services   []string
		workloads  []string
		enterprise bool
		want       bool
	}{
		{"3190", nil, nil, false, true},                           // all services
		{"3184", []string{"exchange"}, nil, false, true},          // core is always in scope
		{"3184", nil, nil, false, true},                           // ... even when not listed
		{"2193", []string{"exchange"}, nil, false, false},         // Skype only
		{"2193", []string{"exchange", "skype"}, nil, false, true}, // ... which is in scope
		{"4101", []string{"sharepoint"}, nil, false, true},        // any one of its services
		{"1629", []string{"exchange"}, []string{"e2e"}, false, true},
		{"1629", []string{"exchange"}, []string{"gmail"}, false, false}, // workload-specific workshop
		{"1629", []string{"exchange"}, nil, false, false},               // no migration at all
		{"4027", nil, []string{"box"}, false, true},                     // any workload
		{"4027", nil, nil, false, false},                                // data-migration needs a workload
		{"1702", nil, []string{"imap"}, false, true},
		{"3208", []string{"exchange"}, nil, false, false}, // enterprise only
		{"3208", []string{"exchange"}, nil, true, true},
		{"3208", []string{"skype"}, nil, true, false}, // enterprise, but not its service
	}
	for _, tt := range tests {
		task, ok := p.Task(tt.id)
		if !ok {
			t.Fatalf("no task %s", tt.id)
		}
		got := p.InScope(task, Scope{Services: tt.services, Workloads: tt.workloads, Enterprise: tt.enterprise})
		if got != tt.want {
			t.Errorf("InScope(%s, %v, %v, enterprise=%v) = %v, want %v", tt.id, tt.services, tt.workloads, tt.enterprise, got, tt.want)
		}
		if !tt.enterprise && p.Applies(task, tt.services, tt.workloads) != tt.want {
			t.Errorf("Applies(%s, %v, %v) = %v, want %v", tt.id, tt.services, tt.workloads, !tt.want, tt.want)
		}
	}
	if p.Applies(nil, nil, nil) {
		t.Error("Applies(nil) = true")
	}
}

// The Go types and the YAML format are the same thing: a marshalled playbook
// loads back unchanged.
func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	p := Default()
	out, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := Load("marshalled.yaml", out)
	if err != nil {
		t.Fatalf("marshalled default playbook does not load:\n%v", err)
	}
	a, _ := json.Marshal(p)
	b, _ := json.Marshal(q)
	if !bytes.Equal(a, b) {
		t.Fatal("the marshalled playbook loads back different")
	}
}

func TestValidateAfterChange(t *testing.T) {
	t.Parallel()
	p := Default()
	ph, _ := p.Phase(Enable)
	ph.ExitGate = "1700"
	probs := p.Validate()
	if len(probs) != 1 || !strings.Contains(probs[0].Msg, "exit gate 1700 of phase Enable is a task of phase Remediate") {
		t.Fatalf("got %v", probs)
	}
	if !strings.HasPrefix(probs[0].Error(), "default.yaml:") || probs[0].Line < 1 {
		t.Errorf("problem without position: %v", probs[0])
	}
	// A playbook built in Go has no lines; problems still name the file-less item.
	empty := &Playbook{}
	probs = empty.Validate()
	if len(probs) == 0 || probs[0].Line != 0 || !strings.Contains(probs.Error(), "the playbook has no name") {
		t.Fatalf("got %v", probs)
	}
}

// base is a small valid playbook; the table tests below change one thing in
// it and expect the problem at an exact line and column. Line numbers:
//
//	 1 name            18 phases          33 exit_gate 1700    45 task 3190
//	 3 role engineer   19 Initiate        34 checklists        51 task 1700
//	10 service core    20 Assess          39 process           56 Enable
//	16 workload gmail  28 task 1699       41 step              57 Migrate
const base = `name: Test playbook
roles:
  - id: engineer
    name: FastTrack Engineer
    party: onboarding-team
  - id: frp
    name: Partner
    party: partner
services:
  - id: core
    name: Core Onboarding
    always_in_scope: true
  - id: exchange
    name: Exchange Online
workloads:
  - id: gmail
    name: Gmail
phases:
  - name: Initiate
  - name: Assess
    exit_gate: "1699"
    processes:
      - name: Assess Technical Readiness
        steps:
          - name: Conduct the Technical Assessment
            primary_role: engineer
            tasks:
              - id: "1699"
                name: Assess Exit
                mandatory: true
                role: engineer
  - name: Remediate
    exit_gate: "1700"
    checklists:
      customer:
        - text: Carry out the remediation work.
          service: exchange
    processes:
      - name: Address Technical Gaps
        steps:
          - name: Assist with Remediation Steps
            primary_role: engineer
            applies_to: [exchange]
            tasks:
              - id: "3190"
                name: Confirm the checklist
                mandatory: true
                role: engineer
                services: [exchange]
                workloads: [gmail]
              - id: "1700"
                name: Remediate Exit
                mandatory: true
                role: engineer
                depends_on: ["3190"]
  - name: Enable
  - name: Migrate
`

func TestBaseIsValid(t *testing.T) {
	t.Parallel()
	p, err := Load("test.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tasks()) != 3 {
		t.Fatalf("%d tasks", len(p.Tasks()))
	}
}

func TestProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		old, new string // replace old (which occurs once in base) by new; old "" = whole file is new
		want     string // a problem starts with this
	}{
		{"syntax error", "    exit_gate: \"1700\"\n", "    exit_gate: \"1700\": 1\n",
			`test.yaml:33: YAML syntax error: mapping values are not allowed in this context`},
		{"unterminated quote", "    exit_gate: \"1700\"\n", "    exit_gate: '1700\n",
			`test.yaml:33: YAML syntax error: found unexpected end of stream`},
		{"unclosed flow list", "    exit_gate: \"1700\"\n", "    exit_gate: [\"1700\"\n",
			`test.yaml:33: YAML syntax error: the [ list that starts here is not closed with ]`},
		{"bad indentation", "            primary_role: engineer\n            applies_to", "            primary_role: engineer\n           x: 1\n            applies_to",
			`test.yaml:41: YAML syntax error: a line of the list that starts here is not a "- " entry, or is indented wrongly`},
		{"tab indentation", "  - name: Enable\n", "\t- name: Enable\n",
			`test.yaml:56: YAML syntax error: found character that cannot start any token`},
		{"invalid UTF-8", "Gmail\n", "Gm\xffail\n",
			`test.yaml:17:13: YAML syntax error: invalid`},
		{"empty file", "", "# nothing here\n",
			`test.yaml:1:1: the file is empty`},
		{"two documents", "", base + "---\nname: other\n",
			`test.yaml:59:1: a playbook file holds one YAML document`},
		{"unknown field", "                name: Remediate Exit\n", "                nme: Remediate Exit\n",
			`test.yaml:52:17: unknown field "nme" in a task (did you mean "name"?); a task has: id, name, mandatory,`},
		{"unknown field at top", "name: Test playbook\n", "name: Test playbook\ncolour: red\n",
			`test.yaml:2:1: unknown field "colour" in a playbook; a playbook has: name, version,`},
		{"field twice", "                name: Remediate Exit\n", "                name: Remediate Exit\n                name: Exit\n",
			`test.yaml:53:17: field "name" appears twice in this task (first at line 52): keep one`},
		{"empty task name", "                name: Remediate Exit\n", "                name: \"\"\n",
			`test.yaml:52:17: task 1700 has no name`},
		{"empty process name", "      - name: Address Technical Gaps\n", "      - name:\n",
			`test.yaml:39:9: a process of phase Remediate has no name`},
		{"empty role name", "    name: Partner\n", "    name: \"\"\n",
			`test.yaml:7:5: role "frp" has no name`},
		{"unknown role", "                role: engineer\n                depends_on", "                role: enginer\n                depends_on",
			`test.yaml:54:17: unknown role "enginer" in task 1700 (did you mean "engineer"?); known roles are: engineer, frp`},
		{"unknown step role", "            primary_role: engineer\n            applies_to", "            primary_role: ftm\n            applies_to",
			`test.yaml:42:13: unknown role "ftm" in step "Assist with Remediation Steps"`},
		{"unknown service", "                services: [exchange]\n", "                services: [exchang]\n",
			`test.yaml:49:28: unknown service "exchang" in task 3190 (did you mean "exchange"?)`},
		{"unknown applies_to service", "            applies_to: [exchange]\n", "            applies_to: [teams]\n",
			`test.yaml:43:26: unknown service "teams" in step "Assist with Remediation Steps"; known services are: core, exchange`},
		{"unknown checklist service", "          service: exchange\n", "          service: yammer\n",
			`test.yaml:37:11: unknown service "yammer" in a checklist item`},
		{"unknown workload", "                workloads: [gmail]\n", "                workloads: [gmial]\n",
			`test.yaml:50:29: unknown workload "gmial" in task 3190 (did you mean "gmail"?)`},
		{"unknown role party", "    party: onboarding-team\n", "    party: onboarding\n",
			`test.yaml:5:5: unknown party "onboarding" for role "engineer"`},
		{"unknown task party", "                role: engineer\n                depends_on", "                role: engineer\n                party: vendor\n                depends_on",
			`test.yaml:55:17: unknown party "vendor" in task 1700; parties are onboarding-team, partner or customer`},
		{"task party differs from role", "                role: engineer\n                depends_on", "                role: engineer\n                party: partner\n                depends_on",
			`test.yaml:55:17: task 1700 has party partner but its role engineer belongs to onboarding-team`},
		{"unknown checklist party", "      customer:\n", "      customers:\n",
			`test.yaml:35:7: unknown field "customers" in a checklists mapping (did you mean "customer"?)`},
		{"unknown eligibility", "                workloads: [gmail]\n", "                workloads: [gmail]\n                eligibility: enterprize\n",
			`test.yaml:51:17: unknown eligibility "enterprize" in task 3190 (did you mean "enterprise"?)`},
		{"duplicate task ID", "              - id: \"3190\"\n", "              - id: \"1699\"\n",
			`test.yaml:45:17: task id 1699 is used twice (first at line 28, "Assess Exit")`},
		{"task ID not digits", "              - id: \"3190\"\n", "              - id: \"31a0\"\n",
			`test.yaml:45:17: task id "31a0" is not valid: a task id is digits only`},
		{"duplicate role ID", "  - id: frp\n", "  - id: engineer\n",
			`test.yaml:6:5: role id "engineer" is used twice (first at line 3)`},
		{"bad service ID", "  - id: exchange\n", "  - id: Exchange Online\n",
			`test.yaml:13:5: service id "Exchange Online" is not valid`},
		{"dependency on a missing task", `depends_on: ["3190"]`, `depends_on: ["3191"]`,
			`test.yaml:55:30: task 1700 depends on "3191", which is not a task of this playbook`},
		{"dependency on itself", `depends_on: ["3190"]`, `depends_on: ["1700"]`,
			`test.yaml:55:30: task 1700 depends on itself`},
		{"dependency on a later phase", "                role: engineer\n  - name: Remediate", "                role: engineer\n                depends_on: [\"3190\"]\n  - name: Remediate",
			`test.yaml:32:30: task 1699 (phase Assess) depends on task 3190 of a later phase (Remediate)`},
		{"dependency cycle", "                workloads: [gmail]\n", "                workloads: [gmail]\n                depends_on: [\"1700\"]\n",
			`test.yaml:51:30: dependency cycle 3190 → 1700 → 3190`},
		{"exit gate in another phase", "    exit_gate: \"1700\"\n", "    exit_gate: \"1699\"\n",
			`test.yaml:33:5: exit gate 1699 of phase Remediate is a task of phase Assess: the exit gate must be a task of the phase it closes`},
		{"exit gate not a task", "    exit_gate: \"1700\"\n", "    exit_gate: \"1799\"\n",
			`test.yaml:33:5: exit gate "1799" of phase Remediate is not a task of this playbook`},
		{"exit gate not mandatory", "                name: Remediate Exit\n                mandatory: true\n", "                name: Remediate Exit\n                mandatory: false\n",
			`test.yaml:53:17: task 1700 is the exit gate of phase Remediate, so it must be mandatory: set mandatory: true`},
		{"exit gate restricted", "                name: Assess Exit\n", "                name: Assess Exit\n                services: [exchange]\n",
			`test.yaml:28:17: task 1699 is the exit gate of phase Assess, so it must apply to every engagement`},
		{"mandatory not a bool", "                name: Remediate Exit\n                mandatory: true\n", "                name: Remediate Exit\n                mandatory: yes\n",
			`test.yaml:53:28: mandatory of a task must be true or false, not "yes"`},
		{"phase out of order", "  - name: Enable\n  - name: Migrate\n", "  - name: Migrate\n  - name: Enable\n",
			`test.yaml:57:5: phase Enable is out of order: it must come before Migrate`},
		{"phase missing", "  - name: Migrate\n", "",
			`test.yaml:18:1: phase Migrate is missing: add it after Enable`},
		{"phase twice", "  - name: Migrate\n", "  - name: Migrate\n  - name: Enable\n",
			`test.yaml:58:5: phase Enable appears twice (first at line 56)`},
		{"unknown phase", "  - name: Initiate\n", "  - name: Initate\n",
			`test.yaml:19:5: unknown phase "Initate" (did you mean "Initiate"?)`},
		{"phases not a list", "", "name: x\nroles: []\nservices: []\nphases: Initiate\n",
			`test.yaml:4:9: phases of a playbook must be a list (one "- " line per entry), not "Initiate"`},
		{"alias", "              - id: \"1699\"\n", "              - id: &gate \"1699\"\n                description: *gate\n",
			`test.yaml:29:30: aliases (*gate) are not allowed`},
		{"link without scheme", "            applies_to: [exchange]\n", "            applies_to: [exchange]\n            links:\n              - title: Guide\n                url: aka.ms/guide\n",
			`test.yaml:46:17: link "aka.ms/guide" in step "Assist with Remediation Steps" is not a web address`},
		{"not a mapping", "", "- just\n- a list\n",
			`test.yaml:1:1: a playbook must be a mapping of fields`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := tt.new
			if tt.old != "" {
				if strings.Count(base, tt.old) != 1 {
					t.Fatalf("%q occurs %d times in base", tt.old, strings.Count(base, tt.old))
				}
				src = strings.Replace(base, tt.old, tt.new, 1)
			}
			p, err := Load("test.yaml", []byte(src))
			if err == nil {
				t.Fatalf("no problem; want %s", tt.want)
			}
			if p != nil {
				t.Error("Load returned a playbook along with problems")
			}
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("error is %T, not Problems", err)
			}
			for _, pr := range probs {
				if strings.HasPrefix(pr.Error(), tt.want) {
					return
				}
			}
			t.Errorf("want a problem starting with\n\t%s\ngot:\n%v", tt.want, probs)
		})
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	t.Parallel()
	src := strings.NewReplacer(
		"    name: Partner\n", "    name: \"\"\n",
		"                role: engineer\n                depends_on: [\"3190\"]", "                role: enginer\n                depends_on: [\"3191\"]",
		"  - name: Migrate\n", "",
	).Replace(base)
	_, err := Load("test.yaml", []byte(src))
	var probs Problems
	if !errors.As(err, &probs) {
		t.Fatalf("err %v", err)
	}
	var lines []int
	for _, p := range probs {
		lines = append(lines, p.Line)
	}
	if want := []int{7, 18, 54, 55}; !slices.Equal(lines, want) {
		t.Fatalf("problems on lines %v, want %v (sorted, one each):\n%v", lines, want, probs)
	}
}

func TestProblemFormat(t *testing.T) {
	t.Parallel()
	ps := Problems{
		{File: "a.yaml", Line: 3, Col: 5, Msg: "one"},
		{File: "a.yaml", Line: 4, Msg: "two"},
		{Msg: "three"},
	}
	if got, want := ps.Error(), "a.yaml:3:5: one\na.yaml:4: two\nthree"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

var (
	seedTaskID = regexp.MustCompile(`^\d{4}$`)
	tableCell  = regexp.MustCompile(`\s*\|\s*`)
)

// seedTaskIDs reads testdata/seed-task-ids.txt: every task ID the seed
// documents name, with the seed and line that names it ("000:41").
func seedTaskIDs(t *testing.T) map[string]string {
	t.Helper()
	text, err := os.ReadFile("testdata/seed-task-ids.txt")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for n, l := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 3 || !seedTaskID.MatchString(f[0]) {
			t.Fatalf("testdata/seed-task-ids.txt:%d: want \"ID seed:line words\", got %q", n+1, l)
		}
		if where, ok := ids[f[0]]; ok {
			t.Fatalf("testdata/seed-task-ids.txt:%d: task %s is listed twice (first as %s)", n+1, f[0], where)
		}
		ids[f[0]] = f[1]
	}
	return ids
}

func TestDefaultHoldsEverySeedTaskID(t *testing.T) {
	t.Parallel()
	p := Default()
	inSeeds := seedTaskIDs(t)
	// Guard the extraction itself: seed 000 names 37 tasks, seed 004 12 more.
	if len(inSeeds) != 49 {
		t.Errorf("testdata/seed-task-ids.txt lists %d task IDs, the seeds name 49", len(inSeeds))
	}
	for id, where := range inSeeds {
		if _, ok := p.Task(id); !ok {
			t.Errorf("seed %s: task %s is not in default.yaml", where, id)
		}
	}
	// And the other way: every task of the default playbook comes from the
	// seeds, except the exit gates the product design adds.
	for _, task := range p.Tasks() {
		if _, ok := inSeeds[task.ID]; !ok && task.ID != "1701" && task.ID != "1702" {
			t.Errorf("task %s (%s) is in default.yaml but in no seed", task.ID, task.Name)
		}
	}
}

// Seed 004's task tables give name, mandatory flag, role and services; the
// default playbook says the same, under the step the table belongs to.
func TestDefaultMatchesSeedTaskTables(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile("testdata/seed-004-task-tables.md")
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{
		"FastTrack Engineer": "engineer", "FastTrack Manager": "ftm",
		"FastTrack Architect v2": "architect", "SME": "sme",
	}
	services := map[string]string{
		"Core Onboarding": "core", "Skype for Business": "skype", "Classroom/SDS": "classroom-sds",
		"AIP": "information-protection", "MDATP": "defender", "Edge": "edge",
		"Exchange": "exchange", "OneDrive for Business": "onedrive", "SharePoint": "sharepoint",
	}
	p := Default()
	step, rows := "", 0
	for l := range strings.Lines(string(text)) {
		l = strings.TrimSpace(l)
		if s, ok := strings.CutPrefix(l, "### "); ok {
			step = s
			continue
		}
		cells := tableCell.Split(strings.Trim(l, "| "), -1)
		if !strings.HasPrefix(l, "|") || len(cells) != 5 || !seedTaskID.MatchString(cells[0]) {
			continue
		}
		rows++
		id, name, mo, role, svcs := cells[0], cells[1], cells[2], cells[3], cells[4]
		task, ok := p.Task(id)
		if !ok {
			t.Errorf("task %s missing", id)
			continue
		}
		var wantServices []string
		if svcs != "All Services" {
			for _, s := range strings.Split(svcs, " / ") {
				wantServices = append(wantServices, services[s])
			}
		}
		if task.Name != name || task.Mandatory != (mo == "M") || task.Role != roles[role] ||
			!slices.Equal(task.Services, wantServices) || task.Step.Name != step {
			t.Errorf("task %s: got %q mandatory=%v role=%s services=%v step %q\nwant %q %s %s %v step %q",
				id, task.Name, task.Mandatory, task.Role, task.Services, task.Step.Name, name, mo, roles[role], wantServices, step)
		}
	}
	if rows != 13 {
		t.Errorf("read %d task rows from testdata/seed-004-task-tables.md, seed 004 has 13", rows)
	}
}

// The example in the format documentation is a valid playbook.
func TestDocumentationExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/playbook-format.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := bytes.Cut(doc, []byte("```yaml\n"))
	example, _, ok2 := bytes.Cut(rest, []byte("```"))
	if !ok || !ok2 {
		t.Fatal("no ```yaml example in docs/playbook-format.md")
	}
	if _, err := Load("playbook-format.md example", example); err != nil {
		t.Fatal(err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(defaultYAML)
	f.Add([]byte(base))
	f.Add([]byte(""))
	f.Add([]byte("phases:\n  - name: Assess\n    exit_gate: 1\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("name: [\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load("fuzz.yaml", data)
		if err == nil {
			if p == nil {
				t.Fatal("nil playbook without problems")
			}
			p.Tasks()
			return
		}
		var probs Problems
		if !errors.As(err, &probs) || len(probs) == 0 {
			t.Fatalf("error %T %v is not Problems", err, err)
		}
		for _, pr := range probs {
			if pr.Line < 1 || pr.File != "fuzz.yaml" || pr.Msg == "" {
				t.Fatalf("problem without a line: %#v", pr)
			}
		}
	})
}

// TestCustomerResponsibilitiesFollowSeed001: the default playbook holds the
// customer's responsibilities of seed 001, phase by phase, each with a key
// of its own that a change of another item does not move.
func TestCustomerResponsibilitiesFollowSeed001(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/seed-001-customer-responsibilities.txt")
	if err != nil {
		t.Fatal(err)
	}
	pb := Default()
	rs := pb.Responsibilities(Customer)
	got := map[string]int{}
	keys := map[string]bool{}
	for _, r := range rs {
		phase := r.Phase
		if phase == "" {
			phase = "all"
		}
		got[phase]++
		if keys[r.Key] || r.Key == "" || strings.TrimSpace(r.Text) == "" {
			t.Errorf("responsibility %+v: key empty or taken", r)
		}
		keys[r.Key] = true
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || strings.HasPrefix(line, "#") {
			continue
		}
		if n, _ := strconv.Atoi(f[1]); got[f[0]] != n {
			t.Errorf("%s: %d customer responsibilities, seed 001 lists %d", f[0], got[f[0]], n)
		}
	}
	if rs[len(rs)-1].Phase != Migrate || !strings.HasPrefix(rs[len(rs)-1].Key, "migrate-") {
		t.Errorf("last responsibility %+v", rs[len(rs)-1])
	}
	again := pb.Responsibilities(Customer)
	if again[5].Key != rs[5].Key {
		t.Error("keys change from one call to the next")
	}
}
