// Package cli is the ferry command line. It parses, validates and prints;
// the work happens in the engine and the store.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFailures = 1 // some messages or mailboxes failed
	ExitUsage    = 2 // usage or configuration error
)

// exitError carries an exit code up to Main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// failures is returned when the run finished but something failed; the
// report has been printed already.
var errFailures = &exitError{code: ExitFailures, err: errors.New("")}

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err.Error() != "" {
			fmt.Fprintln(stderr, "ferry:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "ferry:", err)
	return ExitUsage
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "ferry",
		Short:         "Ferry runs Microsoft 365 onboarding and mailbox migration",
		Long:          "Ferry moves mailboxes between IMAP servers exactly and resumably, and runs the onboarding program around them.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(newMigrateCmd(), newVerifyCmd(), newDemoCmd(), newServeCmd(), newWorkerCmd(), newTokenCmd())
	root.AddCommand(newManageCmds()...)
	root.AddCommand(newEngageCmds()...)
	return root
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
