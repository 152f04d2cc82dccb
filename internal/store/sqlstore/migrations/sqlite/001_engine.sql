CREATE TABLE mailboxes (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    destination TEXT NOT NULL,
    UNIQUE (source, destination)
);
CREATE TABLE folders (
    mailbox_id       INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    source           TEXT NOT NULL,
    source_validity  INTEGER NOT NULL,
    dest             TEXT NOT NULL,
    dest_validity    INTEGER NOT NULL,
    dest_scanned_uid INTEGER NOT NULL DEFAULT 0,
    appending        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mailbox_id, source)
);
CREATE TABLE copies (
    mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    folder      TEXT NOT NULL,
    source_uid  INTEGER NOT NULL,
    dest_uid    INTEGER NOT NULL,
    fingerprint BLOB NOT NULL,
    flags       TEXT NOT NULL,
    size        INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, folder, source_uid)
);
CREATE TABLE failures (
    mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    folder      TEXT NOT NULL,
    uid         INTEGER NOT NULL,
    subject     TEXT NOT NULL,
    size        INTEGER NOT NULL,
    pass        TEXT NOT NULL,
    temporary   INTEGER NOT NULL,
    server_text TEXT NOT NULL,
    hint        TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, folder, uid)
);
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    pass          TEXT NOT NULL,
    started       TEXT NOT NULL,
    ended         TEXT,
    status        TEXT NOT NULL,
    error         TEXT NOT NULL DEFAULT '',
    copied        INTEGER NOT NULL DEFAULT 0,
    copied_bytes  INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    failed_bytes  INTEGER NOT NULL DEFAULT 0,
    flags_updated INTEGER NOT NULL DEFAULT 0
);
