import { pino, stdSerializers, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.js';

export type Logger = PinoLogger;

/** Path patterns whose first group is kept and whose rest is a secret. */
export type SecretPaths = readonly RegExp[];

/** The request URL with every secret path segment replaced, fit for a log line. */
export function redactPath(url: string, patterns: SecretPaths): string {
  return patterns.reduce((out, pattern) => out.replace(pattern, '$1[redacted]'), url);
}

/**
 * The process logger (pino, JSON lines). Requests are logged by method, redacted URL and
 * address only: never headers (Authorization) or bodies (passwords, keys).
 */
export function createLogger(options: { level: LogLevel; secretPaths: SecretPaths; stream?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      level: options.level,
      serializers: {
        err: stdSerializers.err,
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
