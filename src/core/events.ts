import type { AccountId, BroadcastId, DestinationId, StreamId } from './ids.js';
import type { RelayStatus } from './relays.js';

/**
 * What happens in the domain, as the bus carries it. Adapters, the media plane, webhooks
 * and chat listen; none of these events carries a secret (no stream keys).
 */
export type DomainEvent =
  | { type: 'account.created'; accountId: AccountId }
  | { type: 'stream.created'; streamId: StreamId; ownerId: AccountId }
  | { type: 'stream.key_changed'; streamId: StreamId }
  | { type: 'destination.added'; streamId: StreamId; destinationId: DestinationId }
  | { type: 'destination.updated'; streamId: StreamId; destinationId: DestinationId }
  | { type: 'destination.removed'; streamId: StreamId; destinationId: DestinationId }
  | { type: 'relay.status'; status: RelayStatus }
  | { type: 'site.theme_added'; siteId: string; themeId: number }
  | { type: 'broadcast.started'; streamId: StreamId; broadcastId: BroadcastId; at: string }
  | { type: 'broadcast.ended'; streamId: StreamId; broadcastId: BroadcastId; at: string }
  | { type: 'publish.started'; streamId: StreamId; broadcastId: BroadcastId; resumed: boolean; at: string }
  | { type: 'publish.ended'; streamId: StreamId; broadcastId: BroadcastId; at: string }
  | { type: 'segment.written'; streamId: StreamId; broadcastId: BroadcastId; sequence: number; duration: number };

export type DomainEventType = DomainEvent['type'];
