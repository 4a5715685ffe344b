import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.js';
import { fieldsOf, text } from './fields.js';

/**
 * The OAuth2 token endpoint (RFC 6749): the client_credentials grant, the client authenticated
 * by HTTP Basic (both SDKs) or by client_id and client_secret in the body (python-kickflip),
 * never both. Errors are RFC 6749 section 5.2's.
 */
type OAuthError = 'invalid_request' | 'invalid_client' | 'unsupported_grant_type';

function refuse(reply: FastifyReply, error: OAuthError, description: string): FastifyReply {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (error === 'invalid_client') {
    // 401 with a challenge: a client that tried Basic must get one, and Android reads any 401/400 alike.
    return reply.status(401).header('www-authenticate', 'Basic realm="kickflip"').send({ error, error_description: description });
  }
  return reply.status(400).send({ error, error_description: description });
}

/** Client id and secret from `Authorization: Basic` (each form-encoded, RFC 6749 2.3.1), or undefined when there is no such header. */
function basicCredentials(header: string | undefined): { clientId: string; secret: string } | 'malformed' | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return 'malformed';
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  const unform = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return { clientId: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
}

export function tokenRoutes(app: FastifyInstance, core: Core): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    let fields;
    try {
      fields = fieldsOf(request.body);
      text(fields, 'grant_type');
      text(fields, 'client_id');
      text(fields, 'client_secret');
    } catch {
      return refuse(reply, 'invalid_request', 'The request body could not be read');
    }
    const grantType = text(fields, 'grant_type');
    if (grantType === undefined) return refuse(reply, 'invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials') return refuse(reply, 'unsupported_grant_type', 'Only the client_credentials grant is supported');

    const basic = basicCredentials(request.headers.authorization);
    const bodyId = text(fields, 'client_id');
    const bodySecret = text(fields, 'client_secret');
    if (basic === 'malformed') return refuse(reply, 'invalid_client', 'The Authorization header must be Basic base64(client_id:client_secret)');
    if (basic !== undefined && (bodyId !== undefined || bodySecret !== undefined)) {
      return refuse(reply, 'invalid_request', 'Authenticate the client one way only: HTTP Basic or client_id and client_secret in the body');
    }
    const credentials = basic ?? (bodyId !== undefined && bodySecret !== undefined ? { clientId: bodyId, secret: bodySecret } : undefined);
    if (!credentials) return refuse(reply, 'invalid_client', 'Client authentication is required');
    const client = await core.apiClients.authenticate(credentials.clientId, credentials.secret);
    if (!client) return refuse(reply, 'invalid_client', 'Client authentication failed');

    const token = await core.apiClients.issueToken(client);
    return reply
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .send({ access_token: token.token, token_type: 'Bearer', expires_in: token.expiresIn, scope: 'read write' });
  };
  app.post('/o/token', handler);
}
