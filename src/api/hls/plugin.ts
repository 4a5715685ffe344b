import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { BlobStore } from '../../blob/blob-store.js';
import type { Core } from '../../core/core.js';
import type { Broadcast } from '../../core/broadcasts.js';
import { isUuid } from '../../core/ids.js';
import { renderLivePlaylist, renderVodPlaylist, type PlaylistEntry } from '../../media/hls/playlist.js';
import { segmentFileName } from '../../media/hls/recorder.js';
import type { MediaPlane } from '../../media/media-plane.js';

export interface HlsHttpOptions {
  core: Core;
  blobs: BlobStore;
  media: MediaPlane;
}

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
const SEGMENT_FILE = /^seg-\d{5,}\.ts$/;

function notFound(reply: FastifyReply, what: string) {
  return reply.status(404).type('text/plain; charset=utf-8').send(`${what}\n`);
}

/**
 * HLS playback over HTTP: the live playlist of a stream, the recording of each broadcast as a
 * VOD playlist, and the segments. Streams are addressed by id, never by key.
 *
 *   /hls/<streamId>/index.m3u8                   live, sliding window
 *   /hls/<streamId>/vod.m3u8                     the latest broadcast's recording
 *   /hls/<streamId>/<broadcastId>/vod.m3u8       one broadcast's recording
 *   /hls/<streamId>/<broadcastId>/seg-NNNNN.ts   a segment
 */
export const hlsPlugin: FastifyPluginAsync<HlsHttpOptions> = async (app, { core, blobs, media }) => {
  // Players on other origins (hls.js in a web page) fetch playlists and segments directly.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('access-control-allow-origin', '*');
  });

  app.setNotFoundHandler((_request, reply) => notFound(reply, 'Not found'));

  app.get<{ Params: { streamId: string } }>('/:streamId/index.m3u8', async (request, reply) => {
    const playlist = media.livePlaylist(request.params.streamId.toLowerCase());
    if (playlist === undefined) return notFound(reply, 'The stream is not live');
    return reply.type(PLAYLIST_TYPE).header('cache-control', 'no-cache').send(playlist);
  });

  async function recordingPlaylist(reply: FastifyReply, broadcast: Broadcast | undefined, uriPrefix: string) {
    if (!broadcast) return notFound(reply, 'No such recording');
    const recording = await core.broadcasts.recording(broadcast);
    const entries: PlaylistEntry[] = recording.segments.map((s) => ({
      sequence: s.sequence,
      uri: `${uriPrefix}${segmentFileName(s.sequence)}`,
      duration: s.duration,
      discontinuity: s.discontinuity,
    }));
    if (broadcast.endedAt === null) {
      // Still live: everything so far, and players poll for more.
      return reply.type(PLAYLIST_TYPE).header('cache-control', 'no-cache').send(renderLivePlaylist(entries));
    }
    return reply.type(PLAYLIST_TYPE).header('cache-control', 'public, max-age=60').send(renderVodPlaylist(entries));
  }

  app.get<{ Params: { streamId: string } }>('/:streamId/vod.m3u8', async (request, reply) => {
    const broadcast = await core.broadcasts.latest(request.params.streamId);
    return recordingPlaylist(reply, broadcast, broadcast ? `${broadcast.id}/` : '');
  });

  app.get<{ Params: { streamId: string; broadcastId: string } }>('/:streamId/:broadcastId/vod.m3u8', async (request, reply) => {
    const { streamId, broadcastId } = request.params;
    const broadcast = isUuid(streamId) ? await core.broadcasts.get(streamId.toLowerCase(), broadcastId) : undefined;
    return recordingPlaylist(reply, broadcast, '');
  });

  app.get<{ Params: { streamId: string; broadcastId: string; file: string } }>('/:streamId/:broadcastId/:file', async (request, reply) => {
    const { streamId, broadcastId, file } = request.params;
    if (!isUuid(streamId) || !isUuid(broadcastId) || !SEGMENT_FILE.test(file)) return notFound(reply, 'Not found');
    const blob = await blobs.open(`hls/${streamId.toLowerCase()}/${broadcastId.toLowerCase()}/${file}`);
    if (!blob) return notFound(reply, 'No such segment');
    return reply
      .type('video/mp2t')
      .header('content-length', blob.size)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(blob.stream);
  });
};
