import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** The paths of streamdelta's own API (Mux Video's live API); the dialects keep their own documents. */
export const DOCUMENTED_PREFIXES = ['/video/v1/', '/system/v1/'];

/**
 * `GET /openapi.json`: an OpenAPI 3.1 document generated from the route schemas of the live API,
 * and `/docs`, a page to read and try it (Swagger UI, served from the installed package). Must
 * be registered before the routes it documents.
 */
export async function registerOpenApi(app: FastifyInstance, publicUrl: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'streamdelta API (Mux-compatible)',
        version: '1.0.0',
        description:
          'Mux Video’s live API, self-hosted: live streams, assets (recordings), playback ids, simulcast targets, URL signing keys, webhooks and an event stream. ' +
          'Point a Mux SDK at this server (MUX_BASE_URL) with an access token made by `streamdelta access-token create`.',
      },
      servers: [{ url: publicUrl.replace(/\/+$/, '') }],
      components: { securitySchemes: { accessToken: { type: 'http', scheme: 'basic', description: 'token id as the user name, token secret as the password' } } },
      security: [{ accessToken: [] }],
    },
    // Only the live API is documented here; every other route is left out of the document.
    transform: ({ schema, url }) => ({ schema: DOCUMENTED_PREFIXES.some((p) => url.startsWith(p)) ? schema : { ...(schema ?? {}), hide: true }, url }),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The page keeps the plugin's CSP but for `upgrade-insecure-requests`: on a server reached over
  // plain http:// (a self-hosted one often is) it sends the page's own scripts and styles to
  // https://, which is not there, and the page stays blank. Its assets are all same-origin.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: false },
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/g, '').trim(),
  });
}
