/**
 * The live API's webhooks and event stream: endpoints made, listed, changed and deleted through
 * the Mux SDK's `system.webhooks`; each event POSTed with `mux-signature` so `mux.webhooks.unwrap`
 * accepts it; a failed delivery retried with backoff under the same event id; every attempt in
 * the endpoint's delivery log, and one sent again on request; filters, disabled endpoints and
 * other accounts; webhook URLs on private networks refused unless the operator allows them; and
 * `/system/v1/events`, the same events as Server-Sent Events, resumed with Last-Event-ID.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from '../../helpers/databases.js';
import { hookReceiver, type HookReceiver } from '../../helpers/go-live.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../media/relay/support.js';
import { failure, Mux, muxAccount, openEvents, raw } from './support.js';

for (const kind of databaseKinds()) {
  describe(`live API webhooks and events (${kind})`, () => {
    let server: TestServer;
    let hooks: HookReceiver;

    before(async () => {
      server = await startTestServer(kind, LOCAL_PEERS);
      hooks = await hookReceiver();
    });

    after(async () => {
      await hooks?.close();
      await server?.close();
    });

    const hooksAt = (path: string) => hooks.received.filter((h) => h.path === path);

    test('endpoints are made, read, changed and deleted through the SDK; the secret is shown once', async () => {
      const { mux } = await muxAccount(server);
      const made = (await mux.system.webhooks.create({ address: `${hooks.url}/crud` } as never)) as any;
      assert.match(made.signing_secret, /^[\w-]{20,}$/);
      assert.equal(made.address, `${hooks.url}/crud`);
      assert.equal(made.enabled, true);
      const read = (await mux.system.webhooks.retrieve(made.id)) as any;
      assert.equal(read.signing_secret, undefined, 'the secret is in the create answer only');
      const listed = [];
      for await (const w of mux.system.webhooks.list()) listed.push(w.id);
      assert.deepEqual(listed, [made.id]);
      const changed = (await mux.system.webhooks.update(made.id, { enabled: false } as never)) as any;
      assert.equal(changed.enabled, false);
      const duplicate = await failure(mux.system.webhooks.create({ address: `${hooks.url}/crud` } as never));
      assert.ok(duplicate instanceof Mux.BadRequestError, 'one endpoint per URL');
      await mux.system.webhooks.delete(made.id);
      assert.ok((await failure(mux.system.webhooks.retrieve(made.id))) instanceof Mux.NotFoundError);
    });

    test('a failed delivery is retried with backoff under the same event id; every attempt is logged; one is sent again on request', async () => {
      const a = await muxAccount(server);
      const endpoint = (await a.mux.system.webhooks.create({ address: `${hooks.url}/retry` } as never)) as any;
      hooks.failNext(1);
      const stream = await a.mux.video.liveStreams.create({});
      const delivered = await waitFor('the retried delivery', () => hooksAt('/retry').find((h) => h.json.type === 'video.live_stream.created'), 15_000);
      const first = hooks.refused.find((h) => h.path === '/retry');
      assert.ok(first, 'the first attempt was refused');
      assert.equal(first.json.id, delivered.json.id, 'the same event id on every attempt');
      assert.ok(delivered.at - first.at >= 1500, `retried after ${delivered.at - first.at} ms`);
      const event = (await a.mux.webhooks.unwrap(delivered.body, delivered.headers as Record<string, string>, endpoint.signing_secret)) as any;
      assert.equal(event.data.id, stream.id);
      assert.equal(event.data.stream_key, stream.stream_key, 'the stream as the API shows it, to its owner');
      assert.match(String(delivered.headers['mux-signature']), /^t=\d+,v1=[0-9a-f]{64}$/);
      await assert.rejects(a.mux.webhooks.unwrap(delivered.body, delivered.headers as Record<string, string>, 'another secret'));

      const log = await raw(server, 'GET', `/system/v1/webhooks/${endpoint.id}/deliveries`, { auth: a.basic });
      assert.equal(log.status, 200);
      const attempts = log.json.data.filter((d: any) => d.event_id === event.id);
      assert.deepEqual(attempts.map((d: any) => d.response_status_code), [204, 500], 'newest first');
      assert.ok(attempts.every((d: any) => d.event_type === 'video.live_stream.created' && Number.isInteger(d.duration_ms)));

      const again = await raw(server, 'POST', `/system/v1/webhooks/${endpoint.id}/deliveries/${attempts[0].id}/redeliver`, { auth: a.basic });
      assert.equal(again.status, 200, again.text);
      await waitFor('the redelivery', () => hooksAt('/retry').filter((h) => h.json.id === event.id).length === 2);
      const other = await muxAccount(server);
      assert.equal((await raw(server, 'GET', `/system/v1/webhooks/${endpoint.id}/deliveries`, { auth: other.basic })).status, 404, 'another account sees none of it');
      assert.equal((await raw(server, 'POST', `/system/v1/webhooks/${endpoint.id}/deliveries/${attempts[0].id}/redeliver`, { auth: other.basic })).status, 404);
      await a.mux.system.webhooks.delete(endpoint.id);
    });

    test('an endpoint gets only the events it asked for, none while disabled, and none of other accounts', async () => {
      const a = await muxAccount(server);
      const b = await muxAccount(server);
      const filtered = (await a.mux.system.webhooks.create({ address: `${hooks.url}/filtered`, events: ['video.live_stream.deleted'] } as never)) as any;
      const off = (await a.mux.system.webhooks.create({ address: `${hooks.url}/off` } as never)) as any;
      await a.mux.system.webhooks.update(off.id, { enabled: false } as never);
      const stream = await a.mux.video.liveStreams.create({});
      await b.mux.video.liveStreams.create({});
      await a.mux.video.liveStreams.update(stream.id, { passthrough: 'changed' });
      await a.mux.video.liveStreams.delete(stream.id);
      await waitFor('the deleted event', () => hooksAt('/filtered').length > 0);
      // Later events than the one awaited would have been queued before it: give them a moment.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(hooksAt('/filtered').map((h) => h.json.type), ['video.live_stream.deleted']);
      assert.equal(hooksAt('/filtered')[0]!.json.object.id, stream.id);
      assert.deepEqual(hooksAt('/off'), []);
      await a.mux.system.webhooks.delete(filtered.id);
      await a.mux.system.webhooks.delete(off.id);
    });

    test('what was queued for an endpoint disabled since is not sent', async () => {
      const a = await muxAccount(server);
      const endpoint = (await a.mux.system.webhooks.create({ address: `${hooks.url}/changed` } as never)) as any;
      hooks.failNext(1);
      await a.mux.video.liveStreams.create({});
      await waitFor('the first attempt', () => hooks.refused.some((h) => h.path === '/changed'));
      await a.mux.system.webhooks.update(endpoint.id, { enabled: false } as never);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.deepEqual(hooksAt('/changed'), [], 'the retry was dropped with the endpoint');
    });

    test('an account may hold a bounded number of event streams open', async () => {
      const a = await muxAccount(server);
      const streams = [];
      for (let i = 0; i < 10; i++) streams.push(await openEvents(server, a.basic));
      assert.ok(streams.every((s) => s.status === 200));
      const refused = await raw(server, 'GET', '/system/v1/events', { auth: a.basic });
      assert.equal(refused.status, 429);
      assert.equal(refused.json.error.type, 'too_many_requests');
      await streams.pop()!.close();
      await waitFor('a slot to free', async () => {
        const again = await openEvents(server, a.basic);
        streams.push(again);
        return again.status === 200;
      });
      for (const s of streams) await s.close();
    });

    test('the event stream sends the account’s events as they happen and resumes from Last-Event-ID', async () => {
      const a = await muxAccount(server);
      const b = await muxAccount(server);
      const unauthorized = await raw(server, 'GET', '/system/v1/events');
      assert.equal(unauthorized.status, 401);

      const stream = await openEvents(server, a.basic);
      assert.equal(stream.status, 200);
      assert.match(String(stream.contentType), /^text\/event-stream/);
      const first = await a.mux.video.liveStreams.create({ passthrough: 'one' });
      await b.mux.video.liveStreams.create({ passthrough: 'not yours' });
      const seen = await waitFor('the created event', () => stream.events.find((e) => e.event === 'video.live_stream.created'));
      await stream.close();
      const body = JSON.parse(seen.data);
      assert.equal(body.data.id, first.id);
      assert.match(seen.id!, /^\d+$/);

      const second = await a.mux.video.liveStreams.create({ passthrough: 'two' });
      await a.mux.video.liveStreams.disable(second.id);
      const resumed = await openEvents(server, a.basic, seen.id);
      await waitFor('the missed events', () => resumed.events.some((e) => e.event === 'video.live_stream.disabled'));
      await resumed.close();
      const types = resumed.events.map((e) => `${e.event} ${JSON.parse(e.data).data.passthrough ?? ''}`);
      assert.deepEqual(types, ['video.live_stream.created two', 'video.live_stream.disabled two'], 'only what came after, and only this account’s');
      assert.ok(resumed.events.every((e) => Number(e.id) > Number(seen.id)));
    });
  });

  describe(`webhook URLs on private networks (${kind})`, () => {
    let server: TestServer;

    before(async () => {
      server = await startTestServer(kind);
    });

    after(async () => {
      await server?.close();
    });

    test('are refused unless the operator allows private fetches, and nothing is saved', async () => {
      const a = await muxAccount(server);
      const before = await server.snapshot();
      for (const url of ['http://127.0.0.1:8080/hook', 'http://10.1.2.3/hook', 'http://[::1]/hook', 'ftp://example.com/hook', 'not a url']) {
        const reply = await raw(server, 'POST', '/system/v1/webhooks', { auth: a.basic, body: JSON.stringify({ url }), contentType: 'application/json' });
        assert.equal(reply.status, 400, `${url}: ${reply.text}`);
        assert.equal(reply.json.error.type, 'invalid_parameters');
        assert.ok(!reply.text.includes('127.0.0.1') || url.includes('127.0.0.1'), 'a refusal names no address it resolved');
      }
      assert.equal(await server.snapshot(), before);
    });
  });
}
