import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { LogLevel } from '../config.js';

/** One HTTP dialect and where it is mounted. */
export interface HttpAdapter<O extends object = object> {
  name: string;
  prefix: string;
  plugin: FastifyPluginAsync<O>;
  options: O;
  /** Path patterns whose first group is kept and whose rest is a secret, redacted from logs. */
  secretPaths: RegExp[];
}

export interface HttpOptions {
  logLevel: LogLevel;
  bodyLimit: number;
  adapters: HttpAdapter<any>[];
  /** Where logs go; stdout by default. */
  logStream?: NodeJS.WritableStream;
}

/** The request URL with every secret path segment replaced, fit for a log line. */
export function redactPath(url: string, patterns: readonly RegExp[]): string {
  return patterns.reduce((out, pattern) => out.replace(pattern, '$1[redacted]'), url);
}

export async function buildHttpServer(options: HttpOptions): Promise<FastifyInstance> {
  const secretPaths = options.adapters.flatMap((a) => a.secretPaths);
  const logger: FastifyServerOptions['logger'] = {
    level: options.logLevel,
    ...(options.logStream ? { stream: options.logStream } : {}),
    serializers: {
      req: (req) => ({
        method: req.method,
        url: redactPath(req.url, secretPaths),
        remoteAddress: req.ip,
      }),
    },
  };
  const app = Fastify({
    logger,
    // One line per request is noise at info level on a media server that serves thousands;
    // the hook below writes them at debug level instead.
    disableRequestLogging: true,
    bodyLimit: options.bodyLimit,
    routerOptions: { ignoreTrailingSlash: true },
    // Wrong JSON types are refused, never coerced: `"username": 123` is invalid input.
    ajv: { customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false } },
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug({ req: request, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request completed');
  });
  for (const adapter of options.adapters) {
    await app.register(adapter.plugin, { ...adapter.options, prefix: adapter.prefix });
  }
  return app;
}
