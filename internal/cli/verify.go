package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/engine"
)

func newVerifyCmd() *cobra.Command {
	var f connFlags
	var d davFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Compare source and destination folder by folder: missing, altered, doubled and extra messages",
		Long: `Compare every source folder with its destination folder. Each source message
needs a copy of its own on the destination. Verify lists the messages that are
missing, the copies the destination altered (8-bit header bytes replaced, an
internal date before 1980 replaced), the copies that are there twice, and
counts the extra ones (such as mail that arrived at the destination after the
cutover). Exit status 0 only when every source message has its own copy,
altered or not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mail, workloads, err := d.parse()
			if err != nil {
				return err
			}
			var jobs []engine.Job
			if mail {
				if jobs, err = f.jobs(); err != nil {
					return err
				}
			}
			ctx, stop := stopOnSignal(cmd.Context(), cmd.ErrOrStderr())
			defer stop()
			opts := f.engineOptions()
			// The copy's own folder mapping (a Gmail source's labels,
			// --first-label-only, --with-spam-and-trash, role folders).
			if err := f.presets.apply(&opts); err != nil {
				return err
			}
			eng := engine.New(nil, opts)
			type result struct {
				Source      string             `json:"source"`
				Destination string             `json:"destination"`
				Complete    bool               `json:"complete"`
				Error       string             `json:"error,omitempty"`
				Comparison  *engine.Comparison `json:"comparison,omitempty"`
			}
			var out []result
			failed := false
			w := cmd.OutOrStdout()
			for _, job := range jobs {
				cmp, err := eng.Compare(ctx, job)
				r := result{Source: job.Source.String(), Destination: job.Dest.String(), Comparison: cmp}
				if err != nil {
					r.Error = err.Error()
					failed = true
				} else {
					r.Complete = cmp.Complete()
					failed = failed || !r.Complete
				}
				out = append(out, r)
				if f.json {
					continue
				}
				fmt.Fprintf(w, "%s → %s\n", job.Source.Mailbox(), job.Dest.Mailbox())
				if err != nil {
					fmt.Fprintf(w, "  could not compare: %v\n\n", err)
					continue
				}
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "  FOLDER\tDESTINATION\tSOURCE MSGS\tDEST MSGS\tMISSING\tALTERED\tDOUBLED\tEXTRA")
				for _, d := range cmp.Folders {
					fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", d.Folder, d.Dest, d.Source, d.Destination, d.MissingN, d.AlteredN, d.DoubledN, d.Extra)
				}
				tw.Flush()
				for _, d := range cmp.Folders {
					for _, m := range d.Missing {
						fmt.Fprintf(w, "  missing in %s: %s\n", d.Folder, m)
					}
					for _, m := range d.AlteredList {
						fmt.Fprintf(w, "  in %s: %s\n", d.Dest, m)
					}
					for _, m := range d.DoubledList {
						fmt.Fprintf(w, "  doubled in %s: %s\n", d.Dest, m)
					}
					for _, m := range d.ExtraList {
						fmt.Fprintf(w, "  extra in %s: %s\n", d.Dest, m)
					}
				}
				if cmp.Complete() {
					fmt.Fprintf(w, "  complete: every source message has its own copy on the destination (%d altered by the destination, %d doubled, %d extra)\n\n", cmp.Altered, cmp.Doubled, cmp.Extra)
				} else {
					fmt.Fprintf(w, "  INCOMPLETE: %d source messages have no copy on the destination; run the Full pass (%d altered by the destination, %d doubled, %d extra)\n\n", cmp.Missing, cmp.Altered, cmp.Doubled, cmp.Extra)
				}
			}
			if f.json && mail {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				enc.Encode(out)
			}
			if len(workloads) > 0 {
				davFailed, err := verifyDAV(ctx, &f, &d, workloads, w)
				if err != nil {
					return &exitError{code: ExitFailures, err: fmt.Errorf("calendars, tasks and contacts: %w", err)}
				}
				failed = failed || davFailed
			}
			if failed {
				return errFailures
			}
			return nil
		},
	}
	f.register(cmd)
	d.register(cmd)
	return cmd
}
