import type { FastifyRequest } from 'fastify';
import { VERSION_FILES, type VersionScope } from '../../../core/dialects/kickfolio/apps.js';
import { queryList, queryString } from '../bodies.js';
import { fromDomainError, notFound } from '../errors.js';
import type { KickfolioContext } from '../context.js';
import { FILE_NAMES, presentVersion } from '../present.js';
import { bodies, responses } from '../schemas.js';

type Params = { id?: string; app_id?: string };
type VersionBody = { app_id?: string | null; bundle_url?: string | null; version_string?: string | null };

/**
 * `/versions` and `/apps/:app_id/versions`: list (all, by `app_id`, by `ids[]`), fetch (404 when
 * scoped to an app it does not belong to), create, update, delete; and the images processing
 * extracted, at `/versions/:id/icon.png`, `default.png` and `default-landscape.png`.
 */
export function versionRoutes(k: KickfolioContext): void {
  const { core } = k;
  const params = (request: FastifyRequest) => request.params as Params;
  const scopeOf = (request: FastifyRequest): VersionScope => {
    const app = params(request).app_id;
    return app === undefined ? {} : { app };
  };
  const input = (request: FastifyRequest) => {
    const body = request.body as VersionBody;
    return { appId: body.app_id, bundleUrl: body.bundle_url, versionString: body.version_string };
  };

  for (const base of ['/versions', '/apps/:app_id/versions']) {
    k.route({
      method: 'GET',
      url: base,
      resource: 'Version',
      schema: { response: responses.versions },
      handler: async (request) => {
        // An empty `app_id=` filters nothing, as an absent one.
        const app = params(request).app_id ?? (queryString(request.query, 'app_id') || undefined);
        const ids = queryList(request.query, 'ids');
        const versions = await core.apps
          .listVersions(k.user(request), { ...(app !== undefined ? { app } : {}), ...(ids !== undefined ? { ids } : {}) })
          .catch((err) => fromDomainError(err, 'Version'));
        return { versions: versions.map((v) => presentVersion(v, k.base)) };
      },
    });

    k.route({
      method: 'POST',
      url: base,
      resource: 'Version',
      root: 'version',
      schema: { body: bodies.version, response: responses.createdVersion },
      handler: async (request, reply) => {
        const version = await core.apps.createVersion(k.user(request), input(request), scopeOf(request)).catch((err) => fromDomainError(err, 'Version'));
        return reply.status(201).send({ version: presentVersion(version, k.base) });
      },
    });

    k.route({
      method: 'GET',
      url: `${base}/:id`,
      resource: 'Version',
      schema: { response: responses.version },
      handler: async (request) => {
        const version = await core.apps.getVersion(k.user(request), params(request).id!, scopeOf(request)).catch((err) => fromDomainError(err, 'Version'));
        return { version: presentVersion(version, k.base) };
      },
    });

    k.route({
      method: 'PUT',
      url: `${base}/:id`,
      resource: 'Version',
      root: 'version',
      schema: { body: bodies.version, response: responses.version },
      handler: async (request) => {
        const version = await core.apps
          .updateVersion(k.user(request), params(request).id!, input(request), scopeOf(request))
          .catch((err) => fromDomainError(err, 'Version'));
        return { version: presentVersion(version, k.base) };
      },
    });

    k.route({
      method: 'DELETE',
      url: `${base}/:id`,
      resource: 'Version',
      handler: async (request, reply) => {
        await core.apps.deleteVersion(k.user(request), params(request).id!, scopeOf(request)).catch((err) => fromDomainError(err, 'Version'));
        return reply.status(204).send();
      },
    });
  }

  for (const kind of VERSION_FILES) {
    k.route({
      method: 'GET',
      url: `/versions/:id/${FILE_NAMES[kind]}`,
      resource: 'Version',
      public: true,
      handler: async (request, reply) => {
        const file = await core.apps.openFile(params(request).id!, kind);
        if (!file) throw notFound('Version', `This version has no ${FILE_NAMES[kind]}`);
        // A new bundle gives the version new images at the same URL.
        return reply.type('image/png').header('content-length', file.size).header('cache-control', 'no-cache').send(file.stream);
      },
    });
  }
}
