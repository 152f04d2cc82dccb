// Package preflight turns what a pre-flight learns about each mailbox pair
// of a project (engine.SurveyMailbox: sign-in, folder sizes, the folder
// map, the destination's quota and message size limit) into findings
// against the destination's limits, and writes them as CSV. Each finding
// becomes a remediation checklist item of the project's engagement
// (engagements.Service.SyncFindings); projects.Service runs the survey as
// a job and keeps the report.
package preflight

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/mailboxcsv"
	"github.com/ferryhq/ferry/internal/presets"
	"github.com/ferryhq/ferry/internal/store"
)

// Source names pre-flight as the source of its checklist items.
const Source = "preflight"

// The checks, as findings and checklist items name them.
const (
	CheckSourceSignIn   = "source-sign-in"
	CheckDestSignIn     = "destination-mailbox"
	CheckSurvey         = "survey"
	CheckQuota          = "quota"
	CheckMessageSize    = "message-size"
	CheckFolderCollides = "folder-collides"
	CheckFolderItems    = "folder-items"
	CheckFolderDepth    = "folder-depth"
	CheckFolderName     = "folder-name-length"
	CheckFolderPath     = "folder-path-length"
)

// Finding is one problem pre-flight found for a mailbox.
type Finding struct {
	ItemID   int64  `json:"item_id"`
	Mailbox  string `json:"mailbox"` // the source mailbox
	Check    string `json:"check"`
	Severity string `json:"severity"` // low, medium, high, critical (the checklist's)
	Found    string `json:"found"`
	Action   string `json:"action"`
	// Key names the finding within the project: the same problem found
	// again has the same key.
	Key string `json:"key"`
}

// Title is the checklist item's title.
func (f Finding) Title() string {
	return fmt.Sprintf("%s: %s", f.Mailbox, f.Found)
}

// MailboxReport is what pre-flight learnt about one item.
type MailboxReport struct {
	ItemID      int64         `json:"item_id"`
	Mailbox     string        `json:"mailbox"`
	Destination string        `json:"destination"`
	Folders     int           `json:"folders"`
	Messages    int64         `json:"messages"`
	Bytes       int64         `json:"bytes"`
	SizeFrom    string        `json:"size_from,omitempty"` // STATUS SIZE or RFC822.SIZE
	Quota       *engine.Quota `json:"quota,omitempty"`
	Findings    int           `json:"findings"`
}

// Report is one pre-flight run's result.
type Report struct {
	Limits    store.Limits    `json:"limits"`
	Mailboxes []MailboxReport `json:"mailboxes"`
	Findings  []Finding       `json:"findings"`
	Messages  int64           `json:"messages"`
	Bytes     int64           `json:"bytes"`
	// Throughput measured on this project so far (its current pass), and
	// what it makes of the source's size; zero when nothing ran yet.
	ThroughputPass string  `json:"throughput_pass,omitempty"`
	MBPerHour      float64 `json:"mb_per_hour"`
	ItemsPerHour   float64 `json:"items_per_hour"`
	EstimateHours  float64 `json:"estimate_hours,omitempty"`
}

// Limits are the destination's limits for a project: its type's preset,
// then what the endpoint sets (its message size, its limits), then the
// project's.
func Limits(dst store.Endpoint, p store.Project) store.Limits {
	sys, _ := presets.Lookup(dst.Type)
	l := store.Limits{MaxMessageSize: sys.MaxMessageSize, MaxFolderItems: sys.MaxFolderItems, MaxFolderDepth: sys.MaxFolderDepth,
		MaxFolderNameLength: sys.MaxFolderNameLength, MaxFolderPathLength: sys.MaxFolderPathLength}
	l = l.Over(store.Limits{MaxMessageSize: dst.MaxMessageSize})
	return l.Over(dst.Limits).Over(p.Limits)
}

// Check turns one mailbox's survey into findings against the limits.
func Check(it store.Item, sv *engine.Survey, lim store.Limits) []Finding {
	var out []Finding
	add := func(check, severity, subject, found, action string) {
		out = append(out, Finding{ItemID: it.ID, Mailbox: it.Source, Check: check, Severity: severity, Found: found, Action: action,
			Key: strings.ToLower(it.Source) + "|" + check + "|" + subject})
	}
	if sv.SourceErr != nil {
		add(CheckSourceSignIn, "critical", "", "Ferry cannot sign in to the source mailbox: "+sv.SourceErr.Error(),
			orDefault(sv.SourceErr.Hint, "check the source login, the administrator's right to act for the mailbox, and that the mailbox exists"))
	}
	if sv.DestErr != nil {
		add(CheckDestSignIn, "critical", "", "the destination mailbox "+it.Dest+" cannot be signed in to (missing, not licensed, or no right to act for it): "+sv.DestErr.Error(),
			"create and license the destination mailbox, and give the migration account the right to act for it (Exchange: ApplicationImpersonation or FullAccess); if it exists, check the destination login")
	}
	if sv.SourceErr != nil || sv.DestErr != nil {
		return out
	}
	if q := sv.Quota; q != nil && sv.Bytes > q.Limit-q.Usage {
		add(CheckQuota, "high", "", fmt.Sprintf("the source holds %s but the destination's quota leaves %s (%s used of %s)",
			mb(sv.Bytes), mb(max(q.Limit-q.Usage, 0)), mb(q.Usage), mb(q.Limit)),
			"raise the destination mailbox's quota (or its licence), or archive mail at the source before the migration")
	}
	for _, u := range sv.Unreadable {
		add(CheckSurvey, "medium", u.Path, fmt.Sprintf("folder %s cannot be read at the source: %v", u.Path, u.Err),
			"fix the folder's rights at the source, or leave it out with a folder exclude; a pass would report it as failed")
	}
	for _, o := range sv.Oversized {
		add(CheckMessageSize, "medium", o.Folder+"|"+strconv.FormatUint(uint64(o.UID), 10),
			fmt.Sprintf("message %q in %s (UID %d) is %s, over the destination's limit of %s", o.Subject, o.Folder, o.UID, mb(o.Size), mb(sv.DestMaxMessage)),
			"move its attachments elsewhere (OneDrive, SharePoint) and remove the message at the source, raise the destination's message size limit, or waive this item: Ferry reports the message and migrates the rest")
	}
	for _, f := range sv.Folders {
		if f.Renamed != "" {
			add(CheckFolderCollides, "low", f.Path, fmt.Sprintf("folder %s goes to %s: %s", f.Path, f.DestPath, f.Renamed),
				"rename one of the folders at the source if the new name will confuse the user, or waive this item")
		}
		if lim.MaxFolderItems > 0 && f.Messages > lim.MaxFolderItems {
			add(CheckFolderItems, "high", f.Path, fmt.Sprintf("folder %s holds %d messages; the destination takes at most %d in one folder", f.Path, f.Messages, lim.MaxFolderItems),
				"split the folder at the source (by year, for example) before the migration")
		}
		if lim.MaxFolderDepth > 0 && f.Depth > lim.MaxFolderDepth {
			add(CheckFolderDepth, "high", f.Path, fmt.Sprintf("folder %s is %d levels deep; the destination takes at most %d", f.Path, f.Depth, lim.MaxFolderDepth),
				"move the folder higher up the hierarchy at the source, or leave it out with a folder exclude")
		}
		if lim.MaxFolderNameLength > 0 && f.LongestName > lim.MaxFolderNameLength {
			add(CheckFolderName, "high", f.Path, fmt.Sprintf("folder %s has a name of %d characters; the destination takes at most %d", f.Path, f.LongestName, lim.MaxFolderNameLength),
				"rename the folder at the source")
		}
		if n := len([]rune(f.DestPath)); lim.MaxFolderPathLength > 0 && n > lim.MaxFolderPathLength {
			add(CheckFolderPath, "high", f.Path, fmt.Sprintf("folder %s would be %d characters long at the destination (%s); the destination takes at most %d", f.Path, n, f.DestPath, lim.MaxFolderPathLength),
				"shorten the folder's name or its parents' at the source, or leave it out with a folder exclude")
		}
	}
	return out
}

// SurveyFailed is the finding for a mailbox whose survey failed after sign-in.
func SurveyFailed(it store.Item, err error) Finding {
	return Finding{ItemID: it.ID, Mailbox: it.Source, Check: CheckSurvey, Severity: "medium", Key: strings.ToLower(it.Source) + "|" + CheckSurvey + "|",
		Found:  "pre-flight could not read the mailbox: " + err.Error(),
		Action: "fix what the server says (rights, a folder that cannot be opened), then run pre-flight again"}
}

// ChecklistItem is the checklist item for a finding.
func (f Finding) ChecklistItem(engagementID, projectID int64) store.ChecklistItem {
	return store.ChecklistItem{EngagementID: engagementID, Title: f.Title(), Severity: f.Severity, State: "open", Source: Source,
		ProjectID: projectID, Mailbox: f.Mailbox, Check: f.Check, Found: f.Found, Action: f.Action, Key: f.Key}
}

// WriteCSV writes findings as CSV, cells made safe for spreadsheets.
func WriteCSV(w io.Writer, findings []Finding) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"Mailbox", "Check", "Severity", "Found", "Action"})
	for _, f := range findings {
		cw.Write([]string{mailboxcsv.SafeCell(f.Mailbox), f.Check, f.Severity, mailboxcsv.SafeCell(f.Found), mailboxcsv.SafeCell(f.Action)})
	}
	cw.Flush()
	return cw.Error()
}

func orDefault(s, d string) string {
	if s != "" {
		return s
	}
	return d
}

// mb says a size in MB (10^6 bytes) as people read it.
func mb(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}
