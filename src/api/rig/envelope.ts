/**
 * rig's response envelopes: `{message, payload}` for success, `{message, errorCode, details?}`
 * for errors, with the codes of rig's `rest/errors.go` and their HTTP statuses.
 */
export const RigCode = {
  NotFound: 1000,
  MethodNotAllowed: 1001,
  ContentType: 1002,
  InvalidCredentials: 1003,
  MissingInput: 1004,
  InvalidInput: 1005,
  CreateFailed: 1006,
  UpdateFailed: 1007,
  FetchFailed: 1008,
  InUse: 1009,
} as const;
export type RigCode = (typeof RigCode)[keyof typeof RigCode];

const STATUS: Record<RigCode, number> = {
  1000: 404,
  1001: 405,
  1002: 415,
  1003: 401,
  1004: 400,
  1005: 400,
  1006: 400,
  1007: 400,
  1008: 400,
  1009: 409,
};

const DEFAULT_MESSAGE: Record<RigCode, string> = {
  1000: 'Not found',
  1001: 'Method not allowed',
  1002: 'Content-Type should be application/json',
  1003: 'Invalid credentials',
  1004: 'Missing required input',
  1005: 'Invalid input',
  1006: 'Unable to create resource',
  1007: 'Unable to update resource',
  1008: 'Unable to fetch resource',
  1009: 'Resource is already in use',
};

export interface RigErrorBody {
  message: string;
  errorCode: RigCode;
  details?: unknown;
}

/** An error answered in rig's envelope. `details` is left out when there is none, as rig does. */
export class RigError extends Error {
  override readonly name = 'RigError';
  readonly status: number;
  /** Seconds the client should wait before trying again, sent as `Retry-After` (a 429). */
  retryAfter?: number;

  constructor(
    readonly code: RigCode,
    message: string = DEFAULT_MESSAGE[code],
    readonly details?: unknown,
    status?: number,
  ) {
    super(message);
    this.status = status ?? STATUS[code];
  }

  body(): RigErrorBody {
    return this.details === undefined
      ? { message: this.message, errorCode: this.code }
      : { message: this.message, errorCode: this.code, details: this.details };
  }
}

export interface RigSuccess<T> {
  message: string;
  payload: T;
}

export function success<T>(message: string, payload: T): RigSuccess<T> {
  return { message, payload };
}
