package store

import "context"

// Gauges is what the metrics read from the store at each scrape
// (internal/metrics): facts of the database, the same whichever process
// is asked.
type Gauges interface {
	// ItemCounts counts the items of open projects by project, status and
	// last pass.
	ItemCounts(ctx context.Context) ([]ItemCount, error)
	// LeaseCounts counts the live leases (running migrations) by project.
	LeaseCounts(ctx context.Context) (map[int64]int, error)
}

// ItemCount is how many items of a project have a status after a pass
// ("" when no pass ran yet).
type ItemCount struct {
	ProjectID int64
	Status    string
	LastPass  string
	Count     int
}
