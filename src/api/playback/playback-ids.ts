import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { BlobStore } from '../../blob/blob-store.js';
import type { Core } from '../../core/core.js';
import type { ResolvedPlaybackId } from '../../core/playback/playback-ids.js';
import { isUuid } from '../../core/kernel/ids.js';
import type { MediaPlane } from '../../media/media-plane.js';
import { renderEventPlaylist, renderVodPlaylist } from '../../media/wire/hls/playlist.js';
import { recordedLivePlaylist } from './recorded-live.js';
import { openSegment, PLAYLIST_TYPE, recordedEntries, rewriteUris, SEGMENT_FILE } from './segments.js';

export interface PlaybackIdHttpOptions {
  core: Core;
  blobs: BlobStore;
  media: MediaPlane;
  /** Segments in a live playlist built from a recording (the hls-live-window setting). */
  liveWindow: number;
}

const PLAYBACK_ID = '^[A-Za-z0-9]{1,64}';
// (find-my-way takes one regex parameter per path position; `.m3u8` after it is a static suffix.)
// Every part of a segment's path is constrained, so that no other path of three parts (a
// dialect's unknown route, which it answers with its own 404) is taken for a segment.
const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

function text(reply: FastifyReply, status: number, message: string) {
  return reply.status(status).type('text/plain; charset=utf-8').send(`${message}\n`);
}

type Query = { token?: string };

/**
 * Playback at Mux's paths, by playback id:
 *
 *   /<playback_id>.m3u8                          a stream's live playlist while it is live; a recording's
 *                                                VOD playlist (its growing EVENT playlist while it is made)
 *   /<playback_id>/<broadcast_id>/seg-NNNNN.ts   a segment of that playlist
 *
 * A `signed` playback id plays only with `?token=<JWT>` signed by one of its owner's signing
 * keys; the playlist's URIs carry the same token, so its segments are as protected as the
 * playlist and play for as long as the token lives. Players on any origin may fetch them.
 */
export const playbackIdPlugin: FastifyPluginAsync<PlaybackIdHttpOptions> = async (app, { core, blobs, media, liveWindow }) => {
  /** The playback id, if it exists and the request may play it; else the answer was sent. */
  async function authorize(request: FastifyRequest<{ Querystring: Query }>, reply: FastifyReply, id: string): Promise<ResolvedPlaybackId | undefined> {
    reply.header('access-control-allow-origin', '*');
    const resolved = await core.playbackIds.resolve(id);
    if (!resolved) {
      text(reply, 404, 'No such playback id');
      return undefined;
    }
    if (resolved.policy === 'signed') {
      const token = typeof request.query.token === 'string' ? request.query.token : undefined;
      const refusal = await core.signingKeys.checkPlaybackToken(token, resolved.id, resolved.target.ownerId, 'v');
      if (refusal) {
        text(reply, 403, refusal === 'missing' ? 'This playback id is signed: a token is needed' : 'The playback token is not valid for this playback id');
        return undefined;
      }
    }
    return resolved;
  }

  app.get(`/:playbackId(${PLAYBACK_ID}).m3u8`, async (request: FastifyRequest<{ Params: { playbackId: string }; Querystring: Query }>, reply) => {
    const id = request.params.playbackId;
    const resolved = await authorize(request, reply, id);
    if (!resolved) return reply;
    const token = resolved.policy === 'signed' ? request.query.token : undefined;
    const target = resolved.target;
    if (target.kind === 'stream') {
      const playlist = media.livePlaylist(target.streamId) ?? (await liveFromRecording(target.streamId));
      if (playlist === undefined) return text(reply, 404, 'The live stream is not active');
      media.noteHlsViewer(target.streamId, request.ip);
      return reply.type(PLAYLIST_TYPE).header('cache-control', 'no-cache').send(rewriteUris(playlist, { prefix: `${id}/`, token }));
    }
    const broadcast = await core.broadcasts.get(target.streamId, target.broadcastId);
    const entries = broadcast ? await recordedEntries(core.broadcasts, broadcast, `${id}/${target.broadcastId}/`) : [];
    if (!broadcast || entries.length === 0) return text(reply, 404, 'Nothing recorded yet');
    const ended = broadcast.endedAt !== null;
    const playlist = ended ? renderVodPlaylist(entries) : renderEventPlaylist(entries, { ended: false });
    return reply
      .type(PLAYLIST_TYPE)
      .header('cache-control', !ended ? 'no-cache' : token === undefined ? 'public, max-age=60' : 'private, no-store')
      .send(rewriteUris(playlist, { token }));
  });

  async function liveFromRecording(streamId: string): Promise<string | undefined> {
    const broadcast = await core.broadcasts.latest(streamId);
    if (!broadcast || broadcast.endedAt !== null) return undefined;
    return recordedLivePlaylist(await core.broadcasts.recording(broadcast), liveWindow);
  }

  app.get(
    `/:playbackId(${PLAYBACK_ID})/:broadcastId(${UUID})/:file(^seg-\\d{5,}\\.ts$)`,
    async (request: FastifyRequest<{ Params: { playbackId: string; broadcastId: string; file: string }; Querystring: Query }>, reply) => {
      const { playbackId, broadcastId, file } = request.params;
      if (!isUuid(broadcastId) || !SEGMENT_FILE.test(file)) return text(reply, 404, 'Not found');
      const resolved = await authorize(request, reply, playbackId);
      if (!resolved) return reply;
      const target = resolved.target;
      const cacheControl = resolved.policy === 'signed' ? 'private, max-age=31536000, immutable' : 'public, max-age=31536000, immutable';
      // Players at the live edge all ask for the newest segments: those come from memory, which
      // holds segments of broadcasts on the air here only, so no database is asked for them. A
      // stream's id plays the broadcast on the air (its recordings have ids of their own); a
      // recording's id its own segments only.
      const mayBeRecent = target.kind === 'stream' || target.broadcastId === broadcastId.toLowerCase();
      const recent = mayBeRecent ? (media.recentSegment(target.streamId, broadcastId, file) ?? (await media.liveSegment(target.streamId, broadcastId, file))) : undefined;
      if (recent) {
        if (target.kind === 'stream') media.noteHlsViewer(target.streamId, request.ip, true);
        return reply.type('video/mp2t').header('content-length', recent.length).header('cache-control', cacheControl).send(recent);
      }
      const broadcast = await core.broadcasts.get(target.streamId, broadcastId);
      const playable = broadcast && (target.kind === 'recording' ? broadcast.id === target.broadcastId : broadcast.endedAt === null);
      if (!broadcast || !playable) return text(reply, 404, 'No such segment');
      if (target.kind === 'stream' && broadcast.endedAt === null) media.noteHlsViewer(target.streamId, request.ip, true);
      const blob = await openSegment(blobs, core.broadcasts, target.streamId, broadcast.id, file);
      if (!blob) return text(reply, 404, 'No such segment');
      return reply.type('video/mp2t').header('content-length', blob.size).header('cache-control', cacheControl).send(blob.stream);
    },
  );
};
