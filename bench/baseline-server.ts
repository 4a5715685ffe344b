/**
 * The peer of the API bench: a bare Fastify server (no logger, no hooks, no plugins, no
 * database) answering the agent config route with a fixed JSON body, the one streamdelta
 * gives for the bench's stream. What it sustains is the framework's ceiling on this machine;
 * the gap to streamdelta's row is what streamdelta's own stack costs on top.
 *
 * Started by bench/api.ts as a child process: `node baseline-server.js`, with the body in
 * BENCH_BASELINE_BODY and the port in BENCH_BASELINE_PORT (0 picks a free one). Prints
 * "baseline listening on http://…" when ready.
 */
import Fastify from 'fastify';

const body = process.env.BENCH_BASELINE_BODY;
if (body === undefined || body === '') {
  process.stderr.write('baseline-server: BENCH_BASELINE_BODY is not set\n');
  process.exit(2);
}
const port = Number(process.env.BENCH_BASELINE_PORT ?? '0');

const app = Fastify({ logger: false });
app.get('/agents/config/:streamKey', (_request, reply) => {
  reply.header('content-type', 'application/json; charset=utf-8').send(body);
});

const address = await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`baseline listening on ${address}\n`);

const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
