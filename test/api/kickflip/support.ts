/**
 * Helpers for the Kickflip adapter tests: API clients, OAuth2 tokens, calls posted the way the
 * SDKs post them (form-encoded, no trailing slash) or as JSON, and a checker of every answer
 * against the types the Android SDK's parser (google-http-client) insists on.
 */
import assert from 'node:assert/strict';
import type { Reply, TestServer } from '../../helpers/server.js';

export interface ClientCredentials {
  clientId: string;
  secret: string;
}

export async function newClient(server: TestServer, name = 'Test App'): Promise<ClientCredentials> {
  const { client, secret } = await server.running.core.apiClients.create(name);
  return { clientId: client.clientId, secret };
}

export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
}

/** POST /o/token/ with client_credentials and HTTP Basic, as both SDKs do. */
export async function tokenReply(server: TestServer, creds: ClientCredentials, how: 'basic' | 'form' = 'basic', path = '/o/token/'): Promise<Reply> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (how === 'form') {
    form.set('client_id', creds.clientId);
    form.set('client_secret', creds.secret);
  }
  return server.request('POST', path, {
    rawBody: form.toString(),
    contentType: 'application/x-www-form-urlencoded',
    ...(how === 'basic' ? { headers: { authorization: basicAuth(creds.clientId, creds.secret) } } : {}),
  });
}

export async function accessToken(server: TestServer, creds: ClientCredentials): Promise<string> {
  const reply = await tokenReply(server, creds);
  assert.equal(reply.status, 200, reply.text);
  return reply.json.access_token as string;
}

export type FieldValues = Record<string, string | number | boolean | null | object>;

export interface CallOptions {
  /** Post a JSON body instead of a form. */
  json?: boolean;
  /** Add the trailing slash the document shows. */
  slash?: boolean;
  /** Send no body at all (Android's user/new). */
  noBody?: boolean;
}

/** POST /api/1.2/<endpoint> with a Bearer token, as a form (the SDKs) or as JSON. */
export function call(server: TestServer, token: string, endpoint: string, fields: FieldValues = {}, options: CallOptions = {}): Promise<Reply> {
  const path = `/api/1.2/${endpoint}${options.slash ? '/' : ''}`;
  if (options.noBody) return server.request('POST', path, { token });
  if (options.json) return server.request('POST', path, { token, body: fields });
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) form.set(name, typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value));
  return server.request('POST', path, { token, rawBody: form.toString(), contentType: 'application/x-www-form-urlencoded' });
}

// ---------------------------------------------------------------------------------------
// The Android SDK's types (api/json/*.java): what its parser accepts for each field.

const STRING_FIELDS = new Set([
  'app', 'name', 'uuid', 'display_name', 'avatar_url', 'extra_info', 'email',
  'stream_id', 'stream_type', 'chat_url', 'upload_url', 'stream_url', 'kickflip_url', 'city', 'state', 'country',
  'title', 'description', 'thumbnail_url', 'user_username', 'user_avatar',
  'bucket_name', 'aws_region', 'aws_prefix', 'aws_access_key', 'aws_secret_key', 'aws_session_token', 'rtmp_url', 'reason',
]);
const DATE_FIELDS = new Set(['time_started', 'time_finished', 'aws_duration']);
const NUMBER_FIELDS = new Set(['lat', 'lon', 'start_lat', 'start_lon', 'end_lat', 'end_lon']);
const INTEGER_FIELDS = new Set(['length', 'total_items', 'page_number', 'results_per_page', 'flag_count']);
const BOOLEAN_FIELDS = new Set(['success', 'private', 'deleted', 'next_page_available', 'is_live']);
export const KICKFLIP_DATE = /^(0[1-9]|1[0-2])\/(0[1-9]|[12]\d|3[01])\/\d{4} ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/;

/** Parses `MM/dd/yyyy HH:mm:ss` (UTC) to epoch milliseconds. */
export function parseKickflipDate(value: string): number {
  const m = /^(\d\d)\/(\d\d)\/(\d{4}) (\d\d):(\d\d):(\d\d)$/.exec(value);
  assert.ok(m, `not a Kickflip date: ${value}`);
  return Date.UTC(Number(m[3]), Number(m[1]) - 1, Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Walks an answer and fails on anything the Android parser would choke on (or we never meant to send). */
export function assertAndroidTypes(value: unknown, path = '$'): void {
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${path} must be an object`);
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    const at = `${path}.${key}`;
    assert.notEqual(field, null, `${at} is null`);
    if (key === 'streams') {
      assert.ok(Array.isArray(field), `${at} must be an array`);
      field.forEach((s, i) => assertAndroidTypes(s, `${at}[${i}]`));
    } else if (STRING_FIELDS.has(key)) {
      assert.equal(typeof field, 'string', `${at} must be a string, got ${JSON.stringify(field)}`);
    } else if (DATE_FIELDS.has(key)) {
      assert.ok(typeof field === 'string' && KICKFLIP_DATE.test(field), `${at} must be a MM/dd/yyyy HH:mm:ss date, got ${JSON.stringify(field)}`);
    } else if (NUMBER_FIELDS.has(key)) {
      assert.ok(typeof field === 'number' && Number.isFinite(field), `${at} must be a number, got ${JSON.stringify(field)}`);
    } else if (INTEGER_FIELDS.has(key)) {
      assert.ok(typeof field === 'number' && Number.isInteger(field), `${at} must be an integer, got ${JSON.stringify(field)}`);
    } else if (BOOLEAN_FIELDS.has(key)) {
      assert.equal(typeof field, 'boolean', `${at} must be a boolean, got ${JSON.stringify(field)}`);
    } else {
      assert.fail(`${at} is a field the Kickflip SDKs do not know: ${JSON.stringify(field)}`);
    }
  }
}

function assertJsonReply(reply: Reply): void {
  assert.equal(reply.status, 200, reply.text);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  assert.ok(reply.json !== undefined, `not JSON: ${reply.text}`);
  assertAndroidTypes(reply.json);
}

/** A 200 with `success: true`, typed as Android parses it; the body. */
export function ok(reply: Reply): any {
  assertJsonReply(reply);
  assert.equal(reply.json.success, true, reply.text);
  return reply.json;
}

/** A 200 with `success: false` and a reason (matching `reason` when given). */
export function failed(reply: Reply, reason?: RegExp): string {
  assertJsonReply(reply);
  assert.equal(reply.json.success, false, reply.text);
  assert.equal(typeof reply.json.reason, 'string');
  if (reason) assert.match(reply.json.reason, reason);
  return reply.json.reason as string;
}

/** A client with a token and one user made the Android way (user/new with no body). */
export interface Device {
  creds: ClientCredentials;
  token: string;
  user: { name: string; uuid: string; app: string };
}

export async function newDevice(server: TestServer, creds: ClientCredentials, fields?: FieldValues): Promise<Device> {
  const token = await accessToken(server, creds);
  const user = ok(await call(server, token, 'user/new', fields ?? {}, fields ? {} : { noBody: true }));
  return { creds, token, user };
}

export async function startStream(server: TestServer, device: Device, fields: FieldValues = {}): Promise<any> {
  return ok(await call(server, device.token, 'stream/start', { uuid: device.user.uuid, ...fields }));
}
