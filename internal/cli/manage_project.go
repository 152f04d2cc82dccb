package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

func newProjectCmd() *cobra.Command {
	var m manageFlags
	cmd := groupCmd("project", "Create, list, show, configure and close migration projects")
	m.register(cmd)
	cmd.AddCommand(projectCreateCmd(&m), projectListCmd(&m), projectShowCmd(&m), projectSettingsCmd(&m), projectCloseCmd(&m), projectStatisticsCmd(&m),
		projectPreflightCmd(&m), projectFindingsCmd(&m))
	return cmd
}

// settingsFlags are a project's advanced options; only the flags given change anything.
type settingsFlags struct {
	maxConcurrent, maxErrors int
	doNotRetry               bool
	include, exclude         []string
	dateFrom, dateTo         string
	limits                   store.Limits
	limitMessageMB           int64
}

// limitFlags are the pre-flight limits' flags; 0 gives the field back to
// the destination endpoint (or its type).
var limitFlags = []string{"limit-message-size-mb", "limit-folder-items", "limit-folder-depth", "limit-folder-name", "limit-folder-path"}

func (f *settingsFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&f.maxConcurrent, "max-concurrent", 0, "`N` migrations of the project at once, across all workers (new projects: 10; about 3 per 1 Mbps of bandwidth)")
	fl.IntVar(&f.maxErrors, "max-errors", 0, "stop a migration after `N` failed messages (new projects: 50)")
	fl.BoolVar(&f.doNotRetry, "do-not-retry", false, "do not retry failed messages within a pass (--do-not-retry=false to retry again)")
	fl.StringSliceVar(&f.include, "include", nil, "only folders matching this `PATTERN` ('*' any text, '/' between levels; repeatable; --include '' for all)")
	fl.StringSliceVar(&f.exclude, "exclude", nil, "skip folders matching this `PATTERN` (repeatable; --exclude '' for none)")
	fl.StringVar(&f.dateFrom, "date-from", "", "only messages dated on or after this `DATE` (YYYY-MM-DD; '' for no limit)")
	fl.StringVar(&f.dateTo, "date-to", "", "only messages dated before this `DATE` (YYYY-MM-DD; '' for no limit)")
	fl.Int64Var(&f.limitMessageMB, "limit-message-size-mb", 0, "pre-flight: the destination takes messages up to `MB` (0: the endpoint's or its type's)")
	fl.Int64Var(&f.limits.MaxFolderItems, "limit-folder-items", 0, "pre-flight: at most `N` messages in one destination folder (0: the type's)")
	fl.IntVar(&f.limits.MaxFolderDepth, "limit-folder-depth", 0, "pre-flight: at most `N` levels of destination folders (0: the type's)")
	fl.IntVar(&f.limits.MaxFolderNameLength, "limit-folder-name", 0, "pre-flight: at most `N` characters in one folder name (0: the type's)")
	fl.IntVar(&f.limits.MaxFolderPathLength, "limit-folder-path", 0, "pre-flight: at most `N` characters in a whole folder path (0: the type's)")
}

// mergeLimits sets, over the project's current limits, those whose flags were given.
func (f *settingsFlags) mergeLimits(cmd *cobra.Command, cur store.Limits) store.Limits {
	fl := cmd.Flags()
	if fl.Changed("limit-message-size-mb") {
		cur.MaxMessageSize = f.limitMessageMB * 1_000_000
	}
	if fl.Changed("limit-folder-items") {
		cur.MaxFolderItems = f.limits.MaxFolderItems
	}
	if fl.Changed("limit-folder-depth") {
		cur.MaxFolderDepth = f.limits.MaxFolderDepth
	}
	if fl.Changed("limit-folder-name") {
		cur.MaxFolderNameLength = f.limits.MaxFolderNameLength
	}
	if fl.Changed("limit-folder-path") {
		cur.MaxFolderPathLength = f.limits.MaxFolderPathLength
	}
	return cur
}

// settings returns the options whose flags were given, and whether there were any.
func (f *settingsFlags) settings(cmd *cobra.Command) (projects.Settings, bool, error) {
	var s projects.Settings
	fl := cmd.Flags()
	if fl.Changed("max-concurrent") {
		s.MaxConcurrent = &f.maxConcurrent
	}
	if fl.Changed("max-errors") {
		s.MaxErrors = &f.maxErrors
	}
	if fl.Changed("do-not-retry") {
		s.DoNotRetry = &f.doNotRetry
	}
	if fl.Changed("include") {
		s.Include = &f.include
	}
	if fl.Changed("exclude") {
		s.Exclude = &f.exclude
	}
	for _, d := range []struct {
		flag, v string
		dst     **time.Time
	}{{"date-from", f.dateFrom, &s.DateFrom}, {"date-to", f.dateTo, &s.DateTo}} {
		if !fl.Changed(d.flag) {
			continue
		}
		var t time.Time
		if d.v != "" {
			var err error
			if t, err = time.Parse(time.DateOnly, d.v); err != nil {
				return s, false, usageErr("--%s: %q is not a date; write it as YYYY-MM-DD, e.g. 2024-01-31", d.flag, d.v)
			}
		}
		*d.dst = &t
	}
	changed := false
	for _, n := range append([]string{"max-concurrent", "max-errors", "do-not-retry", "include", "exclude", "date-from", "date-to"}, limitFlags...) {
		changed = changed || fl.Changed(n)
	}
	for _, n := range limitFlags {
		if fl.Changed(n) {
			s.PreflightLimits = &projects.Limits{} // filled over the project's own (mergeLimits)
		}
	}
	return s, changed, nil
}

func endpointName(eps []store.Endpoint, id int64) string {
	for _, e := range eps {
		if e.ID == id {
			return e.Name
		}
	}
	return fmt.Sprintf("endpoint %d", id)
}

// breakdown prints a status breakdown in the order of the statuses.
func breakdown(m map[string]int) string {
	var parts []string
	for _, st := range store.Statuses {
		if n := m[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func printProjects(w io.Writer, ps []store.Project, eps []store.Endpoint, customerID int64) {
	if len(ps) == 0 {
		fmt.Fprintf(w, "  none yet; create one with: ferry project create --customer %d --name NAME --source EP --destination EP\n", customerID)
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tNAME\tSOURCE\tDESTINATION\tSTATE\tITEMS\tSTATUS")
	for _, p := range ps {
		state := "open"
		if p.Closed {
			state = "closed"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", p.ID, p.Name, endpointName(eps, p.SourceID), endpointName(eps, p.DestID), state, p.ItemCount, breakdown(p.StatusBreakdown))
	}
	tw.Flush()
}

func projectCreateCmd(m *manageFlags) *cobra.Command {
	var (
		sf       settingsFlags
		in       projects.ProjectInput
		src, dst string
	)
	cmd := &cobra.Command{
		Use:   "create --customer ID --name NAME --source EP --destination EP [--engagement ID]",
		Short: "Create a mailbox migration project between two endpoints of a customer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--customer", in.CustomerID, "customer", "ferry customer list"); err != nil {
				return err
			}
			settings, _, err := sf.settings(cmd)
			if err != nil {
				return err
			}
			in.Settings = settings
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Store.Customer(ctx, in.CustomerID); err != nil {
					return err
				}
				if in.SourceID, err = resolveEndpoint(ctx, a, in.CustomerID, "--source", src); err != nil {
					return err
				}
				if in.DestID, err = resolveEndpoint(ctx, a, in.CustomerID, "--destination", dst); err != nil {
					return err
				}
				p, err := a.Service.CreateProject(ctx, in)
				if err != nil {
					return err
				}
				return m.out(cmd, p, func(w io.Writer) {
					fmt.Fprintf(w, "project %d created: %s\n", p.ID, p.Name)
					fmt.Fprintf(w, "next: ferry item add --project %d --source ADDR --destination ADDR, or ferry item import --project %d --csv FILE\n", p.ID, p.ID)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&in.CustomerID, "customer", 0, "the customer's `ID`")
	fl.StringVar(&in.Name, "name", "", "a `NAME` for the project, unique within the customer")
	fl.StringVar(&src, "source", "", "the source endpoint: `EP` is its ID or name")
	fl.StringVar(&dst, "destination", "", "the destination endpoint: `EP` is its ID or name")
	fl.Int64Var(&in.EngagementID, "engagement", 0, "the customer's engagement (`ID`) the project migrates for; its Migrate gate reads the project")
	sf.register(cmd)
	return cmd
}

func projectListCmd(m *manageFlags) *cobra.Command {
	var customer int64
	cmd := &cobra.Command{
		Use:   "list --customer ID",
		Short: "List a customer's projects with item counts by status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--customer", customer, "customer", "ferry customer list"); err != nil {
				return err
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Store.Customer(ctx, customer); err != nil {
					return err
				}
				ps, err := a.Store.ProjectsOf(ctx, customer)
				if err != nil {
					return err
				}
				eps, err := a.Store.Endpoints(ctx, customer)
				if err != nil {
					return err
				}
				return m.out(cmd, nonNil(ps), func(w io.Writer) { printProjects(w, ps, eps, customer) })
			})
		},
	}
	cmd.Flags().Int64Var(&customer, "customer", 0, "the customer's `ID`")
	return cmd
}

// projectView is a project with its endpoints.
type projectView struct {
	store.Project
	Source      endpointView `json:"source_endpoint"`
	Destination endpointView `json:"destination_endpoint"`
}

func loadProjectView(ctx context.Context, a *app.App, id int64) (projectView, error) {
	p, err := a.Store.Project(ctx, id)
	if err != nil {
		return projectView{}, err
	}
	src, err := a.Store.Endpoint(ctx, p.SourceID)
	if err != nil {
		return projectView{}, err
	}
	dst, err := a.Store.Endpoint(ctx, p.DestID)
	if err != nil {
		return projectView{}, err
	}
	return projectView{Project: p, Source: viewEndpoint(src), Destination: viewEndpoint(dst)}, nil
}

func printProject(w io.Writer, v projectView) {
	p := v.Project
	state := "open"
	if p.Closed {
		state = "closed (item credentials erased)"
	}
	list := func(s []string, none string) string {
		if len(s) == 0 {
			return none
		}
		return strings.Join(s, ", ")
	}
	dates := "all"
	switch {
	case !p.DateFrom.IsZero() && !p.DateTo.IsZero():
		dates = "from " + day(p.DateFrom) + " to before " + day(p.DateTo)
	case !p.DateFrom.IsZero():
		dates = "from " + day(p.DateFrom)
	case !p.DateTo.IsZero():
		dates = "before " + day(p.DateTo)
	}
	retry := "yes"
	if p.DoNotRetry {
		retry = "no (do not retry errors)"
	}
	ep := func(e endpointView) string {
		return fmt.Sprintf("%d %s (%s, %s:%d); credentials: %s", e.ID, e.Name, e.Type, e.Host, e.Port, credentialsText(e.Endpoint))
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "Project %d:\t%s (%s)\n", p.ID, p.Name, p.Kind)
	fmt.Fprintf(tw, "  state\t%s\n", state)
	fmt.Fprintf(tw, "  customer\t%d\n", p.CustomerID)
	fmt.Fprintf(tw, "  source\t%s\n", ep(v.Source))
	fmt.Fprintf(tw, "  destination\t%s\n", ep(v.Destination))
	fmt.Fprintf(tw, "  max concurrent migrations\t%d\n", p.MaxConcurrent)
	fmt.Fprintf(tw, "  max errors per migration\t%d\n", p.MaxErrors)
	fmt.Fprintf(tw, "  retry errors\t%s\n", retry)
	fmt.Fprintf(tw, "  folders included\t%s\n", list(p.Include, "all"))
	fmt.Fprintf(tw, "  folders excluded\t%s\n", list(p.Exclude, "none"))
	fmt.Fprintf(tw, "  dates\t%s\n", dates)
	fmt.Fprintf(tw, "  item types\t%s\n", list(p.ItemTypes, "mail"))
	fmt.Fprintf(tw, "  pre-flight limits\t%s\n", limitsText(p.Limits))
	fmt.Fprintf(tw, "  created\t%s\n", stamp(p.Created))
	fmt.Fprintf(tw, "  items\t%d\n", p.ItemCount)
	tw.Flush()
	if p.ItemCount > 0 {
		tw = newTable(w)
		fmt.Fprintln(tw, "\n  STATUS\tITEMS")
		for _, st := range store.Statuses {
			if n := p.StatusBreakdown[st]; n > 0 {
				fmt.Fprintf(tw, "  %s\t%d\n", st, n)
			}
		}
		tw.Flush()
	}
}

func projectShowCmd(m *manageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a project's endpoints, settings and items by status",
		Args:  idArg("project", "ferry project list --customer ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				v, err := loadProjectView(ctx, a, mustID(args[0]))
				if err != nil {
					return err
				}
				return m.out(cmd, v, func(w io.Writer) { printProject(w, v) })
			})
		},
	}
}

func projectSettingsCmd(m *manageFlags) *cobra.Command {
	var sf settingsFlags
	cmd := &cobra.Command{
		Use:   "settings ID [--max-concurrent N --max-errors N --do-not-retry --include P --exclude P --date-from D --date-to D]",
		Short: "Change a project's advanced settings (only the flags given change)",
		Args:  idArg("project", "ferry project list --customer ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			settings, changed, err := sf.settings(cmd)
			if err != nil {
				return err
			}
			if !changed {
				return usageErr("say what to change: --max-concurrent, --max-errors, --do-not-retry, --include, --exclude, --date-from, --date-to or --limit-... (see 'ferry project show %s' for the current settings)", args[0])
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				if settings.PreflightLimits != nil {
					cur, err := a.Store.Project(ctx, mustID(args[0]))
					if err != nil {
						return err
					}
					merged := projects.LimitsOf(sf.mergeLimits(cmd, cur.Limits))
					settings.PreflightLimits = &merged
				}
				if _, err := a.Service.UpdateSettings(ctx, mustID(args[0]), settings); err != nil {
					return err
				}
				v, err := loadProjectView(ctx, a, mustID(args[0]))
				if err != nil {
					return err
				}
				return m.out(cmd, v, func(w io.Writer) {
					fmt.Fprintln(w, "settings changed; passes that start from now on use them")
					printProject(w, v)
				})
			})
		},
	}
	sf.register(cmd)
	return cmd
}

func projectCloseCmd(m *manageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "close ID",
		Short: "Close a project: stop its passes and erase its items' passwords",
		Args:  idArg("project", "ferry project list --customer ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				before, err := a.Store.Project(ctx, mustID(args[0]))
				if err != nil {
					return err
				}
				active := before.StatusBreakdown[store.StatusQueued] + before.StatusBreakdown[store.StatusRunning]
				p, err := a.Service.CloseProject(ctx, before.ID)
				if err != nil {
					return err
				}
				out := struct {
					store.Project
					Stopped   int  `json:"stopped"`
					WasClosed bool `json:"was_closed"`
				}{p, active, before.Closed}
				return m.out(cmd, out, func(w io.Writer) {
					if before.Closed {
						fmt.Fprintf(w, "project %d (%s) was closed already\n", p.ID, p.Name)
						return
					}
					fmt.Fprintf(w, "project %d (%s) closed: %d queued or running pass(es) stopped; the items' passwords are erased\n", p.ID, p.Name, active)
				})
			})
		},
	}
}

// runProjects is run for the project, item and pass commands: the
// service's faults name the flag of the field at fault.
func (m *manageFlags) runProjects(cmd *cobra.Command, fn func(ctx context.Context, a *app.App) error) error {
	return m.run(cmd, func(ctx context.Context, a *app.App) error {
		err := fn(ctx, a)
		if u := faultUsage(err, fieldFlags); u != nil {
			return u
		}
		return err
	})
}

// limitsText says a project's own pre-flight limits, or that the
// destination's apply.
func limitsText(l store.Limits) string {
	var parts []string
	if l.MaxMessageSize > 0 {
		parts = append(parts, fmt.Sprintf("messages up to %s", limit(l.MaxMessageSize)))
	}
	if l.MaxFolderItems > 0 {
		parts = append(parts, fmt.Sprintf("%d messages a folder", l.MaxFolderItems))
	}
	if l.MaxFolderDepth > 0 {
		parts = append(parts, fmt.Sprintf("%d folder levels", l.MaxFolderDepth))
	}
	if l.MaxFolderNameLength > 0 {
		parts = append(parts, fmt.Sprintf("%d characters a folder name", l.MaxFolderNameLength))
	}
	if l.MaxFolderPathLength > 0 {
		parts = append(parts, fmt.Sprintf("%d characters a folder path", l.MaxFolderPathLength))
	}
	if len(parts) == 0 {
		return "the destination's"
	}
	return strings.Join(parts, ", ") + "; the rest the destination's"
}
