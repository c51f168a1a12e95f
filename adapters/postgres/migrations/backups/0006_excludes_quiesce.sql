-- What a backup left out and how the game was paused while it was archived.
-- excludes are the gitignore-style patterns that applied (the data directory's
-- .savepointignore file's, then the create's own), in order: a restore keeps
-- the current paths they match, so they are part of what the backup is.
-- quiesce_method is null when the game was not paused; quiesce_warning says,
-- for the customer, why pausing or resuming it failed.
--
-- Defaults that mean "none" make the columns free to add to a large table
-- (no rewrite) and let rows written before them read as backups without
-- either.
ALTER TABLE {{.Backups}}
    ADD COLUMN excludes          text[] NOT NULL DEFAULT '{}',
    ADD COLUMN quiesce_method    text,
    ADD COLUMN quiesce_paused_ms bigint NOT NULL DEFAULT 0 CHECK (quiesce_paused_ms >= 0),
    ADD COLUMN quiesce_warning   text;

-- The patterns a schedule's backups leave out, as a create request's.
ALTER TABLE {{.Schedules}}
    ADD COLUMN excludes text[] NOT NULL DEFAULT '{}';
