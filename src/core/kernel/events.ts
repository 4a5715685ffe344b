import type { AccountId, AppId, BroadcastId, CommentId, DestinationId, StreamId, VersionId } from './ids.js';

/*
 * The event contract is a leaf of the core: every type an event carries is declared here, so
 * the services that emit or hear events depend on this file and it depends on none of them.
 */

/** Where a relay to one destination stands. */
export type RelayState = 'idle' | 'connecting' | 'live' | 'error';

export interface RelayStatus {
  destinationId: DestinationId;
  streamId: StreamId;
  state: RelayState;
  /** Why the last attempt failed, or null. Never contains the destination's key. */
  lastError: string | null;
  /** Bytes pushed to the destination during the current broadcast. */
  bytesSent: number;
  /** Connections made again after the first, during the current broadcast. */
  reconnects: number;
  /** When the relay entered its state (ISO-8601). */
  since: string;
}

/** What a chat message is: words, an action ("/me waves"), or a line the server writes itself. */
export type ChatMessageKind = 'text' | 'emote' | 'status';

/** What a status message reports. */
export type ChatStatus = 'live' | 'ended';

/** A stored chat message, as the bus carries it (plain JSON, no secrets). */
export interface ChatMessage {
  streamId: StreamId;
  /** Numbered per stream from 1 in the order the messages were stored. */
  id: number;
  kind: ChatMessageKind;
  from: {
    name: string;
    /** The account that posted it; null for injected and status messages. */
    accountId: AccountId | null;
    picture: string | null;
  };
  network: { name: string; icon: string | null; iconCss: string | null };
  text: string;
  markdown: string | null;
  /** Set on status messages only. */
  status: ChatStatus | null;
  /** When it was stored, ISO-8601 UTC. */
  at: string;
}

/**
 * What happens in the domain, as the bus carries it. Adapters, the media plane, webhooks
 * and chat listen; none of these events carries a secret (no stream keys).
 */
export type DomainEvent =
  | { type: 'account.created'; accountId: AccountId }
  | { type: 'stream.created'; streamId: StreamId; ownerId: AccountId }
  /** The stream's key was replaced: a publisher using the old one is cut. */
  | { type: 'stream.key_changed'; streamId: StreamId }
  /** Its title or live settings changed. */
  | { type: 'stream.updated'; streamId: StreamId }
  | { type: 'stream.enabled'; streamId: StreamId }
  /** It takes no publisher from now on (a live one was cut when its broadcast ended). */
  | { type: 'stream.disabled'; streamId: StreamId }
  | { type: 'stream.deleted'; streamId: StreamId; ownerId: AccountId }
  /** An ended broadcast's recording is final: every segment it will have is stored. */
  | { type: 'recording.finished'; streamId: StreamId; broadcastId: BroadcastId }
  /** A broadcast's recording was deleted, media and all. */
  | { type: 'recording.deleted'; streamId: StreamId; broadcastId: BroadcastId; ownerId: AccountId }
  /** An account's live API event was logged (webhooks and event streams read the log from `seq`). */
  | { type: 'live_event.logged'; accountId: AccountId; seq: number }
  | { type: 'destination.added'; streamId: StreamId; destinationId: DestinationId }
  | { type: 'destination.updated'; streamId: StreamId; destinationId: DestinationId }
  | { type: 'destination.removed'; streamId: StreamId; destinationId: DestinationId }
  | { type: 'relay.status'; status: RelayStatus }
  | { type: 'site.theme_added'; siteId: string; themeId: number }
  | { type: 'broadcast.started'; streamId: StreamId; broadcastId: BroadcastId; at: string }
  | { type: 'broadcast.ended'; streamId: StreamId; broadcastId: BroadcastId; at: string }
  | { type: 'publish.started'; streamId: StreamId; broadcastId: BroadcastId; resumed: boolean; at: string }
  | { type: 'publish.ended'; streamId: StreamId; broadcastId: BroadcastId; at: string }
  /** Relays to the stream's destinations were switched on (at publish, or by "go live" after a preview). */
  | { type: 'stream.push_started'; streamId: StreamId; at: string }
  /** Relays were switched off ("stop", or the broadcast ended while they were on). */
  | { type: 'stream.push_stopped'; streamId: StreamId; at: string }
  /** A puller was switched on; `nodeId` is the node that runs it. */
  | { type: 'stream.pull_started'; streamId: StreamId; nodeId: string; at: string }
  /** A puller was switched off (by a user, or after it failed too often); the node running it stops it. */
  | { type: 'stream.pull_stopped'; streamId: StreamId; at: string }
  /**
   * Who may watch a stream, or one broadcast's recording when `broadcastId` is set, may have
   * changed (its privacy, its playback ids, it was deleted): every node drops what it keeps of it.
   */
  | { type: 'playback.access_changed'; streamId: StreamId; broadcastId: BroadcastId | null }
  | { type: 'segment.written'; streamId: StreamId; broadcastId: BroadcastId; sequence: number; duration: number }
  | { type: 'api_token.issued'; accountId: AccountId; rotated: boolean }
  /** A live API access token was revoked: every node refuses it from now on (caches of verified credentials drop it). */
  | { type: 'access_token.revoked'; accountId: AccountId }
  /** An account's credentials or name changed (a password change ends the tokens issued before it). */
  | { type: 'account.updated'; accountId: AccountId }
  | { type: 'app.created'; appId: AppId; ownerId: AccountId }
  | { type: 'app.updated'; appId: AppId }
  | { type: 'app.deleted'; appId: AppId; ownerId: AccountId }
  | { type: 'version.created'; versionId: VersionId; appId: AppId }
  | { type: 'version.updated'; versionId: VersionId; appId: AppId }
  | { type: 'version.state_changed'; versionId: VersionId; appId: AppId; state: 'pending' | 'processing' | 'ready' | 'failed' }
  | { type: 'version.deleted'; versionId: VersionId; appId: AppId }
  | { type: 'comment.created'; commentId: CommentId; versionId: VersionId }
  | { type: 'comment.deleted'; commentId: CommentId; versionId: VersionId }
  /** A chat message was stored (posted, injected, or a status line); every node's chat sockets deliver it. */
  | { type: 'chat.message'; streamId: StreamId; message: ChatMessage }
  /** A stream's owner deleted a chat message; every node's chat listeners drop it. */
  | { type: 'chat.deleted'; streamId: StreamId; messageId: number }
  /** How many watch a stream now, from the node that holds its publisher; not stored. */
  | { type: 'chat.viewcount'; streamId: StreamId; viewers: number; at: string };

export type DomainEventType = DomainEvent['type'];
