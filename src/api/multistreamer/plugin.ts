import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.js';
import type { AccountId } from '../../core/kernel/ids.js';
import { ThrottledError } from '../../core/kernel/errors.js';
import { bearerToken, parseBodiesWith } from '../http.js';
import { chatSocketPlugin } from './chat-socket.js';
import { badRequest, CONTENT_TYPE_REQUIRED, MsError, toMsError, unauthorized } from './errors.js';
import type { MsContext } from './context.js';
import { accountRoutes } from './routes/accounts.js';
import { streamRoutes } from './routes/streams.js';
import { userRoutes } from './routes/users.js';

export interface MultistreamerOptions {
  core: Core;
  bodyLimit: number;
  /** Base of the URLs handed out (the HLS preview). */
  publicUrl: string;
}

/**
 * The Multistreamer JSON API v1 at `<prefix>/api/v1` and its chat socket at `<prefix>/ws/:id`.
 * `/auth` takes Basic credentials of a platform account (the same as rig's) and answers the
 * user's access token; every other call needs `Authorization: Bearer <token>`. POST bodies must
 * be sent as exactly `application/json`, as the original required.
 */
export const multistreamerPlugin: FastifyPluginAsync<MultistreamerOptions> = async (app: FastifyInstance, options: MultistreamerOptions) => {
  await app.register(chatSocketPlugin, { core: options.core });
  await app.register(apiV1, { ...options, prefix: '/api/v1' });
};

const apiV1: FastifyPluginAsync<MultistreamerOptions> = async (app, options) => {
  const { core } = options;
  const callers = new WeakMap<FastifyRequest, AccountId>();

  parseBodiesWith(app, { bodyLimit: options.bodyLimit }, (body) => {
    if (body.trim() === '') return undefined;
    try {
      return JSON.parse(body);
    } catch {
      throw badRequest('request body is not valid JSON');
    }
  });

  // Credentials first, then the content type, before the body is read: the original's order.
  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]!.replace(/\/+$/, '');
    if (path.endsWith('/api/v1/auth')) return;
    const token = bearerToken(request.headers);
    const accountId = token ? await core.accessTokens.accountOf(token) : undefined;
    if (!accountId) throw unauthorized();
    callers.set(request, accountId);
    if (request.method === 'POST' && request.headers['content-type'] !== 'application/json') throw badRequest(CONTENT_TYPE_REQUIRED);
  });

  app.setErrorHandler((err, request, reply) => {
    const answer = toMsError(err);
    if (answer.status >= 500) request.log.error({ err }, 'multistreamer request failed');
    if (err instanceof ThrottledError) reply.header('retry-after', String(err.retryAfter));
    return reply.status(answer.status).type('application/json').send({ error: answer.message });
  });

  app.setNotFoundHandler(async (request, reply) => {
    // Unknown paths need credentials too, as every path of the original but /auth did.
    const token = bearerToken(request.headers);
    if (!token || !(await core.accessTokens.accountOf(token))) return reply.status(401).send({ error: unauthorized().message });
    return reply.status(404).send({ error: `no such endpoint: ${request.method} ${request.url.split('?')[0]}` });
  });

  const context: MsContext = {
    core,
    publicUrl: options.publicUrl,
    caller(request) {
      const accountId = callers.get(request);
      // Only /auth runs without a caller, and it never asks for one.
      if (!accountId) throw new MsError(401, 'endpoint requires authorization');
      return accountId;
    },
  };
  userRoutes(app, context);
  accountRoutes(app, context);
  streamRoutes(app, context);
};
