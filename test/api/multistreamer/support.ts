import assert from 'node:assert/strict';
import type { Reply, TestServer } from '../../helpers/server.js';

export const PASSWORD = 'correct horse battery';
let counter = 0;

export interface MsUser {
  username: string;
  password: string;
  token: string;
  /** The Multistreamer integer id. */
  id: number;
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** A platform account signed up through rig, with its Multistreamer token from `/auth`. */
export async function msUser(server: TestServer, prefix = 'ms'): Promise<MsUser> {
  const username = `${prefix}${process.pid}x${++counter}`;
  const created = await server.request('POST', '/accounts/', { body: { username, password: PASSWORD, email: `${username}@example.net` } });
  assert.equal(created.status, 200, created.text);
  const auth = await server.request('GET', '/api/v1/auth', { headers: { authorization: basic(username, PASSWORD) } });
  assert.equal(auth.status, 200, auth.text);
  const profile = await server.request('GET', '/api/v1/profile', { token: auth.json.token });
  assert.equal(profile.status, 200, profile.text);
  return { username, password: PASSWORD, token: auth.json.token, id: profile.json.id };
}

export interface MsRequest {
  body?: unknown;
  rawBody?: string;
  contentType?: string | null;
}

/** A call to `/api/v1<path>` as `user` (or without credentials). */
export function ms(server: TestServer, method: string, path: string, user: MsUser | undefined, options: MsRequest = {}): Promise<Reply> {
  return server.request(method, `/api/v1${path}`, { ...options, ...(user ? { token: user.token } : {}) });
}

/** Asserts a Multistreamer error answer. */
export function assertError(r: Reply, status: number, error: string | RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  if (typeof error === 'string') assert.deepEqual(r.json, { error });
  else assert.match(r.json?.error ?? '', error);
}

export const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

export async function rtmpAccount(server: TestServer, user: MsUser, name: string, url = 'rtmp://127.0.0.1:19350/live/somekey', extra: Record<string, unknown> = {}): Promise<any> {
  const r = await ms(server, 'POST', '/account', user, { body: { network: 'rtmp', settings: { name, url }, ...extra } });
  assert.equal(r.status, 200, r.text);
  return r.json.account;
}

export async function newStream(server: TestServer, user: MsUser, body: Record<string, unknown>): Promise<any> {
  const r = await ms(server, 'POST', '/stream', user, { body });
  assert.equal(r.status, 200, r.text);
  return r.json.stream;
}
