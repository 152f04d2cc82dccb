package projects

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/mailboxcsv"
	"github.com/ferryhq/ferry/internal/store"
)

// MailboxStatistic is one item's migration figures over all its passes,
// as the statistics page of a migration service shows them per mailbox.
type MailboxStatistic struct {
	ItemID int64  `json:"item_id"`
	Source string `json:"source"`
	Dest   string `json:"destination"`
	Status string `json:"status"`
	// Workload is mail, calendar, contacts or tasks: an item has a row per
	// workload it moves. For calendar, contacts and tasks, Items counts the
	// objects copied (bytes and rates are mail's).
	Workload string `json:"workload"`
	// Items and Bytes are what the item's passes copied, all passes together.
	Items int64 `json:"items"`
	Bytes int64 `json:"bytes"`
	// TransferSeconds is the time the item's finished passes ran; the rates are over it.
	TransferSeconds float64   `json:"transfer_seconds"`
	MBPerHour       float64   `json:"mb_per_hour"`
	ItemsPerHour    float64   `json:"items_per_hour"`
	Passes          int       `json:"passes"`
	LastPassName    string    `json:"last_pass,omitempty"`
	FirstPass       time.Time `json:"first_pass_started,omitzero"`
	LastPass        time.Time `json:"last_pass_ended,omitzero"`
	// Failures are the messages (or folders) not copied now.
	Failures int `json:"failures"`
}

// MailboxStatistics lists every item of a project with its figures, by
// item id, one row per workload: two queries whatever the project's size,
// and one more per item that moves calendars, contacts or tasks.
func (s *Service) MailboxStatistics(ctx context.Context, projectID int64) ([]MailboxStatistic, error) {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := authorize(ctx, auth.ActionReadProject, p.CustomerID); err != nil {
		return nil, err
	}
	items, _, err := s.Store.Items(ctx, projectID, store.ItemFilter{})
	if err != nil {
		return nil, err
	}
	runs, err := s.Store.ProjectRuns(ctx, projectID)
	if err != nil {
		return nil, err
	}
	byItem := map[int64][]store.Run{}
	for _, r := range runs {
		byItem[r.ItemID] = append(byItem[r.ItemID], r.Run)
	}
	out := make([]MailboxStatistic, 0, len(items))
	for _, it := range items {
		workloads := itemWorkloads(it)
		failures := it.Errors // the item's failures, on its first row
		if !slices.Contains(workloads, store.WorkloadMail) {
			var counts map[string]int
			if it.DAVMailboxID != 0 {
				if counts, err = s.Store.DAVCounts(ctx, it.DAVMailboxID); err != nil {
					return nil, err
				}
			}
			for _, w := range workloads {
				out = append(out, MailboxStatistic{ItemID: it.ID, Source: it.Source, Dest: it.Dest, Status: it.Status, Workload: w,
					Items: int64(counts[w]), LastPassName: it.LastPass, Failures: failures})
				failures = 0
			}
			continue
		}
		m := MailboxStatistic{ItemID: it.ID, Source: it.Source, Dest: it.Dest, Status: it.Status, Workload: "mail", Failures: it.Errors}
		for _, r := range byItem[it.ID] {
			m.Passes++
			m.Items += r.Copied
			m.Bytes += r.CopiedBytes
			if m.FirstPass.IsZero() || r.Started.Before(m.FirstPass) {
				m.FirstPass = r.Started
			}
			m.LastPassName = r.Pass // runs come oldest first
			if r.Ended.IsZero() {
				continue // running: its time is not over yet
			}
			m.TransferSeconds += r.Duration().Seconds()
			if r.Ended.After(m.LastPass) {
				m.LastPass = r.Ended
			}
		}
		if h := m.TransferSeconds / 3600; h > 0 {
			m.MBPerHour, m.ItemsPerHour = float64(m.Bytes)/1e6/h, float64(m.Items)/h
		}
		out = append(out, m)
		if len(workloads) > 1 {
			var counts map[string]int
			if it.DAVMailboxID != 0 {
				if counts, err = s.Store.DAVCounts(ctx, it.DAVMailboxID); err != nil {
					return nil, err
				}
			}
			for _, w := range workloads[1:] {
				out = append(out, MailboxStatistic{ItemID: it.ID, Source: it.Source, Dest: it.Dest, Status: it.Status, Workload: w,
					Items: int64(counts[w]), LastPassName: m.LastPassName})
			}
		}
	}
	return out, nil
}

// StatisticsFormats are the formats WriteMailboxStatistics writes.
var StatisticsFormats = []string{"csv", "json"}

// WriteMailboxStatistics writes the figures as CSV (a header row, then a
// row per mailbox) or JSON ({"mailboxes": [...]}).
func WriteMailboxStatistics(w io.Writer, format string, stats []MailboxStatistic) error {
	switch format {
	case "json":
		if stats == nil {
			stats = []MailboxStatistic{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"mailboxes": stats})
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"source", "destination", "status", "workload", "items", "bytes", "mb_per_hour", "items_per_hour",
			"transfer_seconds", "passes", "last_pass", "first_pass_started", "last_pass_ended", "failures"})
		stamp := func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		}
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
		for _, m := range stats {
			cell := mailboxcsv.SafeCell // addresses and statuses come from people and servers
			cw.Write([]string{cell(m.Source), cell(m.Dest), cell(m.Status), cell(m.Workload), strconv.FormatInt(m.Items, 10), strconv.FormatInt(m.Bytes, 10),
				f(m.MBPerHour), f(m.ItemsPerHour), f(m.TransferSeconds), strconv.Itoa(m.Passes), cell(m.LastPassName),
				stamp(m.FirstPass), stamp(m.LastPass), strconv.Itoa(m.Failures)})
		}
		cw.Flush()
		return cw.Error()
	}
	return fault.InvalidField("format", "%q: the statistics are written as csv or json", format)
}

// StatisticsFileName is the name an export is offered under.
func StatisticsFileName(p store.Project, format string) string {
	return fmt.Sprintf("ferry-project-%d-mailboxes.%s", p.ID, format)
}
