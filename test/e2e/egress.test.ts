/**
 * The egress policy against running servers, as an attacker would try it: webhooks, relay
 * destinations and site callbacks aimed at loopback or cloud-metadata addresses are refused when
 * saved (nothing changes), and ones saved while private networks were open (or whose name
 * resolves elsewhere by now) are refused when the connection is made: the target never sees a
 * byte, and the relay's error names no port state.
 */
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ValidationError } from '../../src/core/kernel/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { hookReceiver, msStream, type HookReceiver } from '../helpers/go-live.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../helpers/server.js';
import { assertError, ms, msUser } from '../api/multistreamer/support.js';
import { makeFlv, tempDir } from '../media/support.js';
import { publish, RelayEvents, sleep, waitFor } from '../media/relay/support.js';

/** A TCP listener that counts the connections it gets (a relay target that must never be reached). */
async function countingListener(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server: Server = createTcpServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('outbound requests obey one egress policy', () => {
  const dir = tempDir('egress-');
  let database: TestDatabase;
  let receiver: HookReceiver;
  let target: Awaited<ReturnType<typeof countingListener>>;
  let server: TestServer | undefined;

  before(async () => {
    database = await createTestDatabase('sqlite');
    receiver = await hookReceiver();
    target = await countingListener();
    makeFlv(join(dir.path, 'short.flv'), 'av', 2);
  });
  after(async () => {
    await server?.close();
    await receiver.close();
    await target.close();
    await database.drop();
    dir.remove();
  });

  test('refused when saved: webhooks, RTMP accounts and destinations, site callbacks to loopback or metadata addresses; nothing changes', async () => {
    server = await startTestServer('sqlite', {}, { database });
    const user = await msUser(server);
    const owner = await server.running.core.accounts.create({ username: 'egressowner', password: 'correct horse battery' });
    const stream = await server.running.core.streams.create(owner.id);
    const before = await server.snapshot();
    for (const url of [`${receiver.url}/hook`, 'http://169.254.169.254/latest/meta-data/', 'http://2130706433/', 'http://[::ffff:7f00:1]/']) {
      const answer = await ms(server, 'POST', '/stream', user, { body: { name: 'Hooked', webhooks: [{ url, type: 'raw', events: { 'stream:start': true } }] } });
      assertError(answer, 400, /webhooks\[0\]\.url .*(loopback|link-local)/);
    }
    const account = await ms(server, 'POST', '/account', user, { body: { network: 'rtmp', name: 'Inside', settings: { name: 'Inside', url: `rtmp://127.0.0.1:${target.port}/live/key` } } });
    assertError(account, 400, /url .*loopback/);
    await assert.rejects(server.running.core.sites.create('Inside', `${receiver.url}/callback`), (err: Error) => err instanceof ValidationError && /loopback/.test(JSON.stringify(err.fields)));
    await assert.rejects(
      server.running.core.streams.addDestination(owner.id, stream.id, { service: 'RTMP', streamKey: `rtmp://0x7f.0.0.1:${target.port}/live/key` }),
      (err: Error) => err instanceof ValidationError && /loopback/.test(err.fields.streamKey ?? ''),
    );

    assert.equal(await server.snapshot(), before, 'nothing was stored');
    assert.equal(target.connections(), 0);
    assert.equal(receiver.received.length + receiver.refused.length, 0);
    await server.close();
    server = undefined;
  });

  test('refused when connecting: a webhook and a relay saved while private networks were open reach nothing once they are closed', async () => {
    const opened = await startTestServer('sqlite', LOCAL_PEERS, { database });
    const f = await msStream(opened, {
      rtmpUrl: `rtmp://127.0.0.1:${target.port}/live/relay-secret-6e5d`,
      webhooks: [{ url: `${receiver.url}/hook`, type: 'raw', events: { 'stream:start': true, 'stream:end': true }, notes: null }],
    });
    await opened.close();

    server = await startTestServer('sqlite', { reconnectWindow: '0', relayRetryMax: '1' }, { database });
    const events = new RelayEvents(server);
    const [destination] = await server.running.core.streams.destinationsOf(f.streamId);
    const publisher = publish(server.running.rtmpPort, f.key, join(dir.path, 'short.flv'));
    const failed = await events.waitFor('the relay to be refused', destination!.id, (e) => e.state === 'error');
    assert.match(failed.lastError ?? '', /127\.0\.0\.1 is a loopback address; private networks are turned off/);
    assert.doesNotMatch(failed.lastError ?? '', /relay-secret/);
    // The webhook delivery was tried and refused at connect time: its failure is kept, nothing arrived.
    const attempt = await waitFor('a refused webhook delivery', async () => {
      const rows = await server!.running.core.ctx.store.db.selectFrom('callbacks').selectAll().execute();
      return rows.find((r) => (r.last_error ?? '').includes('loopback'));
    });
    assert.match(attempt.last_error ?? '', /loopback address; private networks are turned off/);
    assert.equal((await publisher.done).code, 0);
    await sleep(200);
    events.close();
    assert.equal(target.connections(), 0, 'the relay target was never connected to');
    assert.equal(receiver.received.length + receiver.refused.length, 0, 'the webhook receiver got nothing');
  });
});
