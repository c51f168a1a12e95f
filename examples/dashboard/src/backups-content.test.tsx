import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { BackupsContent, estimateProgress, type BackupsContentProps, type Progress } from './backups-content';
import { ApiError, type Backup, type BackupStatus } from './client';
import { createTranslator } from './i18n';
import { fakeApi, listOf, makeBackup, makeSchedule, problemError } from './test-helpers';

const en = createTranslator('en');

function renderContent(api: ReturnType<typeof fakeApi>, props: Partial<BackupsContentProps> = {}) {
  return render(<BackupsContent orderId="order-1" provisionId="prov-1" api={api} locale="en-US" timeZone="UTC" {...props} />);
}

// settle lets pending promises (the fake API's answers) and the renders they
// cause finish, without moving fake clocks.
async function settle() {
  await act(async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  });
}

function row(name: string): HTMLElement {
  const cell = screen.getByRole('rowheader', { name });
  return cell.closest('tr') as HTMLElement;
}

function createButton() {
  return screen.getByRole('button', { name: en('backups.create_button') });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('BackupsContent', () => {
  describe('listing', () => {
    it('fetches the list on mount and shows name, size, status, created time and actions', async () => {
      const api = fakeApi([makeBackup({ name: 'Before the update', size_bytes: 5 * 1024 * 1024 + 512 * 1024, created_at: '2026-03-14T09:26:53Z' })]);
      renderContent(api);

      expect(await screen.findByRole('rowheader', { name: 'Before the update' })).toBeInTheDocument();
      expect(api.list).toHaveBeenCalledWith('order-1', 'prov-1', expect.any(AbortSignal));
      const headers = screen.getAllByRole('columnheader').map((h) => h.textContent);
      expect(headers).toEqual(['Name', 'Size', 'Status', 'Created', 'Actions']);
      const cells = within(row('Before the update')).getAllByRole('cell');
      expect(cells[0]).toHaveTextContent('5.5 MiB');
      expect(cells[1]).toHaveTextContent('Ready');
      expect(cells[2]).toHaveTextContent('Mar 14, 2026, 9:26 AM');
      expect(within(cells[2]).getByText(/2026/).closest('time')).toHaveAttribute('dateTime', '2026-03-14T09:26:53Z');
    });

    it('shows times in the locale it is given', async () => {
      const api = fakeApi([makeBackup({ name: 'b', created_at: '2026-03-14T09:26:53Z' })]);
      renderContent(api, { locale: 'de-DE', t: createTranslator('de') });
      const cells = within((await screen.findByRole('rowheader', { name: 'b' })).closest('tr') as HTMLElement).getAllByRole('cell');
      expect(cells[2]).toHaveTextContent('14.03.2026, 09:26');
      expect(cells[0]).toHaveTextContent('1,5 KiB');
    });

    it('shows the empty state when there are no backups', async () => {
      renderContent(fakeApi([]));
      expect(await screen.findByText(en('backups.empty_state'))).toBeInTheDocument();
      expect(screen.queryByRole('table')).not.toBeInTheDocument();
      expect(createButton()).toBeEnabled();
    });

    it('shows a dash for a size not known yet', async () => {
      renderContent(fakeApi([makeBackup({ name: 'new', status: 'creating', size_bytes: null, asset_id: null })]));
      const cells = within((await screen.findByRole('rowheader', { name: 'new' })).closest('tr') as HTMLElement).getAllByRole('cell');
      expect(cells[0]).toHaveTextContent('—');
    });

    it('shows why a backup failed', async () => {
      renderContent(fakeApi([makeBackup({ name: 'broken', status: 'failed', error: 'the sidecar could not be reached' })]));
      await screen.findByRole('rowheader', { name: 'broken' });
      expect(within(row('broken')).getByText('Backup failed: the sidecar could not be reached')).toBeInTheDocument();
    });

    it('shows why the last restore of a ready backup failed', async () => {
      renderContent(fakeApi([makeBackup({ name: 'kept', status: 'ready', error: 'checksum mismatch' })]));
      await screen.findByRole('rowheader', { name: 'kept' });
      expect(within(row('kept')).getByText('Last restore failed: checksum mismatch')).toBeInTheDocument();
      expect(within(row('kept')).getByText('Ready')).toBeInTheDocument();
    });

    it('shows no old restore error while the backup is being restored again', async () => {
      renderContent(fakeApi([makeBackup({ name: 'again', status: 'restoring', error: 'checksum mismatch' })]));
      await screen.findByRole('rowheader', { name: 'again' });
      expect(within(row('again')).queryByText(/checksum mismatch/)).not.toBeInTheDocument();
    });

    it('says how many files a backup skipped, and lists them on request', async () => {
      const user = userEvent.setup();
      renderContent(
        fakeApi([
          makeBackup({
            name: 'partial',
            skipped_count: 3,
            skipped: [
              { path: 'world/session.lock', reason: 'permission denied' },
              { path: 'logs/latest.log', reason: 'changed while it was being read; its copy is incomplete' },
            ],
          }),
        ]),
      );
      await screen.findByRole('rowheader', { name: 'partial' });
      const skipped = within(row('partial')).getByTestId('skipped-files');
      expect(within(skipped).getByText('3 files skipped')).toBeVisible();
      expect(within(skipped).getByText('world/session.lock: permission denied')).not.toBeVisible();
      await user.click(within(skipped).getByText('3 files skipped'));
      expect(within(skipped).getByText('world/session.lock: permission denied')).toBeVisible();
      expect(within(skipped).getByText('…and 1 more')).toBeVisible();
      expect(within(row('partial')).getByText('Ready')).toBeInTheDocument();
    });

    it('says nothing about skipped files when none were', async () => {
      renderContent(fakeApi([makeBackup({ name: 'whole' })]));
      await screen.findByRole('rowheader', { name: 'whole' });
      expect(within(row('whole')).queryByTestId('skipped-files')).not.toBeInTheDocument();
    });

    it('shows no error line for a backup where nothing failed', async () => {
      renderContent(fakeApi([makeBackup({ name: 'fine' })]));
      await screen.findByRole('rowheader', { name: 'fine' });
      expect(within(row('fine')).queryByText(/failed/i)).not.toBeInTheDocument();
    });

    it('tells the user when the list cannot be loaded', async () => {
      const api = fakeApi([]);
      api.list.mockRejectedValueOnce(problemError('internal', 500));
      renderContent(api);
      expect(await screen.findByRole('alert')).toHaveTextContent(en('backups.error_load'));
    });

    it('renders every label in German when given the German translator', async () => {
      renderContent(fakeApi([makeBackup({ name: 'x', status: 'creating', asset_id: null })]), { t: createTranslator('de'), locale: 'de-DE' });
      await screen.findByRole('rowheader', { name: 'x' });
      expect(screen.getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['Name', 'Größe', 'Status', 'Erstellt', 'Aktionen']);
      expect(within(row('x')).getByText('Wird erstellt')).toBeInTheDocument();
      expect(screen.getByRole('button', { name: 'Backup erstellen' })).toBeDisabled();
      expect(screen.getByRole('button', { name: 'x: Herunterladen' })).toBeDisabled();
    });
  });

  describe('polling', () => {
    const statuses: { status: BackupStatus; polls: boolean }[] = [
      { status: 'creating', polls: true },
      { status: 'restoring', polls: true },
      { status: 'ready', polls: false },
      { status: 'failed', polls: false },
    ];
    for (const { status, polls } of statuses) {
      it(`${polls ? 'polls every second' : 'does not poll'} while the only backup is ${status}`, async () => {
        vi.useFakeTimers();
        const api = fakeApi([makeBackup({ status })]);
        renderContent(api);
        await settle();
        expect(api.list).toHaveBeenCalledTimes(1);

        await act(() => vi.advanceTimersByTimeAsync(999));
        expect(api.list).toHaveBeenCalledTimes(1);
        await act(() => vi.advanceTimersByTimeAsync(1));
        expect(api.list).toHaveBeenCalledTimes(polls ? 2 : 1);
        await act(() => vi.advanceTimersByTimeAsync(1000));
        expect(api.list).toHaveBeenCalledTimes(polls ? 3 : 1);
      });
    }

    it('stops polling once nothing is creating or restoring, and shows the new status without a reload', async () => {
      vi.useFakeTimers();
      const creating = makeBackup({ name: 'nightly', status: 'creating', asset_id: null, size_bytes: null });
      const ready = { ...creating, status: 'ready' as const, asset_id: 'asset-1', size_bytes: 2048 };
      const api = fakeApi([creating], [creating], [ready]);
      renderContent(api);
      await settle();
      expect(within(row('nightly')).getByText('Creating')).toBeInTheDocument();

      await act(() => vi.advanceTimersByTimeAsync(1000));
      await act(() => vi.advanceTimersByTimeAsync(1000));
      expect(api.list).toHaveBeenCalledTimes(3);
      expect(within(row('nightly')).getByText('Ready')).toBeInTheDocument();
      expect(within(row('nightly')).getByText('2 KiB')).toBeInTheDocument();
      expect(screen.getByTestId('announcer')).toHaveTextContent('nightly: Ready.');

      await act(() => vi.advanceTimersByTimeAsync(30_000));
      expect(api.list).toHaveBeenCalledTimes(3);
    });

    it('stops polling when unmounted', async () => {
      vi.useFakeTimers();
      const api = fakeApi([makeBackup({ status: 'creating' })]);
      const { unmount } = renderContent(api);
      await settle();
      await act(() => vi.advanceTimersByTimeAsync(1000));
      expect(api.list).toHaveBeenCalledTimes(2);

      unmount();
      await vi.advanceTimersByTimeAsync(30_000);
      expect(api.list).toHaveBeenCalledTimes(2);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('does not refetch when the host passes a new but equal API object on each render', async () => {
      const api = fakeApi([makeBackup({ name: 'one' })]);
      const { rerender } = renderContent(api);
      await screen.findByRole('rowheader', { name: 'one' });
      rerender(<BackupsContent orderId="order-1" provisionId="prov-1" api={{ ...api }} locale="en-US" timeZone="UTC" />);
      rerender(<BackupsContent orderId="order-1" provisionId="prov-1" api={{ ...api }} locale="en-US" timeZone="UTC" />);
      await settle();
      expect(api.list).toHaveBeenCalledTimes(1);
    });

    it('refetches when it is shown another provision', async () => {
      const api = fakeApi([makeBackup({ name: 'one' })]);
      const { rerender } = renderContent(api);
      await screen.findByRole('rowheader', { name: 'one' });
      rerender(<BackupsContent orderId="order-1" provisionId="prov-2" api={api} locale="en-US" timeZone="UTC" />);
      await waitFor(() => expect(api.list).toHaveBeenLastCalledWith('order-1', 'prov-2', expect.any(AbortSignal)));
    });

    it('uses the poll interval it is given', async () => {
      vi.useFakeTimers();
      const api = fakeApi([makeBackup({ status: 'restoring' })]);
      renderContent(api, { pollIntervalMs: 500 });
      await settle();
      for (let i = 0; i < 3; i++) await act(() => vi.advanceTimersByTimeAsync(500));
      expect(api.list).toHaveBeenCalledTimes(4);
    });

    it('keeps polling through a failed poll while an operation is still running', async () => {
      vi.useFakeTimers();
      const creating = makeBackup({ name: 'slow', status: 'creating', asset_id: null });
      const api = fakeApi([{ ...creating, status: 'ready', asset_id: 'a' }]);
      api.list.mockImplementationOnce(async () => listOf([creating])).mockImplementationOnce(async () => {
        throw problemError('internal', 500);
      });
      renderContent(api);
      await settle();
      await act(() => vi.advanceTimersByTimeAsync(1000));
      expect(screen.getByRole('alert')).toHaveTextContent(en('backups.error_load'));
      await act(() => vi.advanceTimersByTimeAsync(1000));
      expect(within(row('slow')).getByText('Ready')).toBeInTheDocument();
      expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    });

    it('stops polling when the server refuses the request (an expired token does not heal)', async () => {
      vi.useFakeTimers();
      const api = fakeApi([makeBackup({ status: 'creating' })]);
      api.list.mockImplementationOnce(async () => listOf([makeBackup({ status: 'creating' })])).mockRejectedValue(problemError('unauthenticated', 401));
      renderContent(api);
      await settle();
      await act(() => vi.advanceTimersByTimeAsync(1000));
      expect(api.list).toHaveBeenCalledTimes(2);
      await act(() => vi.advanceTimersByTimeAsync(30_000));
      expect(api.list).toHaveBeenCalledTimes(2);
    });
  });

  describe('progress', () => {
    const MiB = 1024 * 1024;
    const now = new Date('2026-03-14T10:00:00Z');
    // A progress that started secondsAgo before now.
    const progress = (done: number, total: number, secondsAgo: number): Progress => ({
      done_bytes: done,
      total_bytes: total,
      started_at: new Date(now.getTime() - secondsAgo * 1000).toISOString(),
    });
    const running = (status: 'creating' | 'restoring', p: Progress | null) =>
      makeBackup({ name: 'big', status, progress: p, ...(status === 'creating' ? { asset_id: null, size_bytes: null } : {}) });

    async function showBar(backups: Backup[], props: Partial<BackupsContentProps> = {}) {
      vi.useFakeTimers();
      vi.setSystemTime(now);
      const api = fakeApi(backups);
      renderContent(api, props);
      await settle();
      return api;
    }

    it('shows the percentage and the time left on a creating row', async () => {
      // 42 of 100 MiB in 60 s: 58 MiB left at 0.7 MiB/s is 83 s.
      await showBar([running('creating', progress(42 * MiB, 100 * MiB, 60))]);
      const bar = within(row('big')).getByRole('progressbar', { name: 'Progress of big' });
      expect(bar).toHaveAttribute('aria-valuenow', '42');
      expect(bar).toHaveAttribute('aria-valuemin', '0');
      expect(bar).toHaveAttribute('aria-valuemax', '100');
      expect(bar).toHaveAttribute('aria-valuetext', '42% — about 1 min left');
      expect(within(row('big')).getByText('42% — about 1 min left')).toBeInTheDocument();
      expect(bar.querySelector('.progress__fill')).toHaveStyle({ width: '42%' });
      expect(within(row('big')).getByTestId('progress')).not.toHaveClass('progress--indeterminate');
    });

    it('shows it on a restoring row too', async () => {
      await showBar([running('restoring', progress(3 * MiB, 4 * MiB, 30))]);
      expect(within(row('big')).getByRole('progressbar')).toHaveAttribute('aria-valuetext', '75% — about 10 sec left');
    });

    it('shows the percentage alone until the time left can be estimated', async () => {
      await showBar([running('creating', progress(42 * MiB, 100 * MiB, 1))]);
      const bar = within(row('big')).getByRole('progressbar');
      expect(bar).toHaveAttribute('aria-valuenow', '42');
      expect(bar).toHaveAttribute('aria-valuetext', '42%');
      expect(within(row('big')).queryByText(/left/)).not.toBeInTheDocument();
    });

    it('never shows more than 100%', async () => {
      await showBar([running('creating', progress(120 * MiB, 100 * MiB, 60))]);
      const bar = within(row('big')).getByRole('progressbar');
      expect(bar).toHaveAttribute('aria-valuenow', '100');
      expect(bar).toHaveAttribute('aria-valuetext', '100%');
      expect(bar.querySelector('.progress__fill')).toHaveStyle({ width: '100%' });
    });

    it('is indeterminate while the total is not known, saying how much is done', async () => {
      await showBar([running('creating', progress(1.5 * MiB, 0, 10))]);
      const bar = within(row('big')).getByRole('progressbar', { name: 'Progress of big' });
      expect(bar).not.toHaveAttribute('aria-valuenow');
      expect(bar).toHaveAttribute('aria-valuetext', '1.5 MiB so far');
      expect(within(row('big')).getByTestId('progress')).toHaveClass('progress--indeterminate');
    });

    it('is indeterminate on an active row whose progress is null', async () => {
      await showBar([running('restoring', null)]);
      const bar = within(row('big')).getByRole('progressbar', { name: 'Progress of big' });
      expect(bar).not.toHaveAttribute('aria-valuenow');
      expect(bar).not.toHaveAttribute('aria-valuetext');
      expect(within(row('big')).getByTestId('progress')).toHaveClass('progress--indeterminate');
    });

    it('speaks German', async () => {
      await showBar([running('creating', progress(42 * MiB, 100 * MiB, 60))], { t: createTranslator('de'), locale: 'de-DE' });
      const bar = within(row('big')).getByRole('progressbar', { name: 'Fortschritt von big' });
      expect(bar).toHaveAttribute('aria-valuetext', '42\u00a0% – noch etwa 1 Min.');
    });

    it('shows no bar on a ready row', async () => {
      await showBar([makeBackup({ name: 'big', status: 'ready', progress: null })]);
      expect(within(row('big')).queryByRole('progressbar')).not.toBeInTheDocument();
      expect(within(row('big')).queryByTestId('progress')).not.toBeInTheDocument();
    });

    it('moves with each poll, and goes when the backup is ready', async () => {
      const first = running('creating', progress(10 * MiB, 100 * MiB, 10));
      const second = { ...first, progress: progress(60 * MiB, 100 * MiB, 11) };
      const ready = { ...first, status: 'ready' as const, progress: null, asset_id: 'a', size_bytes: 80 * MiB };
      vi.useFakeTimers();
      vi.setSystemTime(now);
      renderContent(fakeApi([first], [second], [ready]));
      await settle();
      expect(within(row('big')).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '10');
      await act(() => vi.advanceTimersByTimeAsync(1000));
      expect(within(row('big')).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '60');
      await act(() => vi.advanceTimersByTimeAsync(1000));
      expect(within(row('big')).queryByRole('progressbar')).not.toBeInTheDocument();
      expect(within(row('big')).getByText('Ready')).toBeInTheDocument();
    });
  });

  describe('estimateProgress', () => {
    const at = Date.parse('2026-03-14T10:00:00Z');
    const started = (secondsAgo: number) => new Date(at - secondsAgo * 1000).toISOString();

    it('assumes the average rate so far goes on', () => {
      expect(estimateProgress({ done_bytes: 25, total_bytes: 100, started_at: started(10) }, at)).toEqual({ percent: 25, remainingMs: 30_000 });
    });

    it('rounds the percentage down, so 100 means done', () => {
      expect(estimateProgress({ done_bytes: 999, total_bytes: 1000, started_at: started(10) }, at).percent).toBe(99);
      expect(estimateProgress({ done_bytes: 1000, total_bytes: 1000, started_at: started(10) }, at)).toEqual({ percent: 100, remainingMs: null });
    });

    it.each([
      ['nothing is done yet', { done_bytes: 0, total_bytes: 100, started_at: started(10) }, 0],
      ['it has run for less than two seconds', { done_bytes: 50, total_bytes: 100, started_at: started(1.9) }, 50],
      ['the start is ahead of this clock', { done_bytes: 50, total_bytes: 100, started_at: started(-30) }, 50],
      ['the start cannot be read', { done_bytes: 50, total_bytes: 100, started_at: 'soon' }, 50],
    ])('estimates no time left when %s', (_, p, percent) => {
      expect(estimateProgress(p, at)).toEqual({ percent, remainingMs: null });
    });

    it('has no percentage without a total', () => {
      expect(estimateProgress({ done_bytes: 50, total_bytes: 0, started_at: started(10) }, at)).toEqual({ percent: null, remainingMs: null });
      expect(estimateProgress(null, at)).toEqual({ percent: null, remainingMs: null });
    });
  });

  describe('row actions', () => {
    // What each action allows, by status, when no other backup is busy.
    const rules: { status: BackupStatus; download: boolean; restore: boolean; delete: boolean }[] = [
      { status: 'creating', download: false, restore: false, delete: false },
      { status: 'ready', download: true, restore: true, delete: true },
      { status: 'failed', download: false, restore: false, delete: true },
      { status: 'restoring', download: false, restore: false, delete: false },
    ];
    for (const rule of rules) {
      it(`offers ${describeRule(rule)} for a ${rule.status} backup`, async () => {
        const b = makeBackup({ name: `a ${rule.status} one`, status: rule.status, asset_id: rule.status === 'ready' || rule.status === 'restoring' ? 'asset' : null });
        renderContent(fakeApi([b]));
        await screen.findByRole('rowheader', { name: b.name });
        const r = within(row(b.name));
        for (const action of ['download', 'restore', 'delete'] as const) {
          const label = en(`backups.action_${action}`);
          const button = r.getByRole('button', { name: `${label} ${b.name}` });
          expect(button, `${action} button`).toHaveTextContent(label);
          if (rule[action]) expect(button, `${action} button`).toBeEnabled();
          else expect(button, `${action} button`).toBeDisabled();
        }
        // A backup can be locked whatever its status.
        expect(r.getByRole('button', { name: `Lock ${b.name}` })).toBeEnabled();
      });
    }

    it('disables Restore of a ready backup while another backup is creating, but not Download or Delete', async () => {
      renderContent(fakeApi([makeBackup({ name: 'busy', status: 'creating', asset_id: null }), makeBackup({ name: 'old' })]));
      await screen.findByRole('rowheader', { name: 'old' });
      expect(screen.getByRole('button', { name: 'Restore old' })).toBeDisabled();
      expect(screen.getByRole('button', { name: 'Download old' })).toBeEnabled();
      expect(screen.getByRole('button', { name: 'Delete old' })).toBeEnabled();
    });
  });

  describe('create button', () => {
    it('is enabled below the limit of 10 with no operation running', async () => {
      renderContent(fakeApi(Array.from({ length: 9 }, () => makeBackup())));
      await screen.findAllByRole('row');
      expect(createButton()).toBeEnabled();
      expect(screen.queryByTestId('create-disabled-reason')).not.toBeInTheDocument();
      expect(screen.getByText('9 of 10 backups')).toBeInTheDocument();
    });

    it('is disabled at 10 backups, and says why', async () => {
      renderContent(fakeApi(Array.from({ length: 10 }, () => makeBackup())));
      await screen.findByText('10 of 10 backups');
      const button = createButton();
      expect(button).toBeDisabled();
      const reason = en('backups.limit_reached', { limit: 10 });
      expect(screen.getByTestId('create-disabled-reason')).toHaveTextContent(reason);
      expect(button).toHaveAccessibleDescription(reason);
    });

    it('follows the limit the server gives', async () => {
      const api = fakeApi();
      api.list.mockResolvedValue(listOf([makeBackup(), makeBackup()], 2));
      renderContent(api);
      await screen.findByText('2 of 2 backups');
      expect(createButton()).toBeDisabled();
    });

    for (const status of ['creating', 'restoring'] as const) {
      it(`is disabled while a backup is ${status}, and says why`, async () => {
        renderContent(fakeApi([makeBackup({ status })]));
        await screen.findByRole('table');
        const button = createButton();
        expect(button).toBeDisabled();
        expect(button).toHaveAccessibleDescription(en('backups.error_in_progress'));
      });
    }

    it('is disabled until the list has loaded', () => {
      const api = fakeApi([]);
      api.list.mockReturnValue(new Promise(() => {}));
      renderContent(api);
      expect(createButton()).toBeDisabled();
      expect(screen.getByRole('status')).toHaveTextContent(en('backups.loading'));
    });
  });

  describe('creating a backup', () => {
    it('asks for an optional name, posts it, shows the new backup and refetches', async () => {
      const user = userEvent.setup();
      const created = makeBackup({ name: 'Before the 1.21 update', status: 'creating', asset_id: null, size_bytes: null });
      const api = fakeApi([], [created]);
      api.create.mockResolvedValue(created);
      renderContent(api);
      await user.click(await screen.findByRole('button', { name: 'Create Backup' }));

      const dialog = screen.getByRole('dialog', { name: en('backups.create_dialog_title') });
      const input = within(dialog).getByLabelText(en('backups.name_label'));
      expect(input).toHaveFocus();
      expect(input).toHaveAccessibleDescription(en('backups.name_hint'));
      await user.type(input, '  Before the 1.21 update  ');
      await user.keyboard('{Enter}');

      expect(api.create).toHaveBeenCalledWith('order-1', 'prov-1', 'Before the 1.21 update');
      await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
      expect(within(row('Before the 1.21 update')).getByText('Creating')).toBeInTheDocument();
      await waitFor(() => expect(api.list).toHaveBeenCalledTimes(2));
    });

    it('sends no name when the field is left empty', async () => {
      const user = userEvent.setup();
      const api = fakeApi([]);
      renderContent(api);
      await user.click(await screen.findByRole('button', { name: 'Create Backup' }));
      await user.click(screen.getByRole('button', { name: en('backups.create_submit') }));
      expect(api.create).toHaveBeenCalledWith('order-1', 'prov-1', undefined);
    });

    it('closes on Cancel without creating anything and gives focus back to the create button', async () => {
      const user = userEvent.setup();
      const api = fakeApi([]);
      renderContent(api);
      await user.click(await screen.findByRole('button', { name: 'Create Backup' }));
      await user.click(screen.getByRole('button', { name: en('backups.cancel') }));
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
      expect(api.create).not.toHaveBeenCalled();
      await waitFor(() => expect(createButton()).toHaveFocus());
    });

    it('closes when the user presses Escape', async () => {
      const user = userEvent.setup();
      renderContent(fakeApi([]));
      await user.click(await screen.findByRole('button', { name: 'Create Backup' }));
      fireEvent(screen.getByRole('dialog'), new Event('cancel', { cancelable: true }));
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    });

    const errors = [
      { code: 'limit_reached', message: en('backups.limit_reached', { limit: 10 }) },
      { code: 'operation_in_progress', message: en('backups.error_in_progress') },
      { code: 'internal', message: en('backups.error_generic') },
      { code: 'no_sidecar', message: en('backups.error_generic') },
    ] as const;
    for (const { code, message } of errors) {
      it(`explains a refused create (${code}) in the dialog and refetches`, async () => {
        const user = userEvent.setup();
        const api = fakeApi([]);
        api.create.mockRejectedValue(problemError(code));
        renderContent(api);
        await user.click(await screen.findByRole('button', { name: 'Create Backup' }));
        await user.click(screen.getByRole('button', { name: en('backups.create_submit') }));

        const dialog = screen.getByRole('dialog');
        expect(await within(dialog).findByRole('alert')).toHaveTextContent(message);
        await waitFor(() => expect(api.list).toHaveBeenCalledTimes(2));
      });
    }

    it('shows the generic message when the server cannot be reached', async () => {
      const user = userEvent.setup();
      const api = fakeApi([]);
      api.create.mockRejectedValue(new TypeError('Failed to fetch'));
      renderContent(api);
      await user.click(await screen.findByRole('button', { name: 'Create Backup' }));
      await user.click(screen.getByRole('button', { name: en('backups.create_submit') }));
      expect(await within(screen.getByRole('dialog')).findByRole('alert')).toHaveTextContent(en('backups.error_generic'));
    });
  });

  describe('deleting a backup', () => {
    it('asks for confirmation naming the backup, with Cancel focused', async () => {
      const user = userEvent.setup();
      const api = fakeApi([makeBackup({ name: 'old world' })]);
      renderContent(api);
      await user.click(await screen.findByRole('button', { name: 'Delete old world' }));
      const dialog = screen.getByRole('dialog', { name: en('backups.confirm_delete_title') });
      expect(dialog).toHaveAccessibleDescription(en('backups.confirm_delete_body', { name: 'old world' }));
      expect(within(dialog).getByRole('button', { name: en('backups.cancel') })).toHaveFocus();

      await user.click(within(dialog).getByRole('button', { name: en('backups.cancel') }));
      expect(api.remove).not.toHaveBeenCalled();
      expect(screen.getByRole('rowheader', { name: 'old world' })).toBeInTheDocument();
    });

    it('deletes after confirmation, removes the row and refetches', async () => {
      const user = userEvent.setup();
      const b = makeBackup({ name: 'old world' });
      const api = fakeApi([b], []);
      renderContent(api);
      await user.click(await screen.findByRole('button', { name: 'Delete old world' }));
      await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete' }));

      expect(api.remove).toHaveBeenCalledWith('order-1', 'prov-1', b.id);
      await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
      expect(screen.queryByRole('rowheader', { name: 'old world' })).not.toBeInTheDocument();
      expect(await screen.findByText(en('backups.empty_state'))).toBeInTheDocument();
      await waitFor(() => expect(screen.getByRole('heading', { name: en('backups.heading') })).toHaveFocus());
    });

    it('keeps the dialog open with a message when the server refuses', async () => {
      const user = userEvent.setup();
      const api = fakeApi([makeBackup({ name: 'old world' })]);
      api.remove.mockRejectedValue(problemError('status_conflict'));
      renderContent(api);
      await user.click(await screen.findByRole('button', { name: 'Delete old world' }));
      await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete' }));
      expect(await within(screen.getByRole('dialog')).findByRole('alert')).toHaveTextContent(en('backups.error_generic'));
    });
  });

  describe('restoring a backup', () => {
    it('asks for confirmation, restores, shows restoring and starts polling', async () => {
      const user = userEvent.setup();
      const b = makeBackup({ name: 'known good' });
      const api = fakeApi([b], [{ ...b, status: 'restoring' }]);
      api.restore.mockResolvedValue({ ...b, status: 'restoring' });
      renderContent(api, { pollIntervalMs: 50 });
      await user.click(await screen.findByRole('button', { name: 'Restore known good' }));
      const dialog = screen.getByRole('dialog', { name: en('backups.confirm_restore_title') });
      expect(dialog).toHaveAccessibleDescription(en('backups.confirm_restore_body', { name: 'known good' }));
      await user.click(within(dialog).getByRole('button', { name: 'Restore' }));

      expect(api.restore).toHaveBeenCalledWith('order-1', 'prov-1', b.id);
      expect(await within(row('known good')).findByText('Restoring')).toBeInTheDocument();
      expect(createButton()).toBeDisabled();
      await waitFor(() => expect(api.list.mock.calls.length).toBeGreaterThanOrEqual(3));
    });

    it('explains operation_in_progress when another operation got there first', async () => {
      const user = userEvent.setup();
      const api = fakeApi([makeBackup({ name: 'known good' })]);
      api.restore.mockRejectedValue(problemError('operation_in_progress'));
      renderContent(api);
      await user.click(await screen.findByRole('button', { name: 'Restore known good' }));
      await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Restore' }));
      expect(await within(screen.getByRole('dialog')).findByRole('alert')).toHaveTextContent(en('backups.error_in_progress'));
    });
  });

  describe('downloading a backup', () => {
    it('fetches the asset with the API and hands the file over', async () => {
      const user = userEvent.setup();
      const b: Backup = makeBackup({ name: 'world' });
      const api = fakeApi([b]);
      const onDownloaded = vi.fn();
      renderContent(api, { onDownloaded });
      await user.click(await screen.findByRole('button', { name: 'Download world' }));
      expect(api.download).toHaveBeenCalledWith(b.asset_id);
      await waitFor(() => expect(onDownloaded).toHaveBeenCalledWith({ blob: expect.any(Blob), fileName: 'world.tar.gz' }, 'world.tar.gz'));
    });

    it('saves the file through a temporary link by default', async () => {
      const user = userEvent.setup();
      const createObjectURL = vi.fn(() => 'blob:archive');
      const revokeObjectURL = vi.fn();
      vi.stubGlobal('URL', Object.assign(URL, { createObjectURL, revokeObjectURL }));
      const clicked: HTMLAnchorElement[] = [];
      const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
        clicked.push(this);
      });
      renderContent(fakeApi([makeBackup({ name: 'world' })]));
      await user.click(await screen.findByRole('button', { name: 'Download world' }));
      await waitFor(() => expect(click).toHaveBeenCalledTimes(1));
      expect(clicked[0].download).toBe('world.tar.gz');
      expect(clicked[0].href).toBe('blob:archive');
      expect(clicked[0].isConnected).toBe(false);
      vi.unstubAllGlobals();
    });

    it('says so when the download fails', async () => {
      const user = userEvent.setup();
      const api = fakeApi([makeBackup({ name: 'world' })]);
      api.download.mockRejectedValue(problemError('not_found', 404));
      renderContent(api, { onDownloaded: vi.fn() });
      await user.click(await screen.findByRole('button', { name: 'Download world' }));
      expect(await screen.findByRole('alert')).toHaveTextContent(en('backups.error_generic'));
    });
  });
});

describe('BackupsContent locking', () => {
  it('shows a lock icon labelled Locked on a locked row only, and offers Unlock there and Lock elsewhere', async () => {
    renderContent(fakeApi([makeBackup({ name: 'kept', locked: true }), makeBackup({ name: 'open' })]));
    await screen.findByRole('rowheader', { name: 'kept' });
    const badge = within(row('kept')).getByTestId('lock-badge');
    expect(badge).toHaveTextContent(en('backups.locked'));
    expect(within(badge).getByTestId('lock-icon')).toHaveAttribute('aria-hidden', 'true');
    expect(within(row('kept')).getByRole('button', { name: 'Unlock kept' })).toHaveTextContent('Unlock');
    expect(within(row('open')).queryByTestId('lock-badge')).not.toBeInTheDocument();
    expect(within(row('open')).getByRole('button', { name: 'Lock open' })).toHaveTextContent('Lock');
  });

  for (const status of ['ready', 'failed'] as const) {
    it(`disables Delete of a locked ${status} backup and says why`, async () => {
      renderContent(fakeApi([makeBackup({ name: 'kept', status, locked: true })]));
      await screen.findByRole('rowheader', { name: 'kept' });
      const del = screen.getByRole('button', { name: 'Delete kept' });
      expect(del).toBeDisabled();
      expect(del).toHaveAccessibleDescription(en('backups.delete_locked_hint'));
      expect(within(row('kept')).getByTestId('delete-locked-hint')).toBeVisible();
    });
  }

  it('locks on click: the row shows it at once, Delete is disabled, and the list is current', async () => {
    const user = userEvent.setup();
    const b = makeBackup({ name: 'precious' });
    const api = fakeApi([b]);
    api.setLocked.mockResolvedValue({ ...b, locked: true });
    renderContent(api);
    await user.click(await screen.findByRole('button', { name: 'Lock precious' }));

    expect(api.setLocked).toHaveBeenCalledWith('order-1', 'prov-1', b.id, true);
    expect(await within(row('precious')).findByTestId('lock-badge')).toHaveTextContent('Locked');
    expect(screen.getByRole('button', { name: 'Delete precious' })).toBeDisabled();
    expect(screen.getByRole('button', { name: 'Unlock precious' })).toBeEnabled();
  });

  it('unlocks on click, and Delete is offered again', async () => {
    const user = userEvent.setup();
    const b = makeBackup({ name: 'precious', locked: true });
    const api = fakeApi([b]);
    api.setLocked.mockResolvedValue({ ...b, locked: false });
    renderContent(api);
    await user.click(await screen.findByRole('button', { name: 'Unlock precious' }));

    expect(api.setLocked).toHaveBeenCalledWith('order-1', 'prov-1', b.id, false);
    await waitFor(() => expect(screen.getByRole('button', { name: 'Delete precious' })).toBeEnabled());
    expect(within(row('precious')).queryByTestId('lock-badge')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Delete precious' })).not.toHaveAccessibleDescription();
  });

  it('says so when the server refuses the lock, and shows the server\'s list', async () => {
    const user = userEvent.setup();
    const b = makeBackup({ name: 'going' });
    const api = fakeApi([b], []);
    api.setLocked.mockRejectedValue(problemError('status_conflict'));
    renderContent(api);
    await user.click(await screen.findByRole('button', { name: 'Lock going' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(en('backups.error_generic'));
    expect(await screen.findByText(en('backups.empty_state'))).toBeInTheDocument();
  });

  it('explains a delete refused because the backup was locked meanwhile, and shows it locked', async () => {
    const user = userEvent.setup();
    const b = makeBackup({ name: 'contested' });
    const api = fakeApi([b], [{ ...b, locked: true }]);
    api.remove.mockRejectedValue(problemError('backup_locked'));
    renderContent(api);
    await user.click(await screen.findByRole('button', { name: 'Delete contested' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete' }));
    expect(await within(screen.getByRole('dialog')).findByRole('alert')).toHaveTextContent(en('backups.error_locked'));
    expect(await within(row('contested')).findByTestId('lock-badge')).toBeInTheDocument();
  });

  it('speaks German', async () => {
    renderContent(fakeApi([makeBackup({ name: 'x', locked: true }), makeBackup({ name: 'y' })]), { t: createTranslator('de'), locale: 'de-DE' });
    await screen.findByRole('rowheader', { name: 'x' });
    expect(within(row('x')).getByTestId('lock-badge')).toHaveTextContent('Gesperrt');
    expect(screen.getByRole('button', { name: 'x: Entsperren' })).toBeEnabled();
    expect(screen.getByRole('button', { name: 'y: Sperren' })).toBeEnabled();
    expect(screen.getByRole('button', { name: 'x: Löschen' })).toHaveAccessibleDescription(createTranslator('de')('backups.delete_locked_hint'));
  });
});

describe('BackupsContent with a schedule', () => {
  const scheduleId = makeSchedule().id;

  it('marks the backups a schedule made with a Scheduled badge, and no others', async () => {
    renderContent(fakeApi([makeBackup({ name: 'nightly', schedule_id: scheduleId }), makeBackup({ name: 'mine' })]));
    await screen.findByRole('rowheader', { name: 'nightly' });
    const badge = within(row('nightly')).getByTestId('scheduled-badge');
    expect(badge).toHaveTextContent(en('backups.scheduled'));
    expect(badge).toHaveTextContent('Scheduled');
    expect(within(badge).getByTestId('clock-icon')).toHaveAttribute('aria-hidden', 'true');
    expect(within(row('nightly')).getByText('Ready')).toBeInTheDocument();
    expect(within(row('mine')).queryByTestId('scheduled-badge')).not.toBeInTheDocument();
  });

  it('shows the badge beside the lock of a locked scheduled backup', async () => {
    renderContent(fakeApi([makeBackup({ name: 'kept', schedule_id: scheduleId, locked: true })]));
    await screen.findByRole('rowheader', { name: 'kept' });
    expect(within(row('kept')).getByTestId('scheduled-badge')).toBeInTheDocument();
    expect(within(row('kept')).getByTestId('lock-badge')).toBeInTheDocument();
  });

  it('says Geplant in German', async () => {
    renderContent(fakeApi([makeBackup({ name: 'nightly', schedule_id: scheduleId })]), { t: createTranslator('de'), locale: 'de-DE' });
    await screen.findByRole('rowheader', { name: 'nightly' });
    expect(within(row('nightly')).getByTestId('scheduled-badge')).toHaveTextContent('Geplant');
  });

  it('shows the schedule section with the table, naming the backup the last run made', async () => {
    const made = makeBackup({ name: 'Scheduled 2026-03-14 04:00', schedule_id: scheduleId });
    const api = fakeApi([made]);
    api.getSchedule.mockResolvedValue(makeSchedule({ last_run: { slot: '2026-03-14T04:00:00Z', at: '2026-03-14T04:00:00Z', outcome: 'started', backup_id: made.id, reason: null } }));
    renderContent(api);
    const section = await screen.findByRole('region', { name: en('schedule.heading') });
    expect(await within(section).findByTestId('schedule-last-run')).toHaveTextContent('made “Scheduled 2026-03-14 04:00”');
    expect(api.getSchedule).toHaveBeenCalledWith('order-1', 'prov-1', expect.any(AbortSignal));
  });

  it('refetches the table when the schedule has run, so that its new backup shows up', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-03-14T10:00:00Z'));
    const made = makeBackup({ name: 'Scheduled 2026-03-14 10:00', schedule_id: scheduleId, status: 'creating', asset_id: null });
    const api = fakeApi([], [made]);
    api.getSchedule
      .mockResolvedValueOnce(makeSchedule({ cron: '@every 2s', next_run_at: '2026-03-14T10:00:02Z' }))
      .mockResolvedValue(
        makeSchedule({
          cron: '@every 2s',
          next_run_at: '2026-03-14T10:00:04Z',
          last_run: { slot: '2026-03-14T10:00:02Z', at: '2026-03-14T10:00:02Z', outcome: 'started', backup_id: made.id, reason: null },
        }),
      );
    renderContent(api);
    await settle();
    expect(api.list).toHaveBeenCalledTimes(1);
    expect(screen.getByText(en('backups.empty_state'))).toBeInTheDocument();

    await act(() => vi.advanceTimersByTimeAsync(2250));
    expect(api.list).toHaveBeenCalledTimes(2);
    expect(within(row('Scheduled 2026-03-14 10:00')).getByTestId('scheduled-badge')).toBeInTheDocument();
    expect(screen.getByTestId('schedule-last-run')).toHaveTextContent('Started');
  });
});

function describeRule(rule: { download: boolean; restore: boolean; delete: boolean }): string {
  const on = (['download', 'restore', 'delete'] as const).filter((a) => rule[a]);
  return on.length === 0 ? 'no action' : on.join(' and ');
}

describe('BackupsContent: how a backup was made', () => {
  const notPaused = 'the game was not paused: RCON connection refused';

  it('marks a backup with warnings with a sign and the words, and no other backup', async () => {
    renderContent(fakeApi([makeBackup({ name: 'unpaused', warnings: [notPaused] }), makeBackup({ name: 'clean' })]));
    await screen.findByRole('rowheader', { name: 'unpaused' });
    const warnings = within(row('unpaused')).getByTestId('backup-warnings');
    expect(warnings).toHaveTextContent(`⚠ Warning: ${notPaused}`);
    // The sign is decoration: the words say it, and screen readers read them once.
    expect(within(warnings).getByText('⚠')).toHaveAttribute('aria-hidden', 'true');
    expect(within(row('unpaused')).getByText(`Warning: ${notPaused}`, { exact: false })).toBeVisible();
    expect(within(row('unpaused')).getByText('Ready')).toBeInTheDocument();
    expect(within(row('clean')).queryByTestId('backup-warnings')).not.toBeInTheDocument();
  });

  it('says how long the game was paused, and nothing when it was not', async () => {
    renderContent(fakeApi([makeBackup({ name: 'paused', quiesce: { method: 'rcon', paused_ms: 1234 } }), makeBackup({ name: 'live', quiesce: null })]));
    await screen.findByRole('rowheader', { name: 'paused' });
    expect(within(row('paused')).getByTestId('backup-quiesce')).toHaveTextContent('Game paused for 1.2 s');
    expect(within(row('live')).queryByTestId('backup-quiesce')).not.toBeInTheDocument();
  });

  it('names the paths a backup left out, and shortens a long list', async () => {
    const many = ['logs/', '*.tmp', 'cache/', 'crash-reports/', 'debug/', 'dynmap/', 'bluemap/', 'x'.repeat(200)];
    renderContent(fakeApi([makeBackup({ name: 'few', excludes: ['logs/', '*.tmp'] }), makeBackup({ name: 'many', excludes: many }), makeBackup({ name: 'all' })]));
    await screen.findByRole('rowheader', { name: 'few' });
    expect(within(row('few')).getByTestId('backup-excludes')).toHaveTextContent(/^Excluded: logs\/, \*\.tmp$/);
    const long = within(row('many')).getByTestId('backup-excludes');
    expect(long).toHaveTextContent(/^Excluded: logs\/, \*\.tmp, cache\/, crash-reports\/, debug\/ and 3 more$/);
    expect(long).toHaveAttribute('title', many.join('\n'));
    expect(within(row('all')).queryByTestId('backup-excludes')).not.toBeInTheDocument();
  });

  it('shortens one very long pattern', async () => {
    renderContent(fakeApi([makeBackup({ name: 'long', excludes: ['a'.repeat(256)] })]));
    await screen.findByRole('rowheader', { name: 'long' });
    const text = within(row('long')).getByTestId('backup-excludes').textContent ?? '';
    expect(text).toMatch(/^Excluded: a+…$/);
    expect(text.length).toBeLessThan(60);
  });

  it('speaks German', async () => {
    renderContent(
      fakeApi([makeBackup({ name: 'b', warnings: [notPaused], quiesce: { method: 'rcon', paused_ms: 1234 }, excludes: ['logs/', '*.tmp'] })]),
      { t: createTranslator('de'), locale: 'de-DE' },
    );
    await screen.findByRole('rowheader', { name: 'b' });
    expect(within(row('b')).getByTestId('backup-warnings')).toHaveTextContent(`Warnung: ${notPaused}`);
    expect(within(row('b')).getByTestId('backup-quiesce')).toHaveTextContent('Spiel pausiert für 1,2 s');
    expect(within(row('b')).getByTestId('backup-excludes')).toHaveTextContent('Ausgenommen: logs/, *.tmp');
  });
});

describe('BackupsContent: excluding paths from a new backup', () => {
  async function openCreate(api: ReturnType<typeof fakeApi>, props: Partial<BackupsContentProps> = {}) {
    const user = userEvent.setup();
    renderContent(api, props);
    await user.click(await screen.findByRole('button', { name: (props.t ?? en)('backups.create_button') }));
    return user;
  }

  it('offers an optional field that explains the syntax and the .savepointignore file', async () => {
    await openCreate(fakeApi([]));
    const field = within(screen.getByRole('dialog')).getByLabelText(en('backups.excludes_label'));
    expect(field.tagName).toBe('TEXTAREA');
    expect(field).toHaveAccessibleDescription(en('backups.excludes_hint'));
    for (const text of ['logs/', '*.tmp', '.savepointignore']) expect(en('backups.excludes_hint')).toContain(text);
  });

  it('sends one pattern a line, trimmed, without the blank lines', async () => {
    const api = fakeApi([]);
    const user = await openCreate(api);
    await user.click(within(screen.getByRole('dialog')).getByLabelText(en('backups.excludes_label')));
    await user.paste('  logs/  \n\n*.tmp\r\n   \nworld/session.lock\n');
    await user.click(screen.getByRole('button', { name: en('backups.create_submit') }));
    expect(api.create).toHaveBeenCalledWith('order-1', 'prov-1', undefined, { excludes: ['logs/', '*.tmp', 'world/session.lock'] });
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
  });

  it('sends no excludes when the field holds only blank lines', async () => {
    const api = fakeApi([]);
    const user = await openCreate(api);
    await user.click(within(screen.getByRole('dialog')).getByLabelText(en('backups.excludes_label')));
    await user.paste('  \n\n ');
    await user.type(within(screen.getByRole('dialog')).getByLabelText(en('backups.name_label')), 'n');
    await user.click(screen.getByRole('button', { name: en('backups.create_submit') }));
    expect(api.create).toHaveBeenCalledTimes(1);
    expect(api.create.mock.calls[0]).toEqual(['order-1', 'prov-1', 'n']);
  });

  const refusal = () =>
    new ApiError('invalid', 422, {
      type: 'urn:savepoint:problem:invalid_excludes',
      title: 'Invalid exclude patterns',
      status: 422,
      detail: 'too many exclude patterns: 300, at most 256',
      code: 'invalid_excludes',
    });

  it('shows why the server refused the patterns beside the field, and keeps what was typed', async () => {
    const api = fakeApi([]);
    api.create.mockRejectedValueOnce(refusal());
    const user = await openCreate(api);
    const dialog = screen.getByRole('dialog');
    const field = within(dialog).getByLabelText(en('backups.excludes_label'));
    await user.click(field);
    await user.paste('logs/\n*.tmp');
    await user.click(screen.getByRole('button', { name: en('backups.create_submit') }));

    const message = 'These patterns were not accepted: too many exclude patterns: 300, at most 256';
    expect(await within(dialog).findByTestId('excludes-error')).toHaveTextContent(message);
    expect(within(dialog).getAllByRole('alert')).toHaveLength(1);
    expect(field).toHaveAttribute('aria-invalid', 'true');
    expect(field).toHaveAccessibleDescription(`${en('backups.excludes_hint')} ${message}`);
    expect(field).toHaveValue('logs/\n*.tmp');

    // Fixed, the create goes through and the message goes.
    await user.clear(field);
    await user.paste('logs/');
    await user.click(screen.getByRole('button', { name: en('backups.create_submit') }));
    expect(api.create).toHaveBeenLastCalledWith('order-1', 'prov-1', undefined, { excludes: ['logs/'] });
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
  });

  it('explains the refusal in German', async () => {
    const api = fakeApi([]);
    api.create.mockRejectedValueOnce(refusal());
    const de = createTranslator('de');
    const user = await openCreate(api, { t: de, locale: 'de-DE' });
    const field = within(screen.getByRole('dialog')).getByLabelText('Ausgenommene Pfade (optional)');
    expect(field).toHaveAccessibleDescription(de('backups.excludes_hint'));
    expect(de('backups.excludes_hint')).toContain('.savepointignore');
    await user.click(field);
    await user.paste('logs/');
    await user.click(screen.getByRole('button', { name: de('backups.create_submit') }));
    expect(await screen.findByTestId('excludes-error')).toHaveTextContent('Diese Muster wurden nicht angenommen: too many exclude patterns: 300, at most 256');
  });

  it('starts empty again when the dialog is opened again', async () => {
    const api = fakeApi([]);
    api.create.mockRejectedValueOnce(refusal());
    const user = await openCreate(api);
    await user.click(within(screen.getByRole('dialog')).getByLabelText(en('backups.excludes_label')));
    await user.paste('logs/');
    await user.click(screen.getByRole('button', { name: en('backups.create_submit') }));
    await screen.findByTestId('excludes-error');
    await user.click(screen.getByRole('button', { name: en('backups.cancel') }));
    await user.click(createButton());
    expect(within(screen.getByRole('dialog')).getByLabelText(en('backups.excludes_label'))).toHaveValue('');
    expect(screen.queryByTestId('excludes-error')).not.toBeInTheDocument();
  });
});
