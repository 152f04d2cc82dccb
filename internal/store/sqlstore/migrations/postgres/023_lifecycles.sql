-- A run belongs to the project item whose pass made it: the engine's state
-- (mailboxes) is keyed by server and user, so two customers' items on the
-- same servers share it, and an item's pass history read by mailbox showed
-- the other's passes. Runs of `ferry migrate` have no item (0).
ALTER TABLE runs ADD COLUMN item_id BIGINT NOT NULL DEFAULT 0;
-- Older runs go to the item of their mailbox when exactly one item has it;
-- a mailbox shared by several items cannot say whose they were.
UPDATE runs SET item_id = (SELECT MIN(i.id) FROM items i WHERE i.mailbox_id = runs.mailbox_id)
 WHERE (SELECT COUNT(*) FROM items i WHERE i.mailbox_id = runs.mailbox_id) = 1;
CREATE INDEX runs_by_item ON runs(item_id);

-- Every change to a post-migration issue (assigned, worked, closed,
-- reopened), by whom and why, kept for ever.
CREATE TABLE issue_events (
    id       BIGSERIAL PRIMARY KEY,
    issue_id BIGINT NOT NULL REFERENCES post_migration_issues(id) ON DELETE CASCADE,
    at       TEXT NOT NULL,
    who      TEXT NOT NULL,
    field    TEXT NOT NULL,
    before   TEXT NOT NULL,
    after    TEXT NOT NULL,
    note     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX issue_events_issue ON issue_events(issue_id);

-- A remediation checklist item's due date ('' for none).
ALTER TABLE checklist_items ADD COLUMN due TEXT NOT NULL DEFAULT '';

-- A recurring event's rule (a subset of RFC 5545's RRULE: FREQ, INTERVAL,
-- COUNT, UNTIL; '' for a single event).
ALTER TABLE scheduled_events ADD COLUMN recurrence TEXT NOT NULL DEFAULT '';
