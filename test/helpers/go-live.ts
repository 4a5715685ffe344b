/**
 * Helpers for the go-live, puller and webhook tests: a Multistreamer stream made through the
 * core (owner, optional custom RTMP account attached, preview, pull args, webhooks), a local
 * HTTP receiver of webhooks, and a recorder of the bus's go-live events.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AccountId, StreamId } from '../../src/core/kernel/ids.js';
import type { DomainEvent } from '../../src/core/kernel/events.js';
import type { NewWebhook } from '../../src/core/dialects/multistreamer/webhooks.js';
import type { TestServer } from './server.js';

let users = 0;

export interface MsFixture {
  ownerId: AccountId;
  username: string;
  streamId: StreamId;
  /** The Multistreamer integer stream id. */
  number: number;
  key: string;
  userNumber: number;
}

export async function msStream(
  server: TestServer,
  options: { previewRequired?: boolean; pullArgs?: string; rtmpUrl?: string; httpUrl?: string; webhooks?: NewWebhook[]; name?: string } = {},
): Promise<MsFixture> {
  const core = server.running.core;
  const username = `golive${++users}${Date.now() % 100000}`;
  const owner = await core.accounts.create({ username, password: 'correct horse battery' });
  const accounts = [];
  if (options.rtmpUrl) {
    const account = await core.networkAccounts.create(owner.id, {
      network: 'rtmp',
      name: 'receiver',
      settings: { url: options.rtmpUrl, ...(options.httpUrl ? { http_url: options.httpUrl } : {}) },
    });
    accounts.push({ id: account.id, settings: {} });
  }
  const view = await core.multistreams.create(owner.id, {
    name: options.name ?? 'Go Live Test',
    previewRequired: options.previewRequired ?? false,
    ...(options.pullArgs !== undefined ? { ffmpegPullArgs: options.pullArgs } : {}),
    accounts,
    ...(options.webhooks ? { webhooks: options.webhooks } : {}),
  });
  const profile = await core.accessTokens.profile(owner.id);
  return { ownerId: owner.id, username, streamId: view.streamId, number: view.id, key: view.key!, userNumber: profile!.id };
}

export interface ReceivedHook {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: any;
  at: number;
}

/** A node:http server taking webhook POSTs; `failNext(n)` answers the next n with HTTP 500. */
export interface HookReceiver {
  url: string;
  received: ReceivedHook[];
  /** Requests answered 500 (not in `received`). */
  refused: ReceivedHook[];
  failNext(n: number): void;
  close(): Promise<void>;
}

export async function hookReceiver(): Promise<HookReceiver> {
  const received: ReceivedHook[] = [];
  const refused: ReceivedHook[] = [];
  let failures = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const hook = { path: req.url ?? '', headers: req.headers, body, json, at: Date.now() };
      if (failures > 0) {
        failures--;
        refused.push(hook);
        res.writeHead(500).end('not now');
        return;
      }
      received.push(hook);
      res.writeHead(204).end();
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    refused,
    failNext(n) {
      failures = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Every go-live event of one stream the bus carries, by type, in order. */
export class GoLiveEvents {
  readonly types: string[] = [];
  private readonly unsubscribe: () => void;

  constructor(server: TestServer, streamId: StreamId) {
    this.unsubscribe = server.running.core.ctx.bus.subscribe((event: DomainEvent) => {
      if ('streamId' in event && event.streamId === streamId && event.type.startsWith('stream.')) this.types.push(event.type);
    });
  }

  close(): void {
    this.unsubscribe();
  }
}
