import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';

/** The dashboard's session cookie: HttpOnly, SameSite=Lax, the whole site's (the app and the API it calls). */
export const SESSION_COOKIE = 'sd_session';

/** The session cookie's value in the request, if any. */
export function sessionCookie(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === SESSION_COOKIE) {
      try {
        return decodeURIComponent(part.slice(at + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The `Set-Cookie` value that hands a browser its session (Secure when the server is reached over https). */
export function sessionCookieHeader(token: string, options: { secure: boolean; maxAgeSeconds: number }): string {
  return [`${SESSION_COOKIE}=${encodeURIComponent(token)}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${options.maxAgeSeconds}`, ...(options.secure ? ['Secure'] : [])].join('; ');
}

/** The `Set-Cookie` value that removes the session cookie. */
export function clearedSessionCookie(secure: boolean): string {
  return sessionCookieHeader('', { secure, maxAgeSeconds: 0 });
}

/**
 * Whether a request that a cookie authenticates comes from a page of this server: its `Origin`
 * is the server's public origin or the origin the request was addressed to. A write without an
 * `Origin`, or from another site (a form on an attacker's page, which the browser sends the
 * cookie with), is refused: the cookie alone must never be enough to change anything.
 */
export function fromOwnOrigin(request: FastifyRequest, publicUrl: string): boolean {
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || origin === 'null') return false;
  if (origin === new URL(publicUrl).origin) return true;
  const host = request.headers.host;
  if (typeof host !== 'string' || !(origin === `http://${host}` || origin === `https://${host}`)) return false;
  // The address the browser used, when the public URL names another: an IP address or
  // localhost only. A name could be an attacker's, rebound to this server's address, whose own
  // page would then pass as ours.
  const hostname = new URL(origin).hostname.replace(/^\[|\]$/g, '');
  return hostname === 'localhost' || hostname === new URL(publicUrl).hostname || isIP(hostname) !== 0;
}
