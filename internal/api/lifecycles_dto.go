package api

import (
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// ItemDeletion names the items of a project to delete at once.
type ItemDeletion struct {
	IDs []int64 `json:"ids"`
}

// ItemsEdit makes one edit to several items of a project at once (the
// logins or passwords a bulk import got wrong): fields left out stay.
// Passwords are write-only. The destination is each item's own: edit it
// with PATCH /api/v1/items/{id}.
type ItemsEdit struct {
	IDs            []int64   `json:"ids"`
	SourceLogin    *string   `json:"source_login,omitempty"`
	DestLogin      *string   `json:"destination_login,omitempty"`
	SourcePassword *string   `json:"source_password,omitempty"`
	DestPassword   *string   `json:"destination_password,omitempty"`
	Workloads      *[]string `json:"workloads,omitempty"`
}

// EditedItems are the items a bulk edit changed, as they are now.
type EditedItems struct {
	Items []Item `json:"items"`
}

// IssueEvent is one change to a post-migration issue: who, what, and why.
type IssueEvent struct {
	ID      int64     `json:"id"`
	IssueID int64     `json:"issue_id"`
	At      time.Time `json:"at"`
	Who     string    `json:"who"`
	Field   string    `json:"field"`
	Before  string    `json:"before"`
	After   string    `json:"after"`
	Note    string    `json:"note,omitempty"`
}

func issueEventOut(ev store.IssueEvent) IssueEvent { return IssueEvent(ev) }

// Occurrence is one time an engagement's event (a recurring one repeats) takes place.
type Occurrence struct {
	EventID  int64     `json:"event_id"`
	Kind     string    `json:"kind"`
	Title    string    `json:"title"`
	Starts   time.Time `json:"starts"`
	Ends     time.Time `json:"ends"`
	TimeZone string    `json:"time_zone"`
}
