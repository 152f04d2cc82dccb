package cli

// The commands that manage the migration service: customers, endpoints,
// projects, items, passes and the credential key. They only change the
// database and queue work; `ferry serve` or `ferry worker` run it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/store"
)

// newManageCmds returns the command groups of the migration service.
func newManageCmds() []*cobra.Command {
	return []*cobra.Command{newCustomerCmd(), newEndpointCmd(), newProjectCmd(), newItemCmd(), newPassCmd(), newWavesCmd(), newKeyCmd(), newUserCmd()}
}

// manageFlags are on every management command.
type manageFlags struct {
	database string
	keyFile  string
	json     bool
}

func (m *manageFlags) register(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&m.database, "database", os.Getenv("FERRY_DATABASE"), "SQLite file `PATH` or postgres:// URL (default "+app.DefaultDatabase()+"; or set FERRY_DATABASE)")
	pf.StringVar(&m.keyFile, "key-file", "", "`FILE` holding the credential key (default next to the SQLite file, or "+app.DefaultKeyFile()+" with PostgreSQL; or set FERRY_SECRET_KEY)")
	pf.BoolVar(&m.json, "json", false, "print JSON on standard output (for scripts)")
}

// keyFilePath is the key file app.Open uses for these flags (FERRY_SECRET_KEY aside).
func (m *manageFlags) keyFilePath() string {
	if m.keyFile != "" {
		return m.keyFile
	}
	return app.KeyFileFor(m.database)
}

// run opens Ferry (queueing only), runs fn and turns the service's errors into exit codes.
func (m *manageFlags) run(cmd *cobra.Command, fn func(ctx context.Context, a *app.App) error) error {
	ctx := cmd.Context()
	a, err := app.Open(ctx, app.Config{Database: m.database, KeyFile: m.keyFile, Jobs: jobs.Options{InsertOnly: true}})
	if err != nil {
		return usageErr("%v", err)
	}
	defer a.Close()
	return serviceErr(fn(commandLine(ctx), a))
}

// out prints v as JSON with --json, or calls table otherwise.
func (m *manageFlags) out(cmd *cobra.Command, v any, table func(w io.Writer)) error {
	w := cmd.OutOrStdout()
	if m.json {
		return printJSON(w, v)
	}
	table(w)
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// fieldFlags names, for the service's input fields, the flag that sets them.
// An empty name means the message names its subject already.
var fieldFlags = map[string]string{
	"name":                              "--name",
	"primary_domain":                    "--domain",
	"customer_id":                       "--customer",
	"type":                              "--type",
	"host":                              "--host",
	"port":                              "--port",
	"security":                          "--security",
	"admin_user":                        "--admin",
	"password":                          "--password-file (or --oauth2-token-file)",
	"source_endpoint_id":                "--source",
	"destination_endpoint_id":           "--destination",
	"max_concurrent_migrations":         "--max-concurrent",
	"max_errors_per_migration":          "--max-errors",
	"folder_include":                    "--include",
	"folder_exclude":                    "--exclude",
	"date_from":                         "--date-from",
	"date_to":                           "--date-to",
	"preflight_limits.max_message_size": "--limit-message-size-mb",
	"preflight_limits.max_folder_items": "--limit-folder-items",
	"preflight_limits.max_folder_depth": "--limit-folder-depth",
	"preflight_limits.max_folder_name_length": "--limit-folder-name",
	"preflight_limits.max_folder_path_length": "--limit-folder-path",
	"max_folder_items":                        "--limit-folder-items",
	"max_folder_depth":                        "--limit-folder-depth",
	"max_folder_name_length":                  "--limit-folder-name",
	"max_folder_path_length":                  "--limit-folder-path",
	"source":                                  "--source",
	"destination":                             "--destination",
	"source_login":                            "--source-login",
	"destination_login":                       "--destination-login",
	"source_password":                         "--source-password-file",
	"destination_password":                    "--destination-password-file",
	"selection":                               "--all, --status or --item",
	"statuses":                                "--status",
	"item_ids":                                "--item",
	"pass":                                    "--pass",
	"older_than_days":                         "--older-than-days",
	"at":                                      "--at",
	"file":                                    "--csv",
	"project":                                 "--project",
	"endpoint":                                "",
}

// serviceErr maps the services' errors to exit codes (exitCodeOf): bad
// input, missing records, conflicts and refusals exit 2 naming the flag;
// anything else exits 1.
func serviceErr(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	if fe, ok := fault.As(err); ok && fe.Kind != fault.Internal {
		msg := err.Error() // the whole chain: "not allowed: a Viewer may not ..."
		switch {
		case fe.Kind == fault.NotFound:
			msg = notFoundText(err)
		case fe.Field != "":
			msg = withFlag(fe.Field, fe.Msg, msg)
		}
		return &exitError{code: exitCodeOf(fe.Kind), err: errors.New(msg)}
	}
	return &exitError{code: ExitFailures, err: err}
}

// withFlag names the flag that sets a service's input field, in front of
// the message (or returns whole, the error's own text, for fields no flag sets).
func withFlag(field, msg, whole string) string {
	flag, known := fieldFlags[field]
	switch {
	case known && flag == "":
		return msg
	case known:
		return flag + ": " + msg
	}
	return whole
}

// notFoundText turns the store's "customer 7: not found" into "customer 7 does not exist".
func notFoundText(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "+store.ErrNotFound.Error()); i >= 0 {
		return s[:i] + " does not exist"
	}
	return s
}

// groupCmd is a command that only holds subcommands.
func groupCmd(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var names []string
			for _, c := range cmd.Commands() {
				if c.IsAvailableCommand() {
					names = append(names, c.Name())
				}
			}
			return usageErr("say what to do: %s %s (see '%s --help')", cmd.CommandPath(), strings.Join(names, "|"), cmd.CommandPath())
		},
	}
}

// idArg accepts exactly one numeric ID argument.
func idArg(what, listHint string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageErr("say which %s: %s ID (IDs are in '%s')", what, cmd.CommandPath(), listHint)
		}
		if _, err := parseID(args[0], what+" ID"); err != nil {
			return err
		}
		return nil
	}
}

func parseID(s, what string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id < 1 {
		return 0, usageErr("%s: %q is not an ID; use the number shown by the list commands", what, s)
	}
	return id, nil
}

func mustID(s string) int64 {
	id, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return id
}

// needID checks a required ID flag.
func needID(flag string, v int64, what, listHint string) error {
	if v < 1 {
		return usageErr("%s: say which %s (an ID from '%s')", flag, what, listHint)
	}
	return nil
}

// readSecretFile reads a password or token from a file (trailing newline
// dropped) or, when no file is given, from an environment variable.
func readSecretFile(flag, file, env string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageErr("%s: cannot read the file: %v", flag, err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return "", usageErr("%s: the file %s is empty", flag, file)
		}
		return s, nil
	}
	if env != "" {
		return os.Getenv(env), nil
	}
	return "", nil
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ---- ferry customer

func newCustomerCmd() *cobra.Command {
	var m manageFlags
	cmd := groupCmd("customer", "Add, list, show and delete customers")
	m.register(cmd)
	cmd.AddCommand(customerAddCmd(&m), customerListCmd(&m), customerShowCmd(&m), customerDeleteCmd(&m))
	return cmd
}

func customerAddCmd(m *manageFlags) *cobra.Command {
	var in customers.CustomerInput
	cmd := &cobra.Command{
		Use:   "add --name NAME --domain DOMAIN",
		Short: "Add a customer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				c, err := a.Customers.CreateCustomer(ctx, in)
				if err != nil {
					return err
				}
				return m.out(cmd, c, func(w io.Writer) {
					fmt.Fprintf(w, "customer %d added: %s (%s)\n", c.ID, c.Name, c.Domain)
					fmt.Fprintf(w, "next: ferry endpoint add --customer %d --name NAME --type TYPE --host HOST\n", c.ID)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&in.Name, "name", "", "the customer's `NAME` (unique)")
	fl.StringVar(&in.Domain, "domain", "", "primary `DOMAIN`, e.g. contoso.com")
	fl.StringVar(&in.Location, "location", "", "where the customer is")
	fl.StringVar(&in.Industry, "industry", "", "the customer's industry")
	fl.StringVar(&in.Size, "size", "", "the customer's size, e.g. 50 users")
	return cmd
}

func customerListCmd(m *manageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List customers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				cs, err := a.Customers.Visible(ctx)
				if err != nil {
					return err
				}
				if cs == nil {
					cs = []store.Customer{}
				}
				return m.out(cmd, cs, func(w io.Writer) {
					if len(cs) == 0 {
						fmt.Fprintln(w, "no customers yet; add one with: ferry customer add --name NAME --domain DOMAIN")
						return
					}
					tw := newTable(w)
					fmt.Fprintln(tw, "ID\tNAME\tDOMAIN\tLOCATION\tINDUSTRY\tSIZE\tCREATED")
					for _, c := range cs {
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Domain, orDash(c.Location), orDash(c.Industry), orDash(c.Size), stamp(c.Created))
					}
					tw.Flush()
				})
			})
		},
	}
}

func customerShowCmd(m *manageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a customer with its endpoints and projects",
		Args:  idArg("customer", "ferry customer list"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				c, err := a.Store.Customer(ctx, mustID(args[0]))
				if err != nil {
					return err
				}
				eps, err := a.Store.Endpoints(ctx, c.ID)
				if err != nil {
					return err
				}
				ps, err := a.Store.ProjectsOf(ctx, c.ID)
				if err != nil {
					return err
				}
				out := struct {
					store.Customer
					Endpoints []store.Endpoint `json:"endpoints"`
					Projects  []store.Project  `json:"projects"`
				}{c, nonNil(eps), nonNil(ps)}
				return m.out(cmd, out, func(w io.Writer) {
					fmt.Fprintf(w, "Customer %d: %s\n", c.ID, c.Name)
					fmt.Fprintf(w, "  domain    %s\n  location  %s\n  industry  %s\n  size      %s\n  created   %s\n",
						c.Domain, orDash(c.Location), orDash(c.Industry), orDash(c.Size), stamp(c.Created))
					fmt.Fprintln(w, "\nEndpoints")
					printEndpoints(w, eps, c.ID)
					fmt.Fprintln(w, "\nProjects")
					printProjects(w, ps, eps, c.ID)
				})
			})
		},
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func customerDeleteCmd(m *manageFlags) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a customer with its endpoints, projects, items and their credentials",
		Args:  idArg("customer", "ferry customer list"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				d, err := a.Customers.DeleteCustomer(ctx, mustID(args[0]), yes)
				if fe, ok := fault.As(err); ok && fe.Rule == customers.RuleCustomerHasProjects {
					return usageErr("--yes: %s: add --yes to confirm", fe.Msg)
				}
				if err != nil {
					return err
				}
				c, items, stopped := d.Customer, d.Items, d.Stopped
				out := struct {
					ID       int64 `json:"id"`
					Deleted  bool  `json:"deleted"`
					Projects int   `json:"projects"`
					Items    int   `json:"items"`
					Stopped  int   `json:"stopped"`
				}{c.ID, true, d.Projects, items, stopped}
				return m.out(cmd, out, func(w io.Writer) {
					fmt.Fprintf(w, "customer %d (%s) deleted with %d project(s) and %d item(s)", c.ID, c.Name, d.Projects, items)
					if stopped > 0 {
						fmt.Fprintf(w, "; %d queued or running pass(es) stopped", stopped)
					}
					fmt.Fprintln(w)
				})
			})
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "confirm deleting a customer that has projects")
	return cmd
}

// commandLine marks a context as a change made on the command line, for
// authorization and the audit log: whoever runs Ferry's commands on its
// database administers it, and the log names them by their OS account.
func commandLine(ctx context.Context) context.Context {
	name := "command line"
	if u, err := user.Current(); err == nil {
		name += " (" + u.Username + ")"
	}
	return auth.WithPrincipal(ctx, auth.Operator(name))
}
