/**
 * rig API v1, Streams: create, list, detail and changeKey, body-less POSTs the way rig's
 * dashboard sends them, and streams of other users.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import type { AccountId, StreamId } from '../../../src/core/kernel/ids.js';
import {
  addDestination,
  assertExactError,
  assertRigError,
  assertSuccess,
  BEARER_MESSAGE,
  newStream,
  newUser,
  rawRequest,
  STREAM_KEY,
  UUID_V4,
} from './support.js';

const UNKNOWN_UUID = '7217b0b6-d735-4ba9-bda8-419b1b397ede';
const MALFORMED_IDS = ['not-a-uuid', '12345', '7217b0b6-d735-4ba9-bda8-419b1b397ed', "1'%20OR%20'1'%3D'1"];

for (const kind of databaseKinds()) {
  describe(`rig streams on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(() => server.close());

    describe('POST /streams/ (create)', () => {
      it('creates a stream under "New stream created" with destinations and provisionStatus null', async () => {
        const user = await newUser(server);
        const r = await server.request('POST', '/streams/', { token: user.token });
        assert.equal(r.status, 200, r.text);
        const { id, streamKey } = r.json.payload;
        assert.match(id, UUID_V4);
        assert.match(streamKey, STREAM_KEY);
        assertSuccess(r, 'New stream created', {
          id,
          streamKey,
          destinations: null,
          provisionStatus: null,
          isStreaming: false,
          isActive: true,
        });
        const stored = await server.running.core.streams.getOwned(user.id as AccountId, id);
        assert.equal(stored.key, streamKey);
      });

      it('gives every stream its own id and key', async () => {
        const user = await newUser(server);
        const streams = await Promise.all([1, 2, 3, 4, 5].map(() => newStream(server, user)));
        assert.equal(new Set(streams.map((s) => s.id)).size, 5);
        assert.equal(new Set(streams.map((s) => s.streamKey)).size, 5);
        for (const s of streams) assert.match(s.streamKey, STREAM_KEY);
      });

      it('accepts a body-less POST with no Content-Type header, as the rig dashboard sends it', async () => {
        const user = await newUser(server);
        const r = await rawRequest(server, 'POST', '/streams/', { headers: { authorization: `Bearer ${user.token}`, 'content-length': '0' } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.message, 'New stream created');
        assert.match(r.json.payload.streamKey, STREAM_KEY);
        // The same through fetch, which sends Content-Length: 0.
        const viaFetch = await server.request('POST', '/streams/', { token: user.token, contentType: null });
        assert.equal(viaFetch.status, 200, viaFetch.text);
      });

      it('accepts Content-Type: application/json with an empty body', async () => {
        const user = await newUser(server);
        const r = await server.request('POST', '/streams/', { token: user.token, contentType: 'application/json', rawBody: '' });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.message, 'New stream created');
        const spaces = await server.request('POST', '/streams/', { token: user.token, contentType: 'application/json', rawBody: '  \n' });
        assert.equal(spaces.status, 200, spaces.text);
      });

      it('answers the same at /streams without the trailing slash, with no redirect', async () => {
        const user = await newUser(server);
        // node:http does not follow redirects, so a 301/308 to /streams/ would show here.
        const authorization = `Bearer ${user.token}`;
        const r = await rawRequest(server, 'POST', '/streams', { headers: { authorization, 'content-length': '0' } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers.get('location'), null);
        assert.equal(r.json.message, 'New stream created');
        for (const path of ['/streams', '/streams/']) {
          const list = await rawRequest(server, 'GET', path, { headers: { authorization } });
          assert.equal(list.status, 200, list.text);
          assertSuccess(list, 'Stream list for user', [r.json.payload]);
        }
        const detail = await rawRequest(server, 'GET', `/streams/${r.json.payload.id}/`, { headers: { authorization } });
        assert.equal(detail.status, 200, detail.text);
        assert.equal(detail.json.message, 'Stream detail');
      });

      it('refuses a body with the wrong Content-Type (1002) and creates nothing', async () => {
        const user = await newUser(server);
        const before = await server.snapshot();
        for (const contentType of ['text/plain', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded']) {
          const r = await server.request('POST', '/streams/', { token: user.token, contentType, rawBody: '{}' });
          assertRigError(r, 415, 1002, { message: 'Content-Type should be application/json' });
        }
        assert.equal(await server.snapshot(), before);
      });

      it('needs a user token (1003)', async () => {
        const before = await server.snapshot();
        assertRigError(await server.request('POST', '/streams/'), 401, 1003, { message: BEARER_MESSAGE });
        assert.equal(await server.snapshot(), before);
      });
    });

    describe('GET /streams/ (list)', () => {
      it('lists only the caller\'s streams under "Stream list for user", destinations null', async () => {
        const user = await newUser(server);
        const other = await newUser(server, 'other');
        const a = await newStream(server, user);
        const b = await newStream(server, user);
        await newStream(server, other);
        await addDestination(server, user, a.id, 'YouTube', 'yt-key-1');

        const r = await server.request('GET', '/streams/', { token: user.token });
        assert.equal(r.status, 200, r.text);
        const payload = r.json.payload as { id: string }[];
        assert.equal(payload.length, 2);
        // Order is not part of the document; compare in a fixed order, exact text per item.
        const byId = new Map([a, b].map((s) => [s.id, s]));
        assert.deepEqual(new Set(payload.map((s) => s.id)), new Set(byId.keys()));
        const expected = payload.map((s) => {
          const made = byId.get(s.id)!;
          return { id: made.id, streamKey: made.streamKey, destinations: null, provisionStatus: null, isStreaming: false, isActive: true };
        });
        assertSuccess(r, 'Stream list for user', expected);
      });

      it('answers an empty array for a user without streams', async () => {
        const user = await newUser(server);
        assertSuccess(await server.request('GET', '/streams/', { token: user.token }), 'Stream list for user', []);
      });

      it('needs a user token (1003)', async () => {
        assertRigError(await server.request('GET', '/streams/'), 401, 1003, { message: BEARER_MESSAGE });
      });
    });

    describe('GET /streams/{id} (detail)', () => {
      it('shows "Stream detail" with destinations [] when there are none', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const r = await server.request('GET', `/streams/${s.id}`, { token: user.token });
        assertSuccess(r, 'Stream detail', {
          id: s.id,
          streamKey: s.streamKey,
          destinations: [],
          provisionStatus: null,
          isStreaming: false,
          isActive: true,
        });
      });

      it('lists the destinations in full when there are some', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const yt = await addDestination(server, user, s.id, 'YouTube', 'simaimsimim_siimimimiasdsr');
        const tw = await addDestination(server, user, s.id, 'Twitch', 'fxxbxx_live_moofooboo');
        const r = await server.request('GET', `/streams/${s.id}/`, { token: user.token });
        assert.equal(r.status, 200, r.text);
        const destinations = r.json.payload.destinations as { id: number; status: { since: string } }[];
        assert.deepEqual(new Set(destinations.map((d) => d.id)), new Set([yt.id, tw.id]));
        const byId = new Map([yt, tw].map((d) => [d.id, d]));
        assertSuccess(r, 'Stream detail', {
          id: s.id,
          streamKey: s.streamKey,
          // The documented fields, in order, then the relay status (an extension rig clients ignore);
          // the stream is not live, so no relay runs.
          destinations: destinations.map((d) => {
            const made = byId.get(d.id)!;
            return {
              id: made.id,
              service: made.service,
              streamKey: made.streamKey,
              rtmpUrl: made.rtmpUrl,
              isActive: true,
              status: { state: 'idle', lastError: null, bytesSent: 0, reconnects: 0, since: d.status.since },
            };
          }),
          provisionStatus: null,
          isStreaming: false,
          isActive: true,
        });
      });

      it('refuses another user\'s stream, an unknown id and a malformed id with 1005', async () => {
        const owner = await newUser(server, 'owner');
        const intruder = await newUser(server, 'intruder');
        const s = await newStream(server, owner);
        for (const id of [s.id, UNKNOWN_UUID, ...MALFORMED_IDS]) {
          const r = await server.request('GET', `/streams/${id}`, { token: intruder.token });
          assertExactError(r, 400, { message: 'Invalid input', errorCode: 1005 });
        }
      });

      it('needs a user token (1003)', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        assertRigError(await server.request('GET', `/streams/${s.id}`), 401, 1003, { message: BEARER_MESSAGE });
      });

      it('shows isStreaming true while a broadcast is open, false again after it ends', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        await server.running.core.broadcasts.start(s.id as StreamId);
        const live = await server.request('GET', `/streams/${s.id}`, { token: user.token });
        assertSuccess(live, 'Stream detail', {
          id: s.id,
          streamKey: s.streamKey,
          destinations: [],
          provisionStatus: null,
          isStreaming: true,
          isActive: true,
        });
        const list = await server.request('GET', '/streams/', { token: user.token });
        assert.equal(list.json.payload[0].isStreaming, true);

        await server.running.core.broadcasts.end(s.id as StreamId);
        const after = await server.request('GET', `/streams/${s.id}`, { token: user.token });
        assert.equal(after.json.payload.isStreaming, false);
      });
    });

    describe('POST /streams/{id}/changeKey', () => {
      it('answers {key, streamID} under "New stream key"; the old key stops working and the new one works', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        await addDestination(server, user, s.id, 'Twitch', 'live_123_abc');
        const beforeChange = await server.request('GET', `/agents/config/${s.streamKey}`);
        assert.equal(beforeChange.status, 200, beforeChange.text);

        const r = await server.request('POST', `/streams/${s.id}/changeKey`, { token: user.token });
        assert.equal(r.status, 200, r.text);
        const key = r.json.payload.key as string;
        assert.match(key, STREAM_KEY);
        assert.notEqual(key, s.streamKey);
        assertSuccess(r, 'New stream key', { key, streamID: s.id });

        assertRigError(await server.request('GET', `/agents/config/${s.streamKey}`), 400, 1008);
        const withNew = await server.request('GET', `/agents/config/${key}`);
        assert.equal(withNew.status, 200, withNew.text);
        assert.equal(withNew.json.payload.length, 1);
        assert.equal(withNew.json.payload[0].rtmpUrl, 'rtmp://live.twitch.tv/app/live_123_abc');

        const detail = await server.request('GET', `/streams/${s.id}`, { token: user.token });
        assert.equal(detail.json.payload.streamKey, key);
        // Destinations keep their keys.
        assert.equal(detail.json.payload.destinations[0].streamKey, 'live_123_abc');
      });

      it('accepts a body-less POST with no Content-Type, and application/json with an empty body', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const bare = await rawRequest(server, 'POST', `/streams/${s.id}/changeKey`, {
          headers: { authorization: `Bearer ${user.token}`, 'content-length': '0' },
        });
        assert.equal(bare.status, 200, bare.text);
        assert.equal(bare.json.message, 'New stream key');
        const json = await server.request('POST', `/streams/${s.id}/changeKey`, { token: user.token, contentType: 'application/json', rawBody: '' });
        assert.equal(json.status, 200, json.text);
        assert.notEqual(json.json.payload.key, bare.json.payload.key);
      });

      it('refuses another user\'s stream, an unknown id and a malformed id with 1005 and leaves the stream as it was', async () => {
        const owner = await newUser(server, 'owner');
        const intruder = await newUser(server, 'intruder');
        const s = await newStream(server, owner);
        const before = await server.snapshot();
        for (const id of [s.id, UNKNOWN_UUID, ...MALFORMED_IDS]) {
          const r = await server.request('POST', `/streams/${id}/changeKey`, { token: intruder.token });
          assertExactError(r, 400, { message: 'Invalid input', errorCode: 1005 });
        }
        assert.equal(await server.snapshot(), before);
        const detail = await server.request('GET', `/streams/${s.id}`, { token: owner.token });
        assert.equal(detail.json.payload.streamKey, s.streamKey);
      });

      it('needs a user token (1003)', async () => {
        const user = await newUser(server);
        const s = await newStream(server, user);
        const before = await server.snapshot();
        assertRigError(await server.request('POST', `/streams/${s.id}/changeKey`), 401, 1003, { message: BEARER_MESSAGE });
        assert.equal(await server.snapshot(), before);
      });
    });
  });
}
