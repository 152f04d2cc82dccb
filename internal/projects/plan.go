package projects

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/fault"
	"github.com/ferryhq/ferry/internal/imapconn"
	"github.com/ferryhq/ferry/internal/store"
)

// PassNames are the passes in the migration service's words.
var PassNames = map[string]string{"verify": "Verify credentials", "trial": "Trial", "prestage": "Pre-stage", "full": "Full Migration", "retry": "Retry errors"}

// PassWhat says what each pass does, for the person about to start it.
var PassWhat = map[string]string{
	"verify":   "Verify credentials logs in to the source and the destination of each mailbox and copies nothing. Run it first: a mailbox whose login is refused is fixed before any mail moves.",
	"trial":    "Trial copies the first few messages of each folder, so you can check folders and messages at the destination before the real passes.",
	"prestage": "Pre-stage copies the messages older than the number of days you give (90 by default) while users keep working: they lose nothing. The Full pass after the MX cutover brings the rest.",
	"full":     "Full copies everything not copied yet. Use it for a single-pass (big bang) migration, or after a Pre-stage pass; run it after the MX cutover so that no mail is missed.",
	"retry":    "Retry errors tries again the messages and folders that failed in earlier passes, and nothing else.",
}

// CannotMigrate is a selected item a pass leaves out, and why.
type CannotMigrate struct {
	ItemID int64  `json:"item_id"`
	Source string `json:"source"`
	Reason string `json:"reason"`
	// Queued: false for an item the pass still queues (selected by hand:
	// it is listed as a warning only).
	Excluded bool `json:"excluded"`
}

// PassPlan is what a pass would do, before it starts: the summary a
// person confirms (PlanPass), and what StartPass then does.
type PassPlan struct {
	Pass string `json:"pass"`
	Name string `json:"name"`
	What string `json:"what"`
	// Selected is how many items the selection holds.
	Selected int `json:"selected"`
	// Migrate are the items the pass queues.
	Migrate []int64 `json:"migrate"`
	// Cannot are the selected items it leaves out (Excluded) or warns of.
	Cannot []CannotMigrate `json:"cannot_migrate"`
	// Excluded is how many of Cannot are left out.
	Excluded int `json:"excluded"`
	// Estimate is how long the items should take at the speed measured so
	// far (0 when nothing is measured yet); Basis says from what.
	Estimate time.Duration `json:"estimate_seconds"`
	Basis    string        `json:"basis"`
	// NoItems: the project has no mailbox yet; no pass can start.
	NoItems bool `json:"no_items"`
}

// credentialsFailed says whether an item's last failure was a refused login.
func (s *Service) credentialsFailed(ctx context.Context, it store.Item) (bool, error) {
	if it.Status != store.StatusFailed || it.MailboxID == 0 {
		return false, nil
	}
	fs, err := s.Store.Failures(ctx, it.MailboxID)
	if err != nil {
		return false, err
	}
	for _, f := range fs {
		if f.UID == 0 && f.Folder == "" && strings.HasPrefix(f.ServerText, imapconn.LoginRefused) {
			return true, nil
		}
	}
	return false, nil
}

// PlanPass says what StartPass would do with the request: which selected
// items it queues, which it leaves out and why, and how long it should
// take. An item whose same pass is queued or running is left out; so is an
// item whose login was refused, when the selection is all items or a
// status (fix its login or password first); picked by hand it is queued,
// with a warning.
func (s *Service) PlanPass(ctx context.Context, projectID int64, req PassRequest) (*PassPlan, error) {
	p, pass, err := s.passProject(ctx, projectID, req.Pass)
	if err != nil {
		return nil, err
	}
	return s.plan(ctx, p, string(pass), req.Selection)
}

// passProject is the project a pass would start in, once the person may
// start passes there, and the pass named.
func (s *Service) passProject(ctx context.Context, projectID int64, name string) (store.Project, engine.Pass, error) {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return p, "", err
	}
	if err := authorize(ctx, auth.ActionStartPass, p.CustomerID); err != nil {
		return p, "", err
	}
	pass, err := engine.ParsePass(name)
	if err != nil {
		return p, "", fault.InvalidField("pass", "%v", err)
	}
	return p, pass, nil
}

func (s *Service) plan(ctx context.Context, p store.Project, pass string, sel Selection) (*PassPlan, error) {
	pl := &PassPlan{Pass: pass, Name: PassNames[pass], What: PassWhat[pass], Migrate: []int64{}, Cannot: []CannotMigrate{}}
	if p.ItemCount == 0 {
		pl.NoItems = true
		return pl, fault.InvalidField("item", "the project has no mailbox yet: add mailboxes first")
	}
	items, err := s.selectItems(ctx, p.ID, sel)
	if err != nil {
		return pl, err
	}
	pl.Selected = len(items)
	byHand := len(sel.ItemIDs) > 0
	for _, it := range items {
		switch {
		case (it.Status == store.StatusQueued || it.Status == store.StatusRunning) && it.LastPass == pass:
			pl.Cannot = append(pl.Cannot, CannotMigrate{ItemID: it.ID, Source: it.Source, Excluded: true,
				Reason: fmt.Sprintf("a pass of it is already %s", strings.ToLower(it.Status))})
			pl.Excluded++
			continue
		case pass != "verify":
			failed, err := s.credentialsFailed(ctx, it)
			if err != nil {
				return pl, err
			}
			if failed && !byHand {
				pl.Cannot = append(pl.Cannot, CannotMigrate{ItemID: it.ID, Source: it.Source, Excluded: true,
					Reason: "its login was refused: fix its login or password, then select it by hand (or run Verify credentials)"})
				pl.Excluded++
				continue
			}
			if failed {
				pl.Cannot = append(pl.Cannot, CannotMigrate{ItemID: it.ID, Source: it.Source,
					Reason: "its last login was refused: it is queued, and fails again unless its login or password was fixed"})
			}
		}
		pl.Migrate = append(pl.Migrate, it.ID)
	}
	t, err := s.Store.ProjectRuns(ctx, p.ID)
	if err != nil {
		return pl, err
	}
	pl.Estimate, pl.Basis = estimate(throughputOf(t, s.now()), pass, len(pl.Migrate), p.MaxConcurrent)
	return pl, nil
}

// estimate is how long n mailboxes should take at the speed measured so
// far: the current pass's mailboxes per hour when it is this pass, else
// the last hour's, else any pass's.
func estimate(t *Throughput, pass string, n, maxConcurrent int) (time.Duration, string) {
	if n == 0 {
		return 0, "no mailbox to migrate"
	}
	type basis struct {
		rate float64
		what string
	}
	var cands []basis
	if t.PassName == pass {
		cands = append(cands, basis{t.Pass.MailboxesPerHour, "the current " + PassNames[pass] + " pass"})
	}
	cands = append(cands, basis{t.LastHour.MailboxesPerHour, "the last hour"})
	if t.PassName != pass && t.PassName != "" {
		cands = append(cands, basis{t.Pass.MailboxesPerHour, "the last " + PassNames[t.PassName] + " pass"})
	}
	for _, c := range cands {
		if c.rate > 0 {
			d := time.Duration(float64(n) / c.rate * float64(time.Hour))
			if d > time.Second {
				d = d.Round(time.Second)
			}
			return max(d, time.Millisecond), fmt.Sprintf("%.1f mailboxes/hr measured over %s", c.rate, c.what)
		}
	}
	return 0, fmt.Sprintf("no pass has finished a mailbox yet, so no speed is measured (up to %d mailboxes run at once)", maxConcurrent)
}

// Wait is why a Queued item waits, and until when if that is known: its
// words are Why followed by the time At ("scheduled for" 10:00).
type Wait struct {
	Why string    `json:"why"`
	At  time.Time `json:"at,omitzero"`
}

// String is the reason in words, with the time in RFC 3339.
func (w Wait) String() string {
	if w.At.IsZero() {
		return w.Why
	}
	return w.Why + " " + w.At.Format(time.RFC3339)
}

// WaitReasons says why each Queued item waits: its pass is scheduled, the
// project's limit of concurrent migrations is reached, a daily transfer
// limit is spent, or it waits for a worker to pick it up. Items that are
// not Queued have none ("").
func (s *Service) WaitReasons(ctx context.Context, projectID int64, items []store.Item) (map[int64]Wait, error) {
	p, err := s.Store.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := authorize(ctx, auth.ActionReadProject, p.CustomerID); err != nil {
		return nil, err
	}
	out := map[int64]Wait{}
	var jobIDs []int64
	for _, it := range items {
		if it.Status == store.StatusQueued && it.JobID != 0 {
			jobIDs = append(jobIDs, it.JobID)
		}
	}
	if len(jobIDs) == 0 {
		return out, nil
	}
	if s.Queue == nil {
		return out, nil
	}
	jobInfo, err := s.Queue.Jobs(ctx, jobIDs)
	if err != nil {
		return nil, err
	}
	leases, err := s.Store.Leases(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	full := len(leases) >= p.MaxConcurrent
	limitFull := fmt.Sprintf("the project's limit of %d concurrent migrations is reached (%d running): it starts when one ends", p.MaxConcurrent, len(leases))
	var limit int64 = -1
	now := s.now()
	for _, it := range items {
		if it.Status != store.StatusQueued || it.JobID == 0 {
			continue
		}
		j, ok := jobInfo[it.JobID]
		if !ok {
			continue
		}
		switch {
		case j.State == "scheduled" && !j.Snoozed:
			out[it.ID] = Wait{Why: "scheduled for", At: j.ScheduledAt}
		case j.State == "scheduled" || j.State == "retryable":
			if full {
				out[it.ID] = Wait{Why: limitFull}
				continue
			}
			if limit < 0 {
				src, _ := s.Store.Endpoint(ctx, p.SourceID)
				dst, _ := s.Store.Endpoint(ctx, p.DestID)
				limit = transferLimit(src, dst)
			}
			if limit > 0 && s.usedToday(ctx, it, now) >= limit {
				out[it.ID] = Wait{Why: fmt.Sprintf("the daily transfer limit of %s is reached; continues at", engine.HumanBytes(limit)), At: j.ScheduledAt}
				continue
			}
			out[it.ID] = Wait{Why: "waits to try again at", At: j.ScheduledAt}
		case full:
			out[it.ID] = Wait{Why: limitFull}
		case j.State == "running":
			out[it.ID] = Wait{Why: "a worker has taken it and is starting it"}
		default:
			out[it.ID] = Wait{Why: "waiting for a worker: none has picked it up yet (is `ferry serve` or `ferry worker` running?)"}
		}
	}
	return out, nil
}

// usedToday is the bytes the item's runs copied in the last 24 hours.
func (s *Service) usedToday(ctx context.Context, it store.Item, now time.Time) int64 {
	runs, err := s.Store.ItemRuns(ctx, it.ID)
	if err != nil {
		return 0
	}
	var used int64
	for _, r := range runs {
		if r.Started.After(now.Add(-24 * time.Hour)) {
			used += r.CopiedBytes
		}
	}
	return used
}

// Migrated is what an item's passes have copied, all passes together
// (running ones as far as they got), and the progress of its running pass.
type Migrated struct {
	Messages int64 `json:"messages"`
	Bytes    int64 `json:"bytes"`
	// Running: a pass of it runs now; Done and Of are its bytes copied and
	// planned so far (Of grows while it plans folder after folder).
	Running bool  `json:"running"`
	Done    int64 `json:"done_bytes"`
	Of      int64 `json:"of_bytes"`
}

// Percent is the running pass's progress, 0 to 100.
func (m Migrated) Percent() float64 {
	if m.Of <= 0 {
		return 0
	}
	return min(100, float64(m.Done)*100/float64(m.Of))
}

// MigratedOf adds up runs per item (store.ProjectRuns).
func MigratedOf(runs []store.ItemRun) map[int64]Migrated {
	out := map[int64]Migrated{}
	latest := map[int64]store.ItemRun{}
	for _, r := range runs {
		m := out[r.ItemID]
		m.Messages += r.Copied
		m.Bytes += r.CopiedBytes
		out[r.ItemID] = m
		if l, ok := latest[r.ItemID]; !ok || r.ID > l.ID {
			latest[r.ItemID] = r
		}
	}
	for id, r := range latest {
		if running(r.Run) {
			m := out[id]
			m.Running, m.Done, m.Of = true, r.CopiedBytes, r.ToCopyBytes
			out[id] = m
		}
	}
	return out
}

// MeasureThroughput is Throughput from runs already read (the portal's
// live updates, which read the store once for every watcher).
func MeasureThroughput(runs []store.ItemRun, now time.Time) *Throughput {
	return throughputOf(runs, now)
}
