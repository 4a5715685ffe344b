import Fastify, { type FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';
import { chatSocketPlugin } from '../../../src/api/multistreamer/chat-socket.js';
import { freeStreamNumber } from '../../../src/core/dialects/multistreamer/multistreams.js';
import type { AccountId, StreamId } from '../../../src/core/kernel/ids.js';
import type { TestServer } from '../../helpers/server.js';

export interface ChatUser {
  id: AccountId;
  username: string;
  /** The Multistreamer access token (`GET /auth` gives the same one). */
  token: string;
}

/** A platform account with its Multistreamer token. */
export async function chatUser(server: TestServer, username: string): Promise<ChatUser> {
  const { core } = server.running;
  const account = await core.accounts.create({ username, password: 'correct horse battery' });
  const profile = await core.accessTokens.profile(account.id);
  if (!profile) throw new Error('no Multistreamer profile');
  return { id: account.id, username, token: profile.accessToken };
}

export interface ChatStream {
  id: StreamId;
  /** The Multistreamer integer id (the socket's path). */
  number: number;
}

/** A Multistreamer stream of `owner` with its integer id, written through the store's repositories. */
export async function chatStream(server: TestServer, owner: ChatUser, name: string): Promise<ChatStream> {
  const { core, store } = server.running;
  const stream = await core.streams.create(owner.id);
  const number = await store.transaction(async (tx) => {
    const n = await freeStreamNumber(tx);
    await tx.msStreams.insert({ stream_id: stream.id, number: n, owner_id: owner.id, name, slug: name, preview_required: 0, ffmpeg_pull_args: null, updated_at: stream.createdAt });
    return n;
  });
  return { id: stream.id, number };
}

/** Shares the stream with `user` at a chat level (metadata level 1), or changes the share's level. */
export async function share(server: TestServer, stream: ChatStream, user: ChatUser, chatLevel: 0 | 1 | 2): Promise<void> {
  const { store } = server.running;
  const now = new Date().toISOString();
  if (await store.streamShares.find(stream.id, user.id)) await store.streamShares.update(stream.id, user.id, { chat_level: chatLevel, updated_at: now });
  else await store.streamShares.insert({ stream_id: stream.id, user_id: user.id, chat_level: chatLevel, metadata_level: 1, created_at: now, updated_at: now });
}

/**
 * The chat socket plugin on its own HTTP listener over the test server's core, mounted at
 * `/api/v1` as the Multistreamer adapter mounts it.
 */
export async function chatHttp(server: TestServer, pingIntervalMs?: number): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  await app.register(chatSocketPlugin, { core: server.running.core, prefix: '/api/v1', ...(pingIntervalMs ? { pingIntervalMs } : {}) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return { app, url: `ws://127.0.0.1:${address.port}/api/v1` };
}

/** A chat client: every frame it receives, and ways to wait for them. */
export class ChatClient {
  readonly frames: any[] = [];
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  static open(url: string, options: { headers?: Record<string, string> } = {}): Promise<ChatClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const client = new ChatClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(Object.assign(new Error(`refused: ${res.statusCode}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Waits until `count` frames matching `match` have arrived (counting those already here). */
  async waitFor(match: (frame: any) => boolean, count = 1, ms = 5000): Promise<any[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.filter(match);
      if (found.length >= count) return found;
      if (this.closed) throw new Error(`socket closed (${this.closed.code}) waiting for frames; got ${JSON.stringify(this.frames)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for frames; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async waitClosed(ms = 5000): Promise<{ code: number; reason: string }> {
    await this.waitFor(() => false, 1, ms).catch(() => undefined);
    if (!this.closed) throw new Error('socket still open');
    return this.closed;
  }

  close(): void {
    this.ws.close();
  }
}

/** Messages of one kind among a client's frames, as [type, text]. */
export const texts = (client: ChatClient) => client.frames.filter((f) => f.type === 'text' || f.type === 'emote').map((f) => [f.type, f.text]);
