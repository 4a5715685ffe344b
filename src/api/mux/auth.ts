import type { FastifyRequest } from 'fastify';
import type { AccessTokenService, TokenPermission } from '../../core/accounts/access-tokens.js';
import type { AccountScope } from '../../core/accounts/scope.js';
import type { SessionService } from '../../core/accounts/sessions.js';
import { fromOwnOrigin, sessionCookie } from '../session-cookie.js';
import { MuxError } from './errors.js';

/** What a live API request may do, and for whom: by an access token, or by a dashboard session. */
export interface Grant {
  scope: AccountScope;
  permission: TokenPermission;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the live API request acts for (set once its credentials are checked). */
    muxGrant?: Grant;
  }
}

/** The grant of an authenticated live API request. */
export function grantOf(request: FastifyRequest): Grant {
  if (!request.muxGrant) throw new MuxError('unauthorized', ['Access token credentials are required']);
  return request.muxGrant;
}

/** Failed credentials one address may send in a minute before it is told to wait. */
export const MAX_AUTH_FAILURES_PER_MINUTE = 30;
/** Addresses remembered at once; the oldest are forgotten first. */
const MAX_TRACKED_ADDRESSES = 10_000;

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const encoded = /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(header ?? '')?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * HTTP Basic `token_id:token_secret`, as Mux takes it; or, from the dashboard, its session
 * cookie (writes only from a page of this server: the cookie alone changes nothing). Wrong or
 * missing credentials are a 401; an address that keeps sending wrong ones is told to wait (429).
 */
export class BasicAuth {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly tokens: Pick<AccessTokenService, 'authenticate'>,
    private readonly sessions: Pick<SessionService, 'resolve'>,
    private readonly publicUrl: string,
  ) {}

  async grant(request: FastifyRequest): Promise<Grant> {
    const now = Date.now();
    const cookie = request.headers.authorization === undefined ? sessionCookie(request) : undefined;
    if (cookie !== undefined) {
      const session = await this.sessions.resolve(cookie);
      if (session) {
        if (request.method !== 'GET' && request.method !== 'HEAD' && !fromOwnOrigin(request, this.publicUrl)) {
          throw new MuxError('forbidden', ['A change with the session cookie must come from this server’s own pages']);
        }
        return { scope: session.scope, permission: 'full' };
      }
    }
    const credentials = basicCredentials(request.headers.authorization);
    const grant = credentials ? await this.tokens.authenticate(credentials.id, credentials.secret) : undefined;
    // Valid credentials always pass: many clients behind one proxy address must not be locked
    // out by one of them sending wrong ones.
    if (grant) return grant;
    const record = this.failures.get(request.ip);
    if (record && now - record.since < 60_000 && record.count >= MAX_AUTH_FAILURES_PER_MINUTE) {
      throw new MuxError('too_many_requests', ['Too many failed attempts from this address: wait a minute']);
    }
    this.noteFailure(request.ip, now);
    throw new MuxError('unauthorized', [credentials ? 'Invalid access token credentials' : cookie !== undefined ? 'The session has ended: sign in again' : 'Access token credentials are required (HTTP Basic: token id and secret)']);
  }

  private noteFailure(address: string, now: number): void {
    const record = this.failures.get(address);
    if (!record || now - record.since >= 60_000) {
      this.failures.delete(address);
      if (this.failures.size >= MAX_TRACKED_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
      this.failures.set(address, { count: 1, since: now });
    } else {
      record.count++;
    }
  }
}
