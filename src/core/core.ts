import { AccountService } from './accounts/accounts.js';
import { ApiClientRegistry } from './accounts/api-clients.js';
import { ApiTokenService } from './accounts/api-tokens.js';
import { DEFAULT_LOGIN_THROTTLE, LoginThrottle, type LoginThrottleSettings } from './accounts/login-throttle.js';
import { AccountQuotas, DEFAULT_ACCOUNT_QUOTAS, type AccountQuotaLimits } from './accounts/quotas.js';
import { AppService } from './dialects/kickfolio/apps.js';
import type { BlobStore } from '../blob/blob-store.js';
import { CallbackOutbox } from './webhooks/outbox.js';
import { BroadcastService } from './broadcasts/broadcasts.js';
import type { Bus } from '../bus/bus.js';
import type { CoreContext } from './kernel/context.js';
import type { DomainEvent } from './kernel/events.js';
import type { IngestServers } from './relays/destinations.js';
import { RelayStatusBoard } from './relays/status-board.js';
import { SiteSessionService } from './dialects/streamapi/site-sessions.js';
import { SiteService } from './dialects/streamapi/sites.js';
import { StreamService } from './streams/streams.js';
import { VersionQueue } from './dialects/kickfolio/version-queue.js';
import { ViewingService } from './playback/viewing.js';
import { GoLiveService } from './broadcasts/go-live.js';
import { WebhookService } from './dialects/multistreamer/webhooks.js';
import { MultipartUploadService } from './uploads/multipart.js';
import { UploadObjectService } from './uploads/objects.js';
import { DEFAULT_UPLOAD_OPTIONS, UploadService, type UploadOptions } from './uploads/credentials.js';
import { ChatService } from './chat/chat.js';
import type { ChatSettings } from './chat/input.js';
import { ApiClientService } from './dialects/kickflip/oauth-clients.js';
import { TenantUserService } from './dialects/kickflip/tenant-users.js';
import { TenantStreamService } from './dialects/kickflip/tenant-streams.js';
import { StreamSearchService } from './dialects/kickflip/stream-search.js';
import { StreamFlagService } from './dialects/kickflip/stream-flags.js';
import { AccessTokenService as MultistreamerTokenService } from './dialects/multistreamer/access-tokens.js';
import { StreamAccessService } from './streams/sharing.js';
import { NetworkAccountService } from './dialects/multistreamer/network-accounts.js';
import { MultistreamService } from './dialects/multistreamer/multistreams.js';
import { EgressPolicy } from './egress/policy.js';
import { AccessTokenService } from './accounts/access-tokens.js';
import { PlaybackIdService } from './playback/playback-ids.js';
import { SigningKeyService } from './playback/signing-keys.js';
import { LiveStreamService } from './streams/live-streams.js';
import { RecordingService } from './broadcasts/recordings.js';
import { WebhookEndpointService } from './webhooks/endpoints.js';
import { LiveEventLog } from './webhooks/live-events.js';
import { SessionService } from './accounts/sessions.js';

/** Seconds an OAuth2 access token lives unless the server is told otherwise (30 days). */
export const DEFAULT_TOKEN_TTL = 30 * 24 * 3600;

/** The domain services, wired once and handed to every adapter and to the media plane. */
export class Core {
  /** The events of the domain (this node's and, over Redis, every node's), for those who follow them. */
  readonly events: Bus<DomainEvent>;
  /** Where the server may connect on a user's behalf (webhooks, callbacks, relays, pullers, downloads). */
  readonly egress: EgressPolicy;
  readonly accounts: AccountService;
  readonly streams: StreamService;
  readonly broadcasts: BroadcastService;
  readonly relays: RelayStatusBoard;
  readonly sites: SiteService;
  readonly siteSessions: SiteSessionService;
  readonly callbacks: CallbackOutbox;
  readonly viewing: ViewingService;
  readonly apiTokens: ApiTokenService;
  readonly apps: AppService;
  readonly versionQueue: VersionQueue;
  /** Temporary S3 credentials of stream uploaders. */
  readonly uploads: UploadService;
  /** Multipart uploads in progress through the S3-compatible endpoint. */
  readonly multipartUploads: MultipartUploadService;
  /** Uploaded objects, and the broadcasts and recordings they make. */
  readonly uploadObjects: UploadObjectService;
  /** Go live after a preview (relays on/off) and the puller switch. */
  readonly goLive: GoLiveService;
  /** A stream's webhooks (Multistreamer). */
  readonly webhooks: WebhookService;
  /** One chat per stream (Multistreamer's chat), stored and spread over the bus. */
  readonly chat: ChatService;
  /** OAuth2 API clients (Kickflip apps) and their access tokens. */
  readonly apiClients: ApiClientService;
  /** Users of an API client (Kickflip users). */
  readonly tenantUsers: TenantUserService;
  /** Streams of an API client's users, with metadata and upload areas (Kickflip streams). */
  readonly tenantStreams: TenantStreamService;
  readonly streamSearch: StreamSearchService;
  readonly streamFlags: StreamFlagService;
  /** Multistreamer users' integer ids and access tokens. */
  readonly accessTokens: MultistreamerTokenService;
  /** What a user may do with a stream shared to them (chat and metadata levels). */
  readonly streamAccess: StreamAccessService;
  /** Twitch, YouTube and custom RTMP accounts that streams relay to. */
  readonly networkAccounts: NetworkAccountService;
  /** Streams as Multistreamer users keep them: names, attached accounts, shares, webhooks. */
  readonly multistreams: MultistreamService;
  /** The live API's credentials: HTTP Basic `id:secret`, full or read-only, per account. */
  readonly liveApiTokens: AccessTokenService;
  /** What players name to watch a stream or a recording. */
  readonly playbackIds: PlaybackIdService;
  /** URL signing keys of signed playback. */
  readonly signingKeys: SigningKeyService;
  /** Streams as the live API sees them (Mux's live streams). */
  readonly liveStreams: LiveStreamService;
  /** Broadcasts' recordings (Mux's assets). */
  readonly recordings: RecordingService;
  /** The live API's webhook endpoints, with their delivery log. */
  readonly webhookEndpoints: WebhookEndpointService;
  /** The live API's events of each account, in order (webhooks, event streams). */
  readonly liveEvents: LiveEventLog;
  /** Dashboard sign-ins (a cookie instead of an access token), and the first run's administrator. */
  readonly sessions: SessionService;

  constructor(
    readonly ctx: CoreContext,
    options: {
      ingestServers: IngestServers;
      blobs: BlobStore;
      uploads?: UploadOptions;
      nodeId?: string;
      chat?: Partial<ChatSettings>;
      tokenTtl?: number;
      /** Private networks stay closed unless given a policy that opens them. */
      egress?: EgressPolicy;
      /** The only directory pullers may read local files from (`--pull-file-dir`); none by default. */
      pullFileDir?: string | null;
      /** How fast passwords may be tried (every dialect's logins). */
      login?: LoginThrottleSettings;
      /** How many streams, apps and webhooks one account may hold. */
      quotas?: AccountQuotaLimits;
      /** Seconds a broadcast waits for its publisher by default (`--reconnect-window`). */
      reconnectWindow?: number;
    },
  ) {
    this.events = ctx.bus;
    this.egress = options.egress ?? new EgressPolicy(false);
    const clients = new ApiClientRegistry(ctx);
    const throttle = new LoginThrottle(ctx, options.login ?? DEFAULT_LOGIN_THROTTLE);
    const quotas = new AccountQuotas(options.quotas ?? DEFAULT_ACCOUNT_QUOTAS);
    this.accounts = new AccountService(ctx, throttle);
    this.accessTokens = new MultistreamerTokenService(ctx);
    this.streamAccess = new StreamAccessService(ctx);
    this.networkAccounts = new NetworkAccountService(ctx, options.ingestServers, this.egress);
    this.streams = new StreamService(ctx, options.ingestServers, quotas, this.egress);
    this.broadcasts = new BroadcastService(ctx, this.streams);
    this.relays = new RelayStatusBoard(ctx);
    this.sites = new SiteService(ctx, clients, this.egress);
    this.siteSessions = new SiteSessionService(ctx, quotas);
    this.callbacks = new CallbackOutbox(ctx);
    this.viewing = new ViewingService(ctx);
    this.apiTokens = new ApiTokenService(ctx, this.accounts);
    this.apps = new AppService(ctx, options.blobs, quotas, this.egress);
    this.versionQueue = new VersionQueue(ctx, options.blobs);
    this.uploads = new UploadService(ctx, options.uploads ?? DEFAULT_UPLOAD_OPTIONS, (name, make) => this.secret(name, make));
    this.multipartUploads = new MultipartUploadService(ctx, options.blobs);
    this.uploadObjects = new UploadObjectService(ctx, this.broadcasts, this.viewing);
    // A puller switched on through this core runs on this node (a CLI core has none to run it).
    // Go-live settings are Multistreamer's (read when asked, so wiring order does not matter).
    this.goLive = new GoLiveService(ctx, options.nodeId ?? 'cli', { fileDir: options.pullFileDir ?? null, egress: this.egress }, (streamId) => this.multistreams.goLiveSettings(streamId));
    this.webhooks = new WebhookService(ctx, this.egress, quotas);
    this.multistreams = new MultistreamService(ctx, options.ingestServers, this.networkAccounts, this.goLive, this.webhooks, this.broadcasts, quotas);
    // Chat levels are the Multistreamer shares' (looked up when asked, so wiring order does not matter).
    this.chat = new ChatService(ctx, this.accounts, { of: (accountId, streamId) => this.streamAccess.of(accountId, streamId) }, options.chat);
    this.apiClients = new ApiClientService(ctx, clients, options.tokenTtl ?? DEFAULT_TOKEN_TTL);
    this.tenantUsers = new TenantUserService(ctx, throttle);
    this.tenantStreams = new TenantStreamService(ctx, this.broadcasts, this.uploads, quotas);
    this.streamSearch = new StreamSearchService(ctx);
    this.streamFlags = new StreamFlagService(ctx, this.tenantStreams);
    this.liveApiTokens = new AccessTokenService(ctx, this.accounts);
    this.playbackIds = new PlaybackIdService(ctx);
    this.signingKeys = new SigningKeyService(ctx);
    this.liveStreams = new LiveStreamService(ctx, this.broadcasts, this.playbackIds, this.relays, quotas, this.egress, options.reconnectWindow);
    this.recordings = new RecordingService(ctx, options.blobs, this.playbackIds);
    this.webhookEndpoints = new WebhookEndpointService(ctx, this.callbacks, this.egress, quotas);
    this.liveEvents = new LiveEventLog(ctx, this.webhookEndpoints);
    this.sessions = new SessionService(ctx, this.accounts);
  }

  /** A secret this installation keeps in its database, made on first use (signing keys). */
  secret(name: string, make: () => string): Promise<string> {
    return this.ctx.store.settings.getOrInit(`secret:${name}`, make());
  }
}
