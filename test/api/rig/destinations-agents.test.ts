/**
 * rig API v1, stream destinations and the Agents API (`/agents/config/{streamKey}`), which
 * edge agents ask when an encoder publishes and whose payload becomes nginx `push` lines.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import type { StreamId } from '../../../src/core/kernel/ids.js';
import {
  addDestination,
  assertExactError,
  assertInvalid,
  assertRigError,
  assertSuccess,
  assertUndecodable,
  BEARER_MESSAGE,
  newStream,
  newUser,
  STREAM_KEY,
} from './support.js';

const UNKNOWN_UUID = '30960952-cf23-46f8-bf91-9f738c27be2e';
const MALFORMED_IDS = ['not-a-uuid', '42', '30960952cf2346f8bf919f738c27be2e'];

for (const kind of databaseKinds()) {
  describe(`rig destinations and agents on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(() => server.close());

    describe('POST /streams/{id}/destination', () => {
      it('adds a YouTube destination under "Stream destination added" with the YouTube ingest URL', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const r = await server.request('POST', `/streams/${s.id}/destination`, {
          token: user.token,
          body: { service: 'YouTube', streamKey: 'simaimsimim_siimimimiasdsr' },
        });
        assert.equal(r.status, 200, r.text);
        const id = r.json.payload.id;
        assert.ok(Number.isSafeInteger(id) && id > 0, `id ${id}`);
        assertSuccess(r, 'Stream destination added', {
          id,
          service: 'YouTube',
          streamKey: 'simaimsimim_siimimimiasdsr',
          rtmpUrl: 'rtmp://a.rtmp.youtube.com/live2/simaimsimim_siimimimiasdsr',
          isActive: true,
        });
      });

      it('adds a Twitch destination with the Twitch ingest URL', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const r = await server.request('POST', `/streams/${s.id}/destination`, {
          token: user.token,
          body: { service: 'Twitch', streamKey: 'live_12345678_AbCdEfGhIj' },
        });
        assert.equal(r.status, 200, r.text);
        const id = r.json.payload.id;
        assert.ok(Number.isSafeInteger(id) && id > 0, `id ${id}`);
        assertSuccess(r, 'Stream destination added', {
          id,
          service: 'Twitch',
          streamKey: 'live_12345678_AbCdEfGhIj',
          rtmpUrl: 'rtmp://live.twitch.tv/app/live_12345678_AbCdEfGhIj',
          isActive: true,
        });
      });

      it('numbers destinations with increasing integers across streams', async () => {
        const user = await newUser(server);
        const a = await newStream(server, user);
        const b = await newStream(server, user);
        const first = await addDestination(server, user, a.id, 'YouTube', 'k1');
        const second = await addDestination(server, user, b.id, 'Twitch', 'k2');
        const third = await addDestination(server, user, a.id, 'Twitch', 'k3');
        assert.ok(first.id < second.id && second.id < third.id, `${first.id} ${second.id} ${third.id}`);
      });

      it('gives ten concurrent additions to one stream ten distinct integer ids, all stored', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const replies = await Promise.all(
          Array.from({ length: 10 }, (_, n) =>
            server.request('POST', `/streams/${s.id}/destination`, {
              token: user.token,
              body: { service: n % 2 === 0 ? 'YouTube' : 'Twitch', streamKey: `concurrent-${n}` },
            }),
          ),
        );
        for (const r of replies) assert.equal(r.status, 200, r.text);
        const ids = replies.map((r) => r.json.payload.id as number);
        for (const id of ids) assert.ok(Number.isSafeInteger(id), `id ${id}`);
        assert.equal(new Set(ids).size, 10);
        const detail = await server.request('GET', `/streams/${s.id}`, { token: user.token });
        assert.deepEqual(
          new Set((detail.json.payload.destinations as { id: number }[]).map((d) => d.id)),
          new Set(ids),
        );
      });

      it('refuses a body failing rig\'s validator with 1005 and details keyed by Go field', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const before = await server.snapshot();
        // rig's streamAddDestinationReq: Service `nonzero`, StreamKey `nonzero`.
        const cases: [Record<string, unknown>, Record<string, string[]>][] = [
          [{}, { Service: ['zero value'], StreamKey: ['zero value'] }],
          [{ service: 'YouTube' }, { StreamKey: ['zero value'] }],
          [{ streamKey: 'abc' }, { Service: ['zero value'] }],
          [{ service: '', streamKey: 'abc' }, { Service: ['zero value'] }],
          [{ service: 'Twitch', streamKey: '' }, { StreamKey: ['zero value'] }],
          [{ service: null, streamKey: 'abc' }, { Service: ['zero value'] }],
          // Validation comes before the service lookup: an unknown service with no key is invalid input.
          [{ service: 'Mixer' }, { StreamKey: ['zero value'] }],
        ];
        for (const [body, details] of cases) {
          assertInvalid(await server.request('POST', `/streams/${s.id}/destination`, { token: user.token, body }), details);
        }
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a service rig does not know, including a wrongly cased one, with 1006 and no details', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const before = await server.snapshot();
        for (const service of ['Mixer', 'youtube', 'TWITCH', 'Facebook', ' YouTube', 'rtmp']) {
          const r = await server.request('POST', `/streams/${s.id}/destination`, { token: user.token, body: { service, streamKey: 'abc' } });
          assertExactError(r, 400, { message: 'Unable to add destination to stream', errorCode: 1006 });
        }
        assert.equal(await server.snapshot(), before);
      });

      it('refuses a destination key that would break the RTMP URL with 1005 naming StreamKey', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const before = await server.snapshot();
        for (const streamKey of ['has space', 'a/b', '../../evil', 'key?x=1', 'key#frag', 'tab\tkey', 'k'.repeat(257), 'ключ']) {
          const r = await server.request('POST', `/streams/${s.id}/destination`, { token: user.token, body: { service: 'YouTube', streamKey } });
          assertRigError(r, 400, 1005, { message: 'Invalid input', anyDetails: true });
          assert.deepEqual(Object.keys(r.json.details), ['StreamKey'], `${JSON.stringify(streamKey)}: ${r.text}`);
          assert.ok(Array.isArray(r.json.details.StreamKey) && r.json.details.StreamKey.length === 1, r.text);
        }
        assert.equal(await server.snapshot(), before);
      });

      it('refuses fields of the wrong type or a body that is not an object with 1005 and no details', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const before = await server.snapshot();
        for (const body of [{ service: 'YouTube', streamKey: 12345 }, { service: ['YouTube'], streamKey: 'abc' }, { service: 'YouTube', streamKey: { k: 1 } }]) {
          assertUndecodable(await server.request('POST', `/streams/${s.id}/destination`, { token: user.token, body }));
        }
        for (const raw of ['[]', '"YouTube"', '{"service":', '']) {
          assertUndecodable(await server.request('POST', `/streams/${s.id}/destination`, { token: user.token, rawBody: raw, contentType: 'application/json' }));
        }
        assert.equal(await server.snapshot(), before);
      });

      it('looks at the stream before the body, as rig does: another user\'s stream with a bad body is 1005 without details', async () => {
        const owner = await newUser(server, 'owner');
        const intruder = await newUser(server, 'intruder');
        const s = await newStream(server, owner);
        for (const body of [{}, { service: 'Mixer', streamKey: 'abc' }]) {
          const r = await server.request('POST', `/streams/${s.id}/destination`, { token: intruder.token, body });
          assertExactError(r, 400, { message: 'Invalid input', errorCode: 1005 });
        }
      });

      it('refuses another user\'s stream, an unknown id and a malformed id with 1005; the stream gets no destination', async () => {
        const owner = await newUser(server, 'owner');
        const intruder = await newUser(server, 'intruder');
        const s = await newStream(server, owner);
        const before = await server.snapshot();
        for (const id of [s.id, UNKNOWN_UUID, ...MALFORMED_IDS]) {
          const r = await server.request('POST', `/streams/${id}/destination`, {
            token: intruder.token,
            body: { service: 'YouTube', streamKey: 'stolen' },
          });
          assertExactError(r, 400, { message: 'Invalid input', errorCode: 1005 });
        }
        assert.equal(await server.snapshot(), before);
        const detail = await server.request('GET', `/streams/${s.id}`, { token: owner.token });
        assert.deepEqual(detail.json.payload.destinations, []);
      });

      it('needs a user token (1003)', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const before = await server.snapshot();
        const r = await server.request('POST', `/streams/${s.id}/destination`, { body: { service: 'YouTube', streamKey: 'abc' } });
        assertRigError(r, 401, 1003, { message: BEARER_MESSAGE });
        assert.equal(await server.snapshot(), before);
      });
    });

    describe('GET /agents/config/{streamKey}', () => {
      it('answers "Stream Config" with every destination of the stream, in rig\'s shape', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const yt = await addDestination(server, user, s.id, 'YouTube', 'simaimsimim_siimimimiasdsr');
        const tw = await addDestination(server, user, s.id, 'Twitch', 'fxxbxx_live_moofooboo');
        // Another stream's destinations are not part of this config.
        const other = await newStream(server, user);
        await addDestination(server, user, other.id, 'YouTube', 'other-stream-key');

        const r = await server.request('GET', `/agents/config/${s.streamKey}`);
        assert.equal(r.status, 200, r.text);
        const payload = r.json.payload as { id: number }[];
        assert.deepEqual(payload.map((d) => d.id).sort((x, y) => x - y), [yt.id, tw.id].sort((x, y) => x - y));
        const byId = new Map([yt, tw].map((d) => [d.id, d]));
        assertSuccess(
          r,
          'Stream Config',
          payload.map((d) => {
            const made = byId.get(d.id)!;
            return { id: made.id, service: made.service, streamKey: made.streamKey, rtmpUrl: made.rtmpUrl, isActive: true };
          }),
        );
        assert.deepEqual(new Set(r.json.payload.map((d: { rtmpUrl: string }) => d.rtmpUrl)), new Set([
          'rtmp://a.rtmp.youtube.com/live2/simaimsimim_siimimimiasdsr',
          'rtmp://live.twitch.tv/app/fxxbxx_live_moofooboo',
        ]));
      });

      it('answers an empty array for a stream without destinations', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        assertSuccess(await server.request('GET', `/agents/config/${s.streamKey}`), 'Stream Config', []);
      });

      it('needs no Authorization header (rig\'s agents send none)', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const r = await server.request('GET', `/agents/config/${s.streamKey}`, { headers: {} });
        assert.equal(r.status, 200);
      });

      it('refuses an unknown key with 1008', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const unknownKey = s.streamKey.startsWith('A') ? `B${s.streamKey.slice(1)}` : `A${s.streamKey.slice(1)}`;
        assert.match(unknownKey, STREAM_KEY);
        for (const key of [unknownKey, 'nope', s.id, s.streamKey.toLowerCase() === s.streamKey ? `${s.streamKey}x` : s.streamKey.toLowerCase()]) {
          const r = await server.request('GET', `/agents/config/${encodeURIComponent(key)}`);
          assertRigError(r, 400, 1008);
        }
      });

      it('refuses a stream that is already live with 1009/409, and serves it again once the broadcast ends', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        await addDestination(server, user, s.id, 'YouTube', 'live-one');
        await server.running.core.broadcasts.start(s.id as StreamId);

        const busy = await server.request('GET', `/agents/config/${s.streamKey}`);
        assertRigError(busy, 409, 1009);
        const detail = await server.request('GET', `/streams/${s.id}`, { token: user.token });
        assert.equal(detail.json.payload.isStreaming, true);

        await server.running.core.broadcasts.end(s.id as StreamId);
        const again = await server.request('GET', `/agents/config/${s.streamKey}`);
        assert.equal(again.status, 200, again.text);
        assert.equal(again.json.payload.length, 1);
        assert.equal(again.json.payload[0].rtmpUrl, 'rtmp://a.rtmp.youtube.com/live2/live-one');
      });

      it('refuses a disabled stream with 1008, and stream detail shows isActive false', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        await addDestination(server, user, s.id, 'Twitch', 'disabled-one');
        await server.running.store.db.updateTable('streams').set({ enabled: 0 }).where('id', '=', s.id).execute();
        assertRigError(await server.request('GET', `/agents/config/${s.streamKey}`), 400, 1008);
        const detail = await server.request('GET', `/streams/${s.id}`, { token: user.token });
        assert.equal(detail.status, 200, detail.text);
        assert.equal(detail.json.payload.isActive, false);
      });

      it('answers 1001 for a POST to the config route', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const r = await server.request('POST', `/agents/config/${s.streamKey}`, { body: {} });
        assertRigError(r, 405, 1001);
      });
    });
  });
}
