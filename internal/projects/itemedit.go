package projects

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/store"
)

// ItemEdit changes a mailbox item: nil fields stay as they are. Passwords
// are write-only: they are sealed and never shown again. The source is
// not editable (it names the mailbox's migration state); delete the item
// and add the right one instead.
type ItemEdit struct {
	Dest           *string `json:"destination,omitempty"`
	SourceLogin    *string `json:"source_login,omitempty"`
	DestLogin      *string `json:"destination_login,omitempty"`
	SourcePassword *string `json:"source_password,omitempty"`
	DestPassword   *string `json:"destination_password,omitempty"`
	// Workloads replaces the workloads the item moves.
	Workloads *[]string `json:"workloads,omitempty"`
}

// itemBusy explains why an item cannot change now and what to do.
func itemBusy(it store.Item, verb string) error {
	return &fault.Error{Kind: fault.Conflict, Field: "item",
		Msg: fmt.Sprintf("item %d (%s → %s) is %s: a pass of it is queued or running; stop it first, then %s it", it.ID, it.Source, it.Dest, strings.ToLower(it.Status), verb)}
}

// EditItem changes an item's destination, logins or passwords (a wrong
// password from a bulk import, say), while no pass of it is queued or running.
func (s *Service) EditItem(ctx context.Context, id int64, e ItemEdit) (store.Item, error) {
	it, err := s.Store.Item(ctx, id)
	if err != nil {
		return it, err
	}
	p, src, dst, err := s.openProject(ctx, it.ProjectID)
	if err != nil {
		return it, err
	}
	if err := authorize(ctx, auth.ActionEditItem, p.CustomerID); err != nil {
		return it, err
	}
	if p.Closed {
		return it, closedProject(p)
	}
	edited, err := s.editedItem(it, src, dst, e)
	if err != nil {
		return it, err
	}
	switch err := s.Store.EditItem(ctx, edited); {
	case errors.Is(err, store.ErrDuplicate):
		return it, conflict("destination", "%s is already the destination of another item of the project", edited.Dest)
	case errors.Is(err, store.ErrItemBusy):
		return it, itemBusy(it, "edit")
	case err != nil:
		return it, err
	}
	return s.Store.Item(ctx, id)
}

// EditItems makes one edit to several items of a project at once: a new
// login or password (write-only) on either side, or the workloads, for the
// mailboxes a bulk import got wrong. All or nothing: when one item is not
// the project's, has a pass queued or running, or refuses the edit, none
// changes and the error names that mailbox. The destination is each
// mailbox's own and cannot be set for several at once.
func (s *Service) EditItems(ctx context.Context, projectID int64, ids []int64, e ItemEdit) ([]store.Item, error) {
	p, src, dst, err := s.openProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := authorize(ctx, auth.ActionEditItem, p.CustomerID); err != nil {
		return nil, err
	}
	if p.Closed {
		return nil, closedProject(p)
	}
	if len(ids) == 0 {
		return nil, fault.InvalidField("ids", "select the mailboxes to change")
	}
	if e.Dest != nil {
		return nil, fault.InvalidField("destination", "each mailbox has its own destination: change it on the mailbox's own page, one at a time")
	}
	if e.SourceLogin == nil && e.DestLogin == nil && e.SourcePassword == nil && e.DestPassword == nil && e.Workloads == nil {
		return nil, fault.InvalidField("ids", "nothing to change: give a new login or password (source or destination) or the workloads")
	}
	seen := map[int64]bool{}
	var edited []store.Item
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		it, err := s.Store.Item(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && it.ProjectID != p.ID) {
			return nil, fault.New(fault.NotFound, "project %q has no item %d; nothing was changed", p.Name, id)
		}
		if err != nil {
			return nil, err
		}
		ed, err := s.editedItem(it, src, dst, e)
		if err != nil {
			return nil, atMailbox(it, err)
		}
		edited = append(edited, ed)
	}
	switch err := s.Store.EditItems(ctx, edited); {
	case errors.Is(err, store.ErrItemBusy):
		for _, it := range edited {
			if strings.Contains(err.Error(), fmt.Sprintf("item %d:", it.ID)) {
				return nil, atMailbox(it, itemBusy(it, "edit"))
			}
		}
		return nil, &fault.Error{Kind: fault.Conflict, Field: "ids", Msg: "a pass of one of the mailboxes was queued meanwhile; nothing was changed: stop it first, then edit them", Err: err}
	case errors.Is(err, store.ErrNotFound):
		return nil, fault.Wrap(fault.NotFound, err, "project %q lost one of these items meanwhile; nothing was changed", p.Name)
	case err != nil:
		return nil, err
	}
	out := make([]store.Item, 0, len(edited))
	for _, ed := range edited {
		it, err := s.Store.Item(ctx, ed.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// atMailbox says which mailbox of a bulk edit refused it, and that none
// changed; the error's kind, field and rule stay.
func atMailbox(it store.Item, err error) error {
	fe, ok := fault.As(err)
	if !ok {
		return err
	}
	out := *fe
	out.Msg = fmt.Sprintf("mailbox %s (item %d): %s; nothing was changed", it.Source, it.ID, fe.Msg)
	out.Err = err
	return &out
}

// editedItem checks an edit of an item against the project's endpoints
// and returns the item as it would be, its new passwords sealed.
func (s *Service) editedItem(it store.Item, src, dst store.Endpoint, e ItemEdit) (edited store.Item, err error) {
	if it.Status == store.StatusQueued || it.Status == store.StatusRunning {
		return edited, itemBusy(it, "edit")
	}
	in := ItemInput{Source: it.Source, Dest: it.Dest, SourceLogin: it.SourceLogin, DestLogin: it.DestLogin}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&in.Dest, e.Dest)
	set(&in.SourceLogin, e.SourceLogin)
	set(&in.DestLogin, e.DestLogin)
	if e.SourcePassword != nil {
		in.SourcePassword = *e.SourcePassword
	}
	if e.DestPassword != nil {
		in.DestPassword = *e.DestPassword
	}
	if (e.SourcePassword != nil && *e.SourcePassword == "") || (e.DestPassword != nil && *e.DestPassword == "") {
		field := "source_password"
		if e.SourcePassword == nil || *e.SourcePassword != "" {
			field = "destination_password"
		}
		return edited, fault.InvalidField(field, "a password cannot be set empty; give the mailbox's password")
	}
	// The passwords already sealed count for the check that each side has one.
	check := in
	if check.SourcePassword == "" && it.SealedSourcePassword != "" {
		check.SourcePassword = "sealed"
	}
	if check.DestPassword == "" && it.SealedDestPassword != "" {
		check.DestPassword = "sealed"
	}
	if err := checkItem(&check, src, dst); err != nil {
		return edited, err
	}
	edited = it
	edited.Dest, edited.SourceLogin, edited.DestLogin = check.Dest, in.SourceLogin, in.DestLogin
	if e.Workloads != nil {
		if len(*e.Workloads) == 0 {
			return edited, fault.InvalidField("workloads", "choose at least one workload: mail, calendar, contacts or tasks")
		}
		if edited.Workloads, err = checkWorkloads(*e.Workloads, src, dst); err != nil {
			return edited, err
		}
	}
	if err := s.sealItem(&edited, in); err != nil {
		return edited, err
	}
	return edited, nil
}

// DeleteItems deletes items of a project (one, or many at once); none is
// deleted when one is not the project's or has a pass queued or running.
// Their passes' history stays in the store (it belongs to the mailbox's
// migration state, which other items may share).
func (s *Service) DeleteItems(ctx context.Context, projectID int64, ids []int64) error {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return err
	}
	if err := authorize(ctx, auth.ActionDeleteItems, p.CustomerID); err != nil {
		return err
	}
	if p.Closed {
		return closedProject(p)
	}
	if len(ids) == 0 {
		return fault.InvalidField("ids", "say which items to delete")
	}
	switch err := s.Store.DeleteItems(ctx, projectID, ids); {
	case errors.Is(err, store.ErrItemBusy):
		return &fault.Error{Kind: fault.Conflict, Field: "ids", Msg: fmt.Sprintf("%v: nothing was deleted; stop the item's pass first", err)}
	case errors.Is(err, store.ErrNotFound):
		return fault.Wrap(fault.NotFound, err, "project %q has no such item; nothing was deleted", p.Name)
	default:
		return err
	}
}
