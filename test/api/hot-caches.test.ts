/**
 * The hot reads are answered from caches (relay plans, verified live API credentials, accounts,
 * verified JWTs): each change that alters an answer must show on the very next read, whichever
 * way it was made: through an API, through the core, by another process writing the database
 * (the CLI), or by another node (its event arriving on the bus). Every read here follows a read
 * that filled the cache, so a stale cache would answer the old value.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../helpers/databases.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { Store } from '../../src/store/store.js';
import type { AccountId, DestinationId, StreamId } from '../../src/core/kernel/ids.js';
import { addDestination, assertRigError, newStream, newUser, PASSWORD, type User } from './rig/support.js';

for (const kind of databaseKinds()) {
  describe(`caches of hot reads on ${kind}`, () => {
    let server: TestServer;
    /** Another connection to the same database: what the CLI, or another node, writes with. */
    let other: Store;

    before(async () => {
      server = await startTestServer(kind);
      other = Store.open(server.running.config.database);
    });
    after(async () => {
      await other.close();
      await server.close();
    });

    const config = (key: string) => server.request('GET', `/agents/config/${key}`);
    const destinationsOf = async (key: string) => {
      const r = await config(key);
      assert.equal(r.status, 200, r.text);
      return r.json.payload as { id: number; service: string; isActive: boolean }[];
    };
    const scopeOf = (user: User) => ({ accountId: user.id as AccountId, all: false });
    /** The destination's id in the core, from its rig number. */
    const destinationId = async (streamId: string, number: number) =>
      (await server.running.core.streams.destinationsOf(streamId as StreamId)).find((d) => d.number === number)!.id;

    describe('rig agent config', () => {
      it('a reset key: the old one opens nothing, the new one opens the stream', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
        const changed = await server.request('POST', `/streams/${stream.id}/changeKey`, { token: user.token });
        assert.equal(changed.status, 200, changed.text);
        assertRigError(await config(stream.streamKey), 400, 1008, { message: 'Invalid stream key' });
        assert.deepEqual(await destinationsOf(changed.json.payload.key), []);
      });

      it('a destination added, switched off, switched on and removed', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
        const added = await addDestination(server, user, stream.id, 'YouTube', 'abcd-efgh-ijkl-mnop-qrst');
        assert.deepEqual((await destinationsOf(stream.streamKey)).map((d) => [d.id, d.isActive]), [[added.id, true]]);
        const id = await destinationId(stream.id, added.id);
        await server.running.core.streams.setDestinationEnabled(user.id as AccountId, id, false);
        assert.deepEqual((await destinationsOf(stream.streamKey)).map((d) => [d.id, d.isActive]), [[added.id, false]]);
        await server.running.core.streams.setDestinationEnabled(user.id as AccountId, id, true);
        assert.deepEqual((await destinationsOf(stream.streamKey)).map((d) => [d.id, d.isActive]), [[added.id, true]]);
        await server.running.core.streams.removeDestination(user.id as AccountId, id);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
      });

      it('a stream disabled, enabled again, then deleted', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
        await server.running.core.liveStreams.disable(scopeOf(user), stream.id);
        assertRigError(await config(stream.streamKey), 400, 1008, { message: 'Stream is not active' });
        await server.running.core.liveStreams.enable(scopeOf(user), stream.id);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
        await server.running.core.liveStreams.delete(scopeOf(user), stream.id);
        assertRigError(await config(stream.streamKey), 400, 1008, { message: 'Invalid stream key' });
      });

      it('a broadcast started and ended', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
        await server.running.core.broadcasts.start(stream.id as StreamId);
        assertRigError(await config(stream.streamKey), 409, 1009, { message: 'Stream is already live' });
        await server.running.core.broadcasts.end(stream.id as StreamId);
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
      });

      it('a change another node made: its event on the bus empties the cache', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        const added = await addDestination(server, user, stream.id, 'Twitch', 'live_123456789_AbCdEfGhIjKlMnOpQrStUvWxYz0123');
        assert.equal((await destinationsOf(stream.streamKey)).length, 1);
        const id = await destinationId(stream.id, added.id);
        // The other node writes with its own connection, then publishes its event.
        await other.destinations.delete(id);
        await server.running.core.events.publish({ type: 'destination.removed', streamId: stream.id as StreamId, destinationId: id as DestinationId });
        // Heard on a later tick, as from Redis.
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(await destinationsOf(stream.streamKey), []);
      });

      if (kind === 'sqlite') {
        it('a write of another process (no event reaches this one): seen on the next read', async () => {
          const user = await newUser(server);
          const stream = await newStream(server, user);
          const added = await addDestination(server, user, stream.id, 'YouTube', 'abcd-efgh-ijkl-mnop-qrst');
          assert.equal((await destinationsOf(stream.streamKey)).length, 1);
          await other.destinations.setEnabled(await destinationId(stream.id, added.id), false);
          assert.deepEqual((await destinationsOf(stream.streamKey)).map((d) => d.isActive), [false]);
        });
      }
    });

    describe('rig JWT', () => {
      it('a password change refuses the tokens issued before it on the next request', async () => {
        const user = await newUser(server);
        const stream = await newStream(server, user);
        assert.equal((await server.request('GET', `/streams/${stream.id}`, { token: user.token })).status, 200);
        const changed = await server.request('POST', '/accounts/password', { token: user.token, body: { OldPassword: PASSWORD, NewPassword: `${PASSWORD}-new` } });
        assert.equal(changed.status, 200, changed.text);
        assertRigError(await server.request('GET', `/streams/${stream.id}`, { token: user.token }), 401, 1003);
      });
    });

    describe('live API access tokens', () => {
      const liveStreamsWith = (authorization: string) => server.request('GET', '/video/v1/live-streams', { headers: { authorization } });
      const newToken = async (user: User) => {
        const issued = await server.running.core.liveApiTokens.create(user.id as AccountId);
        return { id: issued.id, authorization: `Basic ${Buffer.from(`${issued.id}:${issued.secret}`).toString('base64')}` };
      };

      it('a token revoked through the core is refused on the very next request', async () => {
        const token = await newToken(await newUser(server));
        assert.equal((await liveStreamsWith(token.authorization)).status, 200);
        await server.running.core.liveApiTokens.revoke(token.id);
        assert.equal((await liveStreamsWith(token.authorization)).status, 401);
      });

      it('a token revoked through the dashboard is refused on the very next request', async () => {
        const user = await newUser(server);
        const token = await newToken(user);
        const again = await newToken(user);
        assert.equal((await liveStreamsWith(token.authorization)).status, 200);
        await server.running.core.liveApiTokens.revokeIn(scopeOf(user), token.id);
        assert.equal((await liveStreamsWith(token.authorization)).status, 401);
        // Only the revoked one: the account's other token still works.
        assert.equal((await liveStreamsWith(again.authorization)).status, 200);
      });

      it('the right id with a wrong secret is refused, however often the right one was accepted', async () => {
        const token = await newToken(await newUser(server));
        assert.equal((await liveStreamsWith(token.authorization)).status, 200);
        const wrong = `Basic ${Buffer.from(`${token.id}:not-the-secret`).toString('base64')}`;
        assert.equal((await liveStreamsWith(wrong)).status, 401);
      });

      it('a token another node revoked: refused once its event arrives', async () => {
        const user = await newUser(server);
        const token = await newToken(user);
        assert.equal((await liveStreamsWith(token.authorization)).status, 200);
        await other.accessTokens.revoke(token.id, new Date().toISOString());
        await server.running.core.events.publish({ type: 'access_token.revoked', accountId: user.id as AccountId });
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal((await liveStreamsWith(token.authorization)).status, 401);
      });

      if (kind === 'sqlite') {
        it('a token revoked by another process (the CLI) is refused on the very next request', async () => {
          const token = await newToken(await newUser(server));
          assert.equal((await liveStreamsWith(token.authorization)).status, 200);
          await other.accessTokens.revoke(token.id, new Date().toISOString());
          assert.equal((await liveStreamsWith(token.authorization)).status, 401);
        });
      }
    });
  });
}
