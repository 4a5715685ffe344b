import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { Core } from '../../../core/core.js';
import type { PlaybackPolicy } from '../../../core/playback/playback-ids.js';
import type { LiveSettingsChange, LatencyMode, LiveStatus, NewAssetSettings } from '../../../core/streams/live-settings.js';
import { MuxError } from '../errors.js';
import { grantOf } from '../auth.js';
import { presentLiveStream, presentPlaybackId, presentTarget } from '../present.js';
import {
  data,
  dataList,
  EmptyData,
  ERRORS,
  IdAndPlaybackIdParams,
  IdAndTargetParams,
  IdParams,
  LiveStreamCreateBody,
  LiveStreamListQuery,
  LiveStreamSchema,
  LiveStreamUpdateBody,
  PlaybackIdCreateBody,
  PlaybackIdSchema,
  SimulcastTargetCreateBody,
  SimulcastTargetSchema,
} from '../schemas.js';

type CreateBody = Static<typeof LiveStreamCreateBody>;
type UpdateBody = Static<typeof LiveStreamUpdateBody>;
const tags = ['live streams'];

/** One policy or a list, as Mux takes them; `drm` is refused here. */
export function policies(value: string | string[] | undefined, field: string): PlaybackPolicy[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (list.includes('drm')) throw new MuxError('invalid_parameters', [`${field} drm is not supported by this server`]);
  return list as PlaybackPolicy[];
}

function assetSettings(body: UpdateBody): NewAssetSettings | undefined {
  const settings = body.new_asset_settings;
  if (settings === undefined) return undefined;
  return {
    playbackPolicies: policies(settings.playback_policies ?? settings.playback_policy, 'new_asset_settings.playback_policy') ?? [],
    passthrough: settings.passthrough ?? null,
  };
}

/** The settings a create or update body names, in the core's terms. */
function settingsChange(body: UpdateBody & Partial<Pick<CreateBody, 'audio_only' | 'test' | 'low_latency' | 'reduced_latency'>>): LiveSettingsChange {
  if (body.reconnect_slate_url !== undefined && body.reconnect_slate_url !== '') {
    throw new MuxError('invalid_parameters', ['reconnect_slate_url is not supported by this server yet']);
  }
  // The deprecated flags say what latency_mode says now.
  const latency = (body.latency_mode as LatencyMode | undefined) ?? (body.low_latency ? 'low' : body.reduced_latency ? 'reduced' : undefined);
  const assets = assetSettings(body);
  return {
    ...(body.meta !== undefined ? { title: body.meta.title ?? null } : {}),
    // Mux: an empty passthrough clears it.
    ...(body.passthrough !== undefined ? { passthrough: body.passthrough === '' ? null : body.passthrough } : {}),
    ...(body.reconnect_window !== undefined ? { reconnectWindow: body.reconnect_window } : {}),
    ...(body.max_continuous_duration !== undefined ? { maxContinuousDuration: body.max_continuous_duration } : {}),
    ...(latency !== undefined ? { latencyMode: latency } : {}),
    ...(body.audio_only !== undefined ? { audioOnly: body.audio_only } : {}),
    ...(body.test !== undefined ? { test: body.test } : {}),
    ...(assets !== undefined ? { newAssetSettings: assets } : {}),
  };
}

type Id = FastifyRequest<{ Params: Static<typeof IdParams> }>;

/** `/video/v1/live-streams`: Mux's live streams, on the core's streams. */
export function liveStreamRoutes(app: FastifyInstance, core: Core): void {
  const live = core.liveStreams;

  app.post('/live-streams', { schema: { tags, summary: 'Create a live stream', body: LiveStreamCreateBody, response: { 201: data(LiveStreamSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Body: CreateBody }>, reply) => {
    const body = request.body ?? {};
    if (body.embedded_subtitles?.length || body.generated_subtitles?.length) throw new MuxError('invalid_parameters', ['Live subtitles are not supported by this server']);
    const view = await live.create(grantOf(request).scope, {
      ...settingsChange(body),
      playbackPolicies: policies(body.playback_policies ?? body.playback_policy, 'playback_policy') ?? [],
      targets: (body.simulcast_targets ?? []).map((t) => ({ url: t.url, streamKey: t.stream_key ?? null, passthrough: t.passthrough ?? null })),
    });
    return reply.status(201).send({ data: presentLiveStream(view) });
  });

  app.get('/live-streams', { schema: { tags, summary: 'List live streams, newest first', querystring: LiveStreamListQuery, response: { 200: dataList(LiveStreamSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Querystring: Static<typeof LiveStreamListQuery> }>) => {
    const { limit = 25, page = 1, status, stream_key } = request.query;
    const filter = { ...(status !== undefined ? { status: status as LiveStatus } : {}), ...(stream_key !== undefined ? { streamKey: stream_key } : {}) };
    const views = await live.list(grantOf(request).scope, filter, limit, (page - 1) * limit);
    return { data: views.map(presentLiveStream) };
  });

  app.get('/live-streams/:id', { schema: { tags, summary: 'Retrieve a live stream', params: IdParams, response: { 200: data(LiveStreamSchema), ...ERRORS } } }, async (request: Id) => ({
    data: presentLiveStream(await live.get(grantOf(request).scope, request.params.id)),
  }));

  app.patch('/live-streams/:id', { schema: { tags, summary: 'Update a live stream', params: IdParams, body: LiveStreamUpdateBody, response: { 200: data(LiveStreamSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams>; Body: UpdateBody }>) => ({
    data: presentLiveStream(await live.update(grantOf(request).scope, request.params.id, settingsChange(request.body ?? {}))),
  }));

  app.delete('/live-streams/:id', { schema: { tags, summary: 'Delete a live stream', params: IdParams, response: { 204: { type: 'null', description: 'Deleted' }, ...ERRORS } } }, async (request: Id, reply) => {
    await live.delete(grantOf(request).scope, request.params.id);
    return reply.status(204).send();
  });

  app.post('/live-streams/:id/reset-stream-key', { schema: { tags, summary: 'Reset the stream key (a publisher using the old one is cut)', params: IdParams, response: { 201: data(LiveStreamSchema), ...ERRORS } } }, async (request: Id, reply) => {
    const view = await live.resetKey(grantOf(request).scope, request.params.id);
    return reply.status(201).send({ data: presentLiveStream(view) });
  });

  const action = (path: string, summary: string, run: (id: string, request: Id) => Promise<void>) =>
    app.put(`/live-streams/:id/${path}`, { schema: { tags, summary, params: IdParams, response: { 200: EmptyData, ...ERRORS } } }, async (request: Id) => {
      await run(request.params.id, request);
      return { data: {} };
    });
  action('complete', 'End the broadcast now, without waiting for the reconnect window', (id, request) => live.complete(grantOf(request).scope, id));
  action('disable', 'Disable: a live publisher is cut and new publishes are refused', (id, request) => live.disable(grantOf(request).scope, id));
  action('enable', 'Enable a disabled live stream', (id, request) => live.enable(grantOf(request).scope, id));

  app.post('/live-streams/:id/playback-ids', { schema: { tags, summary: 'Add a playback id', params: IdParams, body: PlaybackIdCreateBody, response: { 201: data(PlaybackIdSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams>; Body: Static<typeof PlaybackIdCreateBody> }>, reply) => {
    const [policy] = policies(request.body?.policy, 'policy') ?? ['public'];
    const added = await live.addPlaybackId(grantOf(request).scope, request.params.id, policy!);
    return reply.status(201).send({ data: presentPlaybackId(added) });
  });

  app.get('/live-streams/:id/playback-ids/:playbackId', { schema: { tags, summary: 'Retrieve a playback id of a live stream', params: IdAndPlaybackIdParams, response: { 200: data(PlaybackIdSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdAndPlaybackIdParams> }>) => ({
    data: presentPlaybackId(await live.playbackId(grantOf(request).scope, request.params.id, request.params.playbackId)),
  }));

  app.delete('/live-streams/:id/playback-ids/:playbackId', { schema: { tags, summary: 'Delete a playback id of a live stream', params: IdAndPlaybackIdParams, response: { 204: { type: 'null', description: 'Deleted' }, ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdAndPlaybackIdParams> }>, reply) => {
    await live.removePlaybackId(grantOf(request).scope, request.params.id, request.params.playbackId);
    return reply.status(204).send();
  });

  app.post('/live-streams/:id/simulcast-targets', { schema: { tags, summary: 'Add a simulcast target (starts at once while live)', params: IdParams, body: SimulcastTargetCreateBody, response: { 201: data(SimulcastTargetSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams>; Body: Static<typeof SimulcastTargetCreateBody> }>, reply) => {
    const body = request.body;
    const target = await live.addTarget(grantOf(request).scope, request.params.id, { url: body.url, streamKey: body.stream_key ?? null, passthrough: body.passthrough ?? null });
    return reply.status(201).send({ data: presentTarget(target) });
  });

  app.get('/live-streams/:id/simulcast-targets/:targetId', { schema: { tags, summary: 'Retrieve a simulcast target', params: IdAndTargetParams, response: { 200: data(SimulcastTargetSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdAndTargetParams> }>) => ({
    data: presentTarget(await live.target(grantOf(request).scope, request.params.id, request.params.targetId)),
  }));

  app.delete('/live-streams/:id/simulcast-targets/:targetId', { schema: { tags, summary: 'Delete a simulcast target (its relay stops at once)', params: IdAndTargetParams, response: { 204: { type: 'null', description: 'Deleted' }, ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdAndTargetParams> }>, reply) => {
    await live.removeTarget(grantOf(request).scope, request.params.id, request.params.targetId);
    return reply.status(204).send();
  });
}
