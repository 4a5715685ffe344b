import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TokenHolder } from '../../core/dialects/kickflip/oauth-clients.js';
import type { Core } from '../../core/core.js';
import { bearerToken, parseBodiesWith } from '../http.js';
import { DomainError } from '../../core/kernel/errors.js';
import { fieldsOf, parseBody } from './fields.js';
import { tokenRoutes } from './oauth.js';
import type { Urls } from './present.js';
import { endpoints, registerEndpoints } from './routes.js';

export interface KickflipOptions {
  core: Core;
  /** The server's public base URL, without a trailing slash. */
  publicUrl: string;
  /** The RTMP ingest URL of a stream key (the RTMP port is known only once the server listens). */
  rtmpUrl(key: string): string;
  bodyLimit: number;
}

export const API_PREFIX = '/api/1.2';

/** A Kickflip failure: HTTP 200 with `success: false` and the reason, as kickflip.io answered. */
function failure(reason: string): { success: false; reason: string } {
  return { success: false, reason };
}

/** A domain failure as one line: "Invalid stream details: lat must be a latitude from -90 to 90". */
function reasonOf(err: DomainError): string {
  const fields = 'fields' in err && typeof err.fields === 'object' && err.fields !== null ? (err.fields as Record<string, string>) : {};
  const detail = Object.entries(fields).map(([field, problem]) => `${field} ${problem}`);
  return detail.length > 0 ? `${err.message}: ${detail.join('; ')}` : err.message;
}

/**
 * The Kickflip API 1.2, mounted at the root: the OAuth2 token endpoint `/o/token` and the API
 * under `/api/1.2`. Every API call is a POST with a form-encoded or JSON body (or none), with
 * or without a trailing slash, authenticated by a Bearer access token (403 when it is not
 * valid: the Android SDK then fetches a new one), and answered with HTTP 200 and JSON carrying
 * `success`, with `reason` when it is false.
 */
export const kickflipPlugin: FastifyPluginAsync<KickflipOptions> = async (app: FastifyInstance, options: KickflipOptions) => {
  const { core } = options;
  const urls: Urls = { publicUrl: options.publicUrl, rtmpUrl: (key) => options.rtmpUrl(key) };

  // Scoped to this plugin: form bodies (what the SDKs send), JSON, an empty JSON body, no body.
  parseBodiesWith(app, { bodyLimit: options.bodyLimit }, parseBody);

  tokenRoutes(app, core);

  await app.register(
    async (api) => {
      const holders = new WeakMap<FastifyRequest, TokenHolder>();

      // Before the body is read: a bad token is a 403 whatever the body holds.
      api.addHook('onRequest', async (request, reply) => {
        const token = bearerToken(request.headers);
        const holder = token === undefined ? undefined : await core.apiClients.holder(token);
        if (!holder) {
          return reply
            .status(403)
            .header('www-authenticate', 'Bearer realm="kickflip", error="invalid_token"')
            .send(failure(token === undefined ? 'Authentication credentials were not provided' : 'Invalid or expired access token'));
        }
        holders.set(request, holder);
        return undefined;
      });

      api.setErrorHandler((err, request, reply) => {
        // A body that cannot be read is bad input like any other: 200 and success false.
        if (err instanceof DomainError) return reply.status(200).send(failure(reasonOf(err)));
        const status = (err as { statusCode?: number }).statusCode ?? 500;
        if (status === 413) return reply.status(413).send(failure('The request body is too large'));
        if (status < 500) return reply.status(200).send(failure(err instanceof Error ? err.message : 'Bad request'));
        request.log.error({ err }, 'kickflip request failed');
        return reply.status(500).send(failure('A server error occurred'));
      });

      api.setNotFoundHandler((request, reply) => {
        const path = (request.url.split('?')[0] ?? '').replace(/\/+$/, '');
        const known = Object.keys(table).some((p) => `${API_PREFIX}${p}` === path);
        if (known) return reply.status(405).header('allow', 'POST').send(failure(`${request.method} is not allowed here; use POST`));
        return reply.status(404).send(failure(`No such endpoint: ${path}`));
      });

      const table = endpoints(core, urls);
      registerEndpoints(api, table, async (request, endpoint) => {
        const holder = holders.get(request);
        if (!holder) throw new Error('no token holder for an authenticated route');
        // A refusal the core throws reaches the error handler above: 200 and success false.
        return endpoint({ fields: fieldsOf(request.body), holder, request });
      });
    },
    { prefix: API_PREFIX },
  );
};

