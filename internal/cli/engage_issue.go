package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/engagements"
)

func issueUpdateCmd(m *engageFlags) *cobra.Command {
	var (
		engagement          int64
		status, owner, desc string
		u                   engagements.IssueUpdate
	)
	cmd := &cobra.Command{
		Use:   "update ISSUE_ID --engagement ID [--status open|investigating|resolved|closed] [--owner EMAIL] [--description D] [--note WHY]",
		Short: "Assign, work, close or reopen a post-migration issue",
		Long: `Change a post-migration issue; each change goes into its history under your
name. The owner is the email of an account that may work the customer's
issues (an empty --owner unassigns). Reopening a resolved or closed issue
needs --note saying why.`,
		Args: idArg("issue", "ferry issue list --engagement ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			fl := cmd.Flags()
			if fl.Changed("status") {
				u.Status = &status
			}
			if fl.Changed("owner") {
				u.Owner = &owner
			}
			if fl.Changed("description") {
				u.Description = &desc
			}
			if u.Status == nil && u.Owner == nil && u.Description == nil {
				return usageErr("nothing to change: give --status, --owner or --description")
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				p, err := a.Engagements.UpdateIssue(ctx, engagement, mustID(args[0]), u)
				if err != nil {
					return err
				}
				return m.out(cmd, p, func(w io.Writer) {
					fmt.Fprintf(w, "issue %d (%s): %s, owner %s; reporting deadline %s\n", p.ID, p.Mailbox, p.Status, orDash(p.Owner), p.Deadline.Format("2006-01-02 15:04 MST"))
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	fl.StringVar(&status, "status", "", "open, investigating, resolved or closed (`STATUS`)")
	fl.StringVar(&owner, "owner", "", "the `EMAIL` of the account that works it (empty: unassign)")
	fl.StringVar(&desc, "description", "", "what is wrong (`TEXT`)")
	fl.StringVar(&u.Note, "note", "", "why (`TEXT`); needed to reopen")
	return cmd
}

func issueHistoryCmd(m *engageFlags) *cobra.Command {
	var engagement int64
	cmd := &cobra.Command{
		Use:   "history ISSUE_ID --engagement ID",
		Short: "List every change to a post-migration issue",
		Args:  idArg("issue", "ferry issue list --engagement ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				events, err := a.Engagements.IssueHistory(ctx, engagement, mustID(args[0]))
				if err != nil {
					return err
				}
				events = nonNil(events)
				return m.out(cmd, map[string]any{"events": events}, func(w io.Writer) {
					if len(events) == 0 {
						fmt.Fprintf(w, "issue %s has not changed since it was reported\n", args[0])
						return
					}
					tw := newTable(w)
					fmt.Fprintln(tw, "AT\tWHO\tFIELD\tBEFORE\tAFTER\tWHY")
					for _, ev := range events {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(ev.At), ev.Who, ev.Field, orDash(strconv.Quote(ev.Before)), strconv.Quote(ev.After), orDash(ev.Note))
					}
					tw.Flush()
				})
			})
		},
	}
	cmd.Flags().Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	return cmd
}
