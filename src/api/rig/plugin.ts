import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.js';
import { parseBodiesWith } from '../http.js';
import { addRigCors } from './cors.js';
import { RigCode, RigError, success } from './envelope.js';
import { toRigError } from './errors.js';
import { RigRouteList, rigRoute } from './route-list.js';
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

/**
 * The rig HTTP API v1 as a Fastify plugin, mounted at its prefix. It owns rig's whole dialect:
 * the envelopes, the exact `application/json` rule, JWT auth, 404/405 as codes 1000/1001, CORS,
 * and request bodies read and refused as rig's decoder and validator do.
 */
export const rigPlugin: FastifyPluginAsync<RigOptions> = async (app: FastifyInstance, options: RigOptions) => {
  const { core, tokens } = options;
  const routes = new RigRouteList();
  app.addHook('onRoute', (route) => routes.add(route));

  // First, so that every answer carries CORS headers, errors included.
  addRigCors(app, (path) => routes.methodsAt(path));

  // rig requires exactly `application/json` on POST/PUT/PATCH, but lets a POST with no body
  // through without one: the rig dashboard's HTTP client drops the header when it sends no data.
  // A callback hook: no promise and no extra tick on every request.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.is404 || !BODY_METHODS.has(request.method)) return done();
    const type = request.headers['content-type'];
    if (type === undefined ? carriesBody(request) : type.trim().toLowerCase() !== 'application/json') {
      return done(new RigError(RigCode.ContentType));
    }
    done();
  });

  // A body stays text until its route reads it, at the point where rig's handler decodes it
  // (after the token, after the stream's owner): see validation.ts.
  parseBodiesWith(app, { bodyLimit: options.bodyLimit, types: 'application/json' }, (body) => body);

  app.setErrorHandler((err, request, reply) => {
    const answer = toRigError(err);
    if (answer.status >= 500) request.log.error({ err }, 'rig request failed');
    if (answer.retryAfter !== undefined) reply.header('retry-after', String(answer.retryAfter));
    return reply.status(answer.status).send(answer.body());
  });

  app.setNotFoundHandler((request, reply) => {
    const allowed = routes.methodsAt(request.url.split('?')[0] ?? '');
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

  app.get('/', rigRoute('Get list of api', { schema: { response: responses.routes } }), async () =>
    success('xplex-rig HTTP API v1', routes.listing()),
  );
  await app.register(accountRoutes, { prefix: '/accounts', rig: context });
  await app.register(streamRoutes, { prefix: '/streams', rig: context });
  await app.register(agentRoutes, { prefix: '/agents', rig: context });
};
