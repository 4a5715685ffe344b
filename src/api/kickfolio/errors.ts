import type { FastifySchemaValidationError } from 'fastify';
import { NotFoundError, ValidationError, type FieldErrors } from '../../core/kernel/errors.js';
import { QuotaExceededError } from '../../core/accounts/quotas.js';

/**
 * Kickfolio's error schema: `{"message", "code", "errors"?}`, where `errors` (only with
 * `record_invalid`) lists `{"field", "resource", "message"}` per invalid attribute.
 */
export type Resource = 'App' | 'Version' | 'Comment';

export interface FieldError {
  field: string;
  resource: Resource;
  message: string;
}

export interface KickfolioErrorBody {
  message: string;
  code: string;
  errors?: FieldError[];
}

export const KickfolioCode = {
  BadRequest: 'bad_request',
  Unauthorized: 'unauthorized',
  NotFound: 'not_found',
  MethodNotAllowed: 'method_not_allowed',
  UnsupportedVersion: 'unsupported_version',
  TooLarge: 'request_too_large',
  RecordInvalid: 'record_invalid',
  Internal: 'internal_error',
} as const;
export type KickfolioCode = (typeof KickfolioCode)[keyof typeof KickfolioCode];

export class KickfolioError extends Error {
  override readonly name = 'KickfolioError';

  constructor(
    readonly status: number,
    readonly code: KickfolioCode,
    message: string,
    readonly errors?: FieldError[],
  ) {
    super(message);
  }

  body(): KickfolioErrorBody {
    return this.errors === undefined ? { message: this.message, code: this.code } : { message: this.message, code: this.code, errors: this.errors };
  }
}

/** "One of your inputs was incorrectly encoded and could not be processed." */
export function badRequest(detail: string): KickfolioError {
  return new KickfolioError(400, KickfolioCode.BadRequest, detail);
}

export function notFound(resource: Resource | 'Route', detail?: string): KickfolioError {
  return new KickfolioError(404, KickfolioCode.NotFound, detail ?? `${resource} not found`);
}

/** The core's field names as the dialect spells them. */
const FIELD_NAMES: Record<string, string> = {
  name: 'name',
  appId: 'app_id',
  bundleUrl: 'bundle_url',
  versionString: 'version_string',
  versionId: 'version_id',
  body: 'body',
};

function humanize(field: string): string {
  const words = field.replace(/_id$/, '').replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * 422 `record_invalid`, with the Rails-style summary "Validation failed: Name can't be blank";
 * an error of the record as a whole is Rails' `base`, whose message stands alone.
 */
export function recordInvalid(resource: Resource, fields: Record<string, string>): KickfolioError {
  const errors = Object.entries(fields).map(([field, message]) => ({ field, resource, message }));
  const summary = errors.map((e) => (e.field === 'base' ? e.message : `${humanize(e.field)} ${e.message}`)).join(', ');
  return new KickfolioError(422, KickfolioCode.RecordInvalid, `Validation failed: ${summary}`, errors);
}

function dialectFields(fields: FieldErrors): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).map(([f, m]) => [FIELD_NAMES[f] ?? f, m]));
}

/** A domain failure as the route's answer; anything else is rethrown as is. */
export function fromDomainError(err: unknown, resource: Resource): never {
  if (err instanceof ValidationError) throw recordInvalid(resource, dialectFields(err.fields));
  if (err instanceof QuotaExceededError) throw recordInvalid(resource, { base: `Limit of ${err.limit} ${err.resource} per account reached` });
  if (err instanceof NotFoundError) {
    const what = /\b(app|version|comment)\b/i.exec(err.message)?.[1];
    throw notFound(what ? ((what[0]!.toUpperCase() + what.slice(1).toLowerCase()) as Resource) : resource);
  }
  throw err;
}

/** A body that fails its JSON schema (a wrong type): invalid attributes of the route's resource. */
export function fromSchemaErrors(errors: FastifySchemaValidationError[], resource: Resource): KickfolioError {
  const fields: Record<string, string> = {};
  for (const e of errors) {
    const field = e.instancePath.replace(/^\//, '').split('/')[0] ?? '';
    if (field === '') return badRequest(`The ${resource.toLowerCase()} must be a JSON object`);
    const types = [(e.params as { type?: unknown }).type].flat().filter((t) => t !== 'null');
    fields[field] ??= e.keyword === 'type' && types.length > 0 ? `must be a ${types.join(' or ')}` : (e.message ?? 'is invalid');
  }
  return recordInvalid(resource, fields);
}

/** Any error that reaches the plugin's error handler, as Kickfolio answers it. */
export function toKickfolioError(err: unknown, resource: Resource | undefined): KickfolioError {
  if (err instanceof KickfolioError) return err;
  const e = err as { validation?: FastifySchemaValidationError[]; code?: string; statusCode?: number };
  if (e.validation) return fromSchemaErrors(e.validation, resource ?? 'App');
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KickfolioError(413, KickfolioCode.TooLarge, 'The request body is larger than the server accepts');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return badRequest('Content-Length does not match the body');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return badRequest('The request could not be processed');
  return new KickfolioError(500, KickfolioCode.Internal, 'Internal server error');
}
