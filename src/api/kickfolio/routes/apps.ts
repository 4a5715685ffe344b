import type { FastifyRequest } from 'fastify';
import { queryList } from '../bodies.js';
import { fromDomainError } from '../errors.js';
import type { KickfolioContext } from '../context.js';
import { presentApp, presentVersion } from '../present.js';
import { bodies, responses } from '../schemas.js';

type Ref = { id: string };
type AppBody = { name?: string | null };
type VersionBody = { bundle_url?: string | null; version_string?: string | null };

/** `/apps`: list (with `ids[]`), fetch by id or public key, create, update, delete. */
export function appRoutes(k: KickfolioContext): void {
  const { core } = k;
  const params = (request: FastifyRequest) => request.params as Ref;

  k.route({
    method: 'GET',
    url: '/apps',
    resource: 'App',
    schema: { response: responses.apps },
    handler: async (request) => {
      const apps = await core.apps.listApps(k.user(request), queryList(request.query, 'ids'));
      return { apps: apps.map((a) => presentApp(a, k.base)) };
    },
  });

  k.route({
    method: 'POST',
    url: '/apps',
    resource: 'App',
    root: 'app',
    schema: { body: bodies.app, response: responses.createdApp },
    handler: async (request, reply) => {
      const { name } = request.body as AppBody;
      const app = await core.apps.createApp(k.user(request), { name }).catch((err) => fromDomainError(err, 'App'));
      return reply.status(201).send({ app: presentApp(app, k.base) });
    },
  });

  k.route({
    method: 'GET',
    url: '/apps/:id',
    resource: 'App',
    schema: { response: responses.app },
    handler: async (request) => {
      const app = await core.apps.getApp(k.user(request), params(request).id).catch((err) => fromDomainError(err, 'App'));
      return { app: presentApp(app, k.base) };
    },
  });

  k.route({
    method: 'PUT',
    url: '/apps/:id',
    resource: 'App',
    root: 'app',
    schema: { body: bodies.app, response: responses.app },
    handler: async (request) => {
      const { name } = request.body as AppBody;
      const app = await core.apps.updateApp(k.user(request), params(request).id, { name }).catch((err) => fromDomainError(err, 'App'));
      return { app: presentApp(app, k.base) };
    },
  });

  k.route({
    method: 'DELETE',
    url: '/apps/:id',
    resource: 'App',
    handler: async (request, reply) => {
      await core.apps.deleteApp(k.user(request), params(request).id).catch((err) => fromDomainError(err, 'App'));
      return reply.status(204).send();
    },
  });

  // xcoder (rayh/xcoder, deploy/kickfolio.rb) adds a version by POSTing `bundle_url` to the app itself.
  k.route({
    method: 'POST',
    url: '/apps/:id',
    resource: 'Version',
    root: 'version',
    schema: { body: bodies.version, response: responses.createdVersion },
    handler: async (request, reply) => {
      const body = request.body as VersionBody;
      const version = await core.apps
        .createVersion(k.user(request), { bundleUrl: body.bundle_url, versionString: body.version_string }, { app: params(request).id })
        .catch((err) => fromDomainError(err, 'Version'));
      return reply.status(201).send({ version: presentVersion(version, k.base) });
    },
  });
}
