-- The activity log: one row per event of an order's backups and schedules,
-- written in the same transaction as the change it records, so that it is an
-- outbox a follower can read by ID. Rows are history: they refer to nothing,
-- so they stay when their backup, schedule or order goes (a cascade from the
-- order would take the backup.deleted events of its last backups before a
-- follower read them); ActivityLog.DeleteOrderActivity erases an order's.
-- backup_id is null for a schedule's run that made no backup; the actor's
-- columns say who caused the event (actor_kind, and the user or schedule).
CREATE TABLE {{.Activity}} (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id          uuid NOT NULL,
    provision_id      uuid NOT NULL,
    backup_id         uuid,
    backup_name       text NOT NULL DEFAULT '',
    type              text NOT NULL CHECK (type <> ''),
    actor_kind        text NOT NULL CHECK (actor_kind IN ('user', 'schedule', 'system')),
    actor_user_id     uuid,
    actor_schedule_id uuid,
    at                timestamptz NOT NULL DEFAULT now(),
    reason            text,

    CONSTRAINT activity_actor_check CHECK (
        (actor_kind = 'user' AND actor_user_id IS NOT NULL AND actor_schedule_id IS NULL)
        OR (actor_kind = 'schedule' AND actor_schedule_id IS NOT NULL AND actor_user_id IS NULL)
        OR (actor_kind = 'system' AND actor_user_id IS NULL AND actor_schedule_id IS NULL))
);

-- An order's log, newest first, paged by ID; also DeleteOrderActivity.
CREATE INDEX activity_order_id_idx ON {{.Activity}} (order_id, id DESC);
