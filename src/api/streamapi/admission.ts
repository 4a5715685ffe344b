import type { Core } from '../../core/core.js';
import { postForm } from '../../jobs/post.js';

/** Answers cached per viewer, so a player polling its playlist does not call the site every time. */
const ADMISSION_CACHE_MS = 60_000;
const LOGIN_TIMEOUT_MS = 5000;

export type Admit = (streamId: string, viewerKey: string, address: string) => Promise<string | undefined>;

/**
 * Viewer admission to a private StreamAPI session, as the original did it: the site's callback
 * URL is POSTed `action=login` with the viewer's key, the session's public host id and the
 * viewer's address, and a `<code>0</code>` answer admits the viewer, who then gets a signed
 * viewer token.
 */
export function siteAdmission(core: Core): Admit {
  const cache = new Map<string, { token: string; until: number }>();
  return async (streamId, viewerKey, address) => {
    const cacheKey = `${streamId}\u0000${viewerKey}\u0000${address}`;
    const cached = cache.get(cacheKey);
    if (cached && cached.until > Date.now()) return cached.token;
    const session = await core.siteSessions.ofStream(streamId);
    if (!session) return undefined;
    const site = await core.sites.get(session.siteId);
    if (!site?.callbackUrl || site.revokedAt) return undefined;
    const body = new URLSearchParams({ action: 'login', key: viewerKey, public_hostid: session.publicHostId, userip: address }).toString();
    let admitted = false;
    try {
      const answer = await postForm(core.egress, site.callbackUrl, body, LOGIN_TIMEOUT_MS);
      admitted = answer.status >= 200 && answer.status < 300 && /<code>\s*0\s*<\/code>/.test(answer.text);
    } catch {
      admitted = false;
    }
    if (!admitted) return undefined;
    const token = await core.viewing.mintToken(streamId);
    if (token === undefined) return undefined;
    if (cache.size > 10_000) cache.clear();
    cache.set(cacheKey, { token, until: Date.now() + ADMISSION_CACHE_MS });
    return token;
  };
}
