import { AccountService } from './accounts.js';
import { ApiTokenService } from './api-tokens.js';
import { AppService } from './apps.js';
import type { BlobStore } from '../blob/blob-store.js';
import { CallbackOutbox } from './callbacks.js';
import { BroadcastService } from './broadcasts.js';
import type { CoreContext } from './context.js';
import type { IngestServers } from './destinations.js';
import { RelayStatusBoard } from './relays.js';
import { SiteSessionService } from './site-sessions.js';
import { SiteService } from './sites.js';
import { StreamService } from './streams.js';
import { VersionQueue } from './version-queue.js';
import { ViewingService } from './viewing.js';

/** The domain services, wired once and handed to every adapter and to the media plane. */
export class Core {
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

  constructor(
    readonly ctx: CoreContext,
    options: { ingestServers: IngestServers; blobs: BlobStore },
  ) {
    this.accounts = new AccountService(ctx);
    this.streams = new StreamService(ctx, options.ingestServers);
    this.broadcasts = new BroadcastService(ctx, this.streams);
    this.relays = new RelayStatusBoard(ctx);
    this.sites = new SiteService(ctx);
    this.siteSessions = new SiteSessionService(ctx);
    this.callbacks = new CallbackOutbox(ctx);
    this.viewing = new ViewingService(ctx);
    this.apiTokens = new ApiTokenService(ctx, this.accounts);
    this.apps = new AppService(ctx, options.blobs);
    this.versionQueue = new VersionQueue(ctx, options.blobs);
  }

  /** A secret this installation keeps in its database, made on first use (signing keys). */
  secret(name: string, make: () => string): Promise<string> {
    return this.ctx.store.settings.getOrInit(`secret:${name}`, make());
  }
}
