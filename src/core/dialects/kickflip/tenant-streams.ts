import type { ApiClient } from './oauth-clients.js';
import type { BroadcastService } from '../../broadcasts/broadcasts.js';
import { emit, type CoreContext } from '../../kernel/context.js';
import { NotFoundError, ValidationError, type FieldErrors } from '../../kernel/errors.js';
import { isUuid, newId, newStreamKey, type AccountId, type BroadcastId, type StreamId, type StreamKey } from '../../kernel/ids.js';
import { claimStreamSlot, newStreamRow } from '../../streams/streams.js';
import type { AccountQuotas } from '../../accounts/quotas.js';
import type { TenantUser } from './tenant-users.js';
import type { UploadGrant, UploadService } from '../../uploads/credentials.js';
import type { StreamMetadataChanges, StreamWithOwnerRow } from '../../../store/repositories/dialects/kickflip.js';

/**
 * Streams of an API client's users (Kickflip streams): a core stream (its key publishes over
 * RTMP too) with descriptive metadata, a location, an upload area for the client's HLS
 * uploads, and a life of its own: started by stream/start, finished by stream/stop, deleted by
 * its owner. Who may see one is decided here: a private or deleted stream only by its owner,
 * and no stream at all by another client.
 */
export interface TenantStream {
  id: StreamId;
  ownerId: AccountId;
  ownerUsername: string;
  key: StreamKey;
  title: string | null;
  description: string | null;
  isPrivate: boolean;
  deleted: boolean;
  latitude: number | null;
  longitude: number | null;
  endLatitude: number | null;
  endLongitude: number | null;
  city: string | null;
  state: string | null;
  country: string | null;
  extraInfo: string | null;
  /** The picture the client set; null until it sets one. */
  thumbnailUrl: string | null;
  uploadBucket: string | null;
  uploadPrefix: string | null;
  /** When stream/start made it: Kickflip's time_started. */
  createdAt: string;
  /** When stream/stop finished it: Kickflip's time_finished. */
  stoppedAt: string | null;
  /** A broadcast of it (RTMP or uploads) is in progress. */
  isLive: boolean;
  /**
   * The broadcast its stream_url plays: reserved by stream/start, before the broadcast begins,
   * so the one URL handed out plays it live and as a recording. Null for a stream that has none.
   */
  playbackBroadcastId: BroadcastId | null;
}

export interface Location {
  latitude: number;
  longitude: number;
}

/** What a client may set; an absent field is left as it is. */
export interface StreamMetadata {
  title?: string | undefined;
  description?: string | undefined;
  extraInfo?: string | undefined;
  city?: string | undefined;
  state?: string | undefined;
  country?: string | undefined;
  thumbnailUrl?: string | undefined;
  isPrivate?: boolean | undefined;
  deleted?: boolean | undefined;
  location?: Location | undefined;
  endLocation?: Location | undefined;
}

export const STREAM_TEXT_LIMITS = { title: 256, description: 8192, extraInfo: 16384, city: 128, state: 128, country: 128, thumbnailUrl: 2048 } as const;

export function checkLocation(location: Location, errors: FieldErrors, fields: { lat: string; lon: string }): void {
  if (!Number.isFinite(location.latitude) || location.latitude < -90 || location.latitude > 90) errors[fields.lat] = 'must be a latitude from -90 to 90';
  if (!Number.isFinite(location.longitude) || location.longitude < -180 || location.longitude > 180) errors[fields.lon] = 'must be a longitude from -180 to 180';
}

function checkMetadata(input: StreamMetadata): void {
  const errors: FieldErrors = {};
  const text: [keyof typeof STREAM_TEXT_LIMITS, string, string | undefined][] = [
    ['title', 'title', input.title],
    ['description', 'description', input.description],
    ['extraInfo', 'extra_info', input.extraInfo],
    ['city', 'city', input.city],
    ['state', 'state', input.state],
    ['country', 'country', input.country],
    ['thumbnailUrl', 'thumbnail_url', input.thumbnailUrl],
  ];
  for (const [limit, field, value] of text) {
    if (value !== undefined && [...value].length > STREAM_TEXT_LIMITS[limit]) errors[field] = `must be at most ${STREAM_TEXT_LIMITS[limit]} characters`;
  }
  if (input.thumbnailUrl !== undefined && errors.thumbnail_url === undefined) {
    let url: URL | undefined;
    try {
      url = new URL(input.thumbnailUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) errors.thumbnail_url = 'must be an http:// or https:// URL';
  }
  if (input.location) checkLocation(input.location, errors, { lat: 'lat', lon: 'lon' });
  if (input.endLocation) checkLocation(input.endLocation, errors, { lat: 'end_lat', lon: 'end_lon' });
  if (Object.keys(errors).length > 0) throw new ValidationError('Invalid stream details', errors);
}

/** The stream's columns other APIs than Kickflip show (a change to them is a stream.updated). */
const STREAM_FIELDS_SHOWN = ['title', 'description', 'is_private'] as const satisfies readonly (keyof StreamMetadataChanges)[];

function metadataChanges(input: StreamMetadata): StreamMetadataChanges {
  return {
    ...(input.title !== undefined ? { title: input.title } : {}),
    ...(input.description !== undefined ? { description: input.description } : {}),
    ...(input.extraInfo !== undefined ? { extra_info: input.extraInfo } : {}),
    ...(input.city !== undefined ? { city: input.city } : {}),
    ...(input.state !== undefined ? { state: input.state } : {}),
    ...(input.country !== undefined ? { country: input.country } : {}),
    ...(input.thumbnailUrl !== undefined ? { thumbnail_url: input.thumbnailUrl } : {}),
    ...(input.isPrivate !== undefined ? { is_private: input.isPrivate ? 1 : 0 } : {}),
    ...(input.location ? { latitude: input.location.latitude, longitude: input.location.longitude } : {}),
    ...(input.endLocation ? { end_latitude: input.endLocation.latitude, end_longitude: input.endLocation.longitude } : {}),
  };
}

export function toTenantStream(row: StreamWithOwnerRow, isLive: boolean): TenantStream {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: row.id as StreamId,
    ownerId: row.owner_id as AccountId,
    ownerUsername: row.owner_username,
    key: row.stream_key as StreamKey,
    title: row.title,
    description: row.description,
    isPrivate: row.is_private === 1,
    deleted: row.deleted_at !== null,
    latitude: num(row.latitude),
    longitude: num(row.longitude),
    endLatitude: num(row.end_latitude),
    endLongitude: num(row.end_longitude),
    city: row.city,
    state: row.state,
    country: row.country,
    extraInfo: row.extra_info,
    thumbnailUrl: row.thumbnail_url,
    uploadBucket: row.upload_bucket,
    uploadPrefix: row.upload_prefix,
    createdAt: row.created_at,
    stoppedAt: row.stopped_at,
    isLive,
    playbackBroadcastId: row.first_broadcast_id as BroadcastId | null,
  };
}

export class TenantStreamService {
  constructor(
    private readonly ctx: CoreContext,
    private readonly broadcasts: BroadcastService,
    private readonly uploads: UploadService,
    private readonly quotas: AccountQuotas,
  ) {}

  /**
   * A new stream of `user`, with upload credentials for `<app>/<username>/<stream_id>/`.
   * Nothing is kept when the metadata is invalid or the credentials cannot be made; `deleted`
   * does not apply to a stream being made and is not read.
   */
  async start(client: ApiClient, user: TenantUser, input: StreamMetadata): Promise<{ stream: TenantStream; grant: UploadGrant }> {
    checkMetadata(input);
    const id = newId<'StreamId'>();
    const key = newStreamKey();
    const now = this.ctx.now();
    const prefix = `${client.app}/${user.username}/${id}/`;
    const changes = metadataChanges(input);
    await this.ctx.store.transaction(async (tx) => {
      await claimStreamSlot(tx, this.quotas, user.id);
      await tx.streams.insert({
        ...newStreamRow({ id, ownerId: user.id, tenant: client.id, key, now }),
        ...changes,
        upload_bucket: this.uploads.bucket,
        upload_prefix: prefix,
        // What the stream's upload or encoder starts is the broadcast stream_url names from now on.
        first_broadcast_id: newId<'BroadcastId'>(),
      });
    });
    let grant: UploadGrant;
    try {
      grant = await this.uploads.grant(id, prefix);
    } catch (err) {
      await this.ctx.store.streamMetadata.deleteRow(id);
      throw err;
    }
    await emit(this.ctx, { type: 'stream.created', streamId: id, ownerId: user.id });
    return { stream: await this.owned(client, user, id), grant };
  }

  /**
   * A stream as `viewer` may see it: any public, undeleted stream of the client, and the
   * viewer's own streams whatever their state. Anything else is as absent as a stream that
   * never existed.
   */
  async visible(client: ApiClient, streamId: string, viewer: TenantUser | undefined): Promise<TenantStream> {
    const row = isUuid(streamId) ? await this.ctx.store.streamMetadata.findInTenant(client.id, streamId.toLowerCase()) : undefined;
    const own = row !== undefined && viewer !== undefined && row.owner_id === viewer.id;
    if (!row || (!own && (row.is_private === 1 || row.deleted_at !== null))) throw new NotFoundError('No such stream');
    return this.withLive(row);
  }

  /** A stream of `user`; another user's stream is as absent as one that never existed. */
  async owned(client: ApiClient, user: TenantUser, streamId: string): Promise<TenantStream> {
    const row = isUuid(streamId) ? await this.ctx.store.streamMetadata.findInTenant(client.id, streamId.toLowerCase()) : undefined;
    if (!row || row.owner_id !== user.id) throw new NotFoundError('No such stream');
    return this.withLive(row);
  }

  /**
   * Sets the stream's metadata. `deleted` hides the stream from everyone but its owner and
   * ends a broadcast in progress; `deleted: false` brings it back.
   */
  async change(client: ApiClient, user: TenantUser, streamId: string, input: StreamMetadata): Promise<TenantStream> {
    checkMetadata(input);
    const stream = await this.owned(client, user, streamId);
    const changes = metadataChanges(input);
    if (input.deleted === true && !stream.deleted) changes.deleted_at = this.ctx.now();
    if (input.deleted === false && stream.deleted) changes.deleted_at = null;
    if (changes.deleted_at === null) {
      // A stream brought back counts again.
      await this.ctx.store.transaction(async (tx) => {
        await claimStreamSlot(tx, this.quotas, user.id);
        await tx.streamMetadata.update(stream.id, changes, this.ctx.now());
      });
    } else if (Object.keys(changes).length > 0) {
      await this.ctx.store.streamMetadata.update(stream.id, changes, this.ctx.now());
    }
    if (input.isPrivate !== undefined || changes.deleted_at !== undefined) {
      await emit(this.ctx, { type: 'playback.access_changed', streamId: stream.id as StreamId, broadcastId: null });
    }
    if (changes.deleted_at === null || STREAM_FIELDS_SHOWN.some((field) => changes[field] !== undefined)) {
      // A stream brought back, or one whose title, description or privacy changed: every API shows these.
      await emit(this.ctx, { type: 'stream.updated', streamId: stream.id });
    }
    if (changes.deleted_at) {
      await this.broadcasts.end(stream.id);
      // Its key opens nothing from now on: whoever keeps what it opened (a relay plan) forgets it.
      await emit(this.ctx, { type: 'stream.deleted', streamId: stream.id, ownerId: user.id });
    }
    return this.owned(client, user, stream.id);
  }

  /** Pause and resume only move the stream (no SDK ever called them; the document says so much). */
  async move(client: ApiClient, user: TenantUser, streamId: string, location: Location | undefined): Promise<TenantStream> {
    return this.change(client, user, streamId, { location });
  }

  /**
   * Finishes the stream: its broadcast ends and its upload credentials are released (they
   * keep working for the grace period, as the SDKs upload the last segments after stopping).
   * Stopping again changes nothing but the end location.
   */
  async stop(client: ApiClient, user: TenantUser, streamId: string, endLocation: Location | undefined): Promise<TenantStream> {
    checkMetadata({ endLocation });
    const stream = await this.owned(client, user, streamId);
    const changes: StreamMetadataChanges = metadataChanges({ endLocation });
    if (stream.stoppedAt === null) changes.stopped_at = this.ctx.now();
    if (Object.keys(changes).length > 0) await this.ctx.store.streamMetadata.update(stream.id, changes, this.ctx.now());
    await this.broadcasts.end(stream.id);
    await this.uploads.release(stream.id);
    return this.owned(client, user, stream.id);
  }

  private async withLive(row: StreamWithOwnerRow): Promise<TenantStream> {
    const open = await this.ctx.store.broadcasts.findOpen(row.id);
    return toTenantStream(row, open !== undefined);
  }
}
