-- Backup schedules: at most one per provision (the unique provision_id), gone
-- with its order or provision as the foreign keys cascade. A schedule's backups
-- stay when it goes: they are the customer's, and the limit still counts them.
CREATE TABLE {{.Schedules}} (
    id            uuid PRIMARY KEY,
    order_id      uuid NOT NULL{{if .ForeignKeys}} REFERENCES {{.Orders}} (id) ON DELETE CASCADE{{end}},
    provision_id  uuid NOT NULL{{if .ForeignKeys}} REFERENCES {{.Provisions}} (id) ON DELETE CASCADE{{end}},
    cron          text NOT NULL CHECK (cron <> ''),
    time_zone     text NOT NULL CHECK (time_zone <> ''),
    enabled       boolean NOT NULL,
    name_template text NOT NULL,
    keep_last     integer NOT NULL DEFAULT 0 CHECK (keep_last >= 0),
    keep_daily    integer NOT NULL DEFAULT 0 CHECK (keep_daily >= 0),
    keep_weekly   integer NOT NULL DEFAULT 0 CHECK (keep_weekly >= 0),
    keep_monthly  integer NOT NULL DEFAULT 0 CHECK (keep_monthly >= 0),
    -- Null while paused.
    next_run_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT backup_schedules_one_per_provision UNIQUE (provision_id),
    CONSTRAINT backup_schedules_paused_check CHECK (enabled OR next_run_at IS NULL)
);

-- What every replica polls for: the enabled schedules by next run.
CREATE INDEX backup_schedules_due_idx ON {{.Schedules}} (next_run_at, id) WHERE enabled;

-- The cascade when an order is deleted, and the service's deletion by order.
CREATE INDEX backup_schedules_order_id_idx ON {{.Schedules}} (order_id);

-- A schedule's runs. The primary key is what runs a slot once across replicas:
-- the second insert of (schedule, slot) conflicts, whoever makes it. The
-- outcome is null until the run has decided it.
CREATE TABLE {{.ScheduleRuns}} (
    schedule_id uuid NOT NULL{{if .ForeignKeys}} REFERENCES {{.Schedules}} (id) ON DELETE CASCADE{{end}},
    slot        timestamptz NOT NULL,
    claimed_at  timestamptz NOT NULL,
    outcome     text,
    backup_id   uuid,
    reason      text,

    PRIMARY KEY (schedule_id, slot),
    CONSTRAINT backup_schedule_runs_outcome_check
        CHECK (outcome IN ('started', 'skipped', 'failed'))
);
