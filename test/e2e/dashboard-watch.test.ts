/**
 * The public watch page in a real browser (Debian's Chromium driven by playwright-core): a viewer
 * in a context of their own (no account) opens `/watch/<playback_id>` of a live stream, the video
 * plays (its currentTime advances) under the stream's title and a `Live` badge; they pick a name
 * and send a chat message, which the owner sees on the stream's page in the dashboard; the owner
 * mutes them and their next message is refused. Once the stream ends the page says it is offline
 * and offers the recording, which plays. `/embed/<playback_id>` plays without the page's chrome.
 * Each screen is checked with axe-core and photographed at 1280×800 and 390×844.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { makeFlv, waitFor } from '../media/relay/support.js';
import { tempDir } from '../media/support.js';
import { assertAppBuilt, browserSkip as skip, CHROMIUM_ARGS, chromiumPath, encoder, screen, VIEWPORTS } from './browser-support.js';

const USERNAME = 'host';
const PASSWORD = 'host passphrase 1';
const TITLE = 'Friday night show';

/** The video's playing position, to see it advance. */
const positionOf = (page: Page) => page.locator('video').first().evaluate((v) => (v as unknown as { currentTime: number }).currentTime);

describe('the public watch page in Chromium', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let owner: BrowserContext;
  let viewer: BrowserContext;
  const dir = tempDir('watch');
  const notes: string[] = [];
  let streamId = '';
  let playbackId = '';
  let streamKey = '';
  let live: ReturnType<typeof encoder> | undefined;

  before(async () => {
    assertAppBuilt();
    server = await startTestServer('sqlite', { hlsSegmentDuration: '1' });
    const core = server.running.core;
    const account = await core.accounts.create({ username: USERNAME, password: PASSWORD });
    const stream = await core.liveStreams.create({ accountId: account.id, all: false }, { title: TITLE, reconnectWindow: 1, playbackPolicies: ['public'], newAssetSettings: { playbackPolicies: ['public'], passthrough: null } });
    streamId = stream.id;
    streamKey = stream.key;
    playbackId = stream.playbackIds[0]!.id;
    const session = await core.sessions.login(USERNAME, PASSWORD, undefined);
    browser = await chromium.launch({ executablePath: chromiumPath!, args: CHROMIUM_ARGS, headless: true });
    owner = await browser.newContext({ viewport: VIEWPORTS[0], locale: 'en-US' });
    await owner.addCookies([{ name: 'sd_session', value: session.token, url: server.url }]);
    viewer = await browser.newContext({ viewport: VIEWPORTS[0], locale: 'en-US' });
    owner.setDefaultTimeout(20_000);
    viewer.setDefaultTimeout(20_000);
    const source = `${dir.path}/loop.flv`;
    makeFlv(source, 'av', 2);
    live = encoder(server.running.rtmpPort, streamKey, source);
    await waitFor('the stream to be live', async () => (await core.liveStreams.get({ accountId: account.id, all: false }, streamId)).status === 'active', 20_000);
  });

  after(async () => {
    live?.kill();
    for (const note of notes) console.log(`# axe (minor/moderate): ${note}`);
    await browser?.close();
    await server?.close();
    dir.remove();
  });

  test('a viewer watches the live stream and chats; the owner sees the message and mutes them', { timeout: 120_000 }, async () => {
    const page = await viewer.newPage();
    await page.goto(`${server.url}/watch/${playbackId}`);
    await page.getByRole('heading', { level: 1, name: TITLE }).waitFor();
    await page.locator('.badge-live').first().waitFor();
    const start = await positionOf(page);
    await waitFor('the video to play', async () => (await positionOf(page)) > start + 1, 30_000);
    await screen(page, 'watch-live', notes);

    const dashboard = await owner.newPage();
    await dashboard.goto(`${server.url}/app/streams/${streamId}`);
    await dashboard.getByRole('list', { name: 'Chat messages' }).waitFor();

    await page.getByLabel('Your name').fill('Ada');
    await page.getByLabel('Message', { exact: true }).fill('Hello from the audience');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await dashboard.getByRole('list', { name: 'Chat messages' }).getByText('Hello from the audience').waitFor({ timeout: 5_000 });

    await dashboard.getByRole('button', { name: 'Mute Ada', exact: true }).click();
    // The mute may ask for a confirmation; either way the next message is refused.
    const confirm = dashboard.getByRole('dialog').getByRole('button', { name: /mute/i });
    if (await confirm.count()) await confirm.first().click();
    await waitFor('the mute to hold', async () => {
      await page.getByLabel('Message', { exact: true }).fill('Can you hear me?');
      await page.getByRole('button', { name: 'Send', exact: true }).click();
      return (await page.locator('.error').count()) > 0;
    }, 10_000);
    assert.equal(await dashboard.getByText('Can you hear me?').count(), 0, 'a muted chatter’s message reaches no one');
    await screen(dashboard, 'stream-chat', notes);
    await dashboard.close();
    await page.close();
  });

  test('the embed page plays without the page’s chrome', { timeout: 60_000 }, async () => {
    const page = await viewer.newPage();
    await page.goto(`${server.url}/embed/${playbackId}`);
    const start = await waitFor('the player', async () => ((await page.locator('video').count()) > 0 ? positionOf(page) : undefined));
    await waitFor('the embedded video to play', async () => (await positionOf(page)) > start + 1, 30_000);
    assert.equal(await page.getByRole('heading', { level: 1 }).count(), 0, 'no page heading in an embed');
    await screen(page, 'embed', notes);
    await page.close();
  });

  test('offline, the page says so and offers the recording, which plays', { timeout: 120_000 }, async () => {
    live?.kill();
    live = undefined;
    const page = await viewer.newPage();
    await page.goto(`${server.url}/watch/${playbackId}`);
    await page.getByText('This stream is offline.').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Watch the latest recording', exact: true }).click();
    const start = await waitFor('the recording player', async () => ((await page.locator('video').count()) > 0 ? positionOf(page) : undefined));
    await waitFor('the recording to play', async () => (await positionOf(page)) > start + 0.5, 30_000);
    await screen(page, 'watch-offline', notes);
    await page.close();
  });
});
