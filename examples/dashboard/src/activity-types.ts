// The activity log's wire shapes, written by hand until openapi.yaml has the
// route and src/api/schema.d.ts is regenerated from it; the client then takes
// them from the generated types and this file goes.

/** What happened: the activity types the server records. */
export type ActivityType =
  | 'backup.created'
  | 'backup.ready'
  | 'backup.failed'
  | 'restore.started'
  | 'restore.finished'
  | 'restore.failed'
  | 'backup.deleted'
  | 'backup.locked'
  | 'backup.unlocked'
  | 'schedule.run_skipped'
  | 'schedule.run_failed';

/** Who caused an event. */
export type ActivityActor = { kind: 'user'; user_id: string } | { kind: 'schedule'; schedule_id: string } | { kind: 'system' };

/** One event of an order's activity log. */
export interface ActivityEventView {
  id: number;
  type: ActivityType;
  order_id: string;
  provision_id: string;
  backup_id: string | null;
  backup_name: string;
  actor: ActivityActor;
  at: string;
  reason?: string;
}

/** A page of the log, newest first; next_before is the cursor of the next (older) page, null after the last. */
export interface ActivityPageView {
  items: ActivityEventView[];
  next_before: number | null;
}
