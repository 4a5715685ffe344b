import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer } from './api/http.js';
import { hlsPlugin } from './api/hls/plugin.js';
import { kickfolioPlugin, KICKFOLIO_SECRET_PATHS } from './api/kickfolio/plugin.js';
import { DEFAULT_MAX_REDIRECTS } from './jobs/fetch.js';
import { VersionProcessor } from './jobs/version-processor.js';
import { rigPlugin, RIG_SECRET_PATHS, type RigOptions } from './api/rig/plugin.js';
import { siteAdmission } from './api/streamapi/admission.js';
import { siteCallbacks } from './api/streamapi/callbacks.js';
import { streamApiPlugin } from './api/streamapi/plugin.js';
import { CallbackDispatcher } from './webhooks/dispatcher.js';
import type { LocalObserver } from './core/context.js';
import { RigTokens } from './api/rig/tokens.js';
import { LocalBlobStore } from './blob/local.js';
import type { Bus } from './bus/bus.js';
import { MemoryBus } from './bus/memory.js';
import { RedisBus } from './bus/redis.js';
import type { Config } from './config.js';
import { Core } from './core/core.js';
import type { DomainEvent } from './core/events.js';
import { createLogger, type Logger } from './logging.js';
import { MediaPlane } from './media/media-plane.js';
import { Store } from './store/store.js';

export interface RunningServer {
  config: Config;
  core: Core;
  store: Store;
  http: FastifyInstance;
  media: MediaPlane;
  log: Logger;
  /** Where the HTTP server listens, e.g. `http://127.0.0.1:8080`. */
  httpUrl: string;
  /** The port the RTMP server listens on. */
  rtmpPort: number;
  /** Stops taking connections, ends live broadcasts, finishes in-flight requests, closes the bus and the database. */
  close(): Promise<void>;
}

export interface ServerOptions {
  logStream?: NodeJS.WritableStream;
}

function reachableHost(host: string): string {
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return local.includes(':') ? `[${local}]` : local;
}

/** Opens the database (applying migrations), connects the bus, wires the core, and starts HTTP and RTMP. */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const log = createLogger({
    level: config.logLevel,
    secretPaths: [
      ...RIG_SECRET_PATHS.map((p) => new RegExp(`${config.rigPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${p.source}`)),
      ...KICKFOLIO_SECRET_PATHS,
    ],
    ...(options.logStream ? { stream: options.logStream } : {}),
  });
  const store = Store.open(config.database);
  const closers: (() => Promise<void>)[] = [() => store.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((err) => log.error({ err }, 'error while shutting down'));
  };
  try {
    await store.migrate();
    const onBackgroundError = (err: unknown, what: string) => log.error({ err }, `background failure: ${what}`);
    const bus: Bus<DomainEvent> = config.redisUrl
      ? await RedisBus.connect<DomainEvent>(config.redisUrl, { onError: (err) => onBackgroundError(err, 'redis') })
      : new MemoryBus<DomainEvent>((err) => onBackgroundError(err, 'event handler'));
    closers.push(() => bus.close());

    const observers = new Set<LocalObserver>();
    const blobs = new LocalBlobStore(join(config.dataDir, 'media'));
    const core = new Core(
      { store, bus, now: () => new Date().toISOString(), onBackgroundError, observers },
      { ingestServers: config.ingestServers, blobs },
    );
    const jwtSecret = config.jwtSecret ?? (await core.secret('rig-jwt', () => randomBytes(32).toString('base64url')));
    const rigOptions: RigOptions = { core, tokens: new RigTokens(jwtSecret), bodyLimit: config.bodyLimit };

    const media = new MediaPlane({
      core,
      blobs,
      log: log.child({ component: 'media' }),
      nodeId: config.nodeId,
      rtmpApp: config.rtmpApp,
      reconnectWindow: config.reconnectWindow,
      hlsSegmentDuration: config.hlsSegmentDuration,
      hlsLiveWindow: config.hlsLiveWindow,
      relays: {
        maxBacklogBytes: config.relayMaxBacklog,
        initialRetryMs: 1000,
        maxRetryMs: config.relayRetryMax * 1000,
        statsIntervalMs: 2000,
        ffmpegPath: config.ffmpegPath,
        tls: config.relayCaFile ? { ca: [...rootCertificates, readFileSync(config.relayCaFile, 'utf8')] } : undefined,
      },
      // StreamAPI's encoders publish to `hd_receiver/<public_hostid>-<fme_key>`.
      publishApps: { hd_receiver: (name) => core.siteSessions.keyForEncoderName(name) },
    });
    observers.add(siteCallbacks(core, config.publicUrl, (streamId) => media.viewerStats(streamId)));
    const dispatcher = new CallbackDispatcher(core.callbacks, log.child({ component: 'callbacks' }));
    dispatcher.start();
    closers.push(() => dispatcher.stop());
    // Kickfolio versions: bundles are fetched and read in the background; unfinished ones resume here.
    const processor = new VersionProcessor({
      core,
      log: log.child({ component: 'versions' }),
      nodeId: config.nodeId,
      tempDir: join(config.dataDir, 'tmp', 'bundles'),
      fetch: { maxBytes: config.bundleMaxBytes, timeoutMs: config.bundleFetchTimeout * 1000, maxRedirects: DEFAULT_MAX_REDIRECTS, allowPrivate: config.allowPrivateFetch },
    });
    await processor.start();
    closers.push(() => processor.stop());

    const http = await buildHttpServer({
      logger: log,
      bodyLimit: config.bodyLimit,
      adapters: [
        { name: 'hls', prefix: '/hls', plugin: hlsPlugin, options: { core, blobs, media, admit: siteAdmission(core) } },
        { name: 'streamapi', prefix: '/service', plugin: streamApiPlugin, options: { core, media, publicUrl: config.publicUrl, bodyLimit: config.bodyLimit } },
        { name: 'kickfolio', prefix: '/api', plugin: kickfolioPlugin, options: { core, publicUrl: config.publicUrl, bodyLimit: config.bodyLimit } },
        { name: 'rig', prefix: config.rigPrefix, plugin: rigPlugin, options: rigOptions },
      ],
    });
    closers.push(() => http.close());
    await http.listen({ host: config.httpHost, port: config.httpPort });
    const address = http.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;

    // Media stops first on shutdown: publishers are cut, broadcasts end and recordings are written
    // while the database is still open.
    const rtmpPort = await media.start(config.rtmpPort, config.httpHost);
    closers.push(() => media.close());

    let closing: Promise<void> | undefined;
    return {
      config,
      core,
      store,
      http,
      media,
      log,
      httpUrl: `http://${reachableHost(config.httpHost)}:${httpPort}`,
      rtmpPort,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
