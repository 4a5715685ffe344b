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
