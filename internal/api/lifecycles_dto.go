package api

import (
	"time"

	"github.com/ferryhq/ferry/internal/store"
)

// ItemDeletion names the items of a project to delete at once.
type ItemDeletion struct {
	IDs []int64 `json:"ids"`
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
