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
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatRelativeTime } from '../src/activity-format';
import { RELATIVE_TIME_TICK_MS } from '../src/activity-panel';
import type { ActivityPage, Backup } from '../src/client';
import { createTranslator, type Language, type Translate } from '../src/i18n';

const here = dirname(fileURLToPath(import.meta.url));
const dashboardDir = resolve(here, '..');
const repoRoot = resolve(dashboardDir, '../..');
const distDir = join(dashboardDir, 'dist');
const resultsDir = join(dashboardDir, 'test-results');
const chromiumPath = process.env.SAVEPOINT_CHROMIUM ?? '/usr/bin/chromium';

let work: string;
let binary: string;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(join(distDir, 'index.html'))) {
    throw new Error(`no built dashboard in ${distDir}: run \`npm run build\` (scripts/test-dashboard.sh does) first`);
  }
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: run scripts/install-chromium.sh`);
  }
  mkdirSync(resultsDir, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'savepoint-activity-e2e-'));
  binary = join(work, 'server');
  await promisify(execFile)('go', ['build', '-o', binary, './examples/server'], { cwd: repoRoot, timeout: 600_000 });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
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
    server = await startServer(state, `server-activity-${lang}.log`);
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

// watchErrors collects what a page logs as an error. Chromium logs every
// response of 400 or more as "Failed to load resource"; a 404 for the
// schedule is expected (a provision without one).
function watchErrors(on: Page, errors: string[]) {
  on.on('pageerror', (err) => errors.push(String(err)));
  on.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = msg.location().url;
    const expected = /^Failed to load resource: the server responded with a status of 404\b/.test(msg.text()) && url !== '' && new URL(url).pathname.endsWith('/schedule');
    if (!expected) errors.push(msg.text());
  });
}

async function shot(on: Page, name: string) {
  await on.screenshot({ path: join(resultsDir, `${name}.png`), fullPage: true });
}

/** An example server started by the tests, with its demo token. */
interface RunningServer {
  baseUrl: string;
  token: string;
  /** Calls the API with the demo token; throws on an error status. */
  api<T = unknown>(method: string, path: string): Promise<T>;
  /** Stops the server: SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

// startServer starts the built example server on a free loopback port with its
// zero-config state in dir, serving the built dashboard, and waits until it is
// healthy. Its output goes to test-results/<logName>.
async function startServer(dir: string, logName: string): Promise<RunningServer> {
  const serverToken = randomBytes(16).toString('hex');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logPath = join(resultsDir, logName);
  const log = createWriteStream(logPath);
  const proc: ChildProcess = spawn(binary, ['-addr', `127.0.0.1:${port}`, '-dir', dir, '-demo-token', serverToken, '-dashboard', distDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  const exit = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  await waitHealthy(url, exit, logPath);
  return {
    baseUrl: url,
    token: serverToken,
    async api<T>(method: string, path: string): Promise<T> {
      const res = await fetch(`${url}${path}`, { method, headers: { Authorization: `Bearer ${serverToken}` } });
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${await res.text()}`);
      return (await res.json()) as T;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const stopped = await Promise.race([exit, sleep(10_000).then(() => 'timeout' as const)]);
      if (stopped === 'timeout') proc.kill('SIGKILL');
    },
  };
}

async function waitHealthy(url: string, exit: Promise<number | null>, logPath: string) {
  const deadline = Date.now() + 60_000;
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the example server exited before it was healthy; see ${logPath}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    // Polling is the only way to learn that a port has started listening.
    await sleep(100);
  }
  throw new Error('the example server was not healthy within 60 s');
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

function sleep(ms: number) {
  return new Promise((res) => setTimeout(res, ms));
}
