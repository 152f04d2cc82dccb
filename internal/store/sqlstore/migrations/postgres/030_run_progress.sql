-- A running pass writes what it has copied so far (copied, copied_bytes,
-- skipped, failed) and what it plans to copy (to_copy, to_copy_bytes)
-- every few seconds, so the portal shows each mailbox's progress and the
-- project's throughput while the pass runs, whatever process runs it.
ALTER TABLE runs ADD COLUMN to_copy BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN to_copy_bytes BIGINT NOT NULL DEFAULT 0;
