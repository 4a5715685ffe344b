import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Account } from '../../core/accounts/accounts.js';
import type { Core } from '../../core/core.js';
import { parseBodiesWith, routePattern } from '../http.js';
import { attributes, parseBody, topLevelString } from './bodies.js';
import { KickfolioCode, KickfolioError, toKickfolioError } from './errors.js';
import type { KickfolioContext, RouteConfig } from './context.js';
import { appRoutes } from './routes/apps.js';
import { commentRoutes } from './routes/comments.js';
import { versionRoutes } from './routes/versions.js';

export interface KickfolioOptions {
  core: Core;
  /** The server's public base URL: image URLs are built on it. */
  publicUrl: string;
  bodyLimit: number;
}

/** Query parameters that carry a secret, redacted from logs (`auth_token=[redacted]`). */
export const KICKFOLIO_SECRET_PATHS = [/([?&]auth_token=)[^&#]*/g];

/** The only version there is; `Accept: application/vnd.kickfolio.v1` (or no vendor type at all) selects it. */
export const API_VERSION = 'v1';

/** `ids`, app and version references never contain a dot, so `.json` ending a path parameter is the format suffix. */
function stripJsonSuffix(params: unknown): void {
  if (typeof params !== 'object' || params === null) return;
  const record = params as Record<string, string>;
  for (const [name, value] of Object.entries(record)) {
    if (typeof value === 'string' && value.endsWith('.json')) record[name] = value.slice(0, -'.json'.length);
  }
}

/** Refuses an Accept header that asks only for Kickfolio versions other than v1. */
function checkAccept(header: string | undefined): void {
  if (!header) return;
  const asked = [...header.matchAll(/application\/vnd\.kickfolio\.([A-Za-z0-9]+)/gi)].map((m) => m[1]!.toLowerCase());
  if (asked.length === 0 || asked.includes(API_VERSION)) return;
  throw new KickfolioError(
    406,
    KickfolioCode.UnsupportedVersion,
    `API version ${asked[0]} is not available; this server speaks ${API_VERSION} (Accept: application/vnd.kickfolio.${API_VERSION})`,
  );
}

/** The token a request presents: Basic base64(token[:anything]) first, else the `auth_token` parameter. */
function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const basic = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (basic) {
    // The password, if a client library insists on one (Kickfolio suggests "X"), is ignored.
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    return decoded.split(':')[0];
  }
  const param = (request.query as Record<string, unknown> | undefined)?.auth_token ?? topLevelString(request.body, 'auth_token');
  if (param !== undefined) return typeof param === 'string' ? param : '';
  if (header !== undefined) throw new KickfolioError(401, KickfolioCode.Unauthorized, 'The Authorization header must be Basic with your base64-encoded authentication token');
  return undefined;
}

/**
 * The Kickfolio API v1 as a Fastify plugin at `/api`: JSON answers wrapped in their root,
 * JSON or form bodies (wrapped or bare), `.json` paths, `Accept: application/vnd.kickfolio.v1`,
 * Basic or `auth_token` authentication with an account's API token, and every error in the
 * document's schema.
 */
export const kickfolioPlugin: FastifyPluginAsync<KickfolioOptions> = async (app: FastifyInstance, options: KickfolioOptions) => {
  const { core } = options;
  const users = new WeakMap<FastifyRequest, Account>();
  const routes: { method: string; pattern: RegExp }[] = [];

  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD' && method !== 'OPTIONS') routes.push({ method, pattern: routePattern(route.url, '.json') });
    }
  });

  parseBodiesWith(app, { bodyLimit: options.bodyLimit }, parseBody);

  app.addHook('onRequest', async (request) => {
    checkAccept(request.headers.accept);
  });

  const config = (request: FastifyRequest): Partial<RouteConfig> => (request.routeOptions.config ?? {}) as Partial<RouteConfig>;

  // After the body is parsed (it may hold auth_token) and before it is validated: credentials,
  // then the body's attributes unwrapped from their root.
  app.addHook('preValidation', async (request) => {
    stripJsonSuffix(request.params);
    const route = config(request);
    if (!route.public) {
      const token = presentedToken(request);
      if (token === undefined || token === '') throw new KickfolioError(401, KickfolioCode.Unauthorized, 'You need to provide authentication credentials');
      const account = await core.apiTokens.accountFor(token);
      if (!account) throw new KickfolioError(401, KickfolioCode.Unauthorized, 'Your credentials were rejected');
      users.set(request, account);
    }
    if (route.root !== undefined && (request.method === 'POST' || request.method === 'PUT')) {
      request.body = attributes(request.body, route.root);
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const answer = toKickfolioError(err, config(request).resource);
    if (answer.status >= 500) request.log.error({ err }, 'kickfolio request failed');
    return reply.status(answer.status).type('application/json; charset=utf-8').send(answer.body());
  });

  app.setNotFoundHandler(async (request, reply) => {
    try {
      checkAccept(request.headers.accept);
    } catch (err) {
      const answer = toKickfolioError(err, undefined);
      return reply.status(answer.status).send(answer.body());
    }
    const path = request.url.split('?')[0] ?? '';
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0) {
      const answer = new KickfolioError(405, KickfolioCode.MethodNotAllowed, `${request.method} is not allowed here; use ${allowed.join(', ')}`);
      return reply.status(405).header('allow', allowed.join(', ')).send(answer.body());
    }
    return reply.status(404).send(new KickfolioError(404, KickfolioCode.NotFound, `No route matches ${request.method} ${path}`).body());
  });

  const context: KickfolioContext = {
    core,
    base: `${options.publicUrl}${app.prefix}`,
    route(route) {
      const { method, url, schema, handler, ...routeConfig } = route;
      const register = (path: string) => app.route({ method, url: path, ...(schema ? { schema } : {}), config: routeConfig, handler });
      register(url);
      // `/apps.json` needs a route of its own; `/apps/:id.json` reaches `/apps/:id`, whose parameter loses the suffix.
      if (!/\/:[^/]+$/.test(url)) register(`${url}.json`);
    },
    user(request) {
      const account = users.get(request);
      // Only a route marked public runs without an account, and public routes never ask for one.
      if (!account) throw new Error(`${request.method} ${request.url} has no authenticated user`);
      return account.id;
    },
  };

  appRoutes(context);
  versionRoutes(context);
  commentRoutes(context);
};
