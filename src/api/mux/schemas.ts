import { Type, type TSchema } from '@sinclair/typebox';
import { LATENCY_MODES, MAX_CONTINUOUS_DURATION, PASSTHROUGH_MAX_LENGTH, RECONNECT_WINDOW, TITLE_MAX_LENGTH } from '../../core/streams/live-settings.js';

/*
 * The JSON schemas of the Mux-compatible API: every route validates its input with them, and the
 * OpenAPI document (`/openapi.json`) is generated from them. Objects allow properties they do not
 * name, as Mux ignores fields it does not know; answers list every field they carry.
 */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const PlaybackPolicySchema = Type.String({ enum: ['public', 'signed', 'drm'], description: '`drm` is not supported by this server' });
/** Mux takes one policy or a list of them. */
const PolicyOrList = Type.Union([PlaybackPolicySchema, Type.Array(PlaybackPolicySchema, { maxItems: 4 })]);
const Passthrough = Type.String({ maxLength: PASSTHROUGH_MAX_LENGTH });

export const ErrorSchema = Type.Object(
  { error: Type.Object({ type: Type.String(), messages: Type.Array(Type.String()) }) }, { description: 'Every error, in Mux’s shape' },
);

/** The error answers every authenticated route may give. */
export const ERRORS = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 429: ErrorSchema } as const;

export const PlaybackIdSchema = Type.Object({ id: Type.String(), policy: Type.String({ enum: ['public', 'signed'] }) });

export const SimulcastTargetSchema = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    stream_key: Type.Optional(Type.String()),
    passthrough: Type.Optional(Type.String()),
    status: Type.String({ enum: ['idle', 'starting', 'broadcasting', 'errored'] }),
  },
);

export const NewAssetSettingsSchema = Type.Object(
  { playback_policies: Type.Optional(Type.Array(Type.String())), playback_policy: Type.Optional(Type.Array(Type.String())), passthrough: Type.Optional(Type.String()) },
  { additionalProperties: true },
);

export const LiveStreamSchema = Type.Object(
  {
    id: Type.String(),
    created_at: Type.String({ description: 'Unix seconds, as a string' }),
    stream_key: Type.String(),
    status: Type.String({ enum: ['idle', 'active', 'disabled'] }),
    playback_ids: Type.Array(PlaybackIdSchema),
    new_asset_settings: Type.Optional(NewAssetSettingsSchema),
    passthrough: Type.Optional(Type.String()),
    audio_only: Type.Boolean(),
    reconnect_window: Type.Number(),
    latency_mode: Type.String({ enum: [...LATENCY_MODES] }),
    max_continuous_duration: Type.Integer(),
    test: Type.Optional(Type.Boolean()),
    simulcast_targets: Type.Array(SimulcastTargetSchema),
    active_asset_id: Type.Optional(Type.String()),
    recent_asset_ids: Type.Array(Type.String()),
    active_ingest_protocol: Type.Optional(Type.String()),
    meta: Type.Object({ title: Type.Optional(Type.String()) }),
    low_latency: Type.Boolean(),
    reduced_latency: Type.Boolean(),
  },
);

export const AssetSchema = Type.Object(
  {
    id: Type.String(),
    created_at: Type.String({ description: 'Unix seconds, as a string' }),
    status: Type.String({ enum: ['preparing', 'ready', 'errored'] }),
    duration: Type.Optional(Type.Number()),
    max_stored_resolution: Type.Optional(Type.String({ enum: ['Audio only', 'SD', 'HD', 'FHD', 'UHD'] })),
    resolution_tier: Type.Optional(Type.String()),
    max_resolution_tier: Type.String(),
    max_stored_frame_rate: Type.Optional(Type.Number()),
    aspect_ratio: Type.Optional(Type.String()),
    live_stream_id: Type.String(),
    is_live: Type.Boolean(),
    playback_ids: Type.Array(PlaybackIdSchema),
    passthrough: Type.Optional(Type.String()),
    test: Type.Optional(Type.Boolean()),
    ingest_type: Type.String(),
    master_access: Type.String(),
    mp4_support: Type.String(),
    encoding_tier: Type.String(),
    video_quality: Type.String(),
    progress: Type.Object({ state: Type.String(), progress: Type.Number() }),
    recording_times: Type.Array(Type.Object({ started_at: Type.String(), duration: Type.Number(), type: Type.String() })),
    tracks: Type.Array(
      Type.Object({
        id: Type.String(),
        type: Type.String(),
        max_width: Type.Optional(Type.Integer()),
        max_height: Type.Optional(Type.Integer()),
        max_frame_rate: Type.Optional(Type.Number()),
        duration: Type.Optional(Type.Number()),
      }),
    ),
    errors: Type.Optional(Type.Object({ type: Type.String(), messages: Type.Array(Type.String()) })),
  },
);

export const SigningKeySchema = Type.Object(
  { id: Type.String(), created_at: Type.String({ description: 'Unix seconds, as a string' }), private_key: Type.Optional(Type.String({ description: 'Base64-encoded PEM; in the create answer only' })) },
);

export const WebhookSchema = Type.Object(
  {
    id: Type.String(),
    address: Type.String(),
    url: Type.String({ description: 'The same as address' }),
    events: Nullable(Type.Array(Type.String())),
    enabled: Type.Boolean(),
    created_at: Type.String({ description: 'ISO 8601' }),
    signing_secret: Type.Optional(Type.String({ description: 'In the create answer only' })),
  },
);

export const DeliverySchema = Type.Object(
  {
    id: Type.String(),
    event_type: Type.String(),
    event_id: Nullable(Type.String()),
    response_status_code: Nullable(Type.Integer()),
    duration_ms: Type.Integer(),
    error: Nullable(Type.String()),
    created_at: Type.String(),
  },
);


export const data = (schema: TSchema) => Type.Object({ data: schema });
export const dataList = (schema: TSchema) => Type.Object({ data: Type.Array(schema) });
export const EmptyData = Type.Object({ data: Type.Object({}) });

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
});

export const LiveStreamListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
  status: Type.Optional(Type.String({ enum: ['idle', 'active', 'disabled'] })),
  stream_key: Type.Optional(Type.String({ maxLength: 256, description: 'Only the stream with this key' })),
});

export const AssetListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
  page: Type.Optional(Type.Integer({ minimum: 1 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
  live_stream_id: Type.Optional(Type.String({ maxLength: 64 })),
});

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const IdAndPlaybackIdParams = Type.Object({ id: Type.String({ maxLength: 64 }), playbackId: Type.String({ maxLength: 64 }) });
export const IdAndTargetParams = Type.Object({ id: Type.String({ maxLength: 64 }), targetId: Type.String({ maxLength: 64 }) });
export const IdAndDeliveryParams = Type.Object({ id: Type.String({ maxLength: 64 }), deliveryId: Type.String({ maxLength: 64 }) });

const SimulcastTargetInput = Type.Object(
  { url: Type.String({ minLength: 1, maxLength: 2048 }), stream_key: Type.Optional(Type.String({ maxLength: 256 })), passthrough: Type.Optional(Passthrough) },
  { additionalProperties: true },
);

const NewAssetSettingsInput = Type.Object(
  { playback_policy: Type.Optional(PolicyOrList), playback_policies: Type.Optional(Type.Array(PlaybackPolicySchema, { maxItems: 4 })), passthrough: Type.Optional(Passthrough) },
  { additionalProperties: true },
);

const liveSettingsInput = {
  passthrough: Type.Optional(Passthrough),
  reconnect_window: Type.Optional(Type.Number({ minimum: RECONNECT_WINDOW.min, maximum: RECONNECT_WINDOW.max })),
  latency_mode: Type.Optional(Type.String({ enum: [...LATENCY_MODES] })),
  max_continuous_duration: Type.Optional(Type.Integer({ minimum: MAX_CONTINUOUS_DURATION.min, maximum: MAX_CONTINUOUS_DURATION.max })),
  meta: Type.Optional(Type.Object({ title: Type.Optional(Type.String({ maxLength: TITLE_MAX_LENGTH })) }, { additionalProperties: true })),
  new_asset_settings: Type.Optional(NewAssetSettingsInput),
  reconnect_slate_url: Type.Optional(Type.String({ description: 'not supported by this server yet' })),
};

export const LiveStreamCreateBody = Type.Object(
  {
    ...liveSettingsInput,
    playback_policy: Type.Optional(PolicyOrList),
    playback_policies: Type.Optional(Type.Array(PlaybackPolicySchema, { maxItems: 4 })),
    audio_only: Type.Optional(Type.Boolean()),
    test: Type.Optional(Type.Boolean()),
    low_latency: Type.Optional(Type.Boolean()),
    reduced_latency: Type.Optional(Type.Boolean()),
    simulcast_targets: Type.Optional(Type.Array(SimulcastTargetInput, { maxItems: 10 })),
    embedded_subtitles: Type.Optional(Type.Array(Type.Unknown(), { description: 'not supported by this server' })),
    generated_subtitles: Type.Optional(Type.Array(Type.Unknown(), { description: 'not supported by this server' })),
  },
  { additionalProperties: true },
);

export const LiveStreamUpdateBody = Type.Object(liveSettingsInput, { additionalProperties: true });

export const PlaybackIdCreateBody = Type.Object({ policy: Type.Optional(PlaybackPolicySchema) }, { additionalProperties: true });

export const SimulcastTargetCreateBody = SimulcastTargetInput;

export const WebhookCreateBody = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    address: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'The same as url (the Mux SDK’s name)' })),
    events: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 64 })),
  },
  { additionalProperties: true },
);

export const WebhookUpdateBody = Type.Object(
  {
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    address: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
    enabled: Type.Optional(Type.Boolean()),
    events: Type.Optional(Nullable(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 64 }))),
  },
  { additionalProperties: true },
);
