/**
 * A stream's `Live` section in a real browser (Debian's Chromium driven by playwright-core): a
 * new stream made on the page, its key published with ffmpeg; the muted preview starts by
 * itself and plays (its `currentTime` advances), the input's codecs and picture are shown, the
 * bitrate is above zero with its graph; the streams list shows viewers and uptime; when the
 * encoder drops, the page says how long the broadcast waits for it. Each screen is checked with
 * axe-core and photographed at 1280×800 and 390×844 under test-output/screenshots/.
 *
 * Needs the built app (`npm run build:web`) and Chromium on PATH or at CHROMIUM_PATH; without
 * Chromium (or ffmpeg) the suite is skipped.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { makeFlv } from '../media/relay/support.js';
import { tempDir } from '../media/support.js';
import { assertAppBuilt, browserSkip, CHROMIUM_ARGS, chromiumPath, encoder, screen, VIEWPORTS } from './browser-support.js';

const USERNAME = 'admin';
const PASSWORD = 'a fine password 1';
const TITLE = 'Live numbers stream';

describe('the Live section of a stream in Chromium', { skip: browserSkip }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const dir = tempDir('dashboard-live');
  const pageErrors: string[] = [];
  const notes: string[] = [];

  before(async () => {
    assertAppBuilt();
    server = await startTestServer('sqlite', { hlsSegmentDuration: '1' });
    // Signed in as the first run leaves the administrator (the sign-in screens have their own test).
    const session = await server.running.core.sessions.setup(USERNAME, PASSWORD, undefined);
    browser = await chromium.launch({ executablePath: chromiumPath!, args: CHROMIUM_ARGS, headless: true });
    context = await browser.newContext({ viewport: VIEWPORTS[0], colorScheme: 'light', locale: 'en-US' });
    await context.addCookies([{ name: 'sd_session', value: session.token, url: server.url, httpOnly: true, sameSite: 'Lax' }]);
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
  const live = () => page.locator('section[aria-labelledby="live-heading"]');
  const fact = (name: string) => live().locator(`dd[data-fact="${name}"]`);

  test('the preview plays by itself, with the codecs, picture, bitrate, viewers and uptime; the list shows viewers and uptime; a drop shows the seconds left', { timeout: 180_000 }, async () => {
    await page.goto(`${server.url}/app/`);
    await heading('Streams').waitFor();
    await page.getByLabel('Title (optional)').fill(TITLE);
    await page.getByRole('button', { name: 'New stream', exact: true }).click();
    await page.waitForURL(/\/app\/streams\/[^/]+$/);
    await heading(TITLE).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Live', exact: true }).waitFor();
    await live().getByText('Not live', { exact: false }).waitFor();
    const preview = page.getByLabel('Live preview', { exact: true });
    assert.equal(await preview.evaluate((v) => (v as any).muted), true, 'the preview is muted');
    await page.getByRole('button', { name: 'Show key', exact: true }).click();
    const streamKey = await page.getByLabel('Stream key', { exact: true }).inputValue();
    await page.getByRole('button', { name: 'Hide key', exact: true }).click();

    const source = join(dir.path, 'loop.flv');
    makeFlv(source, 'av', 2);
    const publisher = encoder(server.running.rtmpPort, streamKey, source);
    try {
      try {
        await page.locator('main .page-head .badge').filter({ hasText: /^Live$/ }).waitFor({ timeout: 45_000 });
      } catch (err) {
        throw new Error(`the stream did not go live; ffmpeg said: ${publisher.stderr() || 'nothing'}`, { cause: err });
      }

      // The preview starts by itself and plays: its clock moves on.
      await page.waitForFunction(() => ((globalThis as any).document.querySelector('video.preview-video')?.currentTime ?? 0) > 0.5, undefined, { timeout: 45_000 });
      const first = await preview.evaluate((v) => (v as any).currentTime as number);
      await page.waitForTimeout(2_000);
      const second = await preview.evaluate((v) => (v as any).currentTime as number);
      assert.ok(second > first + 0.5, `the preview's currentTime advances (${first} then ${second})`);
      assert.equal(await preview.evaluate((v) => (v as any).paused), false);

      // What the media plane saw of the input.
      await fact('video').filter({ hasText: '320×240' }).waitFor({ timeout: 20_000 });
      const video = await fact('video').innerText();
      assert.match(video, /^H\.264 · 320×240 · (29\.\d+|30(\.\d+)?) fps$/, video);
      assert.match(await fact('audio').innerText(), /^AAC · 44\.1 kHz · mono$/);
      await fact('bitrate').filter({ hasText: /^[1-9][\d,]* kbit\/s$/ }).waitFor({ timeout: 20_000 });
      const kbps = Number((await fact('bitrate').innerText()).replace(/[^\d]/g, ''));
      assert.ok(kbps > 0, `bitrate > 0 (${kbps})`);
      // The preview is a player of the stream: it is counted.
      await fact('viewers').filter({ hasText: /^[1-9]\d*$/ }).waitFor({ timeout: 20_000 });
      assert.match(await fact('uptime').innerText(), /^\d+:\d\d$/);
      const chart = live().getByRole('img', { name: /Input bitrate over the last five minutes/ });
      await chart.waitFor();
      assert.match((await chart.getAttribute('aria-label'))!, /now [1-9]\d* kbit\/s/);
      assert.ok((await chart.locator('canvas').count()) >= 1, 'the graph is drawn');
      await screen(page, 'stream-live-numbers', notes);

      // The list: viewers now and uptime of the live stream.
      await page.getByRole('link', { name: '← All streams' }).click();
      await heading('Streams').waitFor();
      const row = page.getByRole('listitem').filter({ hasText: TITLE });
      await row.getByText('Live', { exact: true }).waitFor();
      await row.getByText(/\d+ viewers? · up \d+:\d\d/).waitFor({ timeout: 10_000 });
      await screen(page, 'streams-live-numbers', notes);

      await row.getByRole('link', { name: TITLE }).click();
      await heading(TITLE).waitFor();
      await fact('bitrate').filter({ hasText: /kbit\/s$/ }).waitFor({ timeout: 10_000 });
    } finally {
      publisher.kill();
    }
    await publisher.exited;

    // The encoder dropped: the broadcast waits for it, and the page says for how long.
    const reconnecting = live().getByText(/^Reconnecting, \d+ s left$/);
    await reconnecting.waitFor({ timeout: 15_000 });
    const left = Number((await reconnecting.innerText()).match(/\d+/)![0]);
    assert.ok(left > 0 && left <= 60, `seconds left within the reconnect window (${left})`);
    await page.waitForFunction((before) => {
      const text = (globalThis as any).document.querySelector('.live-state')?.textContent ?? '';
      const m = /Reconnecting, (\d+) s left/.exec(text);
      return m !== null && Number(m[1]) < before;
    }, left, { timeout: 10_000 });
    await screen(page, 'stream-reconnecting', notes);

    assert.deepEqual(pageErrors, [], 'no uncaught error in the page');
  });
});
