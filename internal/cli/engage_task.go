package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/store"
)

// ---- ferry task

func newTaskCmd() *cobra.Command {
	var m engageFlags
	cmd := groupCmd("task", "List, update and log time on an engagement's tasks")
	m.register(cmd)
	cmd.AddCommand(taskListCmd(&m), taskMineCmd(&m), taskUpdateCmd(&m), taskTimeCmd(&m), taskHistoryCmd(&m))
	return cmd
}

// parseStatus accepts a task status in any case.
func parseStatus(flag, s string) (string, error) {
	for _, st := range engagements.Statuses {
		if strings.EqualFold(st, strings.TrimSpace(s)) {
			return st, nil
		}
	}
	return "", usageErr("%s: unknown status %q; use one of: %s", flag, s, strings.Join(engagements.Statuses, ", "))
}

func printTasks(w io.Writer, tasks []store.EngagementTask, withEngagement bool) {
	tw := newTable(w)
	if withEngagement {
		fmt.Fprint(tw, "ENGAGEMENT\t")
	}
	fmt.Fprintln(tw, "ROW\tTASK\tPHASE\tNAME\tROLE\tMANDATORY\tSTATUS\t%\tDUE\tMINUTES")
	for _, t := range tasks {
		if withEngagement {
			fmt.Fprintf(tw, "%d\t", t.EngagementID)
		}
		status := t.Status
		if t.Retired {
			status += " (retired)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\n", t.ID, t.TaskID, t.Phase, clip(t.Name, 60), t.Role, yesNo(t.Mandatory), status, t.Percent, day(t.Due), t.Minutes)
	}
	tw.Flush()
}

func taskListCmd(m *engageFlags) *cobra.Command {
	var (
		engagement                   int64
		phase, service, role, status string
		retired                      bool
	)
	cmd := &cobra.Command{
		Use:   "list --engagement ID [--phase P] [--service S|all] [--role R] [--status S]",
		Short: "List an engagement's tasks (Core Onboarding unless --service says otherwise)",
		Long: `List an engagement's tasks. The default view is Core Onboarding (--service
core); --service all shows every service. Tasks that apply to every service
show in every view.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			if status != "" {
				var err error
				if status, err = parseStatus("--status", status); err != nil {
					return err
				}
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				pb := a.Engagements.Playbook
				if phase != "" {
					found := false
					for _, ph := range pb.Phases {
						if strings.EqualFold(ph.Name, phase) {
							phase, found = ph.Name, true
						}
					}
					if !found {
						var names []string
						for _, ph := range pb.Phases {
							names = append(names, ph.Name)
						}
						return usageErr("--phase: unknown phase %q; use one of %s", phase, strings.Join(names, ", "))
					}
				}
				if service != "all" {
					var ids []string
					for _, s := range pb.Services {
						ids = append(ids, s.ID)
					}
					if !slices.Contains(ids, service) {
						return usageErr("--service: unknown service %q; use all or one of %s", service, strings.Join(ids, ", "))
					}
				}
				if role != "" {
					if _, ok := pb.Role(role); !ok {
						var ids []string
						for _, r := range pb.Roles {
							ids = append(ids, r.ID)
						}
						return usageErr("--role: unknown role %q; use one of %s", role, strings.Join(ids, ", "))
					}
				}
				if _, err := a.Store.Engagement(ctx, engagement); err != nil {
					return err
				}
				all, err := a.Store.EngagementTasks(ctx, engagement)
				if err != nil {
					return err
				}
				tasks := []store.EngagementTask{}
				for _, t := range all {
					switch {
					case t.Retired && !retired,
						phase != "" && t.Phase != phase,
						service != "all" && len(t.Services) > 0 && !slices.Contains(t.Services, service),
						role != "" && t.Role != role,
						status != "" && t.Status != status:
						continue
					}
					tasks = append(tasks, t)
				}
				return m.out(cmd, tasks, func(w io.Writer) {
					view := "all services"
					if service != "all" {
						view = service
						for _, s := range pb.Services {
							if s.ID == service {
								view = s.Name
							}
						}
					}
					if len(tasks) == 0 {
						fmt.Fprintf(w, "no tasks match (view: %s)\n", view)
						return
					}
					fmt.Fprintf(w, "%d task(s); view: %s\n", len(tasks), view)
					printTasks(w, tasks, false)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	fl.StringVar(&phase, "phase", "", "only this `PHASE`")
	fl.StringVar(&service, "service", "core", "only this `SERVICE` (core is Core Onboarding), or all")
	fl.StringVar(&role, "role", "", "only this `ROLE`")
	fl.StringVar(&status, "status", "", "only this `STATUS`, e.g. \"Not Started\"")
	fl.BoolVar(&retired, "retired", false, "include tasks retired by a scope change")
	return cmd
}

func taskMineCmd(m *engageFlags) *cobra.Command {
	var person string
	cmd := &cobra.Command{
		Use:   "mine [--as ACCOUNT]",
		Short: "List the tasks of an account's roles across engagements (default: the account named like you)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				who := strings.TrimSpace(person)
				if who == "" {
					u, err := operatorAccount(ctx, a)
					if err != nil {
						return err
					}
					who = u.Email
				}
				tasks, err := a.Engagements.MyTasks(ctx, who)
				if err != nil {
					return err
				}
				tasks = nonNil(tasks)
				return m.out(cmd, tasks, func(w io.Writer) {
					if len(tasks) == 0 {
						fmt.Fprintf(w, "%s has no tasks (no roles assigned, or none with tasks)\n", who)
						return
					}
					printTasks(w, tasks, true)
				})
			})
		},
	}
	cmd.Flags().StringVar(&person, "as", "", "the `ACCOUNT` (e-mail or number) whose tasks to list")
	cmd.Flags().StringVar(&person, "person", "", "the same as --as")
	cmd.Flags().MarkHidden("person")
	return cmd
}

// operatorAccount is the account of the person running the command: the
// one whose e-mail, or e-mail before the @, is their OS user name.
func operatorAccount(ctx context.Context, a *app.App) (store.User, error) {
	name := whoAmI()
	us, err := a.Store.Users(ctx)
	if err != nil {
		return store.User{}, err
	}
	var found []store.User
	for _, u := range us {
		local, _, _ := strings.Cut(u.Email, "@")
		if !u.Disabled && (strings.EqualFold(u.Email, name) || strings.EqualFold(local, name)) {
			found = append(found, u)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return store.User{}, usageErr("--as: say whose tasks: no account is named like your user name %q; give the account's e-mail (ferry user list)", name)
	}
	var emails []string
	for _, u := range found {
		emails = append(emails, u.Email)
	}
	return store.User{}, usageErr("--as: say whose tasks: several accounts are named like your user name %q (%s)", name, strings.Join(emails, ", "))
}

func taskArg() cobra.PositionalArgs {
	return idArg("task", "ferry task list --engagement ID (the ROW column)")
}

func taskUpdateCmd(m *engageFlags) *cobra.Command {
	var (
		as, status, notes, due string
		percent                int
	)
	cmd := &cobra.Command{
		Use:   "update TASK_ROW_ID --as PERSON [--status S] [--percent N] [--notes TEXT] [--due YYYY-MM-DD]",
		Short: "Change a task's status, percent complete, notes or due date",
		Args:  taskArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needText("--as", as, "who makes the change"); err != nil {
				return err
			}
			var u engagements.TaskUpdate
			fl := cmd.Flags()
			if fl.Changed("status") {
				st, err := parseStatus("--status", status)
				if err != nil {
					return err
				}
				u.Status = &st
			}
			if fl.Changed("percent") {
				if percent < 0 || percent > 100 {
					return usageErr("--percent: %d: use 0 to 100", percent)
				}
				u.Percent = &percent
			}
			if fl.Changed("notes") {
				u.Notes = &notes
			}
			if fl.Changed("due") {
				d, err := time.Parse("2006-01-02", due)
				if err != nil {
					return usageErr("--due: %q is not a date; write it as YYYY-MM-DD", due)
				}
				u.Due = &d
			}
			if u == (engagements.TaskUpdate{}) {
				return usageErr("--status, --percent, --notes or --due: say what to change")
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				t, err := a.Engagements.UpdateTask(ctx, mustID(args[0]), u, as)
				if err != nil {
					return err
				}
				return m.out(cmd, t, func(w io.Writer) {
					fmt.Fprintf(w, "task %s (row %d) %s: %s, %d%%", t.TaskID, t.ID, clip(t.Name, 60), t.Status, t.Percent)
					if !t.Due.IsZero() {
						fmt.Fprintf(w, ", due %s", day(t.Due))
					}
					fmt.Fprintln(w)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&as, "as", "", "the `PERSON` making the change")
	fl.StringVar(&status, "status", "", "the new `STATUS`, e.g. \"In Progress\", Complete, \"Not Required\"")
	fl.IntVar(&percent, "percent", 0, "percent complete (`N`, 0 to 100)")
	fl.StringVar(&notes, "notes", "", "the task's `NOTES`")
	fl.StringVar(&due, "due", "", "due `DATE` (YYYY-MM-DD)")
	return cmd
}

func taskTimeCmd(m *engageFlags) *cobra.Command {
	var (
		as, note string
		minutes  int
	)
	cmd := &cobra.Command{
		Use:   "time TASK_ROW_ID --as PERSON --minutes N [--note TEXT]",
		Short: "Log time spent on a task",
		Args:  taskArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needText("--as", as, "who spent the time"); err != nil {
				return err
			}
			if !cmd.Flags().Changed("minutes") {
				return usageErr("--minutes: say how many minutes were spent")
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				te, err := a.Engagements.LogTime(ctx, mustID(args[0]), as, minutes, note)
				if err != nil {
					return err
				}
				return m.out(cmd, te, func(w io.Writer) {
					fmt.Fprintf(w, "%d minute(s) logged on task row %d by %s\n", te.Minutes, te.TaskID, te.Who)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&as, "as", "", "the `PERSON` who spent the time")
	fl.IntVar(&minutes, "minutes", 0, "`N` minutes (1 to 1440)")
	fl.StringVar(&note, "note", "", "what was done (`TEXT`)")
	return cmd
}

func taskHistoryCmd(m *engageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "history TASK_ROW_ID",
		Short: "Show who changed what on a task, and the time logged",
		Args:  taskArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				id := mustID(args[0])
				t, err := a.Store.EngagementTask(ctx, id)
				if err != nil {
					return err
				}
				evs, err := a.Store.TaskEvents(ctx, id)
				if err != nil {
					return err
				}
				tes, err := a.Store.TimeEntries(ctx, id)
				if err != nil {
					return err
				}
				out := struct {
					Task   store.EngagementTask `json:"task"`
					Events []store.TaskEvent    `json:"events"`
					Time   []store.TimeEntry    `json:"time"`
				}{t, nonNil(evs), nonNil(tes)}
				return m.out(cmd, out, func(w io.Writer) {
					fmt.Fprintf(w, "Task %s (row %d): %s\n\n", t.TaskID, t.ID, t.Name)
					if len(evs) == 0 {
						fmt.Fprintln(w, "no changes yet")
					} else {
						tw := newTable(w)
						fmt.Fprintln(tw, "WHEN\tWHO\tFIELD\tBEFORE\tAFTER")
						for _, ev := range evs {
							fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", stamp(ev.At), ev.Who, ev.Field, orDash(clip(ev.Before, 40)), orDash(clip(ev.After, 40)))
						}
						tw.Flush()
					}
					if len(tes) > 0 {
						fmt.Fprintln(w, "\nTime logged")
						tw := newTable(w)
						fmt.Fprintln(tw, "WHEN\tWHO\tMINUTES\tNOTE")
						for _, te := range tes {
							fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", stamp(te.At), te.Who, te.Minutes, orDash(te.Note))
						}
						tw.Flush()
					}
				})
			})
		},
	}
}

// ---- ferry checklist

func newChecklistCmd() *cobra.Command {
	var m engageFlags
	cmd := groupCmd("checklist", "Keep an engagement's remediation checklist (gate 1700 waits for it)")
	m.register(cmd)
	cmd.AddCommand(checklistAddCmd(&m), checklistListCmd(&m), checklistUpdateCmd(&m), checklistWaiveCmd(&m), checklistExportCmd(&m))
	return cmd
}

func printChecklist(w io.Writer, items []store.ChecklistItem) {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tTITLE\tSEVERITY\tOWNER\tSTATE\tSOURCE\tUPDATED")
	for _, c := range items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, clip(c.Title, 60), c.Severity, orDash(c.Owner), c.State, orDash(c.Source), stamp(c.Updated))
	}
	tw.Flush()
}

func checklistAddCmd(m *engageFlags) *cobra.Command {
	var (
		engagement int64
		in         engagements.ChecklistInput
	)
	cmd := &cobra.Command{
		Use:   "add --engagement ID --title TITLE --severity low|medium|high|critical [--owner O] [--notes N] [--source S]",
		Short: "Add a remediation checklist item",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			if err := needText("--title", in.Title, "what needs remediation"); err != nil {
				return err
			}
			if err := needText("--severity", in.Severity, "how severe: low, medium, high or critical"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				c, err := a.Engagements.AddChecklistItem(ctx, engagement, in)
				if err != nil {
					return err
				}
				return m.out(cmd, c, func(w io.Writer) {
					fmt.Fprintf(w, "checklist item %d added to engagement %d: %s (%s, %s)\n", c.ID, engagement, c.Title, c.Severity, c.State)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	fl.StringVar(&in.Title, "title", "", "what needs remediation (`TITLE`)")
	fl.StringVar(&in.Severity, "severity", "", "`SEVERITY`: low, medium, high or critical")
	fl.StringVar(&in.Owner, "owner", "", "who fixes it (`OWNER`)")
	fl.StringVar(&in.Notes, "notes", "", "`NOTES`")
	fl.StringVar(&in.Source, "source", engagements.ChecklistSourcePerson, "who or what raised it (`SOURCE`): person, or the tool that found it")
	return cmd
}

func checklistListCmd(m *engageFlags) *cobra.Command {
	var engagement int64
	cmd := &cobra.Command{
		Use:   "list --engagement ID",
		Short: "List the remediation checklist",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Store.Engagement(ctx, engagement); err != nil {
					return err
				}
				items, err := a.Store.ChecklistItems(ctx, engagement)
				if err != nil {
					return err
				}
				items = nonNil(items)
				return m.out(cmd, items, func(w io.Writer) {
					if len(items) == 0 {
						fmt.Fprintf(w, "the remediation checklist of engagement %d is empty\n", engagement)
						return
					}
					printChecklist(w, items)
				})
			})
		},
	}
	cmd.Flags().Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	return cmd
}

func checklistUpdateCmd(m *engageFlags) *cobra.Command {
	var (
		engagement          int64
		state, owner, notes string
		due                 string
	)
	cmd := &cobra.Command{
		Use:   "update ITEM_ID --engagement ID [--state open|in-progress|resolved|wont-fix] [--owner EMAIL] [--notes N] [--due YYYY-MM-DD] (to waive: ferry checklist waive)",
		Short: "Change a checklist item's state, owner, notes or due date",
		Args:  idArg("checklist item", "ferry checklist list --engagement ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			fl := cmd.Flags()
			var sp, op, np *string
			if fl.Changed("state") {
				sp = &state
			}
			if fl.Changed("owner") {
				op = &owner
			}
			if fl.Changed("notes") {
				np = &notes
			}
			var dp *string
			if fl.Changed("due") {
				dp = &due
			}
			if sp == nil && op == nil && np == nil && dp == nil {
				return usageErr("--state, --owner, --notes or --due: say what to change")
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Store.Engagement(ctx, engagement); err != nil {
					return err
				}
				c, err := a.Engagements.EditChecklistItem(ctx, engagement, mustID(args[0]), engagements.ChecklistEdit{State: sp, Owner: op, Notes: np, Due: dp})
				if err != nil {
					return err
				}
				return m.out(cmd, c, func(w io.Writer) {
					fmt.Fprintf(w, "checklist item %d: %s (%s, owner %s, due %s)\n", c.ID, c.Title, c.State, orDash(c.Owner), orDash(fmtDay(c.Due)))
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	fl.StringVar(&state, "state", "", "`STATE`: open, in-progress, resolved or wont-fix")
	fl.StringVar(&owner, "owner", "", "the `EMAIL` of the owner's account (\"\" for none)")
	fl.StringVar(&notes, "notes", "", "`NOTES`")
	fl.StringVar(&due, "due", "", "the `DAY` it is due, 2026-12-24 (\"\" for none)")
	return cmd
}

func checklistWaiveCmd(m *engageFlags) *cobra.Command {
	var (
		engagement int64
		reason     string
	)
	cmd := &cobra.Command{
		Use:   "waive ITEM_ID --engagement ID --reason TEXT",
		Short: "Accept a checklist item as it is, saying why (gate 1700 counts it as resolved)",
		Args:  idArg("checklist item", "ferry checklist list --engagement ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			if err := needText("--reason", reason, "why the item is accepted as it is"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				c, err := a.Engagements.WaiveChecklistItem(ctx, engagement, mustID(args[0]), reason)
				if err != nil {
					return err
				}
				return m.out(cmd, c, func(w io.Writer) {
					fmt.Fprintf(w, "checklist item %d waived by %s: %s\n", c.ID, c.WaivedBy, c.Title)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	fl.StringVar(&reason, "reason", "", "why the item is accepted as it is (`TEXT`)")
	return cmd
}

func checklistExportCmd(m *engageFlags) *cobra.Command {
	var (
		engagement int64
		output     string
	)
	cmd := &cobra.Command{
		Use:   "export --engagement ID [--output FILE]",
		Short: "Write the remediation checklist as CSV (findings with mailbox, check, what was found and what to do)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				if output == "" {
					return a.Engagements.ChecklistCSV(ctx, engagement, cmd.OutOrStdout())
				}
				f, err := createPrivate(output)
				if err != nil {
					return usageErr("--output: %v", err)
				}
				defer f.Close()
				if err := a.Engagements.ChecklistCSV(ctx, engagement, f); err != nil {
					return err
				}
				return f.Close()
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	fl.StringVarP(&output, "output", "o", "", "write to `FILE` instead of standard output")
	return cmd
}

// ---- ferry issue

func newIssueCmd() *cobra.Command {
	var m engageFlags
	cmd := groupCmd("issue", "Report, list, assign, close and reopen post-migration issues")
	m.register(cmd)
	cmd.AddCommand(issueReportCmd(&m), issueListCmd(&m), issueUpdateCmd(&m), issueHistoryCmd(&m))
	return cmd
}

func lateMark(late bool) string {
	if late {
		return "LATE"
	}
	return "in time"
}

func issueReportCmd(m *engageFlags) *cobra.Command {
	var (
		engagement int64
		in         engagements.IssueInput
		migrated   string
	)
	cmd := &cobra.Command{
		Use:   "report --engagement ID --mailbox M --description D [--migrated-at RFC3339] [--owner O]",
		Short: "Report a post-migration issue; it is late after five business days",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			if err := needText("--mailbox", in.Mailbox, "which mailbox"); err != nil {
				return err
			}
			if err := needText("--description", in.Description, "what is wrong"); err != nil {
				return err
			}
			if migrated != "" { // else: the mailbox's last Full pass in the customer's projects
				t, err := time.Parse(time.RFC3339, migrated)
				if err != nil {
					return usageErr("--migrated-at: %q is not a time; write it as RFC 3339, e.g. 2026-12-05T18:00:00+01:00 or 2026-12-05T17:00:00Z", migrated)
				}
				in.MigratedAt = t
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				p, err := a.Engagements.ReportIssue(ctx, engagement, in)
				if err != nil {
					return err
				}
				return m.out(cmd, p, func(w io.Writer) {
					fmt.Fprintf(w, "issue %d recorded for %s; reporting deadline %s: %s\n", p.ID, p.Mailbox, p.Deadline.Format("2006-01-02 15:04 MST"), lateMark(p.Late))
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	fl.StringVar(&in.Mailbox, "mailbox", "", "the `MAILBOX`")
	fl.StringVar(&migrated, "migrated-at", "", "when the mailbox was migrated (`TIME`, RFC 3339); default: the end of its last completed Full pass in the customer's projects")
	fl.StringVar(&in.Description, "description", "", "what is wrong (`TEXT`)")
	fl.StringVar(&in.Owner, "owner", "", "who looks into it (`OWNER`)")
	return cmd
}

func issueListCmd(m *engageFlags) *cobra.Command {
	var engagement int64
	cmd := &cobra.Command{
		Use:   "list --engagement ID",
		Short: "List post-migration issues",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Store.Engagement(ctx, engagement); err != nil {
					return err
				}
				ps, err := a.Store.PostMigrationIssues(ctx, engagement)
				if err != nil {
					return err
				}
				ps = nonNil(ps)
				return m.out(cmd, ps, func(w io.Writer) {
					if len(ps) == 0 {
						fmt.Fprintf(w, "no post-migration issues reported for engagement %d\n", engagement)
						return
					}
					tw := newTable(w)
					fmt.Fprintln(tw, "ID\tMAILBOX\tMIGRATED\tREPORTED\tDEADLINE\tLATE\tOWNER\tSTATUS\tDESCRIPTION")
					for _, p := range ps {
						late := "-"
						if p.Late {
							late = "LATE"
						}
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Mailbox, stamp(p.MigratedAt), stamp(p.ReportedAt), stamp(p.Deadline),
							late, orDash(p.Owner), p.Status, clip(p.Description, 50))
					}
					tw.Flush()
				})
			})
		},
	}
	cmd.Flags().Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	return cmd
}

// ---- ferry event

func newEventCmd() *cobra.Command {
	var m engageFlags
	cmd := groupCmd("event", "Schedule migration windows, waves and meetings")
	m.register(cmd)
	cmd.AddCommand(eventAddCmd(&m), eventListCmd(&m))
	return cmd
}

// inZone shows t in the event's time zone.
func inZone(t time.Time, zone string) string {
	if loc, err := time.LoadLocation(zone); err == nil {
		t = t.In(loc)
	}
	return t.Format("2006-01-02 15:04")
}

func eventAddCmd(m *engageFlags) *cobra.Command {
	var (
		engagement int64
		in         engagements.EventInput
	)
	cmd := &cobra.Command{
		Use:   `add --engagement ID --kind migration-window|wave|go-no-go|meeting --title T --starts "2026-12-05 18:00" --ends "2026-12-06 06:00" --time-zone Europe/Berlin [--notes N]`,
		Short: "Schedule an event; times are read in its time zone",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			if err := needText("--kind", in.Kind, "what kind of event: migration-window, wave, go-no-go or meeting"); err != nil {
				return err
			}
			if err := needText("--title", in.Title, "the event's title"); err != nil {
				return err
			}
			if err := needText("--time-zone", in.TimeZone, "the time zone of --starts and --ends, e.g. Europe/Berlin"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				ev, err := a.Engagements.ScheduleEvent(ctx, engagement, in)
				if err != nil {
					return err
				}
				return m.out(cmd, ev, func(w io.Writer) {
					fmt.Fprintf(w, "event %d scheduled: %s %q, %s to %s (%s)\n", ev.ID, ev.Kind, ev.Title, inZone(ev.Starts, ev.TimeZone), inZone(ev.Ends, ev.TimeZone), ev.TimeZone)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	fl.StringVar(&in.Kind, "kind", "", "`KIND`: migration-window, wave, go-no-go or meeting")
	fl.StringVar(&in.Title, "title", "", "the event's `TITLE`")
	fl.StringVar(&in.Starts, "starts", "", "start `TIME`, \"2026-12-05 18:00\" in --time-zone")
	fl.StringVar(&in.Ends, "ends", "", "end `TIME`, \"2026-12-06 06:00\" in --time-zone")
	fl.StringVar(&in.TimeZone, "time-zone", "", "IANA time `ZONE`, e.g. Europe/Berlin")
	fl.StringVar(&in.Notes, "notes", "", "`NOTES`")
	fl.StringVar(&in.Recurrence, "recurrence", "", "repeat the event: `RULE` such as FREQ=WEEKLY or FREQ=WEEKLY;COUNT=12 (RFC 5545 RRULE: FREQ, INTERVAL, COUNT, UNTIL=YYYYMMDD)")
	return cmd
}

func eventListCmd(m *engageFlags) *cobra.Command {
	var engagement int64
	cmd := &cobra.Command{
		Use:   "list --engagement ID",
		Short: "List scheduled events, in each event's time zone",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Store.Engagement(ctx, engagement); err != nil {
					return err
				}
				evs, err := a.Store.Events(ctx, engagement)
				if err != nil {
					return err
				}
				evs = nonNil(evs)
				return m.out(cmd, evs, func(w io.Writer) {
					if len(evs) == 0 {
						fmt.Fprintf(w, "no events scheduled for engagement %d\n", engagement)
						return
					}
					tw := newTable(w)
					fmt.Fprintln(tw, "ID\tKIND\tTITLE\tSTARTS\tENDS\tTIME ZONE\tNOTES")
					for _, ev := range evs {
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.ID, ev.Kind, ev.Title, inZone(ev.Starts, ev.TimeZone), inZone(ev.Ends, ev.TimeZone), ev.TimeZone, orDash(clip(ev.Notes, 40)))
					}
					tw.Flush()
				})
			})
		},
	}
	cmd.Flags().Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	return cmd
}

// fmtDay writes a day as 2026-12-24, "" for none.
func fmtDay(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}
