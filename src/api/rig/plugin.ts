import cors from '@fastify/cors';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.js';
import { parseBodiesWith, routePattern } from '../http.js';
import { RigCode, RigError, success } from './envelope.js';
import { toRigError } from './errors.js';
import { accountRoutes } from './routes/accounts.js';
import { agentRoutes } from './routes/agents.js';
import { streamRoutes } from './routes/streams.js';
import { responses } from './schemas.js';
import type { RigContext } from './context.js';
import type { RigTokens } from './tokens.js';

export interface RigOptions {
  core: Core;
  tokens: RigTokens;
  bodyLimit: number;
}

/** Paths of the rig API that carry a secret, redacted from logs. */
export const RIG_SECRET_PATHS = [/(\/agents\/config\/)[^/?#]+/];

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

function carriesBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Bodies never reach an object merge, but a `__proto__` key has no business in one either. */
function refusePrototypeKeys(key: string, value: unknown): unknown {
  if (key === '__proto__' || key === 'constructor') throw new RigError(RigCode.InvalidInput, `Invalid key ${key} in body`);
  return value;
}

/**
 * The rig HTTP API v1 as a Fastify plugin, mounted at its prefix. It owns rig's whole dialect:
 * the envelopes, the exact `application/json` rule, JWT auth, 404/405 as codes 1000/1001, CORS.
 */
export const rigPlugin: FastifyPluginAsync<RigOptions> = async (app: FastifyInstance, options: RigOptions) => {
  const { core, tokens } = options;
  const routes: { method: string; url: string; pattern: RegExp }[] = [];

  app.addHook('onRoute', (route) => {
    // Fastify files the root route of a prefix (`/` under `/streams`) as `/streams`; rig's
    // document and route list write it `/streams/`.
    const url = route.routePath === '' ? `${route.url}/` : route.url;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      routes.push({ method, url, pattern: routePattern(url) });
    }
  });

  // rig's dashboard is a browser app on another origin.
  await app.register(cors, {
    origin: '*',
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type'],
  });

  // rig requires exactly `application/json` on POST/PUT/PATCH, but lets a POST with no body
  // through without one: the rig dashboard's HTTP client drops the header when it sends no data.
  app.addHook('onRequest', async (request) => {
    if (request.is404 || !BODY_METHODS.has(request.method)) return;
    const type = request.headers['content-type'];
    if (type === undefined ? carriesBody(request) : type.trim().toLowerCase() !== 'application/json') {
      throw new RigError(RigCode.ContentType);
    }
  });

  parseBodiesWith(app, { bodyLimit: options.bodyLimit, types: 'application/json' }, (body) => {
    if (body.trim() === '') return undefined;
    try {
      return JSON.parse(body, refusePrototypeKeys);
    } catch (err) {
      throw err instanceof RigError ? err : new RigError(RigCode.InvalidInput, 'Malformed JSON body');
    }
  });

  // No body at all reads as an empty object, so each absent field is reported as missing (1004).
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined) request.body = {};
  });

  app.setErrorHandler((err, request, reply) => {
    const answer = toRigError(err);
    if (answer.status >= 500) request.log.error({ err }, 'rig request failed');
    if (answer.retryAfter !== undefined) reply.header('retry-after', String(answer.retryAfter));
    return reply.status(answer.status).send(answer.body());
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0) {
      const answer = new RigError(RigCode.MethodNotAllowed);
      return reply.status(answer.status).header('allow', allowed.join(', ')).send(answer.body());
    }
    const answer = new RigError(RigCode.NotFound);
    return reply.status(answer.status).send(answer.body());
  });

  const context: RigContext = {
    core,
    tokens,
    async authenticate(request) {
      const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
      if (!match) {
        throw new RigError(RigCode.InvalidCredentials, 'Invalid Authorization header. Authorization header needs Bearer token');
      }
      const claims = await tokens.verifyUserToken(match[1]!);
      // A token outlives nothing: an account removed, or whose password changed, since it was issued is refused.
      if (!claims || !(await core.accounts.forToken(claims.accountId, claims.credentialVersion))) throw new RigError(RigCode.InvalidCredentials);
      return claims;
    },
  };

  app.get('/', { schema: { response: responses.routes } }, async () =>
    success(
      'rig HTTP API v1',
      routes.map((r) => `${r.method} ${r.url}`),
    ),
  );
  await app.register(accountRoutes, { prefix: '/accounts', rig: context });
  await app.register(streamRoutes, { prefix: '/streams', rig: context });
  await app.register(agentRoutes, { prefix: '/agents', rig: context });
};
