import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useCallback, useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { ActivityPanel, RELATIVE_TIME_TICK_MS, appendOlder, mergeNewest, type ActivityPanelProps } from './activity-panel';
import panelSource from './activity-panel.tsx?raw';
import { BackupsContent } from './backups-content';
import { ApiError, type ActivityApi, type ActivityEvent, type ActivityPage, type ActivityType } from './client';
import { catalogues, createTranslator } from './i18n';
import { fakeApi, makeBackup, problemError } from './test-helpers';

const en = createTranslator('en');
const de = createTranslator('de');

const ME = 'user-me';
const NOW = Date.parse('2026-03-14T12:00:00Z');

let nextId = 100;

/** Returns an event of order-1, by the signed-in user, a minute before NOW unless overrides say otherwise. */
function makeEvent(overrides: Partial<ActivityEvent> = {}): ActivityEvent {
  nextId++;
  return {
    id: nextId,
    type: 'backup.created',
    order_id: 'order-1',
    provision_id: 'prov-1',
    backup_id: `00000000-0000-4000-8000-${String(nextId).padStart(12, '0')}`,
    backup_name: `Backup ${nextId}`,
    actor: { kind: 'user', user_id: ME },
    at: new Date(NOW - 60_000).toISOString(),
    ...overrides,
  };
}

/**
 * An ActivityApi over a log that a test can add to, paging as the server
 * does: newest first, the events with an ID below before, and next_before the
 * cursor of the rest (null when there is none).
 */
function fakeLog(initial: ActivityEvent[] = []) {
  const events = [...initial];
  const api = {
    listActivity: vi.fn<ActivityApi['listActivity']>(async (_order, page) => pageOf(events, page?.limit ?? 50, page?.before ?? null)),
  };
  return { api, events, add: (...more: ActivityEvent[]) => events.push(...more) };
}

function pageOf(events: ActivityEvent[], limit: number, before: number | null): ActivityPage {
  const older = [...events].sort((a, b) => b.id - a.id).filter((e) => before === null || e.id < before);
  const items = older.slice(0, limit);
  return { items, next_before: older.length > limit ? items[items.length - 1].id : null };
}

function renderPanel(api: ActivityApi, props: Partial<ActivityPanelProps> = {}) {
  return render(<ActivityPanel orderId="order-1" api={api} userId={ME} locale="en-US" timeZone="UTC" {...props} />);
}

// rowTexts returns each row's cells' text: when, what, who.
function rowTexts(): string[][] {
  return within(screen.getByRole('table'))
    .getAllByRole('row')
    .slice(1)
    .map((r) => [...r.querySelectorAll('td, th')].map((c) => c.textContent ?? ''));
}

function useClockAt(ms: number) {
  vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
  vi.setSystemTime(ms);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ActivityPanel', () => {
  it('fetches the newest page on mount and shows when, what and who, newest first, under column headings', async () => {
    useClockAt(NOW);
    const log = fakeLog([
      makeEvent({ type: 'backup.created', backup_name: 'Before the update', at: '2026-03-14T11:50:00Z' }),
      makeEvent({ type: 'backup.ready', backup_name: 'Before the update', at: '2026-03-14T11:51:30Z' }),
      makeEvent({ type: 'backup.locked', backup_name: 'Before the update', at: '2026-03-14T11:59:40Z', actor: { kind: 'user', user_id: 'user-support' } }),
    ]);
    renderPanel(log.api);

    expect(screen.getByRole('status')).toHaveTextContent(en('activity.loading'));
    await screen.findByRole('table', { name: en('activity.heading') });
    expect(log.api.listActivity).toHaveBeenCalledWith('order-1', { limit: 50 }, expect.any(AbortSignal));
    expect(screen.getByRole('heading', { level: 2, name: en('activity.heading') })).toBeInTheDocument();
    expect(screen.getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['When', 'What happened', 'By']);
    expect(rowTexts()).toEqual([
      ['now', 'Backup “Before the update” locked', 'A user'],
      ['8 minutes ago', 'Backup “Before the update” is ready', 'You'],
      ['10 minutes ago', 'Backup “Before the update” started', 'You'],
    ]);
  });

  it('gives the exact time, in the locale and zone, on hover and to machines', async () => {
    useClockAt(NOW);
    renderPanel(fakeLog([makeEvent({ at: '2026-03-14T09:26:53Z' })]).api);
    const time = (await screen.findByText('2 hours ago')).closest('time');
    expect(time).toHaveAttribute('dateTime', '2026-03-14T09:26:53Z');
    expect(time).toHaveAttribute('title', 'Mar 14, 2026, 9:26 AM');
  });

  it('says who: you, another user, the schedule or savepoint itself', async () => {
    const log = fakeLog([
      makeEvent({ actor: { kind: 'system' } }),
      makeEvent({ actor: { kind: 'schedule', schedule_id: 'sched-1' } }),
      makeEvent({ actor: { kind: 'user', user_id: 'someone-else' } }),
      makeEvent({ actor: { kind: 'user', user_id: ME } }),
    ]);
    renderPanel(log.api);
    await screen.findByRole('table');
    expect(rowTexts().map((r) => r[2])).toEqual(['You', 'A user', 'The schedule', 'savepoint']);
  });

  it('says "a user", never "you", when it is not told who is signed in', async () => {
    const { container } = renderPanel(fakeLog([makeEvent({ actor: { kind: 'user', user_id: ME } })]).api, { userId: undefined });
    await screen.findByRole('table');
    expect(within(container).getByText('A user')).toBeInTheDocument();
  });

  it('has a sentence of its own for every type, with the backup name where there is a backup', async () => {
    const types: ActivityType[] = [
      'backup.created',
      'backup.ready',
      'backup.failed',
      'restore.started',
      'restore.finished',
      'restore.failed',
      'backup.deleted',
      'backup.locked',
      'backup.unlocked',
      'schedule.run_skipped',
      'schedule.run_failed',
    ];
    const schedule = (type: ActivityType) => type.startsWith('schedule.');
    const log = fakeLog(types.map((type) => makeEvent({ type, backup_name: 'World', backup_id: schedule(type) ? null : 'b-1' })));
    renderPanel(log.api);
    await screen.findByRole('table');
    const sentences = rowTexts().map((r) => r[1]);
    expect(new Set(sentences).size, sentences.join(' | ')).toBe(types.length);
    sentences.reverse().forEach((s, i) => {
      if (!schedule(types[i])) expect(s, types[i]).toContain('“World”');
      expect(s, types[i]).not.toMatch(/[{}]/);
    });
  });

  it('names a type it does not know rather than showing nothing', async () => {
    renderPanel(fakeLog([makeEvent({ type: 'backup.renamed' as ActivityType })]).api);
    await screen.findByRole('table');
    expect(rowTexts()[0][1]).toBe('Other event (backup.renamed)');
  });

  it('says why a backup failed and why a scheduled run was skipped', async () => {
    const log = fakeLog([
      makeEvent({ type: 'backup.failed', backup_name: 'nightly', reason: 'the game server did not answer' }),
      makeEvent({ type: 'schedule.run_skipped', backup_id: null, backup_name: '', actor: { kind: 'schedule', schedule_id: 's' }, reason: 'a restore was running' }),
      makeEvent({ type: 'backup.ready', backup_name: 'weekly' }),
    ]);
    renderPanel(log.api);
    await screen.findByRole('table');
    const reasons = screen.getAllByTestId('activity-reason').map((r) => r.textContent);
    expect(reasons).toEqual(['Reason: a restore was running', 'Reason: the game server did not answer']);
    expect(rowTexts()[0][1]).toBe('Backup “weekly” is ready');
    expect(rowTexts()[1][1]).toBe('A scheduled backup was skipped' + 'Reason: a restore was running');
  });

  it('speaks German: headings, sentences, who and how long ago', async () => {
    useClockAt(NOW);
    const log = fakeLog([
      makeEvent({ type: 'backup.failed', backup_name: 'Welt', reason: 'Zeitüberschreitung', at: '2026-03-14T09:00:00Z', actor: { kind: 'schedule', schedule_id: 's' } }),
      makeEvent({ type: 'backup.locked', backup_name: 'Welt', at: '2026-03-14T11:55:00Z' }),
    ]);
    renderPanel(log.api, { t: de, locale: 'de-DE' });
    await screen.findByRole('table', { name: 'Aktivität' });
    expect(screen.getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['Wann', 'Was geschah', 'Von']);
    expect(rowTexts()).toEqual([
      ['vor 5 Minuten', 'Backup „Welt“ gesperrt', 'Du'],
      ['vor 3 Stunden', 'Backup „Welt“ fehlgeschlagenGrund: Zeitüberschreitung', 'Der Zeitplan'],
    ]);
    expect(screen.getByText('vor 3 Stunden').closest('time')).toHaveAttribute('title', '14.03.2026, 09:00');
  });

  it('says so when nothing has happened yet, with no load-more button', async () => {
    renderPanel(fakeLog().api);
    expect(await screen.findByText(en('activity.empty'))).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
    expect(screen.queryByRole('button')).not.toBeInTheDocument();
  });

  it('loads older pages with the cursor, below the rows shown, and moves focus to the first row it added', async () => {
    const user = userEvent.setup();
    const log = fakeLog(Array.from({ length: 7 }, (_, i) => makeEvent({ backup_name: `b${i}` })));
    renderPanel(log.api, { pageSize: 3 });
    await screen.findByRole('table');
    expect(rowTexts().map((r) => r[1])).toEqual(['b6', 'b5', 'b4'].map((n) => en('activity.type_backup_created', { name: n })));

    const more = screen.getByRole('button', { name: en('activity.load_more') });
    await user.click(more);
    await waitFor(() => expect(rowTexts()).toHaveLength(6));
    const cursor = log.events[4].id;
    expect(log.api.listActivity).toHaveBeenLastCalledWith('order-1', { limit: 3, before: cursor }, expect.any(AbortSignal));
    expect(rowTexts().map((r) => r[1].replace(/^Backup “(.*)” started$/, '$1'))).toEqual(['b6', 'b5', 'b4', 'b3', 'b2', 'b1']);
    expect(document.activeElement).toBe(screen.getByRole('rowheader', { name: 'Backup “b3” started' }).closest('tr'));

    await user.click(screen.getByRole('button', { name: en('activity.load_more') }));
    await waitFor(() => expect(rowTexts()).toHaveLength(7));
    expect(screen.queryByRole('button', { name: en('activity.load_more') }), 'no button after the last page').not.toBeInTheDocument();
    expect(document.activeElement).toBe(screen.getByRole('rowheader', { name: 'Backup “b0” started' }).closest('tr'));
  });

  it('keeps the rows and the button when an older page fails, and tries again on the next click', async () => {
    const user = userEvent.setup();
    const log = fakeLog(Array.from({ length: 4 }, () => makeEvent()));
    renderPanel(log.api, { pageSize: 2 });
    await screen.findByRole('table');
    log.api.listActivity.mockRejectedValueOnce(new ApiError('HTTP 503', 503));
    await user.click(screen.getByRole('button', { name: en('activity.load_more') }));
    expect(await screen.findByRole('alert')).toHaveTextContent(en('activity.error_more'));
    expect(rowTexts()).toHaveLength(2);

    await user.click(screen.getByRole('button', { name: en('activity.load_more') }));
    await waitFor(() => expect(rowTexts()).toHaveLength(4));
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('ignores clicks on load more while a page is loading, so that no page is fetched twice', async () => {
    const user = userEvent.setup();
    const log = fakeLog(Array.from({ length: 6 }, () => makeEvent()));
    renderPanel(log.api, { pageSize: 2 });
    await screen.findByRole('table');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const answer = log.api.listActivity.getMockImplementation()!;
    log.api.listActivity.mockImplementationOnce(async (...args) => {
      await held;
      return answer(...args);
    });
    const more = screen.getByRole('button', { name: en('activity.load_more') });
    await user.click(more);
    expect(more).toHaveAttribute('aria-disabled', 'true');
    await user.click(more);
    release();
    await waitFor(() => expect(rowTexts()).toHaveLength(4));
    expect(log.api.listActivity).toHaveBeenCalledTimes(2);
    expect(more).not.toHaveAttribute('aria-disabled');
  });

  it('adds new events on top when refreshKey changes, keeping the rows shown (no loading state, no new elements)', async () => {
    const log = fakeLog([makeEvent({ backup_name: 'old' })]);
    const { rerender } = renderPanel(log.api, { refreshKey: 0 });
    const oldRow = (await screen.findByRole('rowheader', { name: 'Backup “old” started' })).closest('tr');

    log.add(makeEvent({ type: 'backup.ready', backup_name: 'old' }), makeEvent({ type: 'backup.locked', backup_name: 'old' }));
    rerender(<ActivityPanel orderId="order-1" api={log.api} userId={ME} locale="en-US" timeZone="UTC" refreshKey={1} />);
    expect(screen.queryByRole('status'), 'no loading state while refreshing').not.toBeInTheDocument();
    await screen.findByRole('rowheader', { name: 'Backup “old” locked' });
    expect(rowTexts().map((r) => r[1])).toEqual(['Backup “old” locked', 'Backup “old” is ready', 'Backup “old” started']);
    expect(screen.getByRole('rowheader', { name: 'Backup “old” started' }).closest('tr'), 'the same element: nothing flickers').toBe(oldRow);
    expect(log.api.listActivity).toHaveBeenCalledTimes(2);
  });

  it('keeps the rows older pages added when it refreshes', async () => {
    const user = userEvent.setup();
    const log = fakeLog(Array.from({ length: 3 }, () => makeEvent()));
    const { rerender } = renderPanel(log.api, { pageSize: 2, refreshKey: 0 });
    await screen.findByRole('table');
    await user.click(screen.getByRole('button', { name: en('activity.load_more') }));
    await waitFor(() => expect(rowTexts()).toHaveLength(3));
    log.add(makeEvent({ type: 'backup.deleted' }));
    rerender(<ActivityPanel orderId="order-1" api={log.api} userId={ME} locale="en-US" timeZone="UTC" pageSize={2} refreshKey={1} />);
    await waitFor(() => expect(rowTexts()).toHaveLength(4));
    expect(screen.queryByRole('button', { name: en('activity.load_more') })).not.toBeInTheDocument();
  });

  it('keeps the rows shown when a refresh fails, and says nothing about it', async () => {
    const log = fakeLog([makeEvent({ backup_name: 'kept' })]);
    const { rerender } = renderPanel(log.api, { refreshKey: 0 });
    await screen.findByRole('rowheader', { name: 'Backup “kept” started' });
    log.api.listActivity.mockRejectedValueOnce(new ApiError('HTTP 502', 502));
    rerender(<ActivityPanel orderId="order-1" api={log.api} userId={ME} locale="en-US" timeZone="UTC" refreshKey={1} />);
    await waitFor(() => expect(log.api.listActivity).toHaveBeenCalledTimes(2));
    // The panel awaited the failed answer before this does, so it has taken it when this goes on.
    await act(async () => {
      await log.api.listActivity.mock.results[1].value.catch(() => undefined);
    });
    expect(screen.getByRole('rowheader', { name: 'Backup “kept” started' })).toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('says when the log cannot be loaded, and loads it on "Try again"', async () => {
    const user = userEvent.setup();
    const log = fakeLog([makeEvent({ backup_name: 'later' })]);
    log.api.listActivity.mockRejectedValueOnce(new ApiError('HTTP 503', 503));
    renderPanel(log.api);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent(en('activity.error_load'));
    await user.click(within(alert).getByRole('button', { name: en('activity.retry') }));
    expect(await screen.findByRole('rowheader', { name: 'Backup “later” started' })).toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('says, without an error, that a server without an activity log keeps none', async () => {
    const log = fakeLog();
    log.api.listActivity.mockRejectedValue(problemError('activity_unavailable', 501));
    renderPanel(log.api);
    expect(await screen.findByText(en('activity.unavailable'))).toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    expect(screen.queryByRole('status')).not.toBeInTheDocument();
  });

  it('brings "how long ago" up to date as time passes', async () => {
    useClockAt(NOW);
    renderPanel(fakeLog([makeEvent({ at: new Date(NOW - 30_000).toISOString() })]).api);
    expect(await screen.findByText('now')).toBeInTheDocument();
    act(() => {
      vi.advanceTimersByTime(4 * RELATIVE_TIME_TICK_MS);
    });
    expect(screen.getByText('2 minutes ago')).toBeInTheDocument();
  });

  it('shows another order\'s log, never the last one\'s rows, when the order changes', async () => {
    const log = fakeLog([makeEvent({ backup_name: 'first order' })]);
    const { rerender } = renderPanel(log.api);
    await screen.findByRole('rowheader', { name: 'Backup “first order” started' });
    log.api.listActivity.mockResolvedValueOnce({ items: [makeEvent({ order_id: 'order-2', backup_name: 'second order' })], next_before: null });
    rerender(<ActivityPanel orderId="order-2" api={log.api} userId={ME} locale="en-US" timeZone="UTC" />);
    expect(screen.queryByRole('rowheader', { name: 'Backup “first order” started' })).not.toBeInTheDocument();
    expect(await screen.findByRole('rowheader', { name: 'Backup “second order” started' })).toBeInTheDocument();
    expect(log.api.listActivity).toHaveBeenLastCalledWith('order-2', { limit: 50 }, expect.any(AbortSignal));
  });

  it('uses every activity key of the catalogue', () => {
    // The component names every key literally, so a key it stopped using shows up here.
    const keys = Object.keys(catalogues.en).filter((k) => k.startsWith('activity.'));
    expect(keys.length).toBeGreaterThan(20);
    for (const key of keys) expect(panelSource.includes(`'${key}'`), key).toBe(true);
  });
});

describe('mergeNewest and appendOlder', () => {
  const page = (ids: number[], next: number | null): ActivityPage => ({ items: ids.map((id) => makeEvent({ id })), next_before: next });

  it('returns the log itself when the newest page has nothing new, so nothing re-renders', () => {
    const current = mergeNewest(null, page([5, 4], 4));
    expect(mergeNewest(current, page([5, 4], 4))).toBe(current);
  });

  it('replaces the rows when the whole page is newer and older events may be missing between', () => {
    const current = mergeNewest(null, page([5, 4], null));
    const next = mergeNewest(current, page([20, 19], 19));
    expect(next.items.map((e) => e.id)).toEqual([20, 19]);
    expect(next.nextBefore).toBe(19);
  });

  it('adds an older page only to the log its cursor came from', () => {
    const current = mergeNewest(null, page([5, 4], 4));
    expect(appendOlder(current, page([3], null), 4).items.map((e) => e.id)).toEqual([5, 4, 3]);
    expect(appendOlder(current, page([1], null), 2)).toBe(current);
  });
});

describe('ActivityPanel beside BackupsContent, wired as the example page wires them', () => {
  it('shows a lock in the log as soon as the customer locks the backup', async () => {
    const user = userEvent.setup();
    const backup = makeBackup({ name: 'world' });
    const backups = fakeApi([backup]);
    const log = fakeLog([makeEvent({ type: 'backup.ready', backup_name: 'world' })]);
    backups.setLocked.mockImplementation(async (_o, _p, id, locked) => {
      log.add(makeEvent({ type: locked ? 'backup.locked' : 'backup.unlocked', backup_name: 'world' }));
      return makeBackup({ id, name: 'world', locked });
    });

    function Page() {
      const [changes, setChanges] = useStateCounter();
      return (
        <>
          <BackupsContent orderId="order-1" provisionId="prov-1" api={backups} locale="en-US" timeZone="UTC" onBackupsChange={setChanges} />
          <ActivityPanel orderId="order-1" userId={ME} api={log.api} locale="en-US" timeZone="UTC" refreshKey={changes} />
        </>
      );
    }
    render(<Page />);
    await screen.findByRole('rowheader', { name: 'Backup “world” is ready' });
    await user.click(await screen.findByRole('button', { name: 'Lock world' }));
    expect(await screen.findByRole('rowheader', { name: 'Backup “world” locked' })).toBeInTheDocument();
  });
});

// useStateCounter returns a count and a callback that bumps it, as the example page's onBackupsChange does.
function useStateCounter(): [number, () => void] {
  const [n, setN] = useState(0);
  return [n, useCallback(() => setN((c) => c + 1), [])];
}
