CREATE TABLE engagements (
    id                   INTEGER PRIMARY KEY,
    customer_id          INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    seats                INTEGER NOT NULL,
    services             TEXT NOT NULL,
    workloads            TEXT NOT NULL,
    hybrid               INTEGER NOT NULL DEFAULT 0,
    playbook             TEXT NOT NULL,
    enterprise_exception TEXT NOT NULL DEFAULT '',
    created              TEXT NOT NULL,
    UNIQUE (customer_id, name)
);
CREATE TABLE engagement_tasks (
    id            INTEGER PRIMARY KEY,
    engagement_id INTEGER NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    task_id       TEXT NOT NULL,
    phase         TEXT NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    party         TEXT NOT NULL,
    mandatory     INTEGER NOT NULL DEFAULT 0,
    services      TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    percent       INTEGER NOT NULL DEFAULT 0,
    notes         TEXT NOT NULL DEFAULT '',
    due           TEXT NOT NULL DEFAULT '',
    retired       INTEGER NOT NULL DEFAULT 0,
    updated       TEXT NOT NULL,
    UNIQUE (engagement_id, task_id)
);
CREATE TABLE task_events (
    id          INTEGER PRIMARY KEY,
    task_row_id INTEGER NOT NULL REFERENCES engagement_tasks(id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    who         TEXT NOT NULL,
    field       TEXT NOT NULL,
    before      TEXT NOT NULL,
    after       TEXT NOT NULL
);
CREATE INDEX task_events_task ON task_events(task_row_id);
CREATE TABLE time_entries (
    id          INTEGER PRIMARY KEY,
    task_row_id INTEGER NOT NULL REFERENCES engagement_tasks(id) ON DELETE CASCADE,
    who         TEXT NOT NULL,
    minutes     INTEGER NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
CREATE TABLE assignments (
    engagement_id INTEGER NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    role          TEXT NOT NULL,
    person        TEXT NOT NULL,
    PRIMARY KEY (engagement_id, role, person)
);
CREATE TABLE phase_exits (
    engagement_id INTEGER NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    phase         TEXT NOT NULL,
    who           TEXT NOT NULL,
    at            TEXT NOT NULL,
    PRIMARY KEY (engagement_id, phase)
);
CREATE TABLE checklist_items (
    id            INTEGER PRIMARY KEY,
    engagement_id INTEGER NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    severity      TEXT NOT NULL,
    owner         TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    notes         TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT '',
    created       TEXT NOT NULL,
    updated       TEXT NOT NULL
);
CREATE TABLE post_migration_issues (
    id            INTEGER PRIMARY KEY,
    engagement_id INTEGER NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    mailbox       TEXT NOT NULL,
    migrated_at   TEXT NOT NULL,
    reported_at   TEXT NOT NULL,
    deadline      TEXT NOT NULL,
    late          INTEGER NOT NULL DEFAULT 0,
    owner         TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    description   TEXT NOT NULL
);
CREATE TABLE scheduled_events (
    id            INTEGER PRIMARY KEY,
    engagement_id INTEGER NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    starts        TEXT NOT NULL,
    ends          TEXT NOT NULL,
    time_zone     TEXT NOT NULL,
    notes         TEXT NOT NULL DEFAULT ''
);
CREATE TABLE gate_overrides (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    who         TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL
);
