package web

import "github.com/ferryhq/ferry/internal/fault"

// userFault is an error the person can act on, shown next to the form it
// concerns: bad input, a collision with what exists, or a refusal by a
// rule (a gate, a closed project). Other errors are the server's.
func userFault(err error) (*fault.Error, bool) {
	fe, ok := fault.As(err)
	if !ok {
		return nil, false
	}
	switch fe.Kind {
	case fault.Invalid, fault.Conflict, fault.Refused:
		return fe, true
	}
	return nil, false
}
