-- Portal: people who sign in, their sessions, and the audit log.
CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    failed_signins INTEGER NOT NULL DEFAULT 0,
    locked_until   TEXT NOT NULL DEFAULT '',
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created        TEXT NOT NULL,
    last_signin    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE user_customers (
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    customer_id BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, customer_id)
);
CREATE TABLE sessions (
    hash      TEXT PRIMARY KEY,
    user_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf      TEXT NOT NULL,
    created   TEXT NOT NULL,
    expires   TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE audit (
    id            BIGSERIAL PRIMARY KEY,
    at            TEXT NOT NULL,
    who           TEXT NOT NULL,
    customer_id   BIGINT NOT NULL DEFAULT 0,
    engagement_id BIGINT NOT NULL DEFAULT 0,
    project_id    BIGINT NOT NULL DEFAULT 0,
    object        TEXT NOT NULL,
    action        TEXT NOT NULL,
    before        TEXT NOT NULL DEFAULT '',
    after         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_customer ON audit(customer_id, id);
CREATE INDEX audit_engagement ON audit(engagement_id, id);
CREATE INDEX audit_project ON audit(project_id, id);
ALTER TABLE tokens ADD COLUMN user_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX items_updated ON items(project_id, updated);
