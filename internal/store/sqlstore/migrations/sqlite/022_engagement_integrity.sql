-- A migration gate override may be limited to one project (0: every
-- project of the customer) and end on a date (''/never), and is revoked
-- rather than deleted, so the record keeps who let passes run, until when,
-- and who stopped it and why.
ALTER TABLE gate_overrides ADD COLUMN project_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE gate_overrides ADD COLUMN expires TEXT NOT NULL DEFAULT '';
ALTER TABLE gate_overrides ADD COLUMN revoked_at TEXT NOT NULL DEFAULT '';
ALTER TABLE gate_overrides ADD COLUMN revoked_by TEXT NOT NULL DEFAULT '';
ALTER TABLE gate_overrides ADD COLUMN revoke_reason TEXT NOT NULL DEFAULT '';

-- A migration project belongs to an engagement of its customer (0: to the
-- customer only, as projects made before engagements knew their projects):
-- the engagement's Migrate gate reads its projects, not another one's.
ALTER TABLE projects ADD COLUMN engagement_id INTEGER NOT NULL DEFAULT 0;
