-- Pre-flight (issue 18): the destination limits a project or an endpoint
-- sets over its type's preset (JSON of store.Limits; '' for none).
ALTER TABLE endpoints ADD COLUMN limits TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN limits TEXT NOT NULL DEFAULT '';

-- A remediation checklist item a tool found: its project, mailbox, check,
-- what was found and what to do, and the key a later run finds it by.
-- A waived item records who waived it, when and why.
ALTER TABLE checklist_items ADD COLUMN project_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE checklist_items ADD COLUMN mailbox TEXT NOT NULL DEFAULT '';
ALTER TABLE checklist_items ADD COLUMN check_name TEXT NOT NULL DEFAULT '';
ALTER TABLE checklist_items ADD COLUMN found TEXT NOT NULL DEFAULT '';
ALTER TABLE checklist_items ADD COLUMN action TEXT NOT NULL DEFAULT '';
ALTER TABLE checklist_items ADD COLUMN finding_key TEXT NOT NULL DEFAULT '';
ALTER TABLE checklist_items ADD COLUMN waived_by TEXT NOT NULL DEFAULT '';
ALTER TABLE checklist_items ADD COLUMN waived_at TEXT NOT NULL DEFAULT '';
ALTER TABLE checklist_items ADD COLUMN waive_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX checklist_items_finding ON checklist_items(engagement_id, source, project_id, finding_key);

-- Each pre-flight of a project, its state and its report (JSON); the
-- attempt running it renews heartbeat, so that a copy of its job (River
-- rescues long jobs) waits instead of running it twice.
CREATE TABLE preflight_runs (
    id           BIGSERIAL PRIMARY KEY,
    project_id   BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    job_id       BIGINT NOT NULL DEFAULT 0,
    state        TEXT NOT NULL,
    requested_by TEXT NOT NULL DEFAULT '',
    queued       TEXT NOT NULL,
    started      TEXT NOT NULL DEFAULT '',
    finished     TEXT NOT NULL DEFAULT '',
    heartbeat    TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    report       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX preflight_runs_project ON preflight_runs(project_id, id);
