package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/mailboxcsv"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/waves"
)

func newWavesCmd() *cobra.Command {
	var m manageFlags
	cmd := groupCmd("waves", "Plan migration waves from mailbox permissions, and accept them on a project")
	m.register(cmd)
	cmd.AddCommand(wavesPlanCmd(&m), wavesAcceptCmd(&m), wavesListCmd(&m))
	return cmd
}

// waveFlags are the planning flags plan and accept share.
type waveFlags struct {
	permissions, mailboxes string
	in                     projects.WavePlanInput
}

var waveFieldFlags = map[string]string{
	"permissions":           "--permissions",
	"mailboxes":             "--mailboxes",
	"max_per_wave":          "--max-per-wave",
	"max_gb_per_wave":       "--max-gb-per-wave",
	"start":                 "--start",
	"every":                 "--every",
	"time_zone":             "--time-zone",
	"project":               "--project",
	"prestage_days_before":  "--prestage-days-before",
	"older_than_days":       "--older-than-days",
	"go_no_go_hours_before": "--go-no-go-hours-before",
	"waves":                 "",
}

func (f *waveFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.permissions, "permissions", "", "the permissions export `FILE` (Mailbox,User,AccessRights from Get-MailboxPermission and Get-RecipientPermission)")
	fl.StringVar(&f.mailboxes, "mailboxes", "", "Mailboxes.csv `FILE` (PrimarySMTPAddress,MailboxSize(MB)); without it the export's mailboxes, or the project's items, are planned")
	fl.IntVar(&f.in.MaxPerWave, "max-per-wave", 0, "at most `N` mailboxes per wave (0: no limit)")
	fl.Float64Var(&f.in.MaxGBPerWave, "max-gb-per-wave", 0, "at most `G` GB per wave (0: no limit)")
	fl.StringVar(&f.in.Start, "start", "", "the first `DATE` a wave may cut over, e.g. 2027-01-08")
	fl.StringVar(&f.in.Every, "every", "Fri 18:00", "when waves cut over: a weekday and a time (`WHEN`), or \"daily 02:00\"")
	fl.StringVar(&f.in.TimeZone, "time-zone", "UTC", "the IANA time `ZONE` of --start and --every, e.g. Europe/Berlin")
}

// read loads the files into the input (bounded like the API's uploads).
func (f *waveFlags) read() error {
	if f.permissions == "" {
		return usageErr("--permissions: give the permissions export (Mailbox,User,AccessRights), e.g. --permissions Permissions.csv")
	}
	var err error
	if f.in.Permissions, err = readBounded("--permissions", f.permissions); err != nil {
		return err
	}
	if f.mailboxes != "" {
		if f.in.Mailboxes, err = readBounded("--mailboxes", f.mailboxes); err != nil {
			return err
		}
	}
	return nil
}

func readBounded(flag, path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", usageErr("%s: %v", flag, err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, waves.MaxFileBytes+1))
	if err != nil {
		return "", usageErr("%s: %v", flag, err)
	}
	return string(b), nil
}

// planFromFiles plans without a project: the mailboxes are Mailboxes.csv's,
// or those the export names, and no rate is measured.
func planFromFiles(f *waveFlags) (*waves.Plan, error) {
	in := f.in
	o, err := waves.NewOptions(in.MaxPerWave, in.MaxGBPerWave, in.Start, in.Every, in.TimeZone)
	if fe, ok := fault.As(err); ok && fe.Kind == fault.Invalid {
		return nil, usageErr("%s: %s", waveFieldFlags[fe.Field], fe.Msg)
	}
	perms, err := waves.ParsePermissions(filepath.Base(f.permissions), strings.NewReader(in.Permissions))
	if err != nil {
		return nil, fileProblems("--permissions", err)
	}
	mbs := waves.MailboxesOf(perms)
	if in.Mailboxes != "" {
		if mbs, err = waves.ParseMailboxes(filepath.Base(f.mailboxes), strings.NewReader(in.Mailboxes)); err != nil {
			return nil, fileProblems("--mailboxes", err)
		}
	}
	plan, err := waves.Make(mbs, perms, o)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return plan, nil
}

func fileProblems(flag string, err error) error {
	var es mailboxcsv.Errors
	if errors.As(err, &es) {
		return usageErr("%s:\n%v", flag, es)
	}
	return usageErr("%s: %v", flag, err)
}

// writePlan writes Batches.csv, Schedule.csv and the two pictures into dir.
func writePlan(dir string, plan *waves.Plan) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, usageErr("--out: %v", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"Batches.csv", plan.WriteBatches},
		{"Schedule.csv", plan.WriteSchedule},
		{"Permissions.svg", func(w io.Writer) error { _, err := io.WriteString(w, plan.GraphSVG()); return err }},
		{"Timeline.svg", func(w io.Writer) error { _, err := io.WriteString(w, plan.TimelineSVG()); return err }},
	}
	var written []string
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		fh, err := createPrivate(path)
		if err != nil {
			return written, usageErr("--out: %v", err)
		}
		err = f.write(fh)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return written, fmt.Errorf("write %s: %w", path, err)
		}
		written = append(written, path)
	}
	return written, nil
}

func wavesPlanCmd(m *manageFlags) *cobra.Command {
	var (
		f       waveFlags
		out     string
		project int64
	)
	cmd := &cobra.Command{
		Use:   "plan --permissions FILE [--mailboxes FILE] --max-per-wave N --max-gb-per-wave G --start DATE --every \"Fri 18:00\" --out DIR [--project ID]",
		Short: "Group mailboxes that share permissions into waves; write Batches.csv and Schedule.csv",
		Long: `Plan migration waves (playbook tasks 3203 and 3208). Mailboxes tied by a
permission (FullAccess, SendAs, SendOnBehalf, calendar and folder delegates)
move in the same wave: each connected group is a batch (BATCH-1...), never
split; the others (BATCH-NoDependencies) fill the waves by size. A batch
larger than a wave gets a wave of its own, and the plan names the fewest,
weakest permissions whose removal would split it. NT AUTHORITY\SELF rows,
SIDs, groups and principals without a mailbox tie nothing.

Without --project the files alone are planned; with it the project's items
are, with the MB/hour and items/hour measured on its Trial and Pre-stage
passes for each wave's estimate. --out gets Batches.csv, Schedule.csv
(FastTrack's columns), Permissions.svg and Timeline.svg.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageErr("--out: give the directory to write Batches.csv and Schedule.csv into, e.g. --out waves")
			}
			if err := f.read(); err != nil {
				return err
			}
			show := func(plan *waves.Plan) error {
				written, err := writePlan(out, plan)
				if err != nil {
					return err
				}
				return m.out(cmd, struct {
					*waves.Plan
					Files []string `json:"files"`
				}{plan, written}, func(w io.Writer) {
					plan.WriteSummary(w)
					fmt.Fprintln(w, "Wrote", strings.Join(written, ", "))
				})
			}
			if project == 0 {
				plan, err := planFromFiles(&f)
				if err != nil {
					return err
				}
				return show(plan)
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				plan, err := a.Service.PlanWaves(ctx, project, f.in)
				if u := faultUsage(err, waveFieldFlags); u != nil {
					return u
				}
				if err != nil {
					return err
				}
				return show(plan)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "write the files into this `DIR`")
	cmd.Flags().Int64Var(&project, "project", 0, "plan this project's items (`ID`), with its measured rate")
	return cmd
}

func wavesAcceptCmd(m *manageFlags) *cobra.Command {
	var (
		f       waveFlags
		in      projects.WaveAcceptInput
		project int64
	)
	cmd := &cobra.Command{
		Use:   "accept --project ID --permissions FILE [--mailboxes FILE] --max-per-wave N --max-gb-per-wave G --start DATE --every \"Fri 18:00\"",
		Short: "Create the planned waves in a project: scheduled Pre-stage and Full passes, go/no-go events",
		Long: `Plan as 'ferry waves plan --project' does and create the waves: each wave's
mailboxes get a Pre-stage pass --prestage-days-before its cutover (copying
items older than --older-than-days) and a Full pass at the cutover, queued as
scheduled passes that 'ferry serve' or 'ferry worker' run; the project's
engagement gets a go/no-go event --go-no-go-hours-before each cutover and a
wave event. Accepting the same plan again adds only what is missing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--project", project, "project", "ferry project list --customer ID"); err != nil {
				return err
			}
			if err := f.read(); err != nil {
				return err
			}
			in.WavePlanInput = f.in
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				res, err := a.Service.AcceptWaves(ctx, project, in)
				if u := faultUsage(err, waveFieldFlags); u != nil {
					return u
				}
				if err != nil {
					return err
				}
				return m.out(cmd, res, func(w io.Writer) {
					if res.AlreadyAccepted {
						fmt.Fprintln(w, "These waves were accepted already.")
					}
					fmt.Fprintf(w, "%d waves; %d scheduled passes and %d engagement events added\n", len(res.Waves), res.PassesQueued, res.EventsCreated)
					printWaves(w, res.Waves)
				})
			})
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.Int64Var(&project, "project", 0, "the project's `ID`")
	fl.IntVar(&in.PrestageDaysBefore, "prestage-days-before", projects.DefaultPrestageDaysBefore, "start each wave's Pre-stage `N` days before its cutover")
	fl.IntVar(&in.OlderThanDays, "older-than-days", projects.DefaultPrestageOlderThan, "the Pre-stage copies items older than `N` days")
	fl.IntVar(&in.GoNoGoHoursBefore, "go-no-go-hours-before", projects.DefaultGoNoGoHoursBefore, "hold each wave's go/no-go `N` hours before its cutover")
	return cmd
}

func wavesListCmd(m *manageFlags) *cobra.Command {
	var project int64
	cmd := &cobra.Command{
		Use:   "list --project ID",
		Short: "List a project's accepted waves",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--project", project, "project", "ferry project list --customer ID"); err != nil {
				return err
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				ws, err := a.Service.Waves(ctx, project)
				if err != nil {
					return err
				}
				return m.out(cmd, nonNil(ws), func(w io.Writer) {
					if len(ws) == 0 {
						fmt.Fprintln(w, "No waves accepted yet: ferry waves accept --project", project, "...")
						return
					}
					printWaves(w, ws)
				})
			})
		},
	}
	cmd.Flags().Int64Var(&project, "project", 0, "the project's `ID`")
	return cmd
}

func printWaves(w io.Writer, ws []store.Wave) {
	tw := newTable(w)
	fmt.Fprintln(tw, "WAVE\tCUTOVER\tPRE-STAGE FROM\tMAILBOXES\tSIZE (MB)\tESTIMATE")
	for _, wv := range ws {
		loc, err := time.LoadLocation(wv.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		note := wv.EstimateNote
		if wv.OverLimit != "" {
			note += "; over limit: " + wv.OverLimit
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.0f\t%s\n", wv.Name, wv.Cutover.In(loc).Format("Mon 2006-01-02 15:04 MST"),
			wv.PrestageAt.In(loc).Format("2006-01-02 15:04"), len(wv.Items), wv.SizeMB, note)
	}
	tw.Flush()
}
