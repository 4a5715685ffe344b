import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { Core } from '../../../core/core.js';
import { grantOf } from '../auth.js';
import { presentSigningKey } from '../present.js';
import { data, dataList, ERRORS, IdParams, PageQuery, SigningKeySchema } from '../schemas.js';

const tags = ['signing keys'];

/** `/system/v1/signing-keys`: RSA keys for signed playback; the private half is in the create answer only. */
export function signingKeyRoutes(app: FastifyInstance, core: Core): void {
  app.post('/signing-keys', { schema: { tags, summary: 'Create a URL signing key', response: { 201: data(SigningKeySchema), ...ERRORS } } }, async (request, reply) => {
    return reply.status(201).send({ data: presentSigningKey(await core.signingKeys.create(grantOf(request).scope)) });
  });

  app.get('/signing-keys', { schema: { tags, summary: 'List URL signing keys, newest first', querystring: PageQuery, response: { 200: dataList(SigningKeySchema), ...ERRORS } } }, async (request: FastifyRequest<{ Querystring: Static<typeof PageQuery> }>) => {
    const limit = request.query.limit ?? 25;
    const page = request.query.page ?? 1;
    return { data: (await core.signingKeys.list(grantOf(request).scope, limit, (page - 1) * limit)).map(presentSigningKey) };
  });

  app.get('/signing-keys/:id', { schema: { tags, summary: 'Retrieve a URL signing key', params: IdParams, response: { 200: data(SigningKeySchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams> }>) => ({
    data: presentSigningKey(await core.signingKeys.get(grantOf(request).scope, request.params.id)),
  }));

  app.delete('/signing-keys/:id', { schema: { tags, summary: 'Delete a URL signing key (its tokens stop working)', params: IdParams, response: { 204: { type: 'null', description: 'Deleted' }, ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams> }>, reply) => {
    await core.signingKeys.delete(grantOf(request).scope, request.params.id);
    return reply.status(204).send();
  });
}
