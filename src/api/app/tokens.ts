import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { AccessToken } from '../../core/accounts/access-tokens.js';
import type { AccountScope } from '../../core/accounts/scope.js';
import type { Core } from '../../core/core.js';
import { NotFoundError, ValidationError } from '../../core/kernel/errors.js';
import { fromOwnOrigin, sessionCookie } from '../session-cookie.js';

const NewToken = Type.Object({ name: Type.Optional(Type.String({ maxLength: 255 })), readOnly: Type.Optional(Type.Boolean()) });

function presentToken(t: AccessToken) {
  return { id: t.id, name: t.name, permission: t.permission, createdAt: t.createdAt };
}

function error(reply: FastifyReply, status: number, type: string, messages: string[]) {
  return reply.status(status).send({ error: { type, messages } });
}

/**
 * The signed-in person's access tokens (the live API has no route for them: Mux makes them in its
 * dashboard, and so does this one): list, make (the secret shown in this answer only), revoke.
 */
export function tokenRoutes(app: FastifyInstance, core: Core, publicUrl: string): void {
  /** The session's scope; the answer is sent (401, 403) when there is none or a write comes from elsewhere. */
  async function scopeOf(request: FastifyRequest, reply: FastifyReply): Promise<AccountScope | undefined> {
    const token = sessionCookie(request);
    const session = token === undefined ? undefined : await core.sessions.resolve(token);
    if (!session) {
      error(reply, 401, 'unauthorized', ['Not signed in']);
      return undefined;
    }
    if (request.method !== 'GET' && !fromOwnOrigin(request, publicUrl)) {
      error(reply, 403, 'forbidden', ['This request must come from this server’s own pages']);
      return undefined;
    }
    return session.scope;
  }

  app.get('/api/access-tokens', async (request, reply) => {
    const scope = await scopeOf(request, reply);
    if (!scope) return reply;
    return reply.header('cache-control', 'no-store').send({ data: (await core.liveApiTokens.listIn(scope)).map(presentToken) });
  });

  app.post('/api/access-tokens', { schema: { body: NewToken, hide: true } }, async (request: FastifyRequest<{ Body: Static<typeof NewToken> }>, reply) => {
    const scope = await scopeOf(request, reply);
    if (!scope) return reply;
    try {
      const name = request.body.name?.trim() ? request.body.name.trim() : null;
      const issued = await core.liveApiTokens.create(scope.accountId, { name, readOnly: request.body.readOnly === true });
      return reply.status(201).header('cache-control', 'no-store').send({ data: { ...presentToken(issued), secret: issued.secret } });
    } catch (err) {
      if (err instanceof ValidationError) return error(reply, 400, 'invalid_parameters', Object.entries(err.fields).map(([f, m]) => `${f} ${m}`));
      throw err;
    }
  });

  app.delete('/api/access-tokens/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const scope = await scopeOf(request, reply);
    if (!scope) return reply;
    try {
      await core.liveApiTokens.revokeIn(scope, request.params.id);
      return reply.status(204).send();
    } catch (err) {
      if (err instanceof NotFoundError) return error(reply, 404, 'not_found', [err.message]);
      throw err;
    }
  });
}
