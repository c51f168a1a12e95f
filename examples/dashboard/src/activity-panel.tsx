// The activity panel of a host's order detail page: what happened to the
// order's backups, newest first, when, and who did it. A host lifts this file
// with activity-format.ts, client.ts, format.ts and i18n.ts, and puts it beside
// BackupsContent, bumping refreshKey from BackupsContent's onBackupsChange.
import { useCallback, useEffect, useId, useRef, useState } from 'react';

import { formatRelativeTime } from './activity-format';
import { ApiError, type ActivityActor, type ActivityApi, type ActivityEvent, type ActivityPage, type ActivityType } from './client';
import { formatTime } from './format';
import { createTranslator, type MessageKey, type Translate } from './i18n';

/** How many events a page holds: the server's default. */
export const DEFAULT_ACTIVITY_PAGE_SIZE = 50;

/** How often "5 minutes ago" is brought up to date; a minute is the finest it says. */
export const RELATIVE_TIME_TICK_MS = 30_000;

/** Props of ActivityPanel. */
export interface ActivityPanelProps {
  orderId: string;
  api: ActivityApi;
  /** The signed-in user's ID: events they caused say "You" rather than "A user". */
  userId?: string;
  /** Translates the component's message keys; defaults to English. */
  t?: Translate;
  /** BCP 47 locale for times; defaults to the browser's. */
  locale?: string;
  /** IANA time zone for the exact times; defaults to the browser's. */
  timeZone?: string;
  /**
   * Any value that changes when the log may have grown, such as a count the
   * host bumps on BackupsContent's onBackupsChange. Each change fetches the
   * newest page and adds what is new above the rows shown, which stay.
   */
  refreshKey?: unknown;
  /** Events per page; defaults to DEFAULT_ACTIVITY_PAGE_SIZE. */
  pageSize?: number;
}

/** The log as shown: the events loaded so far, newest first, and the cursor of the next, older, page (null after the last). */
export interface ActivityLogState {
  items: ActivityEvent[];
  nextBefore: number | null;
}

// The sentence for each type the server records. A type added to the server
// later gets activity.type_other rather than nothing.
const typeKeys: Record<ActivityType, MessageKey> = {
  'backup.created': 'activity.type_backup_created',
  'backup.ready': 'activity.type_backup_ready',
  'backup.failed': 'activity.type_backup_failed',
  'restore.started': 'activity.type_restore_started',
  'restore.finished': 'activity.type_restore_finished',
  'restore.failed': 'activity.type_restore_failed',
  'backup.deleted': 'activity.type_backup_deleted',
  'backup.locked': 'activity.type_backup_locked',
  'backup.unlocked': 'activity.type_backup_unlocked',
  'schedule.run_skipped': 'activity.type_schedule_run_skipped',
  'schedule.run_failed': 'activity.type_schedule_run_failed',
};

/** Returns the sentence that says what an event is, with its backup's name. */
export function describeActivity(event: ActivityEvent, t: Translate): string {
  const key: MessageKey | undefined = Object.prototype.hasOwnProperty.call(typeKeys, event.type) ? typeKeys[event.type] : undefined;
  return key ? t(key, { name: event.backup_name ?? '' }) : t('activity.type_other', { type: event.type });
}

/** Returns who caused an event, as the signed-in user (userId) reads it. */
export function describeActor(actor: ActivityActor, userId: string | undefined, t: Translate): string {
  switch (actor.kind) {
    case 'user':
      return t(userId !== undefined && actor.user_id === userId ? 'activity.actor_you' : 'activity.actor_user');
    case 'schedule':
      return t('activity.actor_schedule');
    default:
      return t('activity.actor_system');
  }
}

/**
 * Puts the newest page into the log shown. Events never change once recorded,
 * so the rows shown stay and only the events newer than the newest of them go
 * on top; with nothing new it returns current itself, so nothing re-renders.
 * When every event of the page is new and there are older ones, some may be
 * missing between the page and the rows shown: the page replaces them.
 */
export function mergeNewest(current: ActivityLogState | null, page: ActivityPage): ActivityLogState {
  if (!current || current.items.length === 0) {
    if (current && page.items.length === 0 && page.next_before === current.nextBefore) return current;
    return { items: page.items, nextBefore: page.next_before };
  }
  const newest = current.items[0].id;
  const fresh = page.items.filter((e) => e.id > newest);
  if (fresh.length === 0) return current;
  if (fresh.length === page.items.length && page.next_before !== null) return { items: page.items, nextBefore: page.next_before };
  return { items: [...fresh, ...current.items], nextBefore: current.nextBefore };
}

/**
 * Adds an older page, fetched with the cursor before, below the log shown. A
 * log whose cursor has moved on since (a refresh replaced it) is returned as
 * it is: the page would not join it.
 */
export function appendOlder(current: ActivityLogState, page: ActivityPage, before: number): ActivityLogState {
  if (current.nextBefore !== before) return current;
  const oldest = current.items.length > 0 ? current.items[current.items.length - 1].id : Infinity;
  return { items: [...current.items, ...page.items.filter((e) => e.id < oldest)], nextBefore: page.next_before };
}

const englishT = createTranslator('en');

/**
 * Lists an order's activity log, newest first, a page at a time: when each
 * event happened (how long ago, the exact time on hover), what happened to
 * which backup, who did it, and why a failure or a skipped run happened.
 * Fetches the newest page on mount and whenever refreshKey changes; "Load
 * more" fetches the next older page.
 */
export function ActivityPanel({
  orderId,
  api,
  userId,
  t = englishT,
  locale,
  timeZone,
  refreshKey,
  pageSize = DEFAULT_ACTIVITY_PAGE_SIZE,
}: ActivityPanelProps) {
  // The order the log belongs to, so that another order's rows are never shown for this one.
  const [log, setLog] = useState<(ActivityLogState & { orderId: string }) | null>(null);
  // What the first load ran into: an error, or a server that keeps no log (activity_unavailable).
  const [loadError, setLoadError] = useState<'failed' | 'unavailable' | null>(null);
  const [moreError, setMoreError] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const [nowMs, setNowMs] = useState(() => Date.now());
  // Bumped after each page loaded by "Load more", to move focus to its first row.
  const [moreLoads, setMoreLoads] = useState<{ count: number; focusId: number | null }>({ count: 0, focusId: null });

  const headingId = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  const bodyRef = useRef<HTMLTableSectionElement>(null);
  const mounted = useRef(true);
  // Only the newest refresh may write: an older one still in flight would add nothing it has not.
  const latestRefresh = useRef(0);
  const refreshInFlight = useRef<AbortController | null>(null);
  const moreInFlight = useRef<AbortController | null>(null);
  // The API through a ref: a host that builds a new client on every render
  // must not make the panel refetch on every render.
  const apiRef = useRef(api);
  apiRef.current = api;

  const shown = log !== null && log.orderId === orderId ? log : null;

  const loadNewest = useCallback(async () => {
    const seq = ++latestRefresh.current;
    refreshInFlight.current?.abort();
    const controller = new AbortController();
    refreshInFlight.current = controller;
    try {
      const page = await apiRef.current.listActivity(orderId, { limit: pageSize }, controller.signal);
      if (!mounted.current || seq !== latestRefresh.current) return;
      setNowMs(Date.now());
      setLog((prev) => {
        const current = prev !== null && prev.orderId === orderId ? prev : null;
        const next = mergeNewest(current, page);
        return next === current ? prev : { ...next, orderId };
      });
      setLoadError(null);
    } catch (err) {
      if (!mounted.current || seq !== latestRefresh.current || controller.signal.aborted) return;
      // Shown only while there is nothing to show: a refresh that fails
      // leaves the rows as they are, and the next one tries again.
      setLoadError(err instanceof ApiError && err.code === 'activity_unavailable' ? 'unavailable' : 'failed');
    }
  }, [orderId, pageSize]);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      refreshInFlight.current?.abort();
      moreInFlight.current?.abort();
    };
  }, []);

  useEffect(() => {
    void loadNewest();
  }, [loadNewest, refreshKey]);

  useEffect(() => {
    const timer = setInterval(() => setNowMs(Date.now()), RELATIVE_TIME_TICK_MS);
    return () => clearInterval(timer);
  }, []);

  const loadMore = async () => {
    if (shown === null || shown.nextBefore === null || loadingMore) return;
    const before = shown.nextBefore;
    setLoadingMore(true);
    setMoreError(false);
    const controller = new AbortController();
    moreInFlight.current = controller;
    try {
      const page = await apiRef.current.listActivity(orderId, { limit: pageSize, before }, controller.signal);
      if (!mounted.current) return;
      setLog((prev) => (prev !== null && prev.orderId === orderId ? { ...appendOlder(prev, page, before), orderId } : prev));
      setMoreLoads((m) => ({ count: m.count + 1, focusId: page.items[0]?.id ?? null }));
    } catch {
      if (mounted.current && !controller.signal.aborted) setMoreError(true);
    } finally {
      if (mounted.current) setLoadingMore(false);
    }
  };

  // After "Load more", focus goes to the first row it added, where reading
  // goes on; to the heading when it added none (the button may be gone).
  useEffect(() => {
    if (moreLoads.count === 0) return;
    const row = moreLoads.focusId === null ? null : bodyRef.current?.querySelector<HTMLElement>(`tr[data-activity-id="${moreLoads.focusId}"]`);
    (row ?? headingRef.current)?.focus();
  }, [moreLoads]);

  return (
    <section className="activity" aria-labelledby={headingId}>
      <h2 id={headingId} ref={headingRef} tabIndex={-1}>
        {t('activity.heading')}
      </h2>
      {shown === null ? (
        loadError === 'unavailable' ? (
          <p className="activity__empty">{t('activity.unavailable')}</p>
        ) : loadError === 'failed' ? (
          <div role="alert" className="notice notice--error">
            <span>{t('activity.error_load')}</span>{' '}
            <button type="button" className="button button--link" onClick={() => void loadNewest()}>
              {t('activity.retry')}
            </button>
          </div>
        ) : (
          <p className="activity__loading" role="status">
            {t('activity.loading')}
          </p>
        )
      ) : shown.items.length === 0 ? (
        <p className="activity__empty">{t('activity.empty')}</p>
      ) : (
        <div className="activity__table-wrap">
          <table className="activity__table" aria-labelledby={headingId}>
            <thead>
              <tr>
                <th scope="col">{t('activity.column_when')}</th>
                <th scope="col">{t('activity.column_what')}</th>
                <th scope="col">{t('activity.column_who')}</th>
              </tr>
            </thead>
            <tbody ref={bodyRef}>
              {shown.items.map((event) => (
                <ActivityRow key={event.id} event={event} userId={userId} t={t} locale={locale} timeZone={timeZone} nowMs={nowMs} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {moreError ? (
        <p role="alert" className="notice notice--error">
          {t('activity.error_more')}
        </p>
      ) : null}
      {shown !== null && shown.nextBefore !== null ? (
        <div className="activity__more">
          {/* aria-disabled, not disabled, while loading: a disabled button would drop the focus. */}
          <button
            type="button"
            className="button"
            aria-disabled={loadingMore || undefined}
            aria-busy={loadingMore || undefined}
            onClick={() => void loadMore()}
          >
            {t('activity.load_more')}
          </button>
        </div>
      ) : null}
    </section>
  );
}

interface ActivityRowProps {
  event: ActivityEvent;
  userId: string | undefined;
  t: Translate;
  locale: string | undefined;
  timeZone: string | undefined;
  nowMs: number;
}

function ActivityRow({ event, userId, t, locale, timeZone, nowMs }: ActivityRowProps) {
  const exact = formatTime(event.at, locale, timeZone);
  const ago = formatRelativeTime(event.at, nowMs, locale) ?? exact;
  return (
    <tr data-activity-id={event.id} data-type={event.type} tabIndex={-1}>
      <td className="activity__when">
        <time dateTime={event.at} title={exact}>
          {ago}
        </time>
      </td>
      <th scope="row" className="activity__what">
        {describeActivity(event, t)}
        {event.reason ? (
          <span className="activity__reason" data-testid="activity-reason">
            {t('activity.reason', { reason: event.reason })}
          </span>
        ) : null}
      </th>
      <td className="activity__who">{describeActor(event.actor, userId, t)}</td>
    </tr>
  );
}

export default ActivityPanel;
