// The dashboard in a real browser against the real example server: Debian's
// Chromium (/usr/bin/chromium, installed by scripts/install-chromium.sh)
// driven by playwright-core, the server built from ./examples/server and
// started on a free loopback port with its zero-config in-process pieces.
//
// The tests run in order and share one server and one page, like a customer
// working through the section: empty → create (creating → ready) → download →
// restore (restoring → ready) → lock (delete disabled and refused) → unlock →
// delete → a bigger world's progress bars → create ten → limit reached.
// The schedule section has a server of its own, which runs due schedules
// every 200 ms: an invalid expression refused → @every 2s with a retention →
// scheduled backups appear, marked, and retention deletes the old ones →
// pause → delete.
// Screenshots of each state go to test-results/ (gitignored) as artefacts.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Backup, Problem, Schedule } from '../src/client';
import { createTranslator } from '../src/i18n';
import { buildServer, launchChromium, requireBuildAndBrowser, shot, startServer, watchErrors, type RunningServer } from './harness';

// The first backups are of a world with one large, incompressible region file,
// so that creating and restoring take long enough (about a second here) to be
// seen and photographed; the file is removed before the ten-backup test.
const bigWorldBytes = Number(process.env.SAVEPOINT_E2E_WORLD_BYTES ?? 192 * 1024 * 1024);
// The progress test adds a second file of this size, so that its create and
// restore last several of the page's one-second polls.
const progressWorldBytes = Number(process.env.SAVEPOINT_E2E_PROGRESS_BYTES ?? 768 * 1024 * 1024);

// The schedule answers a page may log without it being an error: 404 (no
// schedule yet) and 422, which the schedule tests have the server give.
const scheduleAnswers = [404, 422];

const en = createTranslator('en');
const de = createTranslator('de');

let work: string;
let binary: string;
let main: RunningServer | undefined;
let baseUrl: string;
let token: string;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
let demo: { order_id: string; provision_id: string };
const pageErrors: string[] = [];

beforeAll(async () => {
  requireBuildAndBrowser();
  work = mkdtempSync(join(tmpdir(), 'savepoint-dashboard-e2e-'));
  binary = await buildServer(work);

  const dataDir = join(work, 'state', 'data');
  mkdirSync(dataDir, { recursive: true });
  // A world of our own (the server seeds its sample world only into an empty
  // directory): a few small files that stay, and the large one that goes.
  mkdirSync(join(dataDir, 'world', 'region'), { recursive: true });
  writeFileSync(join(dataDir, 'server.properties'), 'motd=savepoint e2e\nmax-players=8\n');
  await writeRandomFile(join(dataDir, 'world', 'level.dat'), 4096);
  await writeRandomFile(join(dataDir, 'world', 'region', 'r.0.0.mca'), 3 * 1024 * 1024);
  await writeRandomFile(join(dataDir, 'world', 'region', 'r.9.9.mca'), bigWorldBytes);

  main = await startServer(binary, join(work, 'state'), 'server.log');
  ({ baseUrl, token } = main);

  demo = await api<{ order_id: string; provision_id: string }>('GET', '/api/v1/demo');

  browser = await launchChromium();
  context = await browser.newContext({ acceptDownloads: true, locale: 'en-US', timezoneId: 'UTC', viewport: { width: 1100, height: 760 } });
  page = await context.newPage();
  watchErrors(page, pageErrors, scheduleAnswers);
  // Record every status each row shows, as the DOM changes: proof that the
  // page itself moved from creating to ready, with no reload in between. The
  // same for what each row's progress bar says, so that no value it showed
  // between two looks of the test's is missed.
  await page.addInitScript(() => {
    const log: { id: string; status: string }[] = [];
    const bars: ProgressSeen[] = [];
    (window as unknown as { __statusLog: typeof log; __progressLog: typeof bars }).__statusLog = log;
    (window as unknown as { __progressLog: typeof bars }).__progressLog = bars;
    const last = new Map<string, string>();
    const lastBar = new Map<string, string>();
    const scan = () => {
      for (const row of document.querySelectorAll<HTMLElement>('tr[data-backup-id]')) {
        const id = row.dataset.backupId ?? '';
        const status = row.dataset.status ?? '';
        if (last.get(id) !== status) {
          last.set(id, status);
          log.push({ id, status });
        }
        const bar = row.querySelector('[role="progressbar"]');
        const seen: ProgressSeen = {
          id,
          status,
          bar: bar !== null,
          valueNow: bar?.getAttribute('aria-valuenow') ?? null,
          valueText: bar?.getAttribute('aria-valuetext') ?? null,
        };
        const key = JSON.stringify(seen);
        if (lastBar.get(id) !== key) {
          lastBar.set(id, key);
          bars.push(seen);
        }
      }
    };
    new MutationObserver(scan).observe(document, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-status', 'aria-valuenow', 'aria-valuetext'],
    });
  });
  await page.goto(`${baseUrl}/#token=${token}`);
  await page.evaluate(() => {
    (window as unknown as { __loadedOnce: boolean }).__loadedOnce = true;
  });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await main?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the backups dashboard in Chromium against the example server', () => {
  it('shows the empty state, and the create dialog opens and closes from the keyboard', async () => {
    await page.getByText(en('backups.empty_state')).waitFor();
    expect(new URL(page.url()).hash, 'the token leaves the address bar').toBe('');
    await shot(page, '01-empty');

    const create = createButton();
    await create.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: en('backups.create_dialog_title') });
    await dialog.waitFor();
    expect(await dialog.evaluate((d) => d.matches(':modal')), 'the dialog is modal').toBe(true);
    expect(await focusedLabel()).toBe(en('backups.name_label'));
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await create.evaluate((el) => el === document.activeElement), 'focus returns to the create button').toBe(true);
  });

  it('creates a backup and shows it go from creating to ready without a reload', async () => {
    await createButton().click();
    await page.getByLabel(en('backups.name_label')).fill('Before the 1.21 update');
    await page.keyboard.press('Enter');

    const row = rowNamed('Before the 1.21 update');
    await page.locator('tr[data-status="creating"]').waitFor();
    await shot(page, '02-creating', { row, status: 'creating' });

    await page.locator('tr[data-status="ready"]', { hasText: 'Before the 1.21 update' }).waitFor({ timeout: 60_000 });
    const id = (await row.getAttribute('data-backup-id')) ?? '';
    expect(await statusesShown(id)).toEqual(['creating', 'ready']);
    expect(await page.evaluate(() => (window as unknown as { __loadedOnce?: boolean }).__loadedOnce), 'no reload').toBe(true);
    expect(await row.getByRole('cell').nth(0).textContent()).toMatch(/^\d+(\.\d)? MiB$/);
    expect(await createButton().isEnabled()).toBe(true);
    await shot(page, '03-ready');
  });

  it('downloads the archive: a gzip-compressed tar whose SHA-256 is the one the API reports', async () => {
    const backup = await backupNamed('Before the 1.21 update');
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('button', { name: 'Download Before the 1.21 update' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.tar\.gz$/);
    const path = await download.path();

    const head = Buffer.alloc(2);
    const fh = await open(path, 'r');
    const { size } = await fh.stat();
    await fh.read(head, 0, 2, 0);
    await fh.close();
    expect(size).toBe(backup.size_bytes);
    expect([...head], 'gzip magic').toEqual([0x1f, 0x8b]);
    expect(await sha256(path)).toBe(backup.sha256);
    const tar = await gunzipHead(path, 512);
    expect(tar.subarray(257, 262).toString(), 'tar magic').toBe('ustar');
  });

  it('restores the backup and shows restoring, then ready again', async () => {
    await page.getByRole('button', { name: 'Restore Before the 1.21 update' }).click();
    const dialog = page.getByRole('dialog', { name: en('backups.confirm_restore_title') });
    await dialog.waitFor();
    expect(await focusedText(), 'Cancel is focused first').toBe(en('backups.cancel'));
    await dialog.getByRole('button', { name: en('backups.action_restore') }).click();

    const row = rowNamed('Before the 1.21 update');
    await page.locator('tr[data-status="restoring"]').waitFor();
    await shot(page, '04-restoring', { row, status: 'restoring' });
    await page.locator('tr[data-status="ready"]', { hasText: 'Before the 1.21 update' }).waitFor({ timeout: 60_000 });

    const id = (await row.getAttribute('data-backup-id')) ?? '';
    expect(await statusesShown(id)).toEqual(['creating', 'ready', 'restoring', 'ready']);
    const backup = await backupNamed('Before the 1.21 update');
    expect(backup.error, 'the restore succeeded').toBeNull();
    expect(backup.last_restored_at).not.toBeNull();
    expect(await row.textContent()).not.toContain('failed');
  });

  it('locks the backup, which disables its delete and makes the server refuse one; unlocked, it is deleted after confirmation', async () => {
    const row = rowNamed('Before the 1.21 update');
    const del = page.getByRole('button', { name: 'Delete Before the 1.21 update' });
    await page.getByRole('button', { name: 'Lock Before the 1.21 update' }).click();

    await row.getByTestId('lock-badge').waitFor();
    expect(await row.getByTestId('lock-badge').textContent(), 'the lock icon\'s label').toBe(en('backups.locked'));
    expect(await row.getByTestId('lock-icon').isVisible(), 'the lock icon').toBe(true);
    await expect.poll(() => del.isDisabled()).toBe(true);
    expect(await del.evaluate((b) => document.getElementById(b.getAttribute('aria-describedby') ?? '')?.textContent)).toBe(
      en('backups.delete_locked_hint'),
    );
    expect((await backupNamed('Before the 1.21 update')).locked, 'the server has it locked').toBe(true);
    await shot(page, '09-locked');

    // A client that ignores the disabled button gets 409 backup_locked, and the backup stays.
    const id = (await row.getAttribute('data-backup-id')) ?? '';
    const refused = await fetch(`${baseUrl}${backupsPath()}/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe('backup_locked');
    expect((await backupNamed('Before the 1.21 update')).status).toBe('ready');

    const unlock = page.getByRole('button', { name: 'Unlock Before the 1.21 update' });
    await unlock.click();
    await page.getByRole('button', { name: 'Lock Before the 1.21 update' }).waitFor();
    expect(await row.getByTestId('lock-badge').count(), 'no lock icon once unlocked').toBe(0);
    await expect.poll(() => del.isEnabled()).toBe(true);
    expect((await backupNamed('Before the 1.21 update')).locked, 'the server has it unlocked').toBe(false);

    await del.click();
    const dialog = page.getByRole('dialog', { name: en('backups.confirm_delete_title') });
    await dialog.waitFor();
    await shot(page, 'confirm-delete');
    await dialog.getByRole('button', { name: en('backups.action_delete') }).click();
    await page.getByText(en('backups.empty_state')).waitFor();
    expect(await api<{ backups: Backup[]; limit: number }>('GET', backupsPath())).toEqual({ backups: [], limit: 10 });
  });

  it('shows a progress bar that moves while a bigger world is backed up and restored', async () => {
    const extra = join(work, 'state', 'data', 'world', 'region', 'r.5.5.mca');
    await writeRandomFile(extra, progressWorldBytes);
    try {
      await createButton().click();
      await page.getByLabel(en('backups.name_label')).fill('Progress');
      await page.keyboard.press('Enter');
      const row = rowNamed('Progress');
      await page.locator('tr[data-status="creating"]').waitFor();
      await row.getByRole('progressbar', { name: en('backups.progress_label', { name: 'Progress' }) }).waitFor();
      await shot(page, '07-progress-creating', { row, status: 'creating' });
      await page.locator('tr[data-status="ready"]', { hasText: 'Progress' }).waitFor({ timeout: 120_000 });
      const id = (await row.getAttribute('data-backup-id')) ?? '';
      const created = await progressShown(id, 'creating');
      expect(created.length, 'a bar while creating').toBeGreaterThan(0);
      expectSteadyValues(created);

      await page.getByRole('button', { name: 'Restore Progress' }).click();
      const dialog = page.getByRole('dialog', { name: en('backups.confirm_restore_title') });
      await dialog.getByRole('button', { name: en('backups.action_restore') }).click();
      await page.locator('tr[data-status="restoring"]').waitFor();
      // The bar has its total from the start (the archive's size), so it has a
      // value at once; a look after a poll must find it no lower.
      const bar = row.getByRole('progressbar', { name: en('backups.progress_label', { name: 'Progress' }) });
      const first = await valueNow(bar);
      await shot(page, '08-progress-restoring', { row, status: 'restoring' });
      await page.locator('tr[data-status="ready"]', { hasText: 'Progress' }).waitFor({ timeout: 120_000 });
      const restored = await progressShown(id, 'restoring');
      const values = expectSteadyValues(restored);
      console.info(`while creating: ${describeSeen(created)}\nwhile restoring: ${describeSeen(restored)}`);
      if (first !== null) expect(values[0]).toBeLessThanOrEqual(first);
      expect(values.length, `the bar showed at least two values while restoring: ${JSON.stringify(restored)}`).toBeGreaterThanOrEqual(2);
      expect(values[values.length - 1], 'the bar moved').toBeGreaterThan(values[0]);
      expect(await statusesShown(id)).toEqual(['creating', 'ready', 'restoring', 'ready']);
      expect(await row.getByRole('progressbar').count(), 'no bar once ready').toBe(0);
      const backup = await backupNamed('Progress');
      expect(backup.error, 'the restore succeeded').toBeNull();
      expect(backup.progress).toBeNull();

      await page.getByRole('button', { name: 'Delete Progress' }).click();
      await page.getByRole('dialog', { name: en('backups.confirm_delete_title') }).getByRole('button', { name: en('backups.action_delete') }).click();
      await page.getByText(en('backups.empty_state')).waitFor();
    } finally {
      rmSync(extra, { force: true });
    }
  });

  it('disables Create Backup at 10 backups and says why', async () => {
    // A small world from here on: ten quick backups.
    rmSync(join(work, 'state', 'data', 'world', 'region', 'r.9.9.mca'));
    for (let n = 1; n <= 10; n++) {
      await expect.poll(() => createButton().isEnabled(), { timeout: 60_000 }).toBe(true);
      await createButton().click();
      await page.getByLabel(en('backups.name_label')).fill(`limit ${n}`);
      await page.keyboard.press('Enter');
      await page.locator('tr[data-status="ready"]', { has: page.getByRole('rowheader', { name: `limit ${n}`, exact: true }) }).waitFor({ timeout: 60_000 });
    }
    await expect.poll(() => page.locator('tr[data-backup-id]').count()).toBe(10);
    expect(await createButton().isDisabled()).toBe(true);
    const reason = en('backups.limit_reached', { limit: 10 });
    await page.getByText(reason).waitFor();
    expect(await createButton().evaluate((b) => document.getElementById(b.getAttribute('aria-describedby') ?? '')?.textContent)).toBe(reason);
    await shot(page, '05-limit-reached');

    // The server agrees: an eleventh is refused with limit_reached.
    const refused = await fetch(`${baseUrl}${backupsPath()}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe('limit_reached');
  });

  it('shows the same state in German', async () => {
    await page.goto(`${baseUrl}/#lang=de`);
    await page.reload(); // a fragment change alone does not load the page again
    await page.getByRole('heading', { name: de('backups.heading') }).waitFor();
    const create = page.getByRole('button', { name: de('backups.create_button') });
    expect(await create.isDisabled()).toBe(true);
    await page.getByText(de('backups.limit_reached', { limit: 10 })).waitFor();
    // The backups table's: the activity panel below has a table of its own.
    const backupsTable = page.getByRole('table', { name: de('backups.heading'), exact: true });
    expect(await backupsTable.getByRole('columnheader').allTextContents()).toEqual(['Name', 'Größe', 'Status', 'Erstellt', 'Aktionen']);
    await page.getByRole('button', { name: 'limit 1: Sperren' }).waitFor();
    const schedule = page.getByRole('region', { name: de('schedule.heading') });
    await schedule.getByText(de('schedule.none'), { exact: true }).waitFor();
    await schedule.getByRole('button', { name: de('schedule.add') }).waitFor();
    await shot(page, '06-limit-reached-de');
  });

  it('logged no errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe('the schedule section in Chromium against a server that runs schedules', () => {
  let sched: RunningServer | undefined;
  let schedContext: BrowserContext;
  let p: Page;
  let schedulePath: string;
  let provisionBackupsPath: string;
  const errors: string[] = [];

  beforeAll(async () => {
    // A server of its own, so that its schedule cannot disturb the tests
    // above: a small world (quick backups) and due schedules looked for every
    // 200 ms.
    const state = join(work, 'schedules');
    const data = join(state, 'data');
    mkdirSync(join(data, 'world', 'region'), { recursive: true });
    writeFileSync(join(data, 'server.properties'), 'motd=savepoint schedules\n');
    await writeRandomFile(join(data, 'world', 'level.dat'), 4096);
    await writeRandomFile(join(data, 'world', 'region', 'r.0.0.mca'), 256 * 1024);
    sched = await startServer(binary, state, 'server-schedules.log', ['-schedule-tick', '200ms']);
    const d = await sched.api<{ order_id: string; provision_id: string }>('GET', '/api/v1/demo');
    provisionBackupsPath = `/api/v1/orders/${d.order_id}/provisions/${d.provision_id}/backups`;
    schedulePath = `/api/v1/orders/${d.order_id}/provisions/${d.provision_id}/schedule`;

    if (!browser) throw new Error('no browser');
    schedContext = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC', viewport: { width: 1100, height: 900 } });
    p = await schedContext.newPage();
    watchErrors(p, errors, scheduleAnswers);
    // Every scheduled backup any row has shown, and the most shown at once.
    await p.addInitScript(() => {
      const seen = new Set<string>();
      const w = window as unknown as { __scheduledSeen: Set<string>; __scheduledMost: number };
      w.__scheduledSeen = seen;
      w.__scheduledMost = 0;
      const scan = () => {
        const rows = [...document.querySelectorAll<HTMLElement>('tr[data-backup-id]')].filter((r) => r.querySelector('[data-testid="scheduled-badge"]'));
        for (const r of rows) seen.add(r.dataset.backupId ?? '');
        w.__scheduledMost = Math.max(w.__scheduledMost, rows.length);
      };
      new MutationObserver(scan).observe(document, { subtree: true, childList: true });
    });
    await p.goto(`${sched.baseUrl}/#token=${sched.token}`);
  }, 120_000);

  afterAll(async () => {
    await schedContext?.close();
    await sched?.stop();
  });

  const srv = (): RunningServer => {
    if (!sched) throw new Error('the schedule server is not running');
    return sched;
  };
  const section = () => p.getByRole('region', { name: en('schedule.heading') });
  const form = () => p.getByRole('form', { name: en('schedule.form_add') });
  const scheduledRows = () => p.locator('tr[data-backup-id]', { has: p.getByTestId('scheduled-badge') });

  it('says there is no schedule, and shows the server\'s words for an invalid expression, keeping the form', async () => {
    await section().getByText(en('schedule.none'), { exact: true }).waitFor();
    const add = section().getByRole('button', { name: en('schedule.add') });
    await add.focus();
    await p.keyboard.press('Enter');
    await form().waitFor();
    expect(await focusedLabelOn(p), 'the first field has focus').toBe(en('schedule.repeat_label'));

    await form().getByLabel(en('schedule.repeat_label')).selectOption('custom');
    await form().getByLabel(en('schedule.custom_label')).fill('61 * * * *');
    await form().getByLabel(en('schedule.keep_last')).fill('2');
    await form().getByRole('button', { name: en('schedule.save') }).click();

    // What the server says about the same expression, word for word.
    const refused = await fetch(`${srv().baseUrl}${schedulePath}`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${srv().token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ cron: '61 * * * *', time_zone: 'UTC' }),
    });
    expect(refused.status).toBe(422);
    const problem = (await refused.json()) as Problem;
    expect(problem.code).toBe('invalid_schedule');
    expect(problem.detail).toContain('61 * * * *');

    const alert = form().getByRole('alert');
    await alert.waitFor();
    const message = en('schedule.error_invalid', { detail: problem.detail.replace(/^invalid schedule:\s*/i, '') });
    expect(await alert.textContent()).toBe(message);
    const save = form().getByRole('button', { name: en('schedule.save') });
    expect(await describedText(save), 'Save is described by the error').toBe(message);
    expect(await form().getByLabel(en('schedule.custom_label')).inputValue(), 'the expression is kept').toBe('61 * * * *');
    expect(await form().getByLabel(en('schedule.keep_last')).inputValue(), 'the retention is kept').toBe('2');
    expect(await form().getByLabel(en('schedule.time_zone_label')).inputValue(), "the browser's zone").toBe('UTC');
    await shot(p, '10-schedule-invalid');

    const none = await fetch(`${srv().baseUrl}${schedulePath}`, { headers: { Authorization: `Bearer ${srv().token}` } });
    expect(none.status, 'nothing was saved').toBe(404);
  });

  it('sets @every 2s with a retention, shows the next run, and scheduled backups appear marked, with the last run started', async () => {
    await form().getByLabel(en('schedule.custom_label')).fill('@every 2s');
    await form().getByRole('button', { name: en('schedule.save') }).click();
    await form().waitFor({ state: 'detached' });
    expect(await section().getByRole('button', { name: en('schedule.edit') }).evaluate((b) => b === document.activeElement), 'focus returns to Edit').toBe(true);

    const stored = await srv().api<Schedule>('GET', schedulePath);
    expect(stored).toMatchObject({ cron: '@every 2s', time_zone: 'UTC', enabled: true, name_template: 'Scheduled {date} {time}' });
    expect(stored.retention).toEqual({ keep_last: 2, keep_daily: 0, keep_weekly: 0, keep_monthly: 0 });

    expect(await section().getByTestId('schedule-when').textContent()).toBe(en('schedule.describe_custom', { cron: '@every 2s' }));
    expect(await section().getByTestId('schedule-state').textContent()).toBe(en('schedule.state_active'));
    const next = section().getByTestId('schedule-next-run').locator('time');
    await next.waitFor();
    expect(Number.isNaN(Date.parse((await next.getAttribute('datetime')) ?? '')), 'next run has a time').toBe(false);
    expect(await next.textContent()).toMatch(/^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M \(UTC\)$/);

    // The server runs it within a few ticks; the page notices by itself.
    await scheduledRows().first().waitFor({ timeout: 60_000 });
    const row = scheduledRows().first();
    expect(await row.getByTestId('scheduled-badge').textContent()).toBe(en('backups.scheduled'));
    expect(await row.getByRole('rowheader').textContent()).toMatch(/^Scheduled \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    const outcome = section().getByTestId('schedule-outcome');
    // The text after the outcome's shape (an aria-hidden ✓).
    await expect.poll(() => outcome.textContent(), { timeout: 60_000 }).toMatch(new RegExp(`${en('schedule.outcome_started')}$`));
    await p.locator('tr[data-status="ready"]', { has: p.getByTestId('scheduled-badge') }).first().waitFor({ timeout: 60_000 });
    await shot(p, '11-schedule-running');

    // Retention keeps the last 2 (and one being made): the table shows more
    // and more scheduled backups come and the old ones go.
    await expect
      .poll(() => p.evaluate(() => (window as unknown as { __scheduledSeen: Set<string> }).__scheduledSeen.size), { timeout: 60_000 })
      .toBeGreaterThanOrEqual(5);
    const { backups } = await srv().api<{ backups: Backup[] }>('GET', provisionBackupsPath);
    expect(backups.filter((b) => b.schedule_id === stored.id).length, 'retention deletes the old ones').toBeLessThanOrEqual(3);
    expect(await p.evaluate(() => (window as unknown as { __scheduledMost: number }).__scheduledMost), 'never more than kept at once').toBeLessThanOrEqual(3);
  });

  it('pauses the schedule: no next run, and the server has it paused', async () => {
    await section().getByRole('button', { name: en('schedule.pause') }).focus();
    await p.keyboard.press('Enter');
    await expect.poll(() => section().getByTestId('schedule-state').textContent()).toBe(en('schedule.state_paused'));
    const resume = section().getByRole('button', { name: en('schedule.resume') });
    expect(await resume.evaluate((b) => b === document.activeElement), 'focus stays on the button, now Resume').toBe(true);
    expect(await section().getByTestId('schedule-next-run').textContent()).toBe(en('schedule.next_run_paused'));
    const stored = await srv().api<Schedule>('GET', schedulePath);
    expect(stored.enabled).toBe(false);
    expect(stored.next_run_at).toBeNull();
    await shot(p, '12-schedule-paused');
  });

  it('deletes the schedule after confirmation; the backups it made stay', async () => {
    const kept = await scheduledRows().count();
    expect(kept).toBeGreaterThan(0);
    await section().getByRole('button', { name: en('schedule.delete') }).click();
    const dialog = p.getByRole('dialog', { name: en('schedule.confirm_delete_title') });
    await dialog.waitFor();
    expect(await p.evaluate(() => document.activeElement?.textContent), 'Cancel is focused first').toBe(en('backups.cancel'));
    await dialog.getByRole('button', { name: en('backups.action_delete') }).click();
    await section().getByText(en('schedule.none'), { exact: true }).waitFor();
    await expect.poll(() => section().getByRole('button', { name: en('schedule.add') }).evaluate((b) => b === document.activeElement)).toBe(true);
    const gone = await fetch(`${srv().baseUrl}${schedulePath}`, { headers: { Authorization: `Bearer ${srv().token}` } });
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as Problem).code).toBe('schedule_not_found');
    expect(await scheduledRows().count(), 'the scheduled backups stay').toBeGreaterThan(0);
    await shot(p, '13-schedule-deleted');
  });

  it('logged no errors in the page', () => {
    expect(errors).toEqual([]);
  });
});

function createButton(): Locator {
  return page.getByRole('button', { name: en('backups.create_button'), exact: true });
}

function rowNamed(name: string): Locator {
  return page.locator('tr[data-backup-id]', { has: page.getByRole('rowheader', { name, exact: true }) });
}

function backupsPath(): string {
  return `/api/v1/orders/${demo.order_id}/provisions/${demo.provision_id}/backups`;
}

async function backupNamed(name: string): Promise<Backup> {
  const { backups } = await api<{ backups: Backup[] }>('GET', backupsPath());
  const found = backups.find((b) => b.name === name);
  if (!found) throw new Error(`no backup named ${name} in ${JSON.stringify(backups)}`);
  return found;
}

async function statusesShown(id: string): Promise<string[]> {
  const log = await page.evaluate(() => (window as unknown as { __statusLog: { id: string; status: string }[] }).__statusLog);
  return log.filter((e) => e.id === id).map((e) => e.status);
}

/** What a row's progress bar said at one moment: recorded in the page by the init script. */
interface ProgressSeen {
  id: string;
  status: string;
  bar: boolean;
  valueNow: string | null;
  valueText: string | null;
}

async function progressShown(id: string, status: string): Promise<ProgressSeen[]> {
  const log = await page.evaluate(() => (window as unknown as { __progressLog: ProgressSeen[] }).__progressLog);
  return log.filter((e) => e.id === id && e.status === status && e.bar);
}

// expectSteadyValues checks that every value the bar showed is a whole
// percentage within 0–100, said in words too, and that none went backwards;
// it returns the values.
function expectSteadyValues(seen: ProgressSeen[]): number[] {
  const values: number[] = [];
  for (const s of seen) {
    if (s.valueNow === null) continue;
    const v = Number(s.valueNow);
    expect(Number.isInteger(v) && v >= 0 && v <= 100, `aria-valuenow ${s.valueNow}`).toBe(true);
    expect(s.valueText ?? '', 'aria-valuetext starts with the percentage').toMatch(new RegExp(`^${v}%`));
    if (values.length > 0) expect(v, `went back from ${values[values.length - 1]}`).toBeGreaterThanOrEqual(values[values.length - 1]);
    if (values[values.length - 1] !== v) values.push(v);
  }
  return values;
}

function describeSeen(seen: ProgressSeen[]): string {
  return seen.map((s) => s.valueText ?? (s.valueNow === null ? 'indeterminate' : s.valueNow)).join(' | ');
}

async function valueNow(bar: Locator): Promise<number | null> {
  const v = await bar.getAttribute('aria-valuenow');
  return v === null ? null : Number(v);
}

async function focusedLabel(): Promise<string | null> {
  return focusedLabelOn(page);
}

async function focusedLabelOn(on: Page): Promise<string | null> {
  return on.evaluate(() => {
    const el = document.activeElement as HTMLInputElement | null;
    return el?.labels?.[0]?.textContent ?? null;
  });
}

// describedText returns the text of the elements an element's aria-describedby names.
async function describedText(el: Locator): Promise<string> {
  return el.evaluate((e) =>
    (e.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .map((id) => document.getElementById(id)?.textContent ?? '')
      .join(' ')
      .trim(),
  );
}

async function focusedText(): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.textContent ?? null);
}

async function api<T>(method: string, path: string): Promise<T> {
  if (!main) throw new Error('the example server is not running');
  return main.api<T>(method, path);
}

async function writeRandomFile(path: string, bytes: number) {
  const out = createWriteStream(path);
  const chunk = 4 * 1024 * 1024;
  for (let written = 0; written < bytes; written += chunk) {
    const ok = out.write(randomBytes(Math.min(chunk, bytes - written)));
    if (!ok) await new Promise<void>((res) => out.once('drain', () => res()));
  }
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

// gunzipHead decompresses the whole file (so a corrupt stream fails) and
// returns its first n bytes.
async function gunzipHead(path: string, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  const gunzip = createGunzip();
  gunzip.on('data', (b: Buffer) => {
    if (have < n) {
      parts.push(b);
      have += b.length;
    }
  });
  await pipeline(createReadStream(path), gunzip);
  return Buffer.concat(parts).subarray(0, n);
}
