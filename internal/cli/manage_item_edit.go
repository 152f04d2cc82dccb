package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/projects"
)

func itemEditCmd(m *manageFlags) *cobra.Command {
	var (
		dest, srcLogin, dstLogin string
		srcFile, dstFile         string
		workloads                []string
		project                  int64
	)
	cmd := &cobra.Command{
		Use:   "edit ID... [--destination ADDR] [--source-login LOGIN] [--destination-login LOGIN] [--source-password-file FILE] [--destination-password-file FILE] [--workloads LIST] [--project ID]",
		Short: "Change items' destination, log-in names, passwords or workloads (several at once)",
		Long: `Change what a bulk import got wrong: the destination address, a log-in name
(an empty value: the address), or a mailbox password, read from a file (only
from a file: a password in the environment is not taken, so that an edit
replaces exactly what it names). Passwords are sealed and never printed.
The source cannot change: delete the item and add the right one. Refused
while a pass of the item is queued or running ('ferry pass stop' first).

Several IDs get the same log-in names, passwords or workloads at once (the
destination is each item's own: edit it one item at a time). All or
nothing: when one item is not the project's, has a pass queued or running,
or refuses the change, none changes and the error names its mailbox.
Without --project the project is the first item's. Then Retry errors for
them: 'ferry pass start --project ID --pass retry --item ID...'.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("say which items: %s ID... (IDs are in 'ferry item list --project ID')", cmd.CommandPath())
			}
			for _, a := range args {
				if _, err := parseID(a, "item ID"); err != nil {
					return err
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var e projects.ItemEdit
			fl := cmd.Flags()
			pick := func(flag string, v *string) *string {
				if fl.Changed(flag) {
					return v
				}
				return nil
			}
			e.Dest, e.SourceLogin, e.DestLogin = pick("destination", &dest), pick("source-login", &srcLogin), pick("destination-login", &dstLogin)
			if fl.Changed("workloads") {
				e.Workloads = &workloads
			}
			var changed []string
			for _, p := range []struct {
				flag, file string
				to         **string
			}{{"--source-password-file", srcFile, &e.SourcePassword}, {"--destination-password-file", dstFile, &e.DestPassword}} {
				if p.file == "" {
					continue
				}
				pw, err := readSecretFile(p.flag, p.file, "")
				if err != nil {
					return err
				}
				*p.to = &pw
				changed = append(changed, strings.TrimSuffix(strings.TrimPrefix(p.flag, "--"), "-file")+" replaced")
			}
			for _, f := range []string{"destination", "source-login", "destination-login", "workloads"} {
				if fl.Changed(f) {
					changed = append([]string{f}, changed...)
				}
			}
			if len(changed) == 0 {
				return usageErr("nothing to change: give --destination, --source-login, --destination-login, --workloads or a password file")
			}
			if len(args) > 1 {
				ids := make([]int64, len(args))
				for i, a := range args {
					ids[i] = mustID(a)
				}
				return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
					pid := project
					if pid == 0 {
						d, err := a.Service.Item(ctx, ids[0])
						if err != nil {
							return err
						}
						pid = d.ProjectID
					}
					its, err := a.Service.EditItems(ctx, pid, ids, e)
					if err != nil {
						return err
					}
					res := struct {
						ProjectID int64      `json:"project_id"`
						Items     []itemView `json:"items"`
					}{ProjectID: pid, Items: make([]itemView, 0, len(its))}
					for _, it := range its {
						res.Items = append(res.Items, viewItem(it))
					}
					return m.out(cmd, res, func(w io.Writer) {
						fmt.Fprintf(w, "%d items of project %d changed (%s):\n", len(its), pid, strings.Join(changed, ", "))
						for _, it := range its {
							fmt.Fprintf(w, "  item %d: %s → %s\n", it.ID, it.Source, it.Dest)
						}
					})
				})
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				it, err := a.Service.EditItem(ctx, mustID(args[0]), e)
				if err != nil {
					return err
				}
				return m.out(cmd, viewItem(it), func(w io.Writer) {
					fmt.Fprintf(w, "item %d changed (%s): %s → %s\n", it.ID, strings.Join(changed, ", "), it.Source, it.Dest)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dest, "destination", "", "the new destination mailbox `ADDR`ess")
	fl.StringVar(&srcLogin, "source-login", "", "the source `LOGIN` (empty: the address)")
	fl.StringVar(&dstLogin, "destination-login", "", "the destination `LOGIN` (empty: the address)")
	fl.StringVar(&srcFile, "source-password-file", "", "`FILE` holding the source mailbox's new password")
	fl.StringVar(&dstFile, "destination-password-file", "", "`FILE` holding the destination mailbox's new password")
	fl.StringSliceVar(&workloads, "workloads", nil, "what the item moves from now on: any of mail, calendar, contacts, tasks (comma-separated)")
	fl.Int64Var(&project, "project", 0, "with several IDs: the project's `ID` (default: the first item's)")
	return cmd
}

func itemDeleteCmd(m *manageFlags) *cobra.Command {
	var project int64
	cmd := &cobra.Command{
		Use:   "delete ID... [--project ID]",
		Short: "Delete items (one or many at once)",
		Long: `Delete items of a project. All or nothing: when one is not the project's, or
a pass of one is queued or running, none is deleted ('ferry pass stop'
first). Without --project the project is the first item's. The mailboxes
themselves are not touched.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("say which items: %s ID... (IDs are in 'ferry item list --project ID')", cmd.CommandPath())
			}
			for _, a := range args {
				if _, err := parseID(a, "item ID"); err != nil {
					return err
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := make([]int64, len(args))
			for i, a := range args {
				ids[i] = mustID(a)
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				pid := project
				if pid == 0 {
					d, err := a.Service.Item(ctx, ids[0])
					if err != nil {
						return err
					}
					pid = d.ProjectID
				}
				if err := a.Service.DeleteItems(ctx, pid, ids); err != nil {
					return err
				}
				res := struct {
					ProjectID int64   `json:"project_id"`
					Deleted   []int64 `json:"deleted"`
				}{pid, ids}
				return m.out(cmd, res, func(w io.Writer) {
					noun := "items"
					if len(ids) == 1 {
						noun = "item"
					}
					fmt.Fprintf(w, "%d %s deleted from project %d\n", len(ids), noun, pid)
				})
			})
		},
	}
	cmd.Flags().Int64Var(&project, "project", 0, "the project's `ID` (default: the first item's)")
	return cmd
}
