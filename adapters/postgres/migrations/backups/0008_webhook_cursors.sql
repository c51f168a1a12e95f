-- Each webhook endpoint's place in the activity log (the ID of the last event
-- it accepted) and the retry of the event after it. The endpoints themselves
-- are the host's, as are their URLs and secrets: none of that is stored here.
--
-- A dispatcher leases a row (lease_owner, lease_until) for the time of one
-- delivery, so that replicas never deliver one endpoint at once; a dispatcher
-- killed mid-delivery holds it only until lease_until. A lease rather than a
-- row lock held through the delivery: a transaction would pin a pool
-- connection for as long as a slow receiver takes, and the backups share the
-- pool.
CREATE TABLE {{.WebhookCursors}} (
    endpoint_id     text PRIMARY KEY CHECK (endpoint_id <> ''),
    delivered       bigint NOT NULL CHECK (delivered >= 0),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz,
    last_error      text,
    lease_owner     text,
    lease_until     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT webhook_cursors_lease_check CHECK ((lease_owner IS NULL) = (lease_until IS NULL))
);
