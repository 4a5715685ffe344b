import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Mux from '@mux/mux-node';
import type { AccountId } from '../../../src/core/kernel/ids.js';
import type { TestServer } from '../../helpers/server.js';

export { Mux };

export interface MuxAccount {
  accountId: AccountId;
  username: string;
  tokenId: string;
  tokenSecret: string;
  /** The official SDK, pointed at the test server; it retries nothing, so each call is one request. */
  mux: Mux;
  /** `Authorization: Basic …` of the token, for requests the SDK cannot make. */
  basic: string;
}

let counter = 0;

/** An account with a live API access token, and the Mux SDK using it. */
export async function muxAccount(server: TestServer, options: { admin?: boolean; readOnly?: boolean } = {}): Promise<MuxAccount> {
  const core = server.running.core;
  const username = `mux${process.pid}x${++counter}`;
  const account = await core.accounts.create({ username, password: 'a fine password 1', admin: options.admin === true });
  const token = await core.liveApiTokens.create(account.id, { readOnly: options.readOnly === true });
  return {
    accountId: account.id,
    username,
    tokenId: token.id,
    tokenSecret: token.secret,
    mux: sdk(server, token.id, token.secret),
    basic: `Basic ${Buffer.from(`${token.id}:${token.secret}`).toString('base64')}`,
  };
}

export function sdk(server: TestServer, tokenId: string, tokenSecret: string): Mux {
  return new Mux({ tokenId, tokenSecret, baseURL: server.url, maxRetries: 0, timeout: 20_000 });
}

/** The status and parsed body of a raw request (for what the SDK would refuse to send). */
export async function raw(server: TestServer, method: string, path: string, options: { auth?: string; body?: string; contentType?: string } = {}) {
  const headers: Record<string, string> = {};
  if (options.auth) headers.authorization = options.auth;
  if (options.contentType) headers['content-type'] = options.contentType;
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(options.body !== undefined ? { body: options.body } : {}) });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** The error an SDK call threw (the call must fail). */
export async function failure(call: Promise<unknown>): Promise<any> {
  try {
    await call;
  } catch (err) {
    return err;
  }
  throw new Error('the call succeeded');
}

/**
 * ffprobe as JSON, run without blocking: the server under test answers ffprobe's requests from
 * this same process, so a synchronous run would wait for itself.
 */
export async function probe(args: readonly string[]): Promise<any> {
  const { stdout } = await promisify(execFile)('ffprobe', ['-v', 'error', '-of', 'json', '-rw_timeout', '10000000', ...args], { timeout: 30_000 });
  return JSON.parse(stdout);
}

/** One Server-Sent Event as read off the stream. */
export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/** Reads `/system/v1/events` as a browser's EventSource would, collecting what arrives. */
export async function openEvents(server: TestServer, auth: string, lastEventId?: string) {
  const controller = new AbortController();
  const response = await fetch(`${server.url}/system/v1/events`, {
    headers: { authorization: auth, accept: 'text/event-stream', ...(lastEventId !== undefined ? { 'last-event-id': lastEventId } : {}) },
    signal: controller.signal,
  });
  const events: SseEvent[] = [];
  const reading = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':') || !line.includes(':')) continue;
            const at = line.indexOf(':');
            fields.set(line.slice(0, at), line.slice(at + 1).replace(/^ /, ''));
          }
          if (fields.has('data')) events.push({ id: fields.get('id'), event: fields.get('event'), data: fields.get('data')! });
        }
      }
    } catch {
      // Aborted by close().
    }
  })();
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events,
    async close() {
      controller.abort();
      await reading;
    },
  };
}
