package api

import (
	"time"

	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/store"
)

// The API's own types for projects, items, runs and throughput, and their
// conversion from the store's rows and the service's results, in this one
// place: a column added to the store does not change the wire format.

// Project is a mailbox project: a source and a destination endpoint of one
// customer, its settings and its items' counts.
type Project struct {
	ID              int64          `json:"id"`
	CustomerID      int64          `json:"customer_id"`
	EngagementID    int64          `json:"engagement_id,omitempty"`
	Name            string         `json:"name"`
	Kind            string         `json:"kind"`
	SourceID        int64          `json:"source_endpoint_id"`
	DestID          int64          `json:"destination_endpoint_id"`
	MaxConcurrent   int            `json:"max_concurrent_migrations"`
	MaxErrors       int            `json:"max_errors_per_migration"`
	DoNotRetry      bool           `json:"do_not_retry_errors"`
	Include         []string       `json:"folder_include,omitempty"`
	Exclude         []string       `json:"folder_exclude,omitempty"`
	DateFrom        time.Time      `json:"date_from,omitzero"`
	DateTo          time.Time      `json:"date_to,omitzero"`
	FirstLabelOnly  bool           `json:"gmail_first_label_only,omitempty"`
	SpamAndTrash    bool           `json:"gmail_spam_and_trash,omitempty"`
	ItemTypes       []string       `json:"item_types"`
	Closed          bool           `json:"closed"`
	Created         time.Time      `json:"created"`
	ItemCount       int            `json:"item_count"`
	StatusBreakdown map[string]int `json:"status_breakdown,omitempty"`
	// PreflightLimits are the project's own limits for pre-flight, when set.
	PreflightLimits *Limits `json:"preflight_limits,omitempty"`
}

func projectOut(p store.Project) Project {
	return Project{ID: p.ID, CustomerID: p.CustomerID, EngagementID: p.EngagementID, Name: p.Name, Kind: p.Kind, SourceID: p.SourceID, DestID: p.DestID,
		MaxConcurrent: p.MaxConcurrent, MaxErrors: p.MaxErrors, DoNotRetry: p.DoNotRetry, Include: p.Include, Exclude: p.Exclude,
		DateFrom: p.DateFrom, DateTo: p.DateTo, FirstLabelOnly: p.FirstLabelOnly, SpamAndTrash: p.SpamAndTrash, ItemTypes: p.ItemTypes, Closed: p.Closed, Created: p.Created,
		ItemCount: p.ItemCount, StatusBreakdown: p.StatusBreakdown, PreflightLimits: limitsPtr(p.Limits)}
}

func projectsOut(ps []store.Project) []Project {
	out := make([]Project, 0, len(ps))
	for _, p := range ps {
		out = append(out, projectOut(p))
	}
	return out
}

// Item is one mailbox pair of a project. Its credentials never leave the server.
type Item struct {
	ID          int64     `json:"id"`
	ProjectID   int64     `json:"project_id"`
	Source      string    `json:"source"`
	Dest        string    `json:"destination"`
	SourceLogin string    `json:"source_login,omitempty"`
	DestLogin   string    `json:"destination_login,omitempty"`
	Status      string    `json:"status"`
	LastPass    string    `json:"last_pass,omitempty"`
	Errors      int       `json:"error_count"`
	Workloads   []string  `json:"workloads"`
	Updated     time.Time `json:"updated"`
}

func itemOut(it store.Item) Item {
	w := it.Workloads
	if len(w) == 0 {
		w = []string{store.WorkloadMail}
	}
	return Item{ID: it.ID, ProjectID: it.ProjectID, Source: it.Source, Dest: it.Dest, SourceLogin: it.SourceLogin, DestLogin: it.DestLogin,
		Status: it.Status, LastPass: it.LastPass, Errors: it.Errors, Workloads: w, Updated: it.Updated}
}

func itemsOut(its []store.Item) []Item {
	out := make([]Item, 0, len(its))
	for _, it := range its {
		out = append(out, itemOut(it))
	}
	return out
}

// Run is one pass over an item's mailbox.
type Run struct {
	ID           int64     `json:"id"`
	Pass         string    `json:"pass"`
	Started      time.Time `json:"started"`
	Ended        time.Time `json:"ended,omitzero"`
	Status       string    `json:"status"`
	Error        string    `json:"error,omitempty"`
	Copied       int64     `json:"copied"`
	CopiedBytes  int64     `json:"copied_bytes"`
	Skipped      int64     `json:"skipped"`
	Failed       int64     `json:"failed"`
	FailedBytes  int64     `json:"failed_bytes"`
	FlagsUpdated int64     `json:"flags_updated"`
	MBPerHour    float64   `json:"mb_per_hour"`
	ItemsPerHour float64   `json:"items_per_hour"`
	Worker       string    `json:"worker,omitempty"`
}

func runOut(h store.Run) Run {
	return Run{ID: h.ID, Pass: h.Pass, Started: h.Started, Ended: h.Ended, Status: h.Status, Error: h.Error,
		Copied: h.Copied, CopiedBytes: h.CopiedBytes, Skipped: h.Skipped, Failed: h.Failed, FailedBytes: h.FailedBytes,
		FlagsUpdated: h.FlagsUpdated, MBPerHour: h.MBPerHour(), ItemsPerHour: h.ItemsPerHour(), Worker: h.Worker}
}

// Failure is a message (or, with uid 0, the whole mailbox) that could not be copied.
type Failure struct {
	Folder     string    `json:"folder,omitempty"`
	UID        uint32    `json:"uid"`
	Subject    string    `json:"subject,omitempty"`
	Size       int64     `json:"size,omitempty"`
	Pass       string    `json:"pass"`
	Temporary  bool      `json:"temporary"`
	ServerText string    `json:"server_text,omitempty"`
	Hint       string    `json:"hint,omitempty"`
	At         time.Time `json:"at,omitzero"`
}

func failureOut(f store.Failure) Failure {
	return Failure{Folder: f.Folder, UID: f.UID, Subject: f.Subject, Size: f.Size, Pass: f.Pass,
		Temporary: f.Temporary, ServerText: f.ServerText, Hint: f.Hint, At: f.At}
}

// FolderProgress is what was copied of one source folder.
type FolderProgress struct {
	Source      string `json:"source"`
	Dest        string `json:"destination"`
	Copied      int64  `json:"copied"`
	CopiedBytes int64  `json:"copied_bytes"`
	Failed      int64  `json:"failed"`
}

// ItemDetail is an item with its pass history, errors and folders.
type ItemDetail struct {
	Item
	History        []Run             `json:"history"`
	Errors         []Failure         `json:"errors"`
	Folders        []FolderProgress  `json:"folders"`
	WorkloadErrors []WorkloadFailure `json:"workload_errors"`
}

// WorkloadFailure is a calendar object, task or contact the last pass
// could not copy.
type WorkloadFailure struct {
	Workload   string `json:"workload"`
	Collection string `json:"collection"`
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Date       string `json:"date,omitempty"`
	Error      string `json:"error"`
	Action     string `json:"action"`
}

func itemDetailOut(d *projects.ItemDetail) ItemDetail {
	out := ItemDetail{Item: itemOut(d.Item), History: []Run{}, Errors: []Failure{}, Folders: []FolderProgress{}, WorkloadErrors: []WorkloadFailure{}}
	for _, f := range d.WorkloadFailures {
		out.WorkloadErrors = append(out.WorkloadErrors, WorkloadFailure(f))
	}
	for _, h := range d.History {
		out.History = append(out.History, runOut(h))
	}
	for _, f := range d.Failures {
		out.Errors = append(out.Errors, failureOut(f))
	}
	for _, f := range d.Folders {
		out.Folders = append(out.Folders, FolderProgress{Source: f.Source, Dest: f.Dest, Copied: f.Copied, CopiedBytes: f.CopiedBytes, Failed: f.Failed})
	}
	return out
}

// Rate is how fast mail moved over a span: megabytes (10^6 bytes),
// messages and mailboxes per hour, and the totals they come from.
type Rate struct {
	MBPerHour        float64 `json:"mb_per_hour"`
	MessagesPerHour  float64 `json:"messages_per_hour"`
	MailboxesPerHour float64 `json:"mailboxes_per_hour"`
	Bytes            int64   `json:"bytes"`
	Messages         int64   `json:"messages"`
	Mailboxes        int     `json:"mailboxes"`
	SpanSeconds      float64 `json:"span_seconds"`
}

func rateOut(r projects.Rate) Rate {
	return Rate{MBPerHour: r.MBPerHour, MessagesPerHour: r.MessagesPerHour, MailboxesPerHour: r.MailboxesPerHour,
		Bytes: r.Bytes, Messages: r.Messages, Mailboxes: r.Mailboxes, SpanSeconds: r.Span.Seconds()}
}

// WorkerThroughput is one worker process's share of a project's throughput.
type WorkerThroughput struct {
	Worker   string `json:"worker"`
	Running  int    `json:"running"`
	LastHour Rate   `json:"last_hour"`
	Pass     Rate   `json:"pass"`
}

// HourMB is the megabytes copied in one clock hour.
type HourMB struct {
	Hour time.Time `json:"hour"`
	MB   float64   `json:"mb"`
}

// Throughput is what a project's passes moved: over the last hour, over
// the current pass, per worker, and hour by hour.
type Throughput struct {
	ProjectID         int64              `json:"project_id"`
	At                time.Time          `json:"at"`
	LastHour          Rate               `json:"last_hour"`
	Pass              Rate               `json:"pass"`
	PassName          string             `json:"pass_name,omitempty"`
	PassStarted       time.Time          `json:"pass_started,omitzero"`
	Running           int                `json:"running"`
	MailboxesWithRuns int                `json:"mailboxes_with_runs"`
	Workers           []WorkerThroughput `json:"workers"`
	Hourly            []HourMB           `json:"hourly"`
}

func throughputOut(projectID int64, t *projects.Throughput) Throughput {
	out := Throughput{ProjectID: projectID, At: t.At, LastHour: rateOut(t.LastHour), Pass: rateOut(t.Pass), PassName: t.PassName,
		PassStarted: t.PassStarted, Running: t.Running, MailboxesWithRuns: t.Mailboxes, Workers: []WorkerThroughput{}, Hourly: []HourMB{}}
	for _, w := range t.Workers {
		out.Workers = append(out.Workers, WorkerThroughput{Worker: w.Worker, Running: w.Running, LastHour: rateOut(w.LastHour), Pass: rateOut(w.Pass)})
	}
	for _, h := range t.Hourly {
		out.Hourly = append(out.Hourly, HourMB{Hour: h.Hour, MB: h.MB})
	}
	return out
}
