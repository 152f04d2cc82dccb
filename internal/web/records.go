package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/store"
)

// The engagement page's success plan and go/no-go decisions.

func init() {
	addRoutes(
		route{Pattern: "POST /engagements/{id}/success-plan", Action: auth.ActionSetSuccessPlan, Handle: (*server).setSuccessPlan},
		route{Pattern: "POST /engagements/{id}/go-no-go", Action: auth.ActionDecideGoNoGo, Handle: (*server).decideGoNoGo},
		route{Pattern: "POST /engagements/{id}/responsibilities", Action: auth.ActionTickResponsibility, Handle: (*server).tickResponsibility},
	)
	// day writes a calendar day kept as midnight UTC (a due date, the day a
	// plan was agreed) as that day in every zone; "" for none.
	funcs["day"] = func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	}
}

// engagementRecords loads the success plan, the go/no-go decisions and the
// go-no-go events into the engagement page's data.
func (s *server) engagementRecords(ctx context.Context, e store.Engagement, d *engagementData) error {
	plan, ok, err := s.Engagements.SuccessPlan(ctx, e.ID)
	if err != nil {
		return err
	}
	if ok {
		d.Plan = &plan
	}
	if d.Decisions, err = s.Engagements.GoNoGoDecisions(ctx, e.ID); err != nil {
		return err
	}
	if d.Duties, err = s.Engagements.Responsibilities(ctx, e.ID); err != nil {
		return err
	}
	if p := auth.PrincipalFrom(ctx); p != nil && p.Role == auth.Administrator {
		d.CanTick = true
	} else if d.CanTick, err = s.Engagements.CustomersPerson(ctx, e); err != nil {
		return err
	}
	if p := auth.PrincipalFrom(ctx); auth.Authorize(p, auth.ActionAssign, e.CustomerID) == nil {
		if d.Accounts, err = s.Engagements.Assignable(ctx, e); err != nil {
			return err
		}
	}
	for _, ev := range d.Events {
		if ev.Kind == "go-no-go" {
			d.GoNoGoEvents = append(d.GoNoGoEvents, ev)
		}
	}
	return nil
}

func (s *server) setSuccessPlan(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	in := engagements.SuccessPlanInput{Goals: r.PostFormValue("goals"), Outcomes: r.PostFormValue("outcomes"), Owner: r.PostFormValue("owner"),
		Agreed: r.PostFormValue("agreed")}
	_, err = s.Engagements.SetSuccessPlan(r.Context(), e.ID, in)
	return s.formDone(w, r, e, "success-plan", err)
}

// decideGoNoGo records a decision as the signed-in person: the form names nobody.
func (s *server) decideGoNoGo(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	event, _ := strconv.ParseInt(strings.TrimSpace(r.PostFormValue("event_id")), 10, 64)
	_, err = s.Engagements.DecideGoNoGo(r.Context(), e.ID, engagements.GoNoGoInput{EventID: event, Decision: r.PostFormValue("decision"),
		Notes: r.PostFormValue("notes")})
	return s.formDone(w, r, e, "go-no-go", err)
}

// tickResponsibility ticks one of the customer's responsibilities off, or unticks it.
func (s *server) tickResponsibility(w http.ResponseWriter, r *http.Request) error {
	e, err := s.loadEngagement(r)
	if err != nil {
		return err
	}
	_, err = s.Engagements.TickResponsibility(r.Context(), e.ID, r.PostFormValue("key"), r.PostFormValue("done") == "true")
	return s.formDone(w, r, e, "responsibilities", err)
}
