package projects

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/mailboxcsv"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/waves"
)

// WavePlanInput asks for a wave plan of a project's mailboxes (its items).
type WavePlanInput struct {
	// Permissions is the permissions export (CSV text: Mailbox,User,AccessRights).
	Permissions string `json:"permissions"`
	// Mailboxes is Mailboxes.csv (PrimarySMTPAddress,MailboxSize(MB)) for
	// the sizes; without it a mailbox's size is what its passes copied so far.
	Mailboxes    string  `json:"mailboxes,omitempty"`
	MaxPerWave   int     `json:"max_per_wave"`
	MaxGBPerWave float64 `json:"max_gb_per_wave"`
	Start        string  `json:"start"`               // the first day a wave may cut over: 2027-01-08
	Every        string  `json:"every,omitempty"`     // when waves cut over: "Fri 18:00" (the default)
	TimeZone     string  `json:"time_zone,omitempty"` // IANA name; "" = UTC
}

// WaveAcceptInput accepts the plan WavePlanInput makes (planned again
// here, from the same input, so what is accepted is what was shown).
type WaveAcceptInput struct {
	WavePlanInput
	// PrestageDaysBefore: each wave's Pre-stage pass starts this many days
	// before its cutover (now, when that is past). 0 = 7.
	PrestageDaysBefore int `json:"prestage_days_before,omitempty"`
	// OlderThanDays: the Pre-stage copies items older than this. 0 = 30.
	OlderThanDays int `json:"older_than_days,omitempty"`
	// GoNoGoHoursBefore: the go/no-go meeting is this long before the cutover. 0 = 24.
	GoNoGoHoursBefore int `json:"go_no_go_hours_before,omitempty"`
}

// WaveAcceptResult says what accepting did.
type WaveAcceptResult struct {
	Waves []store.Wave `json:"waves"`
	// AlreadyAccepted: the project had these waves already; only what was
	// missing (passes, events) was added.
	AlreadyAccepted bool `json:"already_accepted"`
	// PassesQueued counts the scheduled passes (item and pass) this call added.
	PassesQueued int `json:"passes_queued"`
	// EventsCreated counts the engagement events this call added.
	EventsCreated int `json:"events_created"`
}

// Defaults of WaveAcceptInput.
const (
	DefaultPrestageDaysBefore = 7
	DefaultPrestageOlderThan  = 30
	DefaultGoNoGoHoursBefore  = 24
)

// PlanWaves plans waves for a project's mailboxes from a permissions
// export, with the rate measured on its Trial and Pre-stage passes.
func (s *Service) PlanWaves(ctx context.Context, projectID int64, in WavePlanInput) (*waves.Plan, error) {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := authorize(ctx, auth.ActionReadProject, p.CustomerID); err != nil {
		return nil, err
	}
	plan, _, err := s.planWaves(ctx, p, in)
	return plan, err
}

func (s *Service) planWaves(ctx context.Context, p store.Project, in WavePlanInput) (*waves.Plan, []store.Item, error) {
	o, err := waves.NewOptions(in.MaxPerWave, in.MaxGBPerWave, in.Start, in.Every, in.TimeZone)
	if err != nil {
		return nil, nil, err // fault.Invalid with the field
	}
	if strings.TrimSpace(in.Permissions) == "" {
		return nil, nil, fault.InvalidField("permissions", "give the permissions export (Mailbox,User,AccessRights), from Get-MailboxPermission and Get-RecipientPermission")
	}
	perms, err := waves.ParsePermissions("permissions", strings.NewReader(in.Permissions))
	if err != nil {
		return nil, nil, inputProblems("permissions", err)
	}
	items, _, err := s.Store.Items(ctx, p.ID, store.ItemFilter{})
	if err != nil {
		return nil, nil, err
	}
	if len(items) == 0 {
		return nil, nil, fault.InvalidField("project", "project %q has no mailboxes yet; add its items first, or plan from the files alone (ferry waves plan without --project)", p.Name)
	}
	runs, err := s.Store.ProjectRuns(ctx, p.ID)
	if err != nil {
		return nil, nil, err
	}
	sizes := map[string]waves.Mailbox{}
	if strings.TrimSpace(in.Mailboxes) != "" {
		list, err := waves.ParseMailboxes("mailboxes", strings.NewReader(in.Mailboxes))
		if err != nil {
			return nil, nil, inputProblems("mailboxes", err)
		}
		for _, m := range list {
			sizes[strings.ToLower(m.Address)] = m
		}
	}
	copied := map[int64]store.Run{} // per item: bytes and messages copied so far
	for _, r := range runs {
		c := copied[r.ItemID]
		c.CopiedBytes += r.CopiedBytes
		c.Copied += r.Copied
		copied[r.ItemID] = c
	}
	mbs := make([]waves.Mailbox, len(items))
	for i, it := range items {
		m, listed := sizes[strings.ToLower(it.Source)]
		if !listed {
			c, ran := copied[it.ID]
			m = waves.Mailbox{SizeMB: float64(c.CopiedBytes) / (1 << 20), Items: c.Copied, SizeUnknown: !ran}
		}
		m.Address = it.Source
		mbs[i] = m
	}
	o.Rate = measuredRate(runs, p.MaxConcurrent)
	plan, err := waves.Make(mbs, perms, o)
	if err != nil {
		return nil, nil, fault.InvalidField("mailboxes", "%v", err)
	}
	return plan, items, nil
}

// inputProblems turns a file's problems (line, column, what to do) into bad input in that field.
func inputProblems(field string, err error) error {
	var es mailboxcsv.Errors
	if errors.As(err, &es) {
		return &fault.Error{Kind: fault.Invalid, Field: field, Msg: es.Error(), Err: err}
	}
	return err
}

// measuredRate is how fast one mailbox moved on the project's Trial and
// Pre-stage passes (runs that completed), in MB of 2^20 bytes as
// Exchange counts mailbox sizes; nil before any was measured.
func measuredRate(runs []store.ItemRun, concurrent int) *waves.Rate {
	var bytes, msgs int64
	var hours float64
	n := 0
	for _, r := range runs {
		if r.Pass != "trial" && r.Pass != "prestage" || !completedMailbox(r.Run) || !r.Ended.After(r.Started) || r.CopiedBytes == 0 {
			continue
		}
		bytes += r.CopiedBytes
		msgs += r.Copied
		hours += r.Ended.Sub(r.Started).Hours()
		n++
	}
	if n == 0 || hours <= 0 {
		return nil
	}
	return &waves.Rate{MBPerHour: float64(bytes) / (1 << 20) / hours, ItemsPerHour: float64(msgs) / hours, Concurrent: max(concurrent, 1),
		From: fmt.Sprintf("measured on %d runs of Trial and Pre-stage passes", n)}
}

// AcceptWaves creates the planned waves in the project: each wave's
// mailboxes get a Pre-stage pass scheduled ahead and a Full pass at the
// cutover (scheduled passes), and the project's engagement a go/no-go
// event and a wave event. Accepting the same plan again adds only what is
// missing; a different plan, once one is accepted, is refused.
func (s *Service) AcceptWaves(ctx context.Context, projectID int64, in WaveAcceptInput) (*WaveAcceptResult, error) {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := authorize(ctx, auth.ActionAcceptWaves, p.CustomerID); err != nil {
		return nil, err
	}
	if p.EngagementID != 0 {
		if err := authorize(ctx, auth.ActionScheduleEvent, p.CustomerID); err != nil {
			return nil, err
		}
	}
	if p.Closed {
		return nil, closedProject(p)
	}
	if in.PrestageDaysBefore < 0 || in.OlderThanDays < 0 || in.GoNoGoHoursBefore < 0 {
		return nil, fault.InvalidField("prestage_days_before", "the days and hours before a cutover cannot be negative")
	}
	in.PrestageDaysBefore = cmp.Or(in.PrestageDaysBefore, DefaultPrestageDaysBefore)
	in.OlderThanDays = cmp.Or(in.OlderThanDays, DefaultPrestageOlderThan)
	in.GoNoGoHoursBefore = cmp.Or(in.GoNoGoHoursBefore, DefaultGoNoGoHoursBefore)
	plan, items, err := s.planWaves(ctx, p, in.WavePlanInput)
	if err != nil {
		return nil, err
	}
	bySource := map[string]int64{}
	for _, it := range items {
		bySource[strings.ToLower(it.Source)] = it.ID
	}
	now := s.now()
	tz := cmp.Or(in.TimeZone, "UTC")
	var want []*store.Wave
	for _, w := range plan.Waves {
		sw := &store.Wave{Number: w.Number, Name: w.Name, Cutover: w.Cutover, PrestageAt: later(w.Cutover.AddDate(0, 0, -in.PrestageDaysBefore), now),
			OlderThanDays: in.OlderThanDays, TimeZone: tz, SizeMB: w.SizeMB, Estimate: w.Estimate, EstimateNote: w.EstimateNote,
			OverLimit: w.OverLimit, AcceptedBy: principalName(ctx), AcceptedAt: now}
		for _, m := range w.Mailboxes {
			sw.Items = append(sw.Items, store.WaveItem{ItemID: bySource[strings.ToLower(m.Address)], Source: m.Address, Batch: m.Batch})
		}
		want = append(want, sw)
	}
	res := &WaveAcceptResult{}
	existing, err := s.Store.Waves(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		if !samePlan(existing, want) {
			return nil, &fault.Error{Kind: fault.Conflict, Field: "waves", Msg: fmt.Sprintf(
				"project %q has accepted waves already (%d, the first cutting over %s); this plan differs from them, and accepted waves are not replaced",
				p.Name, len(existing), existing[0].Cutover.Format("2006-01-02 15:04 MST"))}
		}
		res.AlreadyAccepted = true
	} else {
		if plan.Waves[0].Cutover.Before(now) {
			return nil, fault.InvalidField("start", "the first wave would cut over at %s, in the past; start later", plan.Waves[0].Cutover.Format("2006-01-02 15:04 MST"))
		}
		if s.MigrationGate != nil {
			if err := s.MigrationGate(ctx, p.CustomerID, p.ID, "prestage"); err != nil {
				return nil, err
			}
		}
		if err := s.Store.SaveWaves(ctx, p.ID, want); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return nil, fault.Wrap(fault.Conflict, err, "project %q has accepted waves already (accepted at the same time by someone else?)", p.Name)
			}
			return nil, err
		}
		if existing, err = s.Store.Waves(ctx, p.ID); err != nil {
			return nil, err
		}
	}
	for i := range existing {
		w := &existing[i]
		if err := s.scheduleWave(ctx, p, w, in, res); err != nil {
			return nil, err
		}
	}
	res.Waves = existing
	return res, nil
}

// scheduleWave queues what a wave is missing: its passes, its events.
func (s *Service) scheduleWave(ctx context.Context, p store.Project, w *store.Wave, in WaveAcceptInput, res *WaveAcceptResult) error {
	changed := false
	if !w.PassesQueued {
		ids := make([]int64, len(w.Items))
		for i, it := range w.Items {
			ids[i] = it.ItemID
		}
		at := w.PrestageAt
		if !at.After(s.now()) {
			at = time.Time{} // now
		}
		pre, err := s.StartPass(ctx, p.ID, PassRequest{Pass: "prestage", OlderThanDays: w.OlderThanDays, At: at, Selection: Selection{ItemIDs: ids}})
		if err != nil {
			return err
		}
		full, err := s.StartPass(ctx, p.ID, PassRequest{Pass: "full", At: w.Cutover, Selection: Selection{ItemIDs: ids}})
		if err != nil {
			return err
		}
		res.PassesQueued += pre.Queued + full.Queued
		w.PassesQueued, changed = true, true
	}
	if p.EngagementID != 0 && w.GoNoGoEventID == 0 {
		ev := store.ScheduledEvent{EngagementID: p.EngagementID, Kind: "go-no-go", Title: fmt.Sprintf("Go/no-go: %s of %s", w.Name, p.Name),
			Starts: w.Cutover.Add(-time.Duration(in.GoNoGoHoursBefore) * time.Hour), TimeZone: w.TimeZone,
			Notes: fmt.Sprintf("Decide whether %s (%d mailboxes) cuts over at %s.", w.Name, len(w.Items), w.Cutover.Format("2006-01-02 15:04 MST"))}
		ev.Ends = ev.Starts.Add(30 * time.Minute)
		if err := s.Store.SaveEvent(ctx, &ev); err != nil {
			return err
		}
		w.GoNoGoEventID, changed = ev.ID, true
		res.EventsCreated++
	}
	if p.EngagementID != 0 && w.EventID == 0 {
		ev := store.ScheduledEvent{EngagementID: p.EngagementID, Kind: "wave", Title: fmt.Sprintf("%s of %s: %d mailboxes", w.Name, p.Name, len(w.Items)),
			Starts: w.Cutover, Ends: w.Cutover.Add(max(w.Estimate, time.Hour)), TimeZone: w.TimeZone,
			Notes: fmt.Sprintf("Pre-stage from %s (items older than %d days), Full pass at the cutover; %s.",
				w.PrestageAt.Format("2006-01-02 15:04 MST"), w.OlderThanDays, w.EstimateNote)}
		if err := s.Store.SaveEvent(ctx, &ev); err != nil {
			return err
		}
		w.EventID, changed = ev.ID, true
		res.EventsCreated++
	}
	if changed {
		return s.Store.UpdateWave(ctx, *w)
	}
	return nil
}

// samePlan: the accepted waves are the ones planned (names, cutovers, mailboxes).
func samePlan(have []store.Wave, want []*store.Wave) bool {
	if len(have) != len(want) {
		return false
	}
	for i, h := range have {
		w := want[i]
		if h.Number != w.Number || !h.Cutover.Equal(w.Cutover) || len(h.Items) != len(w.Items) {
			return false
		}
		a, b := make([]int64, len(h.Items)), make([]int64, len(w.Items))
		for j := range h.Items {
			a[j], b[j] = h.Items[j].ItemID, w.Items[j].ItemID
		}
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			return false
		}
	}
	return true
}

// Waves lists a project's accepted waves.
func (s *Service) Waves(ctx context.Context, projectID int64) ([]store.Wave, error) {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := authorize(ctx, auth.ActionReadProject, p.CustomerID); err != nil {
		return nil, err
	}
	return s.Store.Waves(ctx, projectID)
}

func principalName(ctx context.Context) string {
	if p := auth.PrincipalFrom(ctx); p != nil {
		return p.Name
	}
	return ""
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
