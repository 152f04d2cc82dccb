package projects_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// operator is the person the other tests act as: an administrator, like
// the command line.
var operator = auth.WithPrincipal(context.Background(), &auth.Principal{Name: "test operator", Kind: "cli", Role: auth.Administrator})

// TestServiceAuthorizes: every door (the API, the portal, the command
// line) reaches projects, items and passes through the service, which
// decides who may do what, whatever the door checked before.
func TestServiceAuthorizes(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	as := func(role auth.Role, customers ...int64) context.Context {
		return auth.WithPrincipal(context.Background(), &auth.Principal{Name: "someone", Kind: "user", Role: role, Customers: customers})
	}
	own := b.project.CustomerID
	items, _, _ := b.st.Items(context.Background(), b.project.ID, store.ItemFilter{})
	one := 1
	calls := map[string]func(ctx context.Context) error{
		"create a project": func(ctx context.Context) error {
			_, err := b.svc.CreateProject(ctx, projects.ProjectInput{CustomerID: own, Name: "Wave 2", SourceID: b.project.SourceID, DestID: b.project.DestID})
			return err
		},
		"change settings": func(ctx context.Context) error {
			_, err := b.svc.UpdateSettings(ctx, b.project.ID, projects.Settings{MaxConcurrent: &one})
			return err
		},
		"add an item": func(ctx context.Context) error {
			_, err := b.svc.AddItem(ctx, b.project.ID, projects.ItemInput{Source: "n@fabrikam.com", Dest: "n@fabrikam.com", SourcePassword: "p", DestPassword: "p"})
			return err
		},
		"import items": func(ctx context.Context) error {
			_, err := b.svc.ImportItems(ctx, b.project.ID, "x.csv", strings.NewReader("source,destination\n"), projects.ImportOptions{})
			return err
		},
		"start a pass": func(ctx context.Context) error {
			_, err := b.svc.StartPass(ctx, b.project.ID, projects.PassRequest{Pass: "verify", Selection: projects.Selection{ItemIDs: []int64{items[0].ID}}})
			return err
		},
		"stop passes": func(ctx context.Context) error {
			_, err := b.svc.Stop(ctx, b.project.ID, projects.Selection{All: true})
			return err
		},
		"see an item": func(ctx context.Context) error {
			_, err := b.svc.Item(ctx, items[0].ID)
			return err
		},
		"see the throughput": func(ctx context.Context) error {
			_, err := b.svc.Throughput(ctx, b.project.ID)
			return err
		},
		"run a pre-flight": func(ctx context.Context) error {
			_, err := b.svc.StartPreflight(ctx, b.project.ID)
			return err
		},
		"see the pre-flight": func(ctx context.Context) error {
			_, err := b.svc.Preflight(ctx, b.project.ID)
			return err
		},
		"close the project": func(ctx context.Context) error {
			_, err := b.svc.CloseProject(ctx, b.project.ID)
			return err
		},
	}
	// Another customer's project is hidden (404), not refused (403).
	refused := []struct {
		who  string
		ctx  context.Context
		what []string
		want error
	}{
		{"nobody", context.Background(), []string{"create a project", "change settings", "add an item", "import items", "start a pass", "stop passes", "see an item", "see the throughput", "run a pre-flight", "see the pre-flight", "close the project"}, fault.ErrForbidden},
		{"a viewer of the customer", as(auth.Viewer, own), []string{"create a project", "change settings", "add an item", "import items", "start a pass", "stop passes", "run a pre-flight", "close the project"}, fault.ErrForbidden},
		{"a partner of another customer", as(auth.Partner, own+100), []string{"create a project", "change settings", "add an item", "import items", "start a pass", "stop passes", "see an item", "see the throughput", "run a pre-flight", "see the pre-flight", "close the project"}, fault.ErrNotFound},
		{"a customer technical lead", as(auth.CustomerTechnicalLead, own), []string{"start a pass", "stop passes", "run a pre-flight"}, fault.ErrForbidden},
		{"a customer project manager", as(auth.CustomerProjectManager, own), []string{"create a project", "change settings", "add an item", "import items", "close the project"}, fault.ErrForbidden},
	}
	for _, r := range refused {
		for _, what := range r.what {
			if err := calls[what](r.ctx); !errors.Is(err, r.want) {
				t.Errorf("%s may %s: %v", r.who, what, err)
			}
		}
	}
	// Those allowed get on with it (the viewer sees; the administrator does all).
	for _, what := range []string{"see an item", "see the throughput", "see the pre-flight"} {
		if err := calls[what](as(auth.Viewer, own)); err != nil {
			t.Errorf("a viewer of the customer may not %s: %v", what, err)
		}
	}
	for _, what := range []string{"create a project", "change settings", "add an item", "import items", "start a pass", "stop passes", "run a pre-flight", "close the project"} {
		if err := calls[what](operator); err != nil {
			t.Errorf("an administrator may not %s: %v", what, err)
		}
	}
}
