/**
 * How live HLS segments are served: the segments a live playlist lists come from memory once
 * players fetch its segments (the bytes stored, nothing else; one listed but not yet in memory is
 * read back from the blob store, then kept), older ones stream from the blob store, and both
 * carry a Content-Length.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { assertPublished, ffmpegMissing, getText, parsePlaylist, publish, rtmpUrl, userWithStream, waitFor } from './support.js';

const kind = databaseKinds()[0]!;

describe(`HLS segments of a live stream (${kind})`, { skip: ffmpegMissing }, () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer(kind, { reconnectWindow: '0', hlsSegmentDuration: '1' });
  });

  after(async () => {
    await server?.close();
  });

  /** A new stream published for `seconds`, once its live playlist lists two segments (read alone: no segment fetched). */
  async function publishedWithTwoSegments(seconds: number) {
    const f = await userWithStream(server);
    const streamId = f.stream.id;
    const publisher = publish(rtmpUrl(server, f.stream.streamKey), seconds);
    const entries = await waitFor('the live playlist to list two segments', async () => {
      const reply = await getText(server, `/hls/${streamId}/index.m3u8`);
      return reply.status === 200 && parsePlaylist(reply.text).entries.length > 1 ? parsePlaylist(reply.text).entries : undefined;
    }, 10_000);
    return { streamId, publisher, entries };
  }

  /** The bytes the blob store holds for a segment of the stream, by its playlist URI (`broadcastId/file`). */
  const storedSegment = (streamId: string, uri: string) => readFileSync(join(server.running.config.dataDir, 'media', 'hls', streamId, ...uri.split('/')));

  test('the newest segments come from memory, equal to the stored ones; every segment has its Content-Length', async () => {
    // A playlist read alone (a dashboard, a status poller) keeps nothing in memory.
    const { streamId, publisher, entries: first } = await publishedWithTwoSegments(14);
    const firstUri = first[0]!.uri;
    for (const entry of first) {
      const [b, name] = entry.uri.split('/') as [string, string];
      assert.equal(server.running.media.recentSegment(streamId, b, name), undefined, 'nothing kept for a stream whose segments nobody fetched');
    }
    // A player fetches the newest segment as each is listed: the newest are kept in memory from
    // then on; a few segments on, the first is not.
    const later = await waitFor('four more segments', async () => {
      const reply = await getText(server, `/hls/${streamId}/index.m3u8`);
      const entries = reply.status === 200 ? parsePlaylist(reply.text).entries : [];
      if (entries.length > 0) await (await fetch(`${server.url}/hls/${streamId}/${entries.at(-1)!.uri}`)).arrayBuffer();
      const index = entries.findIndex((e) => e.uri === firstUri);
      return index >= 0 && entries.length - index > 4 ? entries.at(-1)!.uri : undefined;
    }, 12_000);
    const [broadcastId, file] = later.split('/') as [string, string];
    const inMemory = server.running.media.recentSegment(streamId, broadcastId, file);
    assert.ok(inMemory, 'the newest segment of a watched stream is held in memory');
    const response = await fetch(`${server.url}/hls/${streamId}/${later}`);
    assert.equal(response.status, 200);
    const body = Buffer.from(await response.arrayBuffer());
    const stored = storedSegment(streamId, later);
    assert.equal(response.headers.get('content-length'), String(stored.length));
    assert.equal(response.headers.get('content-type'), 'video/mp2t');
    assert.ok(body.equals(stored), 'the segment served from memory is the stored segment');
    assert.ok(inMemory.equals(stored));

    // An older one streams from the blob store, with its length too.
    const [firstBroadcast, firstFile] = firstUri.split('/') as [string, string];
    assert.equal(server.running.media.recentSegment(streamId, firstBroadcast, firstFile), undefined, 'an older segment is no longer in memory');
    const old = await fetch(`${server.url}/hls/${streamId}/${firstUri}`);
    const oldBody = Buffer.from(await old.arrayBuffer());
    const oldStored = storedSegment(streamId, firstUri);
    assert.equal(old.status, 200);
    assert.equal(old.headers.get('content-length'), String(oldStored.length));
    assert.ok(oldBody.equals(oldStored));

    // Not only the newest: players start a few segments back from the live edge, so every
    // segment the playlist lists that was stored while players fetched is held as well.
    const sequenceOf = (uri: string) => Number(/seg-(\d+)\.ts$/.exec(uri)![1]);
    const firstSequence = sequenceOf(firstUri);
    const listed = await waitFor('the playlist to move seven segments on', async () => {
      const reply = await getText(server, `/hls/${streamId}/index.m3u8`);
      const entries = reply.status === 200 ? parsePlaylist(reply.text).entries : [];
      if (entries.length > 0) await (await fetch(`${server.url}/hls/${streamId}/${entries.at(-1)!.uri}`)).arrayBuffer();
      return entries.length > 0 && sequenceOf(entries.at(-1)!.uri) >= firstSequence + 7 ? entries : undefined;
    }, 12_000);
    for (const entry of listed.slice(-4)) {
      const [b, name] = entry.uri.split('/') as [string, string];
      assert.ok(server.running.media.recentSegment(streamId, b, name), `${entry.uri}, listed while players fetch, is held in memory`);
    }

    // Not a segment of this broadcast: not found, whatever is in memory.
    assert.equal((await fetch(`${server.url}/hls/${streamId}/${broadcastId}/seg-99999.ts`)).status, 404);
    assert.equal(server.running.media.recentSegment(streamId, broadcastId, `x${file}`), undefined);
    await assertPublished('publisher', publisher);
  });

  test('a listed segment that is not in memory is read back from the store for players, then kept; players asking together all get it', async () => {
    // Stored while nobody fetched segments: on disk only.
    const { streamId, publisher, entries: listed } = await publishedWithTwoSegments(6);
    const [broadcastId, file] = listed[0]!.uri.split('/') as [string, string];
    assert.equal(server.running.media.recentSegment(streamId, broadcastId, file), undefined);
    const stored = storedSegment(streamId, listed[0]!.uri);
    // A player's first fetch; then a crowd asks for it at once.
    const single = Buffer.from(await (await fetch(`${server.url}/hls/${streamId}/${listed[0]!.uri}`)).arrayBuffer());
    assert.ok(single.equals(stored));
    const crowd = await Promise.all(Array.from({ length: 6 }, async () => Buffer.from(await (await fetch(`${server.url}/hls/${streamId}/${listed[0]!.uri}`)).arrayBuffer())));
    for (const body of crowd) assert.ok(body.equals(stored), 'every player gets the stored bytes');
    const kept = server.running.media.recentSegment(streamId, broadcastId, file);
    assert.ok(kept?.equals(stored), 'the listed segment is held in memory once players fetch segments');
    await assertPublished('publisher', publisher);
  });
});
