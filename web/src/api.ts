/**
 * The dashboard's one way to the server: same-origin fetch with the session cookie, JSON in and
 * out, and every failure thrown as an ApiError carrying the server's own words (Mux's
 * `{"error":{"type","messages"}}`), or words of ours when the server could not be reached.
 */
import type { LiveStream } from './state.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly messages: string[],
  ) {
    super(messages.join(' '));
  }
}

/** Called when a request made while signed in is refused for want of a session (it ended or expired). */
let onSessionLost: (() => void) | undefined;
export function whenSessionLost(handler: (() => void) | undefined): void {
  onSessionLost = handler;
}

function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return trimmed;
  const capital = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

async function errorOf(response: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { type?: unknown; messages?: unknown } } | undefined)?.error;
  const messages = Array.isArray(error?.messages) ? error.messages.filter((m): m is string => typeof m === 'string' && m.trim() !== '').map(sentence) : [];
  const type = typeof error?.type === 'string' ? error.type : 'http_error';
  if (messages.length === 0) {
    if (response.status === 429) messages.push('Too many attempts. Wait a minute and try again.');
    else if (response.status === 401) messages.push('You are not signed in.');
    else if (response.status === 404) messages.push('Not found.');
    else messages.push(`The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`);
  }
  return new ApiError(response.status, type, messages);
}

interface Options {
  body?: unknown;
  /** A 401 here is an answer (wrong password, not signed in yet), not a lost session. */
  authFlow?: boolean;
}

export async function request<T>(method: string, path: string, options: Options = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'network_error', ['Could not reach the server. Check your connection and try again.']);
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && !options.authFlow) onSessionLost?.();
    throw error;
  }
  if (response.status === 204) return undefined as T;
  try {
    return (await response.json()) as T;
  } catch {
    throw new ApiError(response.status, 'bad_response', ['The server sent an answer the dashboard could not read.']);
  }
}

/** The words to show for any failure. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}

// --- the dashboard's session (/app/api) ---

export interface Account {
  id: string;
  username: string;
  admin: boolean;
}

export interface Session {
  account: Account;
  rtmpUrl: string;
  publicUrl: string;
}

export const needsAdmin = async (): Promise<boolean> => (await request<{ needsAdmin: boolean }>('GET', '/app/api/setup', { authFlow: true })).needsAdmin;
export const createAdmin = (username: string, password: string) => request<{ account: Account }>('POST', '/app/api/setup', { body: { username, password }, authFlow: true });
export const signIn = (username: string, password: string) => request<{ account: Account }>('POST', '/app/api/login', { body: { username, password }, authFlow: true });
export const signOut = () => request<void>('POST', '/app/api/logout', { authFlow: true });

/** The session, or null when not signed in. */
export async function currentSession(): Promise<Session | null> {
  try {
    return await request<Session>('GET', '/app/api/session', { authFlow: true });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

// --- live streams (/video/v1) ---

const streamPath = (id: string) => `/video/v1/live-streams/${encodeURIComponent(id)}`;

export const listStreams = async (): Promise<LiveStream[]> => (await request<{ data: LiveStream[] }>('GET', '/video/v1/live-streams?limit=100')).data;
export const getStream = async (id: string): Promise<LiveStream> => (await request<{ data: LiveStream }>('GET', streamPath(id))).data;

export async function createStream(title: string): Promise<LiveStream> {
  const trimmed = title.trim();
  const body = { playback_policy: ['public'], new_asset_settings: { playback_policy: ['public'] }, ...(trimmed ? { meta: { title: trimmed } } : {}) };
  return (await request<{ data: LiveStream }>('POST', '/video/v1/live-streams', { body })).data;
}

export const updateStream = async (id: string, body: { meta: { title?: string }; reconnect_window: number }): Promise<LiveStream> =>
  (await request<{ data: LiveStream }>('PATCH', streamPath(id), { body })).data;
export const resetStreamKey = async (id: string): Promise<LiveStream> => (await request<{ data: LiveStream }>('POST', `${streamPath(id)}/reset-stream-key`)).data;
export const setStreamEnabled = (id: string, enabled: boolean) => request<unknown>('PUT', `${streamPath(id)}/${enabled ? 'enable' : 'disable'}`);

// --- webhooks, access tokens, signing keys ---

export interface Webhook {
  id: string;
  url: string;
  events: string[] | null;
  enabled: boolean;
  created_at: string;
  signing_secret?: string;
}

export interface Delivery {
  id: string;
  event_type: string;
  event_id: string | null;
  response_status_code: number | null;
  duration_ms: number;
  error: string | null;
  created_at: string;
}

export const listWebhooks = async (): Promise<Webhook[]> => (await request<{ data: Webhook[] }>('GET', '/system/v1/webhooks?limit=100')).data;
export const createWebhook = async (url: string, events: string[] | null): Promise<Webhook> =>
  (await request<{ data: Webhook }>('POST', '/system/v1/webhooks', { body: { url, ...(events ? { events } : {}) } })).data;
export const deleteWebhook = (id: string) => request<void>('DELETE', `/system/v1/webhooks/${encodeURIComponent(id)}`);
export const listDeliveries = async (id: string): Promise<Delivery[]> => (await request<{ data: Delivery[] }>('GET', `/system/v1/webhooks/${encodeURIComponent(id)}/deliveries?limit=50`)).data;
export const redeliver = (id: string, delivery: string) => request<unknown>('POST', `/system/v1/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(delivery)}/redeliver`);

export interface AccessToken {
  id: string;
  name: string | null;
  permission: 'full' | 'read';
  createdAt: string;
  secret?: string;
}

export const listTokens = async (): Promise<AccessToken[]> => (await request<{ data: AccessToken[] }>('GET', '/app/api/access-tokens')).data;
export const createToken = async (name: string, readOnly: boolean): Promise<AccessToken> => (await request<{ data: AccessToken }>('POST', '/app/api/access-tokens', { body: { name, readOnly } })).data;
export const revokeToken = (id: string) => request<void>('DELETE', `/app/api/access-tokens/${encodeURIComponent(id)}`);

export interface SigningKey {
  id: string;
  created_at: string;
  private_key?: string;
}

export const listSigningKeys = async (): Promise<SigningKey[]> => (await request<{ data: SigningKey[] }>('GET', '/system/v1/signing-keys?limit=100')).data;
export const createSigningKey = async (): Promise<SigningKey> => (await request<{ data: SigningKey }>('POST', '/system/v1/signing-keys')).data;
export const deleteSigningKey = (id: string) => request<void>('DELETE', `/system/v1/signing-keys/${encodeURIComponent(id)}`);
