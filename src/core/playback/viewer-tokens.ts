import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed viewer tokens for private streams: `<expiresMs>-<hex HMAC-SHA256(secret, "<streamId>:<expiresMs>")>`.
 * A site mints them with its own API secret for the viewers it admits; the server mints them
 * the same way after a site admitted a viewer through its `login` callback.
 */
export function signViewerToken(secret: string, streamId: string, expiresMs: number): string {
  const mac = createHmac('sha256', secret).update(`${streamId}:${expiresMs}`).digest('hex');
  return `${expiresMs}-${mac}`;
}

export function verifyViewerToken(secret: string, streamId: string, token: string, nowMs: number): boolean {
  const match = /^(\d{1,16})-([0-9a-f]{64})$/.exec(token);
  if (!match) return false;
  const expires = Number(match[1]);
  if (!(expires > nowMs)) return false;
  const expected = createHmac('sha256', secret).update(`${streamId}:${expires}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}
