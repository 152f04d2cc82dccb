package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/davsync"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/ews"
	"github.com/ferryhq/ferry/internal/graph"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/oauth"
	"github.com/ferryhq/ferry/internal/store"
)

// davFlags choose the workloads and say where calendars, tasks and
// contacts live. The DAV login is the side's: the user from the DAV URL
// (https://alice@dav.example/) or else from the IMAP URL, the password
// from --from/--to-password-file or FERRY_FROM/TO_PASSWORD.
type davFlags struct {
	workloads []string
	from, to  string
	// toGraph is the Microsoft 365 mailbox written through Graph instead
	// of a DAV destination; graphURL the Graph service (national clouds,
	// tests). The app's credentials are the --to-oauth2-* flags.
	toGraph, graphURL string
	// fromEWS is an Exchange on-premises EWS endpoint read instead of a
	// DAV source (see ewsSource).
	fromEWS string
}

func (d *davFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&d.workloads, "workloads", []string{"mail"}, "what to move: any of mail, calendar, contacts, tasks (comma-separated)")
	fl.StringVar(&d.from, "from-dav", "", "source CalDAV/CardDAV base `URL` (calendars and address books are discovered from it), e.g. https://alice@dav.old.example/")
	fl.StringVar(&d.to, "to-dav", "", "destination CalDAV/CardDAV base `URL`, as --from-dav")
	fl.StringVar(&d.fromEWS, "from-ews", "", "source Exchange Web Services `URL` (https://alice@mail.old.example/EWS/Exchange.asmx): calendars, contacts and tasks of the URL's mailbox (else --from's user), read as --from-admin with impersonation when given")
	fl.StringVar(&d.toGraph, "to-graph", "", "destination Microsoft 365 `MAILBOX` (user principal name) written through Microsoft Graph, with the app's --to-oauth2-* credentials (application permissions Calendars.ReadWrite, Contacts.ReadWrite, Tasks.ReadWrite.All)")
	fl.StringVar(&d.graphURL, "graph-url", graph.DefaultURL, "Microsoft Graph `URL` for --to-graph (national clouds)")
}

// parse returns whether mail is wanted and which DAV workloads are.
func (d *davFlags) parse() (bool, map[davsync.Workload]bool, error) {
	mail := false
	want := map[davsync.Workload]bool{}
	for _, w := range d.workloads {
		switch w = strings.ToLower(strings.TrimSpace(w)); w {
		case "mail":
			mail = true
		case string(davsync.Calendar), string(davsync.Contacts), string(davsync.Tasks):
			want[davsync.Workload(w)] = true
		default:
			return false, nil, usageErr("--workloads: %q is not a workload: write mail, calendar, contacts or tasks", w)
		}
	}
	if d.to != "" && d.toGraph != "" {
		return false, nil, usageErr("give --to-dav URL or --to-graph MAILBOX, not both")
	}
	if d.from != "" && d.fromEWS != "" {
		return false, nil, usageErr("give --from-dav URL or --from-ews URL, not both")
	}
	if len(want) > 0 && ((d.from == "" && d.fromEWS == "") || (d.to == "" && d.toGraph == "")) {
		return false, nil, usageErr("--workloads %s needs --from-dav URL and --to-dav URL (or --from-ews URL, --to-graph MAILBOX)", strings.Join(d.workloads, ","))
	}
	if len(want) == 0 && (d.from != "" || d.to != "" || d.toGraph != "" || d.fromEWS != "") {
		return false, nil, usageErr("--from-dav/--to-dav/--from-ews/--to-graph given but --workloads has no calendar, contacts or tasks")
	}
	return mail, want, nil
}

// endpoints builds both DAV logins (see davFlags).
func (d *davFlags) endpoints(f *connFlags) ([2]dav.Endpoint, error) {
	var eps [2]dav.Endpoint
	if f.csv != "" {
		return eps, usageErr("--from-dav/--to-dav work with --from/--to (one mailbox) for now, not with --csv")
	}
	for i, side := range []struct{ name, flag, raw, imap, passFile, env string }{
		{"source", "--from-dav", d.from, f.from, f.fromPassFile, "FERRY_FROM_PASSWORD"},
		{"destination", "--to-dav", d.to, f.to, f.toPassFile, "FERRY_TO_PASSWORD"},
	} {
		if i == 1 && d.toGraph != "" {
			break // Microsoft 365 through Graph: see destination
		}
		if i == 0 && d.fromEWS != "" {
			continue // Exchange through EWS: see source
		}
		u, err := url.Parse(side.raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return eps, usageErr("%s: %q is not an http(s) URL", side.flag, side.raw)
		}
		if _, has := u.User.Password(); has {
			return eps, usageErr("%s: do not put the password in the URL: use %s-password-file", side.flag, strings.TrimSuffix(side.flag, "-dav"))
		}
		user := u.User.Username()
		u.User = nil
		if user == "" && side.imap != "" {
			if ep, err := imapconn.ParseURL(side.imap); err == nil {
				user = ep.User
			}
		}
		if user == "" {
			return eps, usageErr("%s: no %s user: write it in the URL, e.g. %s https://alice@dav.example/", side.flag, side.name, side.flag)
		}
		pw, err := readSecret(side.passFile, side.env, side.name+" password")
		if err != nil {
			return eps, err
		}
		if pw == "" {
			return eps, usageErr("%s: no %s password: use %s-password-file FILE or set %s", side.flag, side.name, strings.TrimSuffix(side.flag, "-dav"), side.env)
		}
		eps[i] = dav.Endpoint{URL: u.String(), User: user, Password: pw}
	}
	return eps, nil
}

// ewsSource is an Exchange mailbox read through EWS.
type ewsSource struct {
	ep ews.Endpoint
}

// source reads --from-ews: the mailbox is the URL's user (else --from's);
// the login is --from-admin acting for it by impersonation, else the
// mailbox itself; the password is the source's.
func (d *davFlags) source(f *connFlags) (ewsSource, error) {
	if d.fromEWS == "" {
		return ewsSource{}, nil
	}
	u, err := url.Parse(d.fromEWS)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ewsSource{}, usageErr("--from-ews: %q is not an http(s) URL, e.g. https://alice@mail.old.example/EWS/Exchange.asmx", d.fromEWS)
	}
	if _, has := u.User.Password(); has {
		return ewsSource{}, usageErr("--from-ews: do not put the password in the URL: use --from-password-file")
	}
	mailbox := u.User.Username()
	u.User = nil
	if mailbox == "" && f.from != "" {
		if ep, err := imapconn.ParseURL(f.from); err == nil {
			mailbox = ep.User
		}
	}
	if mailbox == "" {
		return ewsSource{}, usageErr("--from-ews: no mailbox: write it in the URL, e.g. --from-ews https://alice%%40old.example@mail.old.example/EWS/Exchange.asmx")
	}
	pw, err := readSecret(f.fromPassFile, "FERRY_FROM_PASSWORD", "source password")
	if err != nil {
		return ewsSource{}, err
	}
	if pw == "" {
		return ewsSource{}, usageErr("--from-ews: no source password: use --from-password-file FILE or set FERRY_FROM_PASSWORD")
	}
	ep := ews.Endpoint{URL: u.String(), User: mailbox, Password: pw}
	if f.fromAdmin != "" {
		ep.User, ep.Mailbox = f.fromAdmin, mailbox
	}
	return ewsSource{ep: ep}, nil
}

// dialSource reaches the source: EWS when given, else the DAV account.
func (es ewsSource) dial(ctx context.Context, ep dav.Endpoint) (davsync.Source, string, error) {
	if es.ep.URL != "" {
		c, err := ews.New(es.ep)
		if err != nil {
			return nil, es.ep.URL, err
		}
		return c, c.String(), nil
	}
	c, err := dav.Dial(ctx, ep)
	return c, ep.URL, err
}

// davKey names a DAV migration in the store, apart from any IMAP one.
func davKey(eps [2]dav.Endpoint, src ewsSource, dst davDestination) store.MailboxKey {
	name := func(ep dav.Endpoint) string {
		u, _ := url.Parse(ep.URL)
		u.User = url.User(ep.User)
		return "dav:" + u.String()
	}
	to := "graph:" + strings.TrimSuffix(dst.graphURL, "/") + "/users/" + strings.ToLower(dst.graphMailbox)
	if dst.graphMailbox == "" {
		to = name(eps[1])
	}
	from := name(eps[0])
	if src.ep.URL != "" {
		from = "ews:" + src.ep.URL + "#" + strings.ToLower(src.ep.Mailbox+"|"+src.ep.User)
	}
	return store.MailboxKey{Source: from, Destination: to}
}

// davDestination says where the DAV workloads go: the DAV account of
// eps[1], or a Microsoft 365 mailbox through Graph.
type davDestination struct {
	graphMailbox, graphURL string
	tokens                 graph.TokenSource
}

// destination reads the destination flags; the Graph token source is
// built from the --to-oauth2-* flags with Graph's scope.
func (d *davFlags) destination(f *connFlags) (davDestination, error) {
	if d.toGraph == "" {
		return davDestination{}, nil
	}
	cfg, err := f.toOAuth.config()
	if err != nil {
		return davDestination{}, err
	}
	if !cfg.Set() || len(cfg.GoogleServiceAccount) > 0 {
		return davDestination{}, usageErr("--to-graph needs the Microsoft 365 app's credentials: --to-oauth2-tenant, --to-oauth2-client-id and --to-oauth2-client-secret-file or --to-oauth2-certificate-file")
	}
	if cfg.Scope == "" {
		cfg.Scope = graph.Scope
	}
	src, err := oauth.New(cfg, nil)
	if err != nil {
		return davDestination{}, f.toOAuth.usage(err)
	}
	if _, err := graph.New(graph.Config{URL: d.graphURL, Mailbox: d.toGraph, Tokens: src}); err != nil {
		return davDestination{}, usageErr("--to-graph/--graph-url: %v", err)
	}
	return davDestination{graphMailbox: d.toGraph, graphURL: d.graphURL, tokens: src}, nil
}

// dial reaches the destination.
func (dd davDestination) dial(ctx context.Context, ep dav.Endpoint) (davsync.Destination, string, error) {
	if dd.graphMailbox != "" {
		c, err := graph.New(graph.Config{URL: dd.graphURL, Mailbox: dd.graphMailbox, Tokens: dd.tokens})
		if err != nil {
			return nil, "", err
		}
		return c, c.String(), nil
	}
	c, err := dav.Dial(ctx, ep)
	if err != nil {
		return nil, ep.URL, err
	}
	return davsync.DAV(c), ep.URL, nil
}

// runDAV runs the pass for the DAV workloads and prints what it did. The
// verify pass logs in on both sides and lists the collections; every
// other pass copies what is new or changed (a DAV object is small: there
// is no trial or pre-stage subset). It reports whether anything failed.
func runDAV(ctx context.Context, st store.Store, pass engine.Pass, eps [2]dav.Endpoint, from ewsSource, to davDestination, want map[davsync.Workload]bool, out io.Writer, asJSON bool) (bool, error) {
	src, srcName, err := from.dial(ctx, eps[0])
	if err != nil {
		return true, fmt.Errorf("source %s: %w", srcName, err)
	}
	dst, name, err := to.dial(ctx, eps[1])
	if err != nil {
		return true, fmt.Errorf("destination %s: %w", name, err)
	}
	if pass == engine.PassVerify {
		colls, err := src.Collections(ctx)
		if err != nil {
			return true, fmt.Errorf("source %s: %w", srcName, err)
		}
		for _, c := range colls {
			fmt.Fprintf(out, "dav source %s %q at %s\n", c.Kind, c.Name, c.Path)
		}
		dcolls, err := dst.Collections(ctx)
		if err != nil {
			return true, fmt.Errorf("destination %s: %w", name, err)
		}
		for _, c := range dcolls {
			fmt.Fprintf(out, "destination %s %q\n", c.Kind, c.Name)
		}
		return false, nil
	}
	mb, err := st.Mailbox(ctx, davKey(eps, from, to))
	if err != nil {
		return true, err
	}
	release, err := st.LockMailbox(ctx, mb)
	if err != nil {
		return true, err
	}
	defer release()
	rep, err := davsync.Copy(ctx, src, dst, davsync.StoreState{Store: st, Mailbox: mb}, want)
	if asJSON {
		enc := json.NewEncoder(out)
		if jerr := enc.Encode(struct {
			DAV   *davsync.Report `json:"dav"`
			Error string          `json:"error,omitempty"`
		}{rep, errText(err)}); jerr != nil {
			return true, jerr
		}
	} else {
		printDAVReport(out, rep)
	}
	if err != nil {
		return true, err
	}
	return len(rep.Failures) > 0, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func printDAVReport(out io.Writer, rep *davsync.Report) {
	var ws []string
	for w := range rep.Counts {
		ws = append(ws, string(w))
	}
	slices.Sort(ws)
	for _, w := range ws {
		c := rep.Counts[davsync.Workload(w)]
		fmt.Fprintf(out, "%-8s  %d copied, %d updated, %d unchanged, %d failed\n", w, c.Copied, c.Updated, c.Unchanged, c.Failed)
	}
	for _, f := range rep.Failures {
		when := ""
		if f.Date != "" {
			when = " on " + f.Date
		}
		fmt.Fprintf(out, "FAILED %s %q%s (UID %s) in %q: %s\n  what to do: %s\n", f.Workload, f.Title, when, f.UID, f.Collection, f.Err, f.Action)
	}
}

// verifyDAV compares the DAV workloads (davsync.Compare) and prints the
// outcome; it reports whether anything is missing, different or doubled.
func verifyDAV(ctx context.Context, f *connFlags, d *davFlags, want map[davsync.Workload]bool, out io.Writer) (bool, error) {
	eps, err := d.endpoints(f)
	if err != nil {
		return true, err
	}
	from, err := d.source(f)
	if err != nil {
		return true, err
	}
	src, srcName, err := from.dial(ctx, eps[0])
	if err != nil {
		return true, fmt.Errorf("source %s: %w", srcName, err)
	}
	to, err := d.destination(f)
	if err != nil {
		return true, err
	}
	dst, name, err := to.dial(ctx, eps[1])
	if err != nil {
		return true, fmt.Errorf("destination %s: %w", name, err)
	}
	cmp, err := davsync.Compare(ctx, src, dst, want)
	if err != nil {
		return true, err
	}
	if f.json {
		return !cmp.Complete(), json.NewEncoder(out).Encode(struct {
			DAV      *davsync.Comparison `json:"dav"`
			Complete bool                `json:"complete"`
		}{cmp, cmp.Complete()})
	}
	var ws []string
	for w := range cmp.Workloads {
		ws = append(ws, string(w))
	}
	slices.Sort(ws)
	for _, w := range ws {
		c := cmp.Workloads[davsync.Workload(w)]
		fmt.Fprintf(out, "%-8s  %d at the source, %d missing, %d different, %d doubled\n", w, c.Source, c.Missing, c.Different, c.Doubled)
	}
	for _, p := range cmp.Problems {
		fmt.Fprintf(out, "  %s\n", p)
	}
	if cmp.Complete() {
		fmt.Fprintln(out, "  complete: every source object has one exact copy on the destination")
	} else {
		fmt.Fprintln(out, "  INCOMPLETE: run ferry migrate --workloads again")
	}
	return !cmp.Complete(), nil
}
