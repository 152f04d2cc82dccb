package store

import (
	"context"
	"time"
)

// EngagementDomain is a mail domain of an engagement, whose DNS Ferry
// checks and whose MX records it watches for the cutover.
type EngagementDomain struct {
	ID           int64  `json:"id"`
	EngagementID int64  `json:"engagement_id"`
	Domain       string `json:"domain"`
	// VerificationTXT is the MS=ms######## value the admin center asks
	// for; "" accepts any.
	VerificationTXT string `json:"verification_txt,omitempty"`
	// Resolver is the name server asked (host:port); "" is the process's.
	Resolver string    `json:"resolver,omitempty"`
	Created  time.Time `json:"created"`

	// The MX watch: how many checks in a row found every MX at the
	// destination (Streak), since when (DestSince), when the largest TTL
	// of the records senders may still hold has passed (ReadyAt), the
	// largest TTL of the last answer that was not at the destination
	// (SourceTTL, seconds), and the last check.
	Streak      int       `json:"streak"`
	DestSince   time.Time `json:"destination_since,omitzero"`
	ReadyAt     time.Time `json:"ready_at,omitzero"`
	SourceTTL   int       `json:"source_ttl"`
	LastChecked time.Time `json:"last_checked,omitzero"`
	LastMX      string    `json:"last_mx,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
}

// MXCutover records that a domain's mail reaches the destination and the
// final Full (delta) pass was queued for its items: once per engagement
// and domain, whoever (watch, operator) and however many workers see it.
type MXCutover struct {
	ID           int64     `json:"id"`
	EngagementID int64     `json:"engagement_id"`
	Domain       string    `json:"domain"`
	At           time.Time `json:"at"`
	// Trigger says who saw it: "watch" or "operator <name>".
	Trigger string `json:"trigger"`
	MX      string `json:"mx"` // the answer that decided, as FormatMX writes it
	// Queued counts the items whose final pass is queued (or was, or is
	// the pass that was queued and not yet started at the cutover);
	// Waiting those running a pass at the cutover, whose final pass is
	// queued when that pass ends (QueueWaitingCutoverItem).
	Queued  int `json:"queued"`
	Waiting int `json:"waiting"`
	// The post-migration DNS check (FTOP 1370), once the final passes ended.
	PostChecked time.Time `json:"post_checked,omitzero"`
	PostReady   bool      `json:"post_ready"`
	PostReport  string    `json:"post_report,omitempty"` // JSON of dnscheck.Report
}

// CutoverTaskID is the playbook task the MX cutover marks: Post Mail
// Migration - DNS Records and Mail Flow (FTOP 1370).
const CutoverTaskID = "1370"

// MXCutoverEventKind is the kind of the engagement event a cutover records.
const MXCutoverEventKind = "mx-cutover"

// DNS is the part of the store for engagements' domains and their cutover.
type DNS interface {
	// AddEngagementDomain stores a domain of an engagement (ErrDuplicate
	// when the engagement has it already).
	AddEngagementDomain(ctx context.Context, d *EngagementDomain) error
	// EngagementDomains lists an engagement's domains by name; engagement
	// 0 lists every engagement's.
	EngagementDomains(ctx context.Context, engagementID int64) ([]EngagementDomain, error)
	// RemoveEngagementDomain deletes a domain (ErrNotFound when the
	// engagement has no such domain); its cutover record stays.
	RemoveEngagementDomain(ctx context.Context, engagementID int64, domain string) error
	// SaveMXWatch stores the watch fields of a domain (Streak ... LastError).
	SaveMXWatch(ctx context.Context, d EngagementDomain) error
	// RecordMXCutover records the cutover of c's domain, unless one is
	// recorded already (then it returns false and changes nothing), and
	// in the same transaction: an event of kind MXCutoverEventKind on the
	// engagement, the engagement's task CutoverTaskID In Progress (when
	// Not Started) with who as its event, and the items queued for the
	// pass as QueuePass does (enqueue runs in the transaction). An item
	// enqueue queues nothing for (its pass is queued or running already)
	// counts as queued when it is Queued (that pass has not started: it is
	// the final one), as waiting when it runs. c.ID, c.Queued and
	// c.Waiting are set.
	RecordMXCutover(ctx context.Context, c *MXCutover, who string, itemIDs []int64, pass string, enqueue EnqueueFunc) (bool, error)
	// MXCutovers lists an engagement's cutovers by domain; 0 lists all.
	MXCutovers(ctx context.Context, engagementID int64) ([]MXCutover, error)
	// WaitingCutoverItems lists the items of a cutover still waiting for
	// their final pass (an item deleted since waits no more).
	WaitingCutoverItems(ctx context.Context, cutoverID int64) ([]int64, error)
	// QueueWaitingCutoverItem queues a waiting item's final pass (enqueue
	// runs in the transaction, for that one item), unless another caller
	// did: it returns false then, and changes nothing. When enqueue
	// queues nothing (a pass of the item waits in the queue, to be
	// retried), that pass is the item's final one.
	QueueWaitingCutoverItem(ctx context.Context, cutoverID, itemID int64, pass string, enqueue EnqueueFunc) (bool, error)
	// SavePostCheck stores the post-migration check of a cutover and, when
	// it found every record present, sets the engagement's task
	// CutoverTaskID Complete (with who as its event), in one transaction.
	SavePostCheck(ctx context.Context, c MXCutover, who string) error
}
