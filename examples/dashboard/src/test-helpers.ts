// Builders shared by the component tests.
import { vi } from 'vitest';

import { ApiError, type Backup, type BackupList, type BackupsApi, type Problem, type ProblemCode, type Schedule, type ScheduleSettings } from './client';

let next = 0;

/** Returns a ready backup with a unique ID; overrides change any field. */
export function makeBackup(overrides: Partial<Backup> = {}): Backup {
  next++;
  const id = `00000000-0000-4000-8000-${String(next).padStart(12, '0')}`;
  return {
    id,
    name: `Backup ${next}`,
    status: 'ready',
    asset_id: `10000000-0000-4000-8000-${String(next).padStart(12, '0')}`,
    size_bytes: 1536,
    sha256: 'a'.repeat(64),
    error: null,
    created_at: '2026-03-14T09:26:53Z',
    completed_at: '2026-03-14T09:27:10Z',
    last_restored_at: null,
    skipped_count: 0,
    skipped: [],
    progress: null,
    locked: false,
    schedule_id: null,
    excludes: [],
    quiesce: null,
    warnings: [],
    ...overrides,
  };
}

/** Returns an ApiError as the client raises it for a problem with this code. */
export function problemError(code: ProblemCode, status = 409): ApiError {
  const problem: Problem = { type: `urn:savepoint:problem:${code}`, title: code, status, detail: `detail of ${code}`, code };
  return new ApiError(`${code}`, status, problem);
}

/** The limit the fake server reports, as the real one does by default. */
export const FAKE_LIMIT = 10;

/** A list answer with the fake server's limit. */
export function listOf(backups: Backup[], limit = FAKE_LIMIT): BackupList {
  return { backups: backups.map((b) => ({ ...b })), limit };
}

/** Returns a schedule: daily at 04:00 in UTC, active, keeping everything; overrides change any field. */
export function makeSchedule(overrides: Partial<Schedule> = {}): Schedule {
  return {
    id: '20000000-0000-4000-8000-000000000001',
    cron: '0 4 * * *',
    time_zone: 'UTC',
    enabled: true,
    name_template: 'Scheduled {date} {time}',
    retention: { keep_last: 0, keep_daily: 0, keep_weekly: 0, keep_monthly: 0 },
    next_run_at: '2026-03-15T04:00:00Z',
    last_run: null,
    excludes: [],
    created_at: '2026-03-14T09:00:00Z',
    updated_at: '2026-03-14T09:00:00Z',
    ...overrides,
  };
}

/** The schedule the fake server stores for settings, as put-schedule answers. */
export function scheduleFrom(settings: ScheduleSettings, base: Schedule = makeSchedule()): Schedule {
  const enabled = settings.enabled ?? true;
  return {
    ...base,
    cron: settings.cron,
    time_zone: settings.time_zone || 'UTC',
    enabled,
    name_template: settings.name_template || 'Scheduled {date} {time}',
    retention: { keep_last: 0, keep_daily: 0, keep_weekly: 0, keep_monthly: 0, ...settings.retention },
    excludes: [...(settings.excludes ?? [])],
    next_run_at: enabled ? base.next_run_at : null,
  };
}

/**
 * A BackupsApi whose methods are mocks; list answers with each of lists in
 * turn, then the last one forever. The provision has no schedule until one is
 * put.
 */
export function fakeApi(...lists: Backup[][]) {
  let calls = 0;
  const api = {
    list: vi.fn<BackupsApi['list']>(async () => {
      const answer = lists[Math.min(calls, lists.length - 1)] ?? [];
      calls++;
      return listOf(answer);
    }),
    create: vi.fn<BackupsApi['create']>(async (_o, _p, name) => makeBackup({ name: name ?? 'Backup 2026-03-14 09:26 UTC', status: 'creating', asset_id: null, size_bytes: null, sha256: null, completed_at: null })),
    remove: vi.fn<BackupsApi['remove']>(async () => undefined),
    restore: vi.fn<BackupsApi['restore']>(async () => makeBackup({ status: 'restoring' })),
    setLocked: vi.fn<BackupsApi['setLocked']>(async (_o, _p, id, locked) => makeBackup({ id, locked })),
    download: vi.fn<BackupsApi['download']>(async () => ({ blob: new Blob([new Uint8Array([0x1f, 0x8b, 8, 0])]), fileName: 'world.tar.gz' })),
    getSchedule: vi.fn<BackupsApi['getSchedule']>(async () => null),
    putSchedule: vi.fn<BackupsApi['putSchedule']>(async (_o, _p, settings) => scheduleFrom(settings)),
    deleteSchedule: vi.fn<BackupsApi['deleteSchedule']>(async () => undefined),
  };
  return api satisfies BackupsApi;
}
