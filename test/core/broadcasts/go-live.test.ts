/**
 * Go-live rules through the core, on every database: ordinary streams push from the start of a
 * broadcast, preview_required streams only after setPushing(true); each switch is one event;
 * a broadcast ending while pushing stops it; refusals change nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConflictError, NotFoundError, ValidationError } from '../../../src/core/kernel/errors.js';
import type { StreamId } from '../../../src/core/kernel/ids.js';
import { databaseKinds } from '../../helpers/databases.js';
import { GoLiveEvents, msStream } from '../../helpers/go-live.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { sleep, waitFor } from '../../media/relay/support.js';

const OFF = { dataIncoming: false, dataPushing: false, dataPulling: false };

for (const kind of databaseKinds()) {
  describe(`go-live state (${kind})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
    });
    after(async () => {
      await server?.close();
    });

    test('an ordinary stream pushes from the start of its broadcast and stops at its end', async () => {
      const core = server.running.core;
      const owner = await core.accounts.create({ username: `plain${kind}`, password: 'correct horse battery' });
      const stream = await core.streams.create(owner.id);
      const events = new GoLiveEvents(server, stream.id);
      assert.deepEqual(await core.goLive.status(stream.id), OFF);
      await core.broadcasts.start(stream.id);
      assert.deepEqual(await core.goLive.status(stream.id), { dataIncoming: true, dataPushing: true, dataPulling: false });
      await core.broadcasts.end(stream.id);
      assert.deepEqual(await core.goLive.status(stream.id), OFF);
      await waitFor('push events', () => events.types.length >= 2);
      assert.deepEqual(events.types, ['stream.push_started', 'stream.push_stopped']);
      events.close();
    });

    test('a preview_required stream previews until setPushing(true); each switch is one event; the end stops it', async () => {
      const core = server.running.core;
      const f = await msStream(server, { previewRequired: true });
      const events = new GoLiveEvents(server, f.streamId);
      await core.broadcasts.start(f.streamId);
      assert.deepEqual(await core.goLive.status(f.streamId), { dataIncoming: true, dataPushing: false, dataPulling: false });

      assert.equal((await core.goLive.setPushing(f.streamId, true)).dataPushing, true);
      assert.equal((await core.goLive.setPushing(f.streamId, true)).dataPushing, true, 'again: no change');
      assert.equal((await core.goLive.setPushing(f.streamId, false)).dataPushing, false);
      assert.equal((await core.goLive.setPushing(f.streamId, false)).dataPushing, false, 'again: no change');
      await core.goLive.setPushing(f.streamId, true);
      await core.broadcasts.end(f.streamId);
      assert.deepEqual(await core.goLive.status(f.streamId), OFF);
      await waitFor('push events', () => events.types.length >= 4);
      await sleep(100);
      assert.deepEqual(events.types, ['stream.push_started', 'stream.push_stopped', 'stream.push_started', 'stream.push_stopped']);

      // The next broadcast is a preview again.
      await core.broadcasts.start(f.streamId);
      assert.deepEqual(await core.goLive.status(f.streamId), { dataIncoming: true, dataPushing: false, dataPulling: false });
      await core.broadcasts.end(f.streamId);
      await sleep(100);
      assert.equal(events.types.length, 4, 'a preview that never went live reports nothing');
      events.close();
    });

    test('a Multistreamer stream without preview pushes at once', async () => {
      const core = server.running.core;
      const f = await msStream(server, { previewRequired: false });
      await core.broadcasts.start(f.streamId);
      assert.equal((await core.goLive.status(f.streamId)).dataPushing, true);
      await core.broadcasts.end(f.streamId);
    });

    test('refusals: not live, unknown stream, no or bad pull args; none changes anything', async () => {
      const core = server.running.core;
      const f = await msStream(server, { previewRequired: true });
      const before = await server.snapshot();
      await assert.rejects(core.goLive.setPushing(f.streamId, true), ConflictError);
      await assert.rejects(core.goLive.setPulling(f.streamId, true), (err: unknown) => err instanceof ValidationError && /ffmpeg_pull_args/.test(JSON.stringify(err.fields)));
      await assert.rejects(core.goLive.status('00000000-0000-4000-8000-000000000000' as StreamId), NotFoundError);
      await assert.rejects(core.goLive.setPushing('not-a-uuid' as StreamId, true), NotFoundError);
      assert.equal(await server.snapshot(), before);
      assert.deepEqual(await core.goLive.status(f.streamId), OFF);
    });

    test('setPulling(true) refuses a stream that already has a publisher', async () => {
      const core = server.running.core;
      // Refused before any ffmpeg starts: the URL is never fetched.
      const f = await msStream(server, { previewRequired: true, pullArgs: '-re -i http://8.8.8.8/never-fetched.flv' });
      await core.broadcasts.start(f.streamId);
      await assert.rejects(core.goLive.setPulling(f.streamId, true), ConflictError);
      assert.equal((await core.goLive.status(f.streamId)).dataPulling, false);
      await core.broadcasts.end(f.streamId);
    });
  });
}
