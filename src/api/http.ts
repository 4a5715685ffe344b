import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from '../logging.js';
import { AddressSlots } from '../core/kernel/addresses.js';

/** The token of an `Authorization: Bearer <token>` header (the scheme in any case), or undefined. */
export function bearerToken(headers: IncomingMessage['headers']): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
}

/**
 * A route path as a pattern that matches the path as requested: a `:param` matches one
 * segment, a trailing slash may be there or not, and `suffix` (Kickfolio's `.json`) may end
 * the path. Dialects answer 405 rather than 404 for a known path asked with the wrong method.
 */
export function routePattern(url: string, suffix?: string): RegExp {
  const body = url
    .replace(/\/+$/, '')
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : escapeRegExp(part)))
    .join('/');
  return new RegExp(`^${body}${suffix === undefined ? '' : `(${escapeRegExp(suffix)})?`}/?$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces a plugin's body parsers with one: every body of the given content types (any, by
 * default) is read as text up to `bodyLimit` bytes and handed to `parse` with the request's
 * content type; what `parse` returns is the body, what it throws is the request's error, in
 * the dialect's own style.
 */
export function parseBodiesWith(
  app: FastifyInstance,
  options: { bodyLimit: number; types?: string | string[] },
  parse: (text: string, contentType: string | undefined) => unknown,
): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(options.types ?? '*', { parseAs: 'string', bodyLimit: options.bodyLimit }, (request, text, done) => {
    try {
      done(null, parse(String(text), request.headers['content-type']));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/** One HTTP dialect or service and where it is mounted. */
export interface HttpAdapter<O extends object = object> {
  name: string;
  prefix: string;
  plugin: FastifyPluginAsync<O>;
  options: O;
}

/**
 * What one client may hold of the HTTP server: connections per address, and how long a
 * connection may take to send a request's headers (idle from its start included), a whole
 * request, and how long it may stay open idle between requests. Each 0 for no limit.
 */
export interface HttpConnectionLimits {
  maxPerAddress: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export interface HttpOptions {
  logger: Logger;
  bodyLimit: number;
  connections?: HttpConnectionLimits;
  adapters: HttpAdapter<any>[];
  /**
   * Turn a request's URL into another before routing (S3's virtual-hosted style: the bucket
   * is in the Host); the first that answers a URL wins. Fastify keeps the URL as sent in
   * `request.raw.originalUrl`.
   */
  rewriteUrl?: ((req: IncomingMessage) => string | undefined)[];
  /** Runs on the server before any adapter is registered (what must see every route, such as the OpenAPI generator). */
  beforeAdapters?: (app: FastifyInstance) => Promise<void>;
  /** Told of every answered request (metrics): its route's pattern (not the path: ids would be labels), not the URL. */
  onResponse?: (response: AnsweredRequest) => void;
}

/** One request as metrics see it. */
export interface AnsweredRequest {
  method: string;
  /** The pattern of the route that answered (`/video/v1/live-streams/:id`), or `unmatched`. */
  route: string;
  status: number;
  seconds: number;
  /** The body's size when it was known up front (Content-Length), else 0. */
  bytes: number;
}

/** The Fastify and node:http options that carry the timeouts of `limits`. */
function timeoutOptions(limits: HttpConnectionLimits) {
  return {
    // A connection that sends nothing at all is as slow as one that sends its headers slowly.
    connectionTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // How often slow requests are looked for: often enough to keep the timeouts close.
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(limits.headersTimeoutMs / 4) || 30_000)),
    },
  };
}

/**
 * Refuses a connection beyond `max` open ones from its address: it is closed at once, before
 * a byte is read, so one client cannot hold the server's file descriptors.
 */
function limitConnectionsPerAddress(app: FastifyInstance, max: number): void {
  if (max === 0) return;
  const slots = new AddressSlots(max);
  app.server.on('connection', (socket: Socket) => {
    if (!slots.hold(socket)) socket.destroy();
  });
}

export async function buildHttpServer(options: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.connections ? timeoutOptions(options.connections) : {}),
    loggerInstance: options.logger as FastifyBaseLogger,
    // One line per request is noise at info level on a media server that serves thousands;
    // the hook below writes them at debug level instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    routerOptions: { ignoreTrailingSlash: true },
    // Wrong JSON types are refused, never coerced: `"username": 123` is invalid input.
    ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false } },
    ...(options.rewriteUrl && options.rewriteUrl.length > 0
      ? {
          rewriteUrl: (req: IncomingMessage) => {
            for (const rewrite of options.rewriteUrl!) {
              const url = rewrite(req);
              if (url !== undefined) return url;
            }
            return req.url ?? '/';
          },
        }
      : {}),
  });
  if (options.connections) limitConnectionsPerAddress(app, options.connections.maxPerAddress);
  // A callback hook, not an async one: no promise per request for a line that is usually off.
  const observe = options.onResponse;
  app.addHook('onResponse', (request, reply, done) => {
    if (options.logger.isLevelEnabled('debug')) {
      request.log.debug({ req: request, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request completed');
    }
    if (observe) {
      const length = Number(reply.getHeader('content-length'));
      observe({
        method: request.method,
        // Set for a matched route only (a 404 of the not-found handler has none).
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        seconds: reply.elapsedTime / 1000,
        bytes: Number.isFinite(length) ? length : 0,
      });
    }
    done();
  });
  // Paths outside every adapter's prefix; an adapter mounted at the root answers these itself.
  if (!options.adapters.some((a) => a.prefix === '')) {
    app.setNotFoundHandler((_request, reply) => reply.status(404).send({ message: 'Not found' }));
  }
  await options.beforeAdapters?.(app);
  for (const adapter of options.adapters) {
    await app.register(adapter.plugin, { ...adapter.options, prefix: adapter.prefix });
  }
  return app;
}
