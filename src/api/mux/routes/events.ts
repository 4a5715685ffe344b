import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Core } from '../../../core/core.js';
import { grantOf } from '../auth.js';
import { MuxError } from '../errors.js';
import { ERRORS } from '../schemas.js';

/** Events read from the log per round; a stream far behind catches up in rounds. */
const BATCH = 100;
const LAST_EVENT_ID = /^\d{1,15}$/;
/** The most a reconnecting client is sent of what it missed (older events: the webhooks' delivery log has them). */
export const MAX_REPLAY = 1000;
/** Event streams one account may hold open at once. */
export const MAX_STREAMS_PER_ACCOUNT = 10;

/**
 * `GET /system/v1/events`: the caller's events as Server-Sent Events, the same JSON its webhooks
 * get. Each carries `id:` (its place in the log), so a client that reconnects with
 * `Last-Event-ID` misses nothing; without it the stream starts with what happens next.
 */
export function eventRoutes(app: FastifyInstance, core: Core, options: { keepAliveSeconds: number }): void {
  const open = new Map<string, number>();
  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'The account’s events as a Server-Sent Events stream (resumable with Last-Event-ID)',
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 32 })) }),
        response: { 200: { description: 'text/event-stream: `id:`, `event:` (the event type) and `data:` (the event JSON) per event', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...ERRORS },
      },
    },
    async (request, reply) => {
      const scope = grantOf(request).scope;
      const held = open.get(scope.accountId) ?? 0;
      if (held >= MAX_STREAMS_PER_ACCOUNT) throw new MuxError('too_many_requests', [`At most ${MAX_STREAMS_PER_ACCOUNT} event streams may be open at once`]);
      const given = request.headers['last-event-id'];
      const last = await core.liveEvents.lastSeq();
      let cursor = typeof given === 'string' && LAST_EVENT_ID.test(given) ? Math.max(Number(given), last - MAX_REPLAY) : last;

      open.set(scope.accountId, held + 1);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write('retry: 2000\n\n');

      let closed = false;
      let pumping: Promise<void> | undefined;
      let again = false;
      const pump = (): void => {
        if (pumping) {
          again = true;
          return;
        }
        pumping = (async () => {
          do {
            again = false;
            for (;;) {
              const entries = await core.liveEvents.after(scope, cursor, BATCH);
              for (const entry of entries) {
                if (closed) return;
                cursor = entry.seq;
                // A slow reader holds the stream back, not the server's memory.
                if (!raw.write(`id: ${entry.seq}\nevent: ${entry.type}\ndata: ${entry.body}\n\n`)) {
                  await new Promise<void>((resolve) => {
                    raw.once('drain', resolve);
                    raw.once('close', resolve);
                  });
                }
              }
              if (entries.length < BATCH) break;
            }
          } while (again && !closed);
        })()
          .catch((err) => request.log.error({ err }, 'sending events failed'))
          .finally(() => {
            pumping = undefined;
          });
      };

      const unsubscribe = core.events.subscribe((event) => {
        if (event.type === 'live_event.logged' && (scope.all || event.accountId === scope.accountId)) pump();
      });
      // A comment now and then, so proxies and load balancers keep an idle stream open.
      const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), options.keepAliveSeconds * 1000);
      keepAlive.unref();
      raw.on('close', () => {
        closed = true;
        const left = (open.get(scope.accountId) ?? 1) - 1;
        if (left > 0) open.set(scope.accountId, left);
        else open.delete(scope.accountId);
        unsubscribe();
        clearInterval(keepAlive);
      });
      pump();
    },
  );
}
