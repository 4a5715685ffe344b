import type { FastifyError, FastifyReply } from 'fastify';
import { QuotaExceededError } from '../../core/accounts/quotas.js';
import { AuthenticationError, ConflictError, DisabledError, ForbiddenError, InUseError, NotFoundError, ThrottledError, ValidationError } from '../../core/kernel/errors.js';

/** Mux's error types, each with its status. */
export type MuxErrorType = 'invalid_parameters' | 'unauthorized' | 'forbidden' | 'not_found' | 'too_many_requests' | 'payload_too_large' | 'internal_error';

const STATUS: Record<MuxErrorType, number> = {
  invalid_parameters: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  payload_too_large: 413,
  too_many_requests: 429,
  internal_error: 500,
};

/** An error the API answers in Mux's shape: `{"error":{"type":…,"messages":[…]}}`. */
export class MuxError extends Error {
  constructor(
    readonly type: MuxErrorType,
    readonly messages: string[],
  ) {
    super(messages.join('; '));
  }

  get status(): number {
    return STATUS[this.type];
  }
}

export function sendMuxError(reply: FastifyReply, error: MuxError): FastifyReply {
  // The SDK retries 429s and 5xx by itself; everything else is final.
  return reply.status(error.status).header('x-should-retry', error.status === 429 || error.status >= 500 ? 'true' : 'false').send({ error: { type: error.type, messages: error.messages } });
}

/** A Fastify schema failure as one message per bad field, as Mux lists them. */
function validationMessages(err: FastifyError): string[] {
  return (err.validation ?? []).map((v) => {
    const params = v.params as { missingProperty?: string };
    const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const field = params.missingProperty ? (path ? `${path}.${params.missingProperty}` : params.missingProperty) : path || (err.validationContext ?? 'body');
    return `${field} ${params.missingProperty ? 'is required' : v.message}`;
  });
}

/** Any failure of a route as the Mux error it is; what is not the caller's fault is a bare internal error. */
export function toMuxError(err: unknown): MuxError {
  if (err instanceof MuxError) return err;
  if (err instanceof ValidationError) {
    const fields = Object.entries(err.fields);
    return new MuxError('invalid_parameters', fields.length > 0 ? fields.map(([field, problem]) => `${field} ${problem}`) : [err.message]);
  }
  if (err instanceof ConflictError) {
    const fields = Object.entries(err.fields);
    return new MuxError('invalid_parameters', fields.length > 0 ? fields.map(([field, problem]) => `${field} ${problem}`) : [err.message]);
  }
  if (err instanceof NotFoundError) return new MuxError('not_found', [err.message]);
  if (err instanceof ForbiddenError || err instanceof AuthenticationError) return new MuxError('forbidden', [err.message]);
  if (err instanceof QuotaExceededError) return new MuxError('forbidden', [err.message]);
  if (err instanceof InUseError || err instanceof DisabledError) return new MuxError('invalid_parameters', [err.message]);
  if (err instanceof ThrottledError) return new MuxError('too_many_requests', [err.message]);
  const fastify = err as FastifyError;
  if (fastify.validation) return new MuxError('invalid_parameters', validationMessages(fastify));
  switch (fastify.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new MuxError('payload_too_large', ['The request body is too large']);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new MuxError('invalid_parameters', ['The request body must be JSON (Content-Type: application/json)']);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new MuxError('invalid_parameters', ['The request body is empty or incomplete']);
  }
  if (fastify.statusCode === 400 || err instanceof SyntaxError) return new MuxError('invalid_parameters', ['The request body is not valid JSON']);
  return new MuxError('internal_error', ['Something went wrong on the server']);
}
