// The backup schedule of a provision, shown in the backups section: what the
// schedule is, when it next runs and what its last run did, with a form to
// add or change it, pause and resume, and delete it. BackupsContent renders
// it above the table and refetches the table when the schedule has run; a
// host can render it on its own too, with the same API.
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';

import { ApiError, type Backup, type BackupsApi, type LastRun, type Retention, type Schedule, type ScheduleSettings } from './client';
import { Dialog } from './dialog';
import { ExcludesField, excludesText, invalidExcludesText, parseExcludes, summarizeExcludes } from './excludes-field';
import { formatCount, formatTimeInZone } from './format';
import { createTranslator, errorMessageKey, type MessageKey, type Translate } from './i18n';
import {
  HOUR_STEPS,
  WEEKDAYS,
  cronFromPreset,
  formatTimeOfDay,
  parseTimeValue,
  presetFromCron,
  timeValue,
  weekdayName,
  type Preset,
  type PresetKind,
} from './schedule-presets';

/** How a new schedule names its backups: the API's default too. */
export const DEFAULT_NAME_TEMPLATE = 'Scheduled {date} {time}';

/** The time of day a new schedule's presets start at. */
export const DEFAULT_TIME = '04:00';

/** The largest count a retention rule may have (the API's maximum in openapi.yaml). */
export const MAX_RETENTION_COUNT = 1000;

/** The longest cron expression, time zone and name template the API accepts (maxLength in openapi.yaml). */
export const MAX_CRON_LENGTH = 100;
export const MAX_TIME_ZONE_LENGTH = 64;
export const MAX_NAME_TEMPLATE_LENGTH = 200;

/**
 * How often the schedule is fetched again while its next run is due but not
 * yet recorded: the server looks for due schedules on a timer of its own, so
 * the run comes a little after its time.
 */
export const DEFAULT_DUE_POLL_INTERVAL_MS = 1000;

/**
 * The longest the section waits before it looks at the schedule again, so that
 * a laptop that slept through the next run, or a change made elsewhere, shows
 * up without a reload.
 */
export const MAX_REFRESH_DELAY_MS = 10 * 60 * 1000;

// How long after the next run time the section looks first: the run is not
// recorded at the very instant it is due.
const AFTER_NEXT_RUN_MS = 250;

/** What the schedule section needs from the API. */
export type ScheduleApi = Pick<BackupsApi, 'getSchedule' | 'putSchedule' | 'deleteSchedule'>;

/** Props of ScheduleSection. */
export interface ScheduleSectionProps {
  orderId: string;
  provisionId: string;
  api: ScheduleApi;
  /** Translates the component's message keys; defaults to English. */
  t?: Translate;
  /** BCP 47 locale for times and day names; defaults to the browser's. */
  locale?: string;
  /** The IANA time zone a new schedule starts with; defaults to the browser's. */
  timeZone?: string;
  /** The provision's backups, to name the one the last run made. */
  backups?: readonly Backup[] | null;
  /**
   * Called when the schedule has run since the section last looked (never for
   * the run it finds on the first load), so that the host can refetch its
   * list of backups.
   */
  onRun?: (run: LastRun) => void;
  /** Defaults to DEFAULT_DUE_POLL_INTERVAL_MS. */
  pollIntervalMs?: number;
}

type RetentionKey = keyof Retention;

const retentionKeys: readonly RetentionKey[] = ['keep_last', 'keep_daily', 'keep_weekly', 'keep_monthly'];

const retentionLabels: Record<RetentionKey, MessageKey> = {
  keep_last: 'schedule.keep_last',
  keep_daily: 'schedule.keep_daily',
  keep_weekly: 'schedule.keep_weekly',
  keep_monthly: 'schedule.keep_monthly',
};

const presetLabels: Record<PresetKind, MessageKey> = {
  daily: 'schedule.preset_daily',
  hours: 'schedule.preset_hours',
  weekly: 'schedule.preset_weekly',
  custom: 'schedule.preset_custom',
};

const outcomeKeys: Record<LastRun['outcome'], MessageKey> = {
  started: 'schedule.outcome_started',
  skipped: 'schedule.outcome_skipped',
  failed: 'schedule.outcome_failed',
};

// Shapes beside the outcome text, so that it never depends on colour alone.
const outcomeIcons: Record<LastRun['outcome'], string> = {
  started: '✓',
  skipped: '↷',
  failed: '✕',
};

/** The schedule form's state: every preset's values at once, so that switching presets loses nothing. */
export interface ScheduleDraft {
  kind: PresetKind;
  /** "HH:MM", for daily and weekly. */
  time: string;
  /** Hours between runs, one of HOUR_STEPS. */
  every: number;
  /** The weekly run's day, as cron numbers it (0 = Sunday). */
  weekday: number;
  custom: string;
  timeZone: string;
  nameTemplate: string;
  /** The retention counts as typed; empty is 0. */
  keep: Record<RetentionKey, string>;
  enabled: boolean;
  /** The exclude patterns as typed: one a line. */
  excludes: string;
  /** Whether the schedule being edited has patterns: an emptied field must then be sent, to clear them. */
  hadExcludes: boolean;
}

/** Returns the browser's IANA time zone, such as Europe/Berlin. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** Returns the form's state for a schedule, or for a new one in timeZone. */
export function draftFor(schedule: Schedule | null, timeZone: string): ScheduleDraft {
  if (!schedule) {
    return {
      kind: 'daily',
      time: DEFAULT_TIME,
      every: 6,
      weekday: 1,
      custom: '',
      timeZone,
      nameTemplate: DEFAULT_NAME_TEMPLATE,
      keep: { keep_last: '0', keep_daily: '0', keep_weekly: '0', keep_monthly: '0' },
      enabled: true,
      excludes: '',
      hadExcludes: false,
    };
  }
  const p = presetFromCron(schedule.cron);
  const r = schedule.retention;
  return {
    kind: p.kind,
    time: p.kind === 'daily' || p.kind === 'weekly' ? timeValue(p.hour, p.minute) : DEFAULT_TIME,
    every: p.kind === 'hours' ? p.every : 6,
    weekday: p.kind === 'weekly' ? p.weekday : 1,
    custom: schedule.cron,
    timeZone: schedule.time_zone,
    nameTemplate: schedule.name_template,
    keep: { keep_last: String(r.keep_last), keep_daily: String(r.keep_daily), keep_weekly: String(r.keep_weekly), keep_monthly: String(r.keep_monthly) },
    enabled: schedule.enabled,
    excludes: excludesText(schedule.excludes),
    hadExcludes: (schedule.excludes ?? []).length > 0,
  };
}

/** Returns the preset the form's state describes; null while its time is not a time. */
export function presetOf(d: ScheduleDraft): Preset | null {
  switch (d.kind) {
    case 'daily':
    case 'weekly': {
      const time = parseTimeValue(d.time);
      if (!time) return null;
      return d.kind === 'daily' ? { kind: 'daily', ...time } : { kind: 'weekly', weekday: d.weekday, ...time };
    }
    case 'hours':
      return { kind: 'hours', every: d.every };
    case 'custom':
      return { kind: 'custom', cron: d.custom };
  }
}

function count(value: string): number {
  const n = Number(value);
  return value.trim() === '' || !Number.isFinite(n) ? 0 : Math.trunc(n);
}

/**
 * Returns what put-schedule is sent for the form's state. An empty name
 * template is left to the server's default. Exclude patterns are sent when
 * there are some, or when the field was emptied of the schedule's own, so
 * that a schedule without any saves on a server that does not know them.
 */
export function settingsFromDraft(d: ScheduleDraft): ScheduleSettings {
  const preset = presetOf(d);
  const template = d.nameTemplate.trim();
  return {
    cron: preset ? cronFromPreset(preset) : '',
    time_zone: d.timeZone.trim(),
    enabled: d.enabled,
    ...(template ? { name_template: template } : {}),
    retention: {
      keep_last: count(d.keep.keep_last),
      keep_daily: count(d.keep.keep_daily),
      keep_weekly: count(d.keep.keep_weekly),
      keep_monthly: count(d.keep.keep_monthly),
    },
    ...withExcludes(parseExcludes(d.excludes), d.hadExcludes),
  };
}

function withExcludes(excludes: string[], clearing: boolean): Pick<ScheduleSettings, 'excludes'> {
  return excludes.length > 0 || clearing ? { excludes } : {};
}

/** Returns a schedule's settings as put-schedule takes them, with enabled set: pausing must not drop its patterns. */
export function settingsFromSchedule(s: Schedule, enabled: boolean): ScheduleSettings {
  return { cron: s.cron, time_zone: s.time_zone, enabled, name_template: s.name_template, retention: { ...s.retention }, ...withExcludes([...(s.excludes ?? [])], false) };
}

/** Says when a cron expression runs, in words where it is one of the presets. */
export function describeCron(cron: string, t: Translate, locale?: string): string {
  const p = presetFromCron(cron);
  switch (p.kind) {
    case 'daily':
      return t('schedule.describe_daily', { time: formatTimeOfDay(p.hour, p.minute, locale) });
    case 'hours':
      return p.every === 1 ? t('schedule.describe_hourly') : t('schedule.describe_every_hours', { hours: formatCount(p.every, 'hour', locale) });
    case 'weekly':
      return t('schedule.describe_weekly', { day: weekdayName(p.weekday, locale), time: formatTimeOfDay(p.hour, p.minute, locale) });
    case 'custom':
      return t('schedule.describe_custom', { cron: p.cron.trim() });
  }
}

/** Says which backups a retention policy keeps. */
export function describeRetention(r: Retention, t: Translate, locale?: string): string {
  const rules: string[] = [];
  if (r.keep_last > 0) rules.push(t('schedule.retention_last', { count: r.keep_last }));
  if (r.keep_daily > 0) rules.push(t('schedule.retention_daily', { days: formatCount(r.keep_daily, 'day', locale) }));
  if (r.keep_weekly > 0) rules.push(t('schedule.retention_weekly', { weeks: formatCount(r.keep_weekly, 'week', locale) }));
  if (r.keep_monthly > 0) rules.push(t('schedule.retention_monthly', { months: formatCount(r.keep_monthly, 'month', locale) }));
  if (rules.length === 0) return t('schedule.retention_all');
  return new Intl.ListFormat(locale, { type: 'conjunction' }).format(rules);
}

/**
 * Returns the words for an error from the schedule API. A schedule the server
 * cannot work with is explained in the server's own words (its detail says
 * which field is wrong and why); everything else gets the section's messages.
 */
export function scheduleErrorText(err: unknown, t: Translate): string {
  if (err instanceof ApiError && err.problem && (err.code === 'invalid_schedule' || err.code === 'invalid_input')) {
    // "invalid schedule: cron expression …": the lead-in already says it is not saved.
    let detail = err.problem.detail.replace(/^invalid schedule:\s*/i, '');
    const fields = (err.problem.errors ?? []).map((e) => [e.location, e.message].filter(Boolean).join(': ')).filter(Boolean);
    if (fields.length > 0) detail = `${detail} (${fields.join('; ')})`;
    return t('schedule.error_invalid', { detail });
  }
  return t(errorMessageKey(err instanceof ApiError ? err.code : undefined));
}

function runKey(run: LastRun | null | undefined): string {
  return run ? `${run.slot} ${run.at} ${run.outcome}` : '';
}

const englishT = createTranslator('en');

/**
 * Shows the provision's backup schedule and lets the customer add, change,
 * pause, resume and delete it. Fetches on mount; while the schedule is active
 * it looks again just after each next run time (and every pollIntervalMs while
 * a due run is not recorded yet), and calls onRun when the schedule has run.
 */
export function ScheduleSection({
  orderId,
  provisionId,
  api,
  t = englishT,
  locale,
  timeZone,
  backups,
  onRun,
  pollIntervalMs = DEFAULT_DUE_POLL_INTERVAL_MS,
}: ScheduleSectionProps) {
  // undefined until the first load answers; null when there is no schedule.
  const [schedule, setSchedule] = useState<Schedule | null | undefined>(undefined);
  const [unavailable, setUnavailable] = useState(false);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [loads, setLoads] = useState(0);
  const [editing, setEditing] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  // Refused patterns are explained under their field rather than the buttons.
  const [excludesError, setExcludesError] = useState<string | null>(null);
  const [banner, setBanner] = useState<string | null>(null);
  const [busy, setBusy] = useState<'save' | 'toggle' | 'delete' | null>(null);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState('');

  const headingId = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);
  // The Edit or Add button, whichever is shown: focus goes back to it when the form closes.
  const primaryRef = useRef<HTMLButtonElement>(null);
  const focusPrimary = useRef(false);

  const mounted = useRef(true);
  const latestLoad = useRef(0);
  const inFlight = useRef<AbortController | null>(null);
  const apiRef = useRef(api);
  apiRef.current = api;
  const onRunRef = useRef(onRun);
  onRunRef.current = onRun;
  // The last run the section has shown, so that a new one can be told apart;
  // null before the first load.
  const seenRun = useRef<string | null>(null);

  // accept shows a schedule the server sent, and tells the host when it has
  // run since the last one.
  const accept = useCallback((next: Schedule | null) => {
    const key = runKey(next?.last_run);
    const before = seenRun.current;
    seenRun.current = key;
    setSchedule(next);
    if (before !== null && key !== before && next?.last_run) onRunRef.current?.(next.last_run);
  }, []);

  const load = useCallback(async () => {
    const seq = ++latestLoad.current;
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    try {
      const found = await apiRef.current.getSchedule(orderId, provisionId, controller.signal);
      if (!mounted.current || seq !== latestLoad.current) return;
      accept(found);
      setLoadError(null);
    } catch (err) {
      if (!mounted.current || seq !== latestLoad.current || controller.signal.aborted) return;
      if (err instanceof ApiError && err.code === 'schedules_unavailable') setUnavailable(true);
      else setLoadError(err instanceof ApiError ? err : new ApiError(String(err), 0));
    } finally {
      if (mounted.current && seq === latestLoad.current) setLoads((n) => n + 1);
    }
  }, [orderId, provisionId, accept]);

  // A write's answer is newer than any load still in flight: that load must
  // not put back what was there before.
  const supersedeLoads = () => {
    latestLoad.current++;
    inFlight.current?.abort();
  };

  useEffect(() => {
    mounted.current = true;
    seenRun.current = null;
    void load();
    return () => {
      mounted.current = false;
      inFlight.current?.abort();
    };
  }, [load]);

  // Look again just after the next run, and then every pollIntervalMs until
  // the server has recorded it (and moved the next run on).
  const broken = loadError !== null && loadError.status >= 400 && loadError.status < 500;
  useEffect(() => {
    if (!schedule?.enabled || !schedule.next_run_at || broken || unavailable) return;
    const next = Date.parse(schedule.next_run_at);
    if (Number.isNaN(next)) return;
    const wait = next - Date.now();
    const delay = wait > 0 ? Math.min(wait + AFTER_NEXT_RUN_MS, MAX_REFRESH_DELAY_MS) : pollIntervalMs;
    const timer = setTimeout(() => void load(), delay);
    return () => clearTimeout(timer);
  }, [schedule, loads, broken, unavailable, pollIntervalMs, load]);

  useEffect(() => {
    if (focusPrimary.current && !editing) {
      focusPrimary.current = false;
      (primaryRef.current ?? headingRef.current)?.focus();
    }
  });

  const openForm = () => {
    setFormError(null);
    setExcludesError(null);
    setBanner(null);
    setEditing(true);
  };
  const closeForm = () => {
    setEditing(false);
    setFormError(null);
    setExcludesError(null);
    focusPrimary.current = true;
  };

  const save = async (settings: ScheduleSettings) => {
    setBusy('save');
    setFormError(null);
    setExcludesError(null);
    try {
      const saved = await apiRef.current.putSchedule(orderId, provisionId, settings);
      if (!mounted.current) return;
      supersedeLoads();
      accept(saved);
      setEditing(false);
      focusPrimary.current = true;
      setAnnouncement(t('schedule.saved'));
    } catch (err) {
      if (!mounted.current) return;
      const excludesText = invalidExcludesText(err, t);
      if (err instanceof ApiError && err.code === 'schedules_unavailable') setUnavailable(true);
      else if (excludesText !== null) setExcludesError(excludesText);
      else setFormError(scheduleErrorText(err, t));
    } finally {
      if (mounted.current) setBusy(null);
    }
  };

  // Pausing and resuming take no confirmation: each undoes the other.
  const setEnabled = async (current: Schedule, enabled: boolean) => {
    setBusy('toggle');
    setBanner(null);
    try {
      const saved = await apiRef.current.putSchedule(orderId, provisionId, settingsFromSchedule(current, enabled));
      if (!mounted.current) return;
      supersedeLoads();
      accept(saved);
      setAnnouncement(`${t('schedule.heading')}: ${t(saved.enabled ? 'schedule.state_active' : 'schedule.state_paused')}`);
    } catch (err) {
      if (!mounted.current) return;
      if (err instanceof ApiError && err.code === 'schedules_unavailable') setUnavailable(true);
      else {
        setBanner(scheduleErrorText(err, t));
        void load();
      }
    } finally {
      if (mounted.current) setBusy(null);
    }
  };

  const confirmDelete = async () => {
    setBusy('delete');
    setDeleteError(null);
    try {
      await apiRef.current.deleteSchedule(orderId, provisionId);
    } catch (err) {
      // Already gone (deleted elsewhere) is what was asked for.
      if (!(err instanceof ApiError && err.code === 'schedule_not_found')) {
        if (mounted.current) {
          setDeleteError(scheduleErrorText(err, t));
          setBusy(null);
        }
        return;
      }
    }
    if (!mounted.current) return;
    supersedeLoads();
    accept(null);
    setConfirmingDelete(false);
    setBusy(null);
    setAnnouncement(t('schedule.deleted'));
  };

  if (unavailable) {
    return (
      <p className="schedule__unavailable" data-testid="schedule-unavailable">
        {t('schedule.unavailable')}
      </p>
    );
  }

  const defaultZone = timeZone ?? browserTimeZone();
  const lastBackupName = (run: LastRun) => (run.backup_id ? backups?.find((b) => b.id === run.backup_id)?.name : undefined);

  return (
    <section className="schedule" aria-labelledby={headingId} aria-busy={schedule === undefined || undefined} data-testid="schedule-section">
      <div className="schedule__header">
        <h3 id={headingId} ref={headingRef} tabIndex={-1}>
          {t('schedule.heading')}
        </h3>
        {schedule ? (
          <span className={`badge badge--${schedule.enabled ? 'active' : 'paused'}`} data-testid="schedule-state">
            {t(schedule.enabled ? 'schedule.state_active' : 'schedule.state_paused')}
          </span>
        ) : null}
        {!editing && schedule !== undefined ? (
          <div className="schedule__actions">
            {schedule ? (
              <>
                <button type="button" className="button" ref={primaryRef} onClick={openForm} disabled={busy !== null}>
                  {t('schedule.edit')}
                </button>
                {/* Not disabled while its own request runs: a disabled button loses
                    focus, and the keyboard user their place. */}
                <button
                  type="button"
                  className="button"
                  aria-disabled={busy !== null || undefined}
                  aria-busy={busy === 'toggle' || undefined}
                  onClick={() => {
                    if (busy === null) void setEnabled(schedule, !schedule.enabled);
                  }}
                >
                  {t(schedule.enabled ? 'schedule.pause' : 'schedule.resume')}
                </button>
                <button
                  type="button"
                  className="button button--danger"
                  disabled={busy !== null}
                  onClick={() => {
                    setDeleteError(null);
                    setConfirmingDelete(true);
                  }}
                >
                  {t('schedule.delete')}
                </button>
              </>
            ) : (
              <button type="button" className="button" ref={primaryRef} onClick={openForm}>
                {t('schedule.add')}
              </button>
            )}
          </div>
        ) : null}
      </div>

      <div className="visually-hidden" aria-live="polite" data-testid="schedule-announcer">
        {announcement}
      </div>

      {banner ? (
        <div role="alert" className="notice notice--error">
          <span>{banner}</span>{' '}
          <button type="button" className="button button--link" onClick={() => setBanner(null)}>
            {t('backups.dismiss')}
          </button>
        </div>
      ) : null}

      {loadError ? (
        <div role="alert" className="notice notice--error">
          <span>{t('schedule.error_load')}</span>{' '}
          <button type="button" className="button button--link" onClick={() => void load()}>
            {t('schedule.retry')}
          </button>
        </div>
      ) : null}

      {schedule === undefined ? (
        loadError ? null : <p className="schedule__muted">{t('schedule.loading')}</p>
      ) : editing ? (
        <ScheduleForm
          initial={draftFor(schedule, defaultZone)}
          isNew={schedule === null}
          busy={busy === 'save'}
          error={formError}
          excludesError={excludesError}
          onSubmit={(settings) => void save(settings)}
          onCancel={closeForm}
          t={t}
          locale={locale}
        />
      ) : schedule === null ? (
        <div className="schedule__none" data-testid="schedule-none">
          <p className="schedule__none-title">{t('schedule.none')}</p>
          <p className="schedule__muted">{t('schedule.none_hint')}</p>
        </div>
      ) : (
        <dl className="schedule__summary">
          <div>
            <dt>{t('schedule.when')}</dt>
            <dd data-testid="schedule-when">{describeCron(schedule.cron, t, locale)}</dd>
          </div>
          <div>
            <dt>{t('schedule.next_run')}</dt>
            <dd data-testid="schedule-next-run">
              {!schedule.enabled ? (
                t('schedule.next_run_paused')
              ) : schedule.next_run_at ? (
                <time dateTime={schedule.next_run_at}>
                  {t('schedule.next_run_at', { time: formatTimeInZone(schedule.next_run_at, locale, schedule.time_zone), zone: schedule.time_zone })}
                </time>
              ) : (
                t('schedule.next_run_never')
              )}
            </dd>
          </div>
          <div>
            <dt>{t('schedule.last_run')}</dt>
            <dd data-testid="schedule-last-run">
              {schedule.last_run ? <LastRunText run={schedule.last_run} name={lastBackupName(schedule.last_run)} zone={schedule.time_zone} t={t} locale={locale} /> : t('schedule.last_run_none')}
            </dd>
          </div>
          <div>
            <dt>{t('schedule.retention')}</dt>
            <dd data-testid="schedule-retention">{describeRetention(schedule.retention, t, locale)}</dd>
          </div>
          <div>
            <dt>{t('schedule.names')}</dt>
            <dd>{schedule.name_template}</dd>
          </div>
          {schedule.excludes && schedule.excludes.length > 0 ? (
            <div>
              <dt>{t('schedule.excludes')}</dt>
              <dd data-testid="schedule-excludes" title={schedule.excludes.join('\n')}>
                <ExcludesSummaryText patterns={schedule.excludes} t={t} />
              </dd>
            </div>
          ) : null}
        </dl>
      )}

      <Dialog
        open={confirmingDelete}
        title={t('schedule.confirm_delete_title')}
        description={t('schedule.confirm_delete_body')}
        onDismiss={() => setConfirmingDelete(false)}
        busy={busy === 'delete'}
        fallbackFocus={() => primaryRef.current ?? headingRef.current}
      >
        {deleteError ? (
          <p role="alert" className="notice notice--error">
            {deleteError}
          </p>
        ) : null}
        <div className="dialog__buttons">
          {/* Cancel takes focus first: Enter on a destructive dialog should not destroy. */}
          <button type="button" className="button" onClick={() => setConfirmingDelete(false)} disabled={busy === 'delete'} data-autofocus>
            {t('backups.cancel')}
          </button>
          <button
            type="button"
            className="button button--danger"
            disabled={busy === 'delete'}
            aria-busy={busy === 'delete' || undefined}
            onClick={() => void confirmDelete()}
          >
            {t('backups.action_delete')}
          </button>
        </div>
      </Dialog>
    </section>
  );
}

/** The last run: its outcome (a badge with a shape), when, and the backup it made or why it made none. */
function LastRunText({ run, name, zone, t, locale }: { run: LastRun; name: string | undefined; zone: string; t: Translate; locale?: string }) {
  return (
    <>
      <span className={`badge badge--run-${run.outcome}`} data-testid="schedule-outcome">
        <span className="badge__icon" aria-hidden="true">
          {outcomeIcons[run.outcome]}
        </span>
        {t(outcomeKeys[run.outcome])}
      </span>{' '}
      <time dateTime={run.at}>{t('schedule.next_run_at', { time: formatTimeInZone(run.at, locale, zone), zone })}</time>
      {run.outcome === 'started' && name ? <> · {t('schedule.last_run_made', { name })}</> : null}
      {run.reason ? <span className="schedule__reason">{t('schedule.last_run_reason', { reason: run.reason })}</span> : null}
    </>
  );
}

// The schedule's patterns, the first few of them, and how many more.
function ExcludesSummaryText({ patterns, t }: { patterns: readonly string[]; t: Translate }) {
  const { shown, more } = summarizeExcludes(patterns);
  return <>{more > 0 ? t('schedule.excludes_more', { patterns: shown, count: more }) : shown}</>;
}

interface ScheduleFormProps {
  initial: ScheduleDraft;
  isNew: boolean;
  busy: boolean;
  error: string | null;
  /** Why the server refused the exclude patterns. */
  excludesError: string | null;
  onSubmit: (settings: ScheduleSettings) => void;
  onCancel: () => void;
  t: Translate;
  locale?: string;
}

// The known IANA zones, for the time zone field's suggestions; the server
// checks the name, so a zone this browser does not list can still be typed.
function knownTimeZones(): string[] {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return [];
  }
}

/**
 * The add/edit form. It keeps what the customer typed for as long as it is
 * open: a refused save leaves every field as it was, with the reason beside
 * the buttons. Escape is left to the fields (it closes a select's list or the
 * time zone suggestions), so that it never throws the form away.
 */
function ScheduleForm({ initial, isNew, busy, error, excludesError, onSubmit, onCancel, t, locale }: ScheduleFormProps) {
  const [draft, setDraft] = useState(initial);
  const ids = {
    title: useId(),
    kind: useId(),
    preview: useId(),
    time: useId(),
    weekday: useId(),
    every: useId(),
    custom: useId(),
    customHint: useId(),
    zone: useId(),
    zoneHint: useId(),
    zones: useId(),
    template: useId(),
    templateHint: useId(),
    retentionHint: useId(),
    enabled: useId(),
    enabledHint: useId(),
    error: useId(),
  };
  const retentionIds = { keep_last: useId(), keep_daily: useId(), keep_weekly: useId(), keep_monthly: useId() };
  const firstRef = useRef<HTMLSelectElement>(null);
  const [zones] = useState(knownTimeZones);

  useEffect(() => {
    firstRef.current?.focus();
  }, []);

  const update = (patch: Partial<ScheduleDraft>) => setDraft((d) => ({ ...d, ...patch }));

  const changeKind = (kind: PresetKind) =>
    setDraft((d) => {
      // A custom expression starts from what the preset made, to edit rather than retype.
      if (kind === 'custom' && d.custom.trim() === '') {
        const preset = presetOf(d);
        return { ...d, kind, custom: preset ? cronFromPreset(preset) : '' };
      }
      return { ...d, kind };
    });

  const preset = presetOf(draft);
  const preview = draft.kind !== 'custom' && preset ? cronFromPreset(preset) : null;
  const errorRef = error ? ids.error : undefined;
  const describedBy = (...parts: (string | undefined | false)[]) => parts.filter(Boolean).join(' ') || undefined;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!busy) onSubmit(settingsFromDraft(draft));
  };

  return (
    <form className="schedule__form" onSubmit={submit} aria-labelledby={ids.title} aria-describedby={errorRef} data-testid="schedule-form">
      <h4 id={ids.title} className="schedule__form-title">
        {t(isNew ? 'schedule.form_add' : 'schedule.form_edit')}
      </h4>

      <div className="schedule__when">
        <div className="field">
          <label htmlFor={ids.kind}>{t('schedule.repeat_label')}</label>
          <select
            id={ids.kind}
            ref={firstRef}
            value={draft.kind}
            onChange={(e) => changeKind(e.target.value as PresetKind)}
            aria-describedby={describedBy(preview !== null && ids.preview)}
          >
            {(Object.keys(presetLabels) as PresetKind[]).map((kind) => (
              <option key={kind} value={kind}>
                {t(presetLabels[kind])}
              </option>
            ))}
          </select>
        </div>

        {draft.kind === 'hours' ? (
          <div className="field">
            <label htmlFor={ids.every}>{t('schedule.hours_label')}</label>
            <select id={ids.every} value={draft.every} onChange={(e) => update({ every: Number(e.target.value) })} aria-describedby={ids.preview}>
              {HOUR_STEPS.map((n) => (
                <option key={n} value={n}>
                  {formatCount(n, 'hour', locale)}
                </option>
              ))}
            </select>
          </div>
        ) : null}

        {draft.kind === 'weekly' ? (
          <div className="field">
            <label htmlFor={ids.weekday}>{t('schedule.weekday_label')}</label>
            <select id={ids.weekday} value={draft.weekday} onChange={(e) => update({ weekday: Number(e.target.value) })}>
              {WEEKDAYS.map((d) => (
                <option key={d} value={d}>
                  {weekdayName(d, locale)}
                </option>
              ))}
            </select>
          </div>
        ) : null}

        {draft.kind === 'daily' || draft.kind === 'weekly' ? (
          <div className="field">
            <label htmlFor={ids.time}>{t('schedule.time_label')}</label>
            <input
              id={ids.time}
              type="time"
              required
              value={draft.time}
              onChange={(e) => update({ time: e.target.value })}
              aria-describedby={describedBy(preview !== null && ids.preview, ids.zoneHint)}
            />
          </div>
        ) : null}

        {draft.kind === 'custom' ? (
          <div className="field field--wide">
            <label htmlFor={ids.custom}>{t('schedule.custom_label')}</label>
            <input
              id={ids.custom}
              type="text"
              required
              maxLength={MAX_CRON_LENGTH}
              autoComplete="off"
              spellCheck={false}
              className="schedule__code"
              value={draft.custom}
              onChange={(e) => update({ custom: e.target.value })}
              aria-describedby={describedBy(ids.customHint, errorRef)}
            />
            <p id={ids.customHint} className="schedule__hint">
              {t('schedule.custom_hint')}
            </p>
          </div>
        ) : null}
      </div>

      {preview !== null ? (
        <p id={ids.preview} className="schedule__hint" data-testid="cron-preview">
          {t('schedule.cron_preview', { cron: preview })}
        </p>
      ) : null}

      <div className="field field--wide">
        <label htmlFor={ids.zone}>{t('schedule.time_zone_label')}</label>
        <input
          id={ids.zone}
          type="text"
          required
          maxLength={MAX_TIME_ZONE_LENGTH}
          autoComplete="off"
          spellCheck={false}
          list={zones.length > 0 ? ids.zones : undefined}
          value={draft.timeZone}
          onChange={(e) => update({ timeZone: e.target.value })}
          aria-describedby={describedBy(ids.zoneHint, errorRef)}
        />
        {zones.length > 0 ? (
          <datalist id={ids.zones}>
            {zones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        ) : null}
        <p id={ids.zoneHint} className="schedule__hint">
          {t('schedule.time_zone_hint')}
        </p>
      </div>

      <div className="field field--wide">
        <label htmlFor={ids.template}>{t('schedule.name_template_label')}</label>
        <input
          id={ids.template}
          type="text"
          maxLength={MAX_NAME_TEMPLATE_LENGTH}
          autoComplete="off"
          placeholder={DEFAULT_NAME_TEMPLATE}
          value={draft.nameTemplate}
          onChange={(e) => update({ nameTemplate: e.target.value })}
          aria-describedby={describedBy(ids.templateHint, errorRef)}
        />
        <p id={ids.templateHint} className="schedule__hint">
          {t('schedule.name_template_hint')}
        </p>
      </div>

      <ExcludesField value={draft.excludes} onChange={(excludes) => update({ excludes })} error={excludesError} t={t} />

      <fieldset className="schedule__retention">
        <legend>{t('schedule.retention_legend')}</legend>
        <p id={ids.retentionHint} className="schedule__hint">
          {t('schedule.retention_hint')}
        </p>
        <div className="schedule__retention-fields">
          {retentionKeys.map((key) => (
            <div className="field" key={key}>
              <label htmlFor={retentionIds[key]}>{t(retentionLabels[key])}</label>
              <input
                id={retentionIds[key]}
                type="number"
                inputMode="numeric"
                min={0}
                max={MAX_RETENTION_COUNT}
                step={1}
                value={draft.keep[key]}
                onChange={(e) => setDraft((d) => ({ ...d, keep: { ...d.keep, [key]: e.target.value } }))}
                aria-describedby={ids.retentionHint}
              />
            </div>
          ))}
        </div>
      </fieldset>

      <div className="field field--check">
        <input id={ids.enabled} type="checkbox" checked={draft.enabled} onChange={(e) => update({ enabled: e.target.checked })} aria-describedby={ids.enabledHint} />
        <label htmlFor={ids.enabled}>{t('schedule.enabled_label')}</label>
        <p id={ids.enabledHint} className="schedule__hint">
          {t('schedule.enabled_hint')}
        </p>
      </div>

      {error ? (
        <p id={ids.error} role="alert" className="notice notice--error" data-testid="schedule-form-error">
          {error}
        </p>
      ) : null}

      <div className="dialog__buttons">
        <button type="button" className="button" onClick={onCancel} disabled={busy}>
          {t('backups.cancel')}
        </button>
        <button type="submit" className="button button--primary" disabled={busy} aria-busy={busy || undefined} aria-describedby={errorRef}>
          {t('schedule.save')}
        </button>
      </div>
    </form>
  );
}

export default ScheduleSection;
