package secrets

import (
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret is a string that never prints: fmt (every verb, including %#v and
// %x), encoding/json, encoding.TextMarshaler users and log/slog all show
// "[redacted]". Reveal returns the value.
//
// fmt cannot call methods on unexported struct fields, so a Secret in an
// unexported field of a struct printed with %v is shown; keep Secret fields
// exported (or give the struct its own String method). Likewise
// encoding/json writes map keys of string types as they are, so never use a
// Secret as a map key.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (s Secret) GoString() string { return redacted }

// Format writes "[redacted]" for every verb, so that no verb (%d, %x, ...)
// falls back to printing the value.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON returns the JSON string "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[redacted]".
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue makes log/slog show "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
