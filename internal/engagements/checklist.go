package engagements

import (
	"context"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
)

// ChecklistSourcePerson is the source of a checklist item added by hand;
// a tool that adds items names itself ("preflight").
const ChecklistSourcePerson = "person"

// checkChecklistInput checks what AddChecklistItem adds besides the title,
// severity and state: where the item comes from (a person, or the tool
// whose findings it is: required, so that tools' items can be told apart
// and refreshed) and its owner, an account that may work the checklist.
func (s *Service) checkChecklistInput(ctx context.Context, customerID int64, in *ChecklistInput) error {
	in.Source = strings.TrimSpace(in.Source)
	if in.Source == "" {
		return fault.InvalidField("source", "say where the item comes from: %q when a person adds it, or the tool that found it (\"preflight\")", ChecklistSourcePerson)
	}
	var err error
	in.Owner, err = s.account(ctx, customerID, "owner", in.Owner, auth.ActionUpdateChecklistItem)
	return err
}
