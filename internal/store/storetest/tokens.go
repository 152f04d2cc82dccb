package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// runTokens checks API tokens: stored by hash, unique names, last use, revocation.
func runTokens(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("Tokens", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if toks, err := s.Tokens(ctx); err != nil || len(toks) != 0 {
			t.Fatalf("tokens of an empty store: %+v %v", toks, err)
		}
		before := time.Now().Add(-time.Second)
		ci, err := s.CreateToken(ctx, "ci", "hash-ci")
		if err != nil || ci == 0 {
			t.Fatalf("create: id %d, %v", ci, err)
		}
		ops, err := s.CreateToken(ctx, "ops", "hash-ops")
		if err != nil || ops == ci {
			t.Fatalf("create: id %d (first %d), %v", ops, ci, err)
		}
		if _, err := s.CreateToken(ctx, "ci", "hash-other"); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("duplicate name: %v", err)
		}
		if _, err := s.CreateToken(ctx, "other", "hash-ci"); err == nil {
			t.Fatal("a second token with the same hash was stored")
		}
		if _, err := s.TokenByHash(ctx, "hash-unknown"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown hash: %v", err)
		}

		toks, err := s.Tokens(ctx)
		if err != nil || len(toks) != 2 || toks[0].ID != ci || toks[0].Name != "ci" || toks[1].Name != "ops" {
			t.Fatalf("tokens %+v %v", toks, err)
		}
		if toks[0].Created.Before(before) || toks[0].Created.After(time.Now().Add(time.Second)) || !toks[0].LastUsed.IsZero() {
			t.Fatalf("fresh token %+v", toks[0])
		}

		got, err := s.TokenByHash(ctx, "hash-ci")
		if err != nil || got.ID != ci || got.Name != "ci" || got.LastUsed.IsZero() {
			t.Fatalf("by hash: %+v %v", got, err)
		}
		toks, _ = s.Tokens(ctx)
		if toks[0].LastUsed.IsZero() || !toks[1].LastUsed.IsZero() {
			t.Fatalf("last use not recorded (or recorded on the wrong token): %+v", toks)
		}

		if err := s.RevokeToken(ctx, ci); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenByHash(ctx, "hash-ci"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked token still found: %v", err)
		}
		if err := s.RevokeToken(ctx, ci); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking twice: %v", err)
		}
		if toks, _ = s.Tokens(ctx); len(toks) != 1 || toks[0].ID != ops {
			t.Fatalf("after revocation: %+v", toks)
		}
		// The name of a revoked token is free again.
		if _, err := s.CreateToken(ctx, "ci", "hash-ci-2"); err != nil {
			t.Fatal(err)
		}
	})
}
