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
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Compare source and destination folder by folder and list what is missing",
		Long: `Compare every source folder with its destination folder and list the
messages that are missing (and count the extra ones, such as mail that arrived
at the destination after the cutover). Exit status 0 only when the destination
holds every source message.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			jobs, err := f.jobs()
			if err != nil {
				return err
			}
			ctx, stop := stopOnSignal(cmd.Context(), cmd.ErrOrStderr())
			defer stop()
			eng := engine.New(nil, f.engineOptions())
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
				fmt.Fprintln(tw, "  FOLDER\tDESTINATION\tSOURCE MSGS\tDEST MSGS\tMISSING\tEXTRA")
				for _, d := range cmp.Folders {
					fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%d\n", d.Folder, d.Dest, d.Source, d.Destination, d.MissingN, d.Extra)
				}
				tw.Flush()
				for _, d := range cmp.Folders {
					for _, m := range d.Missing {
						fmt.Fprintf(w, "  missing in %s: %s\n", d.Folder, m)
					}
					for _, m := range d.ExtraList {
						fmt.Fprintf(w, "  extra in %s: %s\n", d.Dest, m)
					}
				}
				if cmp.Complete() {
					fmt.Fprintf(w, "  complete: the destination holds every source message (%d extra)\n\n", cmp.Extra)
				} else {
					fmt.Fprintf(w, "  INCOMPLETE: %d source messages are not in the destination; run the Full pass\n\n", cmp.Missing)
				}
			}
			if f.json {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				enc.Encode(out)
			}
			if failed {
				return errFailures
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
