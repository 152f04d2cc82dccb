package engagements

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/mailboxcsv"
	"github.com/ferryhq/ferry/internal/store"
)

// StateWaived is the state of a checklist item accepted as it is, with a
// reason (WaiveChecklistItem). Gate 1700 counts it as resolved.
const StateWaived = "waived"

// SyncResult says what a tool's run changed in the checklist.
type SyncResult struct {
	Added    int `json:"added"`
	Updated  int `json:"updated"`
	Reopened int `json:"reopened"`
	Resolved int `json:"resolved"`
}

// SyncFindings makes the checklist hold what a tool (source, e.g.
// "preflight") found in a project this time: a finding not on the list is
// added (open), one already there keeps its state, owner and notes and
// takes the new words, one that was resolved comes back open, and an item
// of this source and project that was not found again is resolved. A
// waived item stays waived. The projects service calls it with no person
// in ctx when a pre-flight ends; a person calling it must be allowed to
// add checklist items.
func (s *Service) SyncFindings(ctx context.Context, engagementID, projectID int64, source string, found []store.ChecklistItem) (SyncResult, error) {
	var res SyncResult
	e, err := s.Store.Engagement(ctx, engagementID)
	if err != nil {
		return res, err
	}
	if auth.PrincipalFrom(ctx) != nil {
		if err := authorize(ctx, auth.ActionAddChecklistItem, e.CustomerID); err != nil {
			return res, err
		}
	}
	items, err := s.Store.ChecklistItems(ctx, engagementID)
	if err != nil {
		return res, err
	}
	have := map[string]store.ChecklistItem{}
	for _, c := range items {
		if c.Source == source && c.ProjectID == projectID && c.Key != "" {
			have[c.Key] = c
		}
	}
	seen := map[string]bool{}
	for _, f := range found {
		if f.Key == "" || seen[f.Key] {
			continue
		}
		seen[f.Key] = true
		c, ok := have[f.Key]
		if !ok {
			f.ID, f.EngagementID, f.ProjectID, f.Source = 0, engagementID, projectID, source
			if f.State == "" {
				f.State = "open"
			}
			if err := s.Store.SaveChecklistItem(ctx, &f); err != nil {
				return res, err
			}
			res.Added++
			continue
		}
		changed := c.Title != f.Title || c.Found != f.Found || c.Action != f.Action || c.Severity != f.Severity
		c.Title, c.Found, c.Action, c.Severity = f.Title, f.Found, f.Action, f.Severity
		if c.State == "resolved" {
			c.State = "open"
			c.Notes = appendNote(c.Notes, "found again by "+source)
			res.Reopened++
			changed = true
		} else if changed {
			res.Updated++
		}
		if changed {
			if err := s.Store.SaveChecklistItem(ctx, &c); err != nil {
				return res, err
			}
		}
	}
	for key, c := range have {
		if seen[key] || (c.State != "open" && c.State != "in-progress") {
			continue
		}
		c.State = "resolved"
		c.Notes = appendNote(c.Notes, "no longer found by "+source)
		if err := s.Store.SaveChecklistItem(ctx, &c); err != nil {
			return res, err
		}
		res.Resolved++
	}
	_, err = s.reopenGates(ctx, engagementID, false)
	return res, err
}

func appendNote(notes, note string) string {
	if notes == "" {
		return note
	}
	return notes + "; " + note
}

// WaiveChecklistItem accepts an item as it is, with a reason: who waived
// it and when are recorded with it (and in the audit log), and gate 1700
// counts it as resolved.
func (s *Service) WaiveChecklistItem(ctx context.Context, id, itemID int64, reason string) (store.ChecklistItem, error) {
	if _, err := s.engagement(ctx, auth.ActionUpdateChecklistItem, id); err != nil {
		return store.ChecklistItem{}, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return store.ChecklistItem{}, fault.InvalidField("reason", "say why the item is waived (for example: the customer accepts that this message stays behind)")
	}
	items, err := s.Store.ChecklistItems(ctx, id)
	if err != nil {
		return store.ChecklistItem{}, err
	}
	i := slices.IndexFunc(items, func(c store.ChecklistItem) bool { return c.ID == itemID })
	if i < 0 {
		return store.ChecklistItem{}, fault.InvalidField("item", "engagement %d has no checklist item %d", id, itemID)
	}
	c := items[i]
	c.State, c.WaiveReason, c.WaivedAt = StateWaived, reason, s.now()
	if p := auth.PrincipalFrom(ctx); p != nil {
		c.WaivedBy = p.Name
	}
	if err := s.Store.SaveChecklistItem(ctx, &c); err != nil {
		return c, err
	}
	_, err = s.reopenGates(ctx, id, false)
	return c, err
}

// ChecklistCSV writes the engagement's remediation checklist as CSV.
func (s *Service) ChecklistCSV(ctx context.Context, id int64, w io.Writer) error {
	if _, err := s.engagement(ctx, auth.ActionListChecklist, id); err != nil {
		return err
	}
	items, err := s.Store.ChecklistItems(ctx, id)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"ID", "Title", "Severity", "State", "Owner", "Source", "Mailbox", "Check", "Found", "Action", "Due", "Waived by", "Waived at", "Waive reason", "Notes"})
	date := func(t interface{ IsZero() bool }, s string) string {
		if t.IsZero() {
			return ""
		}
		return s
	}
	for _, c := range items {
		cw.Write([]string{fmt.Sprint(c.ID), mailboxcsv.SafeCell(c.Title), c.Severity, c.State, mailboxcsv.SafeCell(c.Owner), mailboxcsv.SafeCell(c.Source),
			mailboxcsv.SafeCell(c.Mailbox), c.Check, mailboxcsv.SafeCell(c.Found), mailboxcsv.SafeCell(c.Action),
			date(c.Due, c.Due.Format("2006-01-02")), mailboxcsv.SafeCell(c.WaivedBy), date(c.WaivedAt, c.WaivedAt.UTC().Format("2006-01-02 15:04 UTC")),
			mailboxcsv.SafeCell(c.WaiveReason), mailboxcsv.SafeCell(c.Notes)})
	}
	cw.Flush()
	return cw.Error()
}
