// What every browser test needs to run the dashboard against the real example
// server: where things are, the server built from source and started on a free
// loopback port, Debian's Chromium, and the page's errors and screenshots.
// Not a test file itself: vitest.browser.config.ts collects only
// *.browser.test.ts.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/** This folder (e2e/): the anchor for every other path, wherever vitest runs from. */
export const here = dirname(fileURLToPath(import.meta.url));
/** examples/dashboard: the package whose build the server serves. */
export const dashboardDir = resolve(here, '..');
/** The repository root: `go build` runs there, so that ./examples/server resolves. */
export const repoRoot = resolve(dashboardDir, '../..');
/** The production build the server serves with -dashboard; the tests need it built first. */
export const distDir = join(dashboardDir, 'dist');
/** Screenshots and server logs (gitignored), kept as artefacts of a run. */
export const resultsDir = join(dashboardDir, 'test-results');
/** Debian's Chromium unless SAVEPOINT_CHROMIUM names another, for machines that keep it elsewhere. */
export const chromiumPath = process.env.SAVEPOINT_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Fails at once, saying what to run, when the built dashboard or Chromium is
 * missing (otherwise every test would fail later on its own timeout), and
 * makes test-results/ for the logs and screenshots.
 */
export function requireBuildAndBrowser(): void {
  if (!existsSync(join(distDir, 'index.html'))) {
    throw new Error(`no built dashboard in ${distDir}: run \`npm run build\` (scripts/test-dashboard.sh does) first`);
  }
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: run scripts/install-chromium.sh`);
  }
  mkdirSync(resultsDir, { recursive: true });
}

/**
 * Builds the example server from this checkout into dir and returns the
 * binary's path, so that the tests run the code under test and not whatever
 * binary happens to be installed.
 */
export async function buildServer(dir: string): Promise<string> {
  const binary = join(dir, 'server');
  await promisify(execFile)('go', ['build', '-o', binary, './examples/server'], { cwd: repoRoot, timeout: 600_000 });
  return binary;
}

/**
 * Launches Chromium headless with what a test machine wants off: the sandbox
 * (no user namespaces in containers), the GPU, and every request of its own
 * (updates, sync, QUIC probes) that could reach past loopback or slow a run.
 * Playwright gives every launch a fresh, empty profile directory itself.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** An example server started by the tests, with its demo token. */
export interface RunningServer {
  baseUrl: string;
  token: string;
  /** Calls the API with the demo token; throws on an error status. */
  api<T = unknown>(method: string, path: string): Promise<T>;
  /** Stops the server: SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/**
 * Starts the example server (binary, from buildServer) on a free loopback port
 * with its zero-config state in dir, serving the built dashboard, and waits
 * until it is healthy. Its output goes to test-results/<logName>; extraArgs
 * are more flags for the server, for a test that needs it set up otherwise.
 */
export async function startServer(binary: string, dir: string, logName: string, extraArgs: readonly string[] = []): Promise<RunningServer> {
  const serverToken = randomBytes(16).toString('hex');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logPath = join(resultsDir, logName);
  const log = createWriteStream(logPath);
  const proc: ChildProcess = spawn(binary, ['-addr', `127.0.0.1:${port}`, '-dir', dir, '-demo-token', serverToken, '-dashboard', distDir, ...extraArgs], {
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

/**
 * Waits until the server at url answers /healthz, or fails at once, pointing
 * at its log, when the server exits first (a bad flag, a port taken).
 */
export async function waitHealthy(url: string, exit: Promise<number | null>, logPath: string): Promise<void> {
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

/** A loopback port free at the moment of asking, so that servers started side by side do not collide. */
export function freePort(): Promise<number> {
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

/** Resolves after ms: for polling where there is no event to wait for, and for a deadline to race. */
export function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

/**
 * Collects into errors what a page logs as an error, for a test to assert
 * there were none. Chromium logs every response of 400 or more as "Failed to
 * load resource"; the schedule section expects some and shows them, so those
 * for .../schedule with a status in scheduleStatuses are left out: 404 for a
 * provision without a schedule (shown as "No schedule"), and 422 for a test
 * that has the server refuse a schedule (shown in the form).
 */
export function watchErrors(on: Page, errors: string[], scheduleStatuses: readonly number[] = [404]): void {
  const refused = /^Failed to load resource: the server responded with a status of (\d{3})\b/;
  on.on('pageerror', (err) => errors.push(String(err)));
  on.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = msg.location().url;
    const status = refused.exec(msg.text())?.[1];
    const expected = status !== undefined && scheduleStatuses.includes(Number(status)) && url !== '' && new URL(url).pathname.endsWith('/schedule');
    if (!expected) errors.push(msg.text());
  });
}

/**
 * Saves a full-page screenshot of on to test-results/<name>.png as an
 * artefact. When it is meant to show a row in a passing state (creating,
 * restoring), passing names the row and the state, and a warning says when
 * the row had left it by the time the picture was taken.
 */
export async function shot(on: Page, name: string, passing?: { row: Locator; status: string }): Promise<void> {
  await on.screenshot({ path: join(resultsDir, `${name}.png`), fullPage: true });
  if (passing) {
    const after = await passing.row.getAttribute('data-status');
    if (after !== passing.status) console.warn(`screenshot ${name}: the row was ${after} by the time it was taken`);
  }
}
