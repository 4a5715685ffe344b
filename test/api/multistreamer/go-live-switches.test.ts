/**
 * `PATCH /stream/:id` with both switches, and deleting a stream whose puller runs: a refused
 * PATCH changes nothing (no puller left switched on because going live was refused), and a
 * deleted stream's puller is stopped (no ffmpeg left publishing into a stream that is gone).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { alive, ffmpegMissing, makeFlv, tempDir } from '../../media/support.js';
import { waitFor } from '../../media/relay/support.js';
import { assertError, ms, msUser, newStream, type MsUser } from './support.js';

describe('multistreamer go-live switches', () => {
  // Pullers may read local files from this directory only.
  const dir = tempDir('ms-pull-switches');
  let server: TestServer;
  let owner: MsUser;
  before(async () => {
    server = await startTestServer('sqlite', { reconnectWindow: '0', pullFileDir: dir.path });
    owner = await msUser(server, 'switch');
  });
  after(async () => {
    await server.close();
    dir.remove();
  });

  it('refuses {data_pulling: true, data_pushing: true} on an idle stream without switching the puller on', async () => {
    const s = await newStream(server, owner, { name: 'Both Switches', ffmpeg_pull_args: '-re -i https://8.8.8.8/never-fetched.flv' });
    const before = await server.snapshot();
    assertError(
      await ms(server, 'PATCH', `/stream/${s.id}`, owner, { body: { data_pulling: true, data_pushing: true } }),
      400,
      /not live/,
    );
    assert.equal(await server.snapshot(), before);
    assert.deepEqual((await ms(server, 'PATCH', `/stream/${s.id}`, owner)).json, { status: { data_incoming: false, data_pushing: false, data_pulling: false } });
  });

  it('stops the puller of a stream its owner deletes', { skip: ffmpegMissing }, async () => {
    const source = join(dir.path, 'loop.flv');
    makeFlv(source, 'av', 2);
    const s = await newStream(server, owner, { name: 'Deleted While Pulling', ffmpeg_pull_args: `-re -stream_loop -1 -i '${source}' -c copy` });
    const streamId = (await server.running.core.multistreams.streamIdOf(s.id))!;
    const on = await ms(server, 'PATCH', `/stream/${s.id}`, owner, { body: { data_pulling: true } });
    assert.equal(on.status, 200, on.text);
    await waitFor('the puller to publish', async () => (await server.running.core.goLive.status(streamId)).dataIncoming, 15_000);
    const pid = (server.running.pullers.get(streamId) as unknown as { child?: { pid?: number } }).child?.pid;
    assert.ok(alive(pid), 'ffmpeg runs');

    assert.deepEqual((await ms(server, 'DELETE', `/stream/${s.id}`, owner)).json, { status: 'success' });
    await waitFor('the deleted stream’s ffmpeg to be gone', () => !alive(pid), 10_000);
    assert.equal(server.running.pullers.get(streamId), undefined);
    assert.equal((await server.running.core.goLive.status(streamId)).dataPulling, false);
  });
});
