package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
)

// TestSignInFailuresAreFaults: every way signing in or holding a session
// fails is a fault of the kind each door maps (wrong credentials, a
// disabled account and no session are Unauthenticated, the throttle is
// Throttled with its wait, a second first-run setup a Conflict), with the
// words the person reads, and still matches its own sentinel.
func TestSignInFailuresAreFaults(t *testing.T) {
	t.Parallel()
	const addr = "198.51.100.7"
	tests := []struct {
		name     string
		do       func(t *testing.T, svc *auth.Service, clk *clock) error
		kind     fault.Kind
		sentinel error // nil: none of its own
		msg      string
	}{
		{"wrong password", func(t *testing.T, svc *auth.Service, _ *clock) error {
			_, err := svc.SignIn(context.Background(), "owner@contoso.example", "guess guess guess", addr)
			return err
		}, fault.Unauthenticated, auth.ErrWrongCredentials, "the email or the password is not right"},
		{"unknown account", func(t *testing.T, svc *auth.Service, _ *clock) error {
			_, err := svc.SignIn(context.Background(), "nobody@contoso.example", "guess guess guess", addr)
			return err
		}, fault.Unauthenticated, auth.ErrWrongCredentials, "the email or the password is not right"},
		{"disabled account", func(t *testing.T, svc *auth.Service, _ *clock) error {
			disableOwner(t, svc)
			_, err := svc.SignIn(context.Background(), "owner@contoso.example", ownerPassword, addr)
			return err
		}, fault.Unauthenticated, auth.ErrDisabled, "this account is disabled; ask an administrator"},
		{"throttled", func(t *testing.T, svc *auth.Service, _ *clock) error {
			for range 5 {
				if _, err := svc.SignIn(context.Background(), "owner@contoso.example", "guess guess guess", addr); !errors.Is(err, auth.ErrWrongCredentials) {
					t.Fatalf("a free try: %v", err)
				}
			}
			_, err := svc.SignIn(context.Background(), "owner@contoso.example", ownerPassword, addr)
			return err
		}, fault.Throttled, nil, "too many failed sign-ins from your address; wait 1 seconds and try again"},
		{"unknown session", func(t *testing.T, svc *auth.Service, _ *clock) error {
			_, _, err := svc.Session(context.Background(), "no such cookie")
			return err
		}, fault.Unauthenticated, auth.ErrNoSession, "not signed in, or the session ended; sign in again"},
		{"session past its idle time", func(t *testing.T, svc *auth.Service, clk *clock) error {
			in, err := svc.SignIn(context.Background(), "owner@contoso.example", ownerPassword, addr)
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(auth.DefaultSessionIdle)
			_, _, err = svc.Session(context.Background(), in.Token)
			return err
		}, fault.Unauthenticated, auth.ErrNoSession, "not signed in, or the session ended; sign in again"},
		{"session of a disabled account", func(t *testing.T, svc *auth.Service, _ *clock) error {
			in, err := svc.SignIn(context.Background(), "owner@contoso.example", ownerPassword, addr)
			if err != nil {
				t.Fatal(err)
			}
			// The account is disabled behind the service's back (another
			// process's write): the session is still there, the account is not usable.
			u := in.User
			u.Disabled = true
			if err := svc.Store.UpdateUser(context.Background(), u); err != nil {
				t.Fatal(err)
			}
			_, _, err = svc.Session(context.Background(), in.Token)
			return err
		}, fault.Unauthenticated, auth.ErrDisabled, "this account is disabled; ask an administrator"},
		{"second first-run setup", func(t *testing.T, svc *auth.Service, _ *clock) error {
			_, err := svc.Bootstrap(context.Background(), auth.UserInput{Email: "root@contoso.example", Name: "Root", Password: ownerPassword})
			return err
		}, fault.Conflict, auth.ErrSetUpAlready, "Ferry has an administrator already; sign in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc, clk := newSignIn(t)
			err := tt.do(t, svc, clk)
			fe, ok := fault.As(err)
			if !ok {
				t.Fatalf("%T %v: not a fault", err, err)
			}
			if fe.Kind != tt.kind {
				t.Errorf("kind %v, want %v (%v)", fe.Kind, tt.kind, err)
			}
			if err.Error() != tt.msg || fe.Msg != tt.msg {
				t.Errorf("says %q (Msg %q), want %q", err.Error(), fe.Msg, tt.msg)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("errors.Is(err, %v) = false", tt.sentinel)
			}
			if kindSentinel := map[fault.Kind]error{fault.Unauthenticated: fault.ErrUnauthenticated, fault.Throttled: fault.ErrThrottled,
				fault.Conflict: fault.ErrConflict}[tt.kind]; !errors.Is(err, kindSentinel) {
				t.Errorf("errors.Is(err, %v) = false", kindSentinel)
			}
			if tt.kind == fault.Throttled && fe.RetryAfter != time.Second {
				t.Errorf("RetryAfter %v, want the first wait, 1s", fe.RetryAfter)
			}
			if tt.kind != fault.Throttled && fe.RetryAfter != 0 {
				t.Errorf("RetryAfter %v on a %v fault", fe.RetryAfter, fe.Kind)
			}
		})
	}
}

// disableOwner disables the owner's account, as an administrator would.
func disableOwner(t *testing.T, svc *auth.Service) {
	t.Helper()
	if _, err := svc.CreateUser(asOperator, auth.UserInput{Email: "second@contoso.example", Name: "Second",
		Role: string(auth.Administrator), Password: ownerPassword}); err != nil {
		t.Fatal(err)
	}
	u, err := svc.Store.UserByEmail(context.Background(), "owner@contoso.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetDisabled(asOperator, u.ID, true); err != nil {
		t.Fatal(err)
	}
}

// TestRefusalsSayWhyAsFaults: a refused action is a Forbidden fault whose
// own words give the reason, so no door needs a case of its own to show it.
func TestRefusalsSayWhyAsFaults(t *testing.T) {
	t.Parallel()
	viewer := &auth.Principal{Role: auth.Viewer}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nobody", auth.Authorize(nil, auth.ActionListCustomers, 0), "nobody is signed in"},
		{"unknown action", auth.Capable(viewer, auth.Action("no-such-action")), "unknown action"},
		{"role", auth.Capable(viewer, auth.ActionCreateCustomer), "may not"},
	} {
		fe, ok := fault.As(tc.err)
		if !ok || fe.Kind != fault.Forbidden || !errors.Is(tc.err, auth.ErrForbidden) {
			t.Errorf("%s: %v is not a Forbidden fault", tc.name, tc.err)
			continue
		}
		if !strings.HasPrefix(fe.Msg, "not allowed: ") || !strings.Contains(fe.Msg, tc.want) {
			t.Errorf("%s: the fault says %q, want the reason %q", tc.name, fe.Msg, tc.want)
		}
	}
}
