import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthenticationError } from '../../../core/kernel/errors.js';
import { unauthorized } from '../errors.js';
import type { MsContext } from '../context.js';
import { profileJson, userListJson } from '../present.js';

/** `Authorization: Basic base64(username:password)`, or undefined. */
function basicCredentials(request: FastifyRequest): { username: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(request.headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function userRoutes(app: FastifyInstance, { core, caller }: MsContext): void {
  // The original answered /auth to any method.
  app.route({
    method: ['GET', 'POST'],
    url: '/auth',
    handler: async (request) => {
      const credentials = basicCredentials(request);
      if (!credentials) throw unauthorized();
      try {
        const account = await core.accounts.authenticate(credentials.username, credentials.password, { address: request.ip });
        if (!account.isActive) throw unauthorized();
        const profile = await core.accessTokens.profile(account.id);
        if (!profile) throw unauthorized();
        return { token: profile.accessToken };
      } catch (err) {
        if (err instanceof AuthenticationError) throw unauthorized();
        throw err;
      }
    },
  });

  app.get('/profile', async (request) => {
    const profile = await core.accessTokens.profile(caller(request));
    if (!profile) throw unauthorized();
    return profileJson(profile);
  });

  // The document shows `/user`, its table `/users`: both answer.
  for (const url of ['/user', '/users']) {
    app.get(url, async (request) => {
      const self = await core.accessTokens.profile(caller(request));
      if (!self) throw unauthorized();
      return userListJson(await core.accessTokens.list(), self);
    });
  }
}
