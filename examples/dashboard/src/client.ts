// A small typed client for the savepoint backups API. The request and response
// shapes come from src/api/schema.d.ts, which is generated from openapi.yaml, so
// a change to the API that this client does not follow fails the typecheck.
import type { components, paths } from './api/schema';

/** One backup as the API returns it. */
export type Backup = components['schemas']['BackupView'];
/** A provision's backups, and how many it may hold. */
export type BackupList = components['schemas']['BackupList'];
/** A backup's status. */
export type BackupStatus = Backup['status'];
/** An RFC 9457 problem, the body of every error response. */
export type Problem = components['schemas']['Problem'];
/** The stable, machine-readable error codes the API can return. */
export type ProblemCode = Problem['code'];
/** A provision's backup schedule as the API returns it. */
export type Schedule = components['schemas']['ScheduleView'];
/** What a schedule's last run did. */
export type LastRun = NonNullable<Schedule['last_run']>;
/** Which of a schedule's backups are kept. */
export type Retention = Schedule['retention'];
/** The whole schedule, as put-schedule takes it: it replaces the one the provision has. */
export type ScheduleSettings = components['schemas']['ScheduleRequest'];

type BackupsPath = paths['/api/v1/orders/{order_id}/provisions/{provision_id}/backups'];
type RestorePath = paths['/api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}/restore'];
type LockPath = paths['/api/v1/orders/{order_id}/provisions/{provision_id}/backups/{backup_id}/lock'];
type SchedulePath = paths['/api/v1/orders/{order_id}/provisions/{provision_id}/schedule'];
type ActivityPath = paths['/api/v1/orders/{order_id}/activity'];

type ListResponse = BackupsPath['get']['responses'][200]['content']['application/json'];
type CreateRequest = NonNullable<BackupsPath['post']['requestBody']>['content']['application/json'];
type CreateResponse = BackupsPath['post']['responses'][202]['content']['application/json'];
type RestoreResponse = RestorePath['post']['responses'][202]['content']['application/json'];
type LockResponse = LockPath['put']['responses'][200]['content']['application/json'];
type UnlockResponse = LockPath['delete']['responses'][200]['content']['application/json'];
type GetScheduleResponse = SchedulePath['get']['responses'][200]['content']['application/json'];
type PutScheduleRequest = SchedulePath['put']['requestBody']['content']['application/json'];
type PutScheduleResponse = SchedulePath['put']['responses'][200]['content']['application/json'];
type ActivityQuery = NonNullable<ActivityPath['get']['parameters']['query']>;
type ActivityResponse = ActivityPath['get']['responses'][200]['content']['application/json'];

/** A page of an order's activity log, newest first, and the cursor of the next (older) page. */
export type ActivityPage = components['schemas']['ActivityList'];
/** One event of an order's activity log. */
export type ActivityEvent = ActivityPage['items'][number];
/** What an event says happened. */
export type ActivityType = ActivityEvent['type'];
/** Who caused an event. */
export type ActivityActor = ActivityEvent['actor'];

/** How the activity log is asked for a page. */
export interface ActivityPageRequest {
  /** How many events at most; the server's default (50) when absent. */
  limit?: number;
  /** A page's next_before: the events older than the page; the newest when absent. */
  before?: number | null;
}

/**
 * What the activity panel needs from the API. createBackupsApi implements it
 * too; it is apart from BackupsApi so that a host's own BackupsApi need not.
 */
export interface ActivityApi {
  /**
   * Fetches a page of the order's activity log, newest first. A server
   * without an activity log rejects with code activity_unavailable: a host
   * whose API has none can do the same.
   */
  listActivity(orderId: string, page?: ActivityPageRequest, signal?: AbortSignal): Promise<ActivityPage>;
}

/** How the game was paused while a backup was archived. */
export type Quiesce = NonNullable<Backup['quiesce']>;

/** What a create may ask for besides the name. */
export interface CreateOptions {
  /** Gitignore-style patterns of paths to leave out of the archive, such as logs/ or *.tmp; sent only when there is one. */
  excludes?: readonly string[];
}

/** A downloaded file, ready to be saved. */
export interface DownloadedFile {
  blob: Blob;
  /** The name the server suggested in Content-Disposition, or null. */
  fileName: string | null;
}

/**
 * What the backups section needs from the API. createBackupsApi implements it
 * over fetch; a host with its own HTTP client (or a test) can supply another.
 * Every method rejects with an ApiError when the server answers with an error.
 */
export interface BackupsApi {
  list(orderId: string, provisionId: string, signal?: AbortSignal): Promise<BackupList>;
  create(orderId: string, provisionId: string, name?: string, options?: CreateOptions): Promise<Backup>;
  remove(orderId: string, provisionId: string, backupId: string): Promise<void>;
  restore(orderId: string, provisionId: string, backupId: string): Promise<Backup>;
  /** Locks the backup (locked true), so that it cannot be deleted, or unlocks it; resolves to the backup as stored. */
  setLocked(orderId: string, provisionId: string, backupId: string, locked: boolean): Promise<Backup>;
  /** Fetches an asset (a ready backup's archive) with the caller's credentials. */
  download(assetId: string, signal?: AbortSignal): Promise<DownloadedFile>;
  /**
   * Fetches the provision's backup schedule; resolves to null when it has none
   * (schedule_not_found). A server without schedules rejects with code
   * schedules_unavailable: a host whose API has none can do the same.
   */
  getSchedule(orderId: string, provisionId: string, signal?: AbortSignal): Promise<Schedule | null>;
  /** Creates the provision's schedule, or replaces it (keeping its ID); resolves to the schedule as stored. */
  putSchedule(orderId: string, provisionId: string, settings: ScheduleSettings): Promise<Schedule>;
  /** Deletes the provision's schedule; the backups it made stay. */
  deleteSchedule(orderId: string, provisionId: string): Promise<void>;
}

/**
 * An error response from the API, or a failure to reach it (status 0, no code).
 * Branch on code, never on the message.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ProblemCode | undefined;
  readonly problem: Problem | undefined;

  constructor(message: string, status: number, problem?: Problem) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.code = problem?.code;
  }
}

/** Options for createBackupsApi. */
export interface BackupsApiOptions {
  /** Where the API lives, e.g. "https://panel.example.com"; "" (the default) means this origin. */
  baseUrl?: string;
  /** The bearer token, or a function that returns the current one (so a host can refresh it). */
  token?: string | (() => string | null | undefined);
  /** The fetch to use; defaults to the global one. */
  fetch?: typeof fetch;
}

/** Returns a BackupsApi (and ActivityApi) that calls the savepoint HTTP API with fetch and a bearer token. */
export function createBackupsApi(options: BackupsApiOptions = {}): BackupsApi & ActivityApi {
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));

  const headers = (extra?: Record<string, string>): Headers => {
    const h = new Headers(extra);
    const token = typeof options.token === 'function' ? options.token() : options.token;
    if (token) h.set('Authorization', `Bearer ${token}`);
    return h;
  };

  const provisionUrl = (orderId: string, provisionId: string): string =>
    `${baseUrl}/api/v1/orders/${encodeURIComponent(orderId)}/provisions/${encodeURIComponent(provisionId)}`;
  const backupsUrl = (orderId: string, provisionId: string): string => `${provisionUrl(orderId, provisionId)}/backups`;
  const scheduleUrl = (orderId: string, provisionId: string): string => `${provisionUrl(orderId, provisionId)}/schedule`;

  const call = async (url: string, init: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      res = await doFetch(url, init);
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') throw err;
      throw new ApiError(`request to ${url} failed: ${String(err)}`, 0);
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  };

  return {
    async list(orderId, provisionId, signal) {
      const res = await call(backupsUrl(orderId, provisionId), {
        headers: headers({ Accept: 'application/json' }),
        signal,
      });
      return (await res.json()) as ListResponse;
    },
    async create(orderId, provisionId, name, options) {
      const trimmed = name?.trim();
      const body: CreateRequest = trimmed ? { name: trimmed } : {};
      if (options?.excludes && options.excludes.length > 0) body.excludes = [...options.excludes];
      const res = await call(backupsUrl(orderId, provisionId), {
        method: 'POST',
        headers: headers({ Accept: 'application/json', 'Content-Type': 'application/json' }),
        body: JSON.stringify(body),
      });
      return (await res.json()) as CreateResponse;
    },
    async remove(orderId, provisionId, backupId) {
      await call(`${backupsUrl(orderId, provisionId)}/${encodeURIComponent(backupId)}`, {
        method: 'DELETE',
        headers: headers({ Accept: 'application/problem+json' }),
      });
    },
    async restore(orderId, provisionId, backupId) {
      const res = await call(`${backupsUrl(orderId, provisionId)}/${encodeURIComponent(backupId)}/restore`, {
        method: 'POST',
        headers: headers({ Accept: 'application/json' }),
      });
      return (await res.json()) as RestoreResponse;
    },
    async setLocked(orderId, provisionId, backupId, locked) {
      const res = await call(`${backupsUrl(orderId, provisionId)}/${encodeURIComponent(backupId)}/lock`, {
        method: locked ? 'PUT' : 'DELETE',
        headers: headers({ Accept: 'application/json' }),
      });
      return (await res.json()) as LockResponse | UnlockResponse;
    },
    async download(assetId, signal) {
      const res = await call(`${baseUrl}/api/v1/assets/${encodeURIComponent(assetId)}`, {
        headers: headers(),
        signal,
      });
      return { blob: await res.blob(), fileName: fileNameFromDisposition(res.headers.get('Content-Disposition')) };
    },
    async getSchedule(orderId, provisionId, signal) {
      try {
        const res = await call(scheduleUrl(orderId, provisionId), {
          headers: headers({ Accept: 'application/json' }),
          signal,
        });
        return (await res.json()) as GetScheduleResponse;
      } catch (err) {
        if (err instanceof ApiError && err.code === 'schedule_not_found') return null;
        throw err;
      }
    },
    async putSchedule(orderId, provisionId, settings) {
      const body: PutScheduleRequest = settings;
      const res = await call(scheduleUrl(orderId, provisionId), {
        method: 'PUT',
        headers: headers({ Accept: 'application/json', 'Content-Type': 'application/json' }),
        body: JSON.stringify(body),
      });
      return (await res.json()) as PutScheduleResponse;
    },
    async deleteSchedule(orderId, provisionId) {
      await call(scheduleUrl(orderId, provisionId), {
        method: 'DELETE',
        headers: headers({ Accept: 'application/problem+json' }),
      });
    },
    async listActivity(orderId, page, signal) {
      const params: ActivityQuery = {};
      if (page?.limit !== undefined) params.limit = page.limit;
      if (page?.before != null) params.before = page.before;
      const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
      const search = query.toString() === '' ? '' : `?${query.toString()}`;
      const res = await call(`${baseUrl}/api/v1/orders/${encodeURIComponent(orderId)}/activity${search}`, {
        headers: headers({ Accept: 'application/json' }),
        signal,
      });
      return (await res.json()) as ActivityResponse;
    },
  };
}

// errorFrom turns an error response into an ApiError, keeping the problem when
// the body is one; a proxy's HTML error page still yields a usable error.
async function errorFrom(res: Response): Promise<ApiError> {
  let problem: Problem | undefined;
  const type = res.headers.get('Content-Type') ?? '';
  if (type.includes('json')) {
    try {
      const body: unknown = await res.json();
      if (isProblem(body)) problem = body;
    } catch {
      // Not JSON after all: the status alone has to do.
    }
  }
  const message = problem ? `${problem.title}: ${problem.detail}` : `HTTP ${res.status}`;
  return new ApiError(message, res.status, problem);
}

function isProblem(body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && typeof (body as { code?: unknown }).code === 'string';
}

/**
 * Returns the file name from a Content-Disposition header: filename* (RFC 8187,
 * UTF-8) when present and decodable, else filename; null when there is none.
 */
export function fileNameFromDisposition(header: string | null): string | null {
  if (!header) return null;
  const extended = /filename\*\s*=\s*([^;]+)/i.exec(header);
  if (extended) {
    const value = extended[1].trim().replace(/^"(.*)"$/, '$1');
    const m = /^UTF-8'[^']*'(.+)$/i.exec(value);
    if (m) {
      try {
        return safeName(decodeURIComponent(m[1]));
      } catch {
        // A malformed percent-encoding: fall back to the plain filename.
      }
    }
  }
  const plain = /filename\s*=\s*("((?:[^"\\]|\\.)*)"|[^;]+)/i.exec(header);
  if (!plain) return null;
  const name = plain[2] !== undefined ? plain[2].replace(/\\(.)/g, '$1') : plain[1].trim();
  return safeName(name);
}

// safeName keeps only the last path element: a file name is never a path.
function safeName(name: string): string | null {
  const base = name.split(/[\\/]/).pop()?.trim() ?? '';
  return base === '' || base === '.' || base === '..' ? null : base;
}
