import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { SESSION_DAYS, type Session } from '../../core/accounts/sessions.js';
import type { Core } from '../../core/core.js';
import { AuthenticationError, ConflictError, ThrottledError, ValidationError } from '../../core/kernel/errors.js';
import type { BlobStore } from '../../blob/blob-store.js';
import { appTargetRoutes } from './targets.js';
import { clearedSessionCookie, fromOwnOrigin, sessionCookie, sessionCookieHeader } from '../session-cookie.js';
import { tokenRoutes } from './tokens.js';
import { watchRoutes } from './watch.js';
import { registerLiveRoutes, type LiveStatsSource } from './live.js';

export interface AppOptions {
  core: Core;
  publicUrl: string;
  /** The RTMP ingest base shown on a stream's page, e.g. `rtmp://host:1935/live` (known once RTMP listens). */
  rtmpUrl: () => string;
  /** Where recordings' segments are kept (for their downloads). */
  blobs: BlobStore;
  /** Where the built app is (`web/dist`); a server without it says how to build it. */
  webRoot?: string;
  /** The node's media plane, for a live stream's numbers (`GET /api/streams/:id/live`). */
  media?: LiveStatsSource;
}

/** The built web app, beside the compiled server (`dist/src/api/app/` → `web/dist/`). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../../web/dist/', import.meta.url));

const Credentials = Type.Object({ username: Type.String({ maxLength: 256 }), password: Type.String({ maxLength: 1024 }) });
type CredentialsBody = Static<typeof Credentials>;

function error(reply: FastifyReply, status: number, type: string, messages: string[]) {
  return reply.status(status).send({ error: { type, messages } });
}

function presentAccount(session: Pick<Session, 'account'>) {
  return { id: session.account.id, username: session.account.username, admin: session.account.isAdmin };
}

/** The app's index page, or a page saying how to build it when it is not built. */
export function appIndex(webRoot: string): { html: string; built: boolean } {
  const file = `${webRoot.replace(/\/+$/, '')}/index.html`;
  if (existsSync(file)) return { html: readFileSync(file, 'utf8'), built: true };
  return {
    html: '<!doctype html><html lang="en"><meta charset="utf-8"><title>streamdelta</title><p>The dashboard is not built: run <code>npm run build:web</code> (or <code>npm ci</code>), then start the server again.</p></html>\n',
    built: false,
  };
}

/**
 * The dashboard: its sign-in API under `/app/api/…` (a session cookie the Mux-compatible API
 * then takes in place of an access token) and the built app's files under `/app/`, hashed
 * assets cached for a year, every other path under `/app/` the app's index (its own routes).
 */
export const appPlugin: FastifyPluginAsync<AppOptions> = async (app, options) => {
  const { core, publicUrl } = options;
  const secure = new URL(publicUrl).protocol === 'https:';
  const webRoot = options.webRoot ?? DEFAULT_WEB_ROOT;
  const index = appIndex(webRoot);

  const signedIn = (reply: FastifyReply, session: Session, status: number) =>
    reply
      .status(status)
      .header('set-cookie', sessionCookieHeader(session.token, { secure, maxAgeSeconds: SESSION_DAYS * 86_400 }))
      .header('cache-control', 'no-store')
      .send({ account: presentAccount(session) });

  /** A sign-in's failure in words, with its status. */
  const refused = (reply: FastifyReply, err: unknown) => {
    if (err instanceof ThrottledError) return error(reply.header('retry-after', String(err.retryAfter)), 429, 'too_many_requests', [err.message]);
    if (err instanceof AuthenticationError) return error(reply, 401, 'unauthorized', ['Wrong username or password']);
    if (err instanceof ConflictError) return error(reply, 409, 'conflict', [err.message]);
    if (err instanceof ValidationError) return error(reply, 400, 'invalid_parameters', Object.entries(err.fields).map(([f, m]) => `${f} ${m}`));
    throw err;
  };

  // Sign-in forms post from the app's own pages only: a cross-site form cannot sign a browser in.
  const sameOrigin = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!fromOwnOrigin(request, publicUrl)) return error(reply, 403, 'forbidden', ['This request must come from this server’s own pages']);
  };

  app.setErrorHandler((err, request, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) request.log.error({ err }, 'dashboard request failed');
    return error(reply, status, status === 400 ? 'invalid_parameters' : status === 413 ? 'payload_too_large' : 'internal_error', [status >= 500 ? 'Something went wrong on the server' : (err as Error).message]);
  });

  app.get('/api/setup', async () => ({ needsAdmin: await core.sessions.needsAdmin() }));

  app.post('/api/setup', { schema: { body: Credentials, hide: true }, preHandler: sameOrigin }, async (request: FastifyRequest<{ Body: CredentialsBody }>, reply) => {
    try {
      return signedIn(reply, await core.sessions.setup(request.body.username, request.body.password, request.ip), 201);
    } catch (err) {
      return refused(reply, err);
    }
  });

  app.post('/api/login', { schema: { body: Credentials, hide: true }, preHandler: sameOrigin }, async (request: FastifyRequest<{ Body: CredentialsBody }>, reply) => {
    try {
      return signedIn(reply, await core.sessions.login(request.body.username, request.body.password, request.ip), 200);
    } catch (err) {
      return refused(reply, err);
    }
  });

  app.post('/api/logout', { preHandler: sameOrigin }, async (request, reply) => {
    const token = sessionCookie(request);
    if (token !== undefined) await core.sessions.logout(token);
    return reply.status(204).header('set-cookie', clearedSessionCookie(secure)).send();
  });

  app.get('/api/session', async (request, reply) => {
    const token = sessionCookie(request);
    const session = token === undefined ? undefined : await core.sessions.resolve(token);
    if (!session) return error(reply, 401, 'unauthorized', ['Not signed in']);
    return reply.header('cache-control', 'no-store').send({ account: presentAccount(session), rtmpUrl: options.rtmpUrl(), publicUrl });
  });

  tokenRoutes(app, core, publicUrl);
  await app.register(watchRoutes, { core, publicUrl });
  appTargetRoutes(app, { core, publicUrl, blobs: options.blobs });
  registerLiveRoutes(app, options);

  const page = (reply: FastifyReply) =>
    reply
      .status(index.built ? 200 : 503)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .send(index.html);

  if (index.built) {
    await app.register(fastifyStatic, {
      root: webRoot,
      prefix: '/',
      index: false,
      cacheControl: false,
      // Vite names every asset by its content: a year in caches; anything else is looked at again.
      setHeaders: (res, path) => res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
    });
  }
  app.get('/', async (_request, reply) => page(reply));
  app.setNotFoundHandler((request, reply) => {
    if (request.url.startsWith(`${app.prefix}/api/`)) return error(reply, 404, 'not_found', ['Not found']);
    if (request.method !== 'GET' && request.method !== 'HEAD') return error(reply, 405, 'invalid_parameters', ['Method not allowed']);
    return page(reply);
  });
};

/**
 * The app where a browser expects it, registered on the root before the other APIs: `/` for a
 * browser (`Accept: text/html`; API clients asking `*\/*` or JSON keep rig's route list, byte for
 * byte), and the public watch and embed pages `/watch/<playback_id>`, `/embed/<playback_id>`.
 */
export function appEntryPoints(app: FastifyInstance, webRoot: string = DEFAULT_WEB_ROOT): void {
  const index = appIndex(webRoot);
  const send = (reply: FastifyReply) =>
    reply.status(index.built ? 200 : 503).type('text/html; charset=utf-8').header('cache-control', 'no-cache').header('vary', 'Accept').send(index.html);
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' || (request.url !== '/' && !request.url.startsWith('/?'))) return;
    if (!/\btext\/html\b/.test(request.headers.accept ?? '')) return;
    return send(reply);
  });
  for (const path of ['/watch/:playbackId', '/embed/:playbackId']) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => send(reply));
  }
}
