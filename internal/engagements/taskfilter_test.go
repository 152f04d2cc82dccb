package engagements

import (
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/playbook"
)

func TestCheckTaskFilter(t *testing.T) {
	t.Parallel()
	s := &Service{Playbook: playbook.Default()}
	for _, tc := range []struct {
		name  string
		f     TaskFilter
		field string // "" when the filter is fine
		msg   string
	}{
		{"empty", TaskFilter{}, "", ""},
		{"known values", TaskFilter{Phases: []string{"Remediate", "enable"}, Services: []string{"exchange"}, Roles: []string{"ftm"}, Statuses: []string{NotStarted}}, "", ""},
		{"unknown phase", TaskFilter{Phases: []string{"Remediate", "Celebrate"}}, "phase", `unknown phase "Celebrate"; use one of: Initiate, Assess, Remediate, Enable, Migrate`},
		{"unknown service", TaskFilter{Services: []string{"Exchange"}}, "service", `unknown service "Exchange"; use one of: `},
		{"unknown role", TaskFilter{Roles: []string{"janitor"}}, "role", `unknown role "janitor"; use one of: frp, `},
		{"unknown status", TaskFilter{Statuses: []string{"Done"}}, "status", `unknown status "Done"; use one of: Not Started, `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CheckTaskFilter(tc.f)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.Invalid || fe.Field != tc.field || !strings.HasPrefix(fe.Msg, tc.msg) {
				t.Fatalf("%v, want invalid %s: %s...", err, tc.field, tc.msg)
			}
		})
	}
}
