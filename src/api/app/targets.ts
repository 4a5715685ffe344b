import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { BlobStore } from '../../blob/blob-store.js';
import type { AccountScope } from '../../core/accounts/scope.js';
import type { Core } from '../../core/core.js';
import { NotFoundError } from '../../core/kernel/errors.js';
import { fromOwnOrigin, sessionCookie } from '../session-cookie.js';

export interface AppTargetOptions {
  core: Core;
  publicUrl: string;
  blobs: BlobStore;
}

const Switch = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false });
type SwitchBody = Static<typeof Switch>;
type StreamParams = { id: string };
type TargetParams = { id: string; targetId: string };

function error(reply: FastifyReply, status: number, type: string, messages: string[]) {
  return reply.status(status).send({ error: { type, messages } });
}

/**
 * What the dashboard needs beyond the Mux-compatible API, with the session cookie:
 *
 *   GET /api/streams/:id/targets             each simulcast target's switch, its relay's state and last error
 *   PUT /api/streams/:id/targets/:targetId   `{enabled}`: switches a target (a live relay follows at once)
 *   GET /api/assets/:id/download             a recording as one MPEG-TS file (its segments one after another)
 *
 * Another account's stream or recording is as absent as one that never was (an admin's
 * session sees every account's); writes come from the server's own pages only.
 */
export function appTargetRoutes(app: FastifyInstance, { core, publicUrl, blobs }: AppTargetOptions): void {
  const scopes = new WeakMap<FastifyRequest, AccountScope>();

  /** Before the body is looked at: a session (401 without), and a write from this server's own pages (403 else). */
  const signedIn = async (request: FastifyRequest, reply: FastifyReply) => {
    const token = sessionCookie(request);
    const session = token === undefined ? undefined : await core.sessions.resolve(token);
    if (!session) return error(reply, 401, 'unauthorized', ['Not signed in']);
    if (request.method !== 'GET' && request.method !== 'HEAD' && !fromOwnOrigin(request, publicUrl)) {
      return error(reply, 403, 'forbidden', ['This request must come from this server’s own pages']);
    }
    scopes.set(request, session.scope);
  };
  const scopeOf = (request: FastifyRequest): AccountScope => {
    const scope = scopes.get(request);
    if (!scope) throw new Error('the session was not checked');
    return scope;
  };

  const missing = (reply: FastifyReply, err: unknown) => {
    if (err instanceof NotFoundError) return error(reply, 404, 'not_found', [err.message]);
    throw err;
  };

  app.get('/api/streams/:id/targets', { schema: { hide: true }, preValidation: signedIn }, async (request: FastifyRequest<{ Params: StreamParams }>, reply) => {
    const scope = scopeOf(request);
    try {
      return reply.header('cache-control', 'no-store').send({ data: await core.liveStreams.targetStates(scope, request.params.id) });
    } catch (err) {
      return missing(reply, err);
    }
  });

  app.put(
    '/api/streams/:id/targets/:targetId',
    { schema: { body: Switch, hide: true }, preValidation: signedIn },
    async (request: FastifyRequest<{ Params: TargetParams; Body: SwitchBody }>, reply) => {
      const scope = scopeOf(request);
      try {
        return reply.send({ data: await core.liveStreams.setTargetEnabled(scope, request.params.id, request.params.targetId, request.body.enabled) });
      } catch (err) {
        return missing(reply, err);
      }
    },
  );

  app.get('/api/assets/:id/download', { schema: { hide: true }, preValidation: signedIn }, async (request: FastifyRequest<{ Params: StreamParams }>, reply) => {
    const scope = scopeOf(request);
    let recording: Awaited<ReturnType<Core['recordings']['segments']>>;
    try {
      recording = await core.recordings.segments(scope, request.params.id);
    } catch (err) {
      return missing(reply, err);
    }
    if (recording.segments.length === 0) return error(reply, 404, 'not_found', ['Nothing was recorded']);
    const segments = recording.segments;
    // One segment open at a time: a long recording has thousands.
    const body = Readable.from(
      (async function* () {
        for (const segment of segments) {
          const blob = await blobs.open(segment.blobKey);
          if (!blob) throw new Error(`segment ${segment.sequence} of recording ${recording.id} is missing from the blob store`);
          for await (const chunk of blob.stream) yield chunk as Buffer;
        }
      })(),
    );
    body.on('error', (err) => request.log.error({ err, assetId: recording.id }, 'a recording download broke off'));
    return reply
      .type('video/mp2t')
      .header('content-length', segments.reduce((sum, s) => sum + s.size, 0))
      .header('content-disposition', `attachment; filename="${recording.id}.ts"`)
      .header('cache-control', 'private, no-store')
      .header('x-content-type-options', 'nosniff')
      .send(body);
  });
}
