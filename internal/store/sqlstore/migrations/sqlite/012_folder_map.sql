-- Where each source folder goes, decided once and kept (see FolderMapping).
-- Mailboxes copied before this table existed keep the destinations they had.
CREATE TABLE folder_map (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    source     TEXT NOT NULL,
    dest       TEXT NOT NULL,
    renamed    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (mailbox_id, source)
);
INSERT INTO folder_map(mailbox_id, source, dest) SELECT mailbox_id, source, dest FROM folders;
