import type { FastifySchemaValidationError } from 'fastify';
import { RateLimitedError } from '../../core/chat/rate.js';
import { QuotaExceededError } from '../../core/accounts/quotas.js';
import { AuthenticationError, ConflictError, DomainError, ForbiddenError, InUseError, NotFoundError, ThrottledError, ValidationError } from '../../core/kernel/errors.js';

/**
 * Multistreamer's errors: `{"error": "..."}`, HTTP 400 for nearly everything (an unknown or
 * unusable stream or account included), 401 for missing or bad credentials and for
 * "unauthorized to edit stream".
 */
export class MsError extends Error {
  override readonly name = 'MsError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const NEEDS_AUTHORIZATION = 'endpoint requires authorization';
export const CONTENT_TYPE_REQUIRED = 'content-type must be application/json';

export function unauthorized(): MsError {
  return new MsError(401, NEEDS_AUTHORIZATION);
}

export function badRequest(message: string): MsError {
  return new MsError(400, message);
}

/** Any error that reaches the Multistreamer error handler, as the original would answer. */
export function toMsError(err: unknown): MsError {
  if (err instanceof MsError) return err;
  if (err instanceof ForbiddenError) return new MsError(401, err.message);
  if (err instanceof AuthenticationError) return unauthorized();
  if (err instanceof RateLimitedError) return new MsError(429, err.message);
  // Multistreamer's messages are lower-case sentences.
  if (err instanceof ThrottledError) return new MsError(429, `too many failed logins: try again in ${err.retryAfter} s`);
  if (err instanceof QuotaExceededError) return new MsError(400, `quota reached: a user may have at most ${err.limit} ${err.resource}`);
  if (err instanceof ValidationError || err instanceof NotFoundError || err instanceof ConflictError || err instanceof InUseError) {
    return new MsError(400, err.message);
  }
  if (err instanceof DomainError) return new MsError(400, err.message);
  const e = err as { validation?: FastifySchemaValidationError[]; code?: string; statusCode?: number; message?: string };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new MsError(413, 'request body is too large');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new MsError(400, 'content-length does not match the body');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new MsError(400, 'request body must be a JSON object');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new MsError(e.statusCode, e.message ?? 'bad request');
  return new MsError(500, 'internal server error');
}
