import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer } from './api/http.js';
import { rigPlugin, RIG_SECRET_PATHS, type RigOptions } from './api/rig/plugin.js';
import { RigTokens } from './api/rig/tokens.js';
import type { Bus } from './bus/bus.js';
import { MemoryBus } from './bus/memory.js';
import { RedisBus } from './bus/redis.js';
import type { Config } from './config.js';
import { Core } from './core/core.js';
import type { DomainEvent } from './core/events.js';
import { Store } from './store/store.js';

export interface RunningServer {
  config: Config;
  core: Core;
  store: Store;
  http: FastifyInstance;
  /** Where the HTTP server listens, e.g. `http://127.0.0.1:8080`. */
  httpUrl: string;
  /** Finishes in-flight requests, then closes the bus and the database. */
  close(): Promise<void>;
}

export interface ServerOptions {
  logStream?: NodeJS.WritableStream;
}

/** Opens the database (applying migrations), connects the bus, wires the core and starts HTTP. */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const store = Store.open(config.database);
  const closers: (() => Promise<void>)[] = [() => store.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  };
  try {
    await store.migrate();
    let http: FastifyInstance | undefined;
    const onBackgroundError = (err: unknown, what: string) => http?.log.error({ err }, `background failure: ${what}`);
    const bus: Bus<DomainEvent> = config.redisUrl
      ? await RedisBus.connect<DomainEvent>(config.redisUrl, { onError: (err) => onBackgroundError(err, 'redis') })
      : new MemoryBus<DomainEvent>((err) => onBackgroundError(err, 'event handler'));
    closers.push(() => bus.close());

    const core = new Core(
      { store, bus, now: () => new Date().toISOString(), onBackgroundError },
      { ingestServers: config.ingestServers },
    );
    const jwtSecret = config.jwtSecret ?? (await core.secret('rig-jwt', () => randomBytes(32).toString('base64url')));
    const rigOptions: RigOptions = { core, tokens: new RigTokens(jwtSecret), bodyLimit: config.bodyLimit };

    http = await buildHttpServer({
      logLevel: config.logLevel,
      bodyLimit: config.bodyLimit,
      ...(options.logStream ? { logStream: options.logStream } : {}),
      adapters: [{ name: 'rig', prefix: config.rigPrefix, plugin: rigPlugin, options: rigOptions, secretPaths: RIG_SECRET_PATHS }],
    });
    const server = http;
    closers.push(() => server.close());
    await server.listen({ host: config.httpHost, port: config.httpPort });
    const address = server.server.address();
    const port = typeof address === 'object' && address ? address.port : config.httpPort;
    const host = config.httpHost === '0.0.0.0' || config.httpHost === '::' ? '127.0.0.1' : config.httpHost;

    let closing: Promise<void> | undefined;
    return {
      config,
      core,
      store,
      http: server,
      httpUrl: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
