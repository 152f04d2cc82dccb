package projects

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferryhq/ferry/internal/dav"
	"github.com/ferryhq/ferry/internal/davsync"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/ews"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/graph"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store"
)

// runWorkloads runs a pass for an item's calendars, contacts and tasks
// (internal/davsync) from the source endpoint's DAV or EWS location to the
// destination's DAV or Graph location, with the logins the mail uses. The
// Verify credentials pass signs in on both sides and lists their
// collections; every other pass copies what is new or changed (objects
// are small: Trial and Pre-stage copy them all). It returns the state's
// mailbox id and how many objects failed.
func (s *Service) runWorkloads(ctx context.Context, src, dst store.Endpoint, it store.Item, job engine.Job, pass string, workloads []string) (int64, int, error) {
	want := map[davsync.Workload]bool{}
	for _, w := range workloads {
		if w != store.WorkloadMail {
			want[davsync.Workload(w)] = true
		}
	}
	from, err := s.workloadSource(ctx, src, job.Source)
	if err != nil {
		return 0, 0, err
	}
	to, err := s.workloadDestination(ctx, dst, it, job.Dest)
	if err != nil {
		return 0, 0, err
	}
	if engine.Pass(pass) == engine.PassVerify {
		if _, err := from.Collections(ctx); err != nil {
			return 0, 0, fmt.Errorf("calendars, contacts and tasks at the source: %w", err)
		}
		if _, err := to.Collections(ctx); err != nil {
			return 0, 0, fmt.Errorf("calendars, contacts and tasks at the destination: %w", err)
		}
		return 0, 0, nil
	}
	key := store.MailboxKey{Source: "workloads:" + sourceLocation(src) + "#" + strings.ToLower(it.Source),
		Destination: "workloads:" + destLocation(dst) + "#" + strings.ToLower(it.Dest)}
	mb, err := s.Store.Mailbox(ctx, key)
	if err != nil {
		return 0, 0, err
	}
	release, err := s.Store.LockMailbox(ctx, mb)
	if err != nil {
		return mb, 0, err
	}
	defer release()
	rep, err := davsync.Copy(ctx, from, to, davsync.StoreState{Store: s.Store, Mailbox: mb}, want)
	failed := 0
	if rep != nil {
		failed = len(rep.Failures)
		failures := make([]store.DAVFailure, 0, len(rep.Failures))
		for _, f := range rep.Failures {
			failures = append(failures, store.DAVFailure{Workload: string(f.Workload), Collection: f.Collection, UID: f.UID, Title: f.Title,
				Date: f.Date, Error: f.Err, Action: f.Action})
		}
		if serr := s.Store.SaveDAVFailures(context.WithoutCancel(ctx), mb, failures); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return mb, failed, fmt.Errorf("calendars, contacts and tasks: %w", err)
	}
	return mb, failed, nil
}

func sourceLocation(ep store.Endpoint) string {
	if ep.EWSURL != "" {
		return "ews:" + ep.EWSURL
	}
	return "dav:" + ep.DAVURL
}

func destLocation(ep store.Endpoint) string {
	if ep.GraphURL != "" {
		return "graph:" + ep.GraphURL
	}
	return "dav:" + ep.DAVURL
}

// workloadSource reaches the source's calendars, contacts and tasks: EWS
// as the endpoint's administrator impersonating the mailbox (or as the
// mailbox with its own password), or DAV as the mailbox.
func (s *Service) workloadSource(ctx context.Context, ep store.Endpoint, login imapconn.Endpoint) (davsync.Source, error) {
	if login.Password == "" {
		return nil, fault.New(fault.Refused, "endpoint %q: calendars, contacts and tasks need a password login (an administrator's or the item's), not OAuth2", ep.Name)
	}
	if ep.EWSURL != "" {
		e := ews.Endpoint{URL: ep.EWSURL, User: login.User, Password: login.Password, Mailbox: login.ActAs, HTTP: s.WorkloadHTTP}
		return ews.New(e)
	}
	if login.ActAs != "" {
		return nil, fault.New(fault.Refused, "endpoint %q: a DAV server is reached as the mailbox itself: give the item the source mailbox's password", ep.Name)
	}
	return dav.Dial(ctx, dav.Endpoint{URL: ep.DAVURL, User: login.User, Password: login.Password})
}

// workloadDestination reaches the destination: Microsoft 365 through
// Graph with the endpoint's OAuth2 app (Graph's scope), or DAV as the
// mailbox.
func (s *Service) workloadDestination(ctx context.Context, ep store.Endpoint, it store.Item, login imapconn.Endpoint) (davsync.Destination, error) {
	if ep.GraphURL != "" {
		if ep.SealedOAuth2 == "" {
			return nil, fault.New(fault.Refused, "endpoint %q: Microsoft Graph needs the endpoint's OAuth2 app credentials (tenant, client ID, secret or certificate)", ep.Name)
		}
		g := ep
		g.OAuth2Scope = graph.Scope
		tokens, err := s.endpointTokens(g)
		if err != nil {
			return nil, err
		}
		mailbox := it.DestLogin
		if mailbox == "" {
			mailbox = it.Dest
		}
		return graph.New(graph.Config{URL: ep.GraphURL, Mailbox: mailbox, Tokens: tokens, HTTP: s.WorkloadHTTP})
	}
	if login.ActAs != "" || login.Password == "" {
		return nil, fault.New(fault.Refused, "endpoint %q: a DAV server is reached as the mailbox itself: give the item the destination mailbox's password", ep.Name)
	}
	c, err := dav.Dial(ctx, dav.Endpoint{URL: ep.DAVURL, User: login.User, Password: login.Password})
	if err != nil {
		return nil, err
	}
	return davsync.DAV(c), nil
}
