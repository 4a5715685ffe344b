/**
 * A stream's simulcast targets, recordings and playback ids on the dashboard, in a real browser
 * (Debian's Chromium driven by playwright-core): a target added with a bad URL is refused in the
 * server's words under the URL field; one pointing at a local RTMP receiver (`ffmpeg -listen 1`)
 * shows `Broadcasting` while an encoder publishes, and its switch stops the relay; once the
 * encoder stops, the broadcast's recording is a row whose `Play` plays it in the page; the
 * playback section shows the HLS and watch page URLs and an embed snippet. Each screen is checked
 * with axe-core (no serious or critical violation, light and dark) and photographed at 1280×800
 * and 390×844 under test-output/screenshots/.
 *
 * Needs the built app (`npm run build:web`) and Chromium on PATH or at CHROMIUM_PATH; without
 * Chromium (or ffmpeg) the suite is skipped.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../helpers/server.js';
import { makeFlv, startFfmpegReceiver, waitFor, type FfmpegReceiver } from '../media/relay/support.js';
import { tempDir } from '../media/support.js';
import { assertAppBuilt, browserSkip as skip, CHROMIUM_ARGS as BROWSER_ARGS, chromiumPath, encoder, screen, VIEWPORTS } from './browser-support.js';

/** The recording's player starts without a click (autoplay is allowed in the test browser). */
const CHROMIUM_ARGS = [...BROWSER_ARGS, '--autoplay-policy=no-user-gesture-required'];

describe('a stream’s targets, recordings and playback on the dashboard, in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const dir = tempDir('dashboard-targets');
  const pageErrors: string[] = [];
  const notes: string[] = [];
  let stream: { id: string; stream_key: string; playback_ids: { id: string; policy: string }[] };
  let receiver: FfmpegReceiver | undefined;
  let source = '';

  before(async () => {
    assertAppBuilt();
    server = await startTestServer('sqlite', { ...LOCAL_PEERS, hlsSegmentDuration: '1' });
    source = join(dir.path, 'loop.flv');
    makeFlv(source, 'av', 2);

    // Signed in as a new account: its session cookie goes to the browser.
    const core = server.running.core;
    await core.accounts.create({ username: 'streamer', password: 'a fine password 1', admin: true });
    const { token } = await core.sessions.login('streamer', 'a fine password 1', undefined);
    const made = await fetch(`${server.url}/video/v1/live-streams`, {
      method: 'POST',
      headers: { cookie: `sd_session=${token}`, origin: server.url, 'content-type': 'application/json' },
      // A short reconnect window: the broadcast ends soon after the encoder stops.
      body: JSON.stringify({ playback_policy: ['public'], new_asset_settings: { playback_policy: ['public'] }, reconnect_window: 1, meta: { title: 'Targets test stream' } }),
    });
    assert.equal(made.status, 201);
    stream = ((await made.json()) as { data: typeof stream }).data;

    browser = await chromium.launch({ executablePath: chromiumPath!, args: CHROMIUM_ARGS, headless: true });
    context = await browser.newContext({ viewport: VIEWPORTS[0], colorScheme: 'light', locale: 'en-US' });
    await context.addCookies([{ name: 'sd_session', value: token, url: server.url, httpOnly: true, sameSite: 'Lax' }]);
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    page.on('pageerror', (error: Error) => pageErrors.push(String(error)));
  });

  after(async () => {
    for (const note of notes) console.log(`# axe (minor/moderate): ${note}`);
    await receiver?.kill();
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  const button = (name: string) => page.getByRole('button', { name, exact: true });
  const targets = () => page.getByRole('region', { name: 'Simulcast targets' });

  test('a bad target URL is refused under its field; a good one is added, Idle', { timeout: 60_000 }, async () => {
    await page.goto(`${server.url}/app/streams/${stream.id}`);
    await page.getByRole('heading', { level: 1, name: 'Targets test stream', exact: true }).waitFor();
    await page.getByText('No targets yet.').waitFor();
    await page.getByText('No recordings yet', { exact: false }).waitFor();
    await screen(page, 'stream-sections', notes);

    await button('Add target').click();
    const form = page.getByRole('form', { name: 'Add a simulcast target' });
    await form.getByRole('radio', { name: 'YouTube' }).waitFor();
    assert.equal(await form.getByRole('radio', { name: 'YouTube' }).isChecked(), true, 'YouTube is the first choice');
    await form.getByLabel('YouTube stream key').waitFor();
    await form.getByRole('radio', { name: 'Custom RTMP' }).check();
    await form.getByLabel('Target URL').fill('http://example.com/live');
    await form.getByLabel('Target stream key (optional)').fill('e2e-key');
    await form.getByRole('button', { name: 'Save target' }).click();
    const urlField = form.getByLabel('Target URL');
    await form.locator('[aria-invalid="true"]').waitFor();
    const describedBy = await urlField.getAttribute('aria-describedby');
    assert.ok(describedBy, 'the URL field points at its error');
    const shown = await form.locator(`[id="${describedBy}"]`).innerText();
    assert.match(shown, /rtmp:\/\//, `the server's words, under the URL field: ${shown}`);
    await screen(page, 'target-refused', notes);

    receiver = await startFfmpegReceiver(dir.path, 'dashboard', { app: 'app', name: 'e2e-key' });
    await form.getByLabel('Target URL').fill(`rtmp://127.0.0.1:${receiver.port}/app`);
    await form.getByRole('button', { name: 'Save target' }).click();
    await form.waitFor({ state: 'detached' });
    const row = targets().getByRole('listitem');
    await row.waitFor();
    assert.equal(await row.locator('.target-status').innerText(), 'Idle');
    assert.equal(await row.getByRole('switch').isChecked(), true, 'a new target is on');
  });

  test('while an encoder publishes the target is Broadcasting; its switch stops the relay; stopping the encoder leaves a recording that plays in the page', { timeout: 180_000 }, async () => {
    assert.ok(receiver, 'the previous test added a target');
    const row = targets().getByRole('listitem');
    const status = row.locator('.target-status');
    const publisher = encoder(server.running.rtmpPort, stream.stream_key, source);
    try {
      try {
        await status.filter({ hasText: /^Broadcasting$/ }).waitFor({ timeout: 45_000 });
      } catch (err) {
        throw new Error(`the target did not turn Broadcasting (it says ${await status.innerText()}); ffmpeg said: ${publisher.stderr() || 'nothing'}; the receiver said: ${receiver!.stderr() || 'nothing'}`, { cause: err });
      }
      // A recording row while live, its status said in words.
      await page.getByRole('region', { name: 'Recordings' }).getByText('recording now', { exact: false }).waitFor({ timeout: 20_000 });
      await screen(page, 'target-broadcasting', notes);

      // Off: the relay stops at once (the receiver sees its publisher leave), the status is Idle again.
      await row.getByRole('switch').click();
      await waitFor('the switch to be off', async () => !(await row.getByRole('switch').isChecked()), 10_000);
      assert.equal(await receiver!.finish(15_000), 0, `the receiver saw its publisher leave: ${receiver!.stderr()}`);
      await status.filter({ hasText: /^Idle$/ }).waitFor({ timeout: 15_000 });
      await row.getByText('Off: nothing is pushed here', { exact: false }).waitFor();
    } finally {
      await publisher.kill();
    }

    // The broadcast ends after its reconnect window; its recording is a row that plays here.
    const recordings = page.getByRole('region', { name: 'Recordings' });
    const recording = recordings.getByRole('listitem').first();
    await waitFor('the recording to be complete', async () => !(await recording.innerText()).includes('recording now'), 30_000);
    await recording.getByRole('button', { name: /^Delete recording of / }).waitFor();
    const download = recording.getByRole('link', { name: /^Download recording of / });
    assert.match((await download.getAttribute('href')) ?? '', /^\/app\/api\/assets\/[0-9a-f-]{36}\/download$/);
    await recording.getByRole('button', { name: /^Play recording of / }).click();
    const video = recordings.locator('video');
    await video.waitFor();
    try {
      // The recording's own player (the page has the live preview's video too).
      await waitFor('the recording to play', async () => (await video.evaluate((v) => (v as unknown as { currentTime: number }).currentTime)) > 1, 30_000);
    } catch (err) {
      const said = await recordings.locator('.error').allInnerTexts();
      throw new Error(`the recording did not play (${said.join(' ') || 'no error shown'})`, { cause: err });
    }
    await video.evaluate((v: any) => v.pause());
    await screen(page, 'recording-playing', notes);

    // Delete asks first; Cancel keeps it.
    await recording.getByRole('button', { name: /^Delete recording of / }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Delete this recording?' }).waitFor();
    await screen(page, 'recording-delete', notes);
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await recordings.getByRole('listitem').count(), 1);
    assert.deepEqual(pageErrors, [], 'no uncaught error in the page');
  });

  test('the playback section shows each public id’s HLS and watch page URLs and an embed snippet', { timeout: 60_000 }, async () => {
    const playback = page.getByRole('region', { name: 'Playback' });
    const id = stream.playback_ids[0]!.id;
    const row = playback.getByRole('listitem', { name: `Playback id ${id}` });
    await row.waitFor();
    await row.getByText('Public', { exact: true }).waitFor();
    assert.equal(await row.getByLabel('HLS URL', { exact: true }).inputValue(), `${server.url}/${id}.m3u8`);
    assert.equal(await row.getByLabel('Watch page', { exact: true }).inputValue(), `${server.url}/watch/${id}`);
    assert.match(await row.getByLabel('Embed code', { exact: true }).inputValue(), new RegExp(`^<iframe src="${server.url.replace(/[.]/g, '\\.')}/embed/${id}" title="Targets test stream"`));
    for (const name of [`Copy HLS URL of ${id}`, `Copy watch page URL of ${id}`, `Copy embed code of ${id}`]) await row.getByRole('button', { name, exact: true }).waitFor();
    // The HLS URL shown is the one a player uses (the recording above played its own id the same way).
    assert.equal((await fetch(`${server.url}/${id}.m3u8`)).status, 404, 'the stream is not live now: its live playlist says so');

    // A signed id added here shows its policy, and is removed after a confirm.
    await playback.getByLabel('New playback id’s policy').selectOption('signed');
    await playback.getByRole('button', { name: 'Add playback id', exact: true }).click();
    const signed = playback.getByRole('listitem').filter({ hasText: 'Signed' });
    await signed.waitFor();
    await screen(page, 'playback', notes);
    await signed.getByRole('button', { name: /^Remove playback id / }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove playback id', exact: true }).click();
    await signed.waitFor({ state: 'detached' });
    assert.equal(await playback.getByRole('listitem').count(), 1);
    assert.deepEqual(pageErrors, [], 'no uncaught error in the page');
  });
});
