package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/mailboxcsv"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

// connFlags are the flags that say how to reach both sides; migrate and verify share them.
type connFlags struct {
	from, to                 string
	csv                      string
	fromPassFile, toPassFile string
	fromToken, toToken       string
	fromMech, toMech         string
	fromAdmin, toAdmin       string
	fromOAuth, toOAuth       oauthFlags
	// allowPlaintext and caFile apply to both sides; the per-side flags to one.
	allowPlaintext                       bool
	fromAllowPlaintext, toAllowPlaintext bool
	caFile, fromCAFile, toCAFile         string
	timeout                              time.Duration
	include, exclude                     []string
	connections                          int
	mailboxes                            int
	json                                 bool
	presets                              presetFlags
}

func (f *connFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "source `URL`: imaps://user@host[:993] (implicit TLS) or imap://user@host[:143] (STARTTLS)")
	fl.StringVar(&f.to, "to", "", "destination `URL`, as --from")
	fl.StringVar(&f.csv, "csv", "", "`FILE` listing mailbox pairs (see docs/csv-format.md)")
	fl.StringVar(&f.fromPassFile, "from-password-file", "", "`FILE` holding the source password (or set FERRY_FROM_PASSWORD)")
	fl.StringVar(&f.toPassFile, "to-password-file", "", "`FILE` holding the destination password (or set FERRY_TO_PASSWORD)")
	fl.StringVar(&f.fromToken, "from-oauth2-token-file", "", "`FILE` holding an OAuth2 access token for the source (XOAUTH2)")
	fl.StringVar(&f.toToken, "to-oauth2-token-file", "", "`FILE` holding an OAuth2 access token for the destination (XOAUTH2), e.g. an app-only Office 365 token")
	fl.StringVar(&f.fromMech, "from-oauth2-mechanism", "auto", "SASL `MECHANISM` of an OAuth2 login to the source: auto (XOAUTH2 unless the server offers only OAUTHBEARER), xoauth2 or oauthbearer")
	fl.StringVar(&f.toMech, "to-oauth2-mechanism", "auto", "SASL `MECHANISM` of an OAuth2 login to the destination, as --from-oauth2-mechanism")
	f.fromOAuth.register(fl, "source", "--from")
	f.toOAuth.register(fl, "destination", "--to")
	fl.StringVar(&f.fromAdmin, "from-admin", "", "log in to the source as this administrator `NAME` and act for each mailbox (SASL PLAIN authorization identity, e.g. a Dovecot master user)")
	fl.StringVar(&f.toAdmin, "to-admin", "", "log in to the destination as this administrator `NAME` and act for each mailbox")
	fl.BoolVar(&f.allowPlaintext, "allow-plaintext", false, "allow logging in over a connection that is not encrypted (both sides)")
	fl.BoolVar(&f.fromAllowPlaintext, "from-allow-plaintext", false, "allow an unencrypted login to the source only")
	fl.BoolVar(&f.toAllowPlaintext, "to-allow-plaintext", false, "allow an unencrypted login to the destination only")
	fl.StringVar(&f.caFile, "ca-file", "", "trust the certificate authorities in this PEM `FILE` (self-signed servers; both sides)")
	fl.StringVar(&f.fromCAFile, "from-ca-file", "", "trust the certificate authorities in this PEM `FILE` for the source only")
	fl.StringVar(&f.toCAFile, "to-ca-file", "", "trust the certificate authorities in this PEM `FILE` for the destination only")
	fl.DurationVar(&f.timeout, "timeout", imapconn.DefaultTimeout, "declare a connection dead after this long without an answer")
	fl.StringSliceVar(&f.include, "include", nil, "only folders matching this `PATTERN` ('*' any text, '/' between levels; repeatable)")
	fl.StringSliceVar(&f.exclude, "exclude", nil, "skip folders matching this `PATTERN` (repeatable)")
	fl.IntVar(&f.connections, "connections", 4, "most connection pairs per mailbox (folders are copied in parallel; a small mailbox uses fewer)")
	fl.IntVar(&f.mailboxes, "parallel", 4, "mailboxes migrated at once")
	fl.BoolVar(&f.json, "json", false, "print the summary as JSON on standard output")
	f.presets.register(fl)
}

func readSecret(file, env, what string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageErr("cannot read the %s file: %v", what, err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return "", usageErr("the %s file %s is empty", what, file)
		}
		return s, nil
	}
	if env != "" {
		return os.Getenv(env), nil
	}
	return "", nil
}

// jobs builds the mailbox pairs from --from/--to or --csv.
func (f *connFlags) jobs() ([]engine.Job, error) {
	if f.csv == "" && (f.from == "" || f.to == "") {
		return nil, usageErr("say what to migrate: --from URL --to URL for one mailbox, or --csv FILE for many")
	}
	var sides [2]struct {
		base           *imapconn.Endpoint
		password       string
		token          string
		tokens         imapconn.TokenSource
		mech           imapconn.OAuth2Mechanism
		admin          string
		name           string
		flag           string
		allowPlaintext bool
		tls            *tls.Config
	}
	sides[0].name, sides[0].flag, sides[0].admin = "source", "--from", f.fromAdmin
	sides[1].name, sides[1].flag, sides[1].admin = "destination", "--to", f.toAdmin
	sides[0].allowPlaintext = f.allowPlaintext || f.fromAllowPlaintext
	sides[1].allowPlaintext = f.allowPlaintext || f.toAllowPlaintext
	for i, raw := range []string{f.from, f.to} {
		s := &sides[i]
		caFile, caFlag := f.fromCAFile, "--from-ca-file"
		if i == 1 {
			caFile, caFlag = f.toCAFile, "--to-ca-file"
		}
		if caFile == "" {
			caFile, caFlag = f.caFile, "--ca-file"
		}
		var err error
		if s.tls, err = loadCAFile(caFile, caFlag); err != nil {
			return nil, err
		}
		if raw, err = f.presets.url(i, raw); err != nil {
			return nil, err
		}
		if raw != "" {
			ep, err := imapconn.ParseURL(raw)
			if err != nil {
				return nil, usageErr("%s: %v", s.flag, err)
			}
			s.base = &ep
		}
		passFile, env, tokFile, mech := f.fromPassFile, "FERRY_FROM_PASSWORD", f.fromToken, f.fromMech
		if i == 1 {
			passFile, env, tokFile, mech = f.toPassFile, "FERRY_TO_PASSWORD", f.toToken, f.toMech
		}
		if s.mech, err = imapconn.ParseOAuth2Mechanism(mech); err != nil {
			return nil, usageErr("%s-oauth2-mechanism: %v", s.flag, err)
		}
		if s.password, err = readSecret(passFile, env, s.name+" password"); err != nil {
			return nil, err
		}
		if s.token, err = readSecret(tokFile, "", s.name+" OAuth2 token"); err != nil {
			return nil, err
		}
		oauthSide := &f.fromOAuth
		if i == 1 {
			oauthSide = &f.toOAuth
		}
		if s.tokens, err = oauthSide.source(); err != nil {
			return nil, err
		}
		if s.tokens != nil && s.token != "" {
			return nil, usageErr("%s: give an OAuth2 token file or the app's credentials, not both", s.flag)
		}
		if s.tokens != nil && passFile != "" {
			return nil, usageErr("%s-password-file: the app's OAuth2 credentials sign in to each mailbox; give a password file or them, not both", s.flag)
		}
	}
	endpoint := func(i int, row mailboxcsv.Side, line int) (imapconn.Endpoint, error) {
		s := sides[i]
		var base imapconn.Endpoint
		if s.base != nil {
			base = *s.base
		}
		base.Password, base.OAuth2Token, base.Tokens, base.OAuth2Mechanism = s.password, s.token, s.tokens, s.mech
		if s.admin != "" {
			// The administrator logs in; the mailbox is the URL's user or the row's address.
			base.User, base.ActAs = s.admin, base.User
			if base.ActAs == "" {
				base.ActAs = row.Address
			}
		}
		ep := base
		if line > 0 {
			ep = row.Endpoint(base)
		}
		where := s.flag
		if line > 0 {
			where = fmt.Sprintf("%s line %d", f.csv, line)
		}
		if ep.Host == "" {
			return ep, usageErr("%s: no %s server: give %s imaps://host or a '%s host' column", where, s.name, s.flag, s.name)
		}
		if ep.User == "" || (s.admin != "" && ep.ActAs == "") {
			return ep, usageErr("%s: no %s user: write it in the URL, e.g. %s imaps://alice@host", where, s.name, s.flag)
		}
		if ep.Password == "" && ep.OAuth2Token == "" && ep.Tokens == nil {
			env := "FERRY_FROM_PASSWORD"
			if i == 1 {
				env = "FERRY_TO_PASSWORD"
			}
			return ep, usageErr("%s: no %s password: use %s-password-file FILE or set %s", where, s.name, s.flag, env)
		}
		ep.AllowPlaintext = s.allowPlaintext
		ep.TLSConfig = s.tls
		return ep, nil
	}
	if f.csv == "" {
		src, err := endpoint(0, mailboxcsv.Side{}, 0)
		if err != nil {
			return nil, err
		}
		dst, err := endpoint(1, mailboxcsv.Side{}, 0)
		if err != nil {
			return nil, err
		}
		return []engine.Job{{Source: src, Dest: dst}}, nil
	}
	fh, err := os.Open(f.csv)
	if err != nil {
		return nil, usageErr("cannot open --csv: %v", err)
	}
	defer fh.Close()
	rows, _, err := mailboxcsv.Parse(filepath.Base(f.csv), fh)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	var jobs []engine.Job
	for _, row := range rows {
		src, err := endpoint(0, row.Source, row.Line)
		if err != nil {
			return nil, err
		}
		dst, err := endpoint(1, row.Destination, row.Line)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, engine.Job{Source: src, Dest: dst})
	}
	return jobs, nil
}

// loadCAFile reads the certificate authorities a side trusts; nil, nil
// when no file is given (the system's authorities).
func loadCAFile(file, flag string) (*tls.Config, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, usageErr("cannot read %s: %v", flag, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usageErr("%s %s holds no PEM certificate", flag, file)
	}
	return &tls.Config{RootCAs: pool}, nil
}

func (f *connFlags) engineOptions() engine.Options {
	return engine.Options{
		Connections: f.connections,
		Filter:      engine.Filter{Include: f.include, Exclude: f.exclude},
		Conn:        imapconn.Options{Timeout: f.timeout},
	}
}

func defaultStatePath() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "ferry", "state.db")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "ferry", "state.db")
	}
	return "ferry-state.db"
}

// parseAge reads 90d, 12w, 36h or any Go duration.
func parseAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if u, ok := unit[s[len(s)-1]]; ok {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err == nil && n >= 0 {
			return time.Duration(n) * u, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not an age: write e.g. 90d, 12w or 36h", s)
	}
	return d, nil
}

// parseSize reads 35MB, 512KiB, 1G or a number of bytes.
func parseSize(s string) (int64, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, suf := range []struct {
		s string
		m int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(u, suf.s) {
			u, mult = strings.TrimSpace(strings.TrimSuffix(u, suf.s)), suf.m
			break
		}
	}
	n, err := strconv.ParseFloat(u, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size: write e.g. 35MB or 1GiB", s)
	}
	return int64(n * float64(mult)), nil
}

func newMigrateCmd() *cobra.Command {
	var f connFlags
	var d davFlags
	var pass, olderThan, maxSize, statePath string
	var maxErrors int
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Copy mailboxes from an IMAP source to an IMAP destination",
		Long: `Copy mailboxes exactly (bytes, flags, dates, folders) and resumably.

Passes: verify (Verify credentials: log in and count, move nothing), trial (at
most 10 messages per folder), prestage (Pre-stage: messages older than
--older-than), full (everything not yet copied plus flag changes; run it again
after the MX cutover and it is the delta pass), retry (Retry errors).

Exit status: 0 every mailbox finished without errors, 1 some messages or
mailboxes failed, 2 usage or configuration error.`,
		Example: `  ferry migrate --from imap://alice@old.example --to imaps://alice@new.example --pass full
  ferry migrate --csv mailboxes.csv --to imaps://outlook.office365.com --pass prestage --older-than 90d
  ferry migrate --workloads mail,calendar,contacts,tasks --from imaps://alice@old.example --to imaps://alice@new.example \
      --from-dav https://dav.old.example/ --to-dav https://dav.new.example/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := engine.ParsePass(pass)
			if err != nil {
				return usageErr("--pass: %v", err)
			}
			opts := f.engineOptions()
			opts.Pass = p
			if opts.OlderThan, err = parseAge(olderThan); err != nil {
				return usageErr("--older-than: %v", err)
			}
			if p == engine.PassPrestage && opts.OlderThan == 0 {
				return usageErr("--pass prestage needs --older-than, e.g. --older-than 90d")
			}
			if opts.MaxMessageSize, err = parseSize(maxSize); err != nil {
				return usageErr("--max-message-size: %v", err)
			}
			if maxErrors < 1 {
				return usageErr("--max-errors must be at least 1")
			}
			if err := f.presets.apply(&opts); err != nil {
				return err
			}
			opts.MaxErrors = maxErrors
			mail, workloads, err := d.parse()
			if err != nil {
				return err
			}
			var jobs []engine.Job
			if mail {
				if jobs, err = f.jobs(); err != nil {
					return err
				}
			}
			var davEndpoints [2]dav.Endpoint
			var davTo davDestination
			var davFrom ewsSource
			if len(workloads) > 0 {
				if davFrom, err = d.source(&f); err != nil {
					return err
				}
				if davEndpoints, err = d.endpoints(&f); err != nil {
					return err
				}
				if davTo, err = d.destination(&f); err != nil {
					return err
				}
			}
			if statePath == "" {
				statePath = defaultStatePath()
			}
			ctx, stop := stopOnSignal(cmd.Context(), cmd.ErrOrStderr())
			defer stop()
			st, err := sqlstore.OpenSQLite(ctx, statePath)
			if err != nil && ctx.Err() != nil {
				return &exitError{code: ExitFailures, err: fmt.Errorf("stopped while opening the state file %s; nothing was copied", statePath)}
			}
			if err != nil {
				return usageErr("%v", err)
			}
			defer st.Close()
			failed := false
			if mail {
				eng := engine.New(st, opts)
				results := runJobs(ctx, eng, jobs, f.mailboxes, cmd.ErrOrStderr(), !f.json)
				if f.json {
					if err := writeJSON(cmd.OutOrStdout(), p, results); err != nil {
						return err
					}
				} else {
					printSummary(cmd.OutOrStdout(), p, results)
				}
				for _, r := range results {
					failed = failed || r.Err != nil || r.Run.Failed > 0
				}
			}
			if len(workloads) > 0 {
				davFailed, err := runDAV(ctx, st, p, davEndpoints, davFrom, davTo, workloads, cmd.OutOrStdout(), f.json)
				if err != nil {
					return &exitError{code: ExitFailures, err: fmt.Errorf("calendars, tasks and contacts: %w", err)}
				}
				failed = failed || davFailed
			}
			if failed {
				return errFailures
			}
			return nil
		},
	}
	f.register(cmd)
	d.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&pass, "pass", "full", "`PASS` to run: verify, trial, prestage, full or retry")
	fl.StringVar(&olderThan, "older-than", "", "Pre-stage: copy only messages older than this `AGE` (e.g. 90d)")
	fl.StringVar(&maxSize, "max-message-size", "", "report, do not send, messages larger than this `SIZE` (e.g. 35MB); default: the destination's APPENDLIMIT")
	fl.IntVar(&maxErrors, "max-errors", 50, "stop a mailbox after this many failed messages; no more are recorded in one run")
	fl.StringVar(&statePath, "state", "", "`PATH` of the state file that makes re-runs incremental (default "+defaultStatePath()+")")
	return cmd
}

// runJobs migrates the mailboxes, n at a time, drawing progress on w.
func runJobs(ctx context.Context, eng *engine.Engine, jobs []engine.Job, n int, w interface{ Write([]byte) (int, error) }, showProgress bool) []*engine.Result {
	n = max(n, 1)
	progs := make([]*engine.Progress, len(jobs))
	for i := range progs {
		progs[i] = &engine.Progress{}
	}
	results := make([]*engine.Result, len(jobs))
	var disp *display
	if showProgress {
		disp = newDisplay(w, jobs, progs)
		disp.start()
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = eng.Migrate(ctx, job, progs[i])
			if disp != nil {
				disp.finished(i, results[i])
			}
		}()
	}
	wg.Wait()
	if disp != nil {
		disp.stop()
	}
	return results
}
