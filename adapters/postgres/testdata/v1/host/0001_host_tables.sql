-- Minimal host tables, for deployments without a host platform of their own (the
-- example server). A host platform keeps its own orders, provisions and assets and
-- applies only the backups migrations (Migrate, not MigrateStandalone).

CREATE TABLE orders (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE provisions (
    id         uuid PRIMARY KEY,
    order_id   uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    is_primary boolean NOT NULL DEFAULT false,
    role       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- ListProvisions, and the cascade when an order is deleted.
CREATE INDEX provisions_order_id_idx ON provisions (order_id, id);

CREATE TABLE assets (
    id           uuid PRIMARY KEY,
    owner_id     uuid NOT NULL,
    key          text NOT NULL CHECK (key <> ''),
    file_name    text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
    sha256       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Permissions granted to users; the service asks only for 'view_all_orders'.
CREATE TABLE user_permissions (
    user_id    uuid NOT NULL,
    permission text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, permission)
);
