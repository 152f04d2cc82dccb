// Package store defines what Ferry remembers between runs. The engine and
// every other part reach storage only through its interfaces, so that the
// embedded SQLite file and a PostgreSQL server are interchangeable. Store
// embeds one interface per area (EngineState, Customers, Endpoints,
// Projects, Items, Leases, Credentials, Engagements, Portal, Audit, DAV,
// Waves, DNS); a package asks for the areas it uses.
package store

import (
	"context"
	"time"

	"github.com/ferryhq/ferry/internal/fault"
)

// ErrNotFound is returned when a record does not exist (kind fault.NotFound).
var ErrNotFound error = &fault.Error{Kind: fault.NotFound, Msg: "not found"}

// ErrMailboxBusy: another run holds the mailbox (LockMailbox); kind fault.Temporary.
var ErrMailboxBusy error = &fault.Error{Kind: fault.Temporary, Msg: "another ferry run is migrating this mailbox"}

// BusyError says which run holds a mailbox. errors.Is(err, ErrMailboxBusy) holds.
type BusyError struct {
	// Holder names the other run: process id, host and since when,
	// e.g. "pid 4242 on mail-01, since 2026-12-07 16:50:36 UTC".
	Holder string
}

func (e *BusyError) Error() string {
	if e.Holder == "" {
		return ErrMailboxBusy.Error()
	}
	return "another ferry run (" + e.Holder + ") is migrating this mailbox"
}

func (e *BusyError) Is(target error) bool { return target == ErrMailboxBusy }

// MailboxKey names one migration: a source mailbox copied to a destination mailbox.
type MailboxKey struct {
	Source      string // e.g. "imaps://alice@old.example:993"
	Destination string
}

// FolderState is what Ferry knows of one source folder and its destination.
type FolderState struct {
	Source         string // source folder name as the server spells it
	SourceValidity uint32 // UIDVALIDITY the UID map belongs to
	Dest           string
	DestValidity   uint32
	// DestScannedUID: every destination UID below it has been looked at and
	// is either mapped or not Ferry's. Messages appended later have UIDs at
	// or above it, so a crash between APPEND and checkpoint is repaired by
	// looking only there.
	DestScannedUID uint32
	// Appending is set while messages are being appended and cleared when
	// the folder's copy ends. Found set, it means a run died mid-copy: the
	// server may still be storing APPENDs that were on their way, so the
	// next run waits for the destination to settle before it matches.
	Appending bool
}

// FolderMapping is where one source folder goes on the destination. It is
// decided the first time the folder is planned and kept, so that a folder
// never changes destination between passes and a folder seen later never
// takes a name another one holds.
type FolderMapping struct {
	Source string // source folder name as the server spells it
	Dest   string
	// Renamed says why Dest is not the source folder's own name translated
	// to the destination (two source folders would meet there, or the
	// destination refused that name); "" when it is.
	Renamed string
}

// Copy records that a source message is in the destination.
type Copy struct {
	SourceUID   uint32
	DestUID     uint32 // 0 when the server did not say (no UIDPLUS)
	Fingerprint []byte
	Flags       string // source flags last written to the destination, sorted, space separated
	Size        int64
}

// Failure is a message that could not be copied; with UID 0, a whole
// folder (Folder set: e.g. the destination refused to create it) or the
// whole mailbox (Folder "").
type Failure struct {
	Folder     string
	UID        uint32
	Subject    string
	Size       int64
	Pass       string
	Temporary  bool
	ServerText string // the server's own words
	Hint       string // what to do
	At         time.Time
}

// FolderProgress is what one folder of a mailbox holds so far.
type FolderProgress struct {
	Source      string `json:"source"`
	Dest        string `json:"destination"`
	Copied      int64  `json:"copied"`
	CopiedBytes int64  `json:"copied_bytes"`
	Failed      int64  `json:"failed"`
}

// Run is the statistics of one pass over one mailbox.
type Run struct {
	ID           int64
	Pass         string
	Started      time.Time
	Ended        time.Time
	Status       string // "completed", "completed with errors", "failed", "stopped"
	Error        string
	Copied       int64
	CopiedBytes  int64
	Skipped      int64 // already in the destination
	Failed       int64
	FailedBytes  int64
	FlagsUpdated int64
	// ToCopy and ToCopyBytes are what the run planned to copy (messages
	// and their size) as far as it has planned: a running run's progress
	// is Copied of ToCopy.
	ToCopy      int64
	ToCopyBytes int64
	// Worker is the process that ran the pass (host:pid, as in its lease);
	// "" for `ferry migrate` and runs from before it was recorded.
	Worker string
	// ItemID is the project item whose pass this is: an item's history is
	// its own runs, not every run of the mailbox state it shares with
	// items of other projects on the same servers. 0 for `ferry migrate`.
	ItemID int64
}

// Duration of the run.
func (r Run) Duration() time.Duration { return r.Ended.Sub(r.Started) }

// MBPerHour is the copy rate in megabytes (10^6 bytes) per hour.
func (r Run) MBPerHour() float64 {
	d := r.Duration().Hours()
	if d <= 0 {
		return 0
	}
	return float64(r.CopiedBytes) / 1e6 / d
}

// ItemsPerHour is the copy rate in messages per hour.
func (r Run) ItemsPerHour() float64 {
	d := r.Duration().Hours()
	if d <= 0 {
		return 0
	}
	return float64(r.Copied) / d
}

// Store is everything Ferry remembers, one interface per area embedded, so
// that a package asks only for the areas it uses (the engine needs its
// state, not the portal's sessions). Implementations must be safe for
// concurrent use and make each call atomic: after a crash at any moment a
// call has either happened whole or not at all.
type Store interface {
	EngineState
	Customers
	Endpoints
	Projects
	Items
	Leases
	Credentials
	Engagements
	Portal
	Audit
	DAV
	Waves
	DNS
	Close() error
}

// EngineState is what the copy engine remembers of a mailbox between runs:
// folders, their UID maps, copies, failures, runs and the mailbox lock.
type EngineState interface {
	// Mailbox returns the id of a migration, creating it on first use.
	Mailbox(ctx context.Context, key MailboxKey) (int64, error)

	// Folder returns the saved state of a source folder, or ErrNotFound.
	Folder(ctx context.Context, mailbox int64, source string) (FolderState, error)
	// SaveFolder stores the folder state. When the validity values differ
	// from what is stored, the folder's copies are forgotten in the same
	// transaction (they belong to another generation of UIDs).
	SaveFolder(ctx context.Context, mailbox int64, f FolderState) error
	// Copies calls fn for every recorded copy of the folder, by source UID.
	Copies(ctx context.Context, mailbox int64, source string, fn func(Copy) error) error
	// CopiesRange calls fn, by source UID, for the recorded copies of the
	// folder whose source UID is in [from, to], so that a large folder can
	// be worked on a window of UIDs at a time.
	CopiesRange(ctx context.Context, mailbox int64, source string, from, to uint32, fn func(Copy) error) error
	// RecordCopies stores copies and clears their failures, in one transaction.
	RecordCopies(ctx context.Context, mailbox int64, source string, copies []Copy) error

	// FolderMap lists the mailbox's folder mappings, by source folder name.
	FolderMap(ctx context.Context, mailbox int64) ([]FolderMapping, error)
	// SaveFolderMap stores mappings, replacing those of the same source
	// folders, in one transaction.
	SaveFolderMap(ctx context.Context, mailbox int64, mappings []FolderMapping) error

	// RecordFailures replaces the failures of the given messages.
	RecordFailures(ctx context.Context, mailbox int64, failures []Failure) error
	// ClearMailboxFailures removes the whole-mailbox failure (UID 0, no folder).
	ClearMailboxFailures(ctx context.Context, mailbox int64) error
	// ClearFolderFailure removes the failure of a whole folder (UID 0, the
	// folder named), once the folder can be copied.
	ClearFolderFailure(ctx context.Context, mailbox int64, folder string) error
	// Failures lists the current failures of a mailbox.
	Failures(ctx context.Context, mailbox int64) ([]Failure, error)

	// StartRun and FinishRun keep pass statistics.
	StartRun(ctx context.Context, mailbox int64, run *Run) error
	FinishRun(ctx context.Context, mailbox int64, run *Run) error
	// ProgressRun records a running run's counts so far (Copied,
	// CopiedBytes, Skipped, Failed, FailedBytes, ToCopy, ToCopyBytes);
	// a run that has finished is left as it is.
	ProgressRun(ctx context.Context, mailbox int64, run *Run) error
	Runs(ctx context.Context, mailbox int64) ([]Run, error)
	// FolderProgress lists a mailbox's folders with what is copied and
	// failed in each, by source folder name.
	FolderProgress(ctx context.Context, mailbox int64) ([]FolderProgress, error)

	// LockMailbox takes a mailbox for one run, so that two runs never copy
	// it at once (whatever process or machine they are in). It does not
	// wait: when another run holds the mailbox it returns a *BusyError.
	// The lock is the operating system's or the database session's, so a
	// process that dies, even by SIGKILL, leaves no mailbox locked.
	// release gives the mailbox back; it is safe to call once.
	LockMailbox(ctx context.Context, mailbox int64) (release func(), err error)
}
