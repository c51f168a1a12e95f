// The Activity panel in a real browser against the real example server, in
// English and in German: Debian's Chromium driven by playwright-core, the
// server built from ./examples/server and started, once per language, on a
// free loopback port with its zero-config in-process pieces and a small world
// (quick backups).
//
// Per language, like a customer: the empty log → create a backup and see its
// "started" and "ready" rows appear without a reload → lock it and see the
// "locked" row on top, no row ever taken away in between. In English the log
// then grows past a page behind the page's back, and "Load more" brings the
// oldest rows back below.
// Screenshots go to test-results/ (gitignored) as artefacts.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatRelativeTime } from '../src/activity-format';
import { RELATIVE_TIME_TICK_MS } from '../src/activity-panel';
import type { ActivityPage, Backup } from '../src/client';
import { createTranslator, type Language, type Translate } from '../src/i18n';
import { buildServer, launchChromium, requireBuildAndBrowser, shot, startServer, watchErrors, type RunningServer } from './harness';

let work: string;
let binary: string;
let browser: Browser | undefined;

beforeAll(async () => {
  requireBuildAndBrowser();
  work = mkdtempSync(join(tmpdir(), 'savepoint-activity-e2e-'));
  binary = await buildServer(work);
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const languages: { lang: Language; locale: string; exactTime: RegExp }[] = [
  // The exact time as format.ts's formatTime writes it in each locale, in UTC.
  { lang: 'en', locale: 'en-US', exactTime: /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s[AP]M$/ },
  { lang: 'de', locale: 'de-DE', exactTime: /^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$/ },
];

describe.each(languages)('the Activity panel in Chromium, in $lang', ({ lang, locale, exactTime }) => {
  const t: Translate = createTranslator(lang);
  const name = lang === 'de' ? 'Vor dem Update' : 'Before the update';
  let server: RunningServer | undefined;
  let context: BrowserContext;
  let page: Page;
  let demo: { order_id: string; provision_id: string; user_id: string };
  const errors: string[] = [];

  beforeAll(async () => {
    const state = join(work, lang);
    const data = join(state, 'data');
    mkdirSync(join(data, 'world', 'region'), { recursive: true });
    writeFileSync(join(data, 'server.properties'), `motd=savepoint activity ${lang}\n`);
    writeFileSync(join(data, 'world', 'level.dat'), randomBytes(4096));
    writeFileSync(join(data, 'world', 'region', 'r.0.0.mca'), randomBytes(256 * 1024));
    server = await startServer(binary, state, `server-activity-${lang}.log`);
    demo = await srv().api<typeof demo>('GET', '/api/v1/demo');
    // Fail here, once, rather than in every test after its timeouts.
    const probe = await fetch(`${srv().baseUrl}/api/v1/orders/${demo.order_id}/activity`, { headers: { Authorization: `Bearer ${srv().token}` } });
    if (probe.status !== 200) throw new Error(`the example server keeps no activity log: GET activity answered ${probe.status}: ${await probe.text()}`);

    if (!browser) throw new Error('no browser');
    context = await browser.newContext({ locale, timezoneId: 'UTC', viewport: { width: 1100, height: 900 } });
    page = await context.newPage();
    watchErrors(page, errors);
    // Counts the activity rows ever taken out of the page: a refresh that
    // re-rendered the log from scratch (a flicker) would take them all out.
    await page.addInitScript(() => {
      const w = window as unknown as { __activityRowsRemoved: number };
      w.__activityRowsRemoved = 0;
      new MutationObserver((records) => {
        for (const r of records) {
          for (const n of r.removedNodes) {
            if (!(n instanceof Element)) continue;
            if (n.matches('tr[data-activity-id]')) w.__activityRowsRemoved++;
            w.__activityRowsRemoved += n.querySelectorAll('tr[data-activity-id]').length;
          }
        }
      }).observe(document, { subtree: true, childList: true });
    });
    await page.goto(`${srv().baseUrl}/#token=${srv().token}&lang=${lang}`);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.stop();
  });

  const srv = (): RunningServer => {
    if (!server) throw new Error('the example server is not running');
    return server;
  };
  const panel = (): Locator => page.getByRole('region', { name: t('activity.heading'), exact: true });
  const rows = (): Locator => panel().locator('tr[data-activity-id]');
  const rowOf = (type: string): Locator => panel().locator(`tr[data-type="${type}"]`);
  const cells = async (row: Locator) => row.locator('td, th').allTextContents();
  const rowsRemoved = () => page.evaluate(() => (window as unknown as { __activityRowsRemoved: number }).__activityRowsRemoved);
  const activityPath = () => `/api/v1/orders/${demo.order_id}/activity`;
  const backupsPath = () => `/api/v1/orders/${demo.order_id}/provisions/${demo.provision_id}/backups`;

  it('says nothing has happened yet, under its heading', async () => {
    await panel().getByText(t('activity.empty'), { exact: true }).waitFor();
    expect(await panel().getByRole('heading', { level: 2 }).textContent()).toBe(t('activity.heading'));
    await shot(page, `activity-${lang}-01-empty`);
  });

  it('shows "started" and then "ready" rows for a backup the customer creates, by them, without a reload', async () => {
    await page.getByRole('button', { name: t('backups.create_button'), exact: true }).click();
    await page.getByLabel(t('backups.name_label')).fill(name);
    await page.keyboard.press('Enter');

    const ready = rowOf('backup.ready');
    await ready.waitFor({ timeout: 60_000 });
    const created = rowOf('backup.created');
    expect(await rows().count()).toBe(2);
    expect(await rows().first().getAttribute('data-type'), 'newest first').toBe('backup.ready');
    expect(await panel().getByRole('columnheader').allTextContents()).toEqual([t('activity.column_when'), t('activity.column_what'), t('activity.column_who')]);

    const { items } = await srv().api<ActivityPage>('GET', activityPath());
    const at = items.find((e) => e.type === 'backup.created')?.at ?? '';
    // The page says how long ago as of its last refresh or tick, at most a tick before this.
    const earliest = Date.now() - RELATIVE_TIME_TICK_MS;
    const [when, what, who] = await cells(created);
    const ago = [formatRelativeTime(at, earliest, locale), formatRelativeTime(at, Date.now(), locale)];
    expect(ago, 'how long ago').toContain(when);
    expect(what).toBe(t('activity.type_backup_created', { name }));
    expect(who).toBe(t('activity.actor_you'));
    expect((await cells(ready))[1]).toBe(t('activity.type_backup_ready', { name }));
    expect((await cells(ready))[2]).toBe(t('activity.actor_you'));

    // The exact time on hover, and the server's own time to machines.
    const time = created.locator('time');
    expect(await time.getAttribute('datetime')).toBe(at);
    expect(await time.getAttribute('title')).toMatch(exactTime);
    await shot(page, `activity-${lang}-02-created-ready`);
  });

  it('shows the lock on top as soon as the customer locks the backup, taking no row away', async () => {
    const lock = page.getByRole('button', { name: t('backups.action_label', { action: t('backups.action_lock'), name }), exact: true });
    await lock.click();
    const locked = rowOf('backup.locked');
    await locked.waitFor({ timeout: 30_000 });
    expect(await rows().first().getAttribute('data-type')).toBe('backup.locked');
    expect(await cells(locked)).toEqual([expect.any(String), t('activity.type_backup_locked', { name }), t('activity.actor_you')]);
    expect(await rows().count()).toBe(3);
    expect(await rowsRemoved(), 'refreshes add rows and never re-render the log from scratch').toBe(0);
    expect(await panel().getByRole('button').count(), 'one page holds it all: no load more').toBe(0);
    await shot(page, `activity-${lang}-03-locked`);
  });

  if (lang === 'en') {
    it('shows the newest page after the log grew past one, and "Load more" brings the oldest rows back below', async () => {
      const { backups } = await srv().api<{ backups: Backup[] }>('GET', backupsPath());
      const id = backups.find((b) => b.name === name)?.id;
      if (!id) throw new Error(`no backup named ${name}`);
      // 50 events behind the page's back (it does not poll while nothing runs)...
      for (let i = 0; i < 25; i++) {
        await srv().api('DELETE', `${backupsPath()}/${id}/lock`);
        await srv().api('PUT', `${backupsPath()}/${id}/lock`);
      }
      // ...and one the page makes: a whole page of new events, the newest 50 of 54.
      await page.getByRole('button', { name: t('backups.action_label', { action: t('backups.action_unlock'), name }), exact: true }).click();
      await expect.poll(() => rows().first().getAttribute('data-type'), { timeout: 30_000 }).toBe('backup.unlocked');
      await expect.poll(() => rows().count()).toBe(50);
      expect(await rowOf('backup.created').count(), 'the oldest are on the next page').toBe(0);

      const more = panel().getByRole('button', { name: t('activity.load_more'), exact: true });
      await more.focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => rows().count()).toBe(54);
      const types = await rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-type')));
      expect(types.slice(-3)).toEqual(['backup.locked', 'backup.ready', 'backup.created']);
      const ids = await rows().evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-activity-id'))));
      expect(ids, 'newest first, each once').toEqual([...ids].sort((a, b) => b - a));
      expect(new Set(ids).size).toBe(54);
      expect(await more.count(), 'no button after the last page').toBe(0);
      expect(
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.activityId ?? null),
        'focus goes to the first row the page added',
      ).toBe(String(ids[50]));
      await shot(page, `activity-${lang}-04-load-more`);
    });
  }

  it('logged no errors in the page', () => {
    expect(errors).toEqual([]);
  });
});
