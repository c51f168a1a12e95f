import { describe, expect, it, vi } from 'vitest';

import { ApiError, createBackupsApi, fileNameFromDisposition } from './client';
import { makeBackup, makeSchedule } from './test-helpers';

const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });

function recorder(respond: (req: Request) => Response | Promise<Response>) {
  const requests: Request[] = [];
  const fetchFn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(new URL(String(input), 'http://127.0.0.1'), init);
    requests.push(req);
    return respond(req);
  });
  return { requests, fetch: fetchFn as unknown as typeof fetch };
}

describe('createBackupsApi', () => {
  it("lists backups, and the provision's limit, with the bearer token", async () => {
    const b = makeBackup();
    const r = recorder(() => json(200, { backups: [b], limit: 7 }));
    const api = createBackupsApi({ baseUrl: 'http://127.0.0.1:9/', token: 'tok', fetch: r.fetch });
    await expect(api.list('o 1', 'p/1')).resolves.toEqual({ backups: [b], limit: 7 });
    expect(r.requests[0].url).toBe('http://127.0.0.1:9/api/v1/orders/o%201/provisions/p%2F1/backups');
    expect(r.requests[0].headers.get('Authorization')).toBe('Bearer tok');
  });

  it('reads the token each time, so a host can refresh it', async () => {
    let token = 'first';
    const r = recorder(() => json(200, { backups: [], limit: 10 }));
    const api = createBackupsApi({ token: () => token, fetch: r.fetch });
    await api.list('o', 'p');
    token = 'second';
    await api.list('o', 'p');
    expect(r.requests.map((q) => q.headers.get('Authorization'))).toEqual(['Bearer first', 'Bearer second']);
  });

  it('creates with a trimmed name, or with no name at all', async () => {
    const r = recorder(() => json(202, makeBackup({ status: 'creating' })));
    const api = createBackupsApi({ token: 't', fetch: r.fetch });
    await api.create('o', 'p', '  nightly  ');
    await api.create('o', 'p', '   ');
    await api.create('o', 'p');
    expect(r.requests.map((q) => q.method)).toEqual(['POST', 'POST', 'POST']);
    const bodies = await Promise.all(r.requests.map((q) => q.json()));
    expect(bodies).toEqual([{ name: 'nightly' }, {}, {}]);
    expect(r.requests[0].headers.get('Content-Type')).toBe('application/json');
  });

  it('sends exclude patterns only when there are some', async () => {
    const r = recorder(() => json(202, makeBackup({ status: 'creating' })));
    const api = createBackupsApi({ token: 't', fetch: r.fetch });
    await api.create('o', 'p', 'nightly', { excludes: ['logs/', '*.tmp'] });
    await api.create('o', 'p', undefined, { excludes: [] });
    const bodies = await Promise.all(r.requests.map((q) => q.json()));
    expect(bodies).toEqual([{ name: 'nightly', excludes: ['logs/', '*.tmp'] }, {}]);
  });

  it('keeps the problem of a refused exclude list, so that its detail can be shown', async () => {
    const problem = {
      type: 'urn:savepoint:problem:invalid_excludes',
      title: 'Invalid exclude patterns',
      status: 422,
      detail: 'too many exclude patterns: 300, at most 256',
      code: 'invalid_excludes',
    };
    const api = createBackupsApi({ fetch: recorder(() => json(422, problem, 'application/problem+json')).fetch });
    const err = await api.create('o', 'p', undefined, { excludes: ['a'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, code: 'invalid_excludes', problem: { detail: 'too many exclude patterns: 300, at most 256' } });
  });

  it('deletes and restores by backup ID', async () => {
    const r = recorder((req) => (req.method === 'DELETE' ? new Response(null, { status: 204 }) : json(202, makeBackup({ status: 'restoring' }))));
    const api = createBackupsApi({ token: 't', fetch: r.fetch });
    await expect(api.remove('o', 'p', 'b1')).resolves.toBeUndefined();
    await expect(api.restore('o', 'p', 'b1')).resolves.toMatchObject({ status: 'restoring' });
    expect(r.requests.map((q) => `${q.method} ${new URL(q.url).pathname}`)).toEqual([
      'DELETE /api/v1/orders/o/provisions/p/backups/b1',
      'POST /api/v1/orders/o/provisions/p/backups/b1/restore',
    ]);
  });

  it('locks with PUT and unlocks with DELETE on the backup\'s lock, answering the backup', async () => {
    const r = recorder((req) => json(200, makeBackup({ id: 'b1', locked: req.method === 'PUT' })));
    const api = createBackupsApi({ token: 't', fetch: r.fetch });
    await expect(api.setLocked('o', 'p', 'b 1', true)).resolves.toMatchObject({ id: 'b1', locked: true });
    await expect(api.setLocked('o', 'p', 'b 1', false)).resolves.toMatchObject({ id: 'b1', locked: false });
    expect(r.requests.map((q) => `${q.method} ${new URL(q.url).pathname}`)).toEqual([
      'PUT /api/v1/orders/o/provisions/p/backups/b%201/lock',
      'DELETE /api/v1/orders/o/provisions/p/backups/b%201/lock',
    ]);
    expect(r.requests[0].headers.get('Authorization')).toBe('Bearer t');
  });

  it('downloads an asset as a blob with its file name', async () => {
    const r = recorder(
      () =>
        new Response(new Uint8Array([0x1f, 0x8b, 8]), {
          status: 200,
          headers: { 'Content-Type': 'application/gzip', 'Content-Disposition': `attachment; filename="Vor dem Update.tar.gz"; filename*=UTF-8''Vor%20dem%20Update%20%C3%A4.tar.gz` },
        }),
    );
    const api = createBackupsApi({ token: 't', fetch: r.fetch });
    const file = await api.download('a1');
    expect(new URL(r.requests[0].url).pathname).toBe('/api/v1/assets/a1');
    expect(r.requests[0].headers.get('Authorization')).toBe('Bearer t');
    expect(file.fileName).toBe('Vor dem Update ä.tar.gz');
    expect(new Uint8Array(await file.blob.arrayBuffer())).toEqual(new Uint8Array([0x1f, 0x8b, 8]));
  });

  it('turns a problem into an ApiError carrying its code', async () => {
    const problem = { type: 'urn:savepoint:problem:limit_reached', title: 'Backup limit reached', status: 409, detail: 'delete one first', code: 'limit_reached' };
    const r = recorder(() => json(409, problem, 'application/problem+json'));
    const api = createBackupsApi({ token: 't', fetch: r.fetch });
    const err = await api.create('o', 'p').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: 'limit_reached', problem });
  });

  it('gives an error without a code when the body is not a problem', async () => {
    const r = recorder(() => new Response('<html>bad gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } }));
    const err = await createBackupsApi({ fetch: r.fetch }).list('o', 'p').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, code: undefined });
  });

  it('gives status 0 when the server cannot be reached', async () => {
    const api = createBackupsApi({ fetch: (async () => { throw new TypeError('Failed to fetch'); }) as typeof fetch });
    const err = await api.list('o', 'p').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 0, code: undefined });
  });

  it('sends no Authorization header without a token', async () => {
    const r = recorder(() => json(200, { backups: [], limit: 10 }));
    await createBackupsApi({ fetch: r.fetch }).list('o', 'p');
    expect(r.requests[0].headers.has('Authorization')).toBe(false);
  });
});

describe('createBackupsApi schedules', () => {
  const notFound = { type: 'urn:savepoint:problem:schedule_not_found', title: 'Schedule not found', status: 404, detail: 'none', code: 'schedule_not_found' };

  it('gets the schedule, and null when the provision has none', async () => {
    const schedule = makeSchedule();
    let has = true;
    const r = recorder(() => (has ? json(200, schedule) : json(404, notFound, 'application/problem+json')));
    const api = createBackupsApi({ token: 't', fetch: r.fetch });
    await expect(api.getSchedule('o 1', 'p')).resolves.toEqual(schedule);
    has = false;
    await expect(api.getSchedule('o 1', 'p')).resolves.toBeNull();
    expect(new URL(r.requests[0].url).pathname).toBe('/api/v1/orders/o%201/provisions/p/schedule');
    expect(r.requests[0].headers.get('Authorization')).toBe('Bearer t');
  });

  it('rejects with the code when schedules are unavailable or the order is not found', async () => {
    const unavailable = { type: 'urn:savepoint:problem:schedules_unavailable', title: 'Schedules unavailable', status: 501, detail: 'no', code: 'schedules_unavailable' };
    const api = createBackupsApi({ fetch: recorder(() => json(501, unavailable, 'application/problem+json')).fetch });
    await expect(api.getSchedule('o', 'p')).rejects.toMatchObject({ status: 501, code: 'schedules_unavailable' });
    const gone = createBackupsApi({ fetch: recorder(() => json(404, { ...notFound, code: 'not_found' }, 'application/problem+json')).fetch });
    await expect(gone.getSchedule('o', 'p')).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('puts the whole schedule as JSON, and deletes it', async () => {
    const r = recorder((req) => (req.method === 'DELETE' ? new Response(null, { status: 204 }) : json(200, makeSchedule({ cron: '@every 2s' }))));
    const api = createBackupsApi({ token: 't', fetch: r.fetch });
    const settings = { cron: '@every 2s', time_zone: 'UTC', enabled: true, retention: { keep_last: 2 } };
    await expect(api.putSchedule('o', 'p', settings)).resolves.toMatchObject({ cron: '@every 2s' });
    await expect(api.deleteSchedule('o', 'p')).resolves.toBeUndefined();
    expect(r.requests.map((q) => `${q.method} ${new URL(q.url).pathname}`)).toEqual(['PUT /api/v1/orders/o/provisions/p/schedule', 'DELETE /api/v1/orders/o/provisions/p/schedule']);
    expect(r.requests[0].headers.get('Content-Type')).toBe('application/json');
    expect(await r.requests[0].json()).toEqual(settings);
  });
});

describe('fileNameFromDisposition', () => {
  it.each([
    [null, null],
    ['attachment', null],
    ['attachment; filename="world.tar.gz"', 'world.tar.gz'],
    ['attachment; filename=world.tar.gz', 'world.tar.gz'],
    ['attachment; filename="say \\"hi\\".tar.gz"', 'say "hi".tar.gz'],
    [`attachment; filename="x.tar.gz"; filename*=UTF-8''%E2%9C%93.tar.gz`, '✓.tar.gz'],
    [`attachment; filename="fallback.tar.gz"; filename*=UTF-8''%E2%9C`, 'fallback.tar.gz'],
    ['attachment; filename="../../etc/passwd"', 'passwd'],
    ['attachment; filename=".."', null],
  ])('reads %s as %s', (header, want) => {
    expect(fileNameFromDisposition(header)).toBe(want);
  });
});
