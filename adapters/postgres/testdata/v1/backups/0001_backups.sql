-- The backups table, and the invariants the service relies on, enforced here
-- rather than in Go.
-- Runs against the host's orders, provisions and assets tables.

CREATE TABLE backups (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id         uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    -- A provision cannot be hard-deleted while it has backups.
    provision_id     uuid NOT NULL REFERENCES provisions (id) ON DELETE RESTRICT,
    name             text NOT NULL,
    status           text NOT NULL DEFAULT 'creating',
    -- SET NULL rather than a plain reference: the delete flow removes the
    -- asset before the backup row (so that a retry can finish the job), which a
    -- plain reference would refuse.
    asset_id         uuid REFERENCES assets (id) ON DELETE SET NULL,
    size_bytes       bigint,
    sha256           text,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz,
    heartbeat_at     timestamptz,
    last_restored_at timestamptz,
    -- Set by a delete that has claimed the row: no status change may follow.
    deleting         boolean NOT NULL DEFAULT false,

    CONSTRAINT backups_status_check
        CHECK (status IN ('creating', 'ready', 'failed', 'restoring')),
    CONSTRAINT backups_size_bytes_check
        CHECK (size_bytes >= 0),
    -- Only a settled backup can be claimed for deletion, so a claimed row can
    -- never be in the middle of an operation.
    CONSTRAINT backups_deleting_check
        CHECK (NOT deleting OR status IN ('ready', 'failed'))
);

-- At most one operation (create or restore) in progress per order. A create is an
-- INSERT and a restore an UPDATE; the loser of a race gets unique_violation on
-- this index, which the adapter reports as ErrOperationInProgress.
CREATE UNIQUE INDEX backups_one_active_per_order
    ON backups (order_id)
    WHERE status IN ('creating', 'restoring');

-- The list query (one provision, newest first) and the per-provision count.
CREATE INDEX backups_provision_created_idx
    ON backups (provision_id, created_at DESC, id DESC);

-- The cascade when an order is deleted.
CREATE INDEX backups_order_id_idx ON backups (order_id);

-- The SET NULL when an asset is deleted.
CREATE INDEX backups_asset_id_idx ON backups (asset_id) WHERE asset_id IS NOT NULL;

-- Stale-operation recovery: active rows by last sign of life.
CREATE INDEX backups_stale_idx
    ON backups ((coalesce(heartbeat_at, created_at)))
    WHERE status IN ('creating', 'restoring');
