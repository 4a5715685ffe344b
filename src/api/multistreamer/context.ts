import type { FastifyRequest } from 'fastify';
import type { Core } from '../../core/core.js';
import type { AccountId } from '../../core/kernel/ids.js';
import { badRequest } from './errors.js';

/** What every route module is given. */
export interface MsContext {
  core: Core;
  publicUrl: string;
  /** The caller, authenticated by their Bearer token before the handler ran. */
  caller(request: FastifyRequest): AccountId;
}

/** A path parameter that must be an integer id; anything else is as unknown as a missing id. */
export function idParam(request: FastifyRequest, unknown: string): number {
  const value = (request.params as Record<string, string>).id ?? '';
  if (!/^[1-9][0-9]{0,15}$/.test(value)) throw badRequest(unknown);
  return Number(value);
}
