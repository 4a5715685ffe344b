import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { bearerToken } from '../http.js';
import type { NodeMetrics } from './metrics.js';

/** One dependency a node needs to do its work, checked when a probe asks. */
export type ReadinessCheck = () => Promise<void>;

export interface OperationsOptions {
  /** What must answer for the node to be ready, by name: the database, its migrations, the bus, the blob store. */
  checks: Record<string, ReadinessCheck>;
  /** True once the node is being stopped: it turns not ready before it lets anything go. */
  stopping: () => boolean;
  /** How long one check may take before it counts as failed, in ms. */
  checkTimeoutMs: number;
  metrics: NodeMetrics;
  /** The bearer token /metrics asks for, or undefined: it answers anyone. */
  metricsToken: string | undefined;
}

/** Compared as digests, so the comparison takes as long whatever the token sent. */
function sameToken(sent: string | undefined, expected: string): boolean {
  if (sent === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(sent), digest(expected));
}

/**
 * A check's answer: `ok`, or why not: a system error's code (ECONNREFUSED, ENOTDIR: its message
 * would name paths of the machine), else the driver's message (never holding a secret).
 */
async function run(check: ReadinessCheck, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return 'ok';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && (err as NodeJS.ErrnoException).syscall !== undefined) return code;
    return err instanceof Error && err.message ? err.message : 'failed';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Probes for load balancers and orchestrators. `GET /healthz`: the process answers (liveness:
 * restart it when this fails). `GET /readyz`: the node can take work now: every dependency
 * answers and it is not being stopped (readiness: send it no traffic when this fails). Both
 * answer JSON with `Cache-Control: no-store`; HEAD works as well, for probes that send it.
 * `GET /metrics`: Prometheus' text format, behind a bearer token when one is set.
 */
export const operationsPlugin: FastifyPluginAsync<OperationsOptions> = async (app, options) => {
  app.get('/healthz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const names = Object.keys(options.checks);
    const answers = await Promise.all(names.map((name) => run(options.checks[name]!, options.checkTimeoutMs)));
    const checks = Object.fromEntries(names.map((name, i) => [name, answers[i]!]));
    const stopping = options.stopping();
    const ready = !stopping && answers.every((a) => a === 'ok');
    reply.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : stopping ? 'stopping' : 'not ready', checks };
  });

  app.get('/metrics', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    if (options.metricsToken !== undefined && !sameToken(bearerToken(request.headers), options.metricsToken)) {
      reply.header('www-authenticate', 'Bearer realm="metrics"');
      return reply.status(401).send({ error: 'unauthorized', message: 'GET /metrics needs Authorization: Bearer <the metrics token>' });
    }
    const { body, contentType } = await options.metrics.exposition();
    return reply.type(contentType).send(body);
  });
};
