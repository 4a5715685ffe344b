import { Migrator, sql, type Kysely } from 'kysely';
import { openDatabase, type DatabaseLocation } from './database.js';
import { migrationProvider } from './migrations/index.js';
import type { Executor } from './database.js';
import type { Database } from './schema.js';
import { AccountRepository, ApiClientRepository, ApiTokenRepository, LoginAttemptRepository } from './repositories/accounts.js';
import { BroadcastRepository, GoLiveRepository, SegmentRepository } from './repositories/broadcasts.js';
import { ChatRepository } from './repositories/chat.js';
import { DestinationRepository } from './repositories/relays.js';
import { SequenceRepository, SettingsRepository } from './repositories/settings.js';
import { StreamRepository, StreamShareRepository } from './repositories/streams.js';
import { MultipartUploadRepository, UploadBroadcastRepository, UploadCredentialRepository, UploadObjectRepository } from './repositories/uploads.js';
import { CallbackRepository, LiveEventRepository, WebhookEndpointRepository } from './repositories/webhooks.js';
import { PlaybackIdRepository, SigningKeyRepository } from './repositories/playback.js';
import { AccessTokenRepository, SessionRepository } from './repositories/access-tokens.js';
import { OauthTokenRepository, StreamFlagRepository, StreamMetadataRepository, TenantUserRepository } from './repositories/dialects/kickflip.js';
import { AppRepository, CommentRepository, VersionRepository } from './repositories/dialects/kickfolio.js';
import { MsStreamRepository, MsUserRepository, NetworkAccountRepository, StreamAccountRepository, WebhookRepository } from './repositories/dialects/multistreamer.js';
import { SiteThemeRepository } from './repositories/dialects/streamapi.js';

/** The schema unqualified names resolve to on PostgreSQL (the first of the search path that exists). */
async function currentSchema(db: Kysely<Database>): Promise<string | undefined> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema ?? undefined;
}

/** The repositories, bound to the database or to one transaction. */
export class Repositories {
  readonly accounts: AccountRepository;
  readonly streams: StreamRepository;
  readonly broadcasts: BroadcastRepository;
  readonly destinations: DestinationRepository;
  readonly settings: SettingsRepository;
  readonly sequences: SequenceRepository;
  readonly segments: SegmentRepository;
  readonly apiClients: ApiClientRepository;
  readonly siteThemes: SiteThemeRepository;
  readonly callbacks: CallbackRepository;
  readonly apiTokens: ApiTokenRepository;
  readonly apps: AppRepository;
  readonly versions: VersionRepository;
  readonly comments: CommentRepository;
  readonly oauthTokens: OauthTokenRepository;
  readonly tenantUsers: TenantUserRepository;
  readonly streamMetadata: StreamMetadataRepository;
  readonly streamFlags: StreamFlagRepository;
  readonly msUsers: MsUserRepository;
  readonly msStreams: MsStreamRepository;
  readonly networkAccounts: NetworkAccountRepository;
  readonly streamAccounts: StreamAccountRepository;
  readonly streamShares: StreamShareRepository;
  readonly goLive: GoLiveRepository;
  readonly webhooks: WebhookRepository;
  readonly uploadCredentials: UploadCredentialRepository;
  readonly multipartUploads: MultipartUploadRepository;
  readonly uploadObjects: UploadObjectRepository;
  readonly uploadBroadcasts: UploadBroadcastRepository;
  readonly chat: ChatRepository;
  readonly loginAttempts: LoginAttemptRepository;
  readonly playbackIds: PlaybackIdRepository;
  readonly signingKeys: SigningKeyRepository;
  readonly accessTokens: AccessTokenRepository;
  readonly webhookEndpoints: WebhookEndpointRepository;
  readonly liveEvents: LiveEventRepository;
  readonly sessions: SessionRepository;

  constructor(db: Executor) {
    this.accounts = new AccountRepository(db);
    this.streams = new StreamRepository(db);
    this.broadcasts = new BroadcastRepository(db);
    this.destinations = new DestinationRepository(db);
    this.settings = new SettingsRepository(db);
    this.sequences = new SequenceRepository(db);
    this.segments = new SegmentRepository(db);
    this.apiClients = new ApiClientRepository(db);
    this.siteThemes = new SiteThemeRepository(db);
    this.callbacks = new CallbackRepository(db);
    this.apiTokens = new ApiTokenRepository(db);
    this.apps = new AppRepository(db);
    this.versions = new VersionRepository(db);
    this.comments = new CommentRepository(db);
    this.oauthTokens = new OauthTokenRepository(db);
    this.tenantUsers = new TenantUserRepository(db);
    this.streamMetadata = new StreamMetadataRepository(db);
    this.streamFlags = new StreamFlagRepository(db);
    this.msUsers = new MsUserRepository(db);
    this.msStreams = new MsStreamRepository(db);
    this.networkAccounts = new NetworkAccountRepository(db);
    this.streamAccounts = new StreamAccountRepository(db);
    this.streamShares = new StreamShareRepository(db);
    this.goLive = new GoLiveRepository(db);
    this.webhooks = new WebhookRepository(db);
    this.uploadCredentials = new UploadCredentialRepository(db);
    this.multipartUploads = new MultipartUploadRepository(db);
    this.uploadObjects = new UploadObjectRepository(db);
    this.uploadBroadcasts = new UploadBroadcastRepository(db);
    this.chat = new ChatRepository(db);
    this.loginAttempts = new LoginAttemptRepository(db);
    this.playbackIds = new PlaybackIdRepository(db);
    this.signingKeys = new SigningKeyRepository(db);
    this.accessTokens = new AccessTokenRepository(db);
    this.webhookEndpoints = new WebhookEndpointRepository(db);
    this.liveEvents = new LiveEventRepository(db);
    this.sessions = new SessionRepository(db);
  }
}

/** Runs of the migrations on SQLite before a failure is taken for a real one (see migrate()). */
const MIGRATION_ATTEMPTS_SQLITE = 5;

export interface MigrationReport {
  applied: string[];
}

export class Store extends Repositories {
  private constructor(
    readonly db: Kysely<Database>,
    readonly kind: DatabaseLocation['kind'],
    /**
     * Changes whenever another process commits to the database, where that can be told without
     * a query (SQLite); undefined on PostgreSQL. Caches of reads look at it on every lookup.
     */
    readonly foreignWriteMark: () => number | undefined,
  ) {
    super(db);
  }

  static open(location: DatabaseLocation): Store {
    const { db, kind, foreignWriteMark } = openDatabase(location);
    return new Store(db, kind, foreignWriteMark);
  }

  /** Runs `work` in one transaction: every write in it lands, or none does. */
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new Repositories(trx)));
  }

  private async migrator(): Promise<Migrator> {
    // Unless told the schema, Kysely takes its bookkeeping tables in *any* schema of the
    // database for its own (it introspects them all), so a second installation in another
    // schema of the same PostgreSQL database (and every test, each in its own schema) would
    // skip creating its own and then fail to find them.
    const migrationTableSchema = this.kind === 'postgres' ? await currentSchema(this.db) : undefined;
    return new Migrator({ db: this.db, provider: migrationProvider, ...(migrationTableSchema ? { migrationTableSchema } : {}) });
  }

  /**
   * Applies the migrations the database lacks. Nodes started at once on a fresh database each
   * call this: on PostgreSQL, Kysely's migrator holds a row lock while it runs, so one applies
   * and the others wait and find the work done. On SQLite its lock is a no-op (it expects one
   * connection), so a process that loses the race to another (a second node, the CLI) has its
   * transaction rolled back: it tries again and finds the migrations applied.
   */
  async migrate(): Promise<MigrationReport> {
    for (let attempt = 1; ; attempt++) {
      const { error, results } = await (await this.migrator()).migrateToLatest();
      if (!error) return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
      if (this.kind === 'sqlite' && attempt < MIGRATION_ATTEMPTS_SQLITE) {
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        continue;
      }
      const failed = results?.find((r) => r.status === 'Error');
      const where = failed ? ` (migration ${failed.migrationName})` : '';
      throw new Error(`database migration failed${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Resolves when the database answers a query now; rejects with the driver's reason. */
  async checkConnection(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /** The migrations this program knows that the database has not applied (a node of an older version migrated it, or none did). */
  async pendingMigrations(): Promise<string[]> {
    const migrations = await (await this.migrator()).getMigrations();
    return migrations.filter((m) => m.executedAt === undefined).map((m) => m.name);
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}
