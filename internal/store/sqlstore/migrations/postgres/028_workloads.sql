-- Workloads per item (issue 19): an item moves mail, calendar, contacts
-- and tasks, any of them (one per line; existing items move mail). The
-- calendars, contacts and tasks of an item are a migration of their own
-- in the engine state (dav_objects), dav_mailbox_id. An endpoint says
-- where its calendars, contacts and tasks are: a CalDAV/CardDAV base URL,
-- Microsoft Graph (destination) or Exchange Web Services (source).
ALTER TABLE items ADD COLUMN workloads TEXT NOT NULL DEFAULT 'mail';
ALTER TABLE items ADD COLUMN dav_mailbox_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN dav_url TEXT NOT NULL DEFAULT '';
ALTER TABLE endpoints ADD COLUMN graph_url TEXT NOT NULL DEFAULT '';
ALTER TABLE endpoints ADD COLUMN ews_url TEXT NOT NULL DEFAULT '';
-- The calendar objects, tasks and contacts of a migration that failed in
-- its last pass, as a person finds them: workload, collection, title,
-- date, the server's words and what to do.
CREATE TABLE dav_failures (
    mailbox_id BIGINT NOT NULL,
    seq        INTEGER NOT NULL,
    workload   TEXT NOT NULL,
    collection TEXT NOT NULL,
    uid        TEXT NOT NULL,
    title      TEXT NOT NULL,
    date       TEXT NOT NULL,
    error      TEXT NOT NULL,
    action     TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, seq)
);
