/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core), on a server
 * with a fresh store: the first visit makes the admin account; sign out and in, and a wrong
 * password is refused in words; `New stream` opens the stream's page, whose key (shown on
 * request) an ffmpeg encoder publishes with; the status badge turns `Live` without a reload, on
 * the stream's page and in the list. Each screen is checked with axe-core (no serious or
 * critical violation, light and dark) and photographed at 1280×800 and 390×844 under
 * test-output/screenshots/.
 *
 * Needs the built app (web/dist: `npm run build:web`, which `npm ci` runs) and Chromium on PATH
 * or at CHROMIUM_PATH; without Chromium (or ffmpeg) the suite is skipped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegMissing, makeFlv } from '../media/relay/support.js';
import { tempDir } from '../media/support.js';

/** The repository root (this file runs compiled, from dist/test/e2e/). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WEB_DIST = join(ROOT, 'web', 'dist');
const SCREENSHOTS = join(ROOT, 'test-output', 'screenshots');

const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const;

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Chromium at CHROMIUM_PATH, else on PATH, else Debian's /usr/bin/chromium. */
function findChromium(): string | undefined {
  const given = process.env.CHROMIUM_PATH;
  if (given) return executable(given) ? given : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser']) {
      if (executable(join(dir, name))) return join(dir, name);
    }
  }
  return executable('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

const chromiumPath = findChromium();
const skip: string | false = !chromiumPath
  ? process.env.CHROMIUM_PATH
    ? `CHROMIUM_PATH=${process.env.CHROMIUM_PATH} is not an executable file`
    : "Chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH): the dashboard's browser tests are skipped"
  : ffmpegMissing;

/** The newest modification time of the files under a folder. */
function newest(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? newest(path) : statSync(path).mtimeMs;
    }),
  );
}

/** The built app must be there, and built from the sources as they are. */
function assertAppBuilt(): void {
  const index = join(WEB_DIST, 'index.html');
  assert.ok(existsSync(index), `${index} is missing: build the dashboard first (npm run build:web)`);
  const sources = Math.max(newest(join(ROOT, 'web', 'src')), statSync(join(ROOT, 'web', 'index.html')).mtimeMs);
  assert.ok(statSync(index).mtimeMs >= sources, 'web/dist is older than web/src: rebuild the dashboard (npm run build:web)');
}

/** ffmpeg publishing a short file over and over, as an encoder that keeps going. */
function encoder(rtmpPort: number, key: string, file: string) {
  const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/${key}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return { stderr: () => stderr, kill: () => child.kill('SIGKILL') };
}

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

let axeSource: string | undefined;

/** axe-core's findings on the page as it is now. */
async function axeViolations(page: Page): Promise<Violation[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ content: axeSource });
  return page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const results = await axe.run({ resultTypes: ['violations'] });
    return results.violations.map((v: any) => ({ id: v.id, impact: v.impact ?? null, help: v.help, nodes: v.nodes.map((n: any) => n.target.join(' ')) }));
  });
}

/**
 * One screen, checked and photographed: axe at each size, in light and dark; a screenshot at
 * each size (light) and a dark one at 1280×800.
 */
async function screen(page: Page, name: string, notes: string[]): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const problems: string[] = [];
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      // Let the layout settle at the new size before looking.
      await page.evaluate(() => new Promise((resolve) => (globalThis as any).requestAnimationFrame(() => (globalThis as any).requestAnimationFrame(resolve))));
      for (const v of await axeViolations(page)) {
        const line = `${name} (${scheme}, ${viewport.width}px): ${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(', ')}`;
        if (v.impact === 'serious' || v.impact === 'critical') problems.push(line);
        else notes.push(line);
      }
      if (scheme === 'light' || viewport.width === 1280) {
        await page.screenshot({ path: join(SCREENSHOTS, `dashboard-${name}-${viewport.width}x${viewport.height}${scheme === 'dark' ? '-dark' : ''}.png`), fullPage: true });
      }
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(VIEWPORTS[0]);
  assert.deepEqual(problems, [], `axe found serious or critical problems on ${name}`);
}

const USERNAME = 'admin';
const PASSWORD = 'a fine password 1';
const TITLE = 'Browser test stream';

describe('the dashboard in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const dir = tempDir('dashboard');
  const pageErrors: string[] = [];
  const notes: string[] = [];
  let streamKey = '';

  before(async () => {
    assertAppBuilt();
    server = await startTestServer('sqlite', { hlsSegmentDuration: '1' });
    browser = await chromium.launch({ executablePath: chromiumPath!, args: CHROMIUM_ARGS, headless: true });
    context = await browser.newContext({ viewport: VIEWPORTS[0], colorScheme: 'light', locale: 'en-US' });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(String(error)));
  });

  after(async () => {
    for (const note of notes) console.log(`# axe (minor/moderate): ${note}`);
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  const heading = (name: string) => page.getByRole('heading', { level: 1, name, exact: true });
  const button = (name: string) => page.getByRole('button', { name, exact: true });
  /** The status badge beside the stream's title on its page. */
  const pageBadge = () => page.locator('main .page-head .badge');

  test('first run makes the admin account; sign out, a wrong password is refused in words, sign in', { timeout: 120_000 }, async () => {
    await page.goto(`${server.url}/app/`);
    await heading('Create the admin account').waitFor();
    await screen(page, 'first-run', notes);

    await page.getByLabel('Username', { exact: true }).fill(USERNAME);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await button('Create account').click();
    await heading('Streams').waitFor();

    // A browser asking for the server's root gets the app too.
    await page.goto(`${server.url}/`);
    await heading('Streams').waitFor();

    await button('Sign out').click();
    await heading('Sign in').waitFor();
    // Signed out on the server too: the session is gone after a reload.
    await page.reload();
    await heading('Sign in').waitFor();
    await screen(page, 'sign-in', notes);

    await page.getByLabel('Username', { exact: true }).fill(USERNAME);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await button('Sign in').click();
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /Wrong username or password/);
    await screen(page, 'sign-in-refused', notes);

    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await button('Sign in').click();
    await heading('Streams').waitFor();
    await page.getByText('No streams yet', { exact: false }).waitFor();
    await screen(page, 'streams-empty', notes);
  });

  test('New stream opens its page, whose key is shown on request', { timeout: 60_000 }, async () => {
    await page.getByLabel('Title (optional)').fill(TITLE);
    await button('New stream').click();
    await page.waitForURL(/\/app\/streams\/[^/]+$/);
    await heading(TITLE).waitFor();
    assert.equal(await pageBadge().innerText(), 'Idle');

    const serverField = page.getByLabel('Server', { exact: true });
    assert.match(await serverField.inputValue(), /^rtmps?:\/\/[^/]+\/live$/);
    const keyField = page.getByLabel('Stream key', { exact: true });
    assert.equal(await keyField.getAttribute('type'), 'password', 'the key is hidden at first');
    await button('Show key').click();
    assert.equal(await keyField.getAttribute('type'), 'text');
    streamKey = await keyField.inputValue();
    assert.ok(streamKey.length >= 16, 'a stream key is shown');
    assert.ok((await page.locator('pre.command').innerText()).includes(streamKey), 'the ffmpeg command has the key');
    await button('Hide key').click();
    assert.equal(await keyField.getAttribute('type'), 'password');
    await screen(page, 'stream', notes);

    // Reset key asks first; Cancel changes nothing.
    await button('Reset key').click();
    await page.getByRole('dialog').getByRole('heading', { name: 'Reset the stream key?' }).waitFor();
    await screen(page, 'stream-reset-key', notes);
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.equal(await keyField.inputValue(), streamKey);
  });

  test('publishing with the key turns the badge Live without a reload, on the page and in the list', { timeout: 120_000 }, async () => {
    assert.ok(streamKey, 'the previous test read the key');
    const source = join(dir.path, 'loop.flv');
    makeFlv(source, 'av', 2);
    await page.evaluate(() => ((globalThis as any).__sameDocument = true));

    const publisher = encoder(server.running.rtmpPort, streamKey, source);
    try {
      try {
        await pageBadge().filter({ hasText: /^Live$/ }).waitFor({ timeout: 45_000 });
      } catch (err) {
        throw new Error(`the badge did not turn Live (it says ${await pageBadge().innerText()}); ffmpeg said: ${publisher.stderr() || 'nothing'}`, { cause: err });
      }
      assert.equal(await page.evaluate(() => (globalThis as any).__sameDocument), true, 'the page was not reloaded');
      await screen(page, 'stream-live', notes);

      await page.getByRole('link', { name: '← All streams' }).click();
      await heading('Streams').waitFor();
      const row = page.getByRole('listitem').filter({ hasText: TITLE });
      await row.getByText('Live', { exact: true }).waitFor();
      assert.equal(await page.evaluate(() => (globalThis as any).__sameDocument), true, 'moving to the list did not reload the page');
      await screen(page, 'streams-live', notes);
    } finally {
      publisher.kill();
    }
    assert.deepEqual(pageErrors, [], 'no uncaught error in the page');
  });
});
