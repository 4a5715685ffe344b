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
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { makeFlv } from '../media/relay/support.js';
import { tempDir } from '../media/support.js';
import { assertAppBuilt, browserSkip as skip, CHROMIUM_ARGS, chromiumPath, encoder, screen, VIEWPORTS } from './browser-support.js';

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
