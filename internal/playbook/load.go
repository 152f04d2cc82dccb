package playbook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Load reads a playbook from YAML. name is the file name used in problems.
// It returns every problem it finds, as Problems, or the playbook when there
// is none.
//
// The YAML is walked node by node rather than decoded into structs so that
// every problem, not only the first, carries its line: syntax errors,
// unknown fields, values of the wrong kind, and everything Validate checks.
func Load(name string, data []byte) (*Playbook, error) {
	d := &decoder{problems: problems{file: name}}
	var p *Playbook
	if root := d.parse(data); root != nil {
		p = d.playbook(root)
	}
	if p != nil {
		p.file = name
		p.link()
		d.list = append(d.list, p.Validate()...)
	}
	if len(d.list) > 0 {
		d.list.sort()
		return nil, d.list
	}
	return p, nil
}

// link sets what Load derives: back-references, the task index, and the
// defaults of party and eligibility.
func (p *Playbook) link() {
	p.byID = map[string]*Task{}
	for _, ph := range p.Phases {
		for _, pr := range ph.Processes {
			for _, st := range pr.Steps {
				for _, t := range st.Tasks {
					t.Phase, t.Process, t.Step = ph, pr, st
					if _, dup := p.byID[t.ID]; !dup {
						p.byID[t.ID] = t
					}
					if t.Party == "" {
						// Only a valid party: a wrong one is reported once, at the role.
						if r, ok := p.Role(t.Role); ok && slices.Contains(parties, r.Party) {
							t.Party = r.Party
						}
					}
					if t.Eligibility == "" {
						t.Eligibility = EligibilityNone
					}
				}
			}
		}
	}
}

type decoder struct {
	problems
}

var yamlLineError = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// parse returns the root node of the single document in data, or nil after
// reporting why there is none.
func (d *decoder) parse(data []byte) (root *yaml.Node) {
	defer func() {
		// yaml.v3 has panicked on hostile input before; a playbook file
		// must never take the process down.
		if r := recover(); r != nil {
			d.add(position{1, 1}, "cannot read the file as YAML (%v)", r)
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) || err == nil && len(doc.Content) == 0 {
		d.add(position{1, 1}, "the file is empty: a playbook needs name, roles, services, workloads and phases (see docs/playbook-format.md)")
		return nil
	}
	if err != nil {
		d.syntaxError(err, data)
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntaxError(err, data)
		return nil
	default:
		at := position{extra.Line, extra.Column}
		if len(extra.Content) > 0 {
			at = position{extra.Content[0].Line, extra.Content[0].Column}
		}
		d.add(at, "a playbook file holds one YAML document: remove the \"---\" line before this one, or move this document to a file of its own")
		return nil
	}
	return doc.Content[0]
}

func (d *decoder) syntaxError(err error, data []byte) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := yamlLineError.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	explained, parserStage := parserProblems[msg]
	switch {
	case parserStage:
		// yaml.v3 reports its parser's errors with a 0-based line, which
		// is where the enclosing block starts rather than the problem.
		line++
		if explained != "" {
			msg = explained
		}
	case line == 0:
		// Errors of the reader (bad bytes) come without a line.
		d.add(locateBadByte(data), "YAML syntax error: %s", msg)
		return
	}
	d.add(position{line, 0}, "YAML syntax error: %s", msg)
}

// parserProblems are the errors of yaml.v3's parser stage (its scanner
// errors have correct lines), with an explanation where the bare message
// would mislead.
var parserProblems = map[string]string{
	"did not find expected key":              `a line of the mapping that starts here is not a "key: value" line, or is indented wrongly`,
	"did not find expected '-' indicator":    `a line of the list that starts here is not a "- " entry, or is indented wrongly`,
	"did not find expected ',' or ']'":       "the [ list that starts here is not closed with ]",
	"did not find expected ',' or '}'":       "the { mapping that starts here is not closed with }",
	"did not find expected node content":     "",
	"did not find expected <document start>": "",
	"did not find expected <stream-start>":   "",
	"found undefined tag handle":             "",
	"found duplicate %YAML directive":        "",
	"found duplicate %TAG directive":         "",
	"found incompatible YAML document":       "",
}

// locateBadByte finds the first invalid UTF-8 sequence or control character,
// the causes of the YAML errors that come without a line.
func locateBadByte(data []byte) position {
	line, col := 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 || r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return position{line, col}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		data = data[size:]
	}
	return position{1, 1}
}

func at(n *yaml.Node) position { return position{n.Line, n.Column} }

// kindName says what a node is, for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping (key: value lines)"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "something else"
}

// node returns n, or nil after reporting it when it is an alias: aliases
// are refused so that a small file cannot expand into a huge playbook, and
// because a playbook reads best written out.
func (d *decoder) node(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		d.add(at(n), "aliases (*%s) are not allowed in a playbook: write the value out", n.Value)
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// fields reads a mapping: it reports unknown and repeated keys, and returns
// the value of each known key with the positions of the item and of each
// key. what names the item in messages ("task"). It returns nil after
// reporting a node that is not a mapping: such an item is left out rather
// than checked further, which would only repeat the problem.
type fields struct {
	d    *decoder
	what string
	vals map[string]*yaml.Node
	pos  positions
}

func (d *decoder) fields(n *yaml.Node, what string, known ...string) *fields {
	f := &fields{d: d, what: what, vals: map[string]*yaml.Node{}, pos: positions{"": at(n)}}
	if n.Kind != yaml.MappingNode {
		d.add(at(n), "a %s must be a mapping of fields (%s), not %s", what, strings.Join(known, ", "), kindName(n))
		return nil
	}
	firstAt := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		switch {
		case k.Kind != yaml.ScalarNode:
			d.add(at(k), "a field name in a %s must be a plain word, not %s", what, kindName(k))
			continue
		case key == "<<":
			d.add(at(k), "merge keys (<<) are not allowed in a playbook: write the fields out")
			continue
		case !slices.Contains(known, key):
			msg := fmt.Sprintf("unknown field %q in a %s", key, what)
			if s := suggest(key, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.add(at(k), "%s; a %s has: %s", msg, what, strings.Join(known, ", "))
			continue
		}
		if line, dup := firstAt[key]; dup {
			d.add(at(k), "field %q appears twice in this %s (first at line %d): keep one", key, what, line)
			continue
		}
		firstAt[key] = k.Line
		if v = d.node(v); v == nil {
			continue
		}
		f.vals[key] = v
		f.pos[key] = at(k)
	}
	return f
}

// str returns a text field; "" when absent or empty.
func (f *fields) str(key string) string {
	v := f.vals[key]
	if v == nil || isNull(v) {
		return ""
	}
	if v.Kind != yaml.ScalarNode {
		f.d.add(at(v), "%s of a %s must be text, not %s", key, f.what, kindName(v))
		return ""
	}
	return v.Value
}

// boolean returns a true/false field; false when absent.
func (f *fields) boolean(key string) bool {
	v := f.vals[key]
	if v == nil || isNull(v) {
		return false
	}
	var b bool
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" || v.Decode(&b) != nil {
		f.d.add(at(v), "%s of a %s must be true or false, not %s", key, f.what, kindName(v))
		return false
	}
	return b
}

// list returns the elements of a list field; nil when absent or empty.
func (f *fields) list(key string) []*yaml.Node {
	v := f.vals[key]
	if v == nil || isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		f.d.add(at(v), "%s of a %s must be a list (one \"- \" line per entry), not %s", key, f.what, kindName(v))
		return nil
	}
	var out []*yaml.Node
	for _, e := range v.Content {
		if e = f.d.node(e); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// strs returns a list of text values, recording each one's position.
func (f *fields) strs(key string) []string {
	var out []string
	for _, e := range f.list(key) {
		if e.Kind != yaml.ScalarNode || isNull(e) {
			f.d.add(at(e), "each entry of %s in a %s must be text, not %s", key, f.what, kindName(e))
			continue
		}
		f.pos[elem(key, len(out))] = at(e)
		out = append(out, e.Value)
	}
	return out
}

func (d *decoder) playbook(n *yaml.Node) *Playbook {
	f := d.fields(n, "playbook", "name", "version", "description", "roles", "services", "workloads", "checklists", "phases")
	if f == nil {
		return nil
	}
	p := &Playbook{
		Name:        f.str("name"),
		Version:     f.str("version"),
		Description: f.str("description"),
		pos:         f.pos,
	}
	for _, e := range f.list("roles") {
		g := d.fields(e, "role", "id", "name", "party", "description")
		if g == nil {
			continue
		}
		p.Roles = append(p.Roles, &Role{ID: g.str("id"), Name: g.str("name"), Party: Party(g.str("party")), Description: g.str("description"), pos: g.pos})
	}
	for _, e := range f.list("services") {
		g := d.fields(e, "service", "id", "name", "always_in_scope")
		if g == nil {
			continue
		}
		p.Services = append(p.Services, &Service{ID: g.str("id"), Name: g.str("name"), AlwaysInScope: g.boolean("always_in_scope"), pos: g.pos})
	}
	for _, e := range f.list("workloads") {
		g := d.fields(e, "workload", "id", "name")
		if g == nil {
			continue
		}
		p.Workloads = append(p.Workloads, &Workload{ID: g.str("id"), Name: g.str("name"), pos: g.pos})
	}
	if v := f.vals["checklists"]; v != nil {
		p.Checklists = d.checklists(v)
	}
	for _, e := range f.list("phases") {
		if x := d.phase(e); x != nil {
			p.Phases = append(p.Phases, x)
		}
	}
	return p
}

func (d *decoder) checklists(n *yaml.Node) Checklists {
	var c Checklists
	if isNull(n) {
		return c
	}
	f := d.fields(n, "checklists mapping", string(Customer), string(OnboardingTeam), string(Partner))
	if f == nil {
		return c
	}
	items := func(party Party) []*ChecklistItem {
		var out []*ChecklistItem
		for _, e := range f.list(string(party)) {
			g := d.fields(e, "checklist item", "text", "service")
			if g == nil {
				continue
			}
			out = append(out, &ChecklistItem{Text: g.str("text"), Service: g.str("service"), pos: g.pos})
		}
		return out
	}
	c.Customer = items(Customer)
	c.OnboardingTeam = items(OnboardingTeam)
	c.Partner = items(Partner)
	return c
}

func (d *decoder) phase(n *yaml.Node) *Phase {
	f := d.fields(n, "phase", "name", "description", "exit_gate", "exit_criteria", "checklists", "processes")
	if f == nil {
		return nil
	}
	ph := &Phase{Name: f.str("name"), Description: f.str("description"), ExitGate: f.str("exit_gate"), ExitCriteria: f.strs("exit_criteria"), pos: f.pos}
	if v := f.vals["checklists"]; v != nil {
		ph.Checklists = d.checklists(v)
	}
	for _, e := range f.list("processes") {
		if x := d.process(e); x != nil {
			ph.Processes = append(ph.Processes, x)
		}
	}
	return ph
}

func (d *decoder) process(n *yaml.Node) *Process {
	f := d.fields(n, "process", "name", "overview", "objectives", "key_inputs", "key_outputs", "steps")
	if f == nil {
		return nil
	}
	pr := &Process{
		Name:       f.str("name"),
		Overview:   f.str("overview"),
		Objectives: f.strs("objectives"),
		KeyInputs:  f.strs("key_inputs"),
		KeyOutputs: f.strs("key_outputs"),
		pos:        f.pos,
	}
	for _, e := range f.list("steps") {
		if x := d.step(e); x != nil {
			pr.Steps = append(pr.Steps, x)
		}
	}
	return pr
}

func (d *decoder) step(n *yaml.Node) *Step {
	f := d.fields(n, "step", "name", "primary_role", "applies_to", "description", "links", "tasks")
	if f == nil {
		return nil
	}
	st := &Step{
		Name:        f.str("name"),
		PrimaryRole: f.str("primary_role"),
		AppliesTo:   f.strs("applies_to"),
		Description: f.str("description"),
		Links:       d.links(f),
		pos:         f.pos,
	}
	for _, e := range f.list("tasks") {
		if x := d.task(e); x != nil {
			st.Tasks = append(st.Tasks, x)
		}
	}
	return st
}

func (d *decoder) task(n *yaml.Node) *Task {
	f := d.fields(n, "task", "id", "name", "mandatory", "role", "services", "workloads", "party",
		"eligibility", "migration_prerequisite", "hybrid", "description", "links", "depends_on")
	if f == nil {
		return nil
	}
	return &Task{
		ID:                    f.str("id"),
		Name:                  f.str("name"),
		Mandatory:             f.boolean("mandatory"),
		Role:                  f.str("role"),
		Services:              f.strs("services"),
		Workloads:             f.strs("workloads"),
		Party:                 Party(f.str("party")),
		Eligibility:           Eligibility(f.str("eligibility")),
		MigrationPrerequisite: f.boolean("migration_prerequisite"),
		Hybrid:                f.boolean("hybrid"),
		Description:           f.str("description"),
		Links:                 d.links(f),
		DependsOn:             f.strs("depends_on"),
		pos:                   f.pos,
	}
}

func (d *decoder) links(f *fields) []*Link {
	var out []*Link
	for _, e := range f.list("links") {
		g := d.fields(e, "link", "title", "url")
		if g == nil {
			continue
		}
		out = append(out, &Link{Title: g.str("title"), URL: g.str("url"), pos: g.pos})
	}
	return out
}
