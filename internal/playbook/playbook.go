// Package playbook holds onboarding playbooks: the phases, processes, steps
// and tasks an engagement walks through, written as data (YAML) rather than
// code.
//
// A playbook lists, phase by phase (Initiate, Assess, Remediate, Enable,
// Migrate), the processes of an onboarding and migration program, their steps
// and the tasks of each step with the task IDs people already use ("1700"),
// whether a task is mandatory, which role carries it out, and which services
// and source workloads it applies to. Each phase names an exit gate: the task
// that closes it. Per-phase checklists list what the customer, the onboarding
// team and the partner are responsible for.
//
// Load reads a playbook and reports every problem at once, each with the
// file, line and what to change. Default is Ferry's own playbook, written from
// the FastTrack onboarding documents (default.yaml, embedded).
// docs/playbook-format.md describes the format for authors.
package playbook

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"slices"
	"strings"
)

// The phases of an engagement, in the order every playbook lists them.
const (
	Initiate  = "Initiate"
	Assess    = "Assess"
	Remediate = "Remediate"
	Enable    = "Enable"
	Migrate   = "Migrate"
)

var phaseOrder = []string{Initiate, Assess, Remediate, Enable, Migrate}

// PhaseOrder returns the phase names in the order they run.
func PhaseOrder() []string { return slices.Clone(phaseOrder) }

// Party is who carries out a task or owns a checklist item.
type Party string

const (
	OnboardingTeam Party = "onboarding-team" // the FastTrack onboarding team
	Partner        Party = "partner"         // the partner (FRP) working for the customer
	Customer       Party = "customer"        // the customer's own people
)

var parties = []Party{OnboardingTeam, Partner, Customer}

// Eligibility says which engagements a task is for, beyond its services and
// workloads.
type Eligibility string

const (
	// EligibilityNone: no condition; the default.
	EligibilityNone Eligibility = "none"
	// EligibilityOnboarding: part of the onboarding benefit every engagement
	// has; applies like EligibilityNone and documents why the task exists.
	EligibilityOnboarding Eligibility = "onboarding"
	// EligibilityDataMigration: only for engagements that migrate data, that
	// is, with at least one source workload in scope.
	EligibilityDataMigration Eligibility = "data-migration"
	// EligibilityEnterprise: only for engagements approved for the enterprise
	// additional benefit (20,000 seats or more, or an exception).
	EligibilityEnterprise Eligibility = "enterprise"
)

var eligibilities = []Eligibility{EligibilityNone, EligibilityOnboarding, EligibilityDataMigration, EligibilityEnterprise}

// Playbook is a whole playbook. Load and Default return one; build one in Go
// only for tests, and call Validate on it.
type Playbook struct {
	Name        string `yaml:"name" json:"name"`
	Version     string `yaml:"version,omitempty" json:"version,omitempty"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`

	Roles     []*Role     `yaml:"roles" json:"roles"`
	Services  []*Service  `yaml:"services" json:"services"`
	Workloads []*Workload `yaml:"workloads" json:"workloads"`

	// Checklists are responsibilities that hold for the whole engagement,
	// whatever the phase.
	Checklists Checklists `yaml:"checklists,omitempty" json:"checklists,omitzero"`

	Phases []*Phase `yaml:"phases" json:"phases"`

	file string           // the name given to Load, for problems
	pos  positions        // where the top-level fields are
	byID map[string]*Task // every task by ID, built by Load
}

// Role is a responsibility people are assigned to in an engagement.
type Role struct {
	ID          string `yaml:"id" json:"id"`       // "engineer"
	Name        string `yaml:"name" json:"name"`   // "FastTrack Engineer"
	Party       Party  `yaml:"party" json:"party"` // who fills the role
	Description string `yaml:"description,omitempty" json:"description,omitempty"`

	pos positions
}

// Service is a Microsoft 365 service an engagement may onboard.
type Service struct {
	ID   string `yaml:"id" json:"id"`     // "exchange"
	Name string `yaml:"name" json:"name"` // "Exchange Online"
	// AlwaysInScope services are part of every engagement (core onboarding),
	// whether or not the engagement lists them.
	AlwaysInScope bool `yaml:"always_in_scope,omitempty" json:"always_in_scope,omitempty"`

	pos positions
}

// Workload is a source system data can be migrated from.
type Workload struct {
	ID   string `yaml:"id" json:"id"`     // "gmail"
	Name string `yaml:"name" json:"name"` // "Gmail"

	pos positions
}

// Checklists are responsibilities by party. Items are not tracked like tasks;
// they tell each party what is expected of it.
type Checklists struct {
	Customer       []*ChecklistItem `yaml:"customer,omitempty" json:"customer,omitempty"`
	OnboardingTeam []*ChecklistItem `yaml:"onboarding-team,omitempty" json:"onboarding-team,omitempty"`
	Partner        []*ChecklistItem `yaml:"partner,omitempty" json:"partner,omitempty"`
}

// For returns the items of one party.
func (c Checklists) For(party Party) []*ChecklistItem {
	switch party {
	case Customer:
		return c.Customer
	case OnboardingTeam:
		return c.OnboardingTeam
	case Partner:
		return c.Partner
	}
	return nil
}

// ChecklistItem is one responsibility.
type ChecklistItem struct {
	Text    string `yaml:"text" json:"text"`
	Service string `yaml:"service,omitempty" json:"service,omitempty"` // a service ID; "" = not service-specific

	pos positions
}

// Phase is one phase of an engagement.
type Phase struct {
	Name        string `yaml:"name" json:"name"` // one of PhaseOrder
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// ExitGate is the ID of the mandatory task of this phase that closes it;
	// "" when the phase has no gate.
	ExitGate string `yaml:"exit_gate,omitempty" json:"exit_gate,omitempty"`
	// ExitCriteria are what the phase's exit checks beyond its mandatory
	// tasks, read from the engagement's records (see ExitCriteria).
	ExitCriteria []string   `yaml:"exit_criteria,omitempty" json:"exit_criteria,omitempty"`
	Checklists   Checklists `yaml:"checklists,omitempty" json:"checklists,omitzero"`
	Processes    []*Process `yaml:"processes" json:"processes"`

	pos positions
}

// The exit criteria a phase may name. Each is checked against what Ferry
// records of the engagement, so a sign-off holds only while it is true.
const (
	// CriterionChecklistResolved: every remediation checklist item is
	// resolved or waived (wont-fix).
	CriterionChecklistResolved = "checklist-resolved"
	// CriterionMigrationsCompleted: the last Full pass of every item of the
	// engagement's migration projects completed.
	CriterionMigrationsCompleted = "migrations-completed"
	// CriterionKickoffHeld: a meeting whose title names the kickoff has started.
	CriterionKickoffHeld = "kickoff-held"
	// CriterionRolesAssigned: every role with a mandatory task in the
	// engagement has a person.
	CriterionRolesAssigned = "roles-assigned"
	// CriterionSuccessPlan: the engagement has a success plan (goals and
	// outcomes, an owner, the date it was agreed; seeds 001 and 002).
	CriterionSuccessPlan = "success-plan"
)

// ExitCriteria lists the criteria a phase's exit_criteria may name.
var ExitCriteria = []string{CriterionChecklistResolved, CriterionMigrationsCompleted, CriterionKickoffHeld, CriterionRolesAssigned, CriterionSuccessPlan}

// Process is a unit of work within a phase, such as "Address Technical Gaps".
type Process struct {
	Name       string   `yaml:"name" json:"name"`
	Overview   string   `yaml:"overview,omitempty" json:"overview,omitempty"`
	Objectives []string `yaml:"objectives,omitempty" json:"objectives,omitempty"`
	KeyInputs  []string `yaml:"key_inputs,omitempty" json:"key_inputs,omitempty"`
	KeyOutputs []string `yaml:"key_outputs,omitempty" json:"key_outputs,omitempty"`
	Steps      []*Step  `yaml:"steps" json:"steps"`

	pos positions
}

// Step is a group of tasks within a process, led by one role.
type Step struct {
	Name        string `yaml:"name" json:"name"`
	PrimaryRole string `yaml:"primary_role" json:"primary_role"` // a role ID
	// AppliesTo lists the service IDs the step is about; empty = all
	// services. It describes the step; whether a task applies is decided by
	// the task's own services.
	AppliesTo   []string `yaml:"applies_to,omitempty" json:"applies_to,omitempty"`
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	Links       []*Link  `yaml:"links,omitempty" json:"links,omitempty"`
	Tasks       []*Task  `yaml:"tasks,omitempty" json:"tasks,omitempty"`

	pos positions
}

// Task is one trackable piece of work.
type Task struct {
	ID        string `yaml:"id" json:"id"` // digits, as in the playbook: "1700"
	Name      string `yaml:"name" json:"name"`
	Mandatory bool   `yaml:"mandatory" json:"mandatory"`
	Role      string `yaml:"role" json:"role"` // the responsible role's ID
	// Services the task applies to (service IDs); empty = every service.
	Services []string `yaml:"services,omitempty" json:"services,omitempty"`
	// Workloads the task applies to (workload IDs); empty = every workload.
	Workloads []string `yaml:"workloads,omitempty" json:"workloads,omitempty"`
	// Party carries out the task; Load sets it to the role's party when the
	// file leaves it out.
	Party Party `yaml:"party,omitempty" json:"party"`
	// Eligibility; Load sets EligibilityNone when the file leaves it out.
	Eligibility Eligibility `yaml:"eligibility,omitempty" json:"eligibility"`
	// MigrationPrerequisite tasks must be complete (or not apply) before any
	// migration work starts, such as identity synchronization.
	MigrationPrerequisite bool `yaml:"migration_prerequisite,omitempty" json:"migration_prerequisite,omitempty"`
	// Hybrid tasks apply only to engagements that keep an on-premises
	// organization alongside the new one (Exchange hybrid).
	Hybrid      bool     `yaml:"hybrid,omitempty" json:"hybrid,omitempty"`
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	Links       []*Link  `yaml:"links,omitempty" json:"links,omitempty"`
	DependsOn   []string `yaml:"depends_on,omitempty" json:"depends_on,omitempty"` // task IDs

	// Where the task is; set by Load.
	Phase   *Phase   `yaml:"-" json:"-"`
	Process *Process `yaml:"-" json:"-"`
	Step    *Step    `yaml:"-" json:"-"`

	pos positions
}

// Link is a reference document.
type Link struct {
	Title string `yaml:"title" json:"title"`
	URL   string `yaml:"url" json:"url"`

	pos positions
}

//go:embed default.yaml
var defaultYAML []byte

// Default returns Ferry's default playbook, a fresh copy on every call so
// callers may change it freely.
func Default() *Playbook {
	p, err := Load("default.yaml", defaultYAML)
	if err != nil {
		panic("playbook: the embedded default.yaml is invalid (TestDefault would have said so):\n" + err.Error())
	}
	return p
}

// DefaultSource returns the YAML text of the default playbook, as a starting
// point for a playbook of one's own.
func DefaultSource() []byte { return slices.Clone(defaultYAML) }

// Tasks returns every task in playbook order: phase by phase, process by
// process, step by step.
func (p *Playbook) Tasks() []*Task {
	var out []*Task
	for _, ph := range p.Phases {
		if ph == nil {
			continue
		}
		for _, pr := range ph.Processes {
			if pr == nil {
				continue
			}
			for _, st := range pr.Steps {
				if st == nil {
					continue
				}
				for _, t := range st.Tasks {
					if t != nil {
						out = append(out, t)
					}
				}
			}
		}
	}
	return out
}

// Task returns the task with the given ID.
func (p *Playbook) Task(id string) (*Task, bool) {
	if p.byID != nil {
		t, ok := p.byID[id]
		return t, ok
	}
	for _, t := range p.Tasks() {
		if t.ID == id {
			return t, true
		}
	}
	return nil, false
}

// Phase returns the phase with the given name ("Remediate").
func (p *Playbook) Phase(name string) (*Phase, bool) {
	for _, ph := range p.Phases {
		if ph != nil && ph.Name == name {
			return ph, true
		}
	}
	return nil, false
}

// Role returns the role with the given ID.
func (p *Playbook) Role(id string) (*Role, bool) {
	for _, r := range p.Roles {
		if r != nil && r.ID == id {
			return r, true
		}
	}
	return nil, false
}

// Scope is what an engagement covers.
type Scope struct {
	Services  []string // service IDs in scope
	Workloads []string // source workload IDs to migrate from; none = no migration
	// Enterprise is set for engagements approved for the enterprise
	// additional benefit.
	Enterprise bool
	// Hybrid is set when the customer keeps an on-premises organization
	// alongside the new one; tasks marked hybrid need it.
	Hybrid bool
}

// Applies reports whether task t belongs in an engagement with the given
// services and source workloads in scope (IDs), for an engagement without the
// enterprise additional benefit. See InScope.
func (p *Playbook) Applies(t *Task, services []string, workloads []string) bool {
	return p.InScope(t, Scope{Services: services, Workloads: workloads})
}

// InScope reports whether task t belongs in an engagement with scope s:
//   - its services are empty, or one of them is in scope (services marked
//     always_in_scope always are);
//   - its workloads are empty, or one of them is in scope;
//   - data-migration tasks need at least one workload in scope, enterprise
//     tasks need s.Enterprise, hybrid tasks need s.Hybrid.
func (p *Playbook) InScope(t *Task, s Scope) bool {
	if t == nil || t.Hybrid && !s.Hybrid {
		return false
	}
	switch t.Eligibility {
	case EligibilityDataMigration:
		if len(s.Workloads) == 0 {
			return false
		}
	case EligibilityEnterprise:
		if !s.Enterprise {
			return false
		}
	}
	if len(t.Workloads) > 0 && !intersects(t.Workloads, s.Workloads) {
		return false
	}
	if len(t.Services) == 0 || intersects(t.Services, s.Services) {
		return true
	}
	for _, id := range t.Services {
		for _, svc := range p.Services {
			if svc != nil && svc.ID == id && svc.AlwaysInScope {
				return true
			}
		}
	}
	return false
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// MigrationPrerequisites returns the tasks marked migration_prerequisite, in
// playbook order: migration work waits until those that apply are complete.
func (p *Playbook) MigrationPrerequisites() []*Task {
	var out []*Task
	for _, t := range p.Tasks() {
		if t.MigrationPrerequisite {
			out = append(out, t)
		}
	}
	return out
}

// Responsibility is one item of a party's checklist, with the phase it
// belongs to ("" for the whole engagement) and a key that stays as long as
// its phase and text do.
type Responsibility struct {
	Key     string `json:"key"`
	Phase   string `json:"phase,omitempty"`
	Text    string `json:"text"`
	Service string `json:"service,omitempty"`
}

// Responsibilities lists a party's checklist items: those of the whole
// engagement first, then each phase's, in the playbook's order.
func (p *Playbook) Responsibilities(party Party) []Responsibility {
	var out []Responsibility
	add := func(phase string, items []*ChecklistItem) {
		for _, it := range items {
			if it == nil {
				continue
			}
			sum := sha256.Sum256([]byte(phase + "\n" + it.Text))
			key := hex.EncodeToString(sum[:6])
			if phase != "" {
				key = strings.ToLower(phase) + "-" + key
			}
			out = append(out, Responsibility{Key: key, Phase: phase, Text: it.Text, Service: it.Service})
		}
	}
	add("", p.Checklists.For(party))
	for _, ph := range p.Phases {
		if ph != nil {
			add(ph.Name, ph.Checklists.For(party))
		}
	}
	return out
}
