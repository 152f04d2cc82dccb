package fault_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferryhq/ferry/internal/fault"
)

func TestKindsMatchThroughWrapping(t *testing.T) {
	t.Parallel()
	notFound := &fault.Error{Kind: fault.NotFound, Msg: "no such project"}
	tests := []struct {
		name     string
		err      error
		kind     fault.Kind
		sentinel error
	}{
		{"invalid field", fault.InvalidField("email", "an email address has an @"), fault.Invalid, fault.ErrInvalid},
		{"wrapped not found", fmt.Errorf("load project 7: %w", notFound), fault.NotFound, fault.ErrNotFound},
		{"refused by a gate", fault.RefusedBy("1702", "migrations are still running"), fault.Refused, fault.ErrRefused},
		{"temporary with cause", fault.Wrap(fault.Temporary, errors.New("connection reset"), "the database is unreachable"), fault.Temporary, fault.ErrTemporary},
		{"throttled with its wait", &fault.Error{Kind: fault.Throttled, Msg: "wait 4 seconds", RetryAfter: 4 * time.Second}, fault.Throttled, fault.ErrThrottled},
		{"unauthenticated", fmt.Errorf("session: %w", &fault.Error{Kind: fault.Unauthenticated, Msg: "sign in again"}), fault.Unauthenticated, fault.ErrUnauthenticated},
		{"plain error is internal", errors.New("boom"), fault.Internal, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := fault.KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf = %v, want %v", got, tt.kind)
			}
			if tt.sentinel != nil && !errors.Is(tt.err, tt.sentinel) {
				t.Errorf("errors.Is(err, %v) = false", tt.sentinel)
			}
			for _, other := range []error{fault.ErrInvalid, fault.ErrUnauthenticated, fault.ErrNotFound, fault.ErrRefused, fault.ErrTemporary, fault.ErrThrottled} {
				if other != tt.sentinel && errors.Is(tt.err, other) {
					t.Errorf("errors.Is(err, %v) = true for a %v error", other, tt.kind)
				}
			}
		})
	}
}

func TestNonSentinelErrorsMatchOnlyThemselves(t *testing.T) {
	t.Parallel()
	dup := &fault.Error{Kind: fault.Conflict, Msg: "duplicate"}
	stale := &fault.Error{Kind: fault.Conflict, Msg: "changed by someone else"}
	if errors.Is(stale, dup) {
		t.Error("two distinct Conflict errors match each other; only the kind sentinels match by kind")
	}
	if !errors.Is(fmt.Errorf("create: %w", dup), dup) || !errors.Is(dup, fault.ErrConflict) {
		t.Error("a wrapped error no longer matches itself or its kind")
	}
}

func TestFieldInMessage(t *testing.T) {
	t.Parallel()
	if got := fault.InvalidField("csv", "row %d has no email", 3).Error(); got != "csv: row 3 has no email" {
		t.Errorf("Error() = %q", got)
	}
	if got := fault.New(fault.Forbidden, "only administrators may do this").Error(); got != "only administrators may do this" {
		t.Errorf("Error() = %q", got)
	}
}

func TestKindsHaveNames(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, k := range fault.Kinds() {
		name := k.String()
		if strings.HasPrefix(name, "kind(") || seen[name] {
			t.Errorf("kind %d: name %q", int(k), name)
		}
		seen[name] = true
	}
	if got := fault.Kind(len(fault.Kinds())).String(); !strings.HasPrefix(got, "kind(") {
		t.Errorf("a kind past Kinds() has the name %q: add it to Kinds", got)
	}
}
