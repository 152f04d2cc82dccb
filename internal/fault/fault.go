// Package fault is Ferry's one vocabulary of errors that a person can act
// on. The services return these kinds; each door maps them once: the API to
// an HTTP status and problem details, the pages to a message next to the
// field, the CLI to an exit code. Any other error is internal: the door
// logs it and says only that something went wrong.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what sort of failure an error is, and so what its caller can do.
type Kind int

const (
	// Internal: not the caller's doing; see the log. The zero Kind.
	Internal Kind = iota
	// Invalid: bad input; Field names it and Msg says how to fix it.
	Invalid
	// Unauthenticated: no credentials, or wrong ones.
	Unauthenticated
	// Forbidden: the caller is known but may not do this.
	Forbidden
	// NotFound: no such thing (or one the caller may not know exists).
	NotFound
	// Conflict: the change collides with what exists (a duplicate name, a stale state).
	Conflict
	// Refused: a business rule said no (a gate, a closed project); Rule names it.
	Refused
	// TooLarge: the input is over a limit.
	TooLarge
	// Temporary: try again later (a busy mailbox, a database outage, a
	// server that throttles Ferry); RetryAfter when known.
	Temporary
	// Throttled: the caller tried too often (failed sign-ins from one
	// address); RetryAfter says how long to wait. Unlike Temporary, it is
	// the caller's doing: the server is fine.
	Throttled
)

// Kinds are every kind, for the doors' tests that each is mapped.
func Kinds() []Kind {
	return []Kind{Internal, Invalid, Unauthenticated, Forbidden, NotFound, Conflict, Refused, TooLarge, Temporary, Throttled}
}

var kindNames = [...]string{
	Internal:        "internal",
	Invalid:         "invalid",
	Unauthenticated: "unauthorized",
	Forbidden:       "forbidden",
	NotFound:        "not_found",
	Conflict:        "conflict",
	Refused:         "refused",
	TooLarge:        "too_large",
	Temporary:       "temporary",
	Throttled:       "throttled",
}

// String is the kind's stable code, as the API writes it.
func (k Kind) String() string {
	if int(k) >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a failure of a known kind.
type Error struct {
	Kind Kind
	// Field is the input at fault ("email", "items[3].password"), if any.
	Field string
	// Rule names the rule that refused (a gate's task ID, "project-closed"), if any.
	Rule string
	// Msg says what went wrong and what to do, in the user's words.
	Msg string
	// RetryAfter, for Temporary errors when known, and Throttled ones.
	RetryAfter time.Duration
	// Err is the cause, kept for errors.Is/As and logs; never shown on its own.
	Err error

	sentinel bool
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, fault.ErrNotFound) (and the other sentinels) match
// any error of that kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.sentinel && t.Kind == e.Kind
}

// Sentinels: errors.Is(err, fault.ErrNotFound) holds for every NotFound error.
var (
	ErrInvalid         = &Error{Kind: Invalid, Msg: "invalid input", sentinel: true}
	ErrUnauthenticated = &Error{Kind: Unauthenticated, Msg: "the credentials are not valid", sentinel: true}
	ErrForbidden       = &Error{Kind: Forbidden, Msg: "not allowed", sentinel: true}
	ErrNotFound        = &Error{Kind: NotFound, Msg: "not found", sentinel: true}
	ErrConflict        = &Error{Kind: Conflict, Msg: "conflicts with existing data", sentinel: true}
	ErrRefused         = &Error{Kind: Refused, Msg: "refused by a rule", sentinel: true}
	ErrTooLarge        = &Error{Kind: TooLarge, Msg: "too large", sentinel: true}
	ErrTemporary       = &Error{Kind: Temporary, Msg: "temporarily unavailable; try again", sentinel: true}
	ErrThrottled       = &Error{Kind: Throttled, Msg: "too many attempts; wait and try again", sentinel: true}
)

// KindOf is the kind of err: that of the first *Error in its chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// InvalidField is bad input in one field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// New is a failure of kind k.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Wrap is a failure of kind k caused by err; Msg is what a person reads.
func Wrap(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Err: err}
}

// RefusedBy is a refusal by a named rule (a gate task ID, "project-closed").
func RefusedBy(rule, format string, args ...any) *Error {
	return &Error{Kind: Refused, Rule: rule, Msg: fmt.Sprintf(format, args...)}
}
