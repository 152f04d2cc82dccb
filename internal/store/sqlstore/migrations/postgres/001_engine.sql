CREATE TABLE mailboxes (
    id          BIGSERIAL PRIMARY KEY,
    source      TEXT NOT NULL,
    destination TEXT NOT NULL,
    UNIQUE (source, destination)
);
CREATE TABLE folders (
    mailbox_id       BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    source           TEXT NOT NULL,
    source_validity  BIGINT NOT NULL,
    dest             TEXT NOT NULL,
    dest_validity    BIGINT NOT NULL,
    dest_scanned_uid BIGINT NOT NULL DEFAULT 0,
    appending        BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (mailbox_id, source)
);
CREATE TABLE copies (
    mailbox_id  BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    folder      TEXT NOT NULL,
    source_uid  BIGINT NOT NULL,
    dest_uid    BIGINT NOT NULL,
    fingerprint BYTEA NOT NULL,
    flags       TEXT NOT NULL,
    size        BIGINT NOT NULL,
    PRIMARY KEY (mailbox_id, folder, source_uid)
);
CREATE TABLE failures (
    mailbox_id  BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    folder      TEXT NOT NULL,
    uid         BIGINT NOT NULL,
    subject     TEXT NOT NULL,
    size        BIGINT NOT NULL,
    pass        TEXT NOT NULL,
    temporary   BOOLEAN NOT NULL,
    server_text TEXT NOT NULL,
    hint        TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, folder, uid)
);
CREATE TABLE runs (
    id            BIGSERIAL PRIMARY KEY,
    mailbox_id    BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    pass          TEXT NOT NULL,
    started       TEXT NOT NULL,
    ended         TEXT,
    status        TEXT NOT NULL,
    error         TEXT NOT NULL DEFAULT '',
    copied        BIGINT NOT NULL DEFAULT 0,
    copied_bytes  BIGINT NOT NULL DEFAULT 0,
    skipped       BIGINT NOT NULL DEFAULT 0,
    failed        BIGINT NOT NULL DEFAULT 0,
    failed_bytes  BIGINT NOT NULL DEFAULT 0,
    flags_updated BIGINT NOT NULL DEFAULT 0
);
