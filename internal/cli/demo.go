package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/corpus"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

// memServer is an in-process IMAP server for the demo.
type memServer struct {
	addr string
	srv  *imapserver.Server
}

func startMemServer(users []string, password string) (*memServer, error) {
	mem := imapmemserver.New()
	for _, u := range users {
		mu := imapmemserver.NewUser(u, password)
		mu.Create("INBOX", nil)
		mem.AddUser(mu)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapNamespace: {}, imap.CapUIDPlus: {}, imap.CapListExtended: {},
			imap.CapStatusSize: {}, imap.CapLiteralPlus: {}},
		InsecureAuth: true,
		Logger:       quietLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go srv.Serve(ln)
	return &memServer{addr: ln.Addr().String(), srv: srv}, nil
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

func newDemoCmd() *cobra.Command {
	var mailboxes, messages int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Migrate generated mailboxes between two in-process IMAP servers, with nothing to set up",
		Long: `Start two IMAP servers inside this process, fill the source with generated
mail (nested and international folders, flags, attachments), run the Full pass
with progress and the final report, check the result folder by folder, and run
Full again to show that a re-run copies nothing twice.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if mailboxes < 1 || messages < 1 {
				return usageErr("--mailboxes and --messages must be at least 1")
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			const password = "demo-password"
			var users []string
			for i := range mailboxes {
				users = append(users, fmt.Sprintf("user%02d@demo.example", i+1))
			}
			src, err := startMemServer(users, password)
			if err != nil {
				return err
			}
			defer src.srv.Close()
			dst, err := startMemServer(users, password)
			if err != nil {
				return err
			}
			defer dst.srv.Close()
			fmt.Fprintf(out, "Source IMAP server on %s, destination on %s (in-process)\n", src.addr, dst.addr)
			var total int64
			for i, u := range users {
				c := corpus.Generate(corpus.Spec{Seed: int64(i + 1), Messages: messages, Folders: 12, MaxSize: 2 << 20})
				if err := fill(ctx, src.addr, u, password, c); err != nil {
					return fmt.Errorf("fill demo mailbox %s: %w", u, err)
				}
				total += c.TotalBytes()
			}
			fmt.Fprintf(out, "Filled %d source mailboxes with %d messages each (%s in all)\n\n", mailboxes, messages, human(total))

			dir, err := os.MkdirTemp("", "ferry-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "state.db"))
			if err != nil {
				return err
			}
			defer st.Close()
			var jobs []engine.Job
			for _, u := range users {
				ep := func(addr string) imapconn.Endpoint {
					host, port, _ := net.SplitHostPort(addr)
					var p int
					fmt.Sscan(port, &p)
					return imapconn.Endpoint{Host: host, Port: p, Security: imapconn.SecurityStartTLS, User: u, Password: password, AllowPlaintext: true}
				}
				jobs = append(jobs, engine.Job{Source: ep(src.addr), Dest: ep(dst.addr)})
			}
			for _, pass := range []engine.Pass{engine.PassFull, engine.PassFull} {
				eng := engine.New(st, engine.Options{Pass: pass})
				results := runJobs(ctx, eng, jobs, 4, cmd.ErrOrStderr(), true)
				printSummary(out, pass, results)
				for _, r := range results {
					if r.Err != nil {
						return &exitError{code: ExitFailures, err: fmt.Errorf("demo mailbox %s failed: %v", r.Job.Source.Mailbox(), r.Err)}
					}
				}
				fmt.Fprintln(out)
			}
			eng := engine.New(st, engine.Options{})
			missing := 0
			for _, job := range jobs {
				cmp, err := eng.Compare(ctx, job)
				if err != nil {
					return err
				}
				missing += cmp.Missing
			}
			fmt.Fprintf(out, "Compared every folder of the %d mailboxes: %d messages missing in the destination.\n", len(jobs), missing)
			fmt.Fprintln(out, "The second Full pass copied nothing: the state file made it incremental. Try `ferry migrate --help` next.")
			if missing > 0 {
				return errFailures
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&mailboxes, "mailboxes", 3, "how many mailboxes to generate and migrate")
	cmd.Flags().IntVar(&messages, "messages", 400, "messages per mailbox")
	return cmd
}

func fill(ctx context.Context, addr, user, password string, c *corpus.Corpus) error {
	cl, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Login(user, password).Wait(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	return corpus.Load(ctx, cl, c)
}
