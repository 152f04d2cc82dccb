package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/presets"
	"github.com/ferryhq/ferry/internal/store"
)

// envEndpointPassword holds an endpoint administrator's password when no file is given.
const envEndpointPassword = "FERRY_ENDPOINT_PASSWORD"

func newEndpointCmd() *cobra.Command {
	var m manageFlags
	cmd := groupCmd("endpoint", "Manage a customer's mail systems (endpoints) and their credentials")
	m.register(cmd)
	cmd.AddCommand(endpointTypesCmd(&m), endpointAddCmd(&m), endpointListCmd(&m), endpointCredentialsCmd(&m), endpointLocationsCmd(&m), endpointDeleteCmd(&m))
	return cmd
}

// limit prints a size limit in binary megabytes, as the mail systems document them.
func limit(n int64) string {
	switch {
	case n == 0:
		return "-"
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

func endpointTypesCmd(m *manageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "types",
		Short: "List the endpoint types Ferry knows, with their limits",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.out(cmd, presets.All, func(w io.Writer) {
				tw := newTable(w)
				fmt.Fprintln(tw, "TYPE\tSYSTEM\tPORT\tSECURITY\tMAX MESSAGE\tDAILY DOWNLOAD\tDAILY UPLOAD\tLOGIN\tTHROTTLING")
				for _, t := range presets.All {
					login := "any"
					if t.UserIsEmail {
						login = "email address"
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Label, t.Port, t.Security,
						limit(t.MaxMessageSize), limit(t.DailyDownload), limit(t.DailyUpload), login, orDash(t.Throttling))
				}
				tw.Flush()
			})
		},
	}
}

// endpointView is an endpoint as printed: which credentials it has, never their value.
type endpointView struct {
	store.Endpoint
	Credentials string `json:"credentials"` // "password", "oauth2_token", "oauth2_app" or "" (each item brings its own)
}

func viewEndpoint(e store.Endpoint) endpointView {
	v := endpointView{Endpoint: e}
	switch {
	case e.SealedOAuth2 != "":
		v.Credentials = "oauth2_app"
	case e.SealedToken != "":
		v.Credentials = "oauth2_token"
	case e.SealedPassword != "":
		v.Credentials = "password"
	}
	return v
}

func credentialsText(e store.Endpoint) string {
	switch {
	case e.SealedOAuth2 != "" && e.OAuth2ClientID != "":
		return "OAuth2 app " + e.OAuth2ClientID + " (secret set)"
	case e.SealedOAuth2 != "":
		return "Google service account (key set)"
	case e.SealedToken != "":
		return "admin " + e.AdminUser + " (OAuth2 token set)"
	case e.SealedPassword != "":
		return "admin " + e.AdminUser + " (password set)"
	}
	return "none: each item brings its own"
}

func printEndpoints(w io.Writer, eps []store.Endpoint, customerID int64) {
	if len(eps) == 0 {
		fmt.Fprintf(w, "  none yet; add one with: ferry endpoint add --customer %d --name NAME --type TYPE --host HOST\n", customerID)
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tHOST\tPORT\tSECURITY\tMAX MESSAGE\tCREDENTIALS")
	for _, e := range eps {
		sec := e.Security
		if e.AllowPlaintext {
			sec += " (plaintext allowed)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", e.ID, e.Name, e.Type, e.Host, e.Port, sec, limit(e.MaxMessageSize), credentialsText(e))
	}
	tw.Flush()
}

func endpointAddCmd(m *manageFlags) *cobra.Command {
	var (
		in                          customers.EndpointInput
		passFile, tokenFile         string
		maxSize, dailyDown, dailyUp string
		customer                    int64
		appCreds                    oauthFlags
	)
	cmd := &cobra.Command{
		Use:   "add --customer ID --name NAME --type TYPE --host HOST",
		Short: "Add an endpoint, with administrator credentials or without (then each item brings its own)",
		Long: `Add a mail system of a customer. With --admin and --password-file (or
--oauth2-token-file) the endpoint has administrator credentials that act for
every mailbox ("provide credentials"). Without them, each item needs its own
mailbox password ("do not provide credentials"). Passwords are read from files
or from FERRY_ENDPOINT_PASSWORD, never from flags, and are stored sealed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--customer", customer, "customer", "ferry customer list"); err != nil {
				return err
			}
			in.CustomerID = customer
			var err error
			for _, s := range []struct {
				flag, v string
				dst     *int64
			}{{"--max-message-size", maxSize, &in.MaxMessageSize}, {"--daily-download", dailyDown, &in.DailyDownload}, {"--daily-upload", dailyUp, &in.DailyUpload}} {
				if *s.dst, err = parseSize(s.v); err != nil {
					return usageErr("%s: %v", s.flag, err)
				}
			}
			if in.Password, in.Token, err = adminSecret(in.AdminUser, passFile, tokenFile); err != nil {
				return err
			}
			if in.OAuth2, err = appCreds.config(); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				e, err := a.Customers.CreateEndpoint(ctx, in)
				if err != nil {
					return err
				}
				return m.out(cmd, viewEndpoint(e), func(w io.Writer) {
					fmt.Fprintf(w, "endpoint %d added: %s (%s, %s:%d, %s); credentials: %s\n", e.ID, e.Name, e.Type, e.Host, e.Port, e.Security, credentialsText(e))
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&customer, "customer", 0, "the customer's `ID`")
	fl.StringVar(&in.Name, "name", "", "a `NAME` for the endpoint, unique within the customer")
	fl.StringVar(&in.Type, "type", "", "the mail system's `TYPE` (see 'ferry endpoint types')")
	fl.StringVar(&in.Host, "host", "", "the IMAP server's `HOST` name")
	fl.IntVar(&in.Port, "port", 0, "the IMAP `PORT` (default 993 for tls, 143 for starttls)")
	fl.StringVar(&in.Security, "security", "", "`MODE`: tls (implicit TLS) or starttls (default: the type's, tls)")
	fl.BoolVar(&in.AllowPlaintext, "allow-plaintext", false, "allow logging in over a connection that is not encrypted")
	fl.StringVar(&in.AdminUser, "admin", "", "administrator `USER` who acts for every mailbox (provide credentials)")
	fl.StringVar(&passFile, "password-file", "", "`FILE` holding the administrator's password (or set "+envEndpointPassword+")")
	fl.StringVar(&tokenFile, "oauth2-token-file", "", "`FILE` holding an OAuth2 access token for the administrator (XOAUTH2)")
	appCreds.register(fl, "endpoint", "--")
	fl.StringVar(&maxSize, "max-message-size", "", "largest message `SIZE` the system accepts, e.g. 35MB (default: the type's)")
	fl.StringVar(&dailyDown, "daily-download", "", "`SIZE` a mailbox may download per day (default: the type's)")
	fl.StringVar(&dailyUp, "daily-upload", "", "`SIZE` a mailbox may upload per day (default: the type's)")
	fl.Int64Var(&in.Limits.MaxFolderItems, "limit-folder-items", 0, "pre-flight, as a destination: at most `N` messages in one folder (default: the type's)")
	fl.IntVar(&in.Limits.MaxFolderDepth, "limit-folder-depth", 0, "pre-flight, as a destination: at most `N` folder levels (default: the type's)")
	fl.IntVar(&in.Limits.MaxFolderNameLength, "limit-folder-name", 0, "pre-flight, as a destination: at most `N` characters in a folder name (default: the type's)")
	fl.IntVar(&in.Limits.MaxFolderPathLength, "limit-folder-path", 0, "pre-flight, as a destination: at most `N` characters in a whole folder path (default: the type's)")
	registerLocations(fl, &in.Locations)
	return cmd
}

// registerLocations adds the flags that say where an endpoint's calendars,
// contacts and tasks are.
func registerLocations(fl *pflag.FlagSet, l *customers.Locations) {
	fl.StringVar(&l.DAVURL, "dav-url", "", "CalDAV/CardDAV base `URL` of the mailboxes' calendars, contacts and tasks (either side)")
	fl.StringVar(&l.GraphURL, "graph-url", "", "Microsoft Graph `URL` (https://graph.microsoft.com/v1.0): a Microsoft 365 destination's calendars, contacts and tasks, with the endpoint's OAuth2 app")
	fl.StringVar(&l.EWSURL, "ews-url", "", "Exchange Web Services `URL` (https://mail.contoso.com/EWS/Exchange.asmx): an Exchange source's calendars, contacts and tasks, read by the administrator with impersonation")
}

func locationsText(e store.Endpoint) string {
	var parts []string
	for _, l := range []struct{ name, v string }{{"DAV", e.DAVURL}, {"Graph", e.GraphURL}, {"EWS", e.EWSURL}} {
		if l.v != "" {
			parts = append(parts, l.name+" "+l.v)
		}
	}
	if len(parts) == 0 {
		return "mail only"
	}
	return strings.Join(parts, ", ")
}

func endpointLocationsCmd(m *manageFlags) *cobra.Command {
	var l customers.Locations
	cmd := &cobra.Command{
		Use:   "locations ID [--dav-url URL] [--graph-url URL] [--ews-url URL]",
		Short: "Set where an endpoint's calendars, contacts and tasks are (none: mail only)",
		Long: `Items move calendars, contacts and tasks when both endpoints say where they
are: a CalDAV/CardDAV base URL (source or destination), Microsoft Graph (a
Microsoft 365 destination, with the endpoint's OAuth2 app) or Exchange Web
Services (an Exchange source, read by the endpoint's administrator with
impersonation). The flags given replace all three; none clears them.`,
		Args: idArg("endpoint", "ferry endpoint list --customer ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := mustID(args[0])
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				e, err := a.Customers.SetEndpointLocations(ctx, id, l)
				if err != nil {
					return err
				}
				return m.out(cmd, viewEndpoint(e), func(w io.Writer) {
					fmt.Fprintf(w, "endpoint %d (%s): calendars, contacts and tasks: %s\n", e.ID, e.Name, locationsText(e))
				})
			})
		},
	}
	registerLocations(cmd.Flags(), &l)
	return cmd
}

// adminSecret reads an administrator's password or token: from the files,
// or from FERRY_ENDPOINT_PASSWORD when an administrator is named.
func adminSecret(admin, passFile, tokenFile string) (password, token string, err error) {
	if passFile != "" && tokenFile != "" {
		return "", "", usageErr("--oauth2-token-file: give a password file or a token file, not both")
	}
	if token, err = readSecretFile("--oauth2-token-file", tokenFile, ""); err != nil {
		return "", "", err
	}
	env := ""
	if admin != "" && token == "" {
		env = envEndpointPassword
	}
	if password, err = readSecretFile("--password-file", passFile, env); err != nil {
		return "", "", err
	}
	return password, token, nil
}

func endpointListCmd(m *manageFlags) *cobra.Command {
	var customer int64
	cmd := &cobra.Command{
		Use:   "list --customer ID",
		Short: "List a customer's endpoints and whether they have credentials",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--customer", customer, "customer", "ferry customer list"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Store.Customer(ctx, customer); err != nil {
					return err
				}
				eps, err := a.Store.Endpoints(ctx, customer)
				if err != nil {
					return err
				}
				views := []endpointView{}
				for _, e := range eps {
					views = append(views, viewEndpoint(e))
				}
				return m.out(cmd, views, func(w io.Writer) { printEndpoints(w, eps, customer) })
			})
		},
	}
	cmd.Flags().Int64Var(&customer, "customer", 0, "the customer's `ID`")
	return cmd
}

func endpointCredentialsCmd(m *manageFlags) *cobra.Command {
	var (
		admin, passFile, tokenFile string
		clear                      bool
		appCreds                   oauthFlags
	)
	cmd := &cobra.Command{
		Use:   "credentials ID (--admin USER --password-file FILE | --admin USER --oauth2-token-file FILE | --oauth2-... app credentials | --google-service-account-file FILE | --clear)",
		Short: "Replace or remove an endpoint's administrator credentials",
		Args:  idArg("endpoint", "ferry endpoint list --customer ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := mustID(args[0])
			var password, token string
			cfg, err := appCreds.config()
			if err != nil {
				return err
			}
			switch {
			case clear && (admin != "" || passFile != "" || tokenFile != "" || cfg.Set()):
				return usageErr("--clear: removes the credentials; do not give --admin, --password-file, --oauth2-token-file or app credentials with it")
			case !clear && admin == "" && cfg.Set():
			case !clear && admin == "":
				return usageErr("--admin: name the administrator (with --password-file or --oauth2-token-file), or give --clear to remove the credentials")
			case !clear:
				var err error
				if password, token, err = adminSecret(admin, passFile, tokenFile); err != nil {
					return err
				}
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				e, err := a.Customers.SetEndpointCredentials(ctx, id, admin, password, token, cfg)
				if err != nil {
					return err
				}
				return m.out(cmd, viewEndpoint(e), func(w io.Writer) {
					fmt.Fprintf(w, "endpoint %d (%s): credentials: %s\n", e.ID, e.Name, credentialsText(e))
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&admin, "admin", "", "administrator `USER` who acts for every mailbox")
	fl.StringVar(&passFile, "password-file", "", "`FILE` holding the administrator's password (or set "+envEndpointPassword+")")
	fl.StringVar(&tokenFile, "oauth2-token-file", "", "`FILE` holding an OAuth2 access token (XOAUTH2)")
	appCreds.register(fl, "endpoint", "--")
	fl.BoolVar(&clear, "clear", false, "remove the credentials: each item then needs its own password")
	return cmd
}

func endpointDeleteCmd(m *manageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an endpoint and its credentials (refused while a project uses it)",
		Args:  idArg("endpoint", "ferry endpoint list --customer ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := mustID(args[0])
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Customers.DeleteEndpoint(ctx, id); err != nil {
					return err
				}
				out := struct {
					ID      int64 `json:"id"`
					Deleted bool  `json:"deleted"`
				}{id, true}
				return m.out(cmd, out, func(w io.Writer) { fmt.Fprintf(w, "endpoint %d deleted\n", id) })
			})
		},
	}
}

// resolveEndpoint reads an endpoint given by ID or by name within a customer.
func resolveEndpoint(ctx context.Context, a *app.App, customerID int64, flag, v string) (int64, error) {
	if v == "" {
		return 0, usageErr("%s: say which endpoint (an ID or name from 'ferry endpoint list --customer %d')", flag, customerID)
	}
	if id, err := strconv.ParseInt(v, 10, 64); err == nil {
		return id, nil
	}
	eps, err := a.Store.Endpoints(ctx, customerID)
	if err != nil {
		return 0, err
	}
	for _, e := range eps {
		if e.Name == v {
			return e.ID, nil
		}
	}
	return 0, usageErr("%s: customer %d has no endpoint named %q; see 'ferry endpoint list --customer %d'", flag, customerID, v, customerID)
}
