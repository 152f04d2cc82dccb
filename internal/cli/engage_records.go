package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/engagements"
)

// engagementSuccessPlanCmd shows or records an engagement's success plan.
func engagementSuccessPlanCmd(m *engageFlags) *cobra.Command {
	var in engagements.SuccessPlanInput
	cmd := &cobra.Command{
		Use:   "success-plan ID [--goals G --owner EMAIL --agreed YYYY-MM-DD [--outcomes O]]",
		Short: "Show or record the success plan (goals, outcomes, owner, agreed date); Initiate exits only with one",
		Args:  engagementArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			set := cmd.Flags().NFlag() > 0 && (cmd.Flags().Changed("goals") || cmd.Flags().Changed("owner") || cmd.Flags().Changed("agreed") || cmd.Flags().Changed("outcomes"))
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				id := mustID(args[0])
				if set {
					p, err := a.Engagements.SetSuccessPlan(ctx, id, in)
					if err != nil {
						return err
					}
					return m.out(cmd, p, func(w io.Writer) {
						fmt.Fprintf(w, "success plan of engagement %d recorded: owner %s, agreed %s\n", id, p.Owner, fmtDay(p.Agreed))
					})
				}
				p, ok, err := a.Engagements.SuccessPlan(ctx, id)
				if err != nil {
					return err
				}
				if !ok {
					return usageErr("engagement %d has no success plan yet; record one: ferry engagement success-plan %d --goals G --owner EMAIL --agreed YYYY-MM-DD", id, id)
				}
				return m.out(cmd, p, func(w io.Writer) {
					tw := newTable(w)
					fmt.Fprintf(tw, "Goals:\t%s\n", p.Goals)
					fmt.Fprintf(tw, "Outcomes:\t%s\n", orDash(p.Outcomes))
					fmt.Fprintf(tw, "Owner:\t%s\n", p.Owner)
					fmt.Fprintf(tw, "Agreed:\t%s\n", fmtDay(p.Agreed))
					fmt.Fprintf(tw, "Recorded by:\t%s, %s\n", p.UpdatedBy, p.Updated.UTC().Format("2006-01-02 15:04 UTC"))
					tw.Flush()
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&in.Goals, "goals", "", "the customer's `GOALS` for the services")
	fl.StringVar(&in.Outcomes, "outcomes", "", "the `OUTCOMES` that show the goals met")
	fl.StringVar(&in.Owner, "owner", "", "the `EMAIL` of the plan owner's account")
	fl.StringVar(&in.Agreed, "agreed", "", "the `DAY` the plan was agreed, 2026-12-03")
	return cmd
}

// engagementGoNoGoCmd lists go/no-go decisions or records one.
func engagementGoNoGoCmd(m *engageFlags) *cobra.Command {
	var in engagements.GoNoGoInput
	cmd := &cobra.Command{
		Use:   "go-no-go ID [--event EVENT_ID --decision go|no-go [--notes N]]",
		Short: "List go/no-go decisions with their evidence, or record one at a go-no-go event",
		Args:  engagementArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			decide := cmd.Flags().Changed("event") || cmd.Flags().Changed("decision")
			if decide && in.EventID == 0 {
				return usageErr("--event: say at which go-no-go event (ferry event list --engagement %s)", args[0])
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				id := mustID(args[0])
				if decide {
					d, err := a.Engagements.DecideGoNoGo(ctx, id, in)
					if err != nil {
						return err
					}
					return m.out(cmd, d, func(w io.Writer) {
						fmt.Fprintf(w, "%s recorded at event %d by %s\n", strings.ToUpper(d.Decision), d.EventID, d.Who)
					})
				}
				ds, err := a.Engagements.GoNoGoDecisions(ctx, id)
				if err != nil {
					return err
				}
				return m.out(cmd, ds, func(w io.Writer) {
					if len(ds) == 0 {
						fmt.Fprintf(w, "no go/no-go decisions yet; record one: ferry engagement go-no-go %d --event EVENT_ID --decision go\n", id)
						return
					}
					for _, d := range ds {
						fmt.Fprintf(w, "%s  %s at %s by %s", d.At.UTC().Format("2006-01-02 15:04 UTC"), strings.ToUpper(d.Decision), d.Event, d.Who)
						if d.Notes != "" {
							fmt.Fprintf(w, ": %s", d.Notes)
						}
						fmt.Fprintln(w)
						for _, p := range d.Shown.Projects {
							fmt.Fprintf(w, "    %s: %d items %s, %d failed, %.1f MB/h, %.0f items/h\n", p.Name, p.Items, statusCounts(p.ByStatus), p.Failed, p.MBPerHour, p.ItemsPerHour)
						}
						for _, g := range d.Shown.Gates {
							state := "open"
							switch {
							case g.Exited:
								state = "exited"
							case g.CanExit:
								state = "can exit"
							}
							fmt.Fprintf(w, "    gate %s: %s\n", g.Phase, state)
						}
					}
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&in.EventID, "event", 0, "the go-no-go `EVENT_ID`")
	fl.StringVar(&in.Decision, "decision", "", "`go` or no-go")
	fl.StringVar(&in.Notes, "notes", "", "why (`NOTES`; required for a no-go)")
	return cmd
}

// statusCounts writes items by status as (Completed 3, Failed 1).
func statusCounts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// engagementResponsibilitiesCmd lists the customer's responsibilities or ticks one.
func engagementResponsibilitiesCmd(m *engageFlags) *cobra.Command {
	var tick, untick string
	cmd := &cobra.Command{
		Use:   "responsibilities ID [--tick KEY | --untick KEY]",
		Short: "List the customer's responsibilities of each phase (seed 001), or tick one off",
		Args:  engagementArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tick != "" && untick != "" {
				return usageErr("--tick or --untick: one at a time")
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				id := mustID(args[0])
				if key := tick + untick; key != "" {
					r, err := a.Engagements.TickResponsibility(ctx, id, key, tick != "")
					if err != nil {
						return err
					}
					return m.out(cmd, r, func(w io.Writer) {
						state := "done"
						if !r.Done {
							state = "not done"
						}
						fmt.Fprintf(w, "%s: %s (%s)\n", r.Key, state, r.Text)
					})
				}
				list, err := a.Engagements.Responsibilities(ctx, id)
				if err != nil {
					return err
				}
				return m.out(cmd, list, func(w io.Writer) {
					tw := newTable(w)
					fmt.Fprintln(tw, "PHASE\tDONE\tKEY\tRESPONSIBILITY")
					for _, r := range list {
						done := ""
						if r.Done {
							done = "yes (" + r.Who + ")"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", orDash(r.Phase), done, r.Key, r.Text)
					}
					tw.Flush()
				})
			})
		},
	}
	cmd.Flags().StringVar(&tick, "tick", "", "the `KEY` of a responsibility to tick off")
	cmd.Flags().StringVar(&untick, "untick", "", "the `KEY` of a responsibility to untick")
	return cmd
}
