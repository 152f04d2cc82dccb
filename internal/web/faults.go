package web

import "github.com/ferryhq/ferry/internal/fault"

// userFault is an error the person can act on, shown next to the form it
// concerns: bad input, a collision with what exists, a refusal by a rule
// (a gate, a closed project) or input over a limit. Other errors are the
// server's.
func userFault(err error) (*fault.Error, bool) {
	fe, ok := fault.As(err)
	if !ok {
		return nil, false
	}
	switch fe.Kind {
	case fault.Invalid, fault.Conflict, fault.Refused, fault.TooLarge:
		return fe, true
	}
	return nil, false
}

// fieldError is userFault for forms that show the field and the message apart.
func fieldError(err error) (field, msg string, ok bool) {
	fe, ok := userFault(err)
	if !ok {
		return "", "", false
	}
	return fe.Field, fe.Msg, true
}

// labelled is a message about a field, the field named by its label.
func labelled(field, msg string) string {
	if field == "" {
		return msg
	}
	return fieldLabel(field) + ": " + msg
}
