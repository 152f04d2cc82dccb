package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// runPortal checks users, sessions, user tokens and the audit log.
func runPortal(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("Users", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c, _ := projectFixture(t, s)
		if n, err := s.CountUsers(ctx); err != nil || n != 0 {
			t.Fatalf("users of an empty store: %d %v", n, err)
		}
		u := store.User{Email: " Pat@Partner.example ", Name: "Pat", Role: "partner", Customers: []int64{c.ID}, PasswordHash: "$argon2id$x"}
		if err := s.CreateUser(ctx, &u); err != nil || u.ID == 0 {
			t.Fatalf("create: %+v %v", u, err)
		}
		if err := s.CreateUser(ctx, &store.User{Email: "pat@partner.example", Name: "Again", Role: "viewer"}); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("same email again: %v", err)
		}
		if err := s.CreateUser(ctx, &store.User{Email: "ghost@x.example", Name: "G", Role: "viewer", Customers: []int64{99999}}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown customer: %v", err)
		}
		got, err := s.UserByEmail(ctx, "PAT@partner.example")
		if err != nil || got.ID != u.ID || got.Email != "pat@partner.example" || !slices.Equal(got.Customers, []int64{c.ID}) || got.PasswordHash != u.PasswordHash {
			t.Fatalf("by email: %+v %v", got, err)
		}
		if _, err := s.UserByEmail(ctx, "nobody@x.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown email: %v", err)
		}
		locked := time.Now().Add(15 * time.Minute).Truncate(time.Millisecond)
		got.FailedSignIns, got.LockedUntil, got.Customers, got.Role = 5, locked, nil, "viewer"
		if err := s.UpdateUser(ctx, got); err != nil {
			t.Fatal(err)
		}
		again, err := s.User(ctx, u.ID)
		if err != nil || again.FailedSignIns != 5 || !again.LockedUntil.Equal(locked) || len(again.Customers) != 0 || again.Role != "viewer" {
			t.Fatalf("after update: %+v %v", again, err)
		}
		if _, err := s.User(ctx, 424242); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		// Deleting a customer removes it from the people assigned to it.
		again.Customers = []int64{c.ID}
		if err := s.UpdateUser(ctx, again); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCustomer(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if users, err := s.Users(ctx); err != nil || len(users) != 1 || len(users[0].Customers) != 0 {
			t.Fatalf("users after the customer went: %+v %v", users, err)
		}
	})

	t.Run("Sessions", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		u := store.User{Email: "a@x.example", Name: "A", Role: "administrator"}
		if err := s.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		now := time.Now().Truncate(time.Millisecond)
		se := store.Session{Hash: "h1", UserID: u.ID, CSRF: "c1", Created: now, Expires: now.Add(time.Hour), LastSeen: now}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, store.Session{Hash: "h2", UserID: u.ID, CSRF: "c2", Created: now, Expires: now.Add(time.Hour), LastSeen: now}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Session(ctx, "h1")
		if err != nil || got.UserID != u.ID || got.CSRF != "c1" || !got.Expires.Equal(se.Expires) {
			t.Fatalf("session: %+v %v", got, err)
		}
		if err := s.TouchSession(ctx, "h1", now.Add(time.Minute), now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Session(ctx, "h1"); !got.Expires.Equal(now.Add(2 * time.Hour)) {
			t.Fatalf("touch did not move the expiry: %+v", got)
		}
		if err := s.DeleteSession(ctx, "h1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted session: %v", err)
		}
		if err := s.DeleteUserSessions(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "h2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session of a user signed out everywhere: %v", err)
		}
		id, err := s.CreateUserToken(ctx, u.ID, "laptop", "hash-laptop")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.TokenByHash(ctx, "hash-laptop")
		if err != nil || tok.ID != id || tok.UserID != u.ID {
			t.Fatalf("user token: %+v %v", tok, err)
		}
		if _, err := s.CreateToken(ctx, "ci", "hash-ci"); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeUserTokens(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenByHash(ctx, "hash-laptop"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a revoked user's token: %v", err)
		}
		if _, err := s.TokenByHash(ctx, "hash-ci"); err != nil {
			t.Fatalf("another token went with the user's: %v", err)
		}
	})

	t.Run("Audit", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		entries := []store.AuditEntry{
			{Who: "pat", CustomerID: 1, ProjectID: 7, Object: "project 7", Action: "projects.settings", Before: `{"max":10}`, After: `{"max":4}`},
			{Who: "sam", CustomerID: 1, EngagementID: 3, Object: "task 1700", Action: "tasks.update", Before: "Not Started", After: "Complete"},
			{Who: "kim", CustomerID: 2, Object: "customer 2", Action: "customers.create", After: "Fabrikam"},
		}
		for i := range entries {
			if err := s.AddAudit(ctx, &entries[i]); err != nil || entries[i].ID == 0 {
				t.Fatalf("add: %v", err)
			}
		}
		for _, tc := range []struct {
			f    store.AuditFilter
			want []string
		}{
			{store.AuditFilter{}, []string{"kim", "sam", "pat"}},
			{store.AuditFilter{CustomerID: 1}, []string{"sam", "pat"}},
			{store.AuditFilter{ProjectID: 7}, []string{"pat"}},
			{store.AuditFilter{EngagementID: 3}, []string{"sam"}},
			{store.AuditFilter{CustomerID: 1, Limit: 1}, []string{"sam"}},
			{store.AuditFilter{CustomerID: 3}, nil},
		} {
			got, err := s.Audit(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var who []string
			for _, e := range got {
				who = append(who, e.Who)
			}
			if !slices.Equal(who, tc.want) {
				t.Errorf("audit %+v: %v, want %v", tc.f, who, tc.want)
			}
		}
		got, _ := s.Audit(ctx, store.AuditFilter{ProjectID: 7})
		if got[0].Before != `{"max":10}` || got[0].After != `{"max":4}` || got[0].At.IsZero() {
			t.Fatalf("entry: %+v", got[0])
		}
	})
}
