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
import { invalidFields } from './validation.js';

/** What a route answers for each kind of domain failure; kinds not named here fall to the defaults. */
export interface DomainErrorAnswers {
  /** By default a rule of the core is answered as a validation failure (1005 with details). */
  invalid?: (err: ValidationError) => RigError;
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
  if (err instanceof ValidationError) throw answers.invalid?.(err) ?? invalidFields(err.fields);
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
  const e = err as { code?: string; statusCode?: number };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RigError(RigCode.InvalidInput, 'Request body is too large', undefined, 413);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RigError(RigCode.ContentType);
  }
  if (err instanceof ValidationError) return invalidFields(err.fields);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new RigError(RigCode.InvalidInput, undefined, undefined, e.statusCode);
  }
  return new RigError(RigCode.FetchFailed, 'Internal server error', undefined, 500);
}
