import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { Core } from '../../../core/core.js';
import { grantOf } from '../auth.js';
import { MuxError } from '../errors.js';
import { presentDelivery, presentWebhook } from '../present.js';
import { data, dataList, DeliverySchema, EmptyData, ERRORS, IdAndDeliveryParams, IdParams, PageQuery, WebhookCreateBody, WebhookSchema, WebhookUpdateBody } from '../schemas.js';

const tags = ['webhooks'];

/**
 * `/system/v1/webhooks`: where an account's events are POSTed, signed with `mux-signature`
 * (Mux configures these in its dashboard; the Mux SDK's `system.webhooks` calls these routes).
 */
export function webhookRoutes(app: FastifyInstance, core: Core): void {
  const endpoints = core.webhookEndpoints;

  app.post('/webhooks', { schema: { tags, summary: 'Create a webhook endpoint (the answer holds its signing secret, once)', body: WebhookCreateBody, response: { 201: data(WebhookSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Body: Static<typeof WebhookCreateBody> }>, reply) => {
    const url = request.body.url ?? request.body.address;
    if (url === undefined) throw new MuxError('invalid_parameters', ['url is required']);
    const created = await endpoints.create(grantOf(request).scope, { url, events: request.body.events ?? null });
    return reply.status(201).send({ data: presentWebhook(created) });
  });

  app.get('/webhooks', { schema: { tags, summary: 'List webhook endpoints', querystring: PageQuery, response: { 200: dataList(WebhookSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Querystring: Static<typeof PageQuery> }>) => {
    const limit = request.query.limit ?? 25;
    const page = request.query.page ?? 1;
    const all = await endpoints.list(grantOf(request).scope);
    return { data: all.slice((page - 1) * limit, page * limit).map(presentWebhook) };
  });

  app.get('/webhooks/:id', { schema: { tags, summary: 'Retrieve a webhook endpoint', params: IdParams, response: { 200: data(WebhookSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams> }>) => ({
    data: presentWebhook(await endpoints.get(grantOf(request).scope, request.params.id)),
  }));

  app.patch('/webhooks/:id', { schema: { tags, summary: 'Update a webhook endpoint', params: IdParams, body: WebhookUpdateBody, response: { 200: data(WebhookSchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams>; Body: Static<typeof WebhookUpdateBody> }>) => {
    const body = request.body;
    const url = body.url ?? body.address;
    const change = { ...(url !== undefined ? { url } : {}), ...(body.enabled !== undefined ? { enabled: body.enabled } : {}), ...(body.events !== undefined ? { events: body.events } : {}) };
    return { data: presentWebhook(await endpoints.update(grantOf(request).scope, request.params.id, change)) };
  });

  app.delete('/webhooks/:id', { schema: { tags, summary: 'Delete a webhook endpoint', params: IdParams, response: { 204: { type: 'null', description: 'Deleted' }, ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams> }>, reply) => {
    await endpoints.delete(grantOf(request).scope, request.params.id);
    return reply.status(204).send();
  });

  app.get('/webhooks/:id/deliveries', { schema: { tags, summary: 'List delivery attempts, newest first', params: IdParams, querystring: PageQuery, response: { 200: dataList(DeliverySchema), ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdParams>; Querystring: Static<typeof PageQuery> }>) => {
    const limit = request.query.limit ?? 25;
    const page = request.query.page ?? 1;
    return { data: (await endpoints.deliveries(grantOf(request).scope, request.params.id, limit, (page - 1) * limit)).map(presentDelivery) };
  });

  app.post('/webhooks/:id/deliveries/:deliveryId/redeliver', { schema: { tags, summary: 'Send the event of a delivery again', params: IdAndDeliveryParams, response: { 200: EmptyData, ...ERRORS } } }, async (request: FastifyRequest<{ Params: Static<typeof IdAndDeliveryParams> }>) => {
    await endpoints.redeliver(grantOf(request).scope, request.params.id, request.params.deliveryId);
    return { data: {} };
  });
}
