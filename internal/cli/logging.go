package cli

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// addLogFormat adds the global --log-format flag. The long-running
// commands (serve, worker) always log through log/slog on standard error;
// the others only when the flag is given (their output is a report).
func addLogFormat(root *cobra.Command) {
	var format string
	root.PersistentFlags().StringVar(&format, "log-format", "text", "how `FORMAT` log records are written to standard error: text (key=value) or json (one object a line)")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		h, err := logHandler(format, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		if cmd.Flags().Changed("log-format") || longRunning(cmd) {
			slog.SetDefault(slog.New(h))
		}
		return nil
	}
}

func logHandler(format string, w io.Writer) (slog.Handler, error) {
	switch format {
	case "text":
		return slog.NewTextHandler(w, nil), nil
	case "json":
		return slog.NewJSONHandler(w, nil), nil
	}
	return nil, usageErr("--log-format %q: use text or json", format)
}

func longRunning(cmd *cobra.Command) bool {
	return cmd.HasParent() && !cmd.Parent().HasParent() && (cmd.Name() == "serve" || cmd.Name() == "worker")
}
