-- The mail domains of an engagement (package dnscheck): their records are
-- checked for Microsoft 365 and their MX watched for the cutover. The watch
-- keeps its state here, so a restart or another worker goes on counting
-- consecutive checks where the last one stopped.
CREATE TABLE engagement_domains (
    id               INTEGER PRIMARY KEY,
    engagement_id    INTEGER NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    domain           TEXT NOT NULL,
    verification_txt TEXT NOT NULL DEFAULT '',
    resolver         TEXT NOT NULL DEFAULT '',
    created          TEXT NOT NULL,
    streak           INTEGER NOT NULL DEFAULT 0,
    dest_since       TEXT NOT NULL DEFAULT '',
    ready_at         TEXT NOT NULL DEFAULT '',
    source_ttl       INTEGER NOT NULL DEFAULT 0,
    last_checked     TEXT NOT NULL DEFAULT '',
    last_mx          TEXT NOT NULL DEFAULT '',
    last_error       TEXT NOT NULL DEFAULT '',
    UNIQUE (engagement_id, domain)
);

-- One MX cutover per engagement and domain: the unique key is what makes
-- the final Full pass queued exactly once, whichever worker, restart or
-- operator sees the flip first (the row and the jobs go in one transaction).
CREATE TABLE mx_cutovers (
    id            INTEGER PRIMARY KEY,
    engagement_id INTEGER NOT NULL REFERENCES engagements(id) ON DELETE CASCADE,
    domain        TEXT NOT NULL,
    at            TEXT NOT NULL,
    trigger_by    TEXT NOT NULL,
    mx            TEXT NOT NULL DEFAULT '',
    queued        INTEGER NOT NULL DEFAULT 0,
    post_checked  TEXT NOT NULL DEFAULT '',
    post_ready    INTEGER NOT NULL DEFAULT 0,
    post_report   TEXT NOT NULL DEFAULT '',
    UNIQUE (engagement_id, domain)
);

-- The items of a cutover and the job of their final pass: 0 while the item
-- was running a pass at the cutover (its final pass is queued, once, when
-- that pass ends: the worker that sets job_id first queues it).
CREATE TABLE mx_cutover_items (
    cutover_id INTEGER NOT NULL REFERENCES mx_cutovers(id) ON DELETE CASCADE,
    item_id    INTEGER NOT NULL,
    job_id     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cutover_id, item_id)
);
