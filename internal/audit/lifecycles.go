package audit

import (
	"context"
	"fmt"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
)

// EditItem records a person's edit of an item; a new password is recorded
// as "credentials changed", never its value.
func (a *auditStore) EditItem(ctx context.Context, it store.Item) error {
	p := who(ctx)
	before, err := store.Item{}, error(nil)
	if p != "" {
		before, err = a.Store.Item(ctx, it.ID)
	}
	if err := a.Store.EditItem(ctx, it); err != nil {
		return err
	}
	if p == "" || err != nil {
		return nil
	}
	a.editedItem(ctx, p, before, it)
	return nil
}

// EditItems records a person's edit of several items at once, one entry
// per item, as EditItem does.
func (a *auditStore) EditItems(ctx context.Context, items []store.Item) error {
	p := who(ctx)
	before := make([]store.Item, len(items))
	var err error
	if p != "" {
		for i, it := range items {
			if before[i], err = a.Store.Item(ctx, it.ID); err != nil {
				break
			}
		}
	}
	if err := a.Store.EditItems(ctx, items); err != nil {
		return err
	}
	if p == "" || err != nil {
		return nil
	}
	for i, it := range items {
		a.editedItem(ctx, p, before[i], it)
	}
	return nil
}

func (a *auditStore) editedItem(ctx context.Context, p string, before, it store.Item) {
	after := before
	after.Dest, after.SourceLogin, after.DestLogin = it.Dest, it.SourceLogin, it.DestLogin
	b, af := diff(before, after, itemSkip...)
	if before.SealedSourcePassword != it.SealedSourcePassword || before.SealedDestPassword != it.SealedDestPassword {
		af["credentials"] = credentialsChanged
	}
	a.record(ctx, p, store.AuditEntry{CustomerID: a.projectCustomer(ctx, it.ProjectID), ProjectID: it.ProjectID, Object: itemName(after),
		Action: string(auth.ActionEditItem), Before: text(b), After: text(af)})
}

// DeleteItems records the items a person deleted, by their mailboxes.
func (a *auditStore) DeleteItems(ctx context.Context, projectID int64, ids []int64) error {
	p := who(ctx)
	var gone []store.Item
	if p != "" {
		gone, _, _ = a.Store.Items(ctx, projectID, store.ItemFilter{IDs: ids})
	}
	if err := a.Store.DeleteItems(ctx, projectID, ids); err != nil {
		return err
	}
	if p == "" {
		return nil
	}
	cust := a.projectCustomer(ctx, projectID)
	for _, it := range gone {
		a.record(ctx, p, store.AuditEntry{CustomerID: cust, ProjectID: projectID, Object: itemName(it),
			Action: string(auth.ActionDeleteItems), Before: text(fields(it, itemSkip...)), After: fmt.Sprintf("deleted from project %d", projectID)})
	}
	return nil
}

// UpdatePostMigrationIssue records a person's change to an issue (its own
// history says the same, in the issue's words).
func (a *auditStore) UpdatePostMigrationIssue(ctx context.Context, is store.PostMigrationIssue, events []store.IssueEvent) error {
	p := who(ctx)
	var before store.PostMigrationIssue
	if p != "" {
		list, _ := a.Store.PostMigrationIssues(ctx, is.EngagementID)
		before, _ = findByID(list, is.ID, func(x store.PostMigrationIssue) int64 { return x.ID })
	}
	if err := a.Store.UpdatePostMigrationIssue(ctx, is, events); err != nil {
		return err
	}
	if p != "" {
		a.saved(ctx, p, is.EngagementID, named("post-migration issue", is.ID, is.Mailbox), string(auth.ActionReportIssue),
			string(auth.ActionUpdateIssue), before, is, false)
	}
	return nil
}
