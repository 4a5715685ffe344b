import type { AccountId, AppId, BroadcastId, CommentId, DestinationId, StreamId, VersionId } from './ids.js';
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
  | { type: 'segment.written'; streamId: StreamId; broadcastId: BroadcastId; sequence: number; duration: number }
  | { type: 'api_token.issued'; accountId: AccountId; rotated: boolean }
  | { type: 'app.created'; appId: AppId; ownerId: AccountId }
  | { type: 'app.updated'; appId: AppId }
  | { type: 'app.deleted'; appId: AppId; ownerId: AccountId }
  | { type: 'version.created'; versionId: VersionId; appId: AppId }
  | { type: 'version.updated'; versionId: VersionId; appId: AppId }
  | { type: 'version.state_changed'; versionId: VersionId; appId: AppId; state: 'pending' | 'processing' | 'ready' | 'failed' }
  | { type: 'version.deleted'; versionId: VersionId; appId: AppId }
  | { type: 'comment.created'; commentId: CommentId; versionId: VersionId }
  | { type: 'comment.deleted'; commentId: CommentId; versionId: VersionId };

export type DomainEventType = DomainEvent['type'];
