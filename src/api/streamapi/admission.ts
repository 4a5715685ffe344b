import type { Core } from '../../core/core.js';
import type { AskAdmission } from '../../core/playback/admissions.js';
import { postForm } from '../../jobs/post.js';

const LOGIN_TIMEOUT_MS = 5000;

/**
 * Viewer admission to a private StreamAPI session, as the original did it: the site's callback
 * URL is POSTed `action=login` with the viewer's key, the session's public host id and the
 * viewer's address, and a `<code>0</code>` answer admits the viewer, who then gets a signed
 * viewer token. Every call is one question to the site: `ViewerAdmissions` (core/playback)
 * remembers the answers and caps the calls in flight.
 */
export function siteAdmission(core: Core): AskAdmission {
  return async (streamId, viewerKey, address) => {
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
    return core.viewing.mintToken(streamId);
  };
}
