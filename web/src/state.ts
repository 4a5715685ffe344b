/**
 * The dashboard's pure state logic: what a status badge says, how an event from
 * `/system/v1/events` changes what the page shows, the client-side routes, the connect
 * instructions. No DOM and no I/O here: the root tsconfig compiles this file for the unit
 * tests in test/web/, the Vite build for the browser.
 */

/** A live stream as the Mux-compatible API shows it (the fields the dashboard reads). */
export interface LiveStream {
  id: string;
  status: string;
  stream_key: string;
  reconnect_window: number;
  meta?: { title?: string };
  created_at?: string | number;
  active_asset_id?: string;
  [field: string]: unknown;
}

export type BadgeText = 'Live' | 'Idle' | 'Disabled';

/** The badge of a Mux status: `active` is `Live`, `disabled` is `Disabled`, anything else `Idle`. */
export function badgeText(status: string): BadgeText {
  if (status === 'active') return 'Live';
  if (status === 'disabled') return 'Disabled';
  return 'Idle';
}

export const UNTITLED = 'Untitled stream';

export function streamTitle(stream: Pick<LiveStream, 'meta'>): string {
  const title = stream.meta?.title?.trim();
  return title ? title : UNTITLED;
}

/** What one event means for the streams on screen. */
export type StreamChange = { kind: 'upsert'; stream: LiveStream } | { kind: 'remove'; id: string };

const LIVE_STREAM_EVENT = /^video\.live_stream\.([a-z_]+)$/;

/**
 * The change an event of the event stream makes, or null when it is about something else (an
 * asset, a simulcast target: `video.live_stream.simulcast_target.*`) or is not readable.
 */
export function streamChangeOf(type: string, body: unknown): StreamChange | null {
  const match = LIVE_STREAM_EVENT.exec(type);
  if (!match) return null;
  if (typeof body !== 'object' || body === null) return null;
  const data = (body as { data?: unknown }).data;
  if (typeof data !== 'object' || data === null) return null;
  const stream = data as Partial<LiveStream>;
  if (typeof stream.id !== 'string') return null;
  if (match[1] === 'deleted') return { kind: 'remove', id: stream.id };
  if (typeof stream.status !== 'string') return null;
  return { kind: 'upsert', stream: stream as LiveStream };
}

/** The stream with what an event says about it (the event's fields win; the rest stays). */
export function applyToStream<T extends LiveStream>(stream: T, change: StreamChange): T | null {
  if (change.kind === 'remove') return change.id === stream.id ? null : stream;
  if (change.stream.id !== stream.id) return stream;
  return { ...stream, ...change.stream };
}

/** The list with an event applied: an update in place, a new stream first (the list is newest first), a deleted one gone. */
export function applyToList<T extends LiveStream>(list: readonly T[], change: StreamChange): T[] {
  if (change.kind === 'remove') return list.filter((s) => s.id !== change.id);
  const at = list.findIndex((s) => s.id === change.stream.id);
  if (at === -1) return [change.stream as T, ...list];
  return list.map((s, i) => (i === at ? { ...s, ...change.stream } : s));
}

/** The app's client-side routes, under the base path `/app/`. */
export type Route = { name: 'streams' } | { name: 'stream'; id: string } | { name: 'webhooks' } | { name: 'access-tokens' } | { name: 'signing-keys' } | { name: 'not-found' };

export const BASE = '/app/';

export function routeOf(pathname: string): Route {
  if (pathname === '/' || pathname === '/app' || pathname === BASE) return { name: 'streams' };
  const page = /^\/app\/(webhooks|access-tokens|signing-keys)\/?$/.exec(pathname)?.[1];
  if (page === 'webhooks' || page === 'access-tokens' || page === 'signing-keys') return { name: page };
  const stream = /^\/app\/streams\/([^/]+)\/?$/.exec(pathname);
  if (stream) {
    try {
      return { name: 'stream', id: decodeURIComponent(stream[1]!) };
    } catch {
      return { name: 'not-found' };
    }
  }
  return { name: 'not-found' };
}

export function pathOf(route: Route): string {
  if (route.name === 'stream') return `${BASE}streams/${encodeURIComponent(route.id)}`;
  if (route.name === 'webhooks' || route.name === 'access-tokens' || route.name === 'signing-keys') return `${BASE}${route.name}`;
  return BASE;
}

/** A word for the shell: as it is when it is safe, else in single quotes. */
export function shellWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Where an encoder publishes: the server URL, a slash, the key. */
export function publishUrl(server: string, key: string): string {
  return `${server.replace(/\/+$/, '')}/${key}`;
}

/**
 * An ffmpeg command line that streams a local file to this server in a form the server takes
 * (H.264 and AAC in FLV), one option group a line. `shownKey` is what to print in place of the
 * key (dots while it is hidden); the command is only right with the key itself.
 */
export function ffmpegCommand(server: string, key: string, options: { input?: string; shownKey?: string } = {}): string {
  const url = shellWord(publishUrl(server, key));
  return [
    `ffmpeg -re -i ${shellWord(options.input ?? 'input.mp4')}`,
    '  -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 60',
    '  -b:v 3000k -maxrate 3000k -bufsize 6000k',
    '  -c:a aac -b:a 128k -ar 44100',
    `  -f flv ${options.shownKey === undefined ? url : url.replace(key, options.shownKey)}`,
  ].join(' \\\n');
}

/** A secret as dots of its own length (at most 32), for showing that something is there. */
export function masked(secret: string): string {
  return '•'.repeat(Math.min(Math.max(secret.length, 8), 32));
}

export const RECONNECT_WINDOW = { min: 0, max: 1800 } as const;

/** The reconnect window typed in a field, in whole seconds, or what is wrong with it in words. */
export function parseReconnectWindow(text: string): { value: number } | { error: string } {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return { error: `Enter a whole number of seconds from ${RECONNECT_WINDOW.min} to ${RECONNECT_WINDOW.max}.` };
  const value = Number(trimmed);
  if (value < RECONNECT_WINDOW.min || value > RECONNECT_WINDOW.max) return { error: `The reconnect window must be from ${RECONNECT_WINDOW.min} to ${RECONNECT_WINDOW.max} seconds.` };
  return { value };
}

/** The body of a settings update: the title (none when blank) and the reconnect window. */
export function settingsBody(title: string, reconnectWindow: number): { meta: { title?: string }; reconnect_window: number } {
  const trimmed = title.trim();
  return { meta: trimmed ? { title: trimmed } : {}, reconnect_window: reconnectWindow };
}

/** The rules of the first-run form (the server checks them too), in words; null when all is well. */
export function accountProblem(username: string, password: string): string | null {
  if (!/^[A-Za-z0-9_.-]{3,32}$/.test(username)) return 'The username must be 3 to 32 letters, digits, dots, dashes or underscores.';
  if (password.length < 8) return 'The password must be at least 8 characters long.';
  return null;
}
