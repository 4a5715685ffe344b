import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { inScope } from '../../../core/accounts/scope.js';
import type { Core } from '../../../core/core.js';
import { grantOf } from '../auth.js';
import { MuxError } from '../errors.js';
import { ERRORS, IdParams } from '../schemas.js';

const PlaybackIdWithObject = Type.Object({
  data: Type.Object({
    id: Type.String(),
    policy: Type.String({ enum: ['public', 'signed'] }),
    object: Type.Object({ id: Type.String(), type: Type.String({ enum: ['live_stream', 'asset'] }) }),
  }),
});

/** `/video/v1/playback-ids/{id}`: what a playback id plays. */
export function playbackIdRoutes(app: FastifyInstance, core: Core): void {
  app.get('/playback-ids/:id', { schema: { tags: ['playback ids'], summary: 'Retrieve what a playback id plays', params: IdParams, response: { 200: PlaybackIdWithObject, ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams> }>) => {
    const resolved = await core.playbackIds.resolve(request.params.id);
    if (!resolved || !inScope(grantOf(request).scope, resolved.target.ownerId)) throw new MuxError('not_found', ['No such playback id']);
    const object = resolved.target.kind === 'stream' ? { id: resolved.target.streamId, type: 'live_stream' } : { id: resolved.target.broadcastId, type: 'asset' };
    return { data: { id: resolved.id, policy: resolved.policy, object } };
  });
}
