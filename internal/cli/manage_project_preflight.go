package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/preflight"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

func projectPreflightCmd(m *manageFlags) *cobra.Command {
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "preflight ID [--wait DURATION]",
		Short: "Queue a pre-flight of every mailbox of the project (copies nothing)",
		Long: `Queue a pre-flight of the project: a job that signs in on both sides for
every mailbox (as the endpoint's administrator where it has one), checks the
destination mailbox exists, reads each source folder's size and message
count (STATUS), the destination's quota, the messages over the
destination's size limit (by size and envelope, never bodies), and the
folder names, depths and lengths the destination will refuse or that would
meet another folder; it copies nothing. Limits come from the destination's
type (Microsoft 365, Gmail, Exchange...), its endpoint and the project
('ferry project settings --limit-...'). Each finding becomes an item of the
engagement's remediation checklist, resolved when a later run no longer
finds it. 'ferry serve' or a 'ferry worker' runs the job; --wait waits for
it and prints the findings. 'ferry project findings ID' shows them later.`,
		Args: idArg("project", "ferry project list --customer ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				run, err := a.Service.StartPreflight(ctx, mustID(args[0]))
				if err != nil {
					return err
				}
				if wait <= 0 {
					return m.out(cmd, run, func(w io.Writer) {
						fmt.Fprintf(w, "pre-flight %d of project %d queued; 'ferry serve' or a 'ferry worker' runs it; see 'ferry project findings %d'\n", run.ID, run.ProjectID, run.ProjectID)
					})
				}
				v, err := waitPreflight(ctx, a, run, wait)
				if err != nil {
					return err
				}
				return m.out(cmd, v, func(w io.Writer) { printPreflight(w, v) })
			})
		},
	}
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to `DURATION` (e.g. 10m) for the run to finish and print its findings")
	return cmd
}

// waitPreflight waits for a run to finish, asking every second.
func waitPreflight(ctx context.Context, a *app.App, run store.PreflightRun, wait time.Duration) (*projects.PreflightView, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		v, err := a.Service.Preflight(ctx, run.ProjectID)
		if err != nil {
			return nil, err
		}
		if v.Latest != nil && v.Latest.ID == run.ID && (v.Latest.State == store.PreflightDone || v.Latest.State == store.PreflightFailed) {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return nil, &exitError{code: ExitFailures, err: fmt.Errorf("pre-flight %d has not finished after %s (is 'ferry serve' or a 'ferry worker' running?); see 'ferry project findings %d' later", run.ID, wait, run.ProjectID)}
		case <-tick.C:
		}
	}
}

func projectFindingsCmd(m *manageFlags) *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "findings ID [--format table|csv] [--output FILE]",
		Short: "Show the findings of a project's latest pre-flight (or export them as CSV)",
		Args:  idArg("project", "ferry project list --customer ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "csv" {
				return usageErr("--format: %q; use table or csv", format)
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				v, err := a.Service.Preflight(ctx, mustID(args[0]))
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				if output != "" {
					f, err := createPrivate(output)
					if err != nil {
						return usageErr("--output: %v", err)
					}
					defer f.Close()
					w = f
				}
				if format == "csv" {
					var findings []preflight.Finding
					if v.Report != nil {
						findings = v.Report.Findings
					}
					return preflight.WriteCSV(w, findings)
				}
				if m.json {
					return printJSON(w, v)
				}
				printPreflight(w, v)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "`table` or csv")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to `FILE` instead of standard output")
	return cmd
}

func printPreflight(w io.Writer, v *projects.PreflightView) {
	if v.Latest == nil {
		fmt.Fprintln(w, "no pre-flight yet: run 'ferry project preflight ID'")
		return
	}
	l := v.Latest
	fmt.Fprintf(w, "pre-flight %d: %s (queued %s", l.ID, l.State, stamp(l.Queued))
	if !l.Finished.IsZero() {
		fmt.Fprintf(w, ", finished %s", stamp(l.Finished))
	}
	fmt.Fprintln(w, ")")
	if l.Error != "" {
		fmt.Fprintf(w, "error: %s\n", l.Error)
	}
	r := v.Report
	if r == nil {
		return
	}
	fmt.Fprintf(w, "%d mailboxes, %d messages, %.1f MB at the source\n", len(r.Mailboxes), r.Messages, float64(r.Bytes)/1e6)
	if r.MBPerHour > 0 {
		fmt.Fprintf(w, "measured on this project's %s pass: %.1f MB/hr, %.0f items/hr; the source would take about %.1f hours\n", r.ThroughputPass, r.MBPerHour, r.ItemsPerHour, r.EstimateHours)
	} else {
		fmt.Fprintln(w, "no throughput measured yet: run a Trial pass to measure it")
	}
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "no findings")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "MAILBOX\tCHECK\tSEVERITY\tFOUND\tWHAT TO DO")
	for _, f := range r.Findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Mailbox, f.Check, f.Severity, clip(f.Found, 90), clip(f.Action, 70))
	}
	tw.Flush()
}
