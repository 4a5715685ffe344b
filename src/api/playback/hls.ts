import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { BlobStore } from '../../blob/blob-store.js';
import type { Core } from '../../core/core.js';
import type { Broadcast } from '../../core/broadcasts/broadcasts.js';
import type { ViewerAdmissions } from '../../core/playback/admissions.js';
import { isUuid } from '../../core/kernel/ids.js';
import { renderEventPlaylist, renderLivePlaylist, renderVodPlaylist } from '../../media/wire/hls/playlist.js';
import { openSegment, PLAYLIST_TYPE, recordedEntries as entriesOf, rewriteUris, SEGMENT_FILE } from './segments.js';
import type { MediaPlane } from '../../media/media-plane.js';
import { recordedLivePlaylist } from './recorded-live.js';

export interface HlsHttpOptions {
  core: Core;
  blobs: BlobStore;
  media: MediaPlane;
  /** Segments in the live playlist of a broadcast built from its recording (the hls-live-window setting). */
  liveWindow: number;
  /** Admits a viewer of a private stream who presents a viewer key (a StreamAPI site decides), with a viewer token. */
  admissions?: Pick<ViewerAdmissions, 'admit'>;
}


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
 *   /hls/<streamId>/<broadcastId>/index.m3u8     one broadcast as an EVENT playlist: live, then its recording
 *   /hls/<streamId>/<broadcastId>/seg-NNNNN.ts   a segment
 */
export const hlsPlugin: FastifyPluginAsync<HlsHttpOptions> = async (app, { core, blobs, media, liveWindow, admissions }) => {
  // Players on other origins (hls.js in a web page) fetch playlists and segments directly. Set
  // as the request comes in (a synchronous hook: no promise per request), so every answer has it.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('access-control-allow-origin', '*');
    done();
  });

  app.setNotFoundHandler((_request, reply) => notFound(reply, 'Not found'));

  /**
   * Private streams play only with a viewer token (`?token=`), or a viewer key (`?key=`) the
   * stream's site admits; the token then rides on every segment URI of the playlist. What is
   * private is kept in memory by the core until an event changes it, so a public stream's
   * requests ask the database nothing. Resolves
   * with the token to pass on (undefined for public streams), false when refused, or 'busy'
   * when the site is being asked too much at once to be asked now.
   */
  async function access(request: FastifyRequest<{ Params: { streamId: string }; Querystring: { token?: string; key?: string } }>, broadcastId?: string): Promise<string | undefined | false | 'busy'> {
    const { streamId } = request.params;
    const isPrivate = await core.viewing.isPrivate(streamId);
    if (isPrivate === undefined) return false;
    // A recording whose playback ids are all signed plays by those ids only, whatever its stream's are.
    if (!isPrivate && (broadcastId === undefined || !(await core.viewing.recordingIsPrivate(broadcastId)))) return undefined;
    const token = typeof request.query.token === 'string' ? request.query.token : undefined;
    if (token !== undefined && (await core.viewing.mayWatch(streamId, token))) return token;
    const key = typeof request.query.key === 'string' ? request.query.key : undefined;
    if (key !== undefined && admissions) {
      const answer = await admissions.admit(streamId.toLowerCase(), key, request.ip);
      if (answer.admitted) return answer.token;
      if (answer.reason === 'busy') return 'busy';
    }
    return false;
  }

  const withToken = (playlist: string, token: string | undefined) => rewriteUris(playlist, { token });

  /** Refused, or (the site being asked too much at once to ask it now) told to come back in a second, as players retry a 503. */
  const refused = (reply: FastifyReply, why: false | 'busy') =>
    why === 'busy'
      ? reply.status(503).header('retry-after', '1').type('text/plain; charset=utf-8').send('Too many viewers are being admitted right now: try again\n')
      : reply.status(403).type('text/plain; charset=utf-8').send('This stream is private: a valid viewer token is needed\n');

  type StreamRequest = FastifyRequest<{ Params: { streamId: string }; Querystring: { token?: string; key?: string } }>;

  app.get('/:streamId/index.m3u8', async (request: StreamRequest, reply) => {
    const streamId = request.params.streamId.toLowerCase();
    const playlist = media.livePlaylist(streamId) ?? (await liveFromRecording(streamId));
    if (playlist === undefined) return notFound(reply, 'The stream is not live');
    const token = await access(request);
    if (token === false || token === 'busy') return refused(reply, token);
    media.noteHlsViewer(streamId, request.ip);
    return reply.type(PLAYLIST_TYPE).header('cache-control', 'no-cache').send(withToken(playlist, token));
  });

  /**
   * A live broadcast with no media session here (fed by segment uploads, or published to another
   * node) plays from its recorded segments.
   */
  async function liveFromRecording(streamId: string): Promise<string | undefined> {
    const broadcast = await core.broadcasts.latest(streamId);
    if (!broadcast || broadcast.endedAt !== null) return undefined;
    return recordedLivePlaylist(await core.broadcasts.recording(broadcast), liveWindow);
  }

  const recordedEntries = (broadcast: Broadcast, uriPrefix: string) => entriesOf(core.broadcasts, broadcast, uriPrefix);

  async function recordingPlaylist(reply: FastifyReply, broadcast: Broadcast | undefined, uriPrefix: string, token: string | undefined) {
    if (!broadcast) return notFound(reply, 'No such recording');
    const entries = await recordedEntries(broadcast, uriPrefix);
    if (broadcast.endedAt === null) {
      // Still live: everything so far, and players poll for more.
      return reply.type(PLAYLIST_TYPE).header('cache-control', 'no-cache').send(withToken(renderLivePlaylist(entries), token));
    }
    return reply
      .type(PLAYLIST_TYPE)
      .header('cache-control', token === undefined ? 'public, max-age=60' : 'private, no-store')
      .send(withToken(renderVodPlaylist(entries), token));
  }

  app.get('/:streamId/vod.m3u8', async (request: StreamRequest, reply) => {
    const broadcast = await core.broadcasts.latest(request.params.streamId);
    if (!broadcast) return notFound(reply, 'No such recording');
    const token = await access(request, broadcast.id);
    if (token === false || token === 'busy') return refused(reply, token);
    return recordingPlaylist(reply, broadcast, `${broadcast.id}/`, token);
  });

  type BroadcastRequest = FastifyRequest<{ Params: { streamId: string; broadcastId: string }; Querystring: { token?: string; key?: string } }>;

  app.get('/:streamId/:broadcastId/vod.m3u8', async (request: BroadcastRequest, reply) => {
    const { streamId, broadcastId } = request.params;
    const broadcast = isUuid(streamId) ? await core.broadcasts.get(streamId.toLowerCase(), broadcastId) : undefined;
    if (!broadcast) return notFound(reply, 'No such recording');
    const token = await access(request, broadcast.id);
    if (token === false || token === 'busy') return refused(reply, token);
    return recordingPlaylist(reply, broadcast, '', token);
  });

  /**
   * One broadcast at one URL for its whole life (a URL handed out before it started, such as
   * Kickflip's stream_url): an EVENT playlist of every segment so far while it is live, which
   * players poll (joining near the live edge), and the same list with #EXT-X-ENDLIST once it
   * ended, which plays from the start. Before its first segment there is nothing to play.
   */
  app.get('/:streamId/:broadcastId/index.m3u8', async (request: BroadcastRequest, reply) => {
    const { streamId, broadcastId } = request.params;
    const broadcast = isUuid(streamId) ? await core.broadcasts.get(streamId.toLowerCase(), broadcastId) : undefined;
    const entries = broadcast ? await recordedEntries(broadcast, '') : [];
    if (!broadcast || entries.length === 0) return notFound(reply, 'Nothing to play yet');
    const token = await access(request, broadcast.id);
    if (token === false || token === 'busy') return refused(reply, token);
    const ended = broadcast.endedAt !== null;
    if (!ended) media.noteHlsViewer(streamId.toLowerCase(), request.ip);
    return reply
      .type(PLAYLIST_TYPE)
      .header('cache-control', !ended ? 'no-cache' : token === undefined ? 'public, max-age=60' : 'private, no-store')
      .send(withToken(renderEventPlaylist(entries, { ended }), token));
  });

  type SegmentRequest = FastifyRequest<{ Params: { streamId: string; broadcastId: string; file: string }; Querystring: { token?: string; key?: string } }>;

  app.get('/:streamId/:broadcastId/:file', async (request: SegmentRequest, reply) => {
    const { streamId, broadcastId, file } = request.params;
    if (!isUuid(streamId) || !isUuid(broadcastId) || !SEGMENT_FILE.test(file)) return notFound(reply, 'Not found');
    const token = await access(request, broadcastId);
    if (token === false || token === 'busy') return refused(reply, token);
    media.noteHlsViewer(streamId.toLowerCase(), request.ip, true);
    // Players at the live edge all ask for the segments the live playlist lists: those come from
    // memory (read once from the blob store if need be), the rest stream from the blob store.
    const recent = media.recentSegment(streamId, broadcastId, file) ?? (await media.liveSegment(streamId, broadcastId, file));
    const blob = recent ? undefined : await openSegment(blobs, core.broadcasts, streamId, broadcastId, file);
    if (!recent && !blob) return notFound(reply, 'No such segment');
    return reply
      .type('video/mp2t')
      .header('content-length', recent ? recent.length : blob!.size)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(recent ?? blob!.stream);
  });
};
