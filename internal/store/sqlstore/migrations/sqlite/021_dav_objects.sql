-- Calendar objects, tasks and contacts copied between DAV accounts
-- (package davsync): the UID within a source collection is the key.
CREATE TABLE dav_objects (
    mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    collection  TEXT NOT NULL,
    uid         TEXT NOT NULL,
    workload    TEXT NOT NULL,
    source_path TEXT NOT NULL,
    source_etag TEXT NOT NULL DEFAULT '',
    dest_path   TEXT NOT NULL,
    dest_etag   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (mailbox_id, collection, uid)
);

-- The source collection's RFC 6578 sync token after the last complete pass:
-- the next pass asks only for what changed since.
CREATE TABLE dav_collections (
    mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    collection  TEXT NOT NULL,
    sync_token  TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, collection)
);
