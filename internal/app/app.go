// Package app wires Ferry's parts together for the commands that run the
// migration service: the store, the key ring, the job queue and the service.
package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ferryhq/ferry/internal/audit"
	"github.com/ferryhq/ferry/internal/auth"
	"github.com/ferryhq/ferry/internal/customers"
	"github.com/ferryhq/ferry/internal/dnscheck"
	"github.com/ferryhq/ferry/internal/engagements"
	"github.com/ferryhq/ferry/internal/engine"
	"github.com/ferryhq/ferry/internal/jobs"
	"github.com/ferryhq/ferry/internal/metrics"
	"github.com/ferryhq/ferry/internal/playbook"
	"github.com/ferryhq/ferry/internal/preflight"
	"github.com/ferryhq/ferry/internal/projects"
	"github.com/ferryhq/ferry/internal/secrets"
	"github.com/ferryhq/ferry/internal/store"
	"github.com/ferryhq/ferry/internal/store/sqlstore"
)

// Config says where things are.
type Config struct {
	// Database is a SQLite file path or a postgres:// URL; "" is the default file.
	Database string
	// KeyFile holds the credential key (unless FERRY_SECRET_KEY is set); "" is next to the default state.
	KeyFile string
	// Jobs tunes the queue; Jobs.InsertOnly for commands that only queue work.
	Jobs jobs.Options
	// Engine holds defaults for every migration run.
	Engine engine.Options
	// LeaseTTL: see projects.Service.
	LeaseTTL time.Duration
	// PlaybookFile replaces the default playbook (FERRY_PLAYBOOK when empty).
	PlaybookFile string
	// Name names this process in leases and metrics; "" is host:pid.
	Name string
	// DNSResolver is the name server (host:port) the DNS checks and the MX
	// watch ask for domains without their own; "" is /etc/resolv.conf's.
	DNSResolver string
	// NoMXWatch leaves the MX watch's periodic job out of this process's
	// queue (it is in every serve and worker otherwise; InsertOnly has none).
	NoMXWatch bool
}

// LoadPlaybook reads a playbook file, or returns the default one for "".
func LoadPlaybook(path string) (*playbook.Playbook, error) {
	if path == "" {
		return playbook.Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the playbook: %w", err)
	}
	return playbook.Load(path, data)
}

// StateDir is where Ferry keeps its files by default.
func StateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "ferry")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "ferry")
	}
	return "."
}

// DefaultDatabase is the embedded SQLite file.
func DefaultDatabase() string { return filepath.Join(StateDir(), "ferry.db") }

// DefaultKeyFile is the credential key's file.
func DefaultKeyFile() string { return filepath.Join(StateDir(), "secret.key") }

// KeyFileFor is the default credential key file for a database: next to a
// SQLite file, or in the state folder with PostgreSQL ("" is the default database).
func KeyFileFor(database string) string {
	if database == "" {
		database = DefaultDatabase()
	}
	if IsPostgres(database) {
		return DefaultKeyFile()
	}
	return filepath.Join(filepath.Dir(strings.TrimPrefix(database, "sqlite://")), "secret.key")
}

// App is an opened Ferry. The doors (command line, API, portal) change
// things only through the services (Customers, People, Service,
// Engagements, DNS), which authorize, validate, write and audit; Store is
// for reading (the portal and the API take it as read-only interfaces).
// The services write through the store wrapped in the audit log, which no
// door holds.
type App struct {
	Store *sqlstore.Store
	// Customers manages customers and endpoints.
	Customers *customers.Service
	// People manages accounts, sign-in and API tokens.
	People  *auth.Service
	Keys    *secrets.Keyring
	Queue   jobs.Queue
	Service *projects.Service
	// Engagements runs onboarding from the default playbook.
	Engagements *engagements.Service
	// DNS keeps engagements' domains, checks their records and runs the
	// MX watch that starts the cutover's final pass.
	DNS *dnscheck.Service
	// Metrics counts this process's work and reads the database's gauges.
	Metrics *metrics.Metrics
	pool    *pgxpool.Pool
}

// IsPostgres reports whether a database string names PostgreSQL.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open opens the store, the key ring and the queue.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Database == "" {
		cfg.Database = DefaultDatabase()
	}
	if cfg.KeyFile == "" {
		cfg.KeyFile = KeyFileFor(cfg.Database)
	}
	st, err := sqlstore.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	a := &App{Store: st}
	if a.Keys, err = secrets.LoadKeyring(cfg.KeyFile); err != nil {
		st.Close()
		return nil, fmt.Errorf("credential key: %w", err)
	}
	if cfg.PlaybookFile == "" {
		cfg.PlaybookFile = os.Getenv("FERRY_PLAYBOOK")
	}
	pb, err := LoadPlaybook(cfg.PlaybookFile)
	if err != nil {
		st.Close()
		return nil, err
	}
	// Changes made on behalf of a person (a principal in the context) go
	// into the audit log; the engine's own writes pass straight through.
	audited := audit.Wrap(st)
	a.Engagements = &engagements.Service{Store: audited, Playbook: pb}
	a.Service = &projects.Service{Store: audited, Sealer: a.Keys, LeaseTTL: cfg.LeaseTTL, EngineOptions: cfg.Engine,
		MigrationGate: a.Engagements.CheckMigration, PassEnded: a.Engagements.PassEnded, Owner: cfg.Name,
		PreflightDone: func(ctx context.Context, p store.Project, found []store.ChecklistItem) error {
			if p.EngagementID == 0 {
				return nil // the findings stay with the run's report
			}
			_, err := a.Engagements.SyncFindings(ctx, p.EngagementID, p.ID, preflight.Source, found)
			return err
		}}
	// The MX watch runs as the queue's periodic job; it queues passes on
	// the queue it is part of (set below).
	resolver, err := dnscheck.CheckResolver(cfg.DNSResolver)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("--dns-resolver: %w", err)
	}
	a.DNS = &dnscheck.Service{Store: audited, Resolver: resolver}
	if !cfg.Jobs.InsertOnly && !cfg.NoMXWatch {
		cfg.Jobs.MXWatch = a.DNS
	}
	if !cfg.Jobs.InsertOnly {
		cfg.Jobs.Preflight = a.Service
	}
	if IsPostgres(cfg.Database) {
		if a.pool, err = pgxpool.New(ctx, cfg.Database); err != nil {
			st.Close()
			return nil, fmt.Errorf("connect the job queue: %w", err)
		}
		a.Queue, err = jobs.NewPostgres(ctx, a.pool, a.Service, cfg.Jobs)
	} else {
		a.Queue, err = jobs.NewSQLite(ctx, st.DB(), a.Service, cfg.Jobs)
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Service.Queue = a.Queue
	a.DNS.Queue = a.Queue
	a.Customers = customers.New(st, a.Keys, a.Service)
	a.People = &auth.Service{Store: st}
	a.Metrics = metrics.New(ProcessName(cfg.Name), metrics.Sources{Store: st, Jobs: a.Queue.(jobs.Health)})
	a.Service.Observe = a.Metrics.Project
	return a, nil
}

// Close releases everything.
func (a *App) Close() {
	if a.pool != nil {
		a.pool.Close()
	}
	if a.Store != nil {
		a.Store.Close()
	}
}
