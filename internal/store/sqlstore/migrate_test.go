package sqlstore_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

// TestAssignmentsBecomeAccounts: schema 027 keeps every role assignment of
// an older state file; those whose free text is an account's e-mail (any
// case) become that account's, the rest stay "not an account yet" (0).
func TestAssignmentsBecomeAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	old, err := sqlstore.OpenSQLiteUpTo(ctx, path, 26)
	if err != nil {
		t.Fatal(err)
	}
	c := store.Customer{Name: "Northwind", Domain: "northwind.com"}
	if err := old.CreateCustomer(ctx, &c); err != nil {
		t.Fatal(err)
	}
	e := store.Engagement{CustomerID: c.ID, Name: "Onboarding", Seats: 800}
	if err := old.CreateEngagement(ctx, &e, nil); err != nil {
		t.Fatal(err)
	}
	u := store.User{Email: "fiona@fasttrack.example", Name: "Fiona", Role: "fasttrack-manager", PasswordHash: "x", Created: time.Now()}
	if err := old.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	db := old.DB()
	for _, row := range [][2]string{{"ftm", "Fiona@FastTrack.example"}, {"frp", "Pat from the partner"}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO assignments(engagement_id, role, person) VALUES (?,?,?)`, e.ID, row[0], row[1]); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Assignments(ctx, e.ID)
	want := []store.Assignment{
		{EngagementID: e.ID, Role: "frp", Person: "Pat from the partner"},
		{EngagementID: e.ID, Role: "ftm", Person: "Fiona@FastTrack.example", UserID: u.ID},
	}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("assignments %+v %v, want %+v", got, err, want)
	}
	if mine, err := s.AssignmentsOf(ctx, u.ID); err != nil || len(mine) != 1 || mine[0].Role != "ftm" {
		t.Fatalf("Fiona's roles %+v %v", mine, err)
	}
}
