// The backups section of a host's order detail page.
// A host dashboard lifts this file with client.ts, dialog.tsx,
// excludes-field.tsx, format.ts, i18n.ts, schedule-section.tsx and
// schedule-presets.ts: it passes the order and provision, an API (createBackupsApi over
// its own base URL and token, or its own implementation) and its translator.
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';

import { ApiError, type Backup, type BackupStatus, type BackupsApi, type DownloadedFile } from './client';
import { Dialog } from './dialog';
import { ExcludesField, invalidExcludesText, parseExcludes, summarizeExcludes } from './excludes-field';
import { formatDuration, formatElapsed, formatPercent, formatSize, formatTime } from './format';
import { createTranslator, errorMessageKey, type MessageKey, type Translate } from './i18n';
import { ScheduleSection } from './schedule-section';

/** The longest backup name the API accepts (the name's maxLength in openapi.yaml). */
export const MAX_NAME_LENGTH = 100;

/**
 * How often the list is refetched while a backup is creating or restoring. The
 * server saves an operation's progress at most once a second: polling faster
 * would fetch the same numbers again, and slower would make the bar jump.
 */
export const DEFAULT_POLL_INTERVAL_MS = 1000;

/**
 * How long an operation must have run before its time left is estimated: the
 * first second's rate says more about start-up than about the rest.
 */
export const MIN_ESTIMATE_ELAPSED_MS = 2000;

/** Props of BackupsContent. */
export interface BackupsContentProps {
  orderId: string;
  /** The order's primary game-server provision. */
  provisionId: string;
  api: BackupsApi;
  /** Translates the component's message keys; defaults to English. */
  t?: Translate;
  /** BCP 47 locale for sizes and times; defaults to the browser's. */
  locale?: string;
  /** IANA time zone for times; defaults to the browser's. */
  timeZone?: string;
  /** Defaults to DEFAULT_POLL_INTERVAL_MS. */
  pollIntervalMs?: number;
  /** Hands a downloaded archive to the user; defaults to saveFile (a download via an object URL). */
  onDownloaded?: (file: DownloadedFile, fallbackName: string) => void;
  /**
   * Called with the list each time the section has a new one: after every
   * load (every poll too) and every change the customer made. A host bumps
   * ActivityPanel's refreshKey here, so the log follows the table.
   */
  onBackupsChange?: (backups: Backup[]) => void;
}

/** Whether a backup's status means an operation is running on it. */
export function isInProgress(status: BackupStatus): boolean {
  return status === 'creating' || status === 'restoring';
}

/** The actions the table offers, and when each is enabled. */
export const actionRules = {
  download: (b: Backup) => b.status === 'ready' && b.asset_id != null,
  // A restore while another operation runs would be refused (operation_in_progress).
  restore: (b: Backup, operationInProgress: boolean) => b.status === 'ready' && !operationInProgress,
  // The server refuses to delete a locked backup (backup_locked), whatever its status.
  delete: (b: Backup) => (b.status === 'ready' || b.status === 'failed') && !b.locked,
} as const;

/** Backup['progress'] without its null: how far a running operation has got. */
export type Progress = NonNullable<Backup['progress']>;

/** What the progress bar shows: a whole percentage and the time left, each null when not known. */
export interface ProgressEstimate {
  /** 0–100, or null when the total is not known (the bar is indeterminate). */
  percent: number | null;
  /** The estimated time left in milliseconds, or null until there is enough to go on. */
  remainingMs: number | null;
}

/**
 * Estimates a running operation's percentage and time left at nowMs, assuming
 * it goes on at its average rate so far (done / elapsed). The percentage is
 * rounded down and clamped to 0–100, so it says 100 only when all is done.
 */
export function estimateProgress(progress: Progress | null | undefined, nowMs: number): ProgressEstimate {
  if (!progress || !(progress.total_bytes > 0)) return { percent: null, remainingMs: null };
  const { done_bytes: done, total_bytes: total } = progress;
  const percent = Math.min(100, Math.max(0, Math.floor((done / total) * 100)));
  // A clock behind the server's gives a short or negative elapsed time (NaN
  // for an unparsable start): no estimate rather than a wild one.
  const elapsed = nowMs - Date.parse(progress.started_at);
  if (!(done > 0 && done < total && elapsed >= MIN_ESTIMATE_ELAPSED_MS)) return { percent, remainingMs: null };
  const rate = done / elapsed;
  return { percent, remainingMs: (total - done) / rate };
}

type DialogState = { kind: 'create' } | { kind: 'delete'; backup: Backup } | { kind: 'restore'; backup: Backup } | null;

const statusKeys: Record<BackupStatus, MessageKey> = {
  creating: 'backups.status_creating',
  ready: 'backups.status_ready',
  failed: 'backups.status_failed',
  restoring: 'backups.status_restoring',
};

// Shapes beside the status text, so the status never depends on colour alone.
const statusIcons: Record<BackupStatus, string> = {
  creating: '◔',
  ready: '✓',
  failed: '✕',
  restoring: '↻',
};

const englishT = createTranslator('en');

/**
 * Lists a provision's backups and lets the customer create, download, restore
 * and delete them. Fetches on mount, and refetches every pollIntervalMs while
 * any backup is creating or restoring; it stops when none is, and on unmount.
 */
export function BackupsContent({
  orderId,
  provisionId,
  api,
  t = englishT,
  locale,
  timeZone,
  pollIntervalMs = DEFAULT_POLL_INTERVAL_MS,
  onDownloaded = saveFile,
  onBackupsChange,
}: BackupsContentProps) {
  const [backups, setBackups] = useState<Backup[] | null>(null);
  // How many backups the provision may hold: the server says, with every list.
  const [limit, setLimit] = useState(0);
  // Bumped after every finished load, so the poll timer re-arms even when the
  // list came back unchanged.
  const [loads, setLoads] = useState(0);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [banner, setBanner] = useState<MessageKey | null>(null);
  const [dialog, setDialog] = useState<DialogState>(null);
  const [dialogError, setDialogError] = useState<MessageKey | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [downloading, setDownloading] = useState<ReadonlySet<string>>(new Set());
  const [locking, setLocking] = useState<ReadonlySet<string>>(new Set());
  const [name, setName] = useState('');
  const [excludes, setExcludes] = useState('');
  // The server's refusal of the patterns, shown under their field.
  const [excludesError, setExcludesError] = useState<string | null>(null);

  const headingId = useId();
  const reasonId = useId();
  const nameId = useId();
  const nameHintId = useId();
  const headingRef = useRef<HTMLHeadingElement>(null);

  // Only the newest load may write the list: a poll that was already in
  // flight when the customer created a backup must not put back the old list.
  const latestLoad = useRef(0);
  const mounted = useRef(true);
  const inFlight = useRef<AbortController | null>(null);
  // The API through a ref: a host that builds a new client on every render
  // must not make the section refetch on every render.
  const apiRef = useRef(api);
  apiRef.current = api;

  const load = useCallback(async () => {
    const seq = ++latestLoad.current;
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    try {
      const list = await apiRef.current.list(orderId, provisionId, controller.signal);
      if (!mounted.current || seq !== latestLoad.current) return;
      setBackups(list.backups);
      setLimit(list.limit);
      setLoadError(null);
    } catch (err) {
      if (!mounted.current || seq !== latestLoad.current || controller.signal.aborted) return;
      setLoadError(err instanceof ApiError ? err : new ApiError(String(err), 0));
    } finally {
      if (mounted.current && seq === latestLoad.current) setLoads((n) => n + 1);
    }
  }, [orderId, provisionId]);

  useEffect(() => {
    mounted.current = true;
    void load();
    return () => {
      mounted.current = false;
      inFlight.current?.abort();
    };
  }, [load]);

  // Through a ref: a host's new callback on every render must not count as a change of the list.
  const onBackupsChangeRef = useRef(onBackupsChange);
  onBackupsChangeRef.current = onBackupsChange;
  useEffect(() => {
    if (backups) onBackupsChangeRef.current?.(backups);
  }, [backups]);

  // Polling changes the table silently; say what changed for screen readers.
  const [announcement, setAnnouncement] = useState('');
  const lastStatuses = useRef<Map<string, BackupStatus> | null>(null);
  useEffect(() => {
    if (!backups) return;
    const before = lastStatuses.current;
    lastStatuses.current = new Map(backups.map((b) => [b.id, b.status]));
    if (!before) return;
    const changes = backups
      .filter((b) => before.has(b.id) && before.get(b.id) !== b.status)
      .map((b) => t('backups.status_changed', { name: b.name, status: t(statusKeys[b.status]) }));
    if (changes.length > 0) setAnnouncement(changes.join(' '));
  }, [backups, t]);

  const operationInProgress = backups?.some((b) => isInProgress(b.status)) ?? false;
  // A client error (expired token, order gone) will not fix itself by asking again.
  const pollingBroken = loadError !== null && loadError.status >= 400 && loadError.status < 500;

  useEffect(() => {
    if (!operationInProgress || pollingBroken) return;
    const timer = setTimeout(() => void load(), pollIntervalMs);
    return () => clearTimeout(timer);
  }, [operationInProgress, pollingBroken, loads, pollIntervalMs, load]);

  const count = backups?.length ?? 0;
  const atLimit = count >= limit;
  const createDisabledReason: string | null = atLimit
    ? t('backups.limit_reached', { limit })
    : operationInProgress
      ? t('backups.error_in_progress')
      : null;
  const createDisabled = backups === null || createDisabledReason !== null;

  const openDialog = (next: Exclude<DialogState, null>) => {
    setDialogError(null);
    setExcludesError(null);
    setBanner(null);
    if (next.kind === 'create') {
      setName('');
      setExcludes('');
    }
    setDialog(next);
  };
  const closeDialog = () => {
    setDialog(null);
    setDialogError(null);
  };

  // replace puts the server's view of one backup into the list at once, so
  // the customer sees its new status without waiting for the refetch.
  const replace = (updated: Backup) =>
    setBackups((list) => {
      if (!list) return [updated];
      return list.some((b) => b.id === updated.id) ? list.map((b) => (b.id === updated.id ? updated : b)) : [updated, ...list];
    });

  // explain may show an error where it belongs (beside a field) and say so;
  // anything it leaves gets the dialog's message.
  const run = async (action: () => Promise<void>, explain?: (err: unknown) => boolean) => {
    setSubmitting(true);
    setDialogError(null);
    try {
      await action();
      if (mounted.current) setDialog(null);
    } catch (err) {
      if (!mounted.current) return;
      if (explain?.(err)) return;
      setDialogError(errorMessageKey(err instanceof ApiError ? err.code : undefined));
    } finally {
      if (mounted.current) setSubmitting(false);
      // Whatever happened, show the server's current state (a conflict
      // usually means the list here is out of date).
      if (mounted.current) void load();
    }
  };

  const submitCreate = (e: FormEvent) => {
    e.preventDefault();
    setExcludesError(null);
    const patterns = parseExcludes(excludes);
    void run(
      async () => {
        const trimmed = name.trim() || undefined;
        // No options at all without patterns: a host's own API need not know them.
        const created = patterns.length > 0 ? await api.create(orderId, provisionId, trimmed, { excludes: patterns }) : await api.create(orderId, provisionId, trimmed);
        if (mounted.current) replace(created);
      },
      (err) => {
        const text = invalidExcludesText(err, t);
        if (text !== null) setExcludesError(text);
        return text !== null;
      },
    );
  };

  const confirmDelete = (backup: Backup) =>
    run(async () => {
      await api.remove(orderId, provisionId, backup.id);
      if (mounted.current) setBackups((list) => list?.filter((b) => b.id !== backup.id) ?? null);
    });

  const confirmRestore = (backup: Backup) =>
    run(async () => {
      const restoring = await api.restore(orderId, provisionId, backup.id);
      if (mounted.current) replace(restoring);
    });

  const download = async (backup: Backup) => {
    if (!backup.asset_id) return;
    setBanner(null);
    setDownloading((s) => new Set(s).add(backup.id));
    try {
      const file = await api.download(backup.asset_id);
      onDownloaded(file, `${backup.name}.tar.gz`);
    } catch (err) {
      if (mounted.current) setBanner(errorMessageKey(err instanceof ApiError ? err.code : undefined));
    } finally {
      if (mounted.current)
        setDownloading((s) => {
          const next = new Set(s);
          next.delete(backup.id);
          return next;
        });
    }
  };

  // Locking takes no confirmation: it only ever protects, and it is undone the
  // same way.
  const toggleLock = async (backup: Backup) => {
    setBanner(null);
    setLocking((s) => new Set(s).add(backup.id));
    try {
      const updated = await api.setLocked(orderId, provisionId, backup.id, !backup.locked);
      if (mounted.current) replace(updated);
    } catch (err) {
      if (!mounted.current) return;
      setBanner(errorMessageKey(err instanceof ApiError ? err.code : undefined));
      void load();
    } finally {
      if (mounted.current)
        setLocking((s) => {
          const next = new Set(s);
          next.delete(backup.id);
          return next;
        });
    }
  };

  // Two sections on one page may list the same backup: the section's own ID
  // keeps each hint's ID unique.
  const lockHintId = (backup: Backup) => `${headingId}-locked-${backup.id}`;

  const actionLabel = (action: MessageKey, backup: Backup) => t('backups.action_label', { action: t(action), name: backup.name });

  return (
    <section className="backups" aria-label={t('order_detail.section_backups')}>
      <div className="backups__header">
        <h2 id={headingId} ref={headingRef} tabIndex={-1}>
          {t('backups.heading')}
        </h2>
        <div className="backups__create">
          <button
            type="button"
            className="button button--primary"
            disabled={createDisabled}
            aria-describedby={createDisabledReason ? reasonId : undefined}
            onClick={() => openDialog({ kind: 'create' })}
          >
            {t('backups.create_button')}
          </button>
          {backups !== null ? (
            <span className="backups__count">{t('backups.count', { count, limit })}</span>
          ) : null}
        </div>
      </div>
      {createDisabledReason ? (
        <p id={reasonId} className="backups__reason" data-testid="create-disabled-reason">
          {createDisabledReason}
        </p>
      ) : null}

      {loadError ? (
        <p role="alert" className="notice notice--error">
          {t('backups.error_load')}
        </p>
      ) : null}
      {banner ? (
        <div role="alert" className="notice notice--error">
          <span>{t(banner, { limit })}</span>{' '}
          <button type="button" className="button button--link" onClick={() => setBanner(null)}>
            {t('backups.dismiss')}
          </button>
        </div>
      ) : null}

      <div className="visually-hidden" aria-live="polite" data-testid="announcer">
        {announcement}
      </div>

      {/* A run of the schedule makes (and may delete) backups: the list follows. */}
      <ScheduleSection
        orderId={orderId}
        provisionId={provisionId}
        api={api}
        t={t}
        locale={locale}
        timeZone={timeZone}
        backups={backups}
        onRun={() => void load()}
      />

      {backups === null ? (
        loadError ? null : (
          <p className="backups__loading" role="status">
            {t('backups.loading')}
          </p>
        )
      ) : backups.length === 0 ? (
        <p className="backups__empty">{t('backups.empty_state')}</p>
      ) : (
        <div className="backups__table-wrap">
          <table className="backups__table" aria-labelledby={headingId}>
            <thead>
              <tr>
                <th scope="col">{t('backups.column_name')}</th>
                <th scope="col" className="numeric">
                  {t('backups.column_size')}
                </th>
                <th scope="col">{t('backups.column_status')}</th>
                <th scope="col">{t('backups.column_created')}</th>
                <th scope="col">{t('backups.column_actions')}</th>
              </tr>
            </thead>
            <tbody>
              {backups.map((b) => (
                <tr key={b.id} data-backup-id={b.id} data-status={b.status}>
                  <th scope="row" className="backups__name">
                    {b.name}
                  </th>
                  <td className="numeric">{formatSize(b.size_bytes, locale) ?? t('backups.size_unknown')}</td>
                  <td>
                    <span className="backups__badges">
                      <span className={`badge badge--${b.status}`} data-testid="status-badge">
                        <span className="badge__icon" aria-hidden="true">
                          {statusIcons[b.status]}
                        </span>
                        {t(statusKeys[b.status])}
                      </span>
                      {b.schedule_id ? (
                        <span className="badge badge--scheduled" data-testid="scheduled-badge">
                          <ClockIcon />
                          {t('backups.scheduled')}
                        </span>
                      ) : null}
                      {b.locked ? (
                        <span className="badge badge--locked" data-testid="lock-badge">
                          <LockIcon />
                          {t('backups.locked')}
                        </span>
                      ) : null}
                    </span>
                    {b.error && (b.status === 'failed' || b.status === 'ready') ? (
                      <p className="backups__error">
                        {t(b.status === 'failed' ? 'backups.backup_failed' : 'backups.restore_failed', { error: b.error })}
                      </p>
                    ) : null}
                    <Warnings backup={b} t={t} />
                    <SkippedFiles backup={b} t={t} />
                    <BackupDetails backup={b} t={t} locale={locale} />
                    {isInProgress(b.status) ? <ProgressBar backup={b} t={t} locale={locale} /> : null}
                  </td>
                  <td>
                    <time dateTime={b.created_at}>{formatTime(b.created_at, locale, timeZone)}</time>
                  </td>
                  <td>
                    <div className="backups__actions">
                      <button
                        type="button"
                        className="button"
                        disabled={!actionRules.download(b) || downloading.has(b.id)}
                        aria-busy={downloading.has(b.id) || undefined}
                        aria-label={actionLabel('backups.action_download', b)}
                        onClick={() => void download(b)}
                      >
                        {t('backups.action_download')}
                      </button>
                      <button
                        type="button"
                        className="button"
                        disabled={!actionRules.restore(b, operationInProgress)}
                        aria-label={actionLabel('backups.action_restore', b)}
                        onClick={() => openDialog({ kind: 'restore', backup: b })}
                      >
                        {t('backups.action_restore')}
                      </button>
                      <button
                        type="button"
                        className="button"
                        disabled={locking.has(b.id)}
                        aria-busy={locking.has(b.id) || undefined}
                        aria-label={actionLabel(b.locked ? 'backups.action_unlock' : 'backups.action_lock', b)}
                        onClick={() => void toggleLock(b)}
                      >
                        {t(b.locked ? 'backups.action_unlock' : 'backups.action_lock')}
                      </button>
                      <button
                        type="button"
                        className="button button--danger"
                        disabled={!actionRules.delete(b)}
                        aria-label={actionLabel('backups.action_delete', b)}
                        aria-describedby={b.locked ? lockHintId(b) : undefined}
                        onClick={() => openDialog({ kind: 'delete', backup: b })}
                      >
                        {t('backups.action_delete')}
                      </button>
                    </div>
                    {b.locked ? (
                      <p id={lockHintId(b)} className="backups__hint" data-testid="delete-locked-hint">
                        {t('backups.delete_locked_hint')}
                      </p>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <Dialog
        open={dialog?.kind === 'create'}
        title={t('backups.create_dialog_title')}
        onDismiss={closeDialog}
        busy={submitting}
        fallbackFocus={() => headingRef.current}
      >
        <form onSubmit={submitCreate} className="dialog__form">
          <label htmlFor={nameId}>{t('backups.name_label')}</label>
          <input
            id={nameId}
            name="name"
            type="text"
            maxLength={MAX_NAME_LENGTH}
            autoComplete="off"
            value={name}
            onChange={(e) => setName(e.target.value)}
            aria-describedby={nameHintId}
            data-autofocus
          />
          <p id={nameHintId} className="dialog__hint">
            {t('backups.name_hint')}
          </p>
          <ExcludesField value={excludes} onChange={setExcludes} error={excludesError} t={t} />
          <DialogError error={dialogError} t={t} limit={limit} />
          <div className="dialog__buttons">
            <button type="button" className="button" onClick={closeDialog} disabled={submitting}>
              {t('backups.cancel')}
            </button>
            <button type="submit" className="button button--primary" disabled={submitting} aria-busy={submitting || undefined}>
              {t('backups.create_submit')}
            </button>
          </div>
        </form>
      </Dialog>

      <Dialog
        open={dialog?.kind === 'delete'}
        title={t('backups.confirm_delete_title')}
        description={dialog?.kind === 'delete' ? t('backups.confirm_delete_body', { name: dialog.backup.name }) : null}
        onDismiss={closeDialog}
        busy={submitting}
        fallbackFocus={() => headingRef.current}
      >
        <DialogError error={dialogError} t={t} limit={limit} />
        <div className="dialog__buttons">
          {/* Cancel takes focus first: Enter on a destructive dialog should not destroy. */}
          <button type="button" className="button" onClick={closeDialog} disabled={submitting} data-autofocus>
            {t('backups.cancel')}
          </button>
          <button
            type="button"
            className="button button--danger"
            disabled={submitting}
            aria-busy={submitting || undefined}
            onClick={() => dialog?.kind === 'delete' && void confirmDelete(dialog.backup)}
          >
            {t('backups.action_delete')}
          </button>
        </div>
      </Dialog>

      <Dialog
        open={dialog?.kind === 'restore'}
        title={t('backups.confirm_restore_title')}
        description={dialog?.kind === 'restore' ? t('backups.confirm_restore_body', { name: dialog.backup.name }) : null}
        onDismiss={closeDialog}
        busy={submitting}
        fallbackFocus={() => headingRef.current}
      >
        <DialogError error={dialogError} t={t} limit={limit} />
        <div className="dialog__buttons">
          <button type="button" className="button" onClick={closeDialog} disabled={submitting} data-autofocus>
            {t('backups.cancel')}
          </button>
          <button
            type="button"
            className="button button--primary"
            disabled={submitting}
            aria-busy={submitting || undefined}
            onClick={() => dialog?.kind === 'restore' && void confirmRestore(dialog.backup)}
          >
            {t('backups.action_restore')}
          </button>
        </div>
      </Dialog>
    </section>
  );
}

/**
 * What went wrong without failing the backup, such as the game not being
 * paused: a warning sign with the words, so it never depends on colour.
 */
function Warnings({ backup, t }: { backup: Backup; t: Translate }) {
  const warnings = backup.warnings ?? [];
  if (warnings.length === 0) return null;
  return (
    <ul className="backups__warnings" data-testid="backup-warnings">
      {warnings.map((w, i) => (
        <li key={i}>
          <span className="backups__warning-icon" aria-hidden="true">
            ⚠
          </span>{' '}
          {t('backups.warning', { warning: w })}
        </li>
      ))}
    </ul>
  );
}

/**
 * How the backup was made: how long the game was paused for it, and which
 * paths it left out (the first few; all of them in the tooltip).
 */
function BackupDetails({ backup, t, locale }: { backup: Backup; t: Translate; locale?: string }) {
  const paused = backup.quiesce ? formatElapsed(backup.quiesce.paused_ms, locale) : null;
  const excludes = backup.excludes ?? [];
  if (paused === null && excludes.length === 0) return null;
  const summary = summarizeExcludes(excludes);
  return (
    <>
      {paused !== null ? (
        <p className="backups__detail" data-testid="backup-quiesce">
          {t('backups.quiesce_paused', { duration: paused })}
        </p>
      ) : null}
      {excludes.length > 0 ? (
        <p className="backups__detail" data-testid="backup-excludes" title={summary.more > 0 || summary.shown !== excludes.join(', ') ? excludes.join('\n') : undefined}>
          {summary.more > 0 ? t('backups.excluded_more', { patterns: summary.shown, count: summary.more }) : t('backups.excluded', { patterns: summary.shown })}
        </p>
      ) : null}
    </>
  );
}

/**
 * Says how many files a ready backup had to skip, with the list (the server
 * keeps at most 100 of them) behind a disclosure, so the table stays compact.
 */
function SkippedFiles({ backup, t }: { backup: Backup; t: Translate }) {
  const count = backup.skipped_count ?? 0;
  if (count === 0) return null;
  const listed = backup.skipped ?? [];
  return (
    <details className="backups__skipped" data-testid="skipped-files">
      <summary>{count === 1 ? t('backups.skipped_one') : t('backups.skipped_many', { count })}</summary>
      <ul>
        {listed.map((s, i) => (
          <li key={i}>{t('backups.skipped_entry', { path: s.path, reason: s.reason })}</li>
        ))}
        {count > listed.length ? <li>{t('backups.skipped_more', { count: count - listed.length })}</li> : null}
      </ul>
    </details>
  );
}

/**
 * A running operation's progress: a bar with the percentage and, once it can
 * be estimated, the time left; an animated indeterminate bar while the total
 * is not known. The visible text repeats aria-valuetext, so it is hidden from
 * screen readers to be read once.
 */
function ProgressBar({ backup, t, locale }: { backup: Backup; t: Translate; locale?: string }) {
  const progress = backup.progress;
  const { percent, remainingMs } = estimateProgress(progress, Date.now());
  let text: string | null = null;
  if (percent !== null) {
    const shown = formatPercent(percent, locale);
    const duration = remainingMs === null ? null : formatDuration(remainingMs, locale);
    text = duration === null ? shown : t('backups.progress_remaining', { percent: shown, duration });
  } else if (progress && progress.done_bytes > 0) {
    text = t('backups.progress_so_far', { size: formatSize(progress.done_bytes, locale) ?? '' });
  }
  return (
    <div className={`progress${percent === null ? ' progress--indeterminate' : ''}`} data-testid="progress">
      <div
        className="progress__track"
        role="progressbar"
        aria-label={t('backups.progress_label', { name: backup.name })}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? undefined}
        aria-valuetext={text ?? undefined}
      >
        <div className="progress__fill" style={percent === null ? undefined : { width: `${percent}%` }} />
      </div>
      {text ? (
        <span className="progress__text" aria-hidden="true">
          {text}
        </span>
      ) : null}
    </div>
  );
}

// A padlock drawn rather than the emoji: not every system has a font with one.
function LockIcon() {
  return (
    <svg className="badge__icon" aria-hidden="true" focusable="false" width="12" height="12" viewBox="0 0 16 16" data-testid="lock-icon">
      <path
        fill="currentColor"
        d="M5 7V5a3 3 0 0 1 6 0v2h1a1 1 0 0 1 1 1v6a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1h1zm1.5 0h3V5a1.5 1.5 0 0 0-3 0v2z"
      />
    </svg>
  );
}

// A clock beside "Scheduled": the badge says who made the backup, not its status.
function ClockIcon() {
  return (
    <svg className="badge__icon" aria-hidden="true" focusable="false" width="12" height="12" viewBox="0 0 16 16" data-testid="clock-icon">
      <path
        fill="currentColor"
        d="M8 1.5a6.5 6.5 0 1 1 0 13 6.5 6.5 0 0 1 0-13zm0 1.5a5 5 0 1 0 0 10A5 5 0 0 0 8 3zm.75 1.75v3.04l2.1 1.4-.83 1.25-2.77-1.85V4.75h1.5z"
      />
    </svg>
  );
}

function DialogError({ error, t, limit }: { error: MessageKey | null; t: Translate; limit: number }) {
  if (!error) return null;
  return (
    <p role="alert" className="notice notice--error">
      {t(error, { limit })}
    </p>
  );
}

/**
 * Saves a downloaded file by clicking a temporary link to an object URL. The
 * archive is held in memory until saved: fine for the example server's small
 * worlds; a host serving multi-GB archives may prefer a cookie-authenticated
 * link the browser streams to disk itself (the asset route supports Range).
 */
export function saveFile(file: DownloadedFile, fallbackName: string): void {
  const url = URL.createObjectURL(file.blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = file.fileName ?? fallbackName;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  // Revoking at once can cancel the download in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export default BackupsContent;
