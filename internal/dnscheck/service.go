package dnscheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/store"
)

// WatchWho names the MX watch in task events and cutover records.
const WatchWho = "ferry (MX watch)"

// FinalPass is the pass the cutover queues: Full, which after the MX
// change is the delta pass.
const FinalPass = "full"

// Store is the part of the store the DNS service uses: domains, MX
// watches and cutovers, and the engagements, endpoints, projects and items
// a cutover reads and queues (store.Store is one).
type Store interface {
	store.DNS
	store.Engagements
	store.Endpoints
	store.Projects
	store.Items
}

// Service keeps an engagement's domains, checks their records, and turns
// an MX flip into the final pass (see WatchMX).
type Service struct {
	Store Store
	Queue jobs.Queue
	// Resolver is the name server asked for domains without their own
	// (host:port); "" is the first of /etc/resolv.conf.
	Resolver string
	// Timeout per DNS query; 0 is 5 s.
	Timeout time.Duration
	Now     func() time.Time
	Log     *slog.Logger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) resolver(d store.EngagementDomain) Resolver {
	addr := d.Resolver
	if addr == "" {
		addr = s.Resolver
	}
	return Resolver{Addr: addr, Timeout: s.Timeout}
}

func (s *Service) engagement(ctx context.Context, action auth.Action, id int64) (store.Engagement, error) {
	e, err := s.Store.Engagement(ctx, id)
	if err != nil {
		return e, err
	}
	return e, auth.Authorize(auth.PrincipalFrom(ctx), action, e.CustomerID)
}

// ValidDomain reports whether d is a domain name (contoso.com).
func ValidDomain(d string) bool {
	if len(d) < 3 || len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	for _, r := range d {
		if !(r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// DomainInput adds a domain to an engagement.
type DomainInput struct {
	Domain          string `json:"domain"`
	VerificationTXT string `json:"verification_txt,omitempty"`
	Resolver        string `json:"resolver,omitempty"`
}

// AddDomain adds a mail domain to an engagement: its records are checked
// and its MX watched from then on.
func (s *Service) AddDomain(ctx context.Context, engagementID int64, in DomainInput) (store.EngagementDomain, error) {
	if _, err := s.engagement(ctx, auth.ActionManageDomains, engagementID); err != nil {
		return store.EngagementDomain{}, err
	}
	d := store.EngagementDomain{EngagementID: engagementID, Domain: strings.ToLower(strings.TrimSuffix(strings.TrimSpace(in.Domain), ".")),
		VerificationTXT: strings.TrimSpace(in.VerificationTXT), Created: s.now()}
	if !ValidDomain(d.Domain) {
		return d, fault.InvalidField("domain", "%q is not a domain name; write it like contoso.com", in.Domain)
	}
	if d.VerificationTXT != "" && !ValidVerification(d.VerificationTXT) {
		return d, fault.InvalidField("verification_txt", "%q is not the admin center's value; it looks like MS=ms12345678 (Setup > Domains > the domain > TXT record)", d.VerificationTXT)
	}
	var err error
	if d.Resolver, err = CheckResolver(in.Resolver); err != nil {
		return d, err
	}
	if err := s.Store.AddEngagementDomain(ctx, &d); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return d, &fault.Error{Kind: fault.Conflict, Field: "domain", Msg: fmt.Sprintf("the engagement has the domain %s already", d.Domain)}
		}
		return d, err
	}
	return d, nil
}

// RemoveDomain stops checking and watching a domain; a cutover recorded stays.
func (s *Service) RemoveDomain(ctx context.Context, engagementID int64, domain string) error {
	if _, err := s.engagement(ctx, auth.ActionManageDomains, engagementID); err != nil {
		return err
	}
	return s.Store.RemoveEngagementDomain(ctx, engagementID, strings.ToLower(strings.TrimSpace(domain)))
}

// DomainStatus is a domain with where its cutover stands.
type DomainStatus struct {
	store.EngagementDomain
	// Cutover is the recorded MX cutover; nil before.
	Cutover *store.MXCutover `json:"cutover,omitempty"`
	// State says where the cutover stands, in words.
	State string `json:"state"`
}

// Domains lists an engagement's domains with their cutover.
func (s *Service) Domains(ctx context.Context, engagementID int64) ([]DomainStatus, error) {
	if _, err := s.engagement(ctx, auth.ActionListDomains, engagementID); err != nil {
		return nil, err
	}
	ds, err := s.Store.EngagementDomains(ctx, engagementID)
	if err != nil {
		return nil, err
	}
	cs, err := s.Store.MXCutovers(ctx, engagementID)
	if err != nil {
		return nil, err
	}
	out := make([]DomainStatus, len(ds))
	for i, d := range ds {
		out[i] = DomainStatus{EngagementDomain: d}
		for _, c := range cs {
			if c.Domain == d.Domain {
				out[i].Cutover = &c
			}
		}
		out[i].State = stateOf(d, out[i].Cutover, s.now())
	}
	return out, nil
}

func stateOf(d store.EngagementDomain, c *store.MXCutover, now time.Time) string {
	switch {
	case c != nil && c.PostReady:
		return "cut over; post-migration DNS checked: every record present"
	case c != nil && !c.PostChecked.IsZero():
		return "cut over; post-migration DNS checked: records missing (see the check)"
	case c != nil && c.Waiting > 0:
		return fmt.Sprintf("cut over %s (%s); final Full pass queued for %d items, %d more once the pass they were running ends", c.At.UTC().Format("2006-01-02 15:04 MST"), c.Trigger, c.Queued, c.Waiting)
	case c != nil:
		return fmt.Sprintf("cut over %s (%s); final Full pass queued for %d items", c.At.UTC().Format("2006-01-02 15:04 MST"), c.Trigger, c.Queued)
	case d.LastChecked.IsZero():
		return "not checked yet"
	case d.LastError != "":
		return "last check failed: " + d.LastError
	case d.Streak == 0 && d.LastMX == FormatMX(nil):
		return "no MX record: mail for the domain has nowhere to go"
	case d.Streak == 0:
		return "mail goes to the source"
	case d.Streak == 1:
		return "MX points at the destination (1 of 2 checks)"
	case now.Before(d.ReadyAt):
		return "MX points at the destination; waiting out the largest TTL until " + d.ReadyAt.UTC().Format("15:04:05 MST")
	}
	return "MX points at the destination; cutover at the next check"
}

// Check reads the records of every domain of an engagement now.
func (s *Service) Check(ctx context.Context, engagementID int64) ([]Report, error) {
	if _, err := s.engagement(ctx, auth.ActionCheckDNS, engagementID); err != nil {
		return nil, err
	}
	ds, err := s.Store.EngagementDomains(ctx, engagementID)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fault.New(fault.Invalid, "engagement %d has no domain; add one first (ferry dns domain add)", engagementID)
	}
	var out []Report
	for _, d := range ds {
		rep, err := s.resolver(d).Check(ctx, d.Domain, Expect{VerificationTXT: d.VerificationTXT})
		if err != nil {
			return out, fault.Wrap(fault.Temporary, err, "check %s", d.Domain)
		}
		out = append(out, rep)
	}
	return out, nil
}

// destination is where the engagement's mail goes: Google when its
// projects copy to Gmail, Microsoft 365 otherwise.
func (s *Service) destination(ctx context.Context, e store.Engagement) Provider {
	ps, err := s.Store.ProjectsOf(ctx, e.CustomerID)
	if err != nil {
		return Microsoft365
	}
	for _, p := range ps {
		if p.EngagementID != e.ID && p.EngagementID != 0 {
			continue
		}
		if ep, err := s.Store.Endpoint(ctx, p.DestID); err == nil && ep.Type == "gmail" {
			return Google
		}
	}
	return Microsoft365
}

// domainItems lists the items of the engagement's open projects (and the
// customer's projects of no engagement) whose destination address is in the domain.
func (s *Service) domainItems(ctx context.Context, e store.Engagement, domain string) ([]int64, error) {
	ps, err := s.Store.ProjectsOf(ctx, e.CustomerID)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, p := range ps {
		if p.Closed || (p.EngagementID != e.ID && p.EngagementID != 0) {
			continue
		}
		items, _, err := s.Store.Items(ctx, p.ID, store.ItemFilter{Search: "@" + domain})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if strings.HasSuffix(strings.ToLower(it.Dest), "@"+domain) {
				ids = append(ids, it.ID)
			}
		}
	}
	return ids, nil
}

// cutover records the domain's cutover and queues its final pass, once.
func (s *Service) cutover(ctx context.Context, e store.Engagement, domain, trigger, who, mx string) (store.MXCutover, bool, error) {
	ids, err := s.domainItems(ctx, e, domain)
	if err != nil {
		return store.MXCutover{}, false, err
	}
	args := make([]jobs.PassArgs, len(ids))
	for i, id := range ids {
		args[i] = jobs.PassArgs{ItemID: id, Pass: FinalPass}
	}
	c := store.MXCutover{EngagementID: e.ID, Domain: domain, At: s.now(), Trigger: trigger, MX: mx}
	ok, err := s.Store.RecordMXCutover(ctx, &c, who, ids, FinalPass, func(ctx context.Context, tx any) ([]int64, error) {
		return s.Queue.Enqueue(ctx, tx, args, time.Time{})
	})
	if err != nil {
		return c, false, fmt.Errorf("record the MX cutover of %s: %w", domain, err)
	}
	if ok {
		s.log().Info("MX cutover recorded; final Full pass queued", "engagement", e.ID, "domain", domain, "trigger", trigger, "items", c.Queued, "mx", mx)
	}
	return c, ok, nil
}

// Cutover records a domain's MX cutover by hand and queues its final Full
// pass, as the watch would: once (a second call, or the watch after it,
// changes nothing).
func (s *Service) Cutover(ctx context.Context, engagementID int64, domain string) (store.MXCutover, error) {
	e, err := s.engagement(ctx, auth.ActionCutover, engagementID)
	if err != nil {
		return store.MXCutover{}, err
	}
	domain = strings.ToLower(strings.TrimSpace(domain))
	ds, err := s.Store.EngagementDomains(ctx, engagementID)
	if err != nil {
		return store.MXCutover{}, err
	}
	var d *store.EngagementDomain
	var names []string
	for i := range ds {
		names = append(names, ds[i].Domain)
		if ds[i].Domain == domain {
			d = &ds[i]
		}
	}
	if d == nil {
		if len(names) == 0 {
			return store.MXCutover{}, fault.InvalidField("domain", "engagement %d has no domain; add %s first", engagementID, domain)
		}
		return store.MXCutover{}, fault.InvalidField("domain", "%q is not a domain of engagement %d; its domains: %s", domain, engagementID, strings.Join(names, ", "))
	}
	mx := "not checked"
	if recs, err := s.resolver(*d).LookupMX(ctx, domain); err == nil {
		mx = FormatMX(recs)
	}
	who := "operator"
	if p := auth.PrincipalFrom(ctx); p != nil {
		who = p.Name
	}
	c, ok, err := s.cutover(ctx, e, domain, "operator "+who, who, mx)
	if err != nil {
		return c, err
	}
	if !ok {
		cs, err := s.Store.MXCutovers(ctx, engagementID)
		if err != nil {
			return c, err
		}
		for _, old := range cs {
			if old.Domain == domain {
				return old, &fault.Error{Kind: fault.Conflict, Field: "domain", Msg: fmt.Sprintf("the cutover of %s was recorded at %s (%s) and its final Full pass queued then for %d items; to copy again, start a Full pass on the project",
					domain, old.At.UTC().Format(time.RFC3339), old.Trigger, old.Queued)}
			}
		}
	}
	return c, nil
}

// WatchMX checks every engagement domain's MX once (the periodic job's
// work): a domain whose every MX points at the destination for two
// checks in a row, once the largest TTL of the records it replaced (or its
// own) has passed since the first of them, is cut over: the cutover is
// recorded, the engagement's event and task 1370 written and the final
// Full pass queued for the domain's items, in one transaction that a
// unique key makes happen once. A domain cut over is checked again (all its
// records: post-migration DNS, FTOP 1370) once its final passes ended,
// until every record is present.
func (s *Service) WatchMX(ctx context.Context) error {
	ds, err := s.Store.EngagementDomains(ctx, 0)
	if err != nil {
		return err
	}
	cs, err := s.Store.MXCutovers(ctx, 0)
	if err != nil {
		return err
	}
	type key struct {
		e int64
		d string
	}
	done := map[key]store.MXCutover{}
	for _, c := range cs {
		done[key{c.EngagementID, c.Domain}] = c
	}
	var errs []error
	for _, d := range ds {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if c, ok := done[key{d.EngagementID, d.Domain}]; ok {
			switch {
			case c.Waiting > 0:
				errs = append(errs, s.queueWaiting(ctx, c))
			case !c.PostReady:
				errs = append(errs, s.postCheck(ctx, d, c))
			}
			continue
		}
		errs = append(errs, s.watchOne(ctx, d))
	}
	return errors.Join(errs...)
}

func (s *Service) watchOne(ctx context.Context, d store.EngagementDomain) error {
	e, err := s.Store.Engagement(ctx, d.EngagementID)
	if err != nil {
		return err
	}
	now := s.now()
	mx, err := s.resolver(d).LookupMX(ctx, d.Domain)
	d.LastChecked = now
	if err != nil {
		// No answer is no check: the streak stays as it was.
		d.LastError = err.Error()
		s.log().Warn("MX watch: no answer", "domain", d.Domain, "err", err)
		return s.Store.SaveMXWatch(ctx, d)
	}
	d.LastError, d.LastMX = "", FormatMX(mx)
	if !AllAt(mx, s.destination(ctx, e)) {
		d.Streak, d.DestSince, d.ReadyAt = 0, time.Time{}, time.Time{}
		d.SourceTTL = int(MaxTTL(mx) / time.Second)
		return s.Store.SaveMXWatch(ctx, d)
	}
	d.Streak++
	if d.Streak == 1 {
		// Senders may hold the records this answer replaced for their TTL.
		d.DestSince = now
		d.ReadyAt = now.Add(max(MaxTTL(mx), time.Duration(d.SourceTTL)*time.Second))
	}
	if err := s.Store.SaveMXWatch(ctx, d); err != nil {
		return err
	}
	if d.Streak < 2 || now.Before(d.ReadyAt) {
		return nil
	}
	_, _, err = s.cutover(ctx, e, d.Domain, "watch", WatchWho, d.LastMX)
	return err
}

// queueWaiting queues the final pass of a cutover's items that were
// running a pass at the cutover, once that pass has ended.
func (s *Service) queueWaiting(ctx context.Context, c store.MXCutover) error {
	ids, err := s.Store.WaitingCutoverItems(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		it, err := s.Store.Item(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since
		}
		if err != nil {
			return err
		}
		if it.Status == store.StatusQueued || it.Status == store.StatusRunning {
			continue
		}
		args := []jobs.PassArgs{{ItemID: id, Pass: FinalPass}}
		ok, err := s.Store.QueueWaitingCutoverItem(ctx, c.ID, id, FinalPass, func(ctx context.Context, tx any) ([]int64, error) {
			return s.Queue.Enqueue(ctx, tx, args, time.Time{})
		})
		if err != nil {
			return err
		}
		if ok {
			s.log().Info("final Full pass queued after the pass that ran at the cutover", "domain", c.Domain, "item", id)
		}
	}
	return nil
}

// postCheck checks all of a cut-over domain's records once its final
// passes ended (no item of the domain queued or running).
func (s *Service) postCheck(ctx context.Context, d store.EngagementDomain, c store.MXCutover) error {
	e, err := s.Store.Engagement(ctx, d.EngagementID)
	if err != nil {
		return err
	}
	ids, err := s.domainItems(ctx, e, d.Domain)
	if err != nil {
		return err
	}
	for _, id := range ids {
		it, err := s.Store.Item(ctx, id)
		if err != nil {
			return err
		}
		if it.Status == store.StatusQueued || it.Status == store.StatusRunning {
			return nil // the last pass still runs
		}
	}
	rep, err := s.resolver(d).Check(ctx, d.Domain, Expect{VerificationTXT: d.VerificationTXT})
	if err != nil {
		s.log().Warn("post-migration DNS check: no answer", "domain", d.Domain, "err", err)
		return nil
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	c.PostChecked, c.PostReady, c.PostReport = s.now(), rep.Ready, string(body)
	return s.Store.SavePostCheck(ctx, c, WatchWho)
}

// PostReport reads a cutover's post-migration check.
func PostReport(c store.MXCutover) (Report, bool) {
	var r Report
	if c.PostReport == "" || json.Unmarshal([]byte(c.PostReport), &r) != nil {
		return r, false
	}
	return r, true
}
