package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/api"
	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/jobs"
	webui "github.com/ferryhq/ferry/internal/web"
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
	name            string
	mxInterval      time.Duration
	dnsResolver     string
}

func (f *workerFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.database, "database", os.Getenv("FERRY_DATABASE"), "SQLite file `PATH` or postgres:// URL (default "+app.DefaultDatabase()+"; or set FERRY_DATABASE)")
	fl.StringVar(&f.keyFile, "key-file", "", "`FILE` holding the credential key (default next to the database; or set FERRY_SECRET_KEY)")
	fl.IntVar(&f.concurrency, "concurrency", 20, "migrations this process runs at once (each project's limit holds across all processes)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long running migrations may take to finish before they are checkpointed and stopped")
	fl.DurationVar(&f.timeout, "timeout", imapconn.DefaultTimeout, "declare an IMAP connection dead after this long without an answer")
	fl.DurationVar(&f.rescueAfter, "rescue-after", 2*time.Minute, "run a job again when it has been running this long (a backstop: workers take over a dead worker's jobs about a lease TTL after its death); the copy waits while the first attempt's lease lives")
	fl.DurationVar(&f.leaseTTL, "lease-ttl", 30*time.Second, "a migration's lease ends this long after its last renewal: a dead worker's slot is freed and its item taken over")
	fl.DurationVar(&f.poll, "poll", time.Second, "how often idle workers look for jobs")
	fl.StringVar(&f.name, "name", "", "`NAME` of this process in leases, logs and metrics (default host:pid)")
	fl.DurationVar(&f.mxInterval, "mx-interval", jobs.DefaultMXInterval, "how often the MX watch resolves every engagement domain's MX (the cutover starts the final Full pass)")
	fl.StringVar(&f.dnsResolver, "dns-resolver", "", "name server `HOST:PORT` the DNS checks and the MX watch ask (default: the first of /etc/resolv.conf; a domain may name its own)")
	for _, hidden := range []string{"rescue-after", "lease-ttl", "poll"} {
		fl.MarkHidden(hidden)
	}
}

func (f *workerFlags) config() app.Config {
	cfg := app.Config{Database: f.database, KeyFile: f.keyFile, LeaseTTL: f.leaseTTL, Name: f.name,
		Jobs: jobs.Options{Workers: f.concurrency, RescueAfter: f.rescueAfter, Poll: f.poll, MXInterval: f.mxInterval}, DNSResolver: f.dnsResolver}
	cfg.Engine.Conn = imapconn.Options{Timeout: f.timeout}
	return cfg
}

// runWorkers starts the queue and blocks until SIGINT/SIGTERM, then shuts
// down within the timeout. started, when given, runs once the queue has
// started (its listener included): a "running" line said before that
// would not be true yet.
func (f *workerFlags) runWorkers(cmd *cobra.Command, a *app.App, started func(), also func(ctx context.Context) error) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := a.Queue.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start the job queue: %w", err)
	}
	if started != nil {
		started()
	}
	go a.Service.TakeOverDeadAttempts(ctx)
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
	slog.Info("shutting down: running migrations finish or checkpoint within the shutdown timeout", "shutdown_timeout", f.shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	return a.Queue.Stop(sctx)
}

func newWorkerCmd() *cobra.Command {
	var f workerFlags
	var listen string
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
			var ops func(context.Context) error
			if listen != "" {
				ln, err := net.Listen("tcp", listen)
				if err != nil {
					return usageErr("cannot listen on %s: %v (choose another with --listen)", listen, err)
				}
				slog.Info("metrics and health", "metrics", "http://"+ln.Addr().String()+"/metrics", "healthz", "/healthz", "readyz", "/readyz")
				ops = func(ctx context.Context) error { return serveOps(ctx, ln, a) }
			}
			return f.runWorkers(cmd, a, func() {
				slog.Info("ferry worker: running migrations; stop with Ctrl-C or SIGTERM", "concurrency", f.concurrency, "worker", app.ProcessName(f.name))
			}, ops)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", "", "`ADDRESS` serving /metrics, /healthz and /readyz, e.g. 127.0.0.1:9464 (default: none); /metrics is open there, so choose a private address")
	return cmd
}

func newServeCmd() *cobra.Command {
	var f workerFlags
	var listen string
	var demo bool
	var demoMailboxes, demoMessages int
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the web portal, the REST API and, in the same process, the migration workers",
		Long: `Serve the web portal (/), the REST API (/api/v1, described at
/api/v1/openapi.json) and run queued migration passes. On the first run, with
no account yet, it prints a setup code for creating the first administrator
at /setup (or create one with 'ferry user create'). On its default SQLite file everything happens in this
process; with --database postgres://... any number of 'ferry worker' processes
share the work. API requests need a token: 'ferry token create --name NAME'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if demo && f.database == "" {
				dir, err := os.MkdirTemp("", "ferry-demo-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				f.database, f.keyFile = filepath.Join(dir, "ferry.db"), filepath.Join(dir, "secret.key")
			}
			a, err := app.Open(cmd.Context(), f.config())
			if err != nil {
				return usageErr("%v", err)
			}
			defer a.Close()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageErr("cannot listen on %s: %v (choose another with --listen)", listen, err)
			}
			banner := ""
			if demo {
				if n, err := a.Store.CountUsers(cmd.Context()); err != nil {
					return err
				} else if n > 0 {
					return usageErr("--demo fills a new database; %s has accounts already (leave out --database for a throwaway one)", f.database)
				}
				slog.Info("ferry serve: generating the demo's mailboxes")
				d, err := setUpDemo(cmd.Context(), a, demoMailboxes, demoMessages)
				if err != nil {
					return fmt.Errorf("set up the demo: %w", err)
				}
				defer d.close()
				banner = d.banner
				fmt.Fprintf(cmd.OutOrStdout(), "\nFerry demo: open http://%s/ and sign in.\n%s\nOpen the project, select the mailboxes and press Full to watch mail move. Stop with Ctrl-C.\n\n",
					displayAddr(ln.Addr().String()), banner)
			}
			h, closeWeb, err := portal(cmd, a, ln.Addr().String(), banner)
			if err != nil {
				return err
			}
			srv := newHTTPServer(h, serveTimeouts)
			srv.RegisterOnShutdown(closeWeb)
			slog.Info("ferry serve: portal, API and metrics", "portal", "http://"+ln.Addr().String()+"/", "api", "http://"+ln.Addr().String()+"/api/v1",
				"openapi", "/api/v1/openapi.json", "metrics", "/metrics (administrator's API token)", "concurrency", f.concurrency, "worker", app.ProcessName(f.name))
			return f.runWorkers(cmd, a, nil, func(ctx context.Context) error {
				go func() {
					<-ctx.Done()
					sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					srv.Shutdown(sctx)
				}()
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				<-ctx.Done()
				return nil
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "`ADDRESS` for the portal and the API")
	cmd.Flags().BoolVar(&demo, "demo", false, "start with demo data: a customer, an engagement, and a project of generated mailboxes between two in-process IMAP servers (in a throwaway database unless --database is given)")
	cmd.Flags().IntVar(&demoMailboxes, "demo-mailboxes", 20, "mailboxes in the demo project")
	cmd.Flags().IntVar(&demoMessages, "demo-messages", 150, "messages per demo mailbox")
	return cmd
}

func newTokenCmd() *cobra.Command {
	var database, keyFile string
	var asJSON bool
	open := func(cmd *cobra.Command) (*app.App, error) {
		a, err := app.Open(cmd.Context(), app.Config{Database: database, KeyFile: keyFile, Jobs: jobs.Options{InsertOnly: true}})
		if err != nil {
			return nil, usageErr("%v", err)
		}
		return a, nil
	}
	root := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens"}
	root.PersistentFlags().StringVar(&database, "database", os.Getenv("FERRY_DATABASE"), "SQLite file `PATH` or postgres:// URL")
	root.PersistentFlags().StringVar(&keyFile, "key-file", "", "credential key `FILE`")
	root.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")
	var name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token; it is printed once and stored only as a hash",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(name) == "" {
				return usageErr("--name: say who or what the token is for, e.g. --name reporting")
			}
			a, err := open(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			tok, _, err := a.People.CreateToken(commandLine(cmd.Context()), 0, name)
			if err != nil {
				return serviceErr(err)
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"name": name, "token": tok})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", tok)
			fmt.Fprintln(cmd.ErrOrStderr(), "Keep it now: Ferry stores only its hash. Send it as 'Authorization: Bearer <token>'.")
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "what the token is for")
	list := &cobra.Command{
		Use:  "list",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := open(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			toks, err := a.Store.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(toks)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED")
			for _, t := range toks {
				last := "never"
				if !t.LastUsed.IsZero() {
					last = t.LastUsed.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", t.ID, t.Name, t.Created.Format(time.RFC3339), last)
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:  "revoke ID",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErr("%q is not a token id (see 'ferry token list')", args[0])
			}
			a, err := open(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			if _, err := a.People.RevokeToken(commandLine(cmd.Context()), id); err != nil {
				return serviceErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %d revoked\n", id)
			return nil
		},
	}
	root.AddCommand(create, list, revoke)
	return root
}

// portal is the handler of `ferry serve`: the REST API under /api/v1/ and
// the web portal everywhere else, on one authorization layer. On a first
// run (no account) it prints the setup code for /setup.
func portal(cmd *cobra.Command, a *app.App, addr, banner string) (http.Handler, func(), error) {
	svc := a.People
	need, err := svc.NeedsSetup(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	code := ""
	if need {
		code = auth.RandomToken(9)
		slog.Warn("ferry serve: no account yet: open /setup and use the setup code to create the first administrator", "setup", "http://"+addr+"/setup", "setup_code", code)
	}
	web, err := webui.New(webui.Options{Store: a.Store, Projects: a.Service, Engagements: a.Engagements, Customers: a.Customers, DNS: a.DNS, Auth: svc,
		SetupCode: code, Banner: banner})
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api.NewWithOptions(a.Service, a.Store, api.Options{Engagements: a.Engagements, Customers: a.Customers, DNS: a.DNS}))
	mux.Handle("/", web)
	opsRoutes(mux, a, adminToken(a))
	return a.Metrics.Instrument(mux), web.(webui.Closer).Close, nil
}

// displayAddr shows a loopback listen address as localhost.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && (host == "127.0.0.1" || host == "::1") {
		return "localhost:" + port
	}
	return addr
}
