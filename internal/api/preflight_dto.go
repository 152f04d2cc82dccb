package api

import (
	"time"

	"github.com/ferryhq/ferry/internal/preflight"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// Limits are a destination's limits as pre-flight checks them; a field
// left out (0) is the next level's: project, endpoint, endpoint type.
type Limits struct {
	MaxMessageSize      int64 `json:"max_message_size,omitempty"`
	MaxFolderItems      int64 `json:"max_folder_items,omitempty"`
	MaxFolderDepth      int   `json:"max_folder_depth,omitempty"`
	MaxFolderNameLength int   `json:"max_folder_name_length,omitempty"`
	MaxFolderPathLength int   `json:"max_folder_path_length,omitempty"`
}

func limitsOut(l store.Limits) Limits { return Limits(l) }

// limitsPtr is nil for none, so that the wire leaves it out.
func limitsPtr(l store.Limits) *Limits {
	if l == (store.Limits{}) {
		return nil
	}
	out := limitsOut(l)
	return &out
}

// PreflightRun is one pre-flight of a project.
type PreflightRun struct {
	ID          int64     `json:"id"`
	ProjectID   int64     `json:"project_id"`
	State       string    `json:"state"` // queued, running, done, failed
	RequestedBy string    `json:"requested_by,omitempty"`
	Queued      time.Time `json:"queued"`
	Started     time.Time `json:"started,omitzero"`
	Finished    time.Time `json:"finished,omitzero"`
	Error       string    `json:"error,omitempty"`
}

func preflightRunOut(r store.PreflightRun) PreflightRun {
	return PreflightRun{ID: r.ID, ProjectID: r.ProjectID, State: r.State, RequestedBy: r.RequestedBy, Queued: r.Queued, Started: r.Started, Finished: r.Finished, Error: r.Error}
}

// PreflightFinding is one problem a pre-flight found.
type PreflightFinding struct {
	ItemID   int64  `json:"item_id"`
	Mailbox  string `json:"mailbox"`
	Check    string `json:"check"`
	Severity string `json:"severity"`
	Found    string `json:"found"`
	Action   string `json:"action"`
}

// PreflightMailbox is what a pre-flight learnt about one item.
type PreflightMailbox struct {
	ItemID      int64  `json:"item_id"`
	Mailbox     string `json:"mailbox"`
	Destination string `json:"destination"`
	Folders     int    `json:"folders"`
	Messages    int64  `json:"messages"`
	Bytes       int64  `json:"bytes"`
	SizeFrom    string `json:"size_from,omitempty"`
	QuotaUsage  int64  `json:"quota_usage,omitempty"`
	QuotaLimit  int64  `json:"quota_limit,omitempty"`
	Findings    int    `json:"findings"`
}

// PreflightReport is the result of a finished pre-flight.
type PreflightReport struct {
	Limits         Limits             `json:"limits"`
	Mailboxes      []PreflightMailbox `json:"mailboxes"`
	Findings       []PreflightFinding `json:"findings"`
	Messages       int64              `json:"messages"`
	Bytes          int64              `json:"bytes"`
	ThroughputPass string             `json:"throughput_pass,omitempty"`
	MBPerHour      float64            `json:"mb_per_hour"`
	ItemsPerHour   float64            `json:"items_per_hour"`
	EstimateHours  float64            `json:"estimate_hours,omitempty"`
}

// Preflight is a project's latest pre-flight, its report and the runs before.
type Preflight struct {
	Latest *PreflightRun    `json:"latest,omitempty"`
	Report *PreflightReport `json:"report,omitempty"`
	Runs   []PreflightRun   `json:"runs"`
}

func preflightOut(v *projects.PreflightView) Preflight {
	out := Preflight{Runs: convert(v.Runs, preflightRunOut)}
	if v.Latest != nil {
		l := preflightRunOut(*v.Latest)
		out.Latest = &l
	}
	if r := v.Report; r != nil {
		rep := PreflightReport{Limits: limitsOut(r.Limits), Messages: r.Messages, Bytes: r.Bytes, ThroughputPass: r.ThroughputPass,
			MBPerHour: r.MBPerHour, ItemsPerHour: r.ItemsPerHour, EstimateHours: r.EstimateHours,
			Mailboxes: convert(r.Mailboxes, func(m preflight.MailboxReport) PreflightMailbox {
				pm := PreflightMailbox{ItemID: m.ItemID, Mailbox: m.Mailbox, Destination: m.Destination, Folders: m.Folders, Messages: m.Messages,
					Bytes: m.Bytes, SizeFrom: m.SizeFrom, Findings: m.Findings}
				if m.Quota != nil {
					pm.QuotaUsage, pm.QuotaLimit = m.Quota.Usage, m.Quota.Limit
				}
				return pm
			}),
			Findings: convert(r.Findings, func(f preflight.Finding) PreflightFinding {
				return PreflightFinding{ItemID: f.ItemID, Mailbox: f.Mailbox, Check: f.Check, Severity: f.Severity, Found: f.Found, Action: f.Action}
			})}
		out.Report = &rep
	}
	return out
}

// WaiveInput waives a checklist item.
type WaiveInput struct {
	Reason string `json:"reason"`
}
