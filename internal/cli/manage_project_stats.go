package cli

import (
	"context"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/projects"
)

func projectStatisticsCmd(m *manageFlags) *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "statistics ID [--format csv|json] [--output FILE]",
		Short: "Export a project's per-mailbox statistics (CSV or JSON)",
		Long: `Write every mailbox of the project with what its passes copied (items and
bytes), the transfer time and the MB/hour and items/hour over it, its first
and last pass, and its failures now: CSV by default, or JSON. To standard
output unless --output names a file.`,
		Args: idArg("project", "ferry project list --customer ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if m.json {
				format = "json"
			}
			if !slices.Contains(projects.StatisticsFormats, format) {
				return usageErr("--format: %q; use csv or json", format)
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				stats, err := a.Service.MailboxStatistics(ctx, mustID(args[0]))
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
					if err := projects.WriteMailboxStatistics(f, format, stats); err != nil {
						return err
					}
					return f.Close()
				}
				return projects.WriteMailboxStatistics(w, format, stats)
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "csv", "`csv` or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to `FILE` instead of standard output")
	return cmd
}
