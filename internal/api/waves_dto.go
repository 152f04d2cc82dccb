package api

import (
	"time"

	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/waves"
)

// WavePlan is a plan of migration waves for a project's mailboxes.
type WavePlan struct {
	ProjectID int64            `json:"project_id"`
	Waves     []PlannedWave    `json:"waves"`
	Batches   []WaveBatch      `json:"batches"`
	Oversized []OversizedBatch `json:"oversized"`
	Ignored   IgnoredRows      `json:"ignored"`
	// Rate is what the estimates come from; null: no measurement yet.
	Rate *WaveRate `json:"rate"`
}

// PlannedWave is one wave of a plan.
type PlannedWave struct {
	Number          int                  `json:"number"`
	Name            string               `json:"name"`
	Cutover         time.Time            `json:"cutover"`
	Batches         []string             `json:"batches"`
	Mailboxes       []PlannedWaveMailbox `json:"mailboxes"`
	SizeMB          float64              `json:"size_mb"`
	EstimateMinutes int                  `json:"estimate_minutes"`
	EstimateNote    string               `json:"estimate_note"`
	OverLimit       string               `json:"over_limit,omitempty"`
}

// PlannedWaveMailbox is a mailbox of a planned wave.
type PlannedWaveMailbox struct {
	Address     string  `json:"address"`
	Batch       string  `json:"batch"`
	SizeMB      float64 `json:"size_mb"`
	SizeUnknown bool    `json:"size_unknown"`
}

// WaveBatch is a group of mailboxes tied by permissions (BATCH-n), or
// those without a dependency (BATCH-NoDependencies).
type WaveBatch struct {
	Name      string   `json:"name"`
	Mailboxes []string `json:"mailboxes"`
	SizeMB    float64  `json:"size_mb"`
	Ties      int      `json:"ties"`
}

// OversizedBatch is a batch larger than a wave, with the permissions whose
// removal would split it, weakest first.
type OversizedBatch struct {
	Batch     string    `json:"batch"`
	Mailboxes int       `json:"mailboxes"`
	SizeMB    float64   `json:"size_mb"`
	Why       string    `json:"why"`
	Cuts      []WaveCut `json:"cuts"`
	Exact     bool      `json:"exact"`
	Parts     []int     `json:"parts"`
}

// WaveCut is one permission (all rows between two mailboxes) to remove.
type WaveCut struct {
	A     string `json:"a"`
	B     string `json:"b"`
	Right string `json:"right"`
	Lines []int  `json:"lines"`
}

// IgnoredRows counts the permission rows that tie no mailboxes, by why.
type IgnoredRows struct {
	Self          int      `json:"self"`
	NotMailbox    int      `json:"not_mailbox"`
	NotMailboxes  []string `json:"not_mailboxes"`
	NoTie         int      `json:"no_tie"`
	UnknownOwner  int      `json:"unknown_owner"`
	UnknownOwners []string `json:"unknown_owners"`
}

// WaveRate is the rate a plan's estimates come from.
type WaveRate struct {
	MBPerHour    float64 `json:"mb_per_hour"`
	ItemsPerHour float64 `json:"items_per_hour"`
	Concurrent   int     `json:"concurrent"`
	From         string  `json:"from"`
}

// Wave is an accepted wave of a project.
type Wave struct {
	ID              int64      `json:"id"`
	ProjectID       int64      `json:"project_id"`
	Number          int        `json:"number"`
	Name            string     `json:"name"`
	Cutover         time.Time  `json:"cutover"`
	PrestageAt      time.Time  `json:"prestage_at"`
	OlderThanDays   int        `json:"older_than_days"`
	TimeZone        string     `json:"time_zone"`
	SizeMB          float64    `json:"size_mb"`
	EstimateMinutes int        `json:"estimate_minutes"`
	EstimateNote    string     `json:"estimate_note"`
	OverLimit       string     `json:"over_limit,omitempty"`
	PassesQueued    bool       `json:"passes_queued"`
	EventID         int64      `json:"event_id,omitempty"`
	GoNoGoEventID   int64      `json:"go_no_go_event_id,omitempty"`
	AcceptedBy      string     `json:"accepted_by"`
	AcceptedAt      time.Time  `json:"accepted_at"`
	Items           []WaveItem `json:"items"`
}

// WaveItem is a mailbox (item) of an accepted wave.
type WaveItem struct {
	ItemID int64  `json:"item_id"`
	Source string `json:"source"`
	Batch  string `json:"batch"`
}

// WaveAcceptResult says what accepting a plan did.
type WaveAcceptResult struct {
	Waves           []Wave `json:"waves"`
	AlreadyAccepted bool   `json:"already_accepted"`
	PassesQueued    int    `json:"passes_queued"`
	EventsCreated   int    `json:"events_created"`
}

func wavePlanOut(projectID int64, p *waves.Plan) WavePlan {
	out := WavePlan{ProjectID: projectID, Waves: []PlannedWave{}, Batches: []WaveBatch{}, Oversized: []OversizedBatch{},
		Ignored: IgnoredRows{Self: p.Ignored.Self, NotMailbox: p.Ignored.NotMailbox, NotMailboxes: nonNil(p.Ignored.NotMailboxes), NoTie: p.Ignored.NoTie, UnknownOwner: p.Ignored.UnknownOwner,
			UnknownOwners: nonNil(p.Ignored.UnknownOwners)}}
	if p.Rate != nil {
		out.Rate = &WaveRate{MBPerHour: p.Rate.MBPerHour, ItemsPerHour: p.Rate.ItemsPerHour, Concurrent: p.Rate.Concurrent, From: p.Rate.From}
	}
	for _, w := range p.Waves {
		pw := PlannedWave{Number: w.Number, Name: w.Name, Cutover: w.Cutover, Batches: nonNil(w.Batches), Mailboxes: []PlannedWaveMailbox{},
			SizeMB: w.SizeMB, EstimateMinutes: int(w.Estimate / time.Minute), EstimateNote: w.EstimateNote, OverLimit: w.OverLimit}
		for _, m := range w.Mailboxes {
			pw.Mailboxes = append(pw.Mailboxes, PlannedWaveMailbox{Address: m.Address, Batch: m.Batch, SizeMB: m.SizeMB, SizeUnknown: m.SizeUnknown})
		}
		out.Waves = append(out.Waves, pw)
	}
	for _, b := range p.Batches {
		out.Batches = append(out.Batches, WaveBatch{Name: b.Name, Mailboxes: nonNil(b.Mailboxes), SizeMB: b.SizeMB, Ties: b.Ties})
	}
	for _, o := range p.Oversized {
		ob := OversizedBatch{Batch: o.Batch, Mailboxes: o.Mailboxes, SizeMB: o.SizeMB, Why: o.Why, Cuts: []WaveCut{}, Exact: o.Exact, Parts: nonNil(o.Parts)}
		for _, c := range o.Cuts {
			ob.Cuts = append(ob.Cuts, WaveCut{A: c.A, B: c.B, Right: c.Right, Lines: nonNil(c.Lines)})
		}
		out.Oversized = append(out.Oversized, ob)
	}
	return out
}

func waveOut(w store.Wave) Wave {
	out := Wave{ID: w.ID, ProjectID: w.ProjectID, Number: w.Number, Name: w.Name, Cutover: w.Cutover, PrestageAt: w.PrestageAt,
		OlderThanDays: w.OlderThanDays, TimeZone: w.TimeZone, SizeMB: w.SizeMB, EstimateMinutes: int(w.Estimate / time.Minute),
		EstimateNote: w.EstimateNote, OverLimit: w.OverLimit, PassesQueued: w.PassesQueued, EventID: w.EventID, GoNoGoEventID: w.GoNoGoEventID,
		AcceptedBy: w.AcceptedBy, AcceptedAt: w.AcceptedAt, Items: []WaveItem{}}
	for _, it := range w.Items {
		out.Items = append(out.Items, WaveItem(it))
	}
	return out
}

func wavesOut(ws []store.Wave) []Wave {
	out := []Wave{}
	for _, w := range ws {
		out = append(out, waveOut(w))
	}
	return out
}

func waveAcceptOut(r *projects.WaveAcceptResult) WaveAcceptResult {
	return WaveAcceptResult{Waves: wavesOut(r.Waves), AlreadyAccepted: r.AlreadyAccepted, PassesQueued: r.PassesQueued, EventsCreated: r.EventsCreated}
}
