package api

import (
	"context"

	"github.com/ferryhq/ferry/internal/store"
)

// reader is what the handlers read from the store, and all they may: every
// change goes through a service (projects, customers, engagements, DNS),
// which authorizes, validates, writes and audits. The store New is given
// builds the default services; the handlers see it only as a reader.
type reader interface {
	Customers(ctx context.Context) ([]store.Customer, error)
	Customer(ctx context.Context, id int64) (store.Customer, error)
	Endpoints(ctx context.Context, customerID int64) ([]store.Endpoint, error)
	Endpoint(ctx context.Context, id int64) (store.Endpoint, error)
	ProjectsOf(ctx context.Context, customerID int64) ([]store.Project, error)
	Project(ctx context.Context, id int64) (store.Project, error)
	Items(ctx context.Context, projectID int64, f store.ItemFilter) ([]store.Item, int, error)
	Item(ctx context.Context, id int64) (store.Item, error)
}
