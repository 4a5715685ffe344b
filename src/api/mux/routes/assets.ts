import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Core } from '../../../core/core.js';
import { grantOf } from '../auth.js';
import { MuxError } from '../errors.js';
import { presentAsset, presentPlaybackId } from '../present.js';
import { AssetListQuery, AssetSchema, data, ERRORS, IdAndPlaybackIdParams, IdParams, PlaybackIdCreateBody, PlaybackIdSchema } from '../schemas.js';
import { policies } from './live-streams.js';

const tags = ['assets'];

/** The SDK walks assets by cursor: an opaque token of where the next page starts. */
function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const offset = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { o?: unknown }).o;
    if (typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0) return offset;
  } catch {
    // Falls through to the error below.
  }
  throw new MuxError('invalid_parameters', ['cursor is not a cursor this server gave']);
}

const AssetList = Type.Object({ data: Type.Array(AssetSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) });

/** `/video/v1/assets`: the recordings of broadcasts, one asset per broadcast. */
export function assetRoutes(app: FastifyInstance, core: Core): void {
  const recordings = core.recordings;

  app.get('/assets', { schema: { tags, summary: 'List assets (recordings), newest first', querystring: AssetListQuery, response: { 200: AssetList, ...ERRORS } } }, async (request: FastifyRequest<{ Querystring: Static<typeof AssetListQuery> }>) => {
    const { limit = 25, page, cursor, live_stream_id } = request.query;
    const offset = cursor !== undefined ? decodeCursor(cursor) : ((page ?? 1) - 1) * limit;
    const views = await recordings.list(grantOf(request).scope, live_stream_id !== undefined ? { streamId: live_stream_id } : {}, limit, offset);
    return { data: views.map(presentAsset), next_cursor: views.length === limit ? encodeCursor(offset + limit) : null };
  });

  app.get('/assets/:id', { schema: { tags, summary: 'Retrieve an asset', params: IdParams, response: { 200: data(AssetSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams> }>) => ({
    data: presentAsset(await recordings.get(grantOf(request).scope, request.params.id)),
  }));

  app.delete('/assets/:id', { schema: { tags, summary: 'Delete an asset and its media', params: IdParams, response: { 204: { type: 'null', description: 'Deleted' }, ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams> }>, reply) => {
    await recordings.delete(grantOf(request).scope, request.params.id);
    return reply.status(204).send();
  });

  app.post('/assets/:id/playback-ids', { schema: { tags, summary: 'Add a playback id to an asset', params: IdParams, body: PlaybackIdCreateBody, response: { 201: data(PlaybackIdSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams>; Body: Static<typeof PlaybackIdCreateBody> }>, reply) => {
    const [policy] = policies(request.body?.policy, 'policy') ?? ['public'];
    return reply.status(201).send({ data: presentPlaybackId(await recordings.addPlaybackId(grantOf(request).scope, request.params.id, policy!)) });
  });

  app.get('/assets/:id/playback-ids/:playbackId', { schema: { tags, summary: 'Retrieve a playback id of an asset', params: IdAndPlaybackIdParams, response: { 200: data(PlaybackIdSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdAndPlaybackIdParams> }>) => ({
    data: presentPlaybackId(await recordings.playbackId(grantOf(request).scope, request.params.id, request.params.playbackId)),
  }));

  app.delete('/assets/:id/playback-ids/:playbackId', { schema: { tags, summary: 'Delete a playback id of an asset', params: IdAndPlaybackIdParams, response: { 204: { type: 'null', description: 'Deleted' }, ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdAndPlaybackIdParams> }>, reply) => {
    await recordings.removePlaybackId(grantOf(request).scope, request.params.id, request.params.playbackId);
    return reply.status(204).send();
  });
}
