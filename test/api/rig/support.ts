/**
 * Helpers shared by the rig API v1 end-to-end tests: exact envelope checks, a few
 * "get me a user / a stream" shortcuts, JWT minting with the test secret, and a raw HTTP
 * client for requests `fetch` cannot send (a body without Content-Type, chunked bodies).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { SignJWT, UnsecuredJWT } from 'jose';
import { TEST_JWT_SECRET, type Reply, type TestServer } from '../../helpers/server.js';

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const STREAM_KEY = /^[A-Za-z0-9_-]{22}$/;
export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
export const RIG_AUDIENCE = 'rig.xplex.me';
export const BEARER_MESSAGE = 'Invalid Authorization header. Authorization header needs Bearer token';

export const PASSWORD = 'Hop0nTh4tM4ng0Tree';

let counter = 0;
/** A username no other test in this process has used (3–64 characters). */
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${process.pid}x${counter}`;
}

function assertJsonContentType(reply: Reply): void {
  const type = reply.headers.get('content-type') ?? '';
  assert.match(type, /^application\/json\b/, `content-type of the answer: ${type}`);
}

/**
 * A rig success answer: HTTP 200 and a body that is, byte for byte, `{"message", "payload"}`
 * with this payload, so field order and JSON types are checked as well as values.
 */
export function assertSuccess(reply: Reply, message: string, payload: unknown): void {
  assert.equal(reply.status, 200, `status ${reply.status}: ${reply.text}`);
  assertJsonContentType(reply);
  assert.equal(reply.text, JSON.stringify({ message, payload }));
}

export interface ExpectedError {
  message?: string;
  /** The expected `details`; `undefined` means the body must have no `details` key at all. */
  details?: unknown;
  /** Set when `details` must be present but its exact value is not checked here. */
  anyDetails?: boolean;
  /** Set when `details` may be present or absent (its value is not checked). */
  maybeDetails?: boolean;
}

/** A rig error answer: the status, exactly the keys {message, errorCode[, details]}, and the code. */
export function assertRigError(reply: Reply, status: number, errorCode: number, expected: ExpectedError = {}): void {
  assert.equal(reply.status, status, `status ${reply.status}: ${reply.text}`);
  assertJsonContentType(reply);
  const body = reply.json as Record<string, unknown>;
  assert.equal(typeof body, 'object');
  assert.notEqual(body, null);
  const keys = Object.keys(body);
  const withDetails = expected.details !== undefined || expected.anyDetails === true || (expected.maybeDetails === true && 'details' in body);
  assert.deepEqual(keys, withDetails ? ['message', 'errorCode', 'details'] : ['message', 'errorCode'], `error body: ${reply.text}`);
  if (withDetails) assert.notEqual(body.details, null, 'details, when present, is never null');
  assert.equal(body.errorCode, errorCode);
  assert.equal(typeof body.message, 'string');
  assert.notEqual(body.message, '');
  if (expected.message !== undefined) assert.equal(body.message, expected.message);
  if (expected.details !== undefined) assert.deepEqual(body.details, expected.details);
}

/**
 * A rig error answered byte for byte as rig's Go server writes it: `details` keyed by Go struct
 * field names in Go's sorted map order, each a list of gopkg.in/validator.v2's words.
 */
export function assertExactError(reply: Reply, status: number, body: { message: string; errorCode: number; details?: Record<string, string[]> }): void {
  assert.equal(reply.status, status, `status ${reply.status}: ${reply.text}`);
  assertJsonContentType(reply);
  assert.equal(reply.text, JSON.stringify(body));
}

/** rig's answer to a body that failed its struct validator (400/1005 with `details`). */
export function assertInvalid(reply: Reply, details: Record<string, string[]>): void {
  assertExactError(reply, 400, { message: 'Invalid input', errorCode: 1005, details });
}

/** rig's answer to a body its JSON decoder refused (malformed, wrong type): 400/1005, no `details`. */
export function assertUndecodable(reply: Reply): void {
  assertExactError(reply, 400, { message: 'Invalid input', errorCode: 1005 });
}

export interface User {
  id: string;
  username: string;
  email: string;
  password: string;
  token: string;
}

/** Signs up and logs in a new user through the API. */
export async function newUser(server: TestServer, prefix = 'user'): Promise<User> {
  const username = uniqueName(prefix);
  const email = `${username}@example.net`;
  const created = await server.request('POST', '/accounts/', { body: { username, password: PASSWORD, email } });
  assert.equal(created.status, 200, created.text);
  const login = await server.request('POST', '/accounts/auth/local', { body: { username, password: PASSWORD } });
  assert.equal(login.status, 200, login.text);
  return { id: created.json.payload.userID, username, email, password: PASSWORD, token: login.json.payload.token };
}

export interface RigStreamJson {
  id: string;
  streamKey: string;
  destinations: unknown;
  provisionStatus: unknown;
  isStreaming: boolean;
  isActive: boolean;
}

/** Creates a stream of `user` through the API. */
export async function newStream(server: TestServer, user: User): Promise<RigStreamJson> {
  const r = await server.request('POST', '/streams/', { token: user.token });
  assert.equal(r.status, 200, r.text);
  return r.json.payload as RigStreamJson;
}

export interface RigDestinationJson {
  id: number;
  service: string;
  streamKey: string;
  rtmpUrl: string;
  isActive: boolean;
}

export async function addDestination(
  server: TestServer,
  user: User,
  streamId: string,
  service: string,
  streamKey: string,
): Promise<RigDestinationJson> {
  const r = await server.request('POST', `/streams/${streamId}/destination`, { token: user.token, body: { service, streamKey } });
  assert.equal(r.status, 200, r.text);
  return r.json.payload as RigDestinationJson;
}

const SECRET = new TextEncoder().encode(TEST_JWT_SECRET);

export interface MintOptions {
  ist?: string | undefined;
  iss?: string;
  sub?: string;
  aud?: string | undefined;
  /** Seconds since the epoch; `undefined` leaves `exp` out. */
  exp?: number | undefined;
  secret?: string;
}

/** A rig-shaped HS256 JWT; every claim can be changed or left out to make a bad one. */
export function mintToken(options: MintOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {};
  if (!('ist' in options) || options.ist !== undefined) claims.ist = options.ist ?? 'user';
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt(now);
  if (options.iss !== undefined) jwt.setIssuer(options.iss);
  if (options.sub !== undefined) jwt.setSubject(options.sub);
  if (!('aud' in options) || options.aud !== undefined) jwt.setAudience(options.aud ?? RIG_AUDIENCE);
  if (!('exp' in options) || options.exp !== undefined) jwt.setExpirationTime(options.exp ?? now + 3600);
  return jwt.sign(options.secret === undefined ? SECRET : new TextEncoder().encode(options.secret));
}

/** A token with `alg: none` and otherwise perfect user claims. */
export function mintUnsecuredToken(iss: string, sub: string): string {
  const now = Math.floor(Date.now() / 1000);
  return new UnsecuredJWT({ ist: 'user' })
    .setIssuer(iss)
    .setSubject(sub)
    .setAudience(RIG_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .encode();
}

export interface RawOptions {
  headers?: Record<string, string>;
  /** Written as is; with `chunked` it is sent with Transfer-Encoding: chunked and no Content-Length. */
  body?: string | Buffer;
  chunked?: boolean;
}

/**
 * One request over node:http with exactly the headers given (no Content-Type is added for a
 * body, unlike `fetch`), answered in the same shape as `server.request`.
 */
export function rawRequest(server: TestServer, method: string, path: string, options: RawOptions = {}): Promise<Reply> {
  const url = new URL(path, server.url);
  const headers: Record<string, string | number> = { ...options.headers };
  if (options.body !== undefined && !options.chunked) headers['content-length'] = Buffer.byteLength(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const replyHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value !== undefined) replyHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        resolve({ status: res.statusCode ?? 0, headers: replyHeaders, text, json });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
