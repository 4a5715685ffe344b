import { randomUUID } from 'node:crypto';
import type { Core } from '../../core/core.js';
import type { LocalObserver } from '../../core/kernel/context.js';
import type { DomainEvent, RelayState } from '../../core/kernel/events.js';
import type { AccountId, BroadcastId, DestinationId, StreamId } from '../../core/kernel/ids.js';
import { presentAsset, presentLiveStream, presentTarget, targetStatus } from './present.js';

/** What Mux's events name as their object. */
type ObjectType = 'live' | 'asset' | 'simulcast_target';

/**
 * The live API's events, made from the domain's as they happen on this node (a local observer:
 * each domain event is observed once in the cluster, so each live API event is logged once).
 * Each is Mux's JSON, `data` the object as the API shows it at that moment, in the order Mux
 * sends them for a broadcast:
 *
 *   video.live_stream.connected → video.asset.created → video.live_stream.recording →
 *   (first segment) video.live_stream.active → video.asset.ready →
 *   video.live_stream.disconnected → (reconnect window over) video.live_stream.idle →
 *   video.asset.live_stream_completed
 *
 * and simulcast targets `starting`, `broadcasting`, `errored`, `idle` as their relays move.
 */
export function liveApiEvents(core: Core, environment: { id: string; name: string }): LocalObserver {
  /** Broadcasts whose first segment was announced (active, asset ready), so later ones are not looked at. */
  const announced = new Set<BroadcastId>();
  /** The last state reported per target, so the relay's frequent reports make one event per change. */
  const targetStates = new Map<DestinationId, RelayState>();

  const log = async (accountId: AccountId, type: string, object: { type: ObjectType; id: string }, data: unknown) => {
    const id = randomUUID();
    const body = JSON.stringify({
      type,
      id,
      created_at: new Date(core.ctx.now()).toISOString(),
      object,
      data,
      environment,
      attempts: [],
      accessor: null,
      accessor_source: null,
      request_id: null,
    });
    await core.liveEvents.append(accountId, { id, type, body });
  };

  const stream = async (streamId: StreamId, type: string, extra: Record<string, unknown> = {}) => {
    const view = await core.liveStreams.describe(streamId);
    if (!view) return;
    const data = presentLiveStream(view);
    // In webhook payloads Mux writes `created_at` as a number (the SDK's WebhookLiveStream type).
    await log(view.ownerId, `video.live_stream.${type}`, { type: 'live', id: view.id }, { ...data, created_at: Number(data.created_at), connected: view.connected, recording: view.activeBroadcastId !== null, ...extra });
  };

  const asset = async (broadcastId: BroadcastId, type: string) => {
    const view = await core.recordings.describe(broadcastId);
    if (!view) return;
    const data = presentAsset(view);
    await log(view.ownerId, `video.asset.${type}`, { type: 'asset', id: view.id }, { ...data, created_at: Number(data.created_at) });
  };

  const target = async (destinationId: DestinationId, type: string) => {
    const view = await core.liveStreams.describeTarget(destinationId);
    if (!view) return;
    await log(view.ownerId, `video.live_stream.simulcast_target.${type}`, { type: 'simulcast_target', id: view.id }, { ...presentTarget(view), live_stream_id: view.streamId });
  };

  return async (event: DomainEvent) => {
    switch (event.type) {
      case 'stream.created':
        return stream(event.streamId, 'created');
      case 'stream.updated':
        return stream(event.streamId, 'updated');
      case 'stream.enabled':
        return stream(event.streamId, 'enabled');
      case 'stream.disabled':
        return stream(event.streamId, 'disabled');
      case 'stream.deleted':
        return stream(event.streamId, 'deleted');
      case 'publish.started':
        await stream(event.streamId, 'connected');
        if (!event.resumed) await asset(event.broadcastId, 'created');
        return stream(event.streamId, 'recording');
      case 'segment.written': {
        if (announced.has(event.broadcastId)) return;
        announced.add(event.broadcastId);
        // A resumed broadcast (or one this node took over) was announced before.
        if ((await core.recordings.segmentCount(event.broadcastId)) !== 1) return;
        await stream(event.streamId, 'active');
        return asset(event.broadcastId, 'ready');
      }
      case 'publish.ended':
        return stream(event.streamId, 'disconnected', { active_asset_id: event.broadcastId });
      case 'broadcast.ended':
        announced.delete(event.broadcastId);
        // Mux names the asset that just ended on the idle event.
        return stream(event.streamId, 'idle', { active_asset_id: event.broadcastId });
      case 'recording.finished': {
        // Reported once the last segment is stored, so the asset shows its whole duration.
        const view = await core.recordings.describe(event.broadcastId);
        return asset(event.broadcastId, view?.status === 'errored' ? 'errored' : 'live_stream_completed');
      }
      case 'recording.deleted':
        return log(event.ownerId, 'video.asset.deleted', { type: 'asset', id: event.broadcastId }, { id: event.broadcastId, live_stream_id: event.streamId, status: 'deleted' });
      case 'destination.added':
        return target(event.destinationId, 'created');
      case 'destination.removed': {
        targetStates.delete(event.destinationId);
        const owner = await core.liveStreams.describe(event.streamId);
        if (!owner) return;
        return log(owner.ownerId, 'video.live_stream.simulcast_target.deleted', { type: 'simulcast_target', id: event.destinationId }, { id: event.destinationId, live_stream_id: event.streamId });
      }
      case 'relay.status': {
        const { destinationId, state } = event.status;
        if (targetStates.get(destinationId) === state || (state === 'idle' && !targetStates.has(destinationId))) return;
        targetStates.set(destinationId, state);
        return target(destinationId, targetStatus(state));
      }
      default:
        return;
    }
  };
}
