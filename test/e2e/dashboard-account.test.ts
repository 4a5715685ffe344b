/**
 * The dashboard's account screens in a real browser (Debian's Chromium driven by
 * playwright-core): a webhook added on the Webhooks page shows its signing secret once, its
 * deliveries to a local receiver appear with their status code, and `Redeliver` sends one again
 * under the same event id; an access token made on its page shows its secret once, and the token
 * works against the API; a signing key shows its private key once. A form on another origin
 * posting with the session cookie is refused and changes nothing. Each screen is checked with
 * axe-core and photographed at 1280×800 and 390×844.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { hookReceiver, type HookReceiver } from '../helpers/go-live.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../media/relay/support.js';
import { assertAppBuilt, browserSkip as skip, CHROMIUM_ARGS, chromiumPath, screen, VIEWPORTS } from './browser-support.js';

const USERNAME = 'owner';
const PASSWORD = 'owner passphrase 1';

describe('the dashboard’s account screens in Chromium', { skip }, () => {
  let server: TestServer;
  let hooks: HookReceiver;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const notes: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    assertAppBuilt();
    server = await startTestServer('sqlite', LOCAL_PEERS);
    hooks = await hookReceiver();
    await server.running.core.accounts.create({ username: USERNAME, password: PASSWORD });
    browser = await chromium.launch({ executablePath: chromiumPath!, args: CHROMIUM_ARGS, headless: true });
    context = await browser.newContext({ viewport: VIEWPORTS[0], colorScheme: 'light', locale: 'en-US' });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(`${server.url}/app/`);
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Streams', exact: true }).waitFor();
  });

  after(async () => {
    for (const note of notes) console.log(`# axe (minor/moderate): ${note}`);
    await browser?.close();
    await hooks?.close();
    await server?.close();
  });

  const nav = (name: string) => page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name, exact: true });

  test('a webhook shows its secret once, lists its deliveries with their status, and redelivers one', { timeout: 90_000 }, async () => {
    await nav('Webhooks').click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks', exact: true }).waitFor();
    await page.getByLabel('URL', { exact: true }).fill('ftp://nowhere');
    await page.getByRole('button', { name: 'Add webhook', exact: true }).click();
    await page.getByText('Enter an http:// or https:// URL.').waitFor();

    await page.getByLabel('URL', { exact: true }).fill(`${hooks.url}/dashboard`);
    await page.getByRole('button', { name: 'Add webhook', exact: true }).click();
    const secret = await page.getByRole('textbox', { name: 'Signing secret', exact: true }).inputValue();
    assert.match(secret, /^[\w-]{20,}$/);
    await screen(page, 'webhooks', notes);

    // An event of the account: a stream made in the dashboard.
    await nav('Streams').click();
    await page.getByRole('button', { name: 'New stream', exact: true }).click();
    await page.locator('main .page-head .badge').waitFor();
    const delivered = await waitFor('the webhook delivery', () => hooks.received.find((h) => h.path === '/dashboard' && h.json?.type === 'video.live_stream.created'), 15_000);
    const mux = await import('@mux/mux-node');
    await new mux.default({ tokenId: 'x', tokenSecret: 'y' }).webhooks.unwrap(delivered.body, delivered.headers as Record<string, string>, secret);

    await nav('Webhooks').click();
    const row = page.getByRole('row').filter({ hasText: 'video.live_stream.created' }).first();
    await row.waitFor();
    // Checked once the page has its data: before, nothing at all is shown.
    assert.equal(await page.getByRole('textbox', { name: 'Signing secret', exact: true }).count(), 0, 'the secret is not shown again');
    assert.match(await row.innerText(), /204/);
    await row.getByRole('button', { name: /^Redeliver video\.live_stream\.created/ }).click();
    await waitFor('the redelivery', () => hooks.received.filter((h) => h.json?.id === delivered.json.id).length === 2, 15_000);
    await screen(page, 'webhooks-deliveries', notes);
  });

  test('an access token shows its secret once, and the token opens the API', { timeout: 60_000 }, async () => {
    await nav('Access tokens').click();
    await page.getByRole('heading', { level: 1, name: 'Access tokens', exact: true }).waitFor();
    await page.getByLabel('Name (optional)').fill('ci');
    await page.getByRole('button', { name: 'Create token', exact: true }).click();
    const secret = await page.getByRole('textbox', { name: 'Token secret', exact: true }).inputValue();
    const id = await page.getByRole('textbox', { name: 'Token id', exact: true }).inputValue();
    assert.match(id, /^[0-9a-f]{32}$/);
    const api = await fetch(`${server.url}/video/v1/live-streams`, { headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` } });
    assert.equal(api.status, 200, 'the token made on the page works');
    await screen(page, 'access-tokens', notes);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Access tokens', exact: true }).waitFor();
    const revoke = page.getByRole('button', { name: 'Revoke token ci', exact: true });
    // Checked once the list has loaded: before, nothing at all is shown.
    await revoke.waitFor();
    assert.equal(await page.getByRole('textbox', { name: 'Token secret', exact: true }).count(), 0, 'the secret is shown only once');
    assert.ok(!(await page.content()).includes(secret));
    await revoke.click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke', exact: true }).click();
    await waitFor('the token to be revoked', async () => (await fetch(`${server.url}/video/v1/live-streams`, { headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` } })).status === 401);
  });

  test('a signing key shows its private key once', { timeout: 60_000 }, async () => {
    await nav('Signing keys').click();
    await page.getByRole('heading', { level: 1, name: 'Signing keys', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Create signing key', exact: true }).click();
    const key = await page.getByRole('textbox', { name: 'Private key', exact: true }).inputValue();
    assert.match(Buffer.from(key, 'base64').toString('utf8'), /^-----BEGIN RSA PRIVATE KEY-----/);
    await screen(page, 'signing-keys', notes);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Signing keys', exact: true }).waitFor();
    // Checked once the list has loaded (it comes after the heading): the key is listed, its private part is not shown.
    await page.getByRole('button', { name: /^Delete signing key / }).first().waitFor();
    assert.equal(await page.getByRole('button', { name: /^Delete signing key / }).count(), 1);
    assert.equal(await page.getByRole('textbox', { name: 'Private key', exact: true }).count(), 0);
  });

  test('a form on another origin posting with the session cookie is refused and changes nothing', { timeout: 90_000 }, async () => {
    // Another origin on this machine (another port: the same site, so the browser sends the cookie).
    const attacker: Server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html', connection: 'close' }).end(
        `<!doctype html><html lang="en"><title>attacker</title><form method="POST" action="${server.url}/video/v1/live-streams" enctype="text/plain"><input name='{"a":"' value='"}'><button>Go</button></form></html>`,
      );
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const port = (attacker.address() as { port: number }).port;
    const other = await context.newPage();
    try {
      const before = (await server.running.core.liveStreams.list({ accountId: (await server.running.core.accounts.findByUsername(USERNAME))!.id, all: false }, {}, 100, 0)).length;
      await other.goto(`http://127.0.0.1:${port}/`);
      const [response] = await Promise.all([other.waitForResponse((r) => r.url().startsWith(`${server.url}/video/v1/live-streams`)), other.getByRole('button', { name: 'Go' }).click()]);
      assert.equal(response.status(), 403, 'refused');
      const afterCount = (await server.running.core.liveStreams.list({ accountId: (await server.running.core.accounts.findByUsername(USERNAME))!.id, all: false }, {}, 100, 0)).length;
      assert.equal(afterCount, before, 'nothing was made');
    } finally {
      // The page and every socket the browser keeps to the other origin end here, whatever failed
      // above: a connection the browser holds open must not keep the server (and the test) waiting.
      await other.close().catch(() => {});
      attacker.closeAllConnections();
      await new Promise<void>((resolve) => attacker.close(() => resolve()));
    }
    assert.deepEqual(pageErrors, []);
  });
});
