package auth_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
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

// throttleWait is the wait the sign-in throttle asks for, if err is its refusal.
func throttleWait(err error) (time.Duration, bool) {
	fe, ok := fault.As(err)
	if !ok || fe.Kind != fault.Throttled {
		return 0, false
	}
	return fe.RetryAfter, true
}

func isThrottled(err error) bool { _, ok := throttleWait(err); return ok }

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
		wait, limited := throttleWait(err)
		switch {
		case limited:
			if wait < lastWait {
				t.Fatalf("after %d wrong passwords the wait shrank from %v to %v", tries, lastWait, wait)
			}
			lastWait = wait
			clk.Add(wait)
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
	if _, err := svc.SignIn(ctx, "owner@contoso.example", ownerPassword, attacker); !isThrottled(err) {
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

// TestConcurrentGuessesAreThrottled: thirty wrong passwords sent at once
// from one address are counted as they arrive, not as their hashes end:
// only the address's free tries reach a password check, the others are
// told to wait (before, all thirty were checked).
func TestConcurrentGuessesAreThrottled(t *testing.T) {
	t.Parallel()
	svc, _ := newSignIn(t)
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.SignIn(context.Background(), fmt.Sprintf("guess%d@contoso.example", i), "guess guess guess", "203.0.113.66")
			kind := "other: " + fmt.Sprint(err)
			switch {
			case isThrottled(err):
				kind = "wait"
			case errors.Is(err, auth.ErrWrongCredentials):
				kind = "checked"
			}
			mu.Lock()
			answers[kind]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if answers["checked"] != 10 || answers["wait"] != 20 {
		t.Errorf("30 guesses at once from one address: %v, want 10 checked and 20 told to wait", answers)
	}
	// A success from the address gives back its own try: the owner's next
	// wrong password from there is not counted twice.
	svc2, _ := newSignIn(t)
	for range 9 {
		svc2.SignIn(context.Background(), "nobody@contoso.example", "guess guess guess", "198.51.100.7")
	}
	if _, err := svc2.SignIn(context.Background(), "owner@contoso.example", ownerPassword, "198.51.100.7"); err != nil {
		t.Fatalf("the owner after nine failures from the address: %v", err)
	}
	if _, err := svc2.SignIn(context.Background(), "owner@contoso.example", "a typo in it", "198.51.100.7"); !errors.Is(err, auth.ErrWrongCredentials) {
		t.Fatalf("the tenth failure from the address: %v, want the wrong-password answer", err)
	}
}

// TestIPv6NeighboursShareAThrottle: an IPv6 client holds a whole /64 (its
// network hands them out), so the address throttle counts the /64, not
// each address in it; another /64 is another client.
func TestIPv6NeighboursShareAThrottle(t *testing.T) {
	t.Parallel()
	svc, _ := newSignIn(t)
	for i := range 10 {
		addr := fmt.Sprintf("2001:db8:0:1::%x", i+1)
		if _, err := svc.SignIn(context.Background(), fmt.Sprintf("guess%d@contoso.example", i), "guess guess guess", addr); !errors.Is(err, auth.ErrWrongCredentials) {
			t.Fatalf("guess %d from %s: %v", i, addr, err)
		}
	}
	if _, err := svc.SignIn(context.Background(), "owner@contoso.example", "guess guess guess", "2001:db8:0:1:abcd::99"); !isThrottled(err) {
		t.Errorf("the 11th guess from the same /64: %v, want a wait", err)
	}
	if _, err := svc.SignIn(context.Background(), "owner@contoso.example", ownerPassword, "2001:db8:0:2::1"); err != nil {
		t.Errorf("the owner from another /64: %v", err)
	}
	if _, err := svc.SignIn(context.Background(), "owner@contoso.example", ownerPassword, "::ffff:198.51.100.7"); err != nil {
		t.Errorf("an IPv4 client written as IPv6: %v", err)
	}
}
