import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer } from './api/http.js';
import { operationsPlugin } from './api/operations/plugin.js';
import { NodeMetrics } from './api/operations/metrics.js';
import { hlsPlugin } from './api/playback/hls.js';
import { kickflipPlugin } from './api/kickflip/plugin.js';
import { watchPlugin } from './api/playback/watch.js';
import { kickfolioPlugin, KICKFOLIO_SECRET_PATHS } from './api/kickfolio/plugin.js';
import { DEFAULT_MAX_REDIRECTS } from './jobs/fetch.js';
import { VersionProcessor } from './jobs/version-processor.js';
import { rigPlugin, RIG_SECRET_PATHS, type RigOptions } from './api/rig/plugin.js';
import { siteAdmission } from './api/streamapi/admission.js';
import { ViewerAdmissions } from './core/playback/admissions.js';
import { siteCallbacks } from './api/streamapi/callbacks.js';
import { streamApiPlugin } from './api/streamapi/plugin.js';
import { CallbackDispatcher, DEFAULT_DISPATCHER_OPTIONS } from './jobs/callback-dispatcher.js';
import { streamWebhooks } from './core/dialects/multistreamer/stream-webhooks.js';
import { Pullers } from './media/pull/pullers.js';
import type { LocalObserver } from './core/kernel/context.js';
import { RigTokens } from './api/rig/tokens.js';
import { LocalBlobStore } from './blob/local.js';
import { ensurePrivateDirectory } from './blob/private-files.js';
import type { Bus } from './bus/bus.js';
import { MemoryBus } from './bus/memory.js';
import { RedisBus } from './bus/redis.js';
import type { Config } from './config.js';
import { Core } from './core/core.js';
import { EgressPolicy } from './core/egress/policy.js';
import { chatStatusObserver } from './core/chat/status.js';
import { CHAT_SOCKET_SECRET_PATHS } from './api/multistreamer/chat-socket.js';
import { multistreamerPlugin } from './api/multistreamer/plugin.js';
import { ChatViewcounts } from './core/chat/viewcounts.js';
import type { DomainEvent } from './core/kernel/events.js';
import { UPLOAD_MOUNT } from './core/uploads/credentials.js';
import { createLogger, type Logger } from './logging.js';
import { MediaPlane } from './media/media-plane.js';
import { UploadIngest } from './media/upload/ingest.js';
import { s3Plugin, S3_SECRET_PATHS } from './media/upload/s3/plugin.js';
import { virtualHostRewrite } from './media/upload/s3/virtual-host.js';
import { Store } from './store/store.js';
import { muxSystemPlugin, muxVideoPlugin } from './api/mux/plugin.js';
import { liveApiEvents } from './api/mux/webhook-events.js';
import { registerOpenApi } from './api/openapi.js';
import { playbackIdPlugin } from './api/playback/playback-ids.js';
import { appEntryPoints, appPlugin } from './api/app/plugin.js';

export interface RunningServer {
  config: Config;
  core: Core;
  store: Store;
  http: FastifyInstance;
  media: MediaPlane;
  /** The pullers this node runs (ffmpeg feeding a stream from `ffmpeg_pull_args`). */
  pullers: Pullers;
  /** Where uploaded segments, playlists and thumbnails go (the S3 endpoint hands them over). */
  uploadIngest: UploadIngest;
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
      ...S3_SECRET_PATHS,
      ...CHAT_SOCKET_SECRET_PATHS,
    ],
    ...(options.logStream ? { stream: options.logStream } : {}),
  });
  // The data directory holds the database, recordings and uploads: the server's user's alone.
  const dataDirProblem = ensurePrivateDirectory(config.dataDir);
  if (dataDirProblem) log.warn({ problem: dataDirProblem }, 'the data directory is open to other users and could not be made private (0700)');
  const store = Store.open(config.database);
  const closers: (() => Promise<void>)[] = [() => store.close()];
  // Set once stopping starts: the node answers not ready from then on, before it lets anything go.
  let closing: Promise<void> | undefined;
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
    const egress = new EgressPolicy(config.allowPrivateFetch);
    const core = new Core(
      { store, bus, now: () => new Date().toISOString(), onBackgroundError, observers },
      {
        ingestServers: config.ingestServers,
        blobs,
        uploads: {
          bucket: config.uploadBucket,
          region: config.uploadRegion,
          publicUrl: config.publicUrl,
          lifetimeSeconds: config.uploadCredentialLifetime,
          graceSeconds: config.uploadGrace,
        },
        chat: config.chat,
        nodeId: config.nodeId,
        tokenTtl: config.kickflipTokenTtl,
        egress,
        pullFileDir: config.pullFileDir ?? null,
        login: config.login,
        quotas: config.quotas,
        reconnectWindow: config.reconnectWindow,
      },
    );
    const jwtSecret = config.jwtSecret ?? (await core.secret('rig-jwt', () => randomBytes(32).toString('base64url')));
    const rigOptions: RigOptions = { core, tokens: new RigTokens(jwtSecret), bodyLimit: config.bodyLimit };

    const metrics = new NodeMetrics(config.nodeId);
    const media = new MediaPlane({
      core,
      blobs,
      log: log.child({ component: 'media' }),
      nodeId: config.nodeId,
      rtmpApp: config.rtmpApp,
      reconnectWindow: config.reconnectWindow,
      hlsSegmentDuration: config.hlsSegmentDuration,
      hlsLiveWindow: config.hlsLiveWindow,
      writeBatchMs: config.rtmpWriteBatch,
      relays: {
        maxBacklogBytes: config.relayMaxBacklog,
        initialRetryMs: 1000,
        maxRetryMs: config.relayRetryMax * 1000,
        statsIntervalMs: 2000,
        ffmpegPath: config.ffmpegPath,
        egress: core.egress,
        tls: config.relayCaFile ? { ca: [...rootCertificates, readFileSync(config.relayCaFile, 'utf8')] } : undefined,
      },
      // StreamAPI's encoders publish to `hd_receiver/<public_hostid>-<fme_key>`.
      publishApps: { hd_receiver: (name) => core.siteSessions.keyForEncoderName(name) },
      maxConnectionsPerAddress: config.rtmpMaxConnectionsPerIp,
      onSegmentWritten: (seconds) => metrics.segmentWritten(seconds),
    });
    const uploadIngest = new UploadIngest(core, blobs);
    observers.add(siteCallbacks(core, config.publicUrl, (streamId) => media.viewerStats(streamId)));
    observers.add(chatStatusObserver(core.chat));
    observers.add(streamWebhooks(core));
    // One environment per installation (every node's events name the same one), as Mux names its environments.
    const environmentId = await core.secret('live-environment', () => randomBytes(6).toString('hex'));
    observers.add(liveApiEvents(core, { id: environmentId, name: 'streamdelta' }));
    const dispatcher = new CallbackDispatcher(core.callbacks, core.egress, log.child({ component: 'callbacks' }), {
      ...DEFAULT_DISPATCHER_OPTIONS,
      onAttempt: (result) => metrics.delivery(result),
    });
    dispatcher.start();
    closers.push(() => dispatcher.stop());
    // Kickfolio versions: bundles are fetched and read in the background; unfinished ones resume here.
    const processor = new VersionProcessor({
      core,
      log: log.child({ component: 'versions' }),
      nodeId: config.nodeId,
      tempDir: join(config.dataDir, 'tmp', 'bundles'),
      fetch: { maxBytes: config.bundleMaxBytes, timeoutMs: config.bundleFetchTimeout * 1000, maxRedirects: DEFAULT_MAX_REDIRECTS, egress: core.egress },
    });
    await processor.start();
    closers.push(() => processor.stop());

    // Known once RTMP listens (port 0 picks one); Kickflip's stream/start hands out the ingest URL.
    let rtmpPortForUrls = config.rtmpPort;
    const kickflipRtmpUrl = (key: string) => `rtmp://${new URL(config.publicUrl).hostname}:${rtmpPortForUrls}/${config.rtmpApp}/${key}`;
    const http = await buildHttpServer({
      logger: log,
      bodyLimit: config.bodyLimit,
      connections: {
        maxPerAddress: config.http.maxConnectionsPerIp,
        headersTimeoutMs: config.http.headersTimeout * 1000,
        requestTimeoutMs: config.http.requestTimeout * 1000,
        keepAliveTimeoutMs: config.http.keepAliveTimeout * 1000,
      },
      adapters: [
        // streamdelta's own API: Mux Video's live API, and playback by playback id at Mux's paths.
        { name: 'mux-video', prefix: '/video/v1', plugin: muxVideoPlugin, options: { core, bodyLimit: config.bodyLimit, publicUrl: config.publicUrl } },
        { name: 'mux-system', prefix: '/system/v1', plugin: muxSystemPlugin, options: { core, bodyLimit: config.bodyLimit, publicUrl: config.publicUrl } },
        // The dashboard: its sign-in API and the built web app.
        { name: 'app', prefix: '/app', plugin: appPlugin, options: { core, blobs, media, publicUrl: config.publicUrl, rtmpUrl: () => kickflipRtmpUrl('').replace(/\/$/, '') } },
        { name: 'playback-ids', prefix: '/', plugin: playbackIdPlugin, options: { core, blobs, media, liveWindow: config.hlsLiveWindow } },
        { name: 'hls', prefix: '/hls', plugin: hlsPlugin, options: { core, blobs, media, liveWindow: config.hlsLiveWindow, admissions: new ViewerAdmissions(config.admission, siteAdmission(core)) } },
        { name: 'streamapi', prefix: '/service', plugin: streamApiPlugin, options: { core, media, publicUrl: config.publicUrl, bodyLimit: config.bodyLimit } },
        { name: 'kickfolio', prefix: '/api', plugin: kickfolioPlugin, options: { core, publicUrl: config.publicUrl, bodyLimit: config.bodyLimit } },
        // Probes for load balancers: /healthz and /readyz.
        {
          name: 'operations',
          prefix: '/',
          plugin: operationsPlugin,
          options: {
            checks: {
              database: () => store.checkConnection(),
              migrations: async () => {
                const pending = await store.pendingMigrations();
                if (pending.length > 0) throw new Error(`not applied: ${pending.join(', ')}`);
              },
              bus: () => bus.check(),
              blobs: () => blobs.check(),
            },
            stopping: () => closing !== undefined,
            checkTimeoutMs: 2000,
            metrics,
            metricsToken: config.metricsToken,
          },
        },
        // Root paths that are stream ids only (prefix '/' is the root, not a claim on the root's 404).
        { name: 'watch', prefix: '/', plugin: watchPlugin, options: { core, publicUrl: config.publicUrl } },
        // S3-compatible uploads (Kickflip's SDKs): path-style here, virtual-hosted style by the rewrite below.
        { name: 's3', prefix: UPLOAD_MOUNT, plugin: s3Plugin, options: { core: { uploads: core.uploads, multipartUploads: core.multipartUploads, now: core.ctx.now }, ingest: uploadIngest, maxObjectSize: config.uploadMaxObjectSize, maxParts: config.uploadMaxParts } },
        // `/o/token` and `/api/1.2/*` (its own 404 inside /api/1.2).
        { name: 'kickflip', prefix: '/', plugin: kickflipPlugin, options: { core, blobs, publicUrl: config.publicUrl, rtmpUrl: kickflipRtmpUrl, bodyLimit: config.bodyLimit } },
        // `<prefix>/api/v1/*` (its own 404 inside) and the chat socket `<prefix>/ws/:id`.
        { name: 'multistreamer', prefix: config.multistreamerPrefix || '/', plugin: multistreamerPlugin, options: { core, bodyLimit: config.bodyLimit, publicUrl: config.publicUrl } },
        { name: 'rig', prefix: config.rigPrefix, plugin: rigPlugin, options: rigOptions },
      ],
      beforeAdapters: async (app) => {
        await registerOpenApi(app, config.publicUrl);
        appEntryPoints(app);
      },
      rewriteUrl: [virtualHostRewrite({ bucket: config.uploadBucket, mount: UPLOAD_MOUNT, publicUrl: config.publicUrl })],
      onResponse: (answered) => metrics.answered(answered),
    });
    metrics.readFrom({ media: () => media.metrics() });
    closers.push(() => http.close());
    await http.listen({ host: config.httpHost, port: config.httpPort });
    const address = http.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;

    // Counts start with the first publisher this node takes, so they listen before media starts.
    const viewcounts = new ChatViewcounts(core.ctx, {
      nodeId: config.nodeId,
      intervalSeconds: config.chat.viewcountInterval,
      viewers: (streamId) => media.viewerStats(streamId).current,
    });
    viewcounts.start();
    closers.push(() => viewcounts.stop());

    // Media stops first on shutdown: publishers are cut, broadcasts end and recordings are written
    // while the database is still open.
    const rtmpPort = await media.start(config.rtmpPort, config.httpHost);
    rtmpPortForUrls = rtmpPort;
    closers.push(() => media.close());
    // Pullers stop before media closes (closers run in reverse): their publishes end like an encoder's.
    const pullers = new Pullers({
      core,
      log: log.child({ component: 'pull' }),
      nodeId: config.nodeId,
      ffmpegPath: config.ffmpegPath,
      maxAttempts: config.pullMaxAttempts,
      initialRetryMs: 1000,
      healthyRunMs: 30_000,
      publish: (key, disconnect) => media.publishInProcess(key, disconnect),
      egress: core.egress,
    });
    await pullers.start();
    closers.push(() => pullers.close());

    return {
      config,
      core,
      store,
      http,
      media,
      uploadIngest,
      pullers,
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
