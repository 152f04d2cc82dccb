package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/store"
)

// ---- Success plan, go/no-go decisions, migration figures

// SuccessPlan is an engagement's success plan.
type SuccessPlan struct {
	EngagementID int64     `json:"engagement_id"`
	Goals        string    `json:"goals"`
	Outcomes     string    `json:"outcomes,omitempty"`
	OwnerID      int64     `json:"owner_id,omitempty"`
	Owner        string    `json:"owner,omitempty"`
	Agreed       string    `json:"agreed"` // 2026-12-03
	UpdatedBy    string    `json:"updated_by"`
	Updated      time.Time `json:"updated"`
}

func successPlanOut(p store.SuccessPlan) SuccessPlan {
	return SuccessPlan{EngagementID: p.EngagementID, Goals: p.Goals, Outcomes: p.Outcomes, OwnerID: p.OwnerID, Owner: p.Owner,
		Agreed: p.Agreed.Format("2006-01-02"), UpdatedBy: p.UpdatedBy, Updated: p.Updated}
}

func (s *server) successPlan(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	p, ok, err := s.eng.SuccessPlan(r.Context(), e.ID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("engagement %d has no success plan yet (PUT one): %w", e.ID, store.ErrNotFound)
	}
	return writeJSON(w, http.StatusOK, successPlanOut(p))
}

func (s *server) setSuccessPlan(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	var in engagements.SuccessPlanInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.eng.SetSuccessPlan(r.Context(), e.ID, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, successPlanOut(p))
}

// GoNoGoDecision is a go/no-go decision with the evidence shown when it was taken.
type GoNoGoDecision struct {
	ID           int64                `json:"id"`
	EngagementID int64                `json:"engagement_id"`
	EventID      int64                `json:"event_id"`
	Event        string               `json:"event,omitempty"`
	Decision     string               `json:"decision"`
	Who          string               `json:"who"`
	At           time.Time            `json:"at"`
	Notes        string               `json:"notes,omitempty"`
	Evidence     engagements.Evidence `json:"evidence"`
}

func goNoGoOut(g engagements.GoNoGo) GoNoGoDecision {
	return GoNoGoDecision{ID: g.ID, EngagementID: g.EngagementID, EventID: g.EventID, Event: g.Event, Decision: g.Decision, Who: g.Who, At: g.At,
		Notes: g.Notes, Evidence: g.Shown}
}

func (s *server) goNoGoDecisions(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	ds, err := s.eng.GoNoGoDecisions(r.Context(), e.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"decisions": convert(ds, goNoGoOut)})
}

func (s *server) decideGoNoGo(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	var in engagements.GoNoGoInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, err := s.eng.DecideGoNoGo(r.Context(), e.ID, in)
	if err != nil {
		return err
	}
	ds, err := s.eng.GoNoGoDecisions(r.Context(), e.ID)
	if err != nil {
		return err
	}
	for _, g := range ds {
		if g.ID == d.ID {
			return created(w, fmt.Sprintf("/api/v1/engagements/%d/go-no-go", e.ID), goNoGoOut(g))
		}
	}
	return fmt.Errorf("go/no-go decision %d: %w", d.ID, store.ErrNotFound)
}

func (s *server) figures(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	fs, err := s.eng.Figures(r.Context(), e.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"projects": fs})
}

func (s *server) responsibilities(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	list, err := s.eng.Responsibilities(r.Context(), e.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"responsibilities": list})
}

// TickInput ticks one of the customer's responsibilities off (done) or unticks it.
type TickInput struct {
	Done bool `json:"done"`
}

func (s *server) tickResponsibility(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	var in TickInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	x, err := s.eng.TickResponsibility(r.Context(), e.ID, r.PathValue("key"), in.Done)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, x)
}

// nextPasses lists a project's passes queued to start later, soonest first.
func (s *server) nextPasses(w http.ResponseWriter, r *http.Request) error {
	p, err := s.loadProject(r)
	if err != nil {
		return err
	}
	next, err := s.svc.NextPasses(r.Context(), p.ID, 100)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"passes": next})
}
