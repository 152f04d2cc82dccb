-- Which worker process ran each pass (host:pid, as in its lease), for the
-- throughput of each worker. Runs from before this column, and runs of
-- `ferry migrate`, have none.
ALTER TABLE runs ADD COLUMN worker TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_by_mailbox ON runs(mailbox_id);
