package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// Environment variables holding an item's passwords when no file is given.
const (
	envSourcePassword      = "FERRY_SOURCE_PASSWORD"
	envDestinationPassword = "FERRY_DESTINATION_PASSWORD"
)

func newItemCmd() *cobra.Command {
	var m manageFlags
	cmd := groupCmd("item", "Add, import, list, show, edit and delete a project's mailbox pairs (items)")
	m.register(cmd)
	cmd.AddCommand(itemAddCmd(&m), itemImportCmd(&m), itemListCmd(&m), itemShowCmd(&m), itemEditCmd(&m), itemDeleteCmd(&m))
	return cmd
}

// statusKey folds a status as users type it: "completed-trial", "Completed (Trial)".
func statusKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// parseStatuses reads --status values in any spelling of the service's statuses.
func parseStatuses(flag string, in []string) ([]string, error) {
	var out []string
	for _, s := range in {
		i := slices.IndexFunc(store.Statuses, func(st string) bool { return statusKey(st) == statusKey(s) })
		if i < 0 {
			var names []string
			for _, st := range store.Statuses {
				names = append(names, fmt.Sprintf("%q", st))
			}
			return nil, usageErr("%s: unknown status %q; use one of %s (any case; '-' for spaces, e.g. not-submitted, completed-trial)", flag, s, strings.Join(names, ", "))
		}
		out = append(out, store.Statuses[i])
	}
	return out, nil
}

func passLabel(p string) string {
	if p == "" {
		return "-"
	}
	return engine.Pass(p).Label()
}

func itemAddCmd(m *manageFlags) *cobra.Command {
	var (
		project          int64
		in               projects.ItemInput
		srcFile, dstFile string
	)
	cmd := &cobra.Command{
		Use:   "add --project ID --source ADDR --destination ADDR",
		Short: "Add one mailbox pair to a project",
		Long: `Add one mailbox pair. When an endpoint has no administrator credentials the
item needs that side's mailbox password: --source-password-file and
--destination-password-file (or FERRY_SOURCE_PASSWORD and
FERRY_DESTINATION_PASSWORD). Passwords are stored sealed and never printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--project", project, "project", "ferry project list --customer ID"); err != nil {
				return err
			}
			var err error
			if in.SourcePassword, err = readSecretFile("--source-password-file", srcFile, envSourcePassword); err != nil {
				return err
			}
			if in.DestPassword, err = readSecretFile("--destination-password-file", dstFile, envDestinationPassword); err != nil {
				return err
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				it, err := a.Service.AddItem(ctx, project, in)
				if err != nil {
					return err
				}
				return m.out(cmd, viewItem(it), func(w io.Writer) {
					fmt.Fprintf(w, "item %d added: %s → %s (%s; %s)\n", it.ID, it.Source, it.Dest, it.Status, strings.Join(it.Workloads, ", "))
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&project, "project", 0, "the project's `ID`")
	fl.StringVar(&in.Source, "source", "", "the source mailbox `ADDR`ess")
	fl.StringVar(&in.Dest, "destination", "", "the destination mailbox `ADDR`ess")
	fl.StringVar(&in.SourceLogin, "source-login", "", "the source `LOGIN`, when it differs from the address")
	fl.StringVar(&in.DestLogin, "destination-login", "", "the destination `LOGIN`, when it differs from the address")
	fl.StringVar(&srcFile, "source-password-file", "", "`FILE` holding the source mailbox's password (or set "+envSourcePassword+")")
	fl.StringVar(&dstFile, "destination-password-file", "", "`FILE` holding the destination mailbox's password (or set "+envDestinationPassword+")")
	fl.StringSliceVar(&in.Workloads, "workloads", nil, "what the item moves: any of mail, calendar, contacts, tasks (comma-separated; default: the project's item types)")
	return cmd
}

func itemImportCmd(m *manageFlags) *cobra.Command {
	var (
		project int64
		file    string
		opt     projects.ImportOptions
	)
	cmd := &cobra.Command{
		Use:   "import --project ID --csv FILE [--apply] [--skip-invalid]",
		Short: "Bulk-add mailbox pairs from a CSV file (a preview unless --apply)",
		Long: `Check a mailbox list (the formats of docs/csv-format.md; the project's
endpoints give the servers) and show the rows that would be added and every
problem. Nothing is added without --apply. A file with problems is refused
whole (exit status 2) unless --skip-invalid adds its valid rows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--project", project, "project", "ferry project list --customer ID"); err != nil {
				return err
			}
			if file == "" {
				return usageErr("--csv: say which FILE lists the mailboxes (see docs/csv-format.md)")
			}
			f, err := os.Open(file)
			if err != nil {
				return usageErr("--csv: cannot open the file: %v", err)
			}
			defer f.Close()
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				res, err := a.Service.ImportItems(ctx, project, file, f, opt)
				if err != nil && !errors.Is(err, projects.ErrImportHasErrors) {
					return err
				}
				res.Valid, res.Errors = nonNil(res.Valid), nonNil(res.Errors)
				if err := m.out(cmd, res, func(w io.Writer) { printImport(w, file, res, opt) }); err != nil {
					return err
				}
				if res.ErrorCount > 0 && !opt.SkipInvalid {
					verb := "nothing was added"
					if !opt.Apply {
						verb = "--apply would add nothing"
					}
					if len(res.Valid) == 0 {
						return usageErr("--csv: %s has %d problem(s) and no valid row, so %s: fix them", file, res.ErrorCount, verb)
					}
					return usageErr("--csv: %s has %d problem(s), so %s: fix them, or add --skip-invalid to add only the %d valid row(s)",
						file, res.ErrorCount, verb, len(res.Valid))
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&project, "project", 0, "the project's `ID`")
	fl.StringVar(&file, "csv", "", "`FILE` listing mailbox pairs (see docs/csv-format.md)")
	fl.BoolVar(&opt.Apply, "apply", false, "add the items (without it: only show what would be added)")
	fl.BoolVar(&opt.SkipInvalid, "skip-invalid", false, "add the valid rows of a file that has problems")
	return cmd
}

func printImport(w io.Writer, file string, res *projects.ImportResult, opt projects.ImportOptions) {
	switch {
	case !opt.Apply:
		fmt.Fprintf(w, "Preview of %s: %d valid row(s), %d problem(s)\n", file, len(res.Valid), res.ErrorCount)
	case res.Added > 0 || res.ErrorCount == 0 || opt.SkipInvalid:
		fmt.Fprintf(w, "%s: %d item(s) added", file, res.Added)
		if res.ErrorCount > 0 {
			fmt.Fprintf(w, ", %d invalid row(s) skipped", res.ErrorCount)
		}
		fmt.Fprintln(w)
	default:
		fmt.Fprintf(w, "%s: nothing added: %d problem(s)\n", file, res.ErrorCount)
	}
	if len(res.Valid) > 0 {
		fmt.Fprintln(w)
		tw := newTable(w)
		fmt.Fprintln(tw, "LINE\tSOURCE\tDESTINATION")
		for _, r := range res.Valid {
			fmt.Fprintf(tw, "%d\t%s\t%s\n", r.Line, r.Source, r.Dest)
		}
		tw.Flush()
	}
	if res.ErrorCount > 0 {
		fmt.Fprintln(w, "\nProblems:")
		for _, e := range res.Errors {
			fmt.Fprintf(w, "  %s\n", e.Msg)
		}
		if more := res.ErrorCount - len(res.Errors); more > 0 {
			fmt.Fprintf(w, "  and %d more problem(s) not listed; fix these first\n", more)
		}
	}
	if !opt.Apply && len(res.Valid) > 0 && (res.ErrorCount == 0 || opt.SkipInvalid) {
		fmt.Fprintf(w, "\npreview only: nothing was added; run again with --apply to add %d item(s)\n", len(res.Valid))
	}
}

// itemView is an item as printed: whether it has its own passwords, never their value.
type itemView struct {
	store.Item
	HasSourcePassword      bool `json:"has_source_password"`
	HasDestinationPassword bool `json:"has_destination_password"`
}

func viewItem(it store.Item) itemView {
	return itemView{Item: it, HasSourcePassword: it.SealedSourcePassword != "", HasDestinationPassword: it.SealedDestPassword != ""}
}

func itemListCmd(m *manageFlags) *cobra.Command {
	var (
		project  int64
		statuses []string
		f        store.ItemFilter
	)
	cmd := &cobra.Command{
		Use:   "list --project ID [--status S]... [--search TEXT] [--limit N --offset N]",
		Short: "List a project's items",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--project", project, "project", "ferry project list --customer ID"); err != nil {
				return err
			}
			var err error
			if f.Status, err = parseStatuses("--status", statuses); err != nil {
				return err
			}
			if f.Limit < 0 {
				return usageErr("--limit: %d is negative; give how many items to show (0 for all)", f.Limit)
			}
			if f.Offset < 0 {
				return usageErr("--offset: %d is negative; give how many items to skip", f.Offset)
			}
			if f.Offset > 0 && f.Limit == 0 {
				f.Limit = math.MaxInt32
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Store.Project(ctx, project); err != nil {
					return err
				}
				items, total, err := a.Store.Items(ctx, project, f)
				if err != nil {
					return err
				}
				out := struct {
					Total int        `json:"total"`
					Items []itemView `json:"items"`
				}{Total: total, Items: []itemView{}}
				for _, it := range items {
					out.Items = append(out.Items, viewItem(it))
				}
				return m.out(cmd, out, func(w io.Writer) {
					if total == 0 {
						fmt.Fprintln(w, "no items match")
						return
					}
					tw := newTable(w)
					fmt.Fprintln(tw, "ID\tSOURCE\tDESTINATION\tSTATUS\tLAST PASS\tERRORS")
					for _, it := range items {
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\n", it.ID, it.Source, it.Dest, it.Status, passLabel(it.LastPass), it.Errors)
					}
					tw.Flush()
					if len(items) < total {
						fmt.Fprintf(w, "%d of %d item(s) (--offset %d)\n", len(items), total, f.Offset)
					}
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&project, "project", 0, "the project's `ID`")
	fl.StringArrayVar(&statuses, "status", nil, "only items with this `STATUS` (repeatable), e.g. failed, not-submitted, completed-trial")
	fl.StringVar(&f.Search, "search", "", "only items whose source or destination contains `TEXT`")
	fl.IntVar(&f.Limit, "limit", 0, "show at most `N` items (0: all)")
	fl.IntVar(&f.Offset, "offset", 0, "skip the first `N` items")
	return cmd
}

type runView struct {
	Pass         string    `json:"pass"`
	PassLabel    string    `json:"pass_label"`
	Started      time.Time `json:"started"`
	Ended        time.Time `json:"ended,omitzero"`
	Seconds      float64   `json:"duration_seconds"`
	Result       string    `json:"result"`
	Error        string    `json:"error,omitempty"`
	Copied       int64     `json:"copied"`
	CopiedBytes  int64     `json:"copied_bytes"`
	Skipped      int64     `json:"skipped"`
	Failed       int64     `json:"failed"`
	FailedBytes  int64     `json:"failed_bytes"`
	FlagsUpdated int64     `json:"flags_updated"`
	MBPerHour    float64   `json:"mb_per_hour"`
	ItemsPerHour float64   `json:"items_per_hour"`
}

type failureView struct {
	Folder     string    `json:"folder,omitempty"`
	UID        uint32    `json:"uid,omitempty"`
	Subject    string    `json:"subject,omitempty"`
	Size       int64     `json:"size,omitempty"`
	Pass       string    `json:"pass,omitempty"`
	Temporary  bool      `json:"temporary"`
	ServerText string    `json:"server_text"`
	Hint       string    `json:"what_to_do"`
	At         time.Time `json:"at,omitzero"`
}

func itemShowCmd(m *manageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an item with its pass history and errors",
		Args:  idArg("item", "ferry item list --project ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				d, err := a.Service.Item(ctx, mustID(args[0]))
				if err != nil {
					return err
				}
				out := struct {
					itemView
					History        []runView          `json:"history"`
					Errors         []failureView      `json:"errors"`
					WorkloadErrors []store.DAVFailure `json:"workload_errors"`
				}{itemView: viewItem(d.Item), History: []runView{}, Errors: []failureView{}, WorkloadErrors: d.WorkloadFailures}
				if out.WorkloadErrors == nil {
					out.WorkloadErrors = []store.DAVFailure{}
				}
				for _, r := range d.History {
					v := runView{Pass: r.Pass, PassLabel: passLabel(r.Pass), Started: r.Started, Ended: r.Ended, Result: r.Status, Error: r.Error,
						Copied: r.Copied, CopiedBytes: r.CopiedBytes, Skipped: r.Skipped, Failed: r.Failed, FailedBytes: r.FailedBytes, FlagsUpdated: r.FlagsUpdated}
					if !r.Ended.IsZero() {
						v.Seconds, v.MBPerHour, v.ItemsPerHour = r.Duration().Seconds(), r.MBPerHour(), r.ItemsPerHour()
					}
					out.History = append(out.History, v)
				}
				for _, f := range d.Failures {
					out.Errors = append(out.Errors, failureView{Folder: f.Folder, UID: f.UID, Subject: f.Subject, Size: f.Size, Pass: f.Pass,
						Temporary: f.Temporary, ServerText: f.ServerText, Hint: f.Hint, At: f.At})
				}
				return m.out(cmd, out, func(w io.Writer) { printItem(w, d) })
			})
		},
	}
}

func printItem(w io.Writer, d *projects.ItemDetail) {
	it := d.Item
	cred := func(sealed, side string) string {
		if sealed != "" {
			return "the item's own password"
		}
		return "the " + side + " endpoint's administrator"
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "Item %d:\t%s → %s\n", it.ID, it.Source, it.Dest)
	fmt.Fprintf(tw, "  project\t%d\n", it.ProjectID)
	fmt.Fprintf(tw, "  status\t%s\n", it.Status)
	fmt.Fprintf(tw, "  last pass\t%s\n", passLabel(it.LastPass))
	fmt.Fprintf(tw, "  errors\t%d\n", it.Errors)
	if it.SourceLogin != "" {
		fmt.Fprintf(tw, "  source login\t%s\n", it.SourceLogin)
	}
	if it.DestLogin != "" {
		fmt.Fprintf(tw, "  destination login\t%s\n", it.DestLogin)
	}
	fmt.Fprintf(tw, "  source logs in with\t%s\n", cred(it.SealedSourcePassword, "source"))
	fmt.Fprintf(tw, "  destination logs in with\t%s\n", cred(it.SealedDestPassword, "destination"))
	fmt.Fprintf(tw, "  updated\t%s\n", stamp(it.Updated))
	tw.Flush()

	fmt.Fprintln(w, "\nPass history")
	if len(d.History) == 0 {
		fmt.Fprintf(w, "  no pass has run yet; start one with: ferry pass start --project %d --pass verify --item %d\n", it.ProjectID, it.ID)
	} else {
		tw = newTable(w)
		fmt.Fprintln(tw, "PASS\tSTART\tEND\tDURATION\tRESULT\tITEMS\tBYTES\tMB/HR\tITEMS/HR")
		for _, r := range d.History {
			end, dur, mb, ih := "-", "running", "-", "-"
			if !r.Ended.IsZero() {
				end, dur = stamp(r.Ended), r.Duration().Round(time.Second).String()
				mb, ih = fmt.Sprintf("%.0f", r.MBPerHour()), fmt.Sprintf("%.0f", r.ItemsPerHour())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", passLabel(r.Pass), stamp(r.Started), end, dur, orDash(r.Status),
				r.Copied, human(r.CopiedBytes), mb, ih)
		}
		tw.Flush()
		for _, r := range d.History {
			if r.Error != "" {
				fmt.Fprintf(w, "  %s pass of %s: %s\n", passLabel(r.Pass), stamp(r.Started), r.Error)
			}
		}
	}

	fmt.Fprintln(w, "\nErrors")
	if len(d.Failures) == 0 && len(d.WorkloadFailures) == 0 {
		fmt.Fprintln(w, "  none")
		return
	}
	for _, f := range d.WorkloadFailures {
		when := ""
		if f.Date != "" {
			when = " on " + f.Date
		}
		fmt.Fprintf(w, "  %s %q%s (UID %s) in %q: %s\n    what to do: %s\n", f.Workload, f.Title, when, f.UID, f.Collection, f.Error, orDash(f.Action))
	}
	for _, f := range d.Failures {
		if f.UID == 0 && f.Folder != "" {
			fmt.Fprintf(w, "  folder %s: %s\n    what to do: %s\n", f.Folder, f.ServerText, orDash(f.Hint))
			continue
		}
		if f.UID == 0 {
			fmt.Fprintf(w, "  the mailbox: %s\n    what to do: %s\n", f.ServerText, orDash(f.Hint))
			continue
		}
		fmt.Fprintf(w, "  folder %s, UID %d, %q, %s: %s\n    what to do: %s\n", f.Folder, f.UID, f.Subject, human(f.Size), f.ServerText, orDash(f.Hint))
	}
}
