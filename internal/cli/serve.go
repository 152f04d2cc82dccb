package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/jobs"
)

// workerFlags are shared by serve and worker.
type workerFlags struct {
	database        string
	keyFile         string
	concurrency     int
	rescueAfter     time.Duration
	leaseTTL        time.Duration
	poll            time.Duration
	shutdownTimeout time.Duration
	timeout         time.Duration
}

func (f *workerFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.database, "database", os.Getenv("FERRY_DATABASE"), "SQLite file `PATH` or postgres:// URL (default "+app.DefaultDatabase()+"; or set FERRY_DATABASE)")
	fl.StringVar(&f.keyFile, "key-file", "", "`FILE` holding the credential key (default next to the database; or set FERRY_SECRET_KEY)")
	fl.IntVar(&f.concurrency, "concurrency", 20, "migrations this process runs at once (each project's limit holds across all processes)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long running migrations may take to finish before they are checkpointed and stopped")
	fl.DurationVar(&f.timeout, "timeout", imapconn.DefaultTimeout, "declare an IMAP connection dead after this long without an answer")
	fl.DurationVar(&f.rescueAfter, "rescue-after", 2*time.Minute, "hand a job to another worker when its holder has been silent this long")
	fl.DurationVar(&f.leaseTTL, "lease-ttl", 30*time.Second, "a dead worker's migration slot is freed after this long")
	fl.DurationVar(&f.poll, "poll", time.Second, "how often idle workers look for jobs")
	for _, hidden := range []string{"rescue-after", "lease-ttl", "poll"} {
		fl.MarkHidden(hidden)
	}
}

func (f *workerFlags) config() app.Config {
	cfg := app.Config{Database: f.database, KeyFile: f.keyFile, LeaseTTL: f.leaseTTL,
		Jobs: jobs.Options{Workers: f.concurrency, RescueAfter: f.rescueAfter, Poll: f.poll}}
	cfg.Engine.Conn = imapconn.Options{Timeout: f.timeout}
	return cfg
}

// runWorkers starts the queue and blocks until SIGINT/SIGTERM, then shuts down within the timeout.
func (f *workerFlags) runWorkers(cmd *cobra.Command, a *app.App, also func(ctx context.Context) error) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := a.Queue.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start the job queue: %w", err)
	}
	errc := make(chan error, 1)
	if also != nil {
		go func() { errc <- also(ctx) }()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			return err
		}
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "ferry: shutting down: running migrations finish or checkpoint within", f.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	return a.Queue.Stop(sctx)
}

func newWorkerCmd() *cobra.Command {
	var f workerFlags
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run queued migration passes (start as many as you like, on any machines, against one PostgreSQL database)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := app.Open(cmd.Context(), f.config())
			if err != nil {
				return usageErr("%v", err)
			}
			defer a.Close()
			fmt.Fprintf(cmd.ErrOrStderr(), "ferry worker: running up to %d migrations; stop with Ctrl-C or SIGTERM\n", f.concurrency)
			return f.runWorkers(cmd, a, nil)
		},
	}
	f.register(cmd)
	return cmd
}
