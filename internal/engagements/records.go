package engagements

// An engagement's records beyond its tasks: the success plan Initiate
// exits with, go/no-go decisions with the evidence shown, and the
// migration figures both the decisions and the report show.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// SuccessPlanInput writes an engagement's success plan.
type SuccessPlanInput struct {
	Goals    string `json:"goals"`
	Outcomes string `json:"outcomes,omitempty"`
	// Owner is the account that owns the plan: its e-mail or number.
	Owner string `json:"owner"`
	// Agreed is the day the plan was agreed, 2026-12-03.
	Agreed string `json:"agreed"`
}

// SetSuccessPlan records (or rewrites) the engagement's success plan: the
// customer's goals and the outcomes that show them met, its owner (an
// account that may see the customer) and the day it was agreed.
func (s *Service) SetSuccessPlan(ctx context.Context, engagementID int64, in SuccessPlanInput) (store.SuccessPlan, error) {
	e, err := s.engagement(ctx, auth.ActionSetSuccessPlan, engagementID)
	if err != nil {
		return store.SuccessPlan{}, err
	}
	p := store.SuccessPlan{EngagementID: e.ID, Goals: strings.TrimSpace(in.Goals), Outcomes: strings.TrimSpace(in.Outcomes)}
	if p.Goals == "" {
		return p, fault.InvalidField("goals", "a success plan states the customer's goals (what the organization wants from the services)")
	}
	if strings.TrimSpace(in.Owner) == "" {
		return p, fault.InvalidField("owner", "say who owns the success plan: their account's e-mail")
	}
	u, err := s.assignable(ctx, e, in.Owner)
	if err != nil {
		if fe, ok := fault.As(err); ok && fe.Field == "person" {
			fe.Field = "owner"
		}
		return p, err
	}
	p.OwnerID, p.Owner = u.ID, u.Email
	day, err := time.Parse("2006-01-02", strings.TrimSpace(in.Agreed))
	if err != nil {
		return p, fault.InvalidField("agreed", "%q: write the day the plan was agreed as 2026-12-03", in.Agreed)
	}
	if err := checkDate("agreed", day); err != nil {
		return p, err
	}
	if day.After(s.now()) {
		return p, fault.InvalidField("agreed", "%s is in the future; record the plan once it is agreed", in.Agreed)
	}
	p.Agreed, p.UpdatedBy, p.Updated = day, auth.PrincipalFrom(ctx).Name, s.now()
	return p, s.Store.SaveSuccessPlan(ctx, p)
}

// SuccessPlan reads the engagement's success plan; false when there is none yet.
func (s *Service) SuccessPlan(ctx context.Context, engagementID int64) (store.SuccessPlan, bool, error) {
	if _, err := s.engagement(ctx, auth.ActionReadEngagement, engagementID); err != nil {
		return store.SuccessPlan{}, false, err
	}
	p, err := s.Store.SuccessPlan(ctx, engagementID)
	if errors.Is(err, store.ErrNotFound) {
		return p, false, nil
	}
	return p, err == nil, err
}

// ProjectFigures are one migration project's figures, as the engagement
// page, its report and the evidence of a go/no-go decision show them.
type ProjectFigures struct {
	ProjectID int64          `json:"project_id"`
	Name      string         `json:"name"`
	Items     int            `json:"items"`
	ByStatus  map[string]int `json:"by_status"`
	// Failed counts the items whose last pass failed or left errors.
	Failed int `json:"failed_items"`
	// FailedMessages sums the messages that failed in each item's last pass.
	FailedMessages int64     `json:"failed_messages"`
	CopiedMB       float64   `json:"copied_mb"`
	Copied         int64     `json:"copied_items"`
	MBPerHour      float64   `json:"mb_per_hour"`
	ItemsPerHour   float64   `json:"items_per_hour"`
	LastPass       string    `json:"last_pass,omitempty"`
	LastEnded      time.Time `json:"last_ended,omitzero"`
}

// Figures measures the engagement's migration projects (its own and the
// customer's that belong to no engagement): items by status, failures,
// and the copy rate over every finished run (bytes and messages copied
// divided by the time the runs took).
func (s *Service) Figures(ctx context.Context, engagementID int64) ([]ProjectFigures, error) {
	e, err := s.engagement(ctx, auth.ActionReadEngagement, engagementID)
	if err != nil {
		return nil, err
	}
	return s.figures(ctx, e)
}

func (s *Service) figures(ctx context.Context, e store.Engagement) ([]ProjectFigures, error) {
	projects, err := s.Store.ProjectsOf(ctx, e.CustomerID)
	if err != nil {
		return nil, err
	}
	out := []ProjectFigures{}
	for _, p := range projects {
		if p.EngagementID != 0 && p.EngagementID != e.ID {
			continue
		}
		f := ProjectFigures{ProjectID: p.ID, Name: p.Name, ByStatus: map[string]int{}}
		items, _, err := s.Store.Items(ctx, p.ID, store.ItemFilter{})
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			f.Items++
			f.ByStatus[it.Status]++
		}
		runs, err := s.Store.ProjectRuns(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		last := map[int64]store.Run{}
		var bytes, msgs int64
		var hours float64
		for _, r := range runs {
			if r.Ended.IsZero() {
				continue
			}
			last[r.ItemID] = r.Run
			bytes += r.CopiedBytes
			msgs += r.Copied
			hours += r.Duration().Hours()
			if r.Ended.After(f.LastEnded) {
				f.LastEnded, f.LastPass = r.Ended, r.Pass
			}
		}
		for _, r := range last {
			if r.Status != "completed" {
				f.Failed++
			}
			f.FailedMessages += r.Failed
		}
		f.CopiedMB, f.Copied = float64(bytes)/1e6, msgs
		if hours > 0 {
			f.MBPerHour, f.ItemsPerHour = f.CopiedMB/hours, float64(msgs)/hours
		}
		out = append(out, f)
	}
	return out, nil
}

// Decisions a go/no-go records.
const (
	Go   = "go"
	NoGo = "no-go"
)

// GateState is a phase gate as a go/no-go decision saw it.
type GateState struct {
	Phase    string   `json:"phase"`
	Exited   bool     `json:"exited"`
	CanExit  bool     `json:"can_exit"`
	Blockers []string `json:"blockers,omitempty"`
}

// Evidence is what was shown when a go/no-go was decided.
type Evidence struct {
	At       time.Time        `json:"at"`
	Projects []ProjectFigures `json:"projects"`
	Gates    []GateState      `json:"gates"`
	// MigrationGate lists the migration prerequisites still open.
	MigrationGate []string `json:"migration_gate,omitempty"`
}

// GoNoGoInput records a decision at a go/no-go event.
type GoNoGoInput struct {
	EventID  int64  `json:"event_id"`
	Decision string `json:"decision"` // go, no-go
	Notes    string `json:"notes,omitempty"`
}

// DecideGoNoGo records a go or no-go at one of the engagement's go-no-go
// events, as the signed-in person, who must hold the role the playbook
// gives the migration gate (the FastTrack Manager; the seeds name no other
// owner of the go/no-go) on the engagement, or be an administrator. The
// evidence on screen is kept with it: each project's items by status,
// failures and rates, and the state of every gate.
func (s *Service) DecideGoNoGo(ctx context.Context, engagementID int64, in GoNoGoInput) (store.GoNoGoDecision, error) {
	e, err := s.engagement(ctx, auth.ActionDecideGoNoGo, engagementID)
	if err != nil {
		return store.GoNoGoDecision{}, err
	}
	p := auth.PrincipalFrom(ctx)
	if p.Role != auth.Administrator {
		as, err := s.Store.Assignments(ctx, e.ID)
		if err != nil {
			return store.GoNoGoDecision{}, err
		}
		role := s.overrideRole()
		if !slices.ContainsFunc(as, func(a store.Assignment) bool { return a.Role == role && Holds(p, a) }) {
			return store.GoNoGoDecision{}, fault.New(fault.Forbidden, "%s is not the %s of this engagement; only they (or an administrator) decide a go/no-go, in their own name",
				p.Name, s.overrideRoleName())
		}
	}
	d := store.GoNoGoDecision{EngagementID: e.ID, EventID: in.EventID, Decision: strings.ToLower(strings.TrimSpace(in.Decision)), Notes: strings.TrimSpace(in.Notes),
		Who: p.Name, WhoID: p.UserID, At: s.now()}
	if d.Decision != Go && d.Decision != NoGo {
		return d, fault.InvalidField("decision", "%q: decide go or no-go", in.Decision)
	}
	evs, err := s.Store.Events(ctx, e.ID)
	if err != nil {
		return d, err
	}
	i := slices.IndexFunc(evs, func(ev store.ScheduledEvent) bool { return ev.ID == in.EventID })
	if i < 0 {
		return d, fault.InvalidField("event_id", "engagement %d has no event %d; schedule a go-no-go event first", e.ID, in.EventID)
	}
	if evs[i].Kind != "go-no-go" {
		return d, fault.InvalidField("event_id", "event %d (%s) is a %s, not a go-no-go", evs[i].ID, evs[i].Title, evs[i].Kind)
	}
	if d.Decision == NoGo && d.Notes == "" {
		return d, fault.InvalidField("notes", "a no-go says why, for the record")
	}
	ev, err := s.evidence(ctx, e)
	if err != nil {
		return d, err
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return d, err
	}
	d.Evidence = string(b)
	return d, s.Store.AddGoNoGo(ctx, &d)
}

func (s *Service) evidence(ctx context.Context, e store.Engagement) (Evidence, error) {
	ev := Evidence{At: s.now()}
	var err error
	if ev.Projects, err = s.figures(ctx, e); err != nil {
		return ev, err
	}
	gates, err := s.Gates(ctx, e.ID)
	if err != nil {
		return ev, err
	}
	for _, g := range gates {
		gs := GateState{Phase: g.Phase, Exited: g.Exited, CanExit: g.CanExit}
		for _, b := range g.Blockers {
			name := b.Name
			if b.TaskID != "" {
				name = b.TaskID + " " + name
			}
			gs.Blockers = append(gs.Blockers, name+": "+b.Status)
		}
		ev.Gates = append(ev.Gates, gs)
	}
	blockers, err := s.MigrationBlockers(ctx, e.CustomerID)
	if err != nil {
		return ev, err
	}
	for _, b := range blockers {
		ev.MigrationGate = append(ev.MigrationGate, strings.TrimSpace(b.TaskID+" "+b.Name))
	}
	return ev, nil
}

// GoNoGo is a decision with its evidence read back.
type GoNoGo struct {
	store.GoNoGoDecision
	Event string   `json:"event"` // the event's title
	Shown Evidence `json:"shown"`
}

// GoNoGoDecisions lists the engagement's go/no-go decisions, oldest first.
func (s *Service) GoNoGoDecisions(ctx context.Context, engagementID int64) ([]GoNoGo, error) {
	if _, err := s.engagement(ctx, auth.ActionReadEngagement, engagementID); err != nil {
		return nil, err
	}
	ds, err := s.Store.GoNoGoDecisions(ctx, engagementID)
	if err != nil {
		return nil, err
	}
	evs, err := s.Store.Events(ctx, engagementID)
	if err != nil {
		return nil, err
	}
	out := []GoNoGo{}
	for _, d := range ds {
		g := GoNoGo{GoNoGoDecision: d}
		if i := slices.IndexFunc(evs, func(ev store.ScheduledEvent) bool { return ev.ID == d.EventID }); i >= 0 {
			g.Event = evs[i].Title
		}
		if err := json.Unmarshal([]byte(d.Evidence), &g.Shown); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}
