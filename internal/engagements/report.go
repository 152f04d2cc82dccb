package engagements

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/mailboxcsv"
	"github.com/ferryhq/ferry/internal/store"
)

// Tally counts tasks and how many are done (Complete or Not Required), or
// closed by a passed gate.
type Tally struct {
	Key   string `json:"key"`
	Tasks int    `json:"tasks"`
	Done  int    `json:"done"`
	// Closed are tasks not done in a phase whose exit gate was passed: the
	// gate closed them (nothing it needed was left), so they count as settled.
	Closed int `json:"closed"`
	// Percent settled (done or closed), rounded down; above 0 once one task
	// is settled, and 100 only when every one is. Overall also counts the
	// phases' exit gates as steps (see Progress.Gates), so passing a gate
	// moves it even when the phase has no task in scope.
	Percent int `json:"percent"`
	// Exited: in by_phase, the phase's exit gate was passed (100%).
	Exited bool `json:"exited,omitempty"`
}

// Progress is an engagement's progress by phase, service and role.
type Progress struct {
	Overall Tally `json:"overall"`
	// Gates: the playbook's phases (tasks) and those whose exit gate was passed (done).
	Gates     Tally   `json:"gates"`
	ByPhase   []Tally `json:"by_phase"`
	ByService []Tally `json:"by_service"`
	ByRole    []Tally `json:"by_role"`
}

func tally(m map[string]*Tally, key string, t store.EngagementTask, exited bool) {
	x, ok := m[key]
	if !ok {
		x = &Tally{Key: key}
		m[key] = x
	}
	x.Tasks++
	switch {
	case done(t.Status):
		x.Done++
	case exited:
		x.Closed++
	}
}

// percent of n settled out of total: rounded down, but never 0 for some
// progress nor 100 for an unfinished whole.
func percent(n, total int) int {
	if total == 0 || n == 0 {
		return 0
	}
	p := 100 * n / total
	if n < total {
		p = min(max(p, 1), 99)
	}
	return p
}

func finish(m map[string]*Tally, order []string) []Tally {
	var out []Tally
	keys := order
	if keys == nil {
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	}
	for _, k := range keys {
		if x, ok := m[k]; ok {
			x.Percent = percent(x.Done+x.Closed, x.Tasks)
			out = append(out, *x)
		}
	}
	return out
}

// Progress computes progress over the tasks in scope and the phases'
// exit gates: a passed gate settles the tasks its phase left open.
func (s *Service) Progress(ctx context.Context, id int64) (*Progress, error) {
	tasks, err := s.Store.EngagementTasks(ctx, id)
	if err != nil {
		return nil, err
	}
	exits, err := s.Store.PhaseExits(ctx, id)
	if err != nil {
		return nil, err
	}
	e, err := s.Store.Engagement(ctx, id)
	if err != nil {
		return nil, err
	}
	inScope := map[string]bool{}
	for _, sv := range s.Playbook.Services {
		if sv.AlwaysInScope || slices.Contains(e.Services, sv.ID) {
			inScope[sv.ID] = true
		}
	}
	exited := map[string]bool{}
	for _, x := range exits {
		exited[x.Phase] = true
	}
	phase, service, role := map[string]*Tally{}, map[string]*Tally{}, map[string]*Tally{}
	all := map[string]*Tally{}
	for _, t := range tasks {
		if t.Retired {
			continue
		}
		x := exited[t.Phase]
		tally(all, "all", t, x)
		tally(phase, t.Phase, t, x)
		tally(role, t.Role, t, x)
		svcs := t.Services
		if len(svcs) == 0 {
			svcs = []string{"(any)"}
		}
		for _, sv := range svcs {
			if sv == "(any)" || inScope[sv] { // a task may name services the engagement does not have
				tally(service, sv, t, x)
			}
		}
	}
	var phases []string
	gates := Tally{Key: "gates"}
	for _, ph := range s.Playbook.Phases {
		phases = append(phases, ph.Name)
		if _, ok := phase[ph.Name]; !ok {
			phase[ph.Name] = &Tally{Key: ph.Name} // every phase shows, even one without tasks in scope
		}
		gates.Tasks++
		if exited[ph.Name] {
			gates.Done++
			phase[ph.Name].Exited = true
		}
	}
	gates.Percent = percent(gates.Done, gates.Tasks)
	p := &Progress{Gates: gates, ByPhase: finish(phase, phases), ByService: finish(service, nil), ByRole: finish(role, nil)}
	for i := range p.ByPhase {
		if p.ByPhase[i].Exited {
			p.ByPhase[i].Percent = 100 // the gate settled it, even without tasks
		}
	}
	p.Overall = Tally{Key: "all"}
	if o := finish(all, nil); len(o) == 1 {
		p.Overall = o[0]
	}
	// The engagement's steps are its tasks and its phases' gates.
	p.Overall.Percent = percent(p.Overall.Done+p.Overall.Closed+gates.Done, p.Overall.Tasks+gates.Tasks)
	return p, nil
}

// Report is everything about an engagement, for export.
type Report struct {
	Engagement store.Engagement           `json:"engagement"`
	Customer   store.Customer             `json:"customer"`
	Eligible   []Rule                     `json:"eligibility"`
	Progress   *Progress                  `json:"progress"`
	Gates      []Gate                     `json:"gates"`
	People     []Person                   `json:"people"`
	Tasks      []store.EngagementTask     `json:"tasks"`
	Checklist  []store.ChecklistItem      `json:"remediation_checklist"`
	Issues     []store.PostMigrationIssue `json:"post_migration_issues"`
	Events     []store.ScheduledEvent     `json:"events"`
	// SuccessPlan is nil until one is recorded.
	SuccessPlan *store.SuccessPlan `json:"success_plan"`
	// Migrations are the figures of the engagement's migration projects.
	Migrations []ProjectFigures `json:"migrations"`
	// GateHistory is every change of a gate, oldest first: its exit
	// tasks' status changes and reopenings, phase exits, migration gate
	// overrides and their revocations, go/no-go decisions.
	GateHistory []GateEvent `json:"gate_history"`
}

// GateEvent is one entry of the gate history.
type GateEvent struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // exit-task, phase-exit, override, override-revoked, go-no-go
	// Gate names the phase or exit task ("Remediate", "1700"), the
	// migration gate, or the go-no-go event.
	Gate string `json:"gate"`
	Who  string `json:"who"`
	What string `json:"what"`
}

// BuildReport gathers the report.
func (s *Service) BuildReport(ctx context.Context, id int64) (*Report, error) {
	e, err := s.Store.Engagement(ctx, id)
	if err != nil {
		return nil, err
	}
	r := &Report{Engagement: e}
	if r.Customer, err = s.Store.Customer(ctx, e.CustomerID); err != nil {
		return nil, err
	}
	r.Eligible = Eligibility(Input{Seats: e.Seats, Services: e.Services, Workloads: e.Workloads, EnterpriseException: e.EnterpriseException})
	if r.Progress, err = s.Progress(ctx, id); err != nil {
		return nil, err
	}
	if r.Gates, err = s.Gates(ctx, id); err != nil {
		return nil, err
	}
	if r.People, err = s.People(ctx, id); err != nil {
		return nil, err
	}
	if r.Tasks, err = s.Store.EngagementTasks(ctx, id); err != nil {
		return nil, err
	}
	if r.Checklist, err = s.Store.ChecklistItems(ctx, id); err != nil {
		return nil, err
	}
	if r.Issues, err = s.Store.PostMigrationIssues(ctx, id); err != nil {
		return nil, err
	}
	if r.Events, err = s.Store.Events(ctx, id); err != nil {
		return nil, err
	}
	if p, err := s.Store.SuccessPlan(ctx, id); err == nil {
		r.SuccessPlan = &p
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if r.Migrations, err = s.figures(ctx, e); err != nil {
		return nil, err
	}
	r.GateHistory, err = s.gateHistory(ctx, e, r.Tasks)
	return r, err
}

// gateHistory gathers the gate history of an engagement, oldest first.
func (s *Service) gateHistory(ctx context.Context, e store.Engagement, tasks []store.EngagementTask) ([]GateEvent, error) {
	out := []GateEvent{}
	exitTasks := map[string]string{}
	for _, ph := range s.Playbook.Phases {
		if ph.ExitGate != "" {
			exitTasks[ph.ExitGate] = ph.Name
		}
	}
	for _, t := range tasks {
		phase, ok := exitTasks[t.TaskID]
		if !ok {
			continue
		}
		evs, err := s.Store.TaskEvents(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if ev.Field != "status" && ev.Field != "reopened" {
				continue
			}
			what := fmt.Sprintf("%s → %s", orDash(ev.Before), ev.After)
			if ev.Field == "reopened" {
				what = "reopened: " + ev.After
			}
			out = append(out, GateEvent{At: ev.At, Kind: "exit-task", Gate: fmt.Sprintf("%s (%s exit)", t.TaskID, phase), Who: ev.Who, What: what})
		}
	}
	exits, err := s.Store.PhaseExits(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	for _, x := range exits {
		out = append(out, GateEvent{At: x.At, Kind: "phase-exit", Gate: x.Phase, Who: x.Who, What: "phase exited"})
	}
	overrides, err := s.Store.GateOverrides(ctx, e.CustomerID)
	if err != nil {
		return nil, err
	}
	for _, g := range overrides {
		what := "override: " + g.Reason
		if g.ProjectID != 0 {
			what += fmt.Sprintf(" (project %d only)", g.ProjectID)
		}
		if !g.Expires.IsZero() {
			what += " until " + fmtDate(g.Expires.AddDate(0, 0, -1))
		}
		out = append(out, GateEvent{At: g.At, Kind: "override", Gate: "migration gate", Who: g.Who, What: what})
		if !g.RevokedAt.IsZero() {
			out = append(out, GateEvent{At: g.RevokedAt, Kind: "override-revoked", Gate: "migration gate", Who: g.RevokedBy, What: "override revoked: " + g.RevokeReason})
		}
	}
	ds, err := s.Store.GoNoGoDecisions(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	evs, err := s.Store.Events(ctx, e.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		gate := fmt.Sprintf("event %d", d.EventID)
		if i := slices.IndexFunc(evs, func(ev store.ScheduledEvent) bool { return ev.ID == d.EventID }); i >= 0 {
			gate = evs[i].Title
		}
		what := d.Decision
		if d.Notes != "" {
			what += ": " + d.Notes
		}
		out = append(out, GateEvent{At: d.At, Kind: "go-no-go", Gate: gate, Who: d.Who, What: what})
	}
	slices.SortStableFunc(out, func(a, b GateEvent) int { return a.At.Compare(b.At) })
	return out, nil
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Export renders the report as markdown, csv (the task table) or json.
// ReportFormat is a format the report exports to: its media type and the
// extension of its file.
type ReportFormat struct{ ContentType, Ext string }

// ReportFormats are the formats Export writes, by name ("md" is Markdown too).
var ReportFormats = map[string]ReportFormat{
	"markdown": {"text/markdown; charset=utf-8", "md"},
	"md":       {"text/markdown; charset=utf-8", "md"},
	"csv":      {"text/csv; charset=utf-8", "csv"},
	"json":     {"application/json; charset=utf-8", "json"},
}

func (r *Report) Export(format string) ([]byte, error) {
	switch format {
	case "json":
		return json.MarshalIndent(r.JSON(), "", "  ")
	case "csv":
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		cell := mailboxcsv.SafeCell
		w.Write([]string{"task_id", "phase", "name", "role", "party", "mandatory", "services", "status", "percent_complete", "due", "minutes_logged", "in_scope"})
		for _, t := range r.Tasks {
			w.Write([]string{cell(t.TaskID), cell(t.Phase), cell(t.Name), cell(t.Role), cell(t.Party), fmt.Sprint(t.Mandatory), cell(strings.Join(t.Services, " ")), cell(t.Status),
				fmt.Sprint(t.Percent), fmtDate(t.Due), fmt.Sprint(t.Minutes), fmt.Sprint(!t.Retired)})
		}
		// Two more tables follow, each after an empty row and with its own
		// header, padded to the task table's width so the file stays one
		// rectangle for spreadsheets and CSV readers.
		pad := func(cells ...string) []string {
			for len(cells) < 12 {
				cells = append(cells, "")
			}
			return cells
		}
		w.Write(pad())
		w.Write(pad("project", "items", "by_status", "failed_items", "failed_messages", "copied_mb", "copied_items", "mb_per_hour", "items_per_hour", "last_pass", "last_ended"))
		for _, p := range r.Migrations {
			w.Write(pad(cell(p.Name), fmt.Sprint(p.Items), cell(byStatus(p.ByStatus)), fmt.Sprint(p.Failed), fmt.Sprint(p.FailedMessages), fmt.Sprintf("%.1f", p.CopiedMB),
				fmt.Sprint(p.Copied), fmt.Sprintf("%.1f", p.MBPerHour), fmt.Sprintf("%.0f", p.ItemsPerHour), cell(p.LastPass), fmtTime(p.LastEnded)))
		}
		w.Write(pad())
		w.Write(pad("gate_event_at", "kind", "gate", "who", "what"))
		for _, g := range r.GateHistory {
			w.Write(pad(fmtTime(g.At), g.Kind, cell(g.Gate), cell(g.Who), cell(g.What)))
		}
		w.Flush()
		return b.Bytes(), w.Error()
	case "markdown", "md":
		var b strings.Builder
		e := r.Engagement
		fmt.Fprintf(&b, "# %s — %s\n\n", md(r.Customer.Name), md(e.Name))
		fmt.Fprintf(&b, "%d seats; services: %s; source workloads: %s; hybrid: %v. Progress: %d of %d tasks done (%d%%).\n\n",
			e.Seats, md(strings.Join(e.Services, ", ")), md(orNone(e.Workloads)), e.Hybrid, r.Progress.Overall.Done, r.Progress.Overall.Tasks, r.Progress.Overall.Percent)
		b.WriteString("## Eligibility\n\n")
		for _, rule := range r.Eligible {
			mark := "met"
			if !rule.Met {
				mark = "not met"
			}
			fmt.Fprintf(&b, "- %s: %s (%s)\n", md(rule.Rule), mark, md(rule.Detail))
		}
		b.WriteString("\n## Phases\n\n| phase | exit task | state | in the way |\n| --- | --- | --- | --- |\n")
		for _, g := range r.Gates {
			state := "open"
			switch {
			case g.Exited:
				state = "exited"
			case g.CanExit:
				state = "ready to exit"
			}
			var way []string
			for _, bl := range g.Blockers {
				way = append(way, bl.String())
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", md(g.Phase), md(g.ExitTask), state, md(strings.Join(way, "; ")))
		}
		b.WriteString("\n## Progress by service\n\n| service | done | tasks | % |\n| --- | --- | --- | --- |\n")
		for _, t := range r.Progress.ByService {
			fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", md(t.Key), t.Done, t.Tasks, t.Percent)
		}
		b.WriteString("\n## Tasks\n\n| ID | phase | task | role | status | % |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, t := range r.Tasks {
			if !t.Retired {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", md(t.TaskID), md(t.Phase), md(t.Name), md(t.Role), md(t.Status), t.Percent)
			}
		}
		if p := r.SuccessPlan; p != nil {
			fmt.Fprintf(&b, "\n## Success plan\n\nGoals: %s. Outcomes: %s. Owner: %s; agreed %s.\n", md(p.Goals), md(orDash(p.Outcomes)), md(p.Owner), fmtDate(p.Agreed))
		}
		b.WriteString("\n## Migrations\n\n")
		if len(r.Migrations) == 0 {
			b.WriteString("No migration project belongs to this engagement.\n")
		} else {
			b.WriteString("| project | items | by status | failed | MB/h | items/h | last pass |\n| --- | --- | --- | --- | --- | --- | --- |\n")
			for _, p := range r.Migrations {
				last := ""
				if !p.LastEnded.IsZero() {
					last = p.LastPass + ", " + fmtTime(p.LastEnded)
				}
				fmt.Fprintf(&b, "| %s | %d | %s | %d | %.1f | %.0f | %s |\n", md(p.Name), p.Items, md(byStatus(p.ByStatus)), p.Failed, p.MBPerHour, p.ItemsPerHour, md(last))
			}
		}
		b.WriteString("\n## Gate history\n\n")
		if len(r.GateHistory) == 0 {
			b.WriteString("Nothing yet.\n")
		} else {
			b.WriteString("| when | gate | who | what |\n| --- | --- | --- | --- |\n")
			for _, g := range r.GateHistory {
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", fmtTime(g.At), md(g.Gate), md(g.Who), md(g.What))
			}
		}
		if len(r.Checklist) > 0 {
			b.WriteString("\n## Remediation checklist\n\n| item | severity | owner | state |\n| --- | --- | --- | --- |\n")
			for _, c := range r.Checklist {
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", md(c.Title), md(c.Severity), md(c.Owner), md(c.State))
			}
		}
		if len(r.Issues) > 0 {
			b.WriteString("\n## Post-migration issues\n\n| mailbox | reported | deadline | late | status |\n| --- | --- | --- | --- | --- |\n")
			for _, p := range r.Issues {
				fmt.Fprintf(&b, "| %s | %s | %s | %v | %s |\n", md(p.Mailbox), fmtDate(p.ReportedAt), fmtDate(p.Deadline), p.Late, md(p.Status))
			}
		}
		if len(r.Events) > 0 {
			b.WriteString("\n## Scheduled events\n\n| when | kind | title |\n| --- | --- | --- |\n")
			for _, ev := range r.Events {
				loc, _ := timeLocation(ev.TimeZone)
				fmt.Fprintf(&b, "| %s (%s) | %s | %s |\n", ev.Starts.In(loc).Format("2006-01-02 15:04"), md(ev.TimeZone), md(ev.Kind), md(ev.Title))
			}
		}
		return []byte(b.String()), nil
	}
	return nil, fault.InvalidField("format", "%q: export as markdown, csv or json", format)
}

// md is text for a Markdown report: every character Markdown or HTML would
// act on is escaped, and line breaks become spaces, so text people typed
// can make no link, image, tag, heading or table cell.
func md(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case strings.ContainsRune("\\`*_[]<>#|!~&", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func orNone(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return strings.Join(v, ", ")
}

// byStatus writes items by status as "Completed 3; Failed 1".
func byStatus(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, "; ")
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
