import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { ChatMessage } from '../../core/kernel/events.js';
import { LOCAL_NETWORK } from '../../core/chat/message.js';
import { RateLimitedError } from '../../core/chat/rate.js';
import type { Core } from '../../core/core.js';
import { STREAM_NOT_USABLE } from '../../core/dialects/multistreamer/multistreams.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../core/kernel/errors.js';
import type { DomainEvent } from '../../core/kernel/events.js';
import type { AccountId, StreamId } from '../../core/kernel/ids.js';
import { bearerToken } from '../http.js';

/**
 * The chat of one stream over a WebSocket, `GET /ws/:streamId` (the Multistreamer integer
 * stream id), as Multistreamer's chat page uses it. The README's "Chat" section is the protocol.
 */
export interface ChatSocketOptions {
  core: Core;
  /** Milliseconds between keepalive pings (a socket that missed the last pong is dropped) and access re-checks. */
  pingIntervalMs?: number;
}

/** `?token=` carries a Multistreamer access token: logged request URLs hide it. */
export const CHAT_SOCKET_SECRET_PATHS = [/([?&]token=)[^&#]*/g];

const DEFAULT_PING_INTERVAL_MS = 30_000;
/** Frames of one socket waiting their turn; more are refused rather than queued without bound. */
const MAX_FRAMES_QUEUED = 32;
/** Room for a client frame's JSON around the text. */
const FRAME_OVERHEAD = 1024;
/** A character may take 12 bytes in a JSON frame (a surrogate pair written as two \uXXXX escapes). */
const BYTES_PER_CHARACTER = 12;
/** Multistreamer user ids of authors, which never change; bounded so a long-running node does not grow it forever. */
const AUTHOR_CACHE_SIZE = 10_000;
/** Live streams whose last viewer count is remembered; bounded likewise. */
const VIEWCOUNT_CACHE_SIZE = 10_000;

/** Largest client frame accepted: a post of the longest text, escaped at worst; larger ones close the socket (1009). */
export function chatMaxPayload(maxLength: number): number {
  return maxLength * BYTES_PER_CHARACTER + FRAME_OVERHEAD;
}

type ErrorReason = 'forbidden' | 'rate_limited' | 'invalid' | 'not_found' | 'internal';

interface Caller {
  accountId: AccountId;
  streamId: StreamId;
  /** The Multistreamer token the socket was opened with: checked again at every keepalive. */
  token: string;
}

function bearer(request: FastifyRequest): string | undefined {
  const query = request.query as Record<string, unknown> | undefined;
  if (typeof query?.token === 'string' && query.token !== '') return query.token;
  return bearerToken(request.headers);
}

export const chatSocketPlugin: FastifyPluginAsync<ChatSocketOptions> = async (app: FastifyInstance, options: ChatSocketOptions) => {
  const { core } = options;
  const settings = core.chat.settings;
  const pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
  const callers = new WeakMap<FastifyRequest, Caller>();
  const authorIds = new Map<AccountId, number>();
  /**
   * The viewer count each live stream's publisher node sent last (on the bus, every
   * --chat-viewcount-interval seconds), so a status request on any node can tell it.
   */
  const viewers = new Map<StreamId, number>();
  const unsubscribeViewers = core.events.subscribe((event) => {
    if (event.type === 'chat.viewcount') {
      if (viewers.size >= VIEWCOUNT_CACHE_SIZE && !viewers.has(event.streamId)) viewers.clear();
      viewers.set(event.streamId, event.viewers);
    } else if (event.type === 'broadcast.ended' || event.type === 'broadcast.started') {
      viewers.delete(event.streamId);
    }
  });
  app.addHook('onClose', async () => unsubscribeViewers());

  await app.register(websocket, {
    options: { maxPayload: chatMaxPayload(settings.maxLength) },
    // A client going away mid-frame or sending an oversized frame is the client's problem, not an error of ours.
    errorHandler: (err, socket, request) => {
      request.log.debug({ err }, 'chat socket error');
      socket.terminate();
    },
  });

  /**
   * Who is asking, for which stream: refuses the upgrade before any socket exists, 401 without a
   * valid token, and one same 403 for a stream that does not exist and one the user may not
   * chat in (as the original did), so that the answer tells nobody which ids exist.
   */
  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = bearer(request);
    const accountId = token === undefined ? undefined : await core.accessTokens.accountOf(token);
    if (!accountId) return void reply.code(401).send({ error: 'endpoint requires authorization' });
    const { streamId: raw } = request.params as { streamId: string };
    const streamId = /^\d{1,15}$/.test(raw) ? await core.multistreams.streamIdOf(Number(raw)) : undefined;
    if (!streamId || (await core.chat.levelOf(accountId, streamId)) === 0) return void reply.code(403).send({ error: STREAM_NOT_USABLE });
    callers.set(request, { accountId, streamId, token: token! });
  }

  /** The Multistreamer user id of a message's author, for `from.id`. */
  async function authorId(accountId: AccountId): Promise<number | undefined> {
    const known = authorIds.get(accountId);
    if (known !== undefined) return known;
    // Read only: a poster here has an id already (it opened the socket with its token).
    const id = await core.accessTokens.idOf(accountId);
    if (id === undefined) return undefined;
    if (authorIds.size >= AUTHOR_CACHE_SIZE) authorIds.clear();
    authorIds.set(accountId, id);
    return id;
  }

  async function messageFrame(message: ChatMessage): Promise<Record<string, unknown>> {
    if (message.kind === 'status') {
      return { type: 'status', id: message.id, status: message.status, text: message.text, timestamp: message.at };
    }
    const id = message.from.accountId ? await authorId(message.from.accountId) : undefined;
    return {
      type: message.kind,
      id: message.id,
      from: { name: message.from.name, ...(id !== undefined ? { id } : {}), picture: message.from.picture },
      network: { name: message.network.name, icon: message.network.icon, icon_css: message.network.iconCss },
      text: message.text,
      markdown: message.markdown,
      timestamp: message.at,
    };
  }

  /**
   * The stream's status as Multistreamer's chat page asks for it (`{"type": "status"}` on connect
   * and on demand): the go-live switches, and the accounts the page lists, keyed by id. Account
   * "0" is this platform's own chat and playback: the caller's name, whether they may write here,
   * and how many watch the stream here (null while no count has been heard yet). The stream's
   * network accounts follow while it pushes to them (the original lists them only then), with
   * their public watch page and no count (the networks' own counts are not read); never a
   * publish URL or key.
   */
  async function statusFrame(accountId: AccountId, streamId: StreamId): Promise<Record<string, unknown>> {
    const [status, latest, level, account] = await Promise.all([
      core.goLive.status(streamId),
      core.broadcasts.latest(streamId),
      core.chat.levelOf(accountId, streamId),
      core.accounts.get(accountId),
    ]);
    const live = latest !== undefined && latest.endedAt === null;
    const accounts: Record<string, unknown> = {
      0: {
        network: { name: LOCAL_NETWORK, displayName: LOCAL_NETWORK },
        name: account?.username ?? '',
        ready: true,
        live,
        writable: level === 2,
        viewer_count: live ? (viewers.get(streamId) ?? null) : 0,
      },
    };
    if (status.dataPushing) {
      for (const account of await core.networkAccounts.ofStream(streamId)) {
        accounts[String(account.id)] = {
          network: { name: account.network, displayName: account.networkDisplayName },
          name: account.name,
          ready: true,
          live: true,
          writable: false,
          ...(account.httpUrl !== null ? { http_url: account.httpUrl } : {}),
          viewer_count: null,
        };
      }
    }
    return {
      type: 'status',
      live: status.dataPushing,
      status: { data_incoming: status.dataIncoming, data_pushing: status.dataPushing, data_pulling: status.dataPulling },
      accounts,
      timestamp: core.ctx.now(),
    };
  }

  function serve(socket: WebSocket, request: FastifyRequest, caller: Caller): void {
    const { accountId, streamId, token } = caller;
    const log = request.log.child({ streamId });
    /** Live events heard while the history is read; undefined once it has been sent. */
    let pending: DomainEvent[] | undefined = [];
    /** The last message sent: history and live events may overlap, never repeat. */
    let lastId = 0;
    /** Frames go out in order, though building a message frame may wait for a lookup. */
    let sending: Promise<void> = Promise.resolve();
    // A socket's frames are handled one after another, so one person's messages are stored and
    // answered in the order they were sent, whatever the database takes for each.
    let receiving: Promise<void> = Promise.resolve();
    let framesQueued = 0;
    let writer: boolean | undefined;
    let alive = true;

    const send = (frame: Record<string, unknown>): void => {
      if (socket.readyState !== socket.OPEN) return;
      socket.send(JSON.stringify(frame));
      // A client that does not read must not make the server hold its messages without bound.
      if (socket.bufferedAmount > settings.socketBuffer) {
        log.info({ buffered: socket.bufferedAmount }, 'chat socket dropped: too slow');
        socket.terminate();
      }
    };
    const enqueue = (frame: () => Promise<Record<string, unknown> | undefined>): void => {
      sending = sending
        .then(frame)
        .then((built) => built && send(built))
        .catch((err) => log.error({ err }, 'chat frame failed'));
    };
    const deliver = (event: DomainEvent): void => {
      if (event.type === 'chat.viewcount') {
        enqueue(async () => ({ type: 'viewcount', viewers: event.viewers, timestamp: event.at }));
      } else if (event.type === 'chat.message') {
        enqueue(async () => {
          if (event.message.id <= lastId) return undefined;
          lastId = event.message.id;
          return messageFrame(event.message);
        });
      }
    };
    const setWriter = (level: 0 | 1 | 2): void => {
      if (writer === (level === 2)) return;
      writer = level === 2;
      enqueue(async () => ({ type: 'writer', writer }));
    };

    const unsubscribe = core.events.subscribe((event) => {
      if ((event.type !== 'chat.message' && event.type !== 'chat.viewcount') || event.streamId !== streamId) return;
      if (pending) pending.push(event);
      else deliver(event);
    });

    // Keepalive; a share taken away, or a token that died with a password change, ends the session.
    const timer = setInterval(() => {
      if (!alive) return void socket.terminate();
      alive = false;
      socket.ping();
      void (async () => {
        if ((await core.accessTokens.accountOf(token)) !== accountId) return void socket.close(1008, 'the token is no longer valid');
        const level = await core.chat.levelOf(accountId, streamId);
        if (level === 0) socket.close(1008, 'no access to this chat');
        else setWriter(level);
      })().catch((err) => log.error({ err }, 'chat access check failed'));
    }, pingIntervalMs);
    socket.on('pong', () => (alive = true));
    socket.on('close', () => {
      clearInterval(timer);
      unsubscribe();
    });

    socket.on('message', (data, isBinary) => {
      const fail = (reason: ErrorReason, error: string, extra: Record<string, unknown> = {}) =>
        enqueue(async () => ({ type: 'error', reason, error, ...extra }));
      if (framesQueued >= MAX_FRAMES_QUEUED) return fail('rate_limited', 'too many messages at once');
      framesQueued++;
      receiving = receiving
        .then(() => receive(data, isBinary, fail))
        .catch((err: unknown) => log.error({ err }, 'chat frame failed'))
        .finally(() => framesQueued--);
    });

    async function receive(data: RawData, isBinary: boolean, fail: (reason: ErrorReason, error: string, extra?: Record<string, unknown>) => void): Promise<void> {
      let frame: unknown;
      try {
        frame = isBinary ? undefined : JSON.parse(data.toString());
      } catch {
        frame = undefined;
      }
      const post = frame as { type?: unknown; text?: unknown } | undefined;
      if (typeof post === 'object' && post !== null && post.type === 'status') {
        return enqueue(() =>
          statusFrame(accountId, streamId).catch((err: unknown) => {
            if (err instanceof NotFoundError) return { type: 'error', reason: 'not_found', error: err.message };
            log.error({ err }, 'chat status failed');
            return { type: 'error', reason: 'internal', error: 'the status could not be read' };
          }),
        );
      }
      if (typeof post !== 'object' || post === null || (post.type !== 'text' && post.type !== 'emote')) {
        return fail('invalid', 'a frame must be JSON: {"type": "text" or "emote", "text": "..."} or {"type": "status"}');
      }
      try {
        await core.chat.post(streamId, accountId, { type: post.type, text: post.text as string });
      } catch (err) {
        if (err instanceof RateLimitedError) fail('rate_limited', err.message, { retry_after: err.retryAfter });
        else if (err instanceof ForbiddenError) fail('forbidden', err.message);
        else if (err instanceof ValidationError) fail('invalid', err.message);
        else if (err instanceof NotFoundError) fail('not_found', err.message);
        else {
          log.error({ err }, 'chat post failed');
          fail('internal', 'the message could not be stored');
        }
      }
    }

    void (async () => {
      setWriter(await core.chat.levelOf(accountId, streamId));
      const history = settings.historyLimit > 0 ? await core.chat.history(streamId, settings.historyLimit) : [];
      for (const message of history) deliver({ type: 'chat.message', streamId, message });
      const heard = pending ?? [];
      pending = undefined;
      for (const event of heard) deliver(event);
    })().catch((err) => {
      log.error({ err }, 'chat history failed');
      socket.close(1011, 'chat unavailable');
    });
  }

  app.route({
    method: 'GET',
    url: '/ws/:streamId',
    preValidation: admit,
    // A plain GET (no upgrade) is told what this endpoint is.
    handler: async (_request, reply) => reply.code(426).header('upgrade', 'websocket').send({ error: 'this endpoint needs a WebSocket upgrade' }),
    wsHandler: (socket, request) => {
      const caller = callers.get(request);
      if (!caller) return void socket.close(1008, 'not admitted');
      callers.delete(request);
      serve(socket, request, caller);
    },
  });
};
