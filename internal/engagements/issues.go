package engagements

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// Post-migration issue statuses: resolved is fixed and waiting for the
// customer's word, closed is done; either can be reopened, with a reason.
var IssueStatuses = []string{"open", "investigating", "resolved", "closed"}

func issueFinished(status string) bool { return status == "resolved" || status == "closed" }

// IssueUpdate changes a post-migration issue; nil fields stay as they are.
type IssueUpdate struct {
	Status      *string `json:"status,omitempty"`
	Owner       *string `json:"owner,omitempty"` // an account's email; "" unassigns
	Description *string `json:"description,omitempty"`
	// Note says why; needed to reopen a resolved or closed issue.
	Note string `json:"note,omitempty"`
}

// Issues lists an engagement's post-migration issues, with their T+5 windows.
func (s *Service) Issues(ctx context.Context, engagementID int64) ([]store.PostMigrationIssue, error) {
	if _, err := s.engagement(ctx, auth.ActionListIssues, engagementID); err != nil {
		return nil, err
	}
	return s.Store.PostMigrationIssues(ctx, engagementID)
}

func (s *Service) issue(ctx context.Context, action auth.Action, engagementID, issueID int64) (store.Engagement, store.PostMigrationIssue, error) {
	e, err := s.engagement(ctx, action, engagementID)
	if err != nil {
		return e, store.PostMigrationIssue{}, err
	}
	list, err := s.Store.PostMigrationIssues(ctx, engagementID)
	if err != nil {
		return e, store.PostMigrationIssue{}, err
	}
	i := slices.IndexFunc(list, func(p store.PostMigrationIssue) bool { return p.ID == issueID })
	if i < 0 {
		return e, store.PostMigrationIssue{}, fault.New(fault.NotFound, "engagement %d has no post-migration issue %d", engagementID, issueID)
	}
	return e, list[i], nil
}

// UpdateIssue assigns, works, closes or reopens a post-migration issue.
// Each change is recorded as the signed-in person; the owner must be an
// account that may work this customer's issues.
func (s *Service) UpdateIssue(ctx context.Context, engagementID, issueID int64, u IssueUpdate) (store.PostMigrationIssue, error) {
	e, p, err := s.issue(ctx, auth.ActionUpdateIssue, engagementID, issueID)
	if err != nil {
		return p, err
	}
	who := auth.PrincipalFrom(ctx).Name
	note := strings.TrimSpace(u.Note)
	var events []store.IssueEvent
	change := func(field string, at *string, v string) {
		if *at != v {
			events = append(events, store.IssueEvent{Who: who, Field: field, Before: *at, After: v})
			*at = v
		}
	}
	next := p
	// An owner left as it is stays, even one recorded before owners were accounts.
	if u.Owner != nil && strings.TrimSpace(*u.Owner) != p.Owner {
		owner, err := s.account(ctx, e.CustomerID, "owner", *u.Owner, auth.ActionUpdateIssue)
		if err != nil {
			return p, err
		}
		change("owner", &next.Owner, owner)
	}
	if u.Description != nil {
		d := strings.TrimSpace(*u.Description)
		if d == "" {
			return p, fault.InvalidField("description", "say what is wrong")
		}
		change("description", &next.Description, d)
	}
	if u.Status != nil {
		if err := checkChoice("status", *u.Status, IssueStatuses); err != nil {
			return p, err
		}
		if issueFinished(p.Status) && !issueFinished(*u.Status) && note == "" {
			return p, fault.InvalidField("note", "issue %d is %s; say why it is reopened (what came back)", p.ID, p.Status)
		}
		change("status", &next.Status, *u.Status)
	}
	if len(events) == 0 {
		return p, nil
	}
	// The reason belongs to the status change when there is one.
	at := len(events) - 1
	events[at].Note = note
	events[at].At = s.now()
	for i := range events {
		events[i].At = events[at].At
	}
	return next, s.Store.UpdatePostMigrationIssue(ctx, next, events)
}

// account checks that email names an enabled account that may do action
// on the customer's engagement (work its issues, its checklist), and
// returns it as stored ("" unassigns): owners are people who sign in.
func (s *Service) account(ctx context.Context, customerID int64, field, email string, action auth.Action) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", nil
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return "", fault.InvalidField(field, "%q has no account; choose a person who signs in to Ferry (an administrator adds accounts)", email)
	}
	if err != nil {
		return "", err
	}
	if u.Disabled {
		return "", fault.InvalidField(field, "the account %s is disabled; choose someone else", u.Email)
	}
	if err := auth.Authorize(auth.PrincipalOf(u, "user"), action, customerID); err != nil {
		return "", fault.InvalidField(field, "%s cannot be the %s (%v); choose someone who can", u.Email, field, err)
	}
	return u.Email, nil
}

// IssueHistory lists the changes to an issue, oldest first.
func (s *Service) IssueHistory(ctx context.Context, engagementID, issueID int64) ([]store.IssueEvent, error) {
	if _, _, err := s.issue(ctx, auth.ActionListIssues, engagementID, issueID); err != nil {
		return nil, err
	}
	return s.Store.IssueEvents(ctx, issueID)
}
