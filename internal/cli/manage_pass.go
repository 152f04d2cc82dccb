package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/app"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/secrets"
)

func newPassCmd() *cobra.Command {
	var m manageFlags
	cmd := groupCmd("pass", "Queue and stop migration passes over a project's items")
	m.register(cmd)
	cmd.AddCommand(passStartCmd(&m), passStopCmd(&m))
	return cmd
}

// selectionFlags pick items: --all, --status S..., or --item ID...
type selectionFlags struct {
	all      bool
	statuses []string
	items    []string
}

func (f *selectionFlags) register(cmd *cobra.Command, verb string) {
	fl := cmd.Flags()
	fl.BoolVar(&f.all, "all", false, verb+" every item of the project")
	fl.StringArrayVar(&f.statuses, "status", nil, verb+" the items with this `STATUS` (repeatable), e.g. not-submitted, failed")
	fl.StringSliceVar(&f.items, "item", nil, verb+" these items (`ID`, repeatable or comma-separated)")
}

func (f *selectionFlags) selection() (projects.Selection, error) {
	n := 0
	for _, given := range []bool{f.all, len(f.statuses) > 0, len(f.items) > 0} {
		if given {
			n++
		}
	}
	switch {
	case n == 0:
		return projects.Selection{}, usageErr("--all, --status or --item: say which items: all of them, those with a status, or a list of item IDs")
	case n > 1:
		return projects.Selection{}, usageErr("--all, --status or --item: give only one of them")
	}
	sts, err := parseStatuses("--status", f.statuses)
	if err != nil {
		return projects.Selection{}, err
	}
	var ids []int64
	for _, s := range f.items {
		id, err := parseID(s, "--item")
		if err != nil {
			return projects.Selection{}, err
		}
		ids = append(ids, id)
	}
	return projects.Selection{All: f.all, Statuses: sts, ItemIDs: ids}, nil
}

func passStartCmd(m *manageFlags) *cobra.Command {
	var (
		project int64
		sel     selectionFlags
		req     projects.PassRequest
		at      string
	)
	cmd := &cobra.Command{
		Use:   "start --project ID --pass verify|trial|prestage|full|retry (--all | --status S... | --item ID...)",
		Short: "Queue a pass for items of a project, now or at a time",
		Long: `Queue a pass for the selected items: verify (Verify credentials: log in,
look, move nothing), trial (Trial: a few messages per folder), prestage
(Pre-stage: messages older than --older-than-days), full (Full: everything not
yet copied, the delta pass when run again) or retry (Retry errors). An item
whose pass is queued or running already is not queued twice. The passes run in
'ferry serve' or 'ferry worker'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--project", project, "project", "ferry project list --customer ID"); err != nil {
				return err
			}
			if req.Pass == "" {
				return usageErr("--pass: say which pass: verify, trial, prestage, full or retry")
			}
			if req.OlderThanDays < 0 {
				return usageErr("--older-than-days: %d is negative; give a number of days, e.g. 90", req.OlderThanDays)
			}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usageErr("--at: %q is not a time; write it as RFC 3339, e.g. 2025-06-01T22:00:00+02:00 or 2025-06-01T20:00:00Z", at)
				}
				req.At = t
			}
			var err error
			if req.Selection, err = sel.selection(); err != nil {
				return err
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				res, err := a.Service.StartPass(ctx, project, req)
				if err != nil {
					return err
				}
				pass, _ := engine.ParsePass(req.Pass)
				out := struct {
					*projects.PassResult
					Pass      string    `json:"pass"`
					PassLabel string    `json:"pass_label"`
					At        time.Time `json:"at,omitzero"`
				}{res, string(pass), pass.Label(), req.At}
				res.QueuedItemIDs = nonNil(res.QueuedItemIDs)
				return m.out(cmd, out, func(w io.Writer) {
					fmt.Fprintf(w, "%s: %d item(s) queued, %d already queued or running", pass.Label(), res.Queued, res.AlreadyQueued)
					if res.Excluded > 0 {
						fmt.Fprintf(w, ", %d left out because their login was refused (fix them with 'ferry item edit', then name them with --item)", res.Excluded)
					}
					if !req.At.IsZero() {
						fmt.Fprintf(w, "; starts at %s", req.At.Local().Format("2006-01-02 15:04 MST"))
					}
					fmt.Fprintln(w)
					if res.Queued > 0 {
						fmt.Fprintln(w, "'ferry serve' or 'ferry worker' runs them; follow them with: ferry item list --project", project)
					}
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&project, "project", 0, "the project's `ID`")
	fl.StringVar(&req.Pass, "pass", "", "the `PASS`: verify, trial, prestage, full or retry")
	fl.IntVar(&req.OlderThanDays, "older-than-days", 0, "Pre-stage: copy only messages older than `N` days (e.g. 90)")
	fl.StringVar(&at, "at", "", "start at this `TIME` (RFC 3339, e.g. 2025-06-01T22:00:00+02:00) instead of now")
	sel.register(cmd, "queue")
	return cmd
}

func passStopCmd(m *manageFlags) *cobra.Command {
	var (
		project int64
		sel     selectionFlags
	)
	cmd := &cobra.Command{
		Use:   "stop --project ID (--all | --status S... | --item ID...)",
		Short: "Stop queued or running passes (a running copy checkpoints and resumes at the next start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := needID("--project", project, "project", "ferry project list --customer ID"); err != nil {
				return err
			}
			s, err := sel.selection()
			if err != nil {
				return err
			}
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				if _, err := a.Store.Project(ctx, project); err != nil {
					return err
				}
				n, err := a.Service.Stop(ctx, project, s)
				if err != nil {
					return err
				}
				out := struct {
					Stopped int `json:"stopped"`
				}{n}
				return m.out(cmd, out, func(w io.Writer) { fmt.Fprintf(w, "%d item(s) stopped\n", n) })
			})
		},
	}
	cmd.Flags().Int64Var(&project, "project", 0, "the project's `ID`")
	sel.register(cmd, "stop")
	return cmd
}

// ---- ferry key

func newKeyCmd() *cobra.Command {
	var m manageFlags
	cmd := groupCmd("key", "Rotate the key that seals stored credentials")
	m.register(cmd)
	cmd.AddCommand(keyRotateCmd(&m), keyDropOldCmd(&m))
	return cmd
}

func keyRotateCmd(m *manageFlags) *cobra.Command {
	var resealOnly bool
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new credential key current and reseal every stored credential with it",
		Long: `Add a new key to the key file as the current key (the old ones stay, so
nothing becomes unreadable), then open every stored credential and seal it again
with the new key. Restart every 'ferry serve' and 'ferry worker' afterwards, then
run 'ferry key drop-old'.

With --reseal-only no key is added: credentials still sealed with an old key
are resealed with the current one (after an interrupted rotation, or after
rotating FERRY_SECRET_KEY in the environment).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := m.keyFilePath()
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				keys := a.Keys
				if !resealOnly {
					k, err := secrets.Rotate(path)
					if err != nil {
						return usageErr("%v", err)
					}
					keys, a.Keys, a.Service.Sealer = k, k, k
				}
				n, err := a.Service.ResealAll(ctx)
				if err != nil {
					return &exitError{code: ExitFailures, err: fmt.Errorf("%v\n%d credential(s) were resealed; the old keys are still in the key file, so nothing is lost: "+
						"fix the above, then run 'ferry key rotate --reseal-only'", err, n)}
				}
				ids := keys.KeyIDs()
				out := struct {
					KeyFile    string   `json:"key_file,omitempty"`
					CurrentKey string   `json:"current_key"`
					OldKeys    []string `json:"old_keys"`
					Rotated    bool     `json:"rotated"`
					Resealed   int      `json:"resealed"`
				}{CurrentKey: ids[0], OldKeys: nonNil(ids[1:]), Rotated: !resealOnly, Resealed: n}
				if !resealOnly {
					out.KeyFile = path
				}
				return m.out(cmd, out, func(w io.Writer) {
					if !resealOnly {
						fmt.Fprintf(w, "new key %s is current in %s (old keys kept: %s)\n", ids[0], path, strings.Join(ids[1:], ", "))
					}
					fmt.Fprintf(w, "%d credential(s) resealed with key %s\n", n, ids[0])
					fmt.Fprintln(w, "next: restart every 'ferry serve' and 'ferry worker' now (until then they cannot open credentials sealed with the new key),")
					if _, env := os.LookupEnv(secrets.EnvKey); env {
						fmt.Fprintln(w, "then unset "+secrets.EnvOldKey+" to retire the old keys")
					} else {
						fmt.Fprintln(w, "then run 'ferry key drop-old' to remove the old keys")
					}
				})
			})
		},
	}
	cmd.Flags().BoolVar(&resealOnly, "reseal-only", false, "add no key: reseal the credentials still sealed with an old key")
	return cmd
}

func keyDropOldCmd(m *manageFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "drop-old",
		Short: "Remove the old keys from the key file, once every process was restarted after 'ferry key rotate'",
		Long: `Reseal any credential still sealed with an old key (written by a process
that was not restarted yet), then rewrite the key file with only the current
key. Refused when a credential cannot be opened, so nothing becomes unreadable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := m.keyFilePath()
			return m.runProjects(cmd, func(ctx context.Context, a *app.App) error {
				n, err := a.Service.ResealAll(ctx)
				if err != nil {
					return &exitError{code: ExitFailures, err: fmt.Errorf("old keys kept: %v", err)}
				}
				ids := a.Keys.KeyIDs()
				if err := secrets.DropOldKeys(path); err != nil {
					return usageErr("%v", err)
				}
				out := struct {
					KeyFile    string   `json:"key_file"`
					CurrentKey string   `json:"current_key"`
					Dropped    []string `json:"dropped_keys"`
					Resealed   int      `json:"resealed"`
				}{path, ids[0], nonNil(ids[1:]), n}
				return m.out(cmd, out, func(w io.Writer) {
					if n > 0 {
						fmt.Fprintf(w, "%d credential(s) still sealed with an old key were resealed first\n", n)
					}
					if len(ids) == 1 {
						fmt.Fprintf(w, "%s holds only the current key %s; nothing to drop\n", path, ids[0])
						return
					}
					fmt.Fprintf(w, "dropped %d old key(s) (%s) from %s; key %s remains\n", len(ids)-1, strings.Join(ids[1:], ", "), path, ids[0])
				})
			})
		},
	}
}
