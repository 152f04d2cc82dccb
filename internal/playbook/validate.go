package playbook

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Validate checks the playbook and returns every problem, in file order.
// Load calls it; call it yourself on a playbook built or changed in Go (its
// problems then have no line).
func (p *Playbook) Validate() Problems {
	v := &validator{
		problems:  problems{file: p.file},
		p:         p,
		roles:     map[string]*Role{},
		services:  map[string]*Service{},
		workloads: map[string]*Workload{},
		byID:      map[string]*Task{},
		phaseOf:   map[*Task]*Phase{},
		order:     map[*Task]int{},
	}
	v.catalog()
	v.checklists(p.Checklists)
	v.phases()
	v.tasks()
	v.exitGates()
	v.cycles()
	v.list.sort()
	return v.list
}

type validator struct {
	problems
	p         *Playbook
	roles     map[string]*Role
	services  map[string]*Service
	workloads map[string]*Workload
	byID      map[string]*Task // first task with each ID
	phaseOf   map[*Task]*Phase
	order     map[*Task]int // position in Tasks()
}

var (
	slugRE   = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	digitsRE = regexp.MustCompile(`^[0-9]+$`)
)

const slugRule = "lowercase letters and digits, words joined by -, like customer-pm"

// catalog checks roles, services and workloads and indexes them.
func (v *validator) catalog() {
	p := v.p
	if p.Name == "" {
		v.add(p.pos.at("name"), "the playbook has no name: add name: at the top")
	}
	if len(p.Roles) == 0 {
		v.add(p.pos.at("roles"), "the playbook has no roles: list them under roles: with id, name and party")
	}
	if len(p.Services) == 0 {
		v.add(p.pos.at("services"), "the playbook has no services: list them under services: with id and name")
	}
	firstRole := map[string]position{}
	for _, r := range p.Roles {
		if r == nil {
			continue
		}
		if v.catalogEntry("role", r.ID, r.Name, r.pos, firstRole) {
			v.roles[r.ID] = r
		}
		switch {
		case r.Party == "":
			v.add(r.pos.at("party"), "role %q has no party: set party: to %s", r.ID, partyList())
		case !slices.Contains(parties, r.Party):
			v.add(r.pos.at("party"), "unknown party %q for role %q%s; parties are %s", r.Party, r.ID, suggestion(string(r.Party), partyStrings()), partyList())
		}
	}
	firstService := map[string]position{}
	for _, s := range p.Services {
		if s != nil && v.catalogEntry("service", s.ID, s.Name, s.pos, firstService) {
			v.services[s.ID] = s
		}
	}
	firstWorkload := map[string]position{}
	for _, w := range p.Workloads {
		if w != nil && v.catalogEntry("workload", w.ID, w.Name, w.pos, firstWorkload) {
			v.workloads[w.ID] = w
		}
	}
}

// catalogEntry checks the id and name of a role, service or workload and
// reports whether it is the first with its id.
func (v *validator) catalogEntry(what, id, name string, pos positions, first map[string]position) bool {
	if name == "" {
		v.add(pos.at("name"), "%s %q has no name: add name: with the name people know it by", what, id)
	}
	switch {
	case id == "":
		v.add(pos.at("id"), "a %s has no id: add id: (%s)", what, slugRule)
		return false
	case !slugRE.MatchString(id):
		v.add(pos.at("id"), "%s id %q is not valid: use %s", what, id, slugRule)
	}
	if prev, dup := first[id]; dup {
		v.add(pos.at("id"), "%s id %q is used twice (first at line %d): give each %s its own id", what, id, prev.line, what)
		return false
	}
	first[id] = pos.at("id")
	return true
}

func (v *validator) checklists(c Checklists) {
	for _, party := range parties {
		for _, item := range c.For(party) {
			if item == nil {
				continue
			}
			if strings.TrimSpace(item.Text) == "" {
				v.add(item.pos.at("text"), "a %s checklist item has no text: add text: saying what the %s is responsible for", party, party)
			}
			if item.Service != "" {
				v.ref(item.pos.at("service"), "service", item.Service, "a checklist item", keys(v.services))
			}
		}
	}
}

// ref reports id unless it is one of known.
func (v *validator) ref(at position, what, id, in string, known []string) {
	if slices.Contains(known, id) {
		return
	}
	slices.Sort(known)
	v.add(at, "unknown %s %q in %s%s; known %ss are: %s", what, id, in, suggestion(id, known), what, strings.Join(known, ", "))
}

func (v *validator) refs(pos positions, field, what string, ids []string, in string, known []string) {
	seen := map[string]bool{}
	for i, id := range ids {
		at := pos.at(elem(field, i))
		if seen[id] {
			v.add(at, "%s lists %q twice in %s: remove one", field, id, in)
			continue
		}
		seen[id] = true
		v.ref(at, what, id, in, known)
	}
}

func (v *validator) phases() {
	p := v.p
	if len(p.Phases) == 0 {
		v.add(p.pos.at("phases"), "the playbook has no phases: add phases %s, in this order", strings.Join(phaseOrder, ", "))
		return
	}
	seen := map[string]position{}
	last := -1 // index in phaseOrder of the latest phase so far
	for _, ph := range p.Phases {
		if ph == nil {
			continue
		}
		idx := slices.Index(phaseOrder, ph.Name)
		switch {
		case ph.Name == "":
			v.add(ph.pos.at("name"), "a phase has no name: set name: to one of %s", strings.Join(phaseOrder, ", "))
		case idx < 0:
			v.add(ph.pos.at("name"), "unknown phase %q%s; the phases are %s", ph.Name, suggestion(ph.Name, phaseOrder), strings.Join(phaseOrder, ", "))
		default:
			if prev, dup := seen[ph.Name]; dup {
				v.add(ph.pos.at("name"), "phase %s appears twice (first at line %d): put all its processes in one phase", ph.Name, prev.line)
				break
			}
			seen[ph.Name] = ph.pos.at("name")
			if idx < last {
				v.add(ph.pos.at("name"), "phase %s is out of order: it must come before %s; the phases go %s", ph.Name, phaseOrder[last], strings.Join(phaseOrder, ", "))
			} else {
				last = idx
			}
		}
		v.checklists(ph.Checklists)
		v.processes(ph)
	}
	for i, name := range phaseOrder {
		if _, ok := seen[name]; ok {
			continue
		}
		where := "first"
		if i > 0 {
			where = "after " + phaseOrder[i-1]
		}
		v.add(p.pos.at("phases"), "phase %s is missing: add it %s (a phase may have no processes, but every phase is listed)", name, where)
	}
}

func (v *validator) processes(ph *Phase) {
	procFirst := map[string]position{}
	for _, pr := range ph.Processes {
		if pr == nil {
			continue
		}
		if pr.Name == "" {
			v.add(pr.pos.at("name"), "a process of phase %s has no name: add name:", ph.Name)
		} else if prev, dup := procFirst[pr.Name]; dup {
			v.add(pr.pos.at("name"), "process %q appears twice in phase %s (first at line %d): rename or merge one", pr.Name, ph.Name, prev.line)
		} else {
			procFirst[pr.Name] = pr.pos.at("name")
		}
		stepFirst := map[string]position{}
		for _, st := range pr.Steps {
			if st == nil {
				continue
			}
			in := fmt.Sprintf("step %q", st.Name)
			if st.Name == "" {
				v.add(st.pos.at("name"), "a step of process %q has no name: add name:", pr.Name)
			} else if prev, dup := stepFirst[st.Name]; dup {
				v.add(st.pos.at("name"), "step %q appears twice in process %q (first at line %d): rename or merge one", st.Name, pr.Name, prev.line)
			} else {
				stepFirst[st.Name] = st.pos.at("name")
			}
			if st.PrimaryRole == "" {
				v.add(st.pos.at("primary_role"), "%s has no primary_role: set it to the ID of the role that leads the step", in)
			} else {
				v.ref(st.pos.at("primary_role"), "role", st.PrimaryRole, in, keys(v.roles))
			}
			v.refs(st.pos, "applies_to", "service", st.AppliesTo, in, keys(v.services))
			v.links(st.Links, in)
			for _, t := range st.Tasks {
				if t != nil {
					v.phaseOf[t] = ph
					v.order[t] = len(v.order)
				}
			}
		}
	}
}

func (v *validator) links(links []*Link, in string) {
	for _, l := range links {
		if l == nil {
			continue
		}
		if l.URL == "" {
			v.add(l.pos.at("url"), "a link in %s has no url: add url: https://...", in)
			continue
		}
		u, err := url.Parse(l.URL)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			v.add(l.pos.at("url"), "link %q in %s is not a web address: write it in full, starting with https://", l.URL, in)
		}
	}
}

// tasks checks every task and indexes them by ID.
func (v *validator) tasks() {
	all := v.p.Tasks()
	for _, t := range all {
		in := "task " + t.ID
		switch {
		case t.ID == "":
			in = fmt.Sprintf("task %q", t.Name)
			v.add(t.pos.at("id"), "a task has no id: add id: with its number, like \"1700\"")
		case !digitsRE.MatchString(t.ID):
			v.add(t.pos.at("id"), "task id %q is not valid: a task id is digits only, like \"1700\"", t.ID)
		}
		if t.ID != "" {
			if prev, dup := v.byID[t.ID]; dup {
				v.add(t.pos.at("id"), "task id %s is used twice (first at line %d, %q): give each task its own id", t.ID, prev.pos.at("id").line, prev.Name)
			} else {
				v.byID[t.ID] = t
			}
		}
		if strings.TrimSpace(t.Name) == "" {
			v.add(t.pos.at("name"), "%s has no name: add name:", in)
		}
		role, roleOK := v.roles[t.Role]
		if t.Role == "" {
			v.add(t.pos.at("role"), "%s has no role: set role: to the ID of the responsible role (%s)", in, strings.Join(sorted(keys(v.roles)), ", "))
		} else {
			v.ref(t.pos.at("role"), "role", t.Role, in, keys(v.roles))
		}
		switch {
		case t.Party == "":
		case !slices.Contains(parties, t.Party):
			v.add(t.pos.at("party"), "unknown party %q in %s%s; parties are %s", t.Party, in, suggestion(string(t.Party), partyStrings()), partyList())
		case roleOK && role.Party != "" && t.Party != role.Party:
			v.add(t.pos.at("party"), "%s has party %s but its role %s belongs to %s: remove party: (it defaults to the role's) or choose a role of the %s", in, t.Party, t.Role, role.Party, t.Party)
		}
		if t.Eligibility != "" && !slices.Contains(eligibilities, t.Eligibility) {
			names := make([]string, len(eligibilities))
			for i, e := range eligibilities {
				names[i] = string(e)
			}
			v.add(t.pos.at("eligibility"), "unknown eligibility %q in %s%s; use one of %s", t.Eligibility, in, suggestion(string(t.Eligibility), names), strings.Join(names, ", "))
		}
		v.refs(t.pos, "services", "service", t.Services, in, keys(v.services))
		v.refs(t.pos, "workloads", "workload", t.Workloads, in, keys(v.workloads))
		v.links(t.Links, in)
	}
	for _, t := range all {
		v.dependencies(t)
	}
}

func (v *validator) dependencies(t *Task) {
	seen := map[string]bool{}
	for i, id := range t.DependsOn {
		at := t.pos.at(elem("depends_on", i))
		dep, ok := v.byID[id]
		switch {
		case seen[id]:
			v.add(at, "task %s lists %s twice in depends_on: remove one", t.ID, id)
		case id == t.ID:
			v.add(at, "task %s depends on itself: remove %s from its depends_on", t.ID, id)
		case !ok:
			v.add(at, "task %s depends on %q, which is not a task of this playbook: fix the id or remove it", t.ID, id)
		default:
			from, to := v.phaseIndex(t), v.phaseIndex(dep)
			if from >= 0 && to > from {
				v.add(at, "task %s (phase %s) depends on task %s of a later phase (%s): a task may depend only on tasks of its own or earlier phases", t.ID, phaseOrder[from], id, phaseOrder[to])
			}
		}
		seen[id] = true
	}
}

func (v *validator) phaseIndex(t *Task) int {
	if ph := v.phaseOf[t]; ph != nil {
		return slices.Index(phaseOrder, ph.Name)
	}
	return -1
}

func (v *validator) exitGates() {
	for _, ph := range v.p.Phases {
		if ph == nil {
			continue
		}
		for _, c := range ph.ExitCriteria {
			if !slices.Contains(ExitCriteria, c) {
				v.add(ph.pos.at("exit_criteria"), "unknown exit criterion %q in phase %s; use %s", c, ph.Name, strings.Join(ExitCriteria, ", "))
			}
		}
		if ph.ExitGate == "" {
			continue
		}
		at := ph.pos.at("exit_gate")
		t, ok := v.byID[ph.ExitGate]
		switch {
		case !ok:
			v.add(at, "exit gate %q of phase %s is not a task of this playbook: set exit_gate: to the id of the task that closes the phase", ph.ExitGate, ph.Name)
			continue
		case v.phaseOf[t] != ph:
			v.add(at, "exit gate %s of phase %s is a task of phase %s: the exit gate must be a task of the phase it closes", t.ID, ph.Name, v.phaseOf[t].Name)
			continue
		}
		if !t.Mandatory {
			v.add(t.pos.at("mandatory"), "task %s is the exit gate of phase %s, so it must be mandatory: set mandatory: true", t.ID, ph.Name)
		}
		if len(t.Services) > 0 || len(t.Workloads) > 0 || t.Eligibility == EligibilityEnterprise {
			v.add(t.pos.at(""), "task %s is the exit gate of phase %s, so it must apply to every engagement: remove its services, workloads and enterprise eligibility", t.ID, ph.Name)
		}
	}
}

// cycles reports each dependency cycle once, starting from its task that
// comes first in the file, at the depends_on entry that closes the loop.
func (v *validator) cycles() {
	const (
		unvisited = iota
		active
		done
	)
	state := map[*Task]int{}
	var stack []*Task
	reported := map[string]bool{}
	var visit func(t *Task)
	visit = func(t *Task) {
		state[t] = active
		stack = append(stack, t)
		for _, id := range t.DependsOn {
			dep := v.byID[id]
			if dep == nil || dep == t {
				continue // reported by dependencies
			}
			switch state[dep] {
			case unvisited:
				visit(dep)
			case active:
				start := slices.Index(stack, dep)
				v.cycle(slices.Clone(stack[start:]), reported)
			}
		}
		stack = stack[:len(stack)-1]
		state[t] = done
	}
	for _, t := range v.p.Tasks() {
		if v.byID[t.ID] == t && state[t] == unvisited {
			visit(t)
		}
	}
}

// cycle reports the cycle c (c[i] depends on c[i+1], the last on c[0]).
func (v *validator) cycle(c []*Task, reported map[string]bool) {
	first := 0
	for i, t := range c {
		if v.order[t] < v.order[c[first]] {
			first = i
		}
	}
	c = append(c[first:], c[:first]...)
	ids := make([]string, len(c)+1)
	for i, t := range c {
		ids[i] = t.ID
	}
	ids[len(c)] = c[0].ID
	key := strings.Join(ids, " ")
	if reported[key] {
		return
	}
	reported[key] = true
	next := c[0]
	if len(c) > 1 {
		next = c[1]
	}
	at := c[0].pos.at("depends_on")
	if i := slices.Index(c[0].DependsOn, next.ID); i >= 0 {
		at = c[0].pos.at(elem("depends_on", i))
	}
	v.add(at, "dependency cycle %s: none of these tasks can ever start; remove one of these depends_on entries", strings.Join(ids, " → "))
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sorted(s []string) []string { slices.Sort(s); return s }

func partyStrings() []string {
	out := make([]string, len(parties))
	for i, p := range parties {
		out[i] = string(p)
	}
	return out
}

func partyList() string {
	s := partyStrings()
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// suggestion returns ` (did you mean "x"?)` for the known word closest to
// s, when one is close enough to be a likely typo.
func suggestion(s string, known []string) string {
	if w := suggest(s, known); w != "" {
		return fmt.Sprintf(" (did you mean %q?)", w)
	}
	return ""
}

func suggest(s string, known []string) string {
	best, bestDist := "", 3 // at most two edits away
	for _, k := range known {
		if strings.EqualFold(k, s) {
			return k
		}
		if d := editDistance(strings.ToLower(s), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist >= len([]rune(s)) { // "x" is two edits from everything short
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
