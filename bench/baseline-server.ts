/**
 * The peers of the API bench, answering every GET with a fixed JSON body (the one streamdelta
 * gives for the bench's agent config lookup), with no logger, hook, plugin or database:
 *
 * - `node`: a bare `node:http` server, the ceiling of Node itself on this machine: the issue's
 *   targets are fractions of what it sustains;
 * - `fastify`: a bare Fastify server, a reference row: what the framework alone costs.
 *
 * Started by bench/api.ts as a child process: `node baseline-server.js`, with the kind in
 * BENCH_BASELINE_KIND (`node` unless told), the body in BENCH_BASELINE_BODY and the port in
 * BENCH_BASELINE_PORT (0 picks a free one). Prints "baseline listening on http://…" when ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';

const body = process.env.BENCH_BASELINE_BODY;
if (body === undefined || body === '') {
  process.stderr.write('baseline-server: BENCH_BASELINE_BODY is not set\n');
  process.exit(2);
}
const kind = process.env.BENCH_BASELINE_KIND || 'node';
const port = Number(process.env.BENCH_BASELINE_PORT ?? '0');

let close: () => Promise<void>;
if (kind === 'node') {
  // The body is encoded once: the bare server does nothing per request but write it.
  const bytes = Buffer.from(body, 'utf8');
  const length = String(bytes.length);
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': length });
    response.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  process.stdout.write(`baseline listening on http://127.0.0.1:${address.port}\n`);
  close = () => new Promise((resolve) => server.close(() => resolve()));
} else if (kind === 'fastify') {
  const app = Fastify({ logger: false });
  app.get('/*', (_request, reply) => {
    reply.header('content-type', 'application/json; charset=utf-8').send(body);
  });
  const address = await app.listen({ host: '127.0.0.1', port });
  process.stdout.write(`baseline listening on ${address}\n`);
  close = () => app.close();
} else {
  process.stderr.write(`baseline-server: BENCH_BASELINE_KIND must be node or fastify (got ${JSON.stringify(kind)})\n`);
  process.exit(2);
}

const stop = () => {
  close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
