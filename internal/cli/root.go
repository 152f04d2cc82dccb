// Package cli is the ferry command line. It parses, validates and prints;
// the work happens in the engine and the store.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/fault"
)

// Exit codes (docs/cli.md).
const (
	ExitOK       = 0
	ExitFailures = 1 // some messages or mailboxes failed, or an internal error
	ExitUsage    = 2 // usage or configuration error; input a service refused
)

// exitCodeOf is the exit code of each kind of fault a service returns: what
// the person asked cannot be done as asked (bad input, no such record, a
// duplicate, a rule's refusal, not allowed, wrong credentials) exits 2 like
// a usage error, so that scripts tell it from a run that failed; a failure
// that may pass by itself (temporary, throttled: try again later) or an
// internal one exits 1.
func exitCodeOf(k fault.Kind) int {
	switch k {
	case fault.Invalid, fault.NotFound, fault.Conflict, fault.Refused, fault.Forbidden, fault.Unauthenticated, fault.TooLarge:
		return ExitUsage
	}
	return ExitFailures // Temporary, Throttled, Internal
}

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
	addLogFormat(root)
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

// exitNow ends the process (tests replace it).
var exitNow = os.Exit

// stopOnSignal returns a context that ends at the first SIGINT or SIGTERM,
// so that a run stops cleanly with what it copied recorded. A second
// signal ends the process at once: the state is safe after a kill too
// (the next run checks what reached the destination).
func stopOnSignal(parent context.Context, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-signals:
			fmt.Fprintf(stderr, "ferry: %v: stopping and saving the state; send it again to quit at once\n", sig)
			cancel()
		case <-done:
			return
		}
		select {
		case <-signals:
			fmt.Fprintln(stderr, "ferry: quit at once; the next run checks what reached the destination")
			exitNow(ExitFailures)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		close(done)
		cancel()
	}
}
