package store

import (
	"context"
	"time"
)

// Wave is one accepted wave of a project (internal/waves planned it):
// its mailboxes (items) cut over together at Cutover, after a Pre-stage
// pass at PrestageAt.
type Wave struct {
	ID            int64         `json:"id"`
	ProjectID     int64         `json:"project_id"`
	Number        int           `json:"number"`
	Name          string        `json:"name"`
	Cutover       time.Time     `json:"cutover"`
	PrestageAt    time.Time     `json:"prestage_at"`
	OlderThanDays int           `json:"older_than_days"`
	TimeZone      string        `json:"time_zone"`
	SizeMB        float64       `json:"size_mb"`
	Estimate      time.Duration `json:"estimate_ns"`
	EstimateNote  string        `json:"estimate_note"`
	OverLimit     string        `json:"over_limit,omitempty"`
	// PassesQueued: the wave's Pre-stage and Full passes are scheduled
	// (accepting the plan again schedules nothing twice).
	PassesQueued bool `json:"passes_queued"`
	// EventID and GoNoGoEventID are the wave's events on the project's
	// engagement (0: none yet, or no engagement).
	EventID       int64      `json:"event_id,omitempty"`
	GoNoGoEventID int64      `json:"go_no_go_event_id,omitempty"`
	AcceptedBy    string     `json:"accepted_by"`
	AcceptedAt    time.Time  `json:"accepted_at"`
	Items         []WaveItem `json:"items"`
}

// WaveItem is a mailbox of a wave: the project's item and its batch
// (connected component of the permission graph).
type WaveItem struct {
	ItemID int64  `json:"item_id"`
	Source string `json:"source"` // the item's source address (read only)
	Batch  string `json:"batch"`
}

// Waves is the part of the store for a project's accepted waves.
type Waves interface {
	// SaveWaves stores a project's waves with their items in one
	// transaction: ErrDuplicate when the project has waves already or an
	// item is in two waves, ErrNotFound when an item is not the project's.
	SaveWaves(ctx context.Context, projectID int64, waves []*Wave) error
	// Waves lists a project's waves by number, with their items.
	Waves(ctx context.Context, projectID int64) ([]Wave, error)
	// UpdateWave saves what happened to a wave since (passes queued, events).
	UpdateWave(ctx context.Context, w Wave) error
}
