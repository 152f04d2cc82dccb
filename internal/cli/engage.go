package cli

// The commands that run onboarding engagements from a playbook: the
// playbook itself, engagements, their tasks, the remediation checklist,
// post-migration issues and scheduled events.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/store"
)

// newEngageCmds returns the command groups of onboarding engagements.
func newEngageCmds() []*cobra.Command {
	return []*cobra.Command{newPlaybookCmd(), newEngagementCmd(), newTaskCmd(), newChecklistCmd(), newIssueCmd(), newEventCmd(), newDNSCmd()}
}

// engageFlags are on every engagement command: the management flags and the playbook.
type engageFlags struct {
	manageFlags
	playbook string
}

func (m *engageFlags) register(cmd *cobra.Command) {
	m.manageFlags.register(cmd)
	cmd.PersistentFlags().StringVar(&m.playbook, "playbook", "", "playbook `FILE` to use instead of the default one (or set FERRY_PLAYBOOK)")
}

// playbookFile is the playbook in use: --playbook, FERRY_PLAYBOOK, or "" for the default.
func (m *engageFlags) playbookFile() string {
	if m.playbook != "" {
		return m.playbook
	}
	return os.Getenv("FERRY_PLAYBOOK")
}

// run opens Ferry with the playbook, runs fn and maps errors to exit codes.
func (m *engageFlags) run(cmd *cobra.Command, fn func(ctx context.Context, a *app.App) error) error {
	ctx := cmd.Context()
	a, err := app.Open(ctx, app.Config{Database: m.database, KeyFile: m.keyFile, PlaybookFile: m.playbookFile(), Jobs: jobs.Options{InsertOnly: true}})
	if err != nil {
		return usageErr("%v", playbookErr(m.playbookFile(), err))
	}
	defer a.Close()
	return engageErr(fn(commandLine(ctx), a))
}

// loadPlaybook reads the playbook in use without opening the database.
func (m *engageFlags) loadPlaybook() (*playbook.Playbook, error) {
	pb, err := app.LoadPlaybook(m.playbookFile())
	if err != nil {
		return nil, usageErr("%v", playbookErr(m.playbookFile(), err))
	}
	return pb, nil
}

func playbookErr(file string, err error) error {
	var ps playbook.Problems
	if errors.As(err, &ps) {
		return fmt.Errorf("the playbook %s has problems (check it with 'ferry playbook validate %s'):\n%v", file, file, ps)
	}
	return err
}

// engageFieldFlags names, for the engagement service's fields, the flag that sets them.
var engageFieldFlags = map[string]string{
	"customer_id":      "--customer",
	"name":             "--name",
	"seats":            "--seats",
	"services":         "--service",
	"workloads":        "--workload",
	"who":              "--as",
	"status":           "--status",
	"percent_complete": "--percent",
	"minutes":          "--minutes",
	"role":             "--role",
	"person":           "--person",
	"phase":            "--phase",
	"reason":           "--reason",
	"title":            "--title",
	"severity":         "--severity",
	"state":            "--state",
	"item":             "",
	"mailbox":          "--mailbox and --description",
	"migrated_at":      "--migrated-at",
	"kind":             "--kind",
	"time_zone":        "--time-zone",
	"starts":           "--starts",
	"ends":             "--ends",
	"format":           "--format",
	"goals":            "--goals",
	"owner":            "--owner",
	"agreed":           "--agreed",
	"event_id":         "--event",
	"decision":         "--decision",
	"notes":            "--notes",
	"due":              "--due",
	"key":              "--tick or --untick",
}

// engageErr maps the engagement service's errors to exit codes: refused
// actions, bad input and missing records exit 2, naming the flag.
func engageErr(err error) error {
	if err == nil {
		return nil
	}
	if u := faultUsage(err, engageFieldFlags); u != nil {
		return u
	}
	return serviceErr(err)
}

// faultUsage turns the errors a person can act on (bad input, a collision
// with what exists, a refusal by a rule) into exit 2, naming the flag of
// the field at fault when flags knows it; nil for any other error.
func faultUsage(err error, flags map[string]string) error {
	fe, ok := fault.As(err)
	if !ok || fe.Kind != fault.Invalid && fe.Kind != fault.Conflict && fe.Kind != fault.Refused {
		return nil
	}
	flag, known := flags[fe.Field]
	switch {
	case known && flag == "":
		return usageErr("%s", fe.Msg)
	case known:
		return usageErr("%s: %s", flag, fe.Msg)
	}
	return usageErr("%v", fe)
}

// whoAmI is the default for --as where it is optional.
func whoAmI() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "ferry"
}

func needText(flag, v, what string) error {
	if strings.TrimSpace(v) == "" {
		return usageErr("%s: say %s", flag, what)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func joinOr(v []string, empty string) string {
	if len(v) == 0 {
		return empty
	}
	return strings.Join(v, ", ")
}

// ---- ferry playbook

func newPlaybookCmd() *cobra.Command {
	var m engageFlags
	cmd := groupCmd("playbook", "Validate, show and start from onboarding playbooks")
	m.register(cmd)
	// No database is opened; the flags are accepted so that scripts may pass them everywhere.
	pf := cmd.PersistentFlags()
	_ = pf.MarkHidden("database")
	_ = pf.MarkHidden("key-file")
	cmd.AddCommand(playbookValidateCmd(&m), playbookShowCmd(&m), playbookDefaultCmd())
	return cmd
}

func playbookValidateCmd(m *engageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a playbook file; print every problem as file:line:col: message",
		Long: `Check a playbook file and print every problem, each as file:line:col:
message. Exits 0 when the playbook is valid, 1 when it has problems, 2 when
the file cannot be read.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("say which file: %s FILE", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			data, err := os.ReadFile(file)
			if err != nil {
				return usageErr("cannot read the playbook: %v", err)
			}
			pb, err := playbook.Load(file, data)
			var ps playbook.Problems
			if err != nil && !errors.As(err, &ps) {
				return usageErr("%v", err)
			}
			type problemJSON struct {
				File string `json:"file"`
				Line int    `json:"line"`
				Col  int    `json:"col"`
				Msg  string `json:"message"`
			}
			out := struct {
				File     string        `json:"file"`
				Valid    bool          `json:"valid"`
				Name     string        `json:"name,omitempty"`
				Tasks    int           `json:"tasks,omitempty"`
				Problems []problemJSON `json:"problems"`
			}{File: file, Valid: err == nil, Problems: []problemJSON{}}
			for _, p := range ps {
				out.Problems = append(out.Problems, problemJSON{p.File, p.Line, p.Col, p.Msg})
			}
			if pb != nil {
				out.Name, out.Tasks = pb.Name, len(pb.Tasks())
			}
			if perr := m.out(cmd, out, func(w io.Writer) {
				if pb != nil {
					fmt.Fprintf(w, "%s: valid: %q, %d phases, %d tasks\n", file, pb.Name, len(pb.Phases), len(pb.Tasks()))
					return
				}
				for _, p := range ps {
					fmt.Fprintln(w, p.Error())
				}
				fmt.Fprintf(w, "%d problem(s)\n", len(ps))
			}); perr != nil {
				return perr
			}
			if pb == nil {
				return errFailures
			}
			return nil
		},
	}
}

func playbookShowCmd(m *engageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Show the playbook in use: phases, processes and tasks",
		Long:  "Show the playbook in use: the default one, or the one --playbook or FERRY_PLAYBOOK names.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pb, err := m.loadPlaybook()
			if err != nil {
				return err
			}
			return m.out(cmd, pb, func(w io.Writer) { printPlaybook(w, pb) })
		},
	}
}

func printPlaybook(w io.Writer, pb *playbook.Playbook) {
	fmt.Fprintf(w, "%s", pb.Name)
	if pb.Version != "" {
		fmt.Fprintf(w, " (version %s)", pb.Version)
	}
	fmt.Fprintf(w, ": %d phases, %d tasks\n", len(pb.Phases), len(pb.Tasks()))
	for _, ph := range pb.Phases {
		fmt.Fprintf(w, "\nPhase %s", ph.Name)
		if ph.ExitGate != "" {
			fmt.Fprintf(w, " (exit gate %s)", ph.ExitGate)
		}
		fmt.Fprintln(w)
		for _, pr := range ph.Processes {
			fmt.Fprintf(w, "\n  %s\n", pr.Name)
			tw := newTable(w)
			fmt.Fprintln(tw, "    ID\tTASK\tMANDATORY\tROLE\tSERVICES\tWORKLOADS")
			for _, st := range pr.Steps {
				for _, t := range st.Tasks {
					fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\n", t.ID, clip(t.Name, 70), yesNo(t.Mandatory), t.Role,
						joinOr(t.Services, "all"), joinOr(t.Workloads, "all"))
				}
			}
			tw.Flush()
		}
	}
}

// clip shortens s to n runes for tables.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func playbookDefaultCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "default",
		Short: "Print the default playbook's YAML, to start a playbook of one's own",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(playbook.DefaultSource())
			return err
		},
	}
}

// ---- ferry engagement

func newEngagementCmd() *cobra.Command {
	var m engageFlags
	cmd := groupCmd("engagement", "Create and run onboarding engagements: scope, people, gates, progress, reports")
	m.register(cmd)
	cmd.AddCommand(engagementCreateCmd(&m), engagementListCmd(&m), engagementShowCmd(&m), engagementScopeCmd(&m),
		engagementEligibilityCmd(&m), engagementAssignCmd(&m), engagementUnassignCmd(&m), engagementGatesCmd(&m), engagementExitCmd(&m),
		engagementProgressCmd(&m), engagementReportCmd(&m), engagementOverrideCmd(&m), engagementSuccessPlanCmd(&m), engagementGoNoGoCmd(&m),
		engagementResponsibilitiesCmd(&m))
	return cmd
}

// scopeFlags set an engagement's scope.
type scopeFlags struct {
	in engagements.Input
}

func (f *scopeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&f.in.Seats, "seats", 0, "the tenant's licensed `SEATS`")
	fl.StringSliceVar(&f.in.Services, "service", nil, "a `SERVICE` to onboard (repeatable or comma-separated), e.g. core, exchange, teams")
	fl.StringSliceVar(&f.in.Workloads, "workload", nil, "a source `WORKLOAD` to migrate from (repeatable or comma-separated), e.g. imap, gmail")
	fl.BoolVar(&f.in.Hybrid, "hybrid", false, "hybrid Exchange is in scope")
	fl.StringVar(&f.in.EnterpriseException, "enterprise-exception", "", "`REASON` the enterprise additional benefit applies below 20,000 seats")
}

func (f *scopeFlags) check(cmd *cobra.Command) error {
	if f.in.Seats < 0 {
		return usageErr("--seats: %d is negative", f.in.Seats)
	}
	if cmd.Flags().Changed("seats") || cmd.Name() == "create" {
		if f.in.Seats == 0 {
			return usageErr("--seats: say how many licensed seats the tenant has")
		}
	}
	return nil
}

func engagementCreateCmd(m *engageFlags) *cobra.Command {
	var sf scopeFlags
	cmd := &cobra.Command{
		Use:   "create --customer ID --name NAME --seats N --service S... [--workload W...] [--hybrid] [--enterprise-exception REASON]",
		Short: "Create an engagement with the playbook's tasks that apply to its scope",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--customer", sf.in.CustomerID, "customer", "ferry customer list"); err != nil {
				return err
			}
			if err := needText("--name", sf.in.Name, "the engagement's name"); err != nil {
				return err
			}
			if err := sf.check(cmd); err != nil {
				return err
			}
			if len(sf.in.Services) == 0 {
				return usageErr("--service: say which services to onboard, e.g. --service core --service exchange")
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				e, tasks, err := a.Engagements.Create(ctx, sf.in)
				if err != nil {
					return err
				}
				out := struct {
					store.Engagement
					Tasks int `json:"tasks"`
				}{e, len(tasks)}
				return m.out(cmd, out, func(w io.Writer) {
					fmt.Fprintf(w, "engagement %d created for customer %d: %s; %d tasks instantiated from %q\n", e.ID, e.CustomerID, e.Name, len(tasks), e.Playbook)
					fmt.Fprintf(w, "next: ferry engagement assign %d --role ftm --person NAME; ferry task list --engagement %d\n", e.ID, e.ID)
				})
			})
		},
	}
	cmd.Flags().Int64Var(&sf.in.CustomerID, "customer", 0, "the customer's `ID`")
	cmd.Flags().StringVar(&sf.in.Name, "name", "", "the engagement's `NAME`")
	sf.register(cmd)
	return cmd
}

func engagementListCmd(m *engageFlags) *cobra.Command {
	var customer int64
	cmd := &cobra.Command{
		Use:   "list --customer ID",
		Short: "List a customer's engagements",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--customer", customer, "customer", "ferry customer list"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Store.Customer(ctx, customer); err != nil {
					return err
				}
				es, err := a.Store.EngagementsOf(ctx, customer)
				if err != nil {
					return err
				}
				es = nonNil(es)
				return m.out(cmd, es, func(w io.Writer) {
					if len(es) == 0 {
						fmt.Fprintf(w, "customer %d has no engagements yet; create one with: ferry engagement create --customer %d --name NAME --seats N --service S\n", customer, customer)
						return
					}
					tw := newTable(w)
					fmt.Fprintln(tw, "ID\tNAME\tSEATS\tSERVICES\tWORKLOADS\tHYBRID\tCREATED")
					for _, e := range es {
						fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", e.ID, e.Name, e.Seats, joinOr(e.Services, "-"), joinOr(e.Workloads, "-"), yesNo(e.Hybrid), stamp(e.Created))
					}
					tw.Flush()
				})
			})
		},
	}
	cmd.Flags().Int64Var(&customer, "customer", 0, "the customer's `ID`")
	return cmd
}

func engagementArg() cobra.PositionalArgs {
	return idArg("engagement", "ferry engagement list --customer ID")
}

func printRules(w io.Writer, rules []engagements.Rule) {
	tw := newTable(w)
	fmt.Fprintln(tw, "RULE\tMET\tDETAIL")
	for _, r := range rules {
		met := "met"
		if !r.Met {
			met = "NOT MET"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Rule, met, r.Detail)
	}
	tw.Flush()
}

func printGates(w io.Writer, gates []engagements.Gate) {
	tw := newTable(w)
	fmt.Fprintln(tw, "PHASE\tEXIT TASK\tSTATE\tIN THE WAY")
	for _, g := range gates {
		state := "open"
		switch {
		case g.Exited:
			state = "exited"
		case g.CanExit:
			state = "ready to exit"
		}
		var way []string
		for _, b := range g.Blockers {
			way = append(way, b.String())
		}
		if len(way) > 3 {
			way = append(way[:3], fmt.Sprintf("and %d more", len(g.Blockers)-3))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.Phase, orDash(g.ExitTask), state, orDash(strings.Join(way, "; ")))
	}
	tw.Flush()
}

func rulesOf(e store.Engagement) []engagements.Rule {
	return engagements.Eligibility(engagements.Input{Seats: e.Seats, Services: e.Services, Workloads: e.Workloads, EnterpriseException: e.EnterpriseException})
}

func engagementShowCmd(m *engageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an engagement: scope, eligibility, gates and people",
		Args:  engagementArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				id := mustID(args[0])
				e, err := a.Store.Engagement(ctx, id)
				if err != nil {
					return err
				}
				gates, err := a.Engagements.Gates(ctx, id)
				if err != nil {
					return err
				}
				people, err := a.Engagements.People(ctx, id)
				if err != nil {
					return err
				}
				prog, err := a.Engagements.Progress(ctx, id)
				if err != nil {
					return err
				}
				out := struct {
					store.Engagement
					Eligibility []engagements.Rule   `json:"eligibility"`
					Gates       []engagements.Gate   `json:"gates"`
					People      []engagements.Person `json:"people"`
					Progress    engagements.Tally    `json:"progress"`
				}{e, rulesOf(e), nonNil(gates), nonNil(people), prog.Overall}
				return m.out(cmd, out, func(w io.Writer) {
					fmt.Fprintf(w, "Engagement %d: %s (customer %d)\n", e.ID, e.Name, e.CustomerID)
					fmt.Fprintf(w, "  seats      %d\n  services   %s\n  workloads  %s\n  hybrid     %s\n", e.Seats, joinOr(e.Services, "-"), joinOr(e.Workloads, "none"), yesNo(e.Hybrid))
					if e.EnterpriseException != "" {
						fmt.Fprintf(w, "  exception  %s\n", e.EnterpriseException)
					}
					fmt.Fprintf(w, "  playbook   %s\n  created    %s\n  progress   %s\n", e.Playbook, stamp(e.Created), progressLine(prog))
					fmt.Fprintln(w, "\nEligibility")
					printRules(w, out.Eligibility)
					fmt.Fprintln(w, "\nGates")
					printGates(w, gates)
					fmt.Fprintln(w, "\nPeople")
					if len(people) == 0 {
						fmt.Fprintf(w, "nobody assigned yet; ferry engagement assign %d --role ROLE --person ACCOUNT_EMAIL\n", e.ID)
						return
					}
					tw := newTable(w)
					fmt.Fprintln(tw, "ROLE\tPERSON")
					for _, p := range people {
						name := p.Role
						if r, ok := a.Engagements.Playbook.Role(p.Role); ok {
							name = r.Name
						}
						who := p.Person
						switch {
						case !p.Account:
							who += " (" + engagements.NotAnAccount + ")"
						case p.Name != "":
							who = p.Name + " <" + p.Person + ">"
						}
						fmt.Fprintf(tw, "%s\t%s\n", name, who)
					}
					tw.Flush()
				})
			})
		},
	}
}

func engagementScopeCmd(m *engageFlags) *cobra.Command {
	var (
		sf scopeFlags
		as string
	)
	cmd := &cobra.Command{
		Use:   "scope ID [--seats N] [--service S...] [--workload W...] [--hybrid] [--enterprise-exception REASON]",
		Short: "Change an engagement's scope: tasks that now apply are added, others retired",
		Long: `Change an engagement's scope. Flags not given keep their current value.
Tasks that now apply are added; tasks that no longer apply are retired, with
their history kept, and come back if they apply again.`,
		Args: engagementArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sf.check(cmd); err != nil {
				return err
			}
			if as == "" {
				as = whoAmI()
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				id := mustID(args[0])
				e, err := a.Store.Engagement(ctx, id)
				if err != nil {
					return err
				}
				in := engagements.Input{Seats: e.Seats, Services: e.Services, Workloads: e.Workloads, Hybrid: e.Hybrid, EnterpriseException: e.EnterpriseException}
				fl := cmd.Flags()
				if fl.Changed("seats") {
					in.Seats = sf.in.Seats
				}
				if fl.Changed("service") {
					in.Services = sf.in.Services
				}
				if fl.Changed("workload") {
					in.Workloads = sf.in.Workloads
				}
				if fl.Changed("hybrid") {
					in.Hybrid = sf.in.Hybrid
				}
				if fl.Changed("enterprise-exception") {
					in.EnterpriseException = sf.in.EnterpriseException
				}
				added, retired, err := a.Engagements.ChangeScope(ctx, id, in, as)
				if err != nil {
					return err
				}
				out := struct {
					ID      int64 `json:"id"`
					Added   int   `json:"added"`
					Retired int   `json:"retired"`
				}{id, added, retired}
				return m.out(cmd, out, func(w io.Writer) {
					fmt.Fprintf(w, "engagement %d scope changed: %d task(s) added, %d retired\n", id, added, retired)
				})
			})
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&as, "as", "", "`PERSON` making the change, for the tasks' history (default: your user name)")
	return cmd
}

func engagementEligibilityCmd(m *engageFlags) *cobra.Command {
	var in engagements.Input
	cmd := &cobra.Command{
		Use:   "eligibility --seats N [--workload W...] [--enterprise-exception REASON]",
		Short: "Show the eligibility rules for a scope (no database needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("seats") {
				return usageErr("--seats: say how many licensed seats the tenant has")
			}
			if in.Seats < 0 {
				return usageErr("--seats: %d is negative", in.Seats)
			}
			rules := engagements.Eligibility(in)
			eligible := true
			for _, r := range rules {
				if !r.Met && r.Name != "enterprise" {
					eligible = false
				}
			}
			out := struct {
				Eligible bool               `json:"eligible"`
				Rules    []engagements.Rule `json:"rules"`
			}{eligible, rules}
			return m.out(cmd, out, func(w io.Writer) {
				printRules(w, rules)
				if eligible {
					fmt.Fprintln(w, "\neligible (the enterprise rule decides only the enterprise additional benefit)")
				} else {
					fmt.Fprintln(w, "\nNOT eligible")
				}
			})
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&in.Seats, "seats", 0, "the tenant's licensed `SEATS`")
	fl.StringSliceVar(&in.Workloads, "workload", nil, "a source `WORKLOAD` to migrate from (repeatable)")
	fl.StringVar(&in.EnterpriseException, "enterprise-exception", "", "`REASON` for the enterprise additional benefit below 20,000 seats")
	return cmd
}

func engagementAssignCmd(m *engageFlags) *cobra.Command { return engagementRoleCmd(m, false) }

func engagementUnassignCmd(m *engageFlags) *cobra.Command { return engagementRoleCmd(m, true) }

// engagementRoleCmd puts a person in a role, or (leave) takes them off it.
func engagementRoleCmd(m *engageFlags, leave bool) *cobra.Command {
	var role, person string
	use, short, who := "assign", "Put a person in one of the playbook's roles", "who takes the role"
	if leave {
		use, short, who = "unassign", "Take a person off a role (the role's tasks stay)", "who leaves the role"
	}
	cmd := &cobra.Command{
		Use:   use + " ID --role ROLE --person PERSON",
		Short: short,
		Args:  engagementArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needText("--role", role, "which role, e.g. ftm, engineer, frp"); err != nil {
				return err
			}
			if err := needText("--person", person, who); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				id := mustID(args[0])
				change, said := a.Engagements.Assign, "%s is %s of engagement %d\n"
				if leave {
					change, said = a.Engagements.Unassign, "%s is no longer %s of engagement %d\n"
				}
				if err := change(ctx, id, role, person); err != nil {
					return err
				}
				out := store.Assignment{EngagementID: id, Role: role, Person: strings.TrimSpace(person)}
				return m.out(cmd, out, func(w io.Writer) {
					fmt.Fprintf(w, said, out.Person, role, id)
				})
			})
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "the `ROLE` ID, e.g. ftm, engineer, frp, mvm")
	cmd.Flags().StringVar(&person, "person", "", "the `ACCOUNT`: its e-mail or number (people in roles are accounts)")
	return cmd
}

func engagementGatesCmd(m *engageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "gates ID",
		Short: "Show each phase's exit gate and what blocks it",
		Args:  engagementArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				gates, err := a.Engagements.Gates(ctx, mustID(args[0]))
				if err != nil {
					return err
				}
				gates = nonNil(gates)
				return m.out(cmd, gates, func(w io.Writer) {
					printGates(w, gates)
					for _, g := range gates {
						if g.Exited || len(g.Blockers) == 0 {
							continue
						}
						fmt.Fprintf(w, "\n%s is blocked by:\n", g.Phase)
						for _, b := range g.Blockers {
							fmt.Fprintf(w, "  %s: %s\n", b.String(), b.Why)
						}
					}
				})
			})
		},
	}
}

func engagementExitCmd(m *engageFlags) *cobra.Command {
	var phase, as string
	cmd := &cobra.Command{
		Use:   "exit ID --phase PHASE --as PERSON",
		Short: "Record a phase's exit, or say what stands in the way",
		Args:  engagementArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needText("--phase", phase, "which phase: Initiate, Assess, Remediate, Enable or Migrate"); err != nil {
				return err
			}
			if err := needText("--as", as, "who signs off the exit"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				id := mustID(args[0])
				if err := a.Engagements.ExitPhase(ctx, id, phase, as); err != nil {
					return err
				}
				for _, ph := range a.Engagements.Playbook.Phases {
					if strings.EqualFold(ph.Name, phase) {
						phase = ph.Name
					}
				}
				out := struct {
					ID     int64  `json:"id"`
					Phase  string `json:"phase"`
					Exited bool   `json:"exited"`
					Who    string `json:"who"`
				}{id, phase, true, as}
				return m.out(cmd, out, func(w io.Writer) {
					fmt.Fprintf(w, "engagement %d: %s exited (signed off by %s)\n", id, phase, as)
				})
			})
		},
	}
	cmd.Flags().StringVar(&phase, "phase", "", "the `PHASE`: Initiate, Assess, Remediate, Enable or Migrate")
	cmd.Flags().StringVar(&as, "as", "", "the `PERSON` signing off")
	return cmd
}

func printTallies(w io.Writer, title string, ts []engagements.Tally) {
	tw := newTable(w)
	fmt.Fprintf(tw, "%s\tDONE\tTASKS\t%%\n", title)
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", t.Key, t.Done, t.Tasks, t.Percent)
	}
	tw.Flush()
}

func engagementProgressCmd(m *engageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "progress ID",
		Short: "Show progress by phase, service and role",
		Args:  engagementArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				p, err := a.Engagements.Progress(ctx, mustID(args[0]))
				if err != nil {
					return err
				}
				return m.out(cmd, p, func(w io.Writer) {
					fmt.Fprintf(w, "%s\n\n", progressLine(p))
					printTallies(w, "PHASE", p.ByPhase)
					fmt.Fprintln(w)
					printTallies(w, "SERVICE", p.ByService)
					fmt.Fprintln(w)
					printTallies(w, "ROLE", p.ByRole)
				})
			})
		},
	}
}

func engagementReportCmd(m *engageFlags) *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "report ID --format markdown|csv|json [--output FILE]",
		Short: "Export an engagement's report",
		Args:  engagementArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "markdown", "md", "csv", "json":
			default:
				return usageErr("--format: %q: export as markdown, csv or json", format)
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				r, err := a.Engagements.BuildReport(ctx, mustID(args[0]))
				if err != nil {
					return err
				}
				data, err := r.Export(format)
				if err != nil {
					return err
				}
				if output == "" {
					_, err = cmd.OutOrStdout().Write(data)
					return err
				}
				if err := writePrivateFile(output, data); err != nil {
					return usageErr("--output: %v", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "report written to %s\n", output)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "markdown", "`FORMAT`: markdown, csv (the task table) or json")
	cmd.Flags().StringVar(&output, "output", "", "write to `FILE` instead of standard output")
	return cmd
}

func engagementOverrideCmd(m *engageFlags) *cobra.Command {
	var (
		customer, project int64
		reason, expires   string
		revoke            int64
	)
	cmd := &cobra.Command{
		Use:   "override --customer ID --reason TEXT [--project ID] [--expires DAY] | --revoke ID --reason TEXT",
		Short: "Let a customer's migration passes run before their prerequisites, or end such an override (the gate's role only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--customer", customer, "customer", "ferry customer list"); err != nil {
				return err
			}
			if err := needText("--reason", reason, "why, for the record"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Store.Customer(ctx, customer); err != nil {
					return err
				}
				if revoke != 0 {
					g, err := a.Engagements.RevokeOverride(ctx, customer, revoke, reason)
					if err != nil {
						return err
					}
					return m.out(cmd, g, func(w io.Writer) {
						fmt.Fprintf(w, "override %d of customer %d revoked by %s: %s\n", g.ID, customer, g.RevokedBy, g.RevokeReason)
					})
				}
				g, err := a.Engagements.Override(ctx, customer, engagements.OverrideInput{Reason: reason, ProjectID: project, Expires: expires})
				if err != nil {
					return err
				}
				return m.out(cmd, g, func(w io.Writer) {
					fmt.Fprintf(w, "migration gate of customer %d overridden by %s (override %d): %s\n", customer, g.Who, g.ID, g.Reason)
				})
			})
		},
	}
	cmd.Flags().Int64Var(&customer, "customer", 0, "the customer's `ID`")
	cmd.Flags().Int64Var(&project, "project", 0, "only for this project (`ID`); default: every project of the customer")
	cmd.Flags().StringVar(&expires, "expires", "", "the last `DAY` the override holds (2026-12-24, UTC); default: until revoked")
	cmd.Flags().Int64Var(&revoke, "revoke", 0, "end the override with this `ID` instead")
	cmd.Flags().StringVar(&reason, "reason", "", "why (`TEXT`, kept for the record)")
	return cmd
}

// writePrivateFile writes data to path readable by its owner only (see
// createPrivate).
func writePrivateFile(path string, data []byte) error {
	f, err := createPrivate(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// createPrivate creates (or empties) an export file readable by its owner
// only (0600), also when it existed with a wider mode: every export names
// the customer's people and mailboxes. Every --output and --out uses it.
func createPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// progressLine is an engagement's progress in one line: tasks, gates, and
// the share of its steps settled.
func progressLine(p *engagements.Progress) string {
	line := fmt.Sprintf("%d of %d tasks done", p.Overall.Done, p.Overall.Tasks)
	if p.Overall.Closed > 0 {
		line += fmt.Sprintf(" (%d more closed by passed gates)", p.Overall.Closed)
	}
	return line + fmt.Sprintf(", %d of %d exit gates passed: %d%%", p.Gates.Done, p.Gates.Tasks, p.Overall.Percent)
}
