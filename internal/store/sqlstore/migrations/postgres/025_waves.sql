-- Accepted migration waves (internal/waves plans them from mailbox
-- permissions): when each cuts over, its Pre-stage, its estimate, and
-- whether its passes and engagement events exist (accepting again
-- creates nothing twice).
CREATE TABLE waves (
    id                BIGSERIAL PRIMARY KEY,
    project_id        BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    number            INTEGER NOT NULL,
    name              TEXT NOT NULL,
    cutover           TEXT NOT NULL,
    prestage_at       TEXT NOT NULL,
    older_than_days   INTEGER NOT NULL,
    time_zone         TEXT NOT NULL,
    size_mb           DOUBLE PRECISION NOT NULL DEFAULT 0,
    estimate_seconds  BIGINT NOT NULL DEFAULT 0,
    estimate_note     TEXT NOT NULL DEFAULT '',
    over_limit        TEXT NOT NULL DEFAULT '',
    passes_queued     BOOLEAN NOT NULL DEFAULT FALSE,
    event_id          BIGINT NOT NULL DEFAULT 0,
    go_no_go_event_id BIGINT NOT NULL DEFAULT 0,
    accepted_by       TEXT NOT NULL,
    accepted_at       TEXT NOT NULL,
    UNIQUE (project_id, number)
);

-- A mailbox (item) is in one wave, with its batch (BATCH-n or
-- BATCH-NoDependencies).
CREATE TABLE wave_items (
    wave_id BIGINT NOT NULL REFERENCES waves(id) ON DELETE CASCADE,
    item_id BIGINT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    batch   TEXT NOT NULL,
    PRIMARY KEY (item_id)
);
CREATE INDEX wave_items_wave ON wave_items(wave_id);
