/**
 * The public watch page's back end and the chat it shares with the dashboard's stream page:
 * `GET /api/watch/:playbackId` (what the page shows of a stream: no key, no owner), and a
 * stream's chat under `/api/chat/:room/…`, where the room is a playback id (anyone who may play
 * it: a signed id takes `?token=`) or, for the dashboard, the stream's id (its owner only).
 * Guests post under a name they pick with a random chatter id their browser keeps; a signed-in
 * owner posts as their account, deletes messages and mutes chatters, from this server's pages only.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.js';
import { RateLimitedError } from '../../core/chat/rate.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../core/kernel/errors.js';
import type { ChatMessage } from '../../core/kernel/events.js';
import { isUuid, type AccountId, type BroadcastId, type StreamId } from '../../core/kernel/ids.js';
import { looksLikePlaybackId, type ResolvedPlaybackId } from '../../core/playback/playback-ids.js';
import { fromOwnOrigin, sessionCookie } from '../session-cookie.js';

export interface WatchOptions {
  core: Core;
  publicUrl: string;
  /** Seconds between keep-alive comments on a chat event stream. */
  keepAliveSeconds?: number;
}

/** Messages a page is sent when it opens the chat. */
const HISTORY = 50;
/** Chat event streams one room may have open on this node. */
const MAX_LISTENERS_PER_ROOM = 1000;

type TokenQuery = { token?: string };

function error(reply: FastifyReply, status: number, type: string, messages: string[]) {
  return reply.status(status).header('cache-control', 'no-store').send({ error: { type, messages } });
}

/** A chat message as the pages show it: no account ids, no chatter ids. */
export function presentMessage(message: ChatMessage) {
  return {
    id: message.id,
    kind: message.kind,
    name: message.from.name,
    /** Posted by a signed-in account (the stream's owner), not a guest or another network. */
    account: message.from.accountId !== null,
    network: message.network.name,
    text: message.text,
    status: message.status,
    at: message.at,
  };
}

/** A failure of the core in words, with its status. */
function failed(reply: FastifyReply, err: unknown) {
  if (err instanceof RateLimitedError) return error(reply.header('retry-after', String(err.retryAfter)), 429, 'too_many_requests', [err.message]);
  if (err instanceof ValidationError) return error(reply, 400, 'invalid_parameters', [err.message]);
  if (err instanceof ForbiddenError) return error(reply, 403, 'forbidden', [err.message]);
  if (err instanceof NotFoundError) return error(reply, 404, 'not_found', [err.message]);
  throw err;
}

export const watchRoutes: FastifyPluginAsync<WatchOptions> = async (app, options) => {
  const { core, publicUrl } = options;
  const keepAliveSeconds = options.keepAliveSeconds ?? 15;

  // Viewer counts come over the bus from the node holding each stream's publisher.
  const viewers = new Map<StreamId, number>();
  const stopCounting = core.events.subscribe((event) => {
    if (event.type === 'chat.viewcount') viewers.set(event.streamId, event.viewers);
  });
  app.addHook('onClose', async () => stopCounting());

  /** The playback id, when it plays for this request (a signed one needs its token); else the reply is sent. */
  const playable = async (request: FastifyRequest<{ Querystring: TokenQuery }>, reply: FastifyReply, id: string): Promise<ResolvedPlaybackId | undefined> => {
    const resolved = await core.playbackIds.resolve(id);
    if (!resolved) {
      error(reply, 404, 'not_found', ['There is no such playback id, or what it played was deleted']);
      return undefined;
    }
    if (resolved.policy === 'signed') {
      const token = typeof request.query.token === 'string' ? request.query.token : undefined;
      const refusal = await core.signingKeys.checkPlaybackToken(token, resolved.id, resolved.target.ownerId, 'v');
      if (refusal) {
        error(reply, 403, 'forbidden', [refusal === 'missing' ? 'This playback id is signed: a token is needed' : 'The playback token is not valid for this playback id']);
        return undefined;
      }
    }
    return resolved;
  };

  /** The signed-in account, if any. */
  const signedIn = async (request: FastifyRequest) => {
    const token = sessionCookie(request);
    return token === undefined ? undefined : core.sessions.resolve(token);
  };

  interface Room {
    streamId: StreamId;
    ownerId: AccountId;
  }

  /** The chat a room name stands for, when this request may read it; else the reply is sent. */
  const roomOf = async (request: FastifyRequest<{ Querystring: TokenQuery }>, reply: FastifyReply, room: string): Promise<Room | undefined> => {
    if (looksLikePlaybackId(room)) {
      const resolved = await playable(request, reply, room);
      if (!resolved) return undefined;
      // A recording's id opens the recording only, not its stream's chat (whose live id may be signed).
      if (resolved.target.kind !== 'stream') {
        error(reply, 404, 'not_found', ['A recording has no chat']);
        return undefined;
      }
      return { streamId: resolved.target.streamId, ownerId: resolved.target.ownerId as AccountId };
    }
    if (isUuid(room)) {
      const session = await signedIn(request);
      if (!session) {
        error(reply, 401, 'unauthorized', ['Not signed in']);
        return undefined;
      }
      try {
        const stream = await core.liveStreams.get(session.scope, room);
        return { streamId: stream.id, ownerId: stream.ownerId };
      } catch (err) {
        failed(reply, err);
        return undefined;
      }
    }
    error(reply, 404, 'not_found', ['No such chat']);
    return undefined;
  };

  /** The signed-in account that moderates the room, from this server's own pages; else the reply is sent. */
  const moderator = async (request: FastifyRequest, reply: FastifyReply, room: Room): Promise<AccountId | undefined> => {
    const session = await signedIn(request);
    if (!session) {
      error(reply, 401, 'unauthorized', ['Not signed in']);
      return undefined;
    }
    if (!fromOwnOrigin(request, publicUrl)) {
      error(reply, 403, 'forbidden', ['This request must come from this server’s own pages']);
      return undefined;
    }
    if (!(await core.chat.mayModerate(session.account.id, room.streamId))) {
      error(reply, 403, 'forbidden', ['Only the stream’s owner moderates its chat']);
      return undefined;
    }
    return session.account.id;
  };

  app.get<{ Params: { playbackId: string }; Querystring: TokenQuery }>('/api/watch/:playbackId', { schema: { hide: true } }, async (request, reply) => {
    const resolved = await playable(request, reply, request.params.playbackId);
    if (!resolved) return reply;
    const target = resolved.target;
    const scope = { accountId: target.ownerId as AccountId, all: false };
    const stream = await core.liveStreams.get(scope, target.streamId);
    const live = target.kind === 'stream' && stream.status === 'active' && stream.connected;
    let latestRecording: { playbackId: string } | null = null;
    if (target.kind === 'recording') {
      latestRecording = { playbackId: resolved.id };
    } else {
      // The newest finished recording that plays without a token.
      for (const id of [...stream.recentBroadcastIds].reverse()) {
        const recording = await core.recordings.describe(id as BroadcastId);
        const publicId = recording && !recording.isLive ? recording.playbackIds.find((p) => p.policy === 'public') : undefined;
        if (publicId) {
          latestRecording = { playbackId: publicId.id };
          break;
        }
      }
    }
    return reply.header('cache-control', 'no-store').send({
      title: stream.title,
      // A recording's id says nothing of its stream's live state (whose own id may be signed).
      status: target.kind === 'stream' ? stream.status : 'idle',
      live,
      viewers: live ? (viewers.get(target.streamId) ?? 0) : 0,
      kind: target.kind,
      latestRecording,
    });
  });

  app.get<{ Params: { room: string }; Querystring: TokenQuery }>('/api/chat/:room/messages', { schema: { hide: true } }, async (request, reply) => {
    const room = await roomOf(request, reply, request.params.room);
    if (!room) return reply;
    const messages = await core.chat.history(room.streamId, HISTORY);
    return reply.header('cache-control', 'no-store').send({ data: messages.map(presentMessage) });
  });

  app.post<{ Params: { room: string }; Querystring: TokenQuery; Body: { text?: unknown; name?: unknown; chatterId?: unknown } }>(
    '/api/chat/:room/messages',
    { schema: { hide: true }, bodyLimit: 16 * 1024 },
    async (request, reply) => {
      const room = await roomOf(request, reply, request.params.room);
      if (!room) return reply;
      const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as { text?: unknown; name?: unknown; chatterId?: unknown };
      const input = { type: 'text' as const, text: body.text as string };
      try {
        const session = await signedIn(request);
        if (session && (await core.chat.mayModerate(session.account.id, room.streamId))) {
          // The owner posts as their account: a write the cookie authenticates, so from our pages only.
          if (!fromOwnOrigin(request, publicUrl)) return error(reply, 403, 'forbidden', ['This request must come from this server’s own pages']);
          return reply.status(201).send({ data: presentMessage(await core.chat.post(room.streamId, session.account.id, input)) });
        }
        if (!looksLikePlaybackId(request.params.room)) return error(reply, 403, 'forbidden', ['Only the stream’s owner posts here']);
        const message = await core.chat.postAsGuest(room.streamId, { chatterId: body.chatterId as string, name: body.name as string, address: request.ip }, input);
        return reply.status(201).send({ data: presentMessage(message) });
      } catch (err) {
        return failed(reply, err);
      }
    },
  );

  app.delete<{ Params: { room: string; id: string }; Querystring: TokenQuery }>('/api/chat/:room/messages/:id', { schema: { hide: true } }, async (request, reply) => {
    const room = await roomOf(request, reply, request.params.room);
    if (!room) return reply;
    if (!(await moderator(request, reply, room))) return reply;
    try {
      await core.chat.remove(room.streamId, Number(request.params.id));
      return reply.status(204).send();
    } catch (err) {
      return failed(reply, err);
    }
  });

  app.post<{ Params: { room: string }; Querystring: TokenQuery; Body: { messageId?: unknown } }>('/api/chat/:room/mutes', { schema: { hide: true }, bodyLimit: 1024 }, async (request, reply) => {
    const room = await roomOf(request, reply, request.params.room);
    if (!room) return reply;
    if (!(await moderator(request, reply, room))) return reply;
    try {
      const messageId = (request.body as { messageId?: unknown } | null)?.messageId;
      if (typeof messageId !== 'number') throw new ValidationError('messageId must be a message number', { messageId: 'must be a number' });
      await core.chat.muteAuthorOf(room.streamId, messageId, room.ownerId);
      return reply.status(204).send();
    } catch (err) {
      return failed(reply, err);
    }
  });

  const listeners = new Map<StreamId, number>();
  app.get<{ Params: { room: string }; Querystring: TokenQuery }>('/api/chat/:room/events', { schema: { hide: true } }, async (request, reply) => {
    const room = await roomOf(request, reply, request.params.room);
    if (!room) return reply;
    const held = listeners.get(room.streamId) ?? 0;
    if (held >= MAX_LISTENERS_PER_ROOM) return error(reply, 429, 'too_many_requests', ['This chat has too many listeners on this server']);
    listeners.set(room.streamId, held + 1);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    raw.write('retry: 2000\n\n');
    const send = (event: string, data: unknown) => {
      // A reader too slow to take its messages is dropped, not buffered without end.
      if (raw.writableLength > 1024 * 1024) raw.destroy();
      else raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const unsubscribe = core.events.subscribe((event) => {
      if (!('streamId' in event) || event.streamId !== room.streamId) return;
      if (event.type === 'chat.message') send('message', presentMessage(event.message));
      else if (event.type === 'chat.deleted') send('deleted', { id: event.messageId });
      else if (event.type === 'chat.viewcount') send('viewers', { viewers: event.viewers });
    });
    const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), keepAliveSeconds * 1000);
    keepAlive.unref();
    raw.on('close', () => {
      unsubscribe();
      clearInterval(keepAlive);
      const left = (listeners.get(room.streamId) ?? 1) - 1;
      if (left > 0) listeners.set(room.streamId, left);
      else listeners.delete(room.streamId);
    });
  });
};
