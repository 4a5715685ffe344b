/**
 * Outbound POSTs (webhooks, site callbacks, viewer admission): the egress policy at connect
 * time, at most 64 KiB of an answer read (a receiver streaming an endless body costs nothing),
 * and one deadline for the whole exchange.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EgressPolicy, EgressRefusedError } from '../../src/core/egress/policy.js';
import { MAX_ANSWER_BYTES, post } from '../../src/jobs/post.js';

describe('post', () => {
  let server: Server;
  let url: string;
  let requests = 0;
  /** Bytes the endless answer managed to write before the client went away. */
  let endlessWritten = 0;
  let endlessClosed: Promise<void> = Promise.resolve();

  before(async () => {
    server = createServer((req, res) => {
      requests++;
      req.resume();
      if (req.url === '/endless') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(64 * 1024, 'x');
        endlessClosed = new Promise((resolve) => res.once('close', () => resolve()));
        const pump = () => {
          while (!res.destroyed && endlessWritten < 50 * 1024 * 1024) {
            endlessWritten += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        pump();
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 3000);
      } else {
        res.writeHead(200).end('ok');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('refuses a private address at connect time without sending anything, unless private networks are open', async () => {
    const before = requests;
    await assert.rejects(post(new EgressPolicy(false), `${url}/hook`, '{}', {}, 2000), (err: Error) => err instanceof EgressRefusedError && /loopback/.test(err.message));
    await assert.rejects(post(new EgressPolicy(false), url.replace('127.0.0.1', 'localhost') + '/hook', '{}', {}, 2000), EgressRefusedError);
    assert.equal(requests, before, 'the receiver got nothing');
    assert.deepEqual(await post(new EgressPolicy(true), `${url}/hook`, '{}', {}, 2000), { status: 200, text: 'ok' });
  });

  it('reads at most 64 KiB of an answer and drops the connection', async () => {
    const answer = await post(new EgressPolicy(true), `${url}/endless`, '{}', {}, 5000);
    assert.equal(answer.status, 500);
    assert.equal(answer.text.length, MAX_ANSWER_BYTES);
    await endlessClosed;
    assert.ok(endlessWritten < 10 * 1024 * 1024, `the receiver could write only ${endlessWritten} bytes before the connection went`);
  });

  it('gives up at the deadline', async () => {
    await assert.rejects(post(new EgressPolicy(true), `${url}/slow`, '{}', {}, 300), (err: Error) => err.name === 'TimeoutError');
  });
});
