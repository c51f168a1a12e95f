-- Archives are recorded in a table savepoint owns, so that Assets works beside a
-- host whose own assets table has another shape; and backups no longer refer to
-- any assets table, as the Assets port may be implemented anywhere.

CREATE TABLE {{.Assets}} (
    id           uuid PRIMARY KEY,
    owner_id     uuid NOT NULL,
    key          text NOT NULL CHECK (key <> ''),
    file_name    text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
    sha256       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE {{.Backups}} DROP CONSTRAINT IF EXISTS backups_asset_id_fkey;
{{if .Standalone}}
-- The standalone assets table held savepoint's archives and nothing else: they
-- move to the new table, and the old one goes.
INSERT INTO {{.Assets}} (id, owner_id, key, file_name, content_type, size_bytes, sha256, created_at)
    SELECT id, owner_id, key, file_name, content_type, size_bytes, sha256, created_at
    FROM assets;
DROP TABLE assets;
{{end}}
-- What an archive could not hold faithfully: the first files skipped (a JSON
-- array of {"path", "reason"}) and how many there were in all.
ALTER TABLE {{.Backups}}
    ADD COLUMN skipped       jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN skipped_count integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT backups_skipped_check CHECK (jsonb_typeof(skipped) = 'array'),
    ADD CONSTRAINT backups_skipped_count_check CHECK (skipped_count >= 0);

-- A fence: the host's hold on an order's operation slot while it reprovisions the
-- game server. The primary key allows one per order. That a fence and an active
-- backup never coexist is kept by a per-order advisory lock that every writer of
-- the slot takes (see Repository.AcquireFence): no constraint spans two tables.
-- It has no foreign key: a fence lives only while its holder heartbeats it, and
-- one left behind expires.
CREATE TABLE {{.Fences}} (
    order_id     uuid PRIMARY KEY,
    id           uuid NOT NULL,
    acquired_at  timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL
);
