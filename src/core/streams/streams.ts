import type { EgressPolicy } from '../egress/policy.js';
import { ChangeCache } from '../kernel/change-cache.js';
import { emit, type CoreContext } from '../kernel/context.js';
import {
  destinationKeyProblem,
  destinationSeenBy,
  isDestinationService,
  keyBelongsToAnother,
  toDestination,
  DESTINATION_SERVICES,
  type Destination,
  type IngestServers,
} from '../relays/destinations.js';
import { DisabledError, InUseError, NotFoundError, ValidationError, type FieldErrors } from '../kernel/errors.js';
import {
  isUuid,
  newId,
  newStreamKey,
  secretsEqual,
  secretDigest,
  type AccountId,
  type DestinationId,
  type StreamId,
  type StreamKey,
} from '../kernel/ids.js';
import type { StreamRow } from '../../store/repositories/streams.js';
import type { Repositories } from '../../store/store.js';
import type { AccountQuotas } from '../accounts/quotas.js';
import { MAX_CONTINUOUS_DURATION } from './live-settings.js';

/**
 * Takes one of the owner's stream slots in `tx`, before a stream is made (or brought back) by
 * any API: QuotaExceededError when the owner holds its quota of streams already.
 */
export function claimStreamSlot(tx: Repositories, quotas: AccountQuotas, ownerId: AccountId): Promise<void> {
  return quotas.reserve(tx, ownerId, 'streams', () => tx.streams.countOwned(ownerId));
}

/**
 * The row a new stream starts as, whichever API makes it: its key kept beside the digest it is
 * found by, enabled, public, with nothing else said about it yet. Callers set what their API adds.
 */
export function newStreamRow(init: { id: StreamId; ownerId: AccountId; tenant: string; key: string; now: string }): StreamRow {
  return {
    id: init.id,
    owner_id: init.ownerId,
    tenant: init.tenant,
    stream_key: init.key,
    key_digest: secretDigest(init.key),
    title: null,
    description: null,
    is_private: 0,
    enabled: 1,
    latitude: null,
    longitude: null,
    created_at: init.now,
    updated_at: init.now,
    deleted_at: null,
    public_host_id: null,
    private_host_id: null,
    fme_key: null,
    end_latitude: null,
    end_longitude: null,
    city: null,
    state: null,
    country: null,
    extra_info: null,
    thumbnail_url: null,
    upload_bucket: null,
    upload_prefix: null,
    stopped_at: null,
    first_broadcast_id: null,
    passthrough: null,
    reconnect_window: null,
    max_continuous_duration: null,
    latency_mode: null,
    audio_only: null,
    test: null,
    new_asset_settings: null,
  };
}

/** A persistent stream: what a publisher's key points at, and what viewers watch. */
export interface Stream {
  id: StreamId;
  ownerId: AccountId;
  key: StreamKey;
  title: string | null;
  description: string | null;
  isPrivate: boolean;
  /** A disabled stream accepts no publisher. */
  enabled: boolean;
  /** A broadcast of it is in progress. */
  isLive: boolean;
  createdAt: string;
  /** Seconds a broadcast waits for its publisher to come back; null: the server's setting. */
  reconnectWindow: number | null;
  /** Seconds a broadcast may run before it is ended (12 hours unless the live API set it). */
  maxContinuousDuration: number;
}

export interface StreamWithDestinations extends Stream {
  destinations: Destination[];
}

export interface NewDestination {
  service: string;
  streamKey: string;
}

function toStream(row: StreamRow, isLive: boolean): Stream {
  return {
    id: row.id as StreamId,
    ownerId: row.owner_id as AccountId,
    key: row.stream_key as StreamKey,
    title: row.title,
    description: row.description,
    isPrivate: row.is_private === 1,
    enabled: row.enabled === 1,
    isLive,
    createdAt: row.created_at,
    reconnectWindow: row.reconnect_window === null ? null : Number(row.reconnect_window),
    maxContinuousDuration: row.max_continuous_duration === null ? MAX_CONTINUOUS_DURATION.default : Number(row.max_continuous_duration),
  };
}

/** Streams whose owner's view is kept (stream detail): every stream of a busy server. */
const OWNED_VIEW_CACHE_ENTRIES = 10_000;
/** The longest an owner's view of a stream is trusted without a look at the database (see ChangeCache). */
const OWNED_VIEW_CACHE_MAX_AGE_MS = 5_000;

/** Stream keys whose relay plan is kept: every stream of a busy server. */
const RELAY_PLAN_CACHE_ENTRIES = 10_000;
/** The longest a relay plan is trusted without a look at the database (see ChangeCache). */
const RELAY_PLAN_CACHE_MAX_AGE_MS = 5_000;

export class StreamService {
  /**
   * Relay plans by the digest of their key: agents ask for them on every publish, and often.
   * Any change to a stream, its key, its destinations or its broadcasts empties it (ChangeCache).
   */
  private readonly relayPlans: ChangeCache<string, StreamWithDestinations>;
  /**
   * Each stream as its owner sees it (its row, whether a broadcast is open, its destinations),
   * by its id in lower case: clients poll stream detail. Any change to a stream, its key, its
   * destinations or its broadcasts empties it (ChangeCache); who may see it is checked on every
   * read.
   */
  private readonly ownedViews: ChangeCache<string, StreamWithDestinations>;

  constructor(
    private readonly ctx: CoreContext,
    private readonly ingestServers: IngestServers,
    private readonly quotas: AccountQuotas,
    /** Where relays may connect: a destination's own RTMP URL is checked when saved and at each connection. */
    private readonly egress: EgressPolicy,
  ) {
    this.relayPlans = new ChangeCache(ctx, { maxEntries: RELAY_PLAN_CACHE_ENTRIES, maxAgeMs: RELAY_PLAN_CACHE_MAX_AGE_MS });
    this.ownedViews = new ChangeCache(ctx, { maxEntries: OWNED_VIEW_CACHE_ENTRIES, maxAgeMs: OWNED_VIEW_CACHE_MAX_AGE_MS });
  }

  async create(ownerId: AccountId): Promise<Stream> {
    const now = this.ctx.now();
    const id = newId<'StreamId'>();
    const key = newStreamKey();
    await this.ctx.store.transaction(async (tx) => {
      await claimStreamSlot(tx, this.quotas, ownerId);
      await tx.streams.insert(newStreamRow({ id, ownerId, tenant: '', key, now }));
    });
    await emit(this.ctx, { type: 'stream.created', streamId: id, ownerId });
    return { id, ownerId, key, title: null, description: null, isPrivate: false, enabled: true, isLive: false, createdAt: now, reconnectWindow: null, maxContinuousDuration: MAX_CONTINUOUS_DURATION.default };
  }

  async listOwned(ownerId: AccountId): Promise<Stream[]> {
    const rows = await this.ctx.store.streams.listByOwner(ownerId);
    const live = await this.ctx.store.broadcasts.liveStreamIds(rows.map((r) => r.id));
    return rows.map((row) => toStream(row, live.has(row.id)));
  }

  /**
   * A stream of `ownerId`; another owner's stream is as absent as a stream that never existed.
   * Its destinations show the owner's own keys, and hide those of others (shared accounts).
   */
  async getOwned(ownerId: AccountId, streamId: string): Promise<StreamWithDestinations> {
    const id = streamId.toLowerCase();
    const known = this.ownedViews.get(id);
    if (known !== undefined) {
      // The view is its owner's: anyone else is told the stream is not there, as below.
      if (known.ownerId !== ownerId) throw new NotFoundError('No such stream');
      return known;
    }
    const ticket = this.ownedViews.ticket();
    const row = await this.ownedRow(ownerId, streamId);
    const [open, destinations] = await Promise.all([
      this.ctx.store.broadcasts.findOpen(row.id),
      this.ctx.store.destinations.listByStream(row.id),
    ]);
    // Shared by every read the cache answers: frozen, so none can change another's.
    const view: StreamWithDestinations = Object.freeze({
      ...toStream(row, open !== undefined),
      destinations: Object.freeze(destinations.map((d) => Object.freeze(destinationSeenBy(toDestination(d, this.ingestServers), ownerId)))) as Destination[],
    });
    this.ownedViews.set(row.id, view, ticket);
    return view;
  }

  /** Gives the stream a new key; the old one stops working at once. */
  async changeKey(ownerId: AccountId, streamId: string): Promise<Stream> {
    const row = await this.ownedRow(ownerId, streamId);
    const key = newStreamKey();
    await this.ctx.store.streams.updateKey(row.id, key, secretDigest(key), this.ctx.now());
    await emit(this.ctx, { type: 'stream.key_changed', streamId: row.id as StreamId });
    const open = await this.ctx.store.broadcasts.findOpen(row.id);
    return toStream({ ...row, stream_key: key }, open !== undefined);
  }

  async addDestination(ownerId: AccountId, streamId: string, input: NewDestination): Promise<Destination> {
    const errors: FieldErrors = {};
    if (!isDestinationService(input.service)) {
      errors.service = `must be one of ${DESTINATION_SERVICES.join(', ')}`;
    } else {
      const keyProblem = destinationKeyProblem(input.service, input.streamKey);
      if (keyProblem) errors.streamKey = keyProblem;
      // An RTMP destination's key is a whole URL of the user's (the services' ingest servers are the operator's).
      else if (input.service === 'RTMP') {
        const refusal = await this.egress.urlRefusal(input.streamKey, ['rtmp', 'rtmps']);
        if (refusal) errors.streamKey = refusal;
      }
    }
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid destination', errors);

    const row = await this.ownedRow(ownerId, streamId);
    const id = newId<'DestinationId'>();
    const destination = await this.ctx.store.transaction(async (tx) => {
      const number = await tx.sequences.next('destination');
      const inserted = {
        id,
        number,
        stream_id: row.id,
        service: input.service,
        stream_key: input.streamKey,
        url: null,
        enabled: 1 as const,
        ffmpeg_args: null,
        created_at: this.ctx.now(),
        key_owner_id: null,
        passthrough: null,
      };
      await tx.destinations.insert(inserted);
      return toDestination(inserted, this.ingestServers);
    });
    await emit(this.ctx, { type: 'destination.added', streamId: row.id as StreamId, destinationId: id as DestinationId });
    return destination;
  }

  /** Switches a destination on or off; a live stream's relay follows at once. */
  async setDestinationEnabled(ownerId: AccountId, destinationId: DestinationId, enabled: boolean): Promise<Destination> {
    const row = await this.ownedDestinationRow(ownerId, destinationId);
    await this.ctx.store.destinations.setEnabled(row.id, enabled);
    await emit(this.ctx, { type: 'destination.updated', streamId: row.stream_id as StreamId, destinationId });
    return destinationSeenBy(toDestination({ ...row, enabled: enabled ? 1 : 0 }, this.ingestServers), ownerId);
  }

  /** Removes a destination; a live stream's relay to it stops at once. */
  async removeDestination(ownerId: AccountId, destinationId: DestinationId): Promise<void> {
    const row = await this.ownedDestinationRow(ownerId, destinationId);
    await this.ctx.store.destinations.delete(row.id);
    await emit(this.ctx, { type: 'destination.removed', streamId: row.stream_id as StreamId, destinationId });
  }

  /** A stream's destinations, for the media plane that relays to them. */
  async destinationsOf(streamId: StreamId): Promise<Destination[]> {
    return (await this.ctx.store.destinations.listByStream(streamId)).map((d) => toDestination(d, this.ingestServers));
  }

  private async ownedDestinationRow(ownerId: AccountId, destinationId: DestinationId) {
    const row = isUuid(destinationId) ? await this.ctx.store.destinations.findById(destinationId) : undefined;
    if (!row) throw new NotFoundError('No such destination');
    await this.ownedRow(ownerId, row.stream_id);
    return row;
  }

  /**
   * The stream a publisher's key opens, with its destinations: what an agent asks when an
   * encoder connects. Unknown key: NotFoundError; disabled stream: DisabledError; a stream
   * already live from another encoder: InUseError. A destination whose key is another person's
   * (a shared network account) is left out: whoever holds the stream key (its owner, a sharee
   * with metadata level 2) must not read it; the server's own relays push to it.
   */
  async relayPlan(key: string): Promise<StreamWithDestinations> {
    // Found by the key's digest, as in the database: equal digests are equal keys.
    const digest = secretDigest(key);
    const known = this.relayPlans.get(digest);
    if (known !== undefined) return known;
    const ticket = this.relayPlans.ticket();
    const row = await this.rowByKey(key);
    if (!row) throw new NotFoundError('No stream with that key');
    if (row.enabled !== 1) throw new DisabledError('The stream is disabled');
    const [open, destinations] = await Promise.all([
      this.ctx.store.broadcasts.findOpen(row.id),
      this.ctx.store.destinations.listByStream(row.id),
    ]);
    if (open) throw new InUseError('The stream is already live');
    const own = destinations.map((d) => toDestination(d, this.ingestServers)).filter((d) => !keyBelongsToAnother(d, row.owner_id as AccountId));
    // Shared by every caller the cache answers: frozen, so none can change another's.
    const plan: StreamWithDestinations = Object.freeze({ ...toStream(row, false), destinations: Object.freeze(own.map((d) => Object.freeze(d))) as Destination[] });
    this.relayPlans.set(digest, plan, ticket);
    return plan;
  }

  /** The stream a publisher's key opens, or undefined. */
  async findByKey(key: string): Promise<Stream | undefined> {
    const row = await this.rowByKey(key);
    if (!row) return undefined;
    const open = await this.ctx.store.broadcasts.findOpen(row.id);
    return toStream(row, open !== undefined);
  }

  /** A stream anyone may know the id of (viewers play by id); undefined when it does not exist. */
  async findById(streamId: string): Promise<Stream | undefined> {
    if (!isUuid(streamId)) return undefined;
    const row = await this.ctx.store.streams.findById(streamId.toLowerCase());
    if (!row) return undefined;
    const open = await this.ctx.store.broadcasts.findOpen(row.id);
    return toStream(row, open !== undefined);
  }

  private async rowByKey(key: string): Promise<StreamRow | undefined> {
    const row = await this.ctx.store.streams.findByKeyDigest(secretDigest(key));
    // The digest found the row; the constant-time comparison is what accepts the key.
    return row && secretsEqual(row.stream_key, key) ? row : undefined;
  }

  private async ownedRow(ownerId: AccountId, streamId: string): Promise<StreamRow> {
    const row = isUuid(streamId) ? await this.ctx.store.streams.findById(streamId.toLowerCase()) : undefined;
    if (!row || row.owner_id !== ownerId) throw new NotFoundError('No such stream');
    return row;
  }
}
