package projects_test

import (
	"testing"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// TestProjectBelongsToAnEngagementOfItsCustomer: a project is created for
// one of its customer's engagements, never another customer's.
func TestProjectBelongsToAnEngagementOfItsCustomer(t *testing.T) {
	t.Parallel()
	b := setup(t, 1)
	ctx := operator
	own := store.Engagement{CustomerID: b.project.CustomerID, Name: "Onboarding", Seats: 800}
	if err := b.st.CreateEngagement(ctx, &own, nil); err != nil {
		t.Fatal(err)
	}
	other := store.Customer{Name: "Tailspin", Domain: "tailspin.example"}
	if err := b.st.CreateCustomer(ctx, &other); err != nil {
		t.Fatal(err)
	}
	theirs := store.Engagement{CustomerID: other.ID, Name: "Onboarding", Seats: 800}
	if err := b.st.CreateEngagement(ctx, &theirs, nil); err != nil {
		t.Fatal(err)
	}
	in := func(name string, engagement int64) projects.ProjectInput {
		return projects.ProjectInput{CustomerID: b.project.CustomerID, Name: name, SourceID: b.project.SourceID, DestID: b.project.DestID, EngagementID: engagement}
	}
	for _, engagement := range []int64{theirs.ID, 99999} {
		_, err := b.svc.CreateProject(ctx, in("Wave", engagement))
		if fe, ok := fault.As(err); !ok || fe.Kind != fault.Invalid || fe.Field != "engagement_id" {
			t.Errorf("engagement %d: %v, want invalid engagement_id", engagement, err)
		}
	}
	p, err := b.svc.CreateProject(ctx, in("Wave 1", own.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := b.st.Project(ctx, p.ID); got.EngagementID != own.ID {
		t.Fatalf("project %+v, want engagement %d", got, own.ID)
	}
}
