package waves_test

import (
	"testing"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/waves"
)

// TestBadOptionsAreInvalidFields: a bad planning option is an
// fault.Invalid naming its field, as every door maps it (the API's field,
// the portal's label, the command line's flag).
func TestBadOptionsAreInvalidFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		field                  string
		max                    int
		maxGB                  float64
		start, every, timeZone string
	}{
		{"max_per_wave", -1, 0, "", "", ""},
		{"max_gb_per_wave", 0, -2, "", "", ""},
		{"time_zone", 0, 0, "", "", "Mars/Olympus"},
		{"every", 0, 0, "", "Someday 25:00", ""},
		{"start", 0, 0, "next week", "", ""},
	} {
		_, err := waves.NewOptions(tc.max, tc.maxGB, tc.start, tc.every, tc.timeZone)
		fe, ok := fault.As(err)
		if !ok || fe.Kind != fault.Invalid || fe.Field != tc.field || fe.Msg == "" {
			t.Errorf("%s: %v (%T), want fault.Invalid of %s", tc.field, err, err, tc.field)
		}
	}
}
