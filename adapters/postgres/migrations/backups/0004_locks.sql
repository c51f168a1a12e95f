-- A locked backup cannot be deleted until it is unlocked; only the host
-- deleting the whole order takes it. Updates of the status never write it, so
-- a create that finishes after the user locked its backup keeps the lock.
--
-- schedule_id names the schedule that made the backup, null for one a user
-- asked for. It has no foreign key: a backup outlives the schedule that made
-- it, and a schedule's removal must neither delete its backups nor be refused
-- because of them.
ALTER TABLE {{.Backups}}
    ADD COLUMN locked      boolean NOT NULL DEFAULT false,
    ADD COLUMN schedule_id uuid;
