import { describe, expect, it, vi } from 'vitest';

import { ApiError, createBackupsApi, type ActivityPage } from './client';

const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });

function recorder(respond: (req: Request) => Response) {
  const requests: Request[] = [];
  const fetchFn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(new URL(String(input), 'http://127.0.0.1'), init);
    requests.push(req);
    return respond(req);
  });
  return { requests, fetch: fetchFn as unknown as typeof fetch };
}

const page: ActivityPage = {
  items: [
    {
      id: 123,
      type: 'backup.ready',
      order_id: 'o 1',
      provision_id: 'p1',
      backup_id: '00000000-0000-4000-8000-000000000001',
      backup_name: 'nightly',
      actor: { kind: 'schedule', schedule_id: 's1' },
      at: '2026-03-14T09:26:53Z',
    },
  ],
  next_before: 122,
};

describe('createBackupsApi().listActivity', () => {
  it("fetches the order's newest events with the bearer token", async () => {
    const r = recorder(() => json(200, page));
    const api = createBackupsApi({ baseUrl: 'http://127.0.0.1:9/', token: 'tok', fetch: r.fetch });
    await expect(api.listActivity('o 1')).resolves.toEqual(page);
    expect(r.requests[0].url).toBe('http://127.0.0.1:9/api/v1/orders/o%201/activity');
    expect(r.requests[0].method).toBe('GET');
    expect(r.requests[0].headers.get('Authorization')).toBe('Bearer tok');
  });

  it('asks for a page size and an older page by cursor', async () => {
    const r = recorder(() => json(200, { items: [], next_before: null }));
    const api = createBackupsApi({ fetch: r.fetch });
    await api.listActivity('o', { limit: 20, before: 122 });
    await api.listActivity('o', { limit: 20, before: null });
    expect(r.requests.map((q) => new URL(q.url).search)).toEqual(['?limit=20&before=122', '?limit=20']);
  });

  it('rejects with an ApiError carrying the problem code', async () => {
    const problem = { type: 'urn:savepoint:problem:not_found', title: 'Not found', status: 404, detail: 'no such order', code: 'not_found' };
    const api = createBackupsApi({ fetch: recorder(() => json(404, problem, 'application/problem+json')).fetch });
    const err = await api.listActivity('o').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: 'not_found' });
  });
});
