/**
 * Domain failures. Each API adapter maps these to its own dialect's error style; the core
 * never speaks HTTP.
 */
export type FieldErrors = Record<string, string>;

export class DomainError extends Error {
  override readonly name: string = 'DomainError';
}

/** Input breaks a rule of the domain (a too-short username, an unknown service). */
export class ValidationError extends DomainError {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly fields: FieldErrors = {},
  ) {
    super(message);
  }
}

/** The thing does not exist, or exists but is not visible to the caller: the same answer for both. */
export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
}

/** The write would break a uniqueness rule (a taken username or email). */
export class ConflictError extends DomainError {
  override readonly name = 'ConflictError';
  constructor(
    message: string,
    readonly fields: FieldErrors = {},
  ) {
    super(message);
  }
}

/** Credentials do not match. */
export class AuthenticationError extends DomainError {
  override readonly name = 'AuthenticationError';
}

/** The resource is busy: a stream already live from another encoder. */
export class InUseError extends DomainError {
  override readonly name = 'InUseError';
}

/** The resource exists but is switched off (a disabled stream). */
export class DisabledError extends DomainError {
  override readonly name = 'DisabledError';
}

/** The thing exists but belongs to another tenant (StreamAPI's "not created by this caller"). */
export class ForbiddenError extends DomainError {
  override readonly name = 'ForbiddenError';
}

/** Too many attempts (failed logins): refused without being tried, until `retryAfter` seconds have passed. */
export class ThrottledError extends DomainError {
  override readonly name = 'ThrottledError';
  constructor(
    message: string,
    /** Whole seconds until an attempt would be considered, at least 1. */
    readonly retryAfter: number,
  ) {
    super(message);
  }
}
