import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountScope } from '../../core/accounts/scope.js';
import type { Core } from '../../core/core.js';
import { NotFoundError } from '../../core/kernel/errors.js';
import type { LiveStats } from '../../media/live/stats.js';
import { sessionCookie } from '../session-cookie.js';

/** What the dashboard's live routes need of the media plane: a live stream's numbers on this node. */
export interface LiveStatsSource {
  liveStats(streamId: string): LiveStats | undefined;
}

export interface LiveRouteOptions {
  core: Core;
  /** The node's media plane; without it every stream answers `{live: false}`. */
  media?: LiveStatsSource;
}

/** The answer for a stream that is not live on this node. */
export interface NotLive {
  live: false;
}

/** The streams the list shows at most, as the app's list asks for (`limit=100`). */
const LIST_LIMIT = 100;

function refuse(reply: FastifyReply, status: number, type: string, message: string) {
  return reply.status(status).header('cache-control', 'no-store').send({ error: { type, messages: [message] } });
}

/**
 * The live numbers of a stream, for the dashboard (session cookie only, reads only):
 * `GET /api/streams/:id/live`, the stream's input bitrate (and the last five minutes of it),
 * codecs, picture, viewers, uptime and reconnect state as this node's media plane sees them, or
 * `{live: false}`; and `GET /api/live`, viewers and uptime of every live stream in the session's
 * scope (no bitrate history), for the streams list.
 */
export function registerLiveRoutes(app: FastifyInstance, options: LiveRouteOptions): void {
  const { core, media } = options;

  const session = async (request: FastifyRequest, reply: FastifyReply): Promise<{ scope: AccountScope } | undefined> => {
    const token = sessionCookie(request);
    const found = token === undefined ? undefined : await core.sessions.resolve(token);
    if (!found) void refuse(reply, 401, 'unauthorized', 'Not signed in');
    return found;
  };

  app.get<{ Params: { id: string } }>('/api/streams/:id/live', { schema: { hide: true } }, async (request, reply) => {
    const signedIn = await session(request, reply);
    if (!signedIn) return reply;
    let streamId: string;
    try {
      // The stream's own id (the path may spell it in capitals): what the media plane knows it by.
      streamId = (await core.liveStreams.get(signedIn.scope, request.params.id)).id;
    } catch (err) {
      if (err instanceof NotFoundError) return refuse(reply, 404, 'not_found', 'No such live stream');
      throw err;
    }
    const stats: LiveStats | NotLive = media?.liveStats(streamId) ?? { live: false };
    return reply.header('cache-control', 'no-store').send(stats);
  });

  app.get('/api/live', { schema: { hide: true } }, async (request, reply) => {
    const signedIn = await session(request, reply);
    if (!signedIn) return reply;
    const active = await core.liveStreams.list(signedIn.scope, { status: 'active' }, LIST_LIMIT, 0);
    const data = [];
    for (const stream of active) {
      const stats = media?.liveStats(stream.id);
      if (!stats) continue;
      data.push({
        id: stream.id,
        live: true,
        startedAt: stats.startedAt,
        uptimeSeconds: stats.uptimeSeconds,
        viewers: stats.viewers,
        publisherConnected: stats.publisherConnected,
        reconnectSecondsLeft: stats.reconnectSecondsLeft,
        bitrateKbps: stats.bitrateKbps,
      });
    }
    return reply.header('cache-control', 'no-store').send({ data });
  });
}
