package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

const ownerPassword = "correct horse battery"

// clock is a settable time for the throttle.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newSignIn(t *testing.T) (*auth.Service, *clock) {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	svc := &auth.Service{Store: st, Now: clk.Now}
	if _, err := svc.CreateUser(asOperator, auth.UserInput{Email: "owner@contoso.example", Name: "Owner",
		Role: string(auth.Administrator), Password: ownerPassword}); err != nil {
		t.Fatal(err)
	}
	return svc, clk
}

// asOperator makes account changes as the command line does: the people
// service lets only whoever may manage accounts change them.
var asOperator = auth.WithPrincipal(context.Background(), auth.Operator("test operator"))

// TestAttackerCannotLockTheOwnerOut: fifty wrong passwords from an
// attacker's address slow that address down, more and more, but the owner
// signs in from their own address at once, while the attacker still waits.
func TestAttackerCannotLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	svc, clk := newSignIn(t)
	ctx := context.Background()
	const attacker, owner = "203.0.113.66", "198.51.100.7"
	var lastWait time.Duration
	for tries := 0; tries < 50; {
		_, err := svc.SignIn(ctx, "owner@contoso.example", "guess guess guess", attacker)
		var limited *auth.RateLimitedError
		switch {
		case errors.As(err, &limited):
			if limited.RetryAfter < lastWait {
				t.Fatalf("after %d wrong passwords the wait shrank from %v to %v", tries, lastWait, limited.RetryAfter)
			}
			lastWait = limited.RetryAfter
			clk.Add(limited.RetryAfter)
		case errors.Is(err, auth.ErrWrongCredentials):
			tries++
		default:
			t.Fatalf("wrong password %d: %v", tries, err)
		}
	}
	if lastWait < time.Minute {
		t.Errorf("after 50 wrong passwords the attacker waits only %v between tries", lastWait)
	}
	// The attacker is held back now...
	var limited *auth.RateLimitedError
	if _, err := svc.SignIn(ctx, "owner@contoso.example", ownerPassword, attacker); !errors.As(err, &limited) {
		t.Fatalf("the attacker's address right after 50 failures: %v, want a wait", err)
	}
	// ...and the owner is not.
	if _, err := svc.SignIn(ctx, "owner@contoso.example", ownerPassword, owner); err != nil {
		t.Fatalf("the owner after an attacker's 50 wrong passwords: %v", err)
	}
}

// TestUnknownAccountsAnswerLikeKnownOnes: a run of wrong passwords for an
// account that exists and for one that does not gets the same answers, in
// the same order, with the same waits: nobody learns who has an account.
func TestUnknownAccountsAnswerLikeKnownOnes(t *testing.T) {
	t.Parallel()
	answers := func(email string) []string {
		svc, clk := newSignIn(t)
		var out []string
		for range 30 {
			_, err := svc.SignIn(context.Background(), email, "guess guess guess", "203.0.113.66")
			out = append(out, err.Error())
			clk.Add(3 * time.Second)
		}
		return out
	}
	known, unknown := answers("owner@contoso.example"), answers("nobody@contoso.example")
	for i := range known {
		if known[i] != unknown[i] {
			t.Fatalf("attempt %d: a known account answers %q, an unknown one %q", i+1, known[i], unknown[i])
		}
	}
}

// TestNewPasswordOrDisablingEndsSessionsAndTokens: whoever holds a session
// cookie or an API token of the account loses it when the password changes
// or the account is disabled.
func TestNewPasswordOrDisablingEndsSessionsAndTokens(t *testing.T) {
	t.Parallel()
	for _, change := range []string{"new password", "disabled"} {
		t.Run(change, func(t *testing.T) {
			t.Parallel()
			svc, _ := newSignIn(t)
			ctx := asOperator // who changes the account; the session and token are the owner's
			in, err := svc.SignIn(ctx, "owner@contoso.example", ownerPassword, "198.51.100.7")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CreateUser(ctx, auth.UserInput{Email: "other@contoso.example", Name: "Other",
				Role: string(auth.Administrator), Password: ownerPassword}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Store.CreateUserToken(ctx, in.User.ID, "laptop", auth.HashToken("fy_laptop")); err != nil {
				t.Fatal(err)
			}
			if change == "new password" {
				_, err = svc.UpdateUser(ctx, in.User.ID, auth.UserInput{Name: "Owner", Role: string(auth.Administrator), Password: "a brand new passphrase"})
			} else {
				_, err = svc.SetDisabled(ctx, in.User.ID, true)
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.Session(ctx, in.Token); err == nil {
				t.Error("the session lives on")
			}
			if _, err := svc.Store.TokenByHash(ctx, auth.HashToken("fy_laptop")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the API token lives on: %v", err)
			}
		})
	}
}
