import type { AccountQuotas } from '../accounts/quotas.js';
import { inScope, ownerFilter, type AccountScope } from '../accounts/scope.js';
import type { EgressPolicy } from '../egress/policy.js';
import { ChangeCache } from '../kernel/change-cache.js';
import { emit, type CoreContext } from '../kernel/context.js';
import { NotFoundError, ValidationError, type FieldErrors } from '../kernel/errors.js';
import type { RelayState } from '../kernel/events.js';
import { isUuid, newId, newStreamKey, secretDigest, secretsEqual, type AccountId, type BroadcastId, type DestinationId, type StreamId, type StreamKey } from '../kernel/ids.js';
import type { PlaybackId, PlaybackIdService, PlaybackPolicy } from '../playback/playback-ids.js';
import { customPublishUrl, destinationKeyProblem } from '../relays/destinations.js';
import { redactPublishUrl } from '../relays/publish-url.js';
import type { RelayStatusBoard } from '../relays/status-board.js';
import type { StreamRow } from '../../store/repositories/streams.js';
import type { DestinationRow } from '../../store/repositories/relays.js';
import type { Repositories } from '../../store/store.js';
import {
  liveSettingsColumns,
  liveSettingsOf,
  liveSettingsProblems,
  liveStatus,
  PASSTHROUGH_MAX_LENGTH,
  RECONNECT_WINDOW,
  MAX_CONTINUOUS_DURATION,
  type LiveSettings,
  type LiveSettingsChange,
  type LiveStatus,
} from './live-settings.js';
import { claimStreamSlot, newStreamRow } from './streams.js';

/** A relay target of a stream as the live API shows it: where it pushes, and how that goes. */
export interface SimulcastTarget {
  id: DestinationId;
  streamId: StreamId;
  url: string;
  /** Empty when the URL holds the key. */
  streamKey: string;
  passthrough: string | null;
  state: RelayState;
}

/** A simulcast target's switch and how its relay goes (the relay's last error in words, or null). */
export interface SimulcastTargetState {
  id: DestinationId;
  enabled: boolean;
  state: RelayState;
  lastError: string | null;
}

export interface NewSimulcastTarget {
  url: string;
  streamKey?: string | null;
  passthrough?: string | null;
}

/** A stream with everything the live API shows of it. */
export interface LiveStreamView {
  id: StreamId;
  ownerId: AccountId;
  key: StreamKey;
  title: string | null;
  createdAt: string;
  settings: LiveSettings;
  status: LiveStatus;
  /** A publisher is connected now (false during the reconnect window). */
  connected: boolean;
  playbackIds: PlaybackId[];
  /** The open broadcast (its recording is the active asset), or null. */
  activeBroadcastId: BroadcastId | null;
  /** The newest recordings, oldest first (Mux's `recent_asset_ids`). */
  recentBroadcastIds: BroadcastId[];
  targets: SimulcastTarget[];
}

export interface NewLiveStream extends LiveSettingsChange {
  playbackPolicies?: PlaybackPolicy[];
  targets?: NewSimulcastTarget[];
}

/**
 * What ends a stream's broadcast now (the broadcasts service, which itself builds on streams:
 * named here by what is asked of it, so the two folders do not import each other).
 */
export interface BroadcastEnding {
  end(streamId: StreamId): Promise<unknown>;
}

/** How many recent recordings a stream shows. */
const RECENT_RECORDINGS = 10;
/** How many simulcast targets one stream may push to. */
export const MAX_SIMULCAST_TARGETS = 10;

/**
 * Streams as the live API (Mux's live streams) sees them: the same streams every dialect makes
 * (a rig stream is a live stream here and the other way round), with their live settings,
 * playback ids and simulcast targets (destinations). Every call is within an account scope:
 * another account's stream is as absent as one that never was.
 */
/** What the database says of a stream for its live API view; the targets' relay states are added on each read. */
interface ViewParts {
  view: Omit<LiveStreamView, 'targets'>;
  destinations: readonly DestinationRow[];
  /** Its open broadcast has a segment stored (the stream is active). */
  playing: boolean;
}

/** Freezes a value of plain objects and arrays all the way down, and returns it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** Streams whose live API view is kept: every stream of a busy server. */
const VIEW_CACHE_ENTRIES = 10_000;
/** The longest a kept view is trusted without a look at the database (see ChangeCache). */
const VIEW_CACHE_MAX_AGE_MS = 5_000;

export class LiveStreamService {
  /**
   * What `get` read of each stream, by its id in lower case: clients poll a live stream. Any
   * change to a stream, its key, playback ids, broadcasts, recordings or targets empties it
   * (ChangeCache); a segment stored drops its stream's view until one shows the stream active
   * (the first segment of a broadcast is what makes it so). The relay states of its targets are
   * the media plane's, read on each request; who may see it is checked on every read.
   */
  private readonly kept: ChangeCache<string, ViewParts>;

  constructor(
    private readonly ctx: CoreContext,
    private readonly broadcasts: BroadcastEnding,
    private readonly playbackIds: PlaybackIdService,
    private readonly relays: RelayStatusBoard,
    private readonly quotas: AccountQuotas,
    private readonly egress: EgressPolicy,
    /** Seconds of the server's reconnect window, what a stream no live API call has set waits. */
    private readonly defaultReconnectWindow: number = RECONNECT_WINDOW.default,
  ) {
    this.kept = new ChangeCache(ctx, {
      maxEntries: VIEW_CACHE_ENTRIES,
      maxAgeMs: VIEW_CACHE_MAX_AGE_MS,
      staleKeyOf: (event, peek) => {
        if (event.type !== 'segment.written') return undefined;
        const parts = peek(event.streamId);
        // Once active with this broadcast, further segments change nothing shown.
        return parts?.playing === true && parts.view.activeBroadcastId === event.broadcastId ? undefined : event.streamId;
      },
    });
  }

  async create(scope: AccountScope, input: NewLiveStream): Promise<LiveStreamView> {
    const errors = liveSettingsProblems(input);
    const targets = await this.checkTargets(input.targets ?? [], errors);
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid live stream', errors);
    const now = this.ctx.now();
    const id = newId<'StreamId'>();
    const key = newStreamKey();
    const added = await this.ctx.store.transaction(async (tx) => {
      await claimStreamSlot(tx, this.quotas, scope.accountId);
      await tx.streams.insert({
        ...newStreamRow({ id, ownerId: scope.accountId, tenant: '', key, now }),
        ...liveSettingsColumns(input),
        // A stream made here has Mux's defaults; one made by a dialect follows the server's settings.
        reconnect_window: input.reconnectWindow ?? (input.latencyMode === undefined || input.latencyMode === 'standard' ? RECONNECT_WINDOW.default : 0),
        max_continuous_duration: input.maxContinuousDuration ?? MAX_CONTINUOUS_DURATION.default,
      });
      for (const policy of input.playbackPolicies ?? []) await this.playbackIds.add(tx, { streamId: id }, policy);
      const rows: DestinationRow[] = [];
      for (const target of targets) rows.push(await this.insertTarget(tx, id, target));
      return rows;
    });
    await emit(this.ctx, { type: 'stream.created', streamId: id, ownerId: scope.accountId });
    for (const row of added) await emit(this.ctx, { type: 'destination.added', streamId: id, destinationId: row.id as DestinationId });
    return this.get(scope, id);
  }

  async get(scope: AccountScope, id: string): Promise<LiveStreamView> {
    const key = id.toLowerCase();
    const known = this.kept.get(key);
    if (known !== undefined) {
      // Who may see it is asked on every read: another account's stream is as absent as below.
      if (!inScope(scope, known.view.ownerId)) throw new NotFoundError('No such live stream');
      return this.withTargets(known);
    }
    const ticket = this.kept.ticket();
    const [parts] = await this.readParts([await this.row(scope, id)]);
    this.kept.set(key, parts!, ticket);
    return this.withTargets(parts!);
  }

  /** One page of the scope's streams, newest first; only the one with this key, or in this status, when asked. */
  async list(scope: AccountScope, filter: { streamKey?: string; status?: LiveStatus }, limit: number, offset: number): Promise<LiveStreamView[]> {
    const rows = await this.ctx.store.streams.listPage(
      { ownerId: ownerFilter(scope), ...(filter.streamKey !== undefined ? { keyDigest: secretDigest(filter.streamKey) } : {}), ...(filter.status !== undefined ? { status: filter.status } : {}) },
      limit,
      offset,
    );
    // The digest found the row; the constant-time comparison is what matches the key.
    return this.views(filter.streamKey === undefined ? rows : rows.filter((r) => secretsEqual(r.stream_key, filter.streamKey!)));
  }

  /** A stream deleted or not, for the events that report what was deleted; no scope. */
  async describe(id: StreamId): Promise<LiveStreamView | undefined> {
    const row = await this.ctx.store.streams.findAnyById(id);
    return row ? (await this.views([row]))[0] : undefined;
  }

  async update(scope: AccountScope, id: string, change: LiveSettingsChange): Promise<LiveStreamView> {
    const errors = liveSettingsProblems(change);
    if (Object.keys(errors).length > 0) throw new ValidationError('Invalid live stream', errors);
    const row = await this.row(scope, id);
    const columns = liveSettingsColumns(change);
    if (Object.keys(columns).length > 0) {
      await this.ctx.store.streams.updateLive(row.id, columns, this.ctx.now());
      await emit(this.ctx, { type: 'stream.updated', streamId: row.id as StreamId });
    }
    return this.get(scope, row.id);
  }

  /** Deletes the stream: its key opens nothing, a broadcast in progress ends, its playback ids play nothing. */
  async delete(scope: AccountScope, id: string): Promise<void> {
    const row = await this.row(scope, id);
    const streamId = row.id as StreamId;
    // Marked first: an encoder that reconnects meanwhile finds no stream to open a broadcast on.
    await this.ctx.store.streams.markDeleted(streamId, this.ctx.now());
    await this.broadcasts.end(streamId);
    await emit(this.ctx, { type: 'stream.deleted', streamId, ownerId: row.owner_id as AccountId });
  }

  /** A new key: the old one stops working at once, and a publisher using it is cut (the media plane hears the event). */
  async resetKey(scope: AccountScope, id: string): Promise<LiveStreamView> {
    const row = await this.row(scope, id);
    const key = newStreamKey();
    await this.ctx.store.streams.updateKey(row.id, key, secretDigest(key), this.ctx.now());
    await emit(this.ctx, { type: 'stream.key_changed', streamId: row.id as StreamId });
    await emit(this.ctx, { type: 'stream.updated', streamId: row.id as StreamId });
    return this.get(scope, row.id);
  }

  /** Ends the broadcast in progress now, without waiting for its reconnect window. */
  async complete(scope: AccountScope, id: string): Promise<void> {
    const row = await this.row(scope, id);
    await this.broadcasts.end(row.id as StreamId);
  }

  /** No publisher is taken from now on; a live one is cut and its broadcast ends. */
  async disable(scope: AccountScope, id: string): Promise<void> {
    const row = await this.row(scope, id);
    const streamId = row.id as StreamId;
    if (row.enabled === 1) {
      await this.ctx.store.streams.setEnabled(streamId, false, this.ctx.now());
      await emit(this.ctx, { type: 'stream.disabled', streamId });
    }
    await this.broadcasts.end(streamId);
  }

  async enable(scope: AccountScope, id: string): Promise<void> {
    const row = await this.row(scope, id);
    if (row.enabled === 1) return;
    await this.ctx.store.streams.setEnabled(row.id, true, this.ctx.now());
    await emit(this.ctx, { type: 'stream.enabled', streamId: row.id as StreamId });
  }

  async addPlaybackId(scope: AccountScope, id: string, policy: PlaybackPolicy): Promise<PlaybackId> {
    const row = await this.row(scope, id);
    const added = await this.ctx.store.transaction((tx) => this.playbackIds.add(tx, { streamId: row.id as StreamId }, policy));
    await emit(this.ctx, { type: 'stream.updated', streamId: row.id as StreamId });
    return added;
  }

  async playbackId(scope: AccountScope, id: string, playbackId: string): Promise<PlaybackId> {
    const row = await this.row(scope, id);
    return this.playbackIds.get({ streamId: row.id as StreamId }, playbackId);
  }

  async removePlaybackId(scope: AccountScope, id: string, playbackId: string): Promise<void> {
    const row = await this.row(scope, id);
    await this.playbackIds.remove({ streamId: row.id as StreamId }, playbackId);
    await emit(this.ctx, { type: 'stream.updated', streamId: row.id as StreamId });
  }

  /** Adds a simulcast target; while the stream is live its relay starts at once (the media plane hears the event). */
  async addTarget(scope: AccountScope, id: string, input: NewSimulcastTarget): Promise<SimulcastTarget> {
    const errors: FieldErrors = {};
    const [target] = await this.checkTargets([input], errors);
    if (!target) throw new ValidationError('Invalid simulcast target', errors);
    const row = await this.row(scope, id);
    const streamId = row.id as StreamId;
    const inserted = await this.ctx.store.transaction(async (tx) => {
      if ((await tx.destinations.listByStream(streamId)).length >= MAX_SIMULCAST_TARGETS) {
        throw new ValidationError('Too many simulcast targets', { simulcast_targets: `a stream may have at most ${MAX_SIMULCAST_TARGETS}` });
      }
      return this.insertTarget(tx, streamId, target);
    });
    await emit(this.ctx, { type: 'destination.added', streamId, destinationId: inserted.id as DestinationId });
    return this.toTarget(inserted, row.owner_id);
  }

  async target(scope: AccountScope, id: string, targetId: string): Promise<SimulcastTarget> {
    const stream = await this.row(scope, id);
    return this.toTarget(await this.targetRow(scope, id, targetId), stream.owner_id);
  }

  async removeTarget(scope: AccountScope, id: string, targetId: string): Promise<void> {
    const row = await this.targetRow(scope, id, targetId);
    await this.ctx.store.destinations.delete(row.id);
    await emit(this.ctx, { type: 'destination.removed', streamId: row.stream_id as StreamId, destinationId: row.id as DestinationId });
  }

  /**
   * Each simulcast target's switch and its relay's state, with the relay's last error in words
   * (the dashboard's view of its targets).
   */
  async targetStates(scope: AccountScope, id: string): Promise<SimulcastTargetState[]> {
    const stream = await this.row(scope, id);
    const rows = await this.ctx.store.destinations.listByStream(stream.id);
    return rows.map((row) => this.targetState(row));
  }

  /** Switches a simulcast target on or off; while the stream is live its relay follows at once (the media plane hears the event). */
  async setTargetEnabled(scope: AccountScope, id: string, targetId: string, enabled: boolean): Promise<SimulcastTargetState> {
    const row = await this.targetRow(scope, id, targetId);
    if ((row.enabled === 1) !== enabled) {
      await this.ctx.store.destinations.setEnabled(row.id, enabled);
      await emit(this.ctx, { type: 'destination.updated', streamId: row.stream_id as StreamId, destinationId: row.id as DestinationId });
    }
    return this.targetState({ ...row, enabled: enabled ? 1 : 0 });
  }

  private targetState(row: DestinationRow): SimulcastTargetState {
    const status = this.relays.get(row.id as DestinationId, row.stream_id as StreamId);
    return { id: row.id as DestinationId, enabled: row.enabled === 1, state: status.state, lastError: status.lastError };
  }

  /** The simulcast target a destination is (for the events that report its state). */
  async describeTarget(destinationId: DestinationId): Promise<(SimulcastTarget & { ownerId: AccountId }) | undefined> {
    const row = await this.ctx.store.destinations.findById(destinationId);
    const stream = row ? await this.ctx.store.streams.findAnyById(row.stream_id) : undefined;
    return row && stream ? { ...this.toTarget(row, stream.owner_id), ownerId: stream.owner_id as AccountId } : undefined;
  }

  private async targetRow(scope: AccountScope, id: string, targetId: string): Promise<DestinationRow> {
    const stream = await this.row(scope, id);
    const row = isUuid(targetId) ? await this.ctx.store.destinations.findById(targetId.toLowerCase()) : undefined;
    if (!row || row.stream_id !== stream.id) throw new NotFoundError('No such simulcast target');
    return row;
  }

  /** The targets as they will be stored, each URL checked as relays will connect to it; problems go to `errors`. */
  private async checkTargets(inputs: NewSimulcastTarget[], errors: FieldErrors): Promise<Required<NewSimulcastTarget>[]> {
    if (inputs.length > MAX_SIMULCAST_TARGETS) {
      errors.simulcast_targets = `a stream may have at most ${MAX_SIMULCAST_TARGETS}`;
      return [];
    }
    const checked: Required<NewSimulcastTarget>[] = [];
    for (const [i, input] of inputs.entries()) {
      const field = inputs.length > 1 || errors.simulcast_targets !== undefined ? `simulcast_targets[${i}]` : 'url';
      const key = input.streamKey ?? '';
      if (key !== '' && destinationKeyProblem('Twitch', key)) {
        errors[field === 'url' ? 'stream_key' : `${field}.stream_key`] = 'must be printable ASCII without spaces, "/", "?" or "#"';
        continue;
      }
      if (input.passthrough && input.passthrough.length > PASSTHROUGH_MAX_LENGTH) {
        errors[field === 'url' ? 'passthrough' : `${field}.passthrough`] = `must be at most ${PASSTHROUGH_MAX_LENGTH} characters`;
        continue;
      }
      const url = customPublishUrl(input.url, key);
      const problem = destinationKeyProblem('RTMP', url) ?? (await this.egress.urlRefusal(url, ['rtmp', 'rtmps']));
      if (problem) {
        errors[field === 'url' ? 'url' : `${field}.url`] = problem;
        continue;
      }
      checked.push({ url: input.url, streamKey: key, passthrough: input.passthrough ?? null });
    }
    return checked;
  }

  private async insertTarget(tx: Repositories, streamId: StreamId, target: Required<NewSimulcastTarget>): Promise<DestinationRow> {
    const row: DestinationRow = {
      id: newId<'DestinationId'>(),
      number: await tx.sequences.next('destination'),
      stream_id: streamId,
      service: 'RTMP',
      stream_key: target.streamKey ?? '',
      url: target.url,
      enabled: 1,
      ffmpeg_args: null,
      created_at: this.ctx.now(),
      key_owner_id: null,
      passthrough: target.passthrough,
    };
    await tx.destinations.insert(row);
    return row;
  }

  private toTarget(row: DestinationRow, streamOwner: string): SimulcastTarget {
    const streamId = row.stream_id as StreamId;
    const isCustom = row.service === 'RTMP';
    const state = this.relays.get(row.id as DestinationId, streamId).state;
    // A destination whose key is another person's (a network account shared with the owner) shows
    // where it goes, never the key.
    if (row.key_owner_id !== null && row.key_owner_id !== streamOwner) {
      const url = isCustom ? redactPublishUrl(customPublishUrl(row.url, row.stream_key)) : `${row.service.toLowerCase()}:`;
      return { id: row.id as DestinationId, streamId, url, streamKey: '', passthrough: row.passthrough, state };
    }
    return {
      id: row.id as DestinationId,
      streamId,
      // A destination made by a dialect shows as the URL it publishes to.
      url: isCustom && row.url !== null ? row.url : isCustom ? row.stream_key : `${row.service.toLowerCase()}:`,
      streamKey: isCustom && row.url !== null ? row.stream_key : '',
      passthrough: row.passthrough,
      state,
    };
  }

  private async row(scope: AccountScope, id: string): Promise<StreamRow> {
    const row = isUuid(id) ? await this.ctx.store.streams.findById(id.toLowerCase()) : undefined;
    if (!row || !inScope(scope, row.owner_id)) throw new NotFoundError('No such live stream');
    return row;
  }

  private async views(rows: StreamRow[]): Promise<LiveStreamView[]> {
    return (await this.readParts(rows)).map((parts) => this.withTargets(parts));
  }

  /** The view with its targets, each with its relay's state now (the media plane's, never kept). */
  private withTargets(parts: ViewParts): LiveStreamView {
    return { ...parts.view, targets: parts.destinations.map((d) => this.toTarget(d, parts.view.ownerId)) };
  }

  /** What the database says of each stream: its view but the targets' relay states. */
  private async readParts(rows: StreamRow[]): Promise<ViewParts[]> {
    const ids = rows.map((r) => r.id as StreamId);
    const playback = await this.playbackIds.ofStreams(ids);
    return Promise.all(
      rows.map(async (row): Promise<ViewParts> => {
        const streamId = row.id as StreamId;
        const [open, recent, destinations] = await Promise.all([
          this.ctx.store.broadcasts.findOpen(streamId),
          this.ctx.store.broadcasts.recentRecordings(streamId, RECENT_RECORDINGS),
          this.ctx.store.destinations.listByStream(streamId),
        ]);
        const live = open !== undefined && row.deleted_at === null;
        // Active once the broadcast plays (its first segment stored), as Mux's streams are.
        const playing = live && ((await this.ctx.store.segments.totals([open.id])).get(open.id)?.segments ?? 0) > 0;
        const settings = liveSettingsOf(row);
        // Kept by the cache and shared by the reads it answers: frozen, so none can change another's.
        return deepFreeze({
          view: {
            id: streamId,
            ownerId: row.owner_id as AccountId,
            key: row.stream_key as StreamKey,
            title: row.title,
            createdAt: row.created_at,
            settings: { ...settings, reconnectWindow: settings.reconnectWindow ?? this.defaultReconnectWindow },
            status: liveStatus(row.enabled === 1, playing),
            connected: live && open.publishing === 1,
            playbackIds: playback.get(streamId) ?? [],
            activeBroadcastId: live ? (open.id as BroadcastId) : null,
            recentBroadcastIds: recent.map((b) => b.id as BroadcastId).reverse(),
          },
          destinations,
          playing,
        });
      }),
    );
  }
}
