package cli

// The DNS commands: an engagement's mail domains, their records as
// Microsoft 365 wants them, and the MX cutover that starts the final pass.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/dnscheck"
	"github.com/ferryhq/ferry/internal/jobs"
)

type dnsFlags struct {
	manageFlags
	resolver string
}

func (m *dnsFlags) register(cmd *cobra.Command) {
	m.manageFlags.register(cmd)
	cmd.PersistentFlags().StringVar(&m.resolver, "resolver", "", "name server `HOST:PORT` to ask (default: the domain's own, else the first of /etc/resolv.conf)")
}

// run opens Ferry with the resolver chosen, runs fn and maps errors to exit codes.
func (m *dnsFlags) run(cmd *cobra.Command, fn func(ctx context.Context, a *app.App) error) error {
	resolver, err := dnscheck.CheckResolver(m.resolver)
	if err != nil {
		return usageErr("--resolver: %v", err)
	}
	return m.manageFlags.run(cmd, func(ctx context.Context, a *app.App) error {
		a.DNS.Resolver = resolver
		return fn(ctx, a)
	})
}

func newDNSCmd() *cobra.Command {
	var m dnsFlags
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Check mail domains' DNS for Microsoft 365 and run the MX cutover that starts the final Full pass",
		Long: `An engagement's mail domains are checked for the records Microsoft 365 asks
for (the verification TXT, MX, the autodiscover CNAME, SPF), and their MX
watched: once every MX of a domain points at the destination for two checks
in a row and the largest TTL has passed, Ferry records the cutover on the
engagement, marks task 1370 and queues the final Full (delta) pass for the
domain's mailboxes, once. 'ferry serve' and 'ferry worker' run the watch
every --mx-interval; 'ferry dns watch' runs it in the foreground.
See docs/cutover.md.`,
	}
	m.register(cmd)
	domain := &cobra.Command{Use: "domain", Short: "Add, list and remove an engagement's mail domains"}
	domain.AddCommand(dnsDomainAddCmd(&m), dnsDomainListCmd(&m), dnsDomainRemoveCmd(&m))
	cmd.AddCommand(domain, dnsCheckCmd(&m), dnsWatchCmd(&m), dnsCutoverCmd(&m))
	return cmd
}

func dnsDomainAddCmd(m *dnsFlags) *cobra.Command {
	var engagement int64
	var in dnscheck.DomainInput
	cmd := &cobra.Command{
		Use:   "add DOMAIN --engagement ID [--verification MS=ms12345678] [--domain-resolver HOST:PORT]",
		Short: "Add a mail domain to an engagement: its records are checked and its MX watched",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			in.Domain = args[0]
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				d, err := a.DNS.AddDomain(ctx, engagement, in)
				if err != nil {
					return err
				}
				return m.out(cmd, d, func(w io.Writer) {
					fmt.Fprintf(w, "domain %s added to engagement %d; check it with 'ferry dns check --engagement %d'\n", d.Domain, engagement, engagement)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	fl.StringVar(&in.VerificationTXT, "verification", "", "the TXT `VALUE` the Microsoft 365 admin center asks for (MS=ms12345678; Setup > Domains); default: any MS=ms... value")
	fl.StringVar(&in.Resolver, "domain-resolver", "", "name server `HOST:PORT` for this domain (e.g. its DNS provider's), instead of the process's")
	return cmd
}

func dnsDomainListCmd(m *dnsFlags) *cobra.Command {
	var engagement int64
	cmd := &cobra.Command{
		Use:   "list --engagement ID",
		Short: "List an engagement's domains and where each one's cutover stands",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				ds, err := a.DNS.Domains(ctx, engagement)
				if err != nil {
					return err
				}
				ds = nonNil(ds)
				return m.out(cmd, map[string]any{"domains": ds}, func(w io.Writer) { printDomains(w, ds) })
			})
		},
	}
	cmd.Flags().Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	return cmd
}

func printDomains(w io.Writer, ds []dnscheck.DomainStatus) {
	if len(ds) == 0 {
		fmt.Fprintln(w, "no domain; add one with 'ferry dns domain add DOMAIN --engagement ID'")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "DOMAIN\tMX (LAST CHECK)\tCHECKED\tCUTOVER")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Domain, orDash(d.LastMX), stamp(d.LastChecked), d.State)
	}
	tw.Flush()
}

func dnsDomainRemoveCmd(m *dnsFlags) *cobra.Command {
	var engagement int64
	cmd := &cobra.Command{
		Use:   "remove DOMAIN --engagement ID",
		Short: "Stop checking and watching a domain (a cutover recorded stays)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				if err := a.DNS.RemoveDomain(ctx, engagement, args[0]); err != nil {
					return err
				}
				return m.out(cmd, map[string]any{"removed": args[0]}, func(w io.Writer) { fmt.Fprintf(w, "domain %s removed\n", args[0]) })
			})
		},
	}
	cmd.Flags().Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	return cmd
}

func dnsCheckCmd(m *dnsFlags) *cobra.Command {
	var engagement int64
	var verification string
	cmd := &cobra.Command{
		Use:   "check [DOMAIN...] [--engagement ID] [--verification MS=ms12345678]",
		Short: "Check domains' verification TXT, MX, autodiscover CNAME and SPF for Microsoft 365",
		Long: `Ask the resolver for each domain's records and say, for each, whether it is
present, missing or pointing elsewhere, with the record to add. Give domains,
or --engagement for the engagement's. Exit status 0 when every record is
present, 1 when one is not (2 on a usage error or no answer).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (engagement == 0) == (len(args) == 0) {
				return usageErr("say which domains: give them (ferry dns check contoso.com) or --engagement ID, not both")
			}
			var reps []dnscheck.Report
			if len(args) > 0 {
				resolver, err := dnscheck.CheckResolver(m.resolver)
				if err != nil {
					return usageErr("--resolver: %v", err)
				}
				if verification != "" && !dnscheck.ValidVerification(verification) {
					return usageErr("--verification: %q is not the admin center's value; it looks like MS=ms12345678", verification)
				}
				for _, d := range args {
					d = strings.ToLower(strings.TrimSuffix(d, "."))
					if !dnscheck.ValidDomain(d) {
						return usageErr("%q is not a domain name; write it like contoso.com", d)
					}
					rep, err := dnscheck.Resolver{Addr: resolver}.Check(cmd.Context(), d, dnscheck.Expect{VerificationTXT: verification})
					if err != nil {
						return usageErr("%v", err)
					}
					reps = append(reps, rep)
				}
			} else {
				err := m.run(cmd, func(ctx context.Context, a *app.App) error {
					var err error
					reps, err = a.DNS.Check(ctx, engagement)
					return err
				})
				if err != nil {
					return err
				}
			}
			if err := m.out(cmd, map[string]any{"domains": reps}, func(w io.Writer) { printReports(w, reps) }); err != nil {
				return err
			}
			for _, r := range reps {
				if !r.Ready {
					return &exitError{code: ExitFailures, err: errors.New("some records are missing or point elsewhere: add the records above")}
				}
			}
			return nil
		},
	}
	cmd.Flags().Int64Var(&engagement, "engagement", 0, "check the engagement's domains (`ID`)")
	cmd.Flags().StringVar(&verification, "verification", "", "the TXT `VALUE` the admin center asks for, for the domains given")
	return cmd
}

func printReports(w io.Writer, reps []dnscheck.Report) {
	for i, r := range reps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s: MX %s\n", r.Domain, dnscheck.FormatMX(r.MX))
		tw := newTable(w)
		fmt.Fprintln(tw, "RECORD\tSTATE\tFOUND\tTO ADD")
		for _, c := range r.Records {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Record, c.State, orDash(strings.Join(c.Found, "; ")), orDash(c.Add))
		}
		tw.Flush()
		for _, c := range r.Records {
			if c.Hint != "" {
				fmt.Fprintf(w, "  %s: %s\n", c.Record, c.Hint)
			}
		}
	}
}

func dnsWatchCmd(m *dnsFlags) *cobra.Command {
	var once bool
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "watch [--once] [--interval 5m]",
		Short: "Run the MX watch in the foreground, for every engagement's domains",
		Long: `Resolve every engagement domain's MX, now and every --interval, and start
the cutover of each domain whose every MX has pointed at the destination for
two checks in a row, once the largest TTL has passed: the cutover is recorded
on the engagement, task 1370 marked and the final Full pass queued for the
domain's mailboxes, once, whoever else (ferry serve, ferry worker, another
watch) sees it too. Once those passes ended, the domain's records are checked
again (post-migration DNS, FTOP 1370) until all are present.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if every < time.Second {
				return usageErr("--interval: check at most once a second (e.g. 5m)")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cmd.SetContext(ctx)
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				for {
					watchErr := a.DNS.WatchMX(ctx)
					if ctx.Err() != nil {
						return nil
					}
					if watchErr != nil && !once {
						fmt.Fprintf(cmd.ErrOrStderr(), "ferry dns watch: %v\n", watchErr)
					}
					if err := printWatch(cmd, m, ctx, a); err != nil {
						return err
					}
					if once {
						return watchErr
					}
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(every):
					}
				}
			})
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "check once and stop")
	cmd.Flags().DurationVar(&every, "interval", jobs.DefaultMXInterval, "time between checks")
	return cmd
}

func printWatch(cmd *cobra.Command, m *dnsFlags, ctx context.Context, a *app.App) error {
	all, err := a.Store.EngagementDomains(ctx, 0)
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	var out []dnscheck.DomainStatus
	for _, d := range all {
		if seen[d.EngagementID] {
			continue
		}
		seen[d.EngagementID] = true
		ds, err := a.DNS.Domains(ctx, d.EngagementID)
		if err != nil {
			return err
		}
		out = append(out, ds...)
	}
	out = nonNil(out)
	return m.out(cmd, map[string]any{"at": time.Now().UTC(), "domains": out}, func(w io.Writer) {
		fmt.Fprintf(w, "%s\n", time.Now().UTC().Format("2006-01-02 15:04:05 MST"))
		printDomains(w, out)
	})
}

func dnsCutoverCmd(m *dnsFlags) *cobra.Command {
	var engagement int64
	cmd := &cobra.Command{
		Use:   "cutover DOMAIN --engagement ID",
		Short: "Record a domain's MX cutover now and queue its final Full pass (what the watch does by itself)",
		Long: `For when you know the MX changed and do not want to wait for the watch (or
the destination's MX is not one the watch recognises): the cutover is
recorded on the engagement, task 1370 marked and the final Full pass queued
for the domain's mailboxes (those whose destination address is in the
domain). It happens once: after the watch or another person did it, this
says when and by whom.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := needID("--engagement", engagement, "engagement", "ferry engagement list --customer ID"); err != nil {
				return err
			}
			return m.run(cmd, func(ctx context.Context, a *app.App) error {
				c, err := a.DNS.Cutover(ctx, engagement, args[0])
				if err != nil {
					return err
				}
				return m.out(cmd, c, func(w io.Writer) {
					fmt.Fprintf(w, "cutover of %s recorded at %s; final Full pass queued for %s (MX: %s)\n", c.Domain, stamp(c.At), mailboxes(c.Queued), c.MX)
					if c.Waiting > 0 {
						fmt.Fprintf(w, "%s running a pass now: their final Full pass is queued when it ends (the watch of ferry serve or ferry worker does it)\n", mailboxes(c.Waiting))
					}
				})
			})
		},
	}
	cmd.Flags().Int64Var(&engagement, "engagement", 0, "the engagement's `ID`")
	return cmd
}

func mailboxes(n int) string {
	if n == 1 {
		return "1 mailbox"
	}
	return fmt.Sprintf("%d mailboxes", n)
}
