package store

import "context"

// DAVObject records one calendar object, task or contact copied between
// two DAV accounts of a migration (package davsync): the object's UID in
// its source collection is the key, so a pass never writes it twice.
type DAVObject struct {
	Collection string // source collection path
	UID        string
	Workload   string // calendar, tasks or contacts, for the counts
	SourcePath string
	SourceETag string // the source version that was copied
	DestPath   string
	DestETag   string // the destination version Ferry wrote
}

// DAV keeps the DAV objects of a migration (MailboxKey with dav: URLs).
type DAV interface {
	// DAVObjects lists the records of one source collection, by UID.
	DAVObjects(ctx context.Context, mailbox int64, collection string) ([]DAVObject, error)
	// SaveDAVObject stores a record, replacing the one with the same
	// collection and UID.
	SaveDAVObject(ctx context.Context, mailbox int64, o DAVObject) error
	// DAVSyncToken returns the source collection's sync token (RFC 6578)
	// after the last complete pass, or "" when there is none.
	DAVSyncToken(ctx context.Context, mailbox int64, collection string) (string, error)
	// SaveDAVSyncToken stores it ("" forgets it).
	SaveDAVSyncToken(ctx context.Context, mailbox int64, collection, token string) error
	// DAVCounts counts a migration's copied objects per workload.
	DAVCounts(ctx context.Context, mailbox int64) (map[string]int, error)
	// SaveDAVFailures replaces a migration's failed objects with those of
	// its last pass; DAVFailures lists them in that order.
	SaveDAVFailures(ctx context.Context, mailbox int64, failures []DAVFailure) error
	DAVFailures(ctx context.Context, mailbox int64) ([]DAVFailure, error)
}

// DAVFailure is one calendar object, task or contact a pass could not
// copy, said so that a person can find it and act.
type DAVFailure struct {
	Workload   string `json:"workload"`
	Collection string `json:"collection"`
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Date       string `json:"date,omitempty"`
	Error      string `json:"error"`
	Action     string `json:"action"`
}
