import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * CORS as rig's middleware sets it (github.com/rs/cors with credentials allowed, methods
 * GET, POST, PATCH and DELETE, headers Authorization and Content-Type, any origin):
 * - every answer carries `Vary: Origin`; with an `Origin`, an answer to one of those methods
 *   reflects it with `Access-Control-Allow-Credentials: true`;
 * - a preflight (OPTIONS with `Access-Control-Request-Method`) is answered 200 with no body,
 *   allowing the method asked for, and only where the route has it, with the request headers
 *   rig allows; anything else gets no CORS header at all;
 * - an OPTIONS that is not a preflight goes to the router like any request (405 or 404).
 * Reflecting every origin with credentials is harmless only because rig authenticates by the
 * `Authorization` header alone, which a browser never adds on its own: no cookie may ever
 * authenticate a rig route.
 */
const CORS_METHODS = new Set(['GET', 'POST', 'PATCH', 'DELETE']);
/** rs/cors always lets a preflight ask for `Origin` besides the configured headers. */
const REQUEST_HEADERS = new Set(['authorization', 'content-type', 'origin']);
const ALLOW_HEADERS = 'Content-Type, Authorization';
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

function pathOf(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? '';
}

/** Whether every header a preflight asks for is one rig allows (names split on commas and spaces). */
function headersAllowed(requested: string | undefined): boolean {
  return (requested ?? '')
    .split(/[\s,]+/)
    .filter((h) => h !== '')
    .every((h) => REQUEST_HEADERS.has(h.toLowerCase()));
}

/** Adds rig's CORS to the plugin's requests; `methodsAt` tells the methods a path has. */
export function addRigCors(app: FastifyInstance, methodsAt: (path: string) => string[]): void {
  // A callback hook, not an async one: no promise and no extra tick on every request.
  app.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin;
    reply.header('vary', 'Origin');
    if (request.method === 'OPTIONS') {
      const asked = request.headers['access-control-request-method'];
      if (asked === undefined || asked === '') return done();
      const method = asked.toUpperCase();
      reply.header('vary', PREFLIGHT_VARY);
      if (
        origin !== undefined &&
        origin !== '' &&
        CORS_METHODS.has(method) &&
        methodsAt(pathOf(request)).includes(method) &&
        headersAllowed(request.headers['access-control-request-headers'])
      ) {
        reply
          .header('access-control-allow-origin', origin)
          .header('access-control-allow-methods', method)
          .header('access-control-allow-headers', ALLOW_HEADERS)
          .header('access-control-allow-credentials', 'true');
      }
      // Answered here: a hook that replies does not go on (done is not called).
      reply.code(200).send();
      return;
    }
    if (origin !== undefined && origin !== '' && CORS_METHODS.has(request.method)) {
      reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true');
    }
    done();
  });
}
