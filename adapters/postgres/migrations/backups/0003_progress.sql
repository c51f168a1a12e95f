-- How far a running create or restore has got, saved with its heartbeat so that
-- every replica can answer it. All three are set while an operation runs and
-- null otherwise.
ALTER TABLE {{.Backups}}
    ADD COLUMN progress_done_bytes  bigint,
    ADD COLUMN progress_total_bytes bigint,
    ADD COLUMN progress_started_at  timestamptz,
    ADD CONSTRAINT backups_progress_check CHECK (
        (progress_started_at IS NULL AND progress_done_bytes IS NULL AND progress_total_bytes IS NULL)
        OR (progress_started_at IS NOT NULL AND progress_done_bytes >= 0 AND progress_total_bytes >= 0));
