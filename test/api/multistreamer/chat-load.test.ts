/**
 * What held, kept so: 1,000 chat sockets on one stream, opened through the server's own HTTP
 * listener from one address (within its default per-address connection cap), each get a
 * message posted to it, and the server keeps answering while they are open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { ChatClient, chatStream, chatUser } from './chat-support.js';

const SOCKETS = 1000;

describe('a thousand chat sockets', () => {
  let server: TestServer;
  const clients: ChatClient[] = [];
  before(async () => {
    server = await startTestServer('sqlite');
  });
  after(async () => {
    for (const client of clients) client.close();
    await server.close();
  });

  it(`${SOCKETS} sockets on one stream all get a posted message`, async () => {
    const owner = await chatUser(server, 'loadowner');
    const stream = await chatStream(server, owner, 'crowded');
    const url = `${server.url.replace(/^http/, 'ws')}/ws/${stream.number}?token=${owner.token}`;
    for (let i = 0; i < SOCKETS; i += 100) {
      clients.push(...(await Promise.all(Array.from({ length: Math.min(100, SOCKETS - i) }, () => ChatClient.open(url)))));
    }
    await Promise.all(clients.map((c) => c.waitFor((f) => f.type === 'writer')));
    await server.running.core.chat.post(stream.id, owner.id, { type: 'text', text: 'hello, crowd' });
    const got = await Promise.all(clients.map((c) => c.waitFor((f) => f.type === 'text' && f.text === 'hello, crowd')));
    assert.equal(got.length, SOCKETS);
    const answer = await fetch(`${server.url}/`, { headers: { accept: 'application/json' } });
    assert.equal(answer.status, 200);
  });
});
