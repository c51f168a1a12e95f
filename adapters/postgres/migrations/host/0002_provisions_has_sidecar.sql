-- A game server whose sidecar is reached through its own provision, with no
-- separate sidecar provision.
ALTER TABLE provisions ADD COLUMN has_sidecar boolean NOT NULL DEFAULT false;
