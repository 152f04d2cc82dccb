package engagements_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/fault"
)

// operator is the person the other tests act as: an administrator, like
// the command line.
var operator = auth.WithPrincipal(context.Background(), &auth.Principal{Name: "test operator", Kind: "cli", Role: auth.Administrator})

// TestServiceAuthorizes: every door reaches engagements through the
// service, which decides who may change what, whatever the door checked.
func TestServiceAuthorizes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e, tasks := b.create(t, engagements.Input{Seats: 800, Services: []string{"exchange"}, Workloads: []string{"imap"}})
	own := b.customer.ID
	as := func(role auth.Role, customers ...int64) context.Context {
		return auth.WithPrincipal(context.Background(), &auth.Principal{Name: "someone", Kind: "user", Role: role, Customers: customers})
	}
	done := engagements.Complete
	calls := map[string]func(ctx context.Context) error{
		"create an engagement": func(ctx context.Context) error {
			_, _, err := b.svc.Create(ctx, engagements.Input{CustomerID: own, Name: "Second", Seats: 800, Services: []string{"exchange"}})
			return err
		},
		"change the scope": func(ctx context.Context) error {
			_, _, err := b.svc.ChangeScope(ctx, e.ID, engagements.Input{Seats: 900, Services: []string{"exchange"}}, "x")
			return err
		},
		"update a task": func(ctx context.Context) error {
			_, err := b.svc.UpdateTask(ctx, tasks[0].ID, engagements.TaskUpdate{Status: &done}, "x")
			return err
		},
		"log time":     func(ctx context.Context) error { _, err := b.svc.LogTime(ctx, tasks[0].ID, "x", 5, ""); return err },
		"assign":       func(ctx context.Context) error { return b.svc.Assign(ctx, e.ID, "frp", "pat@partner.com") },
		"exit a phase": func(ctx context.Context) error { return b.svc.ExitPhase(ctx, e.ID, "Initiate", "x") },
		"override": func(ctx context.Context) error {
			_, err := b.svc.Override(ctx, own, engagements.OverrideInput{Reason: "y"})
			return err
		},
		"add checklist": func(ctx context.Context) error {
			_, err := b.svc.AddChecklistItem(ctx, e.ID, engagements.ChecklistInput{Title: "t", Severity: "low", Source: "person"})
			return err
		},
		"report issue": func(ctx context.Context) error {
			_, err := b.svc.ReportIssue(ctx, e.ID, engagements.IssueInput{Mailbox: "a@b.c", Description: "d"})
			return err
		},
	}
	// Another customer's engagement is hidden (404), not refused (403):
	// its ID tells the caller nothing.
	for _, r := range []struct {
		who  string
		ctx  context.Context
		what []string
		want error
	}{
		{"nobody", context.Background(), []string{"create an engagement", "change the scope", "update a task", "log time", "assign", "exit a phase", "override", "add checklist", "report issue"}, fault.ErrForbidden},
		{"a viewer of the customer", as(auth.Viewer, own), []string{"create an engagement", "change the scope", "update a task", "log time", "assign", "exit a phase", "override", "add checklist", "report issue"}, fault.ErrForbidden},
		{"a partner of another customer", as(auth.Partner, own+100), []string{"create an engagement", "update a task", "log time", "assign", "override", "report issue"}, fault.ErrNotFound},
		{"a customer project manager", as(auth.CustomerProjectManager, own), []string{"create an engagement", "change the scope", "assign", "exit a phase", "override"}, fault.ErrForbidden},
	} {
		for _, what := range r.what {
			if err := calls[what](r.ctx); !errors.Is(err, r.want) {
				t.Errorf("%s may %s: %v", r.who, what, err)
			}
		}
	}
	// A task of the customer project manager's role, held by them.
	cpm, cpmCtx := b.person(t, "someone@northwind.com", auth.CustomerProjectManager)
	if err := b.svc.Assign(operator, e.ID, tasks[0].Role, cpm.Email); err != nil {
		t.Fatal(err)
	}
	if err := calls["update a task"](cpmCtx); err != nil {
		t.Errorf("the customer's project manager may not update a task of their role: %v", err)
	}
}
