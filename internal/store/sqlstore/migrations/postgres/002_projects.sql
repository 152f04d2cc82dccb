CREATE TABLE customers (
    id       BIGSERIAL PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    domain   TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    industry TEXT NOT NULL DEFAULT '',
    size     TEXT NOT NULL DEFAULT '',
    created  TEXT NOT NULL
);
CREATE TABLE endpoints (
    id               BIGSERIAL PRIMARY KEY,
    customer_id      BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    type             TEXT NOT NULL,
    host             TEXT NOT NULL,
    port             INTEGER NOT NULL,
    security         TEXT NOT NULL,
    allow_plaintext  BOOLEAN NOT NULL DEFAULT FALSE,
    admin_user       TEXT NOT NULL DEFAULT '',
    sealed_password  TEXT NOT NULL DEFAULT '',
    sealed_token     TEXT NOT NULL DEFAULT '',
    max_message_size BIGINT NOT NULL DEFAULT 0,
    daily_download   BIGINT NOT NULL DEFAULT 0,
    daily_upload     BIGINT NOT NULL DEFAULT 0,
    created          TEXT NOT NULL,
    UNIQUE (customer_id, name)
);
CREATE TABLE projects (
    id             BIGSERIAL PRIMARY KEY,
    customer_id    BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    source_id      BIGINT NOT NULL REFERENCES endpoints(id),
    dest_id        BIGINT NOT NULL REFERENCES endpoints(id),
    max_concurrent INTEGER NOT NULL,
    max_errors     INTEGER NOT NULL,
    do_not_retry   BOOLEAN NOT NULL DEFAULT FALSE,
    include        TEXT NOT NULL DEFAULT '',
    exclude        TEXT NOT NULL DEFAULT '',
    date_from      TEXT NOT NULL DEFAULT '',
    date_to        TEXT NOT NULL DEFAULT '',
    item_types     TEXT NOT NULL DEFAULT 'mail',
    closed         BOOLEAN NOT NULL DEFAULT FALSE,
    created        TEXT NOT NULL,
    UNIQUE (customer_id, name)
);
CREATE TABLE items (
    id                     BIGSERIAL PRIMARY KEY,
    project_id             BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    source                 TEXT NOT NULL,
    dest                   TEXT NOT NULL,
    source_key             TEXT NOT NULL,
    dest_key               TEXT NOT NULL,
    source_login           TEXT NOT NULL DEFAULT '',
    dest_login             TEXT NOT NULL DEFAULT '',
    sealed_source_password TEXT NOT NULL DEFAULT '',
    sealed_dest_password   TEXT NOT NULL DEFAULT '',
    status                 TEXT NOT NULL,
    last_pass              TEXT NOT NULL DEFAULT '',
    errors                 INTEGER NOT NULL DEFAULT 0,
    mailbox_id             BIGINT NOT NULL DEFAULT 0,
    job_id                 BIGINT NOT NULL DEFAULT 0,
    done_job_id            BIGINT NOT NULL DEFAULT 0,
    updated                TEXT NOT NULL,
    UNIQUE (project_id, source_key),
    UNIQUE (project_id, dest_key)
);
CREATE INDEX items_status ON items(project_id, status);
CREATE TABLE item_leases (
    item_id    BIGINT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL,
    owner      TEXT NOT NULL,
    expires    TEXT NOT NULL
);
CREATE INDEX item_leases_project ON item_leases(project_id, expires);
