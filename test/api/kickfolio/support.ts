/**
 * Helpers for the Kickfolio API tests: users with API tokens, requests authenticated the way
 * Kickfolio's clients do it, exact checks of the error schema, a local HTTP server that hosts
 * bundles (with redirects, stalls and failures on demand), and waiting for a version's state.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { AccountId } from '../../../src/core/kernel/ids.js';
import type { Reply, RequestOptions, TestServer } from '../../helpers/server.js';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** `2013-02-03T10:08:13Z`: the document's timestamps, without fractions. */
export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
export const PUBLIC_KEY = /^[0-9A-Za-z]{7}$/;
export const ACCEPT_V1 = 'application/vnd.kickfolio.v1';
/** Settings every Kickfolio test server runs with: bundles are served from 127.0.0.1. */
export const PRIVATE_FETCH = { allowPrivateFetch: '1' } as const;

export interface User {
  id: AccountId;
  username: string;
  token: string;
}

let counter = 0;

/** An account with its API token, made as an operator would (`streamdelta user create`, `streamdelta token`). */
export async function newUser(server: TestServer, prefix = 'kf'): Promise<User> {
  counter += 1;
  const username = `${prefix}${process.pid}x${counter}`;
  const account = await server.running.core.accounts.create({ username, password: 'correct horse battery', email: null });
  const { token } = await server.running.core.apiTokens.forAccount(account.id);
  return { id: account.id, username, token };
}

export function basic(token: string, password?: string): string {
  return `Basic ${Buffer.from(password === undefined ? token : `${token}:${password}`).toString('base64')}`;
}

export interface KfOptions extends Omit<RequestOptions, 'token'> {
  /** Sent as `Authorization: Basic base64(token)`; `null` sends no credentials. */
  user?: User | null;
}

/** A request as the Jenkins plugin makes it: Basic auth, `Accept: application/vnd.kickfolio.v1`, JSON bodies. */
export function kf(server: TestServer, method: string, path: string, options: KfOptions = {}): Promise<Reply> {
  const { user, headers, ...rest } = options;
  return server.request(method, path, {
    ...rest,
    headers: { accept: ACCEPT_V1, ...(user ? { authorization: basic(user.token) } : {}), ...headers },
  });
}

/** An error answer: the status, exactly the keys {message, code[, errors]}, and the code. */
export function assertError(reply: Reply, status: number, code: string, message?: RegExp | string): void {
  assert.equal(reply.status, status, `status ${reply.status}: ${reply.text}`);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  const body = reply.json as Record<string, unknown>;
  assert.ok(body && typeof body === 'object', reply.text);
  assert.deepEqual(Object.keys(body), code === 'record_invalid' ? ['message', 'code', 'errors'] : ['message', 'code'], reply.text);
  assert.equal(body.code, code);
  assert.equal(typeof body.message, 'string');
  assert.notEqual(body.message, '');
  if (typeof message === 'string') assert.equal(body.message, message);
  else if (message) assert.match(body.message as string, message);
}

/** A 422 `record_invalid` with exactly these field errors. */
export function assertInvalid(reply: Reply, errors: { field: string; resource: string; message: string }[]): void {
  assertError(reply, 422, 'record_invalid', /^Validation failed: /);
  assert.deepEqual(reply.json.errors, errors);
}

/** Every file under the server's blob directory for Kickfolio, as relative paths. */
export function storedFiles(server: TestServer): string[] {
  const root = join(server.running.config.dataDir, 'media', 'kickfolio');
  const walk = (dir: string): string[] => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return [];
    }
    return entries.flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name).slice(root.length + 1)]));
  };
  return walk(root).sort();
}

/** Files left in the server's temporary download directory. */
export function temporaryFiles(server: TestServer): string[] {
  try {
    return readdirSync(join(server.running.config.dataDir, 'tmp', 'bundles'));
  } catch {
    return [];
  }
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A local HTTP server that hosts bundles at paths, with any behaviour a test needs. */
export class BundleHost {
  private readonly handlers = new Map<string, Handler>();
  private server: Server | undefined;
  readonly requests: string[] = [];
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0]!;
      this.requests.push(path);
      const handler = this.handlers.get(path);
      if (handler) handler(request, response);
      else response.writeHead(404).end('not here');
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  /** Serves `data` at `path` and returns its URL. */
  file(path: string, data: Buffer, contentType = 'application/zip'): string {
    return this.handle(path, (_req, res) => {
      res.writeHead(200, { 'content-type': contentType, 'content-length': data.length });
      res.end(data);
    });
  }

  handle(path: string, handler: Handler): string {
    this.handlers.set(path, handler);
    return `${this.url}${path}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Waits until the version reaches one of `states` and returns it as the API shows it. */
export async function waitForState(server: TestServer, user: User, versionId: string, states: string[] = ['ready', 'failed'], timeoutMs = 15000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await kf(server, 'GET', `/api/versions/${versionId}`, { user });
    assert.equal(r.status, 200, r.text);
    if (states.includes(r.json.version.state)) return r.json.version;
    if (Date.now() > deadline) assert.fail(`version ${versionId} is still ${r.json.version.state} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The path of one of the server's own URLs (public URLs name the configured public host). */
export function pathOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

export async function createApp(server: TestServer, user: User, name = 'Demo'): Promise<Record<string, any>> {
  const r = await kf(server, 'POST', '/api/apps', { user, body: { app: { name } } });
  assert.equal(r.status, 201, r.text);
  return r.json.app;
}

export async function createVersion(server: TestServer, user: User, appId: string, bundleUrl: string, extra: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const r = await kf(server, 'POST', '/api/versions', { user, body: { version: { app_id: appId, bundle_url: bundleUrl, ...extra } } });
  assert.equal(r.status, 201, r.text);
  return r.json.version;
}
