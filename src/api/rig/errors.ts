import type { FastifySchemaValidationError } from 'fastify';
import {
  AuthenticationError,
  ConflictError,
  DisabledError,
  DomainError,
  InUseError,
  NotFoundError,
  ThrottledError,
  ValidationError,
} from '../../core/kernel/errors.js';
import { RigCode, RigError } from './envelope.js';
import { QuotaExceededError } from '../../core/accounts/quotas.js';

/**
 * How rig reports a failed body check: absent or empty fields are "missing required input"
 * (1004, details = the field names, as rig's `required` middleware did); a wrong type or a body
 * that is not an object is "invalid input" (1005).
 */
export function fromSchemaErrors(errors: FastifySchemaValidationError[]): RigError {
  const missing: string[] = [];
  const invalid: Record<string, string> = {};
  for (const e of errors) {
    const field = e.instancePath.replace(/^\//, '');
    if (e.keyword === 'required') {
      missing.push(String((e.params as { missingProperty?: unknown }).missingProperty));
    } else if (field === '') {
      return new RigError(RigCode.InvalidInput, 'Request body must be a JSON object');
    } else if (e.keyword === 'minLength' && (e.params as { limit?: unknown }).limit === 1) {
      missing.push(field);
    } else {
      invalid[field] = e.message ?? 'is invalid';
    }
  }
  if (missing.length > 0) return new RigError(RigCode.MissingInput, undefined, missing);
  return new RigError(RigCode.InvalidInput, undefined, invalid);
}

/** What a route answers for each kind of domain failure; kinds not named here fall to the defaults. */
export interface DomainErrorAnswers {
  notFound?: RigError;
  conflict?: (err: ConflictError) => RigError;
  authentication?: RigError;
  disabled?: RigError;
  inUse?: RigError;
  /** The code a refusal for too many failed attempts carries (HTTP 429 with Retry-After); 1003 unless named. */
  throttled?: RigCode;
}

/** Too many failed attempts, in rig's envelope: the route's code (1003 by default) with HTTP 429 and Retry-After. */
function throttledAnswer(err: ThrottledError, code: RigCode = RigCode.InvalidCredentials): RigError {
  const answer = new RigError(code, err.message, undefined, 429);
  answer.retryAfter = err.retryAfter;
  return answer;
}

/** Translates a domain failure into the route's rig answer; anything else is rethrown as is. */
export function fromDomainError(err: unknown, answers: DomainErrorAnswers): never {
  if (err instanceof ThrottledError) throw throttledAnswer(err, answers.throttled);
  // rig's "Unable to create resource", saying which limit.
  if (err instanceof QuotaExceededError) throw new RigError(RigCode.CreateFailed, `Unable to create resource: at most ${err.limit} ${err.resource} per account`);
  if (err instanceof ValidationError) throw new RigError(RigCode.InvalidInput, undefined, err.fields);
  if (err instanceof NotFoundError && answers.notFound) throw answers.notFound;
  if (err instanceof ConflictError && answers.conflict) throw answers.conflict(err);
  if (err instanceof AuthenticationError) throw answers.authentication ?? new RigError(RigCode.InvalidCredentials);
  if (err instanceof DisabledError && answers.disabled) throw answers.disabled;
  if (err instanceof InUseError) throw answers.inUse ?? new RigError(RigCode.InUse);
  if (err instanceof DomainError) throw new RigError(RigCode.InvalidInput, err.message);
  throw err;
}

/** Any error that reaches rig's error handler, as rig would answer it. */
export function toRigError(err: unknown): RigError {
  if (err instanceof RigError) return err;
  const e = err as { validation?: FastifySchemaValidationError[]; code?: string; statusCode?: number };
  if (e.validation) return fromSchemaErrors(e.validation);
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RigError(RigCode.InvalidInput, 'Request body is too large', undefined, 413);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RigError(RigCode.ContentType);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new RigError(RigCode.InvalidInput, 'Content-Length does not match the body');
  }
  if (err instanceof ValidationError) return new RigError(RigCode.InvalidInput, undefined, err.fields);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new RigError(RigCode.InvalidInput, undefined, undefined, e.statusCode);
  }
  return new RigError(RigCode.FetchFailed, 'Internal server error', undefined, 500);
}
