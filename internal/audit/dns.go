package audit

import (
	"context"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/store"
)

// The engagement's domains and the MX cutover, when a person changes them
// (the MX watch acts without a principal: it is Ferry's, not a person's).

func (a *auditStore) AddEngagementDomain(ctx context.Context, d *store.EngagementDomain) error {
	if err := a.Store.AddEngagementDomain(ctx, d); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: a.engagementCustomer(ctx, d.EngagementID), EngagementID: d.EngagementID,
			Object: "domain " + d.Domain, Action: string(auth.ActionManageDomains),
			After: text(map[string]any{"domain": d.Domain, "verification_txt": d.VerificationTXT, "resolver": d.Resolver})})
	}
	return nil
}

func (a *auditStore) RemoveEngagementDomain(ctx context.Context, engagementID int64, domain string) error {
	if err := a.Store.RemoveEngagementDomain(ctx, engagementID, domain); err != nil {
		return err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: a.engagementCustomer(ctx, engagementID), EngagementID: engagementID,
			Object: "domain " + domain, Action: string(auth.ActionManageDomains), Before: text(map[string]any{"domain": domain})})
	}
	return nil
}

func (a *auditStore) RecordMXCutover(ctx context.Context, c *store.MXCutover, person string, itemIDs []int64, pass string, enqueue store.EnqueueFunc) (bool, error) {
	ok, err := a.Store.RecordMXCutover(ctx, c, person, itemIDs, pass, enqueue)
	if err != nil || !ok {
		return ok, err
	}
	if p := who(ctx); p != "" {
		a.record(ctx, p, store.AuditEntry{CustomerID: a.engagementCustomer(ctx, c.EngagementID), EngagementID: c.EngagementID,
			Object: "domain " + c.Domain, Action: string(auth.ActionCutover),
			After: text(map[string]any{"cutover": c.At, "mx": c.MX, "final_pass": pass, "queued": c.Queued, "waiting": c.Waiting})})
	}
	return ok, nil
}
