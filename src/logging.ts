import { pino, stdSerializers, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.js';

export type Logger = PinoLogger;

/** Path patterns whose first group is kept and whose rest is a secret. */
export type SecretPaths = readonly RegExp[];

/**
 * Query parameters that carry a credential on some path of some API: a viewer key or token
 * (`/hls/…?key=`, `?token=`), a signature (StreamAPI's `sig`, presigned S3 URLs), an API token.
 * Redacted on every path, so no API needs to list them.
 */
const SECRET_QUERY = /([?&](?:key|stream_key|token|auth_token|access_token|sig|signature|secret|password|x-amz-security-token|x-amz-signature|x-amz-credential)=)[^&#]*/gi;

/** The request URL with every secret path segment and credential of its query replaced, fit for a log line. */
export function redactPath(url: string, patterns: SecretPaths): string {
  return [...patterns, SECRET_QUERY].reduce((out, pattern) => out.replace(pattern, '$1[redacted]'), url);
}

/** Properties of errors that hold request bytes: Node's HTTP parser keeps the whole raw request (headers and all). */
const RAW_PROPERTIES = ['rawPacket'];

/** An error as pino writes it, without what the error holds of the request's bytes. */
function serializeError(err: Error): Record<string, unknown> {
  const out = stdSerializers.err(err) as Record<string, unknown>;
  for (const name of RAW_PROPERTIES) delete out[name];
  return out;
}

/**
 * The process logger (pino, JSON lines). Requests are logged by method, redacted URL and
 * address only: never headers (Authorization) or bodies (passwords, keys), and errors without
 * the raw request bytes a parser error carries.
 */
export function createLogger(options: { level: LogLevel; secretPaths: SecretPaths; stream?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: options.level,
      serializers: {
        err: serializeError,
        req: (req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
          method: req.method,
          url: req.url === undefined ? undefined : redactPath(req.url, options.secretPaths),
          remoteAddress: req.ip ?? req.socket?.remoteAddress,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
    (options.stream ?? process.stdout) as NodeJS.WritableStream & { write(chunk: string): boolean },
  );
}
