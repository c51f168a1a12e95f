import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { Schedule } from './client';
import { createTranslator } from './i18n';
import { describeRetention, ScheduleSection, scheduleErrorText, type ScheduleSectionProps } from './schedule-section';
import { fakeApi, makeBackup, makeSchedule, problemError, scheduleFrom } from './test-helpers';
import { ApiError } from './client';

const en = createTranslator('en');
const de = createTranslator('de');

type Api = ReturnType<typeof fakeApi>;

function withSchedule(schedule: Schedule | null): Api {
  const api = fakeApi([]);
  api.getSchedule.mockResolvedValue(schedule);
  return api;
}

function renderSection(api: Api, props: Partial<ScheduleSectionProps> = {}) {
  return render(<ScheduleSection orderId="order-1" provisionId="prov-1" api={api} locale="en-US" timeZone="UTC" {...props} />);
}

async function settle() {
  await act(async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  });
}

function button(name: string) {
  return screen.getByRole('button', { name });
}

function field(label: string) {
  return within(screen.getByTestId('schedule-form')).getByLabelText(label);
}

// openAddForm opens the form of a provision without a schedule.
async function openAddForm(api: Api, props: Partial<ScheduleSectionProps> = {}) {
  const user = userEvent.setup();
  renderSection(api, props);
  await user.click(await screen.findByRole('button', { name: en('schedule.add') }));
  return user;
}

function sentSettings(api: Api) {
  expect(api.putSchedule).toHaveBeenCalledTimes(1);
  const [order, provision, settings] = api.putSchedule.mock.calls[0];
  expect([order, provision]).toEqual(['order-1', 'prov-1']);
  return settings;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ScheduleSection', () => {
  describe('without a schedule', () => {
    it('says there is none and offers to add one', async () => {
      const api = withSchedule(null);
      renderSection(api);
      expect(await screen.findByText(en('schedule.none'))).toBeInTheDocument();
      expect(api.getSchedule).toHaveBeenCalledWith('order-1', 'prov-1', expect.any(AbortSignal));
      expect(screen.getByRole('region', { name: en('schedule.heading') })).toBeInTheDocument();
      expect(button(en('schedule.add'))).toBeEnabled();
      expect(screen.queryByRole('button', { name: en('schedule.pause') })).not.toBeInTheDocument();
    });

    it('opens the form with the first field focused, and the defaults: daily at 04:00, the given zone, the usual names, no retention rule, active', async () => {
      await openAddForm(withSchedule(null), { timeZone: 'Europe/Berlin' });
      const form = screen.getByRole('form', { name: en('schedule.form_add') });
      expect(field(en('schedule.repeat_label'))).toHaveFocus();
      expect(field(en('schedule.repeat_label'))).toHaveValue('daily');
      expect(field(en('schedule.time_label'))).toHaveValue('04:00');
      expect(within(form).getByTestId('cron-preview')).toHaveTextContent('As a cron expression: 0 4 * * *');
      expect(field(en('schedule.time_zone_label'))).toHaveValue('Europe/Berlin');
      expect(field(en('schedule.name_template_label'))).toHaveValue('Scheduled {date} {time}');
      for (const key of ['schedule.keep_last', 'schedule.keep_daily', 'schedule.keep_weekly', 'schedule.keep_monthly'] as const) {
        expect(field(en(key))).toHaveValue(0);
      }
      expect(field(en('schedule.enabled_label'))).toBeChecked();
    });

    it("starts in the browser's time zone when it is given none", async () => {
      vi.spyOn(Intl.DateTimeFormat.prototype, 'resolvedOptions').mockReturnValue({ timeZone: 'America/Sao_Paulo' } as Intl.ResolvedDateTimeFormatOptions);
      await openAddForm(withSchedule(null), { timeZone: undefined });
      expect(field(en('schedule.time_zone_label'))).toHaveValue('America/Sao_Paulo');
    });

    it('Cancel closes the form without saving, and gives focus back to Add schedule', async () => {
      const api = withSchedule(null);
      const user = await openAddForm(api);
      await user.click(button(en('backups.cancel')));
      expect(screen.queryByTestId('schedule-form')).not.toBeInTheDocument();
      expect(api.putSchedule).not.toHaveBeenCalled();
      expect(button(en('schedule.add'))).toHaveFocus();
    });
  });

  describe('presets', () => {
    it('daily at a time makes "M H * * *"', async () => {
      const api = withSchedule(null);
      const user = await openAddForm(api);
      fireEvent.change(field(en('schedule.time_label')), { target: { value: '03:30' } });
      expect(screen.getByTestId('cron-preview')).toHaveTextContent('30 3 * * *');
      await user.click(button(en('schedule.save')));
      expect(sentSettings(api)).toEqual({
        cron: '30 3 * * *',
        time_zone: 'UTC',
        enabled: true,
        name_template: 'Scheduled {date} {time}',
        retention: { keep_last: 0, keep_daily: 0, keep_weekly: 0, keep_monthly: 0 },
      });
    });

    it('every N hours makes "0 */N * * *", offering only the steps that divide a day', async () => {
      const api = withSchedule(null);
      const user = await openAddForm(api);
      await user.selectOptions(field(en('schedule.repeat_label')), 'hours');
      const every = field(en('schedule.hours_label'));
      expect(within(every).getAllByRole('option').map((o) => o.textContent)).toEqual(['1 hour', '2 hours', '3 hours', '4 hours', '6 hours', '8 hours', '12 hours']);
      expect(screen.queryByLabelText(en('schedule.time_label'))).not.toBeInTheDocument();
      await user.selectOptions(every, '8');
      expect(screen.getByTestId('cron-preview')).toHaveTextContent('0 */8 * * *');
      await user.click(button(en('schedule.save')));
      expect(sentSettings(api).cron).toBe('0 */8 * * *');
    });

    it('every hour makes "0 * * * *"', async () => {
      const api = withSchedule(null);
      const user = await openAddForm(api);
      await user.selectOptions(field(en('schedule.repeat_label')), 'hours');
      await user.selectOptions(field(en('schedule.hours_label')), '1');
      await user.click(button(en('schedule.save')));
      expect(sentSettings(api).cron).toBe('0 * * * *');
    });

    it('weekly on a day at a time makes "M H * * D", with Sunday as 0 and the days named in the locale', async () => {
      const api = withSchedule(null);
      const user = await openAddForm(api);
      await user.selectOptions(field(en('schedule.repeat_label')), 'weekly');
      const day = field(en('schedule.weekday_label'));
      expect(within(day).getAllByRole('option').map((o) => o.textContent)).toEqual(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']);
      await user.selectOptions(day, 'Sunday');
      fireEvent.change(field(en('schedule.time_label')), { target: { value: '22:15' } });
      expect(screen.getByTestId('cron-preview')).toHaveTextContent('15 22 * * 0');
      await user.click(button(en('schedule.save')));
      expect(sentSettings(api).cron).toBe('15 22 * * 0');
    });

    it('a custom expression is sent as typed (trimmed), and starts from what the preset made', async () => {
      const api = withSchedule(null);
      const user = await openAddForm(api);
      await user.selectOptions(field(en('schedule.repeat_label')), 'custom');
      const custom = field(en('schedule.custom_label'));
      expect(custom).toHaveValue('0 4 * * *');
      expect(custom).toHaveAccessibleDescription(en('schedule.custom_hint'));
      expect(screen.queryByTestId('cron-preview')).not.toBeInTheDocument();
      await user.clear(custom);
      await user.type(custom, ' @every 2s ');
      await user.click(button(en('schedule.save')));
      expect(sentSettings(api).cron).toBe('@every 2s');
    });

    it('keeps each preset\'s values when switching between them', async () => {
      const user = await openAddForm(withSchedule(null));
      fireEvent.change(field(en('schedule.time_label')), { target: { value: '05:45' } });
      await user.selectOptions(field(en('schedule.repeat_label')), 'hours');
      await user.selectOptions(field(en('schedule.repeat_label')), 'daily');
      expect(field(en('schedule.time_label'))).toHaveValue('05:45');
    });
  });

  describe('saving', () => {
    it('sends the zone, the name template, the retention and the enabled state, then shows the saved schedule', async () => {
      const api = withSchedule(null);
      const user = await openAddForm(api);
      const zone = field(en('schedule.time_zone_label'));
      await user.clear(zone);
      await user.type(zone, 'Europe/Berlin');
      const template = field(en('schedule.name_template_label'));
      await user.clear(template);
      await user.type(template, 'Nightly {{date}');
      for (const [key, value] of [
        ['schedule.keep_last', '3'],
        ['schedule.keep_daily', '7'],
        ['schedule.keep_weekly', '4'],
        ['schedule.keep_monthly', '12'],
      ] as const) {
        await user.clear(field(en(key)));
        await user.type(field(en(key)), value);
      }
      await user.click(field(en('schedule.enabled_label')));
      await user.click(button(en('schedule.save')));

      expect(sentSettings(api)).toEqual({
        cron: '0 4 * * *',
        time_zone: 'Europe/Berlin',
        enabled: false,
        name_template: 'Nightly {date}',
        retention: { keep_last: 3, keep_daily: 7, keep_weekly: 4, keep_monthly: 12 },
      });
      await waitFor(() => expect(screen.queryByTestId('schedule-form')).not.toBeInTheDocument());
      expect(screen.getByTestId('schedule-when')).toHaveTextContent('Daily at 4:00');
      expect(screen.getByTestId('schedule-state')).toHaveTextContent('Paused');
      expect(screen.getByTestId('schedule-retention')).toHaveTextContent('the last 3, one a day for 7 days, one a week for 4 weeks, and one a month for 12 months');
      expect(screen.getByTestId('schedule-announcer')).toHaveTextContent(en('schedule.saved'));
      expect(button(en('schedule.edit'))).toHaveFocus();
    });

    it('leaves an empty name template to the server, and reads an empty count as 0', async () => {
      const api = withSchedule(null);
      const user = await openAddForm(api);
      await user.clear(field(en('schedule.name_template_label')));
      await user.clear(field(en('schedule.keep_last')));
      await user.click(button(en('schedule.save')));
      const settings = sentSettings(api);
      expect(settings).not.toHaveProperty('name_template');
      expect(settings.retention?.keep_last).toBe(0);
    });

    it('explains the retention fields, and says what 0 means', async () => {
      await openAddForm(withSchedule(null));
      const hint = en('schedule.retention_hint');
      expect(hint).toMatch(/0 turns a rule off/);
      for (const key of ['schedule.keep_last', 'schedule.keep_daily', 'schedule.keep_weekly', 'schedule.keep_monthly'] as const) {
        const input = field(en(key));
        expect(input).toHaveAccessibleDescription(hint);
        expect(input).toHaveAttribute('min', '0');
        expect(input).toHaveAttribute('max', '1000');
      }
      expect(screen.getByRole('group', { name: en('schedule.retention_legend') })).toBeInTheDocument();
    });

    it('labels every field of the form, and describes those with help', async () => {
      const user = await openAddForm(withSchedule(null));
      for (const kind of ['daily', 'hours', 'weekly', 'custom']) {
        await user.selectOptions(field(en('schedule.repeat_label')), kind);
        const form = screen.getByTestId('schedule-form');
        for (const control of form.querySelectorAll('input, select, textarea')) {
          expect((control as HTMLInputElement).labels?.length, `${kind}: ${control.outerHTML}`).toBe(1);
        }
      }
      expect(field(en('schedule.time_zone_label'))).toHaveAccessibleDescription(en('schedule.time_zone_hint'));
      expect(field(en('schedule.name_template_label'))).toHaveAccessibleDescription(en('schedule.name_template_hint'));
      expect(field(en('schedule.enabled_label'))).toHaveAccessibleDescription(en('schedule.enabled_hint'));
      expect(field(en('backups.excludes_label'))).toHaveAccessibleDescription(en('backups.excludes_hint'));
    });

    it('shows the server\'s words when it refuses the schedule, and keeps everything typed', async () => {
      const api = withSchedule(null);
      api.putSchedule.mockRejectedValueOnce(
        new ApiError('invalid', 422, {
          type: 'urn:savepoint:problem:invalid_schedule',
          title: 'Invalid schedule',
          status: 422,
          detail: 'invalid schedule: cron expression "61 * * * *": end of range (61) above maximum (59): 61',
          code: 'invalid_schedule',
        }),
      );
      const user = await openAddForm(api);
      await user.selectOptions(field(en('schedule.repeat_label')), 'custom');
      await user.clear(field(en('schedule.custom_label')));
      await user.type(field(en('schedule.custom_label')), '61 * * * *');
      await user.clear(field(en('schedule.keep_last')));
      await user.type(field(en('schedule.keep_last')), '5');
      await user.click(button(en('schedule.save')));

      const message = 'The schedule was not saved: cron expression "61 * * * *": end of range (61) above maximum (59): 61';
      const alert = await within(screen.getByTestId('schedule-form')).findByRole('alert');
      expect(alert).toHaveTextContent(message);
      expect(field(en('schedule.custom_label'))).toHaveValue('61 * * * *');
      expect(field(en('schedule.keep_last'))).toHaveValue(5);
      expect(field(en('schedule.repeat_label'))).toHaveValue('custom');
      expect(button(en('schedule.save'))).toHaveAccessibleDescription(message);
      expect(field(en('schedule.custom_label'))).toHaveAccessibleDescription(`${en('schedule.custom_hint')} ${message}`);
      expect(screen.getByRole('form', { name: en('schedule.form_add') })).toHaveAccessibleDescription(message);

      // Fixed, it saves with what was typed before.
      await user.clear(field(en('schedule.custom_label')));
      await user.type(field(en('schedule.custom_label')), '@every 2s');
      await user.click(button(en('schedule.save')));
      expect(api.putSchedule).toHaveBeenLastCalledWith('order-1', 'prov-1', expect.objectContaining({ cron: '@every 2s', retention: expect.objectContaining({ keep_last: 5 }) }));
      await waitFor(() => expect(screen.queryByTestId('schedule-form')).not.toBeInTheDocument());
      expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    });

    it('names what input validation refused', () => {
      const err = new ApiError('invalid', 422, {
        type: 'urn:savepoint:problem:invalid_input',
        title: 'Invalid input',
        status: 422,
        detail: 'validation failed',
        code: 'invalid_input',
        errors: [{ location: 'body.retention.keep_last', message: 'expected number <= 1000' }],
      });
      expect(scheduleErrorText(err, en)).toBe('The schedule was not saved: validation failed (body.retention.keep_last: expected number <= 1000)');
    });

    it('gives the generic message for other refusals, with the form kept', async () => {
      const api = withSchedule(null);
      api.putSchedule.mockRejectedValueOnce(problemError('internal', 500));
      const user = await openAddForm(api);
      await user.click(button(en('schedule.save')));
      expect(await within(screen.getByTestId('schedule-form')).findByRole('alert')).toHaveTextContent(en('backups.error_generic'));
      expect(field(en('schedule.time_label'))).toHaveValue('04:00');
    });
  });

  describe('when schedules are unavailable', () => {
    it('says so calmly instead of the section', async () => {
      const api = fakeApi([]);
      api.getSchedule.mockRejectedValue(problemError('schedules_unavailable', 501));
      renderSection(api);
      expect(await screen.findByTestId('schedule-unavailable')).toHaveTextContent(en('schedule.unavailable'));
      expect(screen.queryByRole('region', { name: en('schedule.heading') })).not.toBeInTheDocument();
      expect(screen.queryByRole('alert')).not.toBeInTheDocument();
      expect(screen.queryByRole('button')).not.toBeInTheDocument();
    });

    it('says so too when the server turns out to have none on save', async () => {
      const api = withSchedule(null);
      api.putSchedule.mockRejectedValue(problemError('schedules_unavailable', 501));
      const user = await openAddForm(api);
      await user.click(button(en('schedule.save')));
      expect(await screen.findByTestId('schedule-unavailable')).toBeInTheDocument();
    });
  });

  describe('showing a schedule', () => {
    it('shows when it runs, the next run in the locale with the schedule\'s zone named, and that it is active', async () => {
      renderSection(withSchedule(makeSchedule({ cron: '30 4 * * *', time_zone: 'Europe/Berlin', next_run_at: '2026-03-15T03:30:00Z' })));
      expect(await screen.findByTestId('schedule-when')).toHaveTextContent('Daily at 4:30 AM');
      const next = screen.getByTestId('schedule-next-run');
      expect(next).toHaveTextContent('Mar 15, 2026, 4:30 AM (Europe/Berlin)');
      expect(within(next).getByText(/2026/).closest('time')).toHaveAttribute('dateTime', '2026-03-15T03:30:00Z');
      expect(screen.getByTestId('schedule-state')).toHaveTextContent('Active');
      expect(screen.getByTestId('schedule-last-run')).toHaveTextContent(en('schedule.last_run_none'));
      expect(screen.getByTestId('schedule-retention')).toHaveTextContent(en('schedule.retention_all'));
      expect(button(en('schedule.pause'))).toBeEnabled();
    });

    it.each([
      ['0 */6 * * *', 'Every 6 hours'],
      ['0 * * * *', 'Every hour'],
      ['0 3 * * 1', 'Every Monday at 3:00 AM'],
      ['@every 2s', 'Custom: @every 2s'],
    ])('describes %s as %s', async (cron, words) => {
      renderSection(withSchedule(makeSchedule({ cron })));
      expect(await screen.findByTestId('schedule-when')).toHaveTextContent(words);
    });

    it('says a paused schedule makes no backups', async () => {
      renderSection(withSchedule(makeSchedule({ enabled: false, next_run_at: null })));
      expect(await screen.findByTestId('schedule-state')).toHaveTextContent('Paused');
      expect(screen.getByTestId('schedule-next-run')).toHaveTextContent(en('schedule.next_run_paused'));
      expect(button(en('schedule.resume'))).toBeEnabled();
    });

    it('names the backup the last run started', async () => {
      const made = makeBackup({ name: 'Scheduled 2026-03-14 04:00', schedule_id: makeSchedule().id });
      const run = { slot: '2026-03-14T04:00:00Z', at: '2026-03-14T04:00:01Z', outcome: 'started' as const, backup_id: made.id, reason: null };
      renderSection(withSchedule(makeSchedule({ last_run: run })), { backups: [made] });
      const last = await screen.findByTestId('schedule-last-run');
      expect(within(last).getByTestId('schedule-outcome')).toHaveTextContent('Started');
      expect(last).toHaveTextContent('Started Mar 14, 2026, 4:00 AM (UTC) · made “Scheduled 2026-03-14 04:00”');
    });

    it.each([
      ['skipped', 'Skipped', 'a backup or restore was already running for this server'],
      ['failed', 'Failed', 'the server is at its backup limit'],
    ] as const)('shows a %s run with its reason', async (outcome, label, reason) => {
      const run = { slot: '2026-03-14T04:00:00Z', at: '2026-03-14T04:00:01Z', outcome, backup_id: null, reason };
      renderSection(withSchedule(makeSchedule({ last_run: run })));
      const last = await screen.findByTestId('schedule-last-run');
      expect(within(last).getByTestId('schedule-outcome')).toHaveTextContent(label);
      expect(last).toHaveTextContent(`Reason: ${reason}`);
    });

    it('speaks German, with German dates', async () => {
      const run = { slot: '2026-03-14T04:00:00Z', at: '2026-03-14T04:00:01Z', outcome: 'skipped' as const, backup_id: null, reason: 'busy' };
      renderSection(withSchedule(makeSchedule({ cron: '0 3 * * 1', time_zone: 'Europe/Berlin', next_run_at: '2026-03-16T02:00:00Z', last_run: run, retention: { keep_last: 0, keep_daily: 1, keep_weekly: 0, keep_monthly: 0 } })), {
        t: de,
        locale: 'de-DE',
      });
      expect(await screen.findByTestId('schedule-when')).toHaveTextContent('Jeden Montag um 03:00');
      expect(screen.getByTestId('schedule-next-run')).toHaveTextContent('16.03.2026, 03:00 (Europe/Berlin)');
      expect(screen.getByTestId('schedule-last-run')).toHaveTextContent('Übersprungen');
      expect(screen.getByTestId('schedule-retention')).toHaveTextContent('eines pro Tag für 1 Tag');
      expect(screen.getByTestId('schedule-state')).toHaveTextContent('Aktiv');
      expect(button('Pausieren')).toBeEnabled();
    });

    it('tells the user when the schedule cannot be loaded, and tries again on request', async () => {
      const api = fakeApi([]);
      api.getSchedule.mockRejectedValueOnce(problemError('internal', 500)).mockResolvedValue(null);
      const user = userEvent.setup();
      renderSection(api);
      const alert = await screen.findByRole('alert');
      expect(alert).toHaveTextContent(en('schedule.error_load'));
      await user.click(within(alert).getByRole('button', { name: en('schedule.retry') }));
      expect(await screen.findByText(en('schedule.none'))).toBeInTheDocument();
      expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    });
  });

  describe('editing, pausing and deleting', () => {
    it('opens the form with the schedule\'s own settings', async () => {
      const user = userEvent.setup();
      const schedule = makeSchedule({
        cron: '15 22 * * 5',
        time_zone: 'Europe/Berlin',
        name_template: 'Weekly {date}',
        retention: { keep_last: 2, keep_daily: 0, keep_weekly: 4, keep_monthly: 0 },
      });
      const api = withSchedule(schedule);
      renderSection(api);
      await user.click(await screen.findByRole('button', { name: en('schedule.edit') }));
      expect(screen.getByRole('form', { name: en('schedule.form_edit') })).toBeInTheDocument();
      expect(field(en('schedule.repeat_label'))).toHaveValue('weekly');
      expect(field(en('schedule.weekday_label'))).toHaveValue('5');
      expect(field(en('schedule.time_label'))).toHaveValue('22:15');
      expect(field(en('schedule.time_zone_label'))).toHaveValue('Europe/Berlin');
      expect(field(en('schedule.name_template_label'))).toHaveValue('Weekly {date}');
      expect(field(en('schedule.keep_last'))).toHaveValue(2);
      expect(field(en('schedule.keep_weekly'))).toHaveValue(4);
      await user.click(button(en('schedule.save')));
      expect(sentSettings(api)).toEqual({
        cron: '15 22 * * 5',
        time_zone: 'Europe/Berlin',
        enabled: true,
        name_template: 'Weekly {date}',
        retention: { keep_last: 2, keep_daily: 0, keep_weekly: 4, keep_monthly: 0 },
      });
    });

    it('edits an expression that is no preset as a custom one', async () => {
      const user = userEvent.setup();
      renderSection(withSchedule(makeSchedule({ cron: '0 4 * * 1-5' })));
      await user.click(await screen.findByRole('button', { name: en('schedule.edit') }));
      expect(field(en('schedule.repeat_label'))).toHaveValue('custom');
      expect(field(en('schedule.custom_label'))).toHaveValue('0 4 * * 1-5');
    });

    it('pauses with the schedule as it is, and resumes it', async () => {
      const user = userEvent.setup();
      const schedule = makeSchedule({ cron: '@every 2s', name_template: 'x {time}', retention: { keep_last: 2, keep_daily: 0, keep_weekly: 0, keep_monthly: 0 }, excludes: ['logs/', '*.tmp'] });
      const api = withSchedule(schedule);
      api.putSchedule.mockImplementation(async (_o, _p, s) => ({ ...schedule, enabled: s.enabled ?? true, next_run_at: s.enabled ? schedule.next_run_at : null }));
      renderSection(api);
      await user.click(await screen.findByRole('button', { name: en('schedule.pause') }));
      expect(api.putSchedule).toHaveBeenLastCalledWith('order-1', 'prov-1', {
        cron: '@every 2s',
        time_zone: 'UTC',
        enabled: false,
        name_template: 'x {time}',
        retention: { keep_last: 2, keep_daily: 0, keep_weekly: 0, keep_monthly: 0 },
        excludes: ['logs/', '*.tmp'],
      });
      expect(await screen.findByTestId('schedule-state')).toHaveTextContent('Paused');
      expect(screen.getByTestId('schedule-next-run')).toHaveTextContent(en('schedule.next_run_paused'));
      await waitFor(() => expect(button(en('schedule.resume'))).toHaveFocus());

      await user.click(button(en('schedule.resume')));
      expect(api.putSchedule).toHaveBeenLastCalledWith('order-1', 'prov-1', expect.objectContaining({ enabled: true, excludes: ['logs/', '*.tmp'] }));
      await waitFor(() => expect(screen.getByTestId('schedule-state')).toHaveTextContent('Active'));
    });

    it('sends one pause however often it is pressed while the request runs', async () => {
      const user = userEvent.setup();
      const schedule = makeSchedule();
      const api = withSchedule(schedule);
      let answer: (s: Schedule) => void = () => {};
      api.putSchedule.mockImplementation(() => new Promise<Schedule>((res) => (answer = res)));
      renderSection(api);
      const pause = await screen.findByRole('button', { name: en('schedule.pause') });
      await user.click(pause);
      expect(pause).toHaveAttribute('aria-busy', 'true');
      expect(pause).toHaveAttribute('aria-disabled', 'true');
      expect(pause).toBeEnabled(); // so that it keeps the focus
      await user.click(pause);
      expect(api.putSchedule).toHaveBeenCalledTimes(1);
      await act(async () => answer({ ...schedule, enabled: false, next_run_at: null }));
      expect(await screen.findByRole('button', { name: en('schedule.resume') })).not.toHaveAttribute('aria-disabled');
    });

    it('says so when a pause is refused, and shows the server\'s schedule', async () => {
      const user = userEvent.setup();
      const api = withSchedule(makeSchedule());
      api.putSchedule.mockRejectedValue(problemError('internal', 500));
      renderSection(api);
      await user.click(await screen.findByRole('button', { name: en('schedule.pause') }));
      expect(await screen.findByRole('alert')).toHaveTextContent(en('backups.error_generic'));
      await waitFor(() => expect(api.getSchedule).toHaveBeenCalledTimes(2));
      expect(screen.getByTestId('schedule-state')).toHaveTextContent('Active');
    });

    it('asks before deleting, with Cancel focused, and keeps the schedule on Cancel', async () => {
      const user = userEvent.setup();
      const api = withSchedule(makeSchedule());
      renderSection(api);
      await user.click(await screen.findByRole('button', { name: en('schedule.delete') }));
      const dialog = screen.getByRole('dialog', { name: en('schedule.confirm_delete_title') });
      expect(dialog).toHaveAccessibleDescription(en('schedule.confirm_delete_body'));
      expect(within(dialog).getByRole('button', { name: en('backups.cancel') })).toHaveFocus();
      await user.click(within(dialog).getByRole('button', { name: en('backups.cancel') }));
      expect(api.deleteSchedule).not.toHaveBeenCalled();
      expect(screen.getByTestId('schedule-when')).toBeInTheDocument();
    });

    it('deletes after confirmation, and offers to add one again with focus there', async () => {
      const user = userEvent.setup();
      const api = withSchedule(makeSchedule());
      renderSection(api);
      await user.click(await screen.findByRole('button', { name: en('schedule.delete') }));
      await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: en('backups.action_delete') }));
      expect(api.deleteSchedule).toHaveBeenCalledWith('order-1', 'prov-1');
      expect(await screen.findByText(en('schedule.none'))).toBeInTheDocument();
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
      expect(screen.getByTestId('schedule-announcer')).toHaveTextContent(en('schedule.deleted'));
      await waitFor(() => expect(button(en('schedule.add'))).toHaveFocus());
    });

    it('takes a schedule already deleted elsewhere as deleted', async () => {
      const user = userEvent.setup();
      const api = withSchedule(makeSchedule());
      api.deleteSchedule.mockRejectedValue(problemError('schedule_not_found', 404));
      renderSection(api);
      await user.click(await screen.findByRole('button', { name: en('schedule.delete') }));
      await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: en('backups.action_delete') }));
      expect(await screen.findByText(en('schedule.none'))).toBeInTheDocument();
    });

    it('keeps the dialog open with a message when the delete fails', async () => {
      const user = userEvent.setup();
      const api = withSchedule(makeSchedule());
      api.deleteSchedule.mockRejectedValue(problemError('internal', 500));
      renderSection(api);
      await user.click(await screen.findByRole('button', { name: en('schedule.delete') }));
      await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: en('backups.action_delete') }));
      expect(await within(screen.getByRole('dialog')).findByRole('alert')).toHaveTextContent(en('backups.error_generic'));
    });
  });

  describe('following the runs', () => {
    const now = new Date('2026-03-14T10:00:00Z');
    const run = (at: string, backupId: string | null = 'b-1') => ({ slot: at, at, outcome: 'started' as const, backup_id: backupId, reason: null });

    it('looks again just after the next run, then every second until the run is recorded, and tells the host it ran', async () => {
      vi.useFakeTimers();
      vi.setSystemTime(now);
      const first = makeSchedule({ cron: '@every 2s', next_run_at: '2026-03-14T10:00:02Z', last_run: run('2026-03-14T09:59:58Z') });
      const due = { ...first }; // the server has not run it yet
      const ran = makeSchedule({ cron: '@every 2s', next_run_at: '2026-03-14T10:00:05Z', last_run: run('2026-03-14T10:00:02Z', 'b-2') });
      const api = fakeApi([]);
      api.getSchedule.mockResolvedValueOnce(first).mockResolvedValueOnce(due).mockResolvedValue(ran);
      const onRun = vi.fn();
      renderSection(api, { onRun });
      await settle();
      expect(api.getSchedule).toHaveBeenCalledTimes(1);
      expect(onRun).not.toHaveBeenCalled(); // the run it found on the first load is not news

      await act(() => vi.advanceTimersByTimeAsync(2000));
      expect(api.getSchedule).toHaveBeenCalledTimes(1);
      await act(() => vi.advanceTimersByTimeAsync(250));
      expect(api.getSchedule).toHaveBeenCalledTimes(2);
      expect(onRun).not.toHaveBeenCalled();
      await act(() => vi.advanceTimersByTimeAsync(1000));
      expect(api.getSchedule).toHaveBeenCalledTimes(3);
      expect(onRun).toHaveBeenCalledTimes(1);
      expect(onRun).toHaveBeenCalledWith(ran.last_run);
    });

    it('does not look again while paused, and stops when unmounted', async () => {
      vi.useFakeTimers();
      vi.setSystemTime(now);
      const api = withSchedule(makeSchedule({ enabled: false, next_run_at: null }));
      const { unmount } = renderSection(api);
      await settle();
      await act(() => vi.advanceTimersByTimeAsync(60 * 60 * 1000));
      expect(api.getSchedule).toHaveBeenCalledTimes(1);

      api.getSchedule.mockResolvedValue(makeSchedule({ next_run_at: '2026-03-14T11:05:00Z' }));
      unmount();
      expect(vi.getTimerCount()).toBe(0);
    });

    it('looks again at least every ten minutes while the next run is far off', async () => {
      vi.useFakeTimers();
      vi.setSystemTime(now);
      const api = withSchedule(makeSchedule({ next_run_at: '2026-03-15T04:00:00Z' }));
      renderSection(api);
      await settle();
      await act(() => vi.advanceTimersByTimeAsync(10 * 60 * 1000));
      expect(api.getSchedule).toHaveBeenCalledTimes(2);
    });
  });
});

describe('ScheduleSection: exclude patterns', () => {
  // A fake server that keeps what is put: the section looks at the schedule
  // again after its next run time, and must then find the saved one.
  function storing(initial: Schedule | null): Api {
    const api = withSchedule(initial);
    let stored = initial;
    api.getSchedule.mockImplementation(async () => stored);
    api.putSchedule.mockImplementation(async (_o, _p, settings) => {
      stored = scheduleFrom(settings, stored ?? makeSchedule());
      return stored;
    });
    return api;
  }

  it('saves the patterns typed, one a line, trimmed, without blank lines, and shows them once saved', async () => {
    const api = storing(null);
    const user = await openAddForm(api);
    await user.click(field(en('backups.excludes_label')));
    await user.paste(' logs/ \n\n*.tmp\n  \n');
    await user.click(button(en('schedule.save')));

    expect(sentSettings(api).excludes).toEqual(['logs/', '*.tmp']);
    await waitFor(() => expect(screen.queryByTestId('schedule-form')).not.toBeInTheDocument());
    expect(screen.getByTestId('schedule-excludes')).toHaveTextContent(/^logs\/, \*\.tmp$/);
  });

  it('shows the patterns of a loaded schedule, edits them as typed, and sends an emptied field as none', async () => {
    const user = userEvent.setup();
    const api = storing(makeSchedule({ excludes: ['logs/', '*.tmp'] }));
    renderSection(api);
    expect(await screen.findByTestId('schedule-excludes')).toHaveTextContent('logs/, *.tmp');
    expect(screen.getByText(en('schedule.excludes'))).toBeInTheDocument();

    await user.click(button(en('schedule.edit')));
    const excludes = field(en('backups.excludes_label'));
    expect(excludes).toHaveValue('logs/\n*.tmp');
    await user.clear(excludes);
    await user.click(button(en('schedule.save')));
    expect(sentSettings(api).excludes).toEqual([]);
    await waitFor(() => expect(screen.queryByTestId('schedule-form')).not.toBeInTheDocument());
    expect(screen.queryByTestId('schedule-excludes')).not.toBeInTheDocument();
  });

  it('keeps what was saved when edited again: the round trip loses nothing', async () => {
    const api = storing(null);
    const user = await openAddForm(api);
    await user.click(field(en('backups.excludes_label')));
    await user.paste('logs/\n*.tmp');
    await user.click(button(en('schedule.save')));
    await waitFor(() => expect(screen.queryByTestId('schedule-form')).not.toBeInTheDocument());
    await user.click(button(en('schedule.edit')));
    expect(field(en('backups.excludes_label'))).toHaveValue('logs/\n*.tmp');
    await user.click(button(en('schedule.save')));
    expect(api.putSchedule).toHaveBeenLastCalledWith('order-1', 'prov-1', expect.objectContaining({ excludes: ['logs/', '*.tmp'] }));
  });

  it('shortens a long list in the summary', async () => {
    const many = ['a/', 'b/', 'c/', 'd/', 'e/', 'f/', 'g/'];
    renderSection(withSchedule(makeSchedule({ excludes: many })));
    const summary = await screen.findByTestId('schedule-excludes');
    expect(summary).toHaveTextContent(/^a\/, b\/, c\/, d\/, e\/ and 2 more$/);
    expect(summary).toHaveAttribute('title', many.join('\n'));
  });

  it('shows why the server refused the patterns under their field, and keeps the form', async () => {
    const api = withSchedule(null);
    api.putSchedule.mockRejectedValueOnce(
      new ApiError('invalid', 422, {
        type: 'urn:savepoint:problem:invalid_excludes',
        title: 'Invalid exclude patterns',
        status: 422,
        detail: 'exclude pattern "****" exceeds the wildcards limit: 17, at most 16',
        code: 'invalid_excludes',
      }),
    );
    const user = await openAddForm(api);
    await user.click(field(en('backups.excludes_label')));
    await user.paste('*****************');
    await user.click(button(en('schedule.save')));

    const message = 'These patterns were not accepted: exclude pattern "****" exceeds the wildcards limit: 17, at most 16';
    expect(await screen.findByTestId('excludes-error')).toHaveTextContent(message);
    expect(screen.queryByTestId('schedule-form-error')).not.toBeInTheDocument();
    expect(field(en('backups.excludes_label'))).toHaveAccessibleDescription(`${en('backups.excludes_hint')} ${message}`);
    expect(field(en('backups.excludes_label'))).toHaveValue('*****************');
  });

  it('speaks German', async () => {
    renderSection(withSchedule(makeSchedule({ excludes: ['logs/'] })), { t: de, locale: 'de-DE' });
    expect(await screen.findByTestId('schedule-excludes')).toHaveTextContent('logs/');
    expect(screen.getByText('Nimmt aus')).toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(button(de('schedule.edit')));
    expect(field('Ausgenommene Pfade (optional)')).toHaveAccessibleDescription(de('backups.excludes_hint'));
  });
});

describe('describeRetention', () => {
  const none = { keep_last: 0, keep_daily: 0, keep_weekly: 0, keep_monthly: 0 };
  it.each([
    [none, 'en-US', en, en('schedule.retention_all')],
    [{ ...none, keep_last: 1 }, 'en-US', en, 'the last 1'],
    [{ ...none, keep_daily: 1, keep_monthly: 6 }, 'en-US', en, 'one a day for 1 day and one a month for 6 months'],
    [{ ...none, keep_daily: 7, keep_weekly: 4 }, 'de-DE', de, 'eines pro Tag für 7 Tage und eines pro Woche für 4 Wochen'],
  ])('describes %j in %s', (retention, locale, t, want) => {
    expect(describeRetention(retention, t, locale)).toBe(want);
  });
});
