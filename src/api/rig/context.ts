import type { FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.js';
import type { RigTokens, UserClaims } from './tokens.js';

/** What every rig route handler is given. */
export interface RigContext {
  core: Core;
  tokens: RigTokens;
  /** The caller of a route that needs a user: from `Authorization: Bearer <jwt>`, or a 1003 error. */
  authenticate(request: FastifyRequest): Promise<UserClaims>;
}
