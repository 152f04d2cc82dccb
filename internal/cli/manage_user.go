package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// newUserCmd manages the portal's accounts.
func newUserCmd() *cobra.Command {
	var m manageFlags
	root := groupCmd("user", "Manage the people who sign in to the portal: accounts, roles, customers")
	m.register(root)

	var email, name, role, passwordFile string
	var customers []int64
	roleHelp := "`ROLE`: " + func() string {
		var r []string
		for _, ri := range auth.Roles {
			r = append(r, string(ri.Role))
		}
		return strings.Join(r, ", ")
	}()
	userErr := func(err error) error {
		if fe, ok := fault.As(err); ok && fe.Field != "" {
			flag := map[string]string{"email": "--email", "name": "--name", "role": "--role", "password": "--password-file", "customers": "--customer"}[fe.Field]
			if flag == "" {
				return &exitError{code: exitCodeOf(fe.Kind), err: errors.New(fe.Msg)}
			}
			return &exitError{code: exitCodeOf(fe.Kind), err: fmt.Errorf("%s: %s", flag, fe.Msg)}
		}
		return err
	}
	password := func() (string, error) {
		pw, err := readSecretFile("--password-file", passwordFile, "FERRY_USER_PASSWORD")
		if err == nil && pw == "" {
			err = usageErr("--password-file: give the password in a file (or in FERRY_USER_PASSWORD)")
		}
		return pw, err
	}

	create := &cobra.Command{
		Use:   "create",
		Short: "Create an account (the password comes from --password-file or FERRY_USER_PASSWORD)",
		Example: `  ferry user create --email ada@example.com --name Ada --role administrator --password-file pw.txt
  ferry user create --email pat@partner.example --name Pat --role partner --customer 1 --customer 3 --password-file pw.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := password()
			if err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				u, err := a.People.CreateUser(ctx, auth.UserInput{Email: email, Name: name, Role: role, Password: pw, Customers: customers})
				if err != nil {
					return userErr(err)
				}
				return m.out(cmd, u, func(w io.Writer) {
					fmt.Fprintf(w, "account %d created for %s (%s)\n", u.ID, u.Email, auth.Role(u.Role).Title())
				})
			})
		},
	}
	create.Flags().StringVar(&email, "email", "", "the person's email: what they sign in with")
	create.Flags().StringVar(&name, "name", "", "the person's name")
	create.Flags().StringVar(&role, "role", "", roleHelp)
	create.Flags().Int64SliceVar(&customers, "customer", nil, "customer `ID` the person may see (repeat; for partners, customers' people and viewers)")
	create.Flags().StringVar(&passwordFile, "password-file", "", "`FILE` holding the password (at least 12 characters)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the accounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				users, err := a.Store.Users(ctx)
				if err != nil {
					return err
				}
				return m.out(cmd, nonNil(users), func(w io.Writer) {
					tw := newTable(w)
					fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tCUSTOMERS\tSTATE\tLAST SIGN-IN")
					for _, u := range users {
						fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, auth.Role(u.Role).Title(), ids(u.Customers), userState(u), stamp(u.LastSignIn))
					}
					tw.Flush()
				})
			})
		},
	}

	var newRole string
	var newCustomers []int64
	var newPasswordFile string
	update := &cobra.Command{
		Use:   "update ID",
		Short: "Change an account's role, customers or password (signs the person out when the role or password changes)",
		Args:  idArg("account", "ferry user list"),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw := ""
			if newPasswordFile != "" {
				var err error
				if pw, err = readSecretFile("--password-file", newPasswordFile, ""); err != nil {
					return err
				}
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				u, err := a.Store.User(ctx, mustID(args[0]))
				if err != nil {
					return err
				}
				in := auth.UserInput{Email: u.Email, Name: u.Name, Role: u.Role, Customers: u.Customers, Password: pw}
				if cmd.Flags().Changed("role") {
					in.Role = newRole
				}
				if cmd.Flags().Changed("customer") {
					in.Customers = newCustomers
				}
				if u, err = a.People.UpdateUser(ctx, u.ID, in); err != nil {
					return userErr(err)
				}
				return m.out(cmd, u, func(w io.Writer) { fmt.Fprintf(w, "account %d (%s) updated\n", u.ID, u.Email) })
			})
		},
	}
	update.Flags().StringVar(&newRole, "role", "", roleHelp)
	update.Flags().Int64SliceVar(&newCustomers, "customer", nil, "customer `ID` the person may see (repeat; replaces the list)")
	update.Flags().StringVar(&newPasswordFile, "password-file", "", "`FILE` holding a new password")

	state := func(use, short string, do func(ctx context.Context, svc *auth.Service, id int64) (store.User, error), done string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  idArg("account", "ferry user list"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return m.run(cmd, func(ctx context.Context, a *app.App) error {
					u, err := do(ctx, a.People, mustID(args[0]))
					if err != nil {
						return userErr(err)
					}
					return m.out(cmd, u, func(w io.Writer) { fmt.Fprintf(w, "account %d (%s) %s\n", u.ID, u.Email, done) })
				})
			},
		}
	}
	disable := state("disable", "Disable an account and sign it out everywhere",
		func(ctx context.Context, svc *auth.Service, id int64) (store.User, error) {
			return svc.SetDisabled(ctx, id, true)
		}, "disabled")
	enable := state("enable", "Enable a disabled account",
		func(ctx context.Context, svc *auth.Service, id int64) (store.User, error) {
			return svc.SetDisabled(ctx, id, false)
		}, "enabled")
	unlock := state("unlock", "Lift the lockout after failed sign-ins",
		func(ctx context.Context, svc *auth.Service, id int64) (store.User, error) { return svc.Unlock(ctx, id) }, "unlocked")
	root.AddCommand(create, list, update, disable, enable, unlock)
	return root
}

func userState(u store.User) string {
	switch {
	case u.Disabled:
		return "disabled"
	case !u.LockedUntil.IsZero() && u.LockedUntil.After(time.Now()):
		return "locked"
	}
	return "active"
}

func ids(v []int64) string {
	if len(v) == 0 {
		return "-"
	}
	s := make([]string, len(v))
	for i, id := range v {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ",")
}
