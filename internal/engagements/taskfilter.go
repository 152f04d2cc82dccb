package engagements

import (
	"slices"
	"strings"

	"github.com/ferryhq/ferry/internal/fault"
)

// TaskFilter selects an engagement's tasks by what the playbook calls
// them: phases (any case), service IDs, role IDs and statuses. An empty
// list selects every task.
type TaskFilter struct {
	Phases, Services, Roles, Statuses []string
}

// CheckTaskFilter refuses a filter naming a phase, service, role or status
// the playbook does not have, which would select nothing without saying
// why: fault.Invalid naming the parameter and the values it may take. The
// API and the portal's task list both ask it, so they say the same.
func (s *Service) CheckTaskFilter(f TaskFilter) error {
	for _, st := range f.Statuses {
		if !slices.Contains(Statuses, st) {
			return fault.InvalidField("status", "unknown status %q; use one of: %s", st, strings.Join(Statuses, ", "))
		}
	}
	pb := s.Playbook
	var phases, services, roles []string
	for _, p := range pb.Phases {
		phases = append(phases, p.Name)
	}
	for _, sv := range pb.Services {
		services = append(services, sv.ID)
	}
	for _, ro := range pb.Roles {
		roles = append(roles, ro.ID)
	}
	for _, ph := range f.Phases {
		if !slices.ContainsFunc(phases, func(n string) bool { return strings.EqualFold(n, ph) }) {
			return fault.InvalidField("phase", "unknown phase %q; use one of: %s", ph, strings.Join(phases, ", "))
		}
	}
	for _, sv := range f.Services {
		if !slices.Contains(services, sv) {
			return fault.InvalidField("service", "unknown service %q; use one of: %s", sv, strings.Join(services, ", "))
		}
	}
	for _, ro := range f.Roles {
		if !slices.Contains(roles, ro) {
			return fault.InvalidField("role", "unknown role %q; use one of: %s", ro, strings.Join(roles, ", "))
		}
	}
	return nil
}
