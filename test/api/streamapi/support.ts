/**
 * Helpers for the StreamAPI adapter tests: an independent request signer (written from the
 * document, not from the server's code), a client that sends signed calls by GET or POST, a
 * small strict XML reader for the replies, a site callback server (start_live, end_live,
 * end_record and login), and an independent viewer-token signer. Encoders and players come
 * from the media end-to-end helpers (test/media/e2e/support.ts).
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { TestServer } from '../../helpers/server.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns something other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------
// Signing, from the document: md5_hex(values of the parameters in the order of their names,
// then the secret key, then the rid). `key` is a parameter like any other; `sig` and `rid`
// are not part of the values.

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** The names, ordered by character code (parameter names are ASCII). */
function byName(names: string[]): string[] {
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function streamApiSig(params: Readonly<Record<string, string>>, secret: string, rid: string): string {
  let text = '';
  for (const name of byName(Object.keys(params))) {
    if (name === 'sig' || name === 'rid') continue;
    text += params[name];
  }
  return md5Hex(text + secret + rid);
}

/**
 * Request ids, strictly increasing in this process: microseconds since the epoch (16 digits,
 * as MyBandStock sends them), bumped when two are asked for within one microsecond.
 */
let lastRid = 0n;
export function nextRid(): string {
  const now = BigInt(Date.now()) * 1000n;
  lastRid = now > lastRid ? now : lastRid + 1n;
  return lastRid.toString();
}

// ---------------------------------------------------------------------------------------
// The document's status codes and messages.

export const Code = {
  Ok: 0,
  MissingParameter: 1,
  NoUser: 8,
  NoSession: 46,
  Unknown: 100,
  InvalidKey: 200,
  NotCreatedByCaller: 201,
  InvalidSig: 202,
  InvalidRid: 203,
} as const;

export const DOCUMENT_MESSAGES: Record<number, string> = {
  1: 'Missing required parameter(s)',
  8: 'No user found',
  46: 'No session found',
  200: 'Invalid API key',
  201: 'Cannot request this call for user that was not created by API caller',
  202: 'Invalid sig (or signature) value',
  203: 'Invalid request ID value',
};

// ---------------------------------------------------------------------------------------
// A small, strict XML reader: one root element, attributes, text, the five entities and
// character references; anything malformed fails the test.

export interface XmlNode {
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
  /** The decoded text directly inside the element (whitespace between child elements included). */
  text: string;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) throw new Error(`bare & in XML text: ${JSON.stringify(text)}`);
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[ref]!;
  });
}

export function parseXml(source: string): XmlNode {
  let rest = source.replace(/^\uFEFF/, '');
  const declaration = /^<\?xml\s[^?]*\?>\s*/.exec(rest);
  if (declaration) rest = rest.slice(declaration[0].length);
  const token = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)/y;
  const stack: XmlNode[] = [];
  let root: XmlNode | undefined;
  let index = 0;
  while (index < rest.length) {
    token.lastIndex = index;
    const match = token.exec(rest);
    if (!match) throw new Error(`malformed XML at ${index}: ${JSON.stringify(rest.slice(index, index + 40))}`);
    index = token.lastIndex;
    const [, closing, name, attributeText, selfClosing, text] = match;
    if (text !== undefined) {
      const top = stack[stack.length - 1];
      if (top) top.text += decodeEntities(text);
      else if (text.trim() !== '') throw new Error(`text outside the root element: ${JSON.stringify(text)}`);
      continue;
    }
    if (closing) {
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`</${name}> closes ${open ? `<${open.name}>` : 'nothing'}`);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const a of (attributeText ?? '').matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      if (a[1]! in attributes) throw new Error(`attribute ${a[1]} given twice`);
      attributes[a[1]!] = decodeEntities(a[2] ?? a[3] ?? '');
    }
    const node: XmlNode = { name: name!, attributes, children: [], text: '' };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(node);
    else if (root) throw new Error('more than one root element');
    else root = node;
    if (!selfClosing) stack.push(node);
  }
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1]!.name}> is never closed`);
  if (!root) throw new Error('no root element');
  return root;
}

/** The only child element with this name (fails when there is none or several). */
export function child(node: XmlNode, name: string): XmlNode {
  const found = node.children.filter((c) => c.name === name);
  assert.equal(found.length, 1, `<${node.name}> should have exactly one <${name}>, has ${found.length}`);
  return found[0]!;
}

/** The text of the only child element with this name. */
export function text(node: XmlNode, name: string): string {
  const element = child(node, name);
  assert.equal(element.children.length, 0, `<${name}> should hold text, not elements`);
  return element.text;
}

/** Every element with this name anywhere below `node`, in document order (what XPath `//name` finds). */
export function descendants(node: XmlNode, name: string): XmlNode[] {
  const out: XmlNode[] = [];
  const walk = (n: XmlNode) => {
    for (const c of n.children) {
      if (c.name === name) out.push(c);
      walk(c);
    }
  };
  walk(node);
  return out;
}

/** The leaf elements of a node as name → text, for comparing a record's fields. */
export function leafFields(node: XmlNode): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of node.children) {
    assert.equal(c.children.length, 0, `<${c.name}> in <${node.name}> should be a leaf`);
    assert.ok(!(c.name in out), `<${c.name}> appears twice in <${node.name}>`);
    out[c.name] = c.text;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The client.

export interface SiteCredentials {
  key: string;
  secret: string;
}

export interface ApiReply {
  status: number;
  contentType: string;
  text: string;
  xml: XmlNode;
  code: number;
  msg: string | undefined;
}

export interface CallOptions {
  method?: 'GET' | 'POST';
  /** The rid to send (default: the next one of this process). */
  rid?: string | bigint;
  /** Sends this sig instead of the right one. */
  sig?: string;
  /** Parameters signed but left out of the request (to send an incomplete request). */
  omit?: string[];
  /** POST only: put the parameters in the query string and send no body. */
  postInQuery?: boolean;
}

export function parseReply(status: number, contentType: string, body: string): ApiReply {
  let xml: XmlNode;
  try {
    xml = parseXml(body);
  } catch (err) {
    assert.fail(`the reply is not well-formed XML (${(err as Error).message}):\n${body}`);
  }
  const codes = descendants(xml, 'code');
  assert.equal(codes.length, 1, `exactly one <code> in the reply:\n${body}`);
  const code = Number(codes[0]!.text);
  assert.ok(Number.isInteger(code) && /^-?\d+$/.test(codes[0]!.text), `<code> is a number:\n${body}`);
  const msgs = descendants(xml, 'msg');
  assert.ok(msgs.length <= 1, `at most one <msg>:\n${body}`);
  return { status, contentType, text: body, xml, code, msg: msgs[0]?.text };
}

/** The wire parameters of a signed call: the given ones, `key`, `rid` and `sig`. */
export function signedParams(site: SiteCredentials, params: Record<string, string>, options: CallOptions = {}): Record<string, string> {
  const rid = String(options.rid ?? nextRid());
  const all = { key: site.key, ...params };
  const sig = options.sig ?? streamApiSig(all, site.secret, rid);
  const wire: Record<string, string> = { ...all, rid, sig };
  for (const name of options.omit ?? []) delete wire[name];
  return wire;
}

/** Sends raw parameters (no signing) to `/service<path>`. */
export async function sendRaw(baseUrl: string, path: string, wire: Record<string, string>, options: CallOptions = {}): Promise<ApiReply> {
  const method = options.method ?? 'GET';
  const form = new URLSearchParams(wire).toString();
  const response =
    method === 'GET' || options.postInQuery
      ? await fetch(`${baseUrl}/service${path}?${form}`, { method })
      : await fetch(`${baseUrl}/service${path}`, { method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  return parseReply(response.status, response.headers.get('content-type') ?? '', await response.text());
}

/** A signed call, as a StreamAPI client library makes it. */
export function call(server: TestServer | string, site: SiteCredentials, path: string, params: Record<string, string> = {}, options: CallOptions = {}): Promise<ApiReply> {
  const baseUrl = typeof server === 'string' ? server : server.url;
  return sendRaw(baseUrl, path, signedParams(site, params, options), options);
}

/** HTTP 200, an XML content type, a `<response>` root, and this code; on errors a `<msg>`, the document's when it has one. */
export function assertCode(reply: ApiReply, code: number): void {
  assert.equal(reply.status, 200, `HTTP status ${reply.status}:\n${reply.text}`);
  assert.match(reply.contentType, /^(text|application)\/xml\b/, `content-type ${reply.contentType}`);
  assert.equal(reply.xml.name, 'response', `root element:\n${reply.text}`);
  assert.equal(reply.code, code, `expected code ${code}, got ${reply.code}:\n${reply.text}`);
  if (code === 0) {
    assert.equal(reply.msg, undefined, `a success carries no <msg>:\n${reply.text}`);
    return;
  }
  assert.ok(reply.msg !== undefined && reply.msg.trim() !== '', `an error carries a <msg>:\n${reply.text}`);
  const documented = DOCUMENT_MESSAGES[code];
  if (documented !== undefined) assert.ok(reply.msg.startsWith(documented), `<msg> ${JSON.stringify(reply.msg)} should be the document's ${JSON.stringify(documented)}`);
}

export function assertOk(reply: ApiReply): XmlNode {
  assertCode(reply, Code.Ok);
  return reply.xml;
}

/** A new site on the test server, with its key and secret. */
export async function newSite(server: TestServer, name = 'site', callbackUrl: string | null = null): Promise<SiteCredentials & { id: string }> {
  const { site, secret } = await server.running.core.sites.create(name, callbackUrl);
  return { id: site.id, key: site.key, secret };
}

/** session/create, checked: the new session's host ids. */
export async function createSession(
  server: TestServer | string,
  site: SiteCredentials,
  params: Record<string, string> = {},
): Promise<{ publicHostId: string; privateHostId: string }> {
  const xml = assertOk(await call(server, site, '/session/create', params, { method: 'POST' }));
  return { publicHostId: text(xml, 'public_hostid'), privateHostId: text(xml, 'private_hostid') };
}

/** The stream id behind a public host id, read from session/live's `hls_url`. */
export async function streamIdOf(server: TestServer | string, site: SiteCredentials, publicHostId: string): Promise<string> {
  const xml = assertOk(await call(server, site, '/session/live', { public_hostid: publicHostId }));
  const match = /\/hls\/([0-9a-f-]{36})\/index\.m3u8$/.exec(text(xml, 'hls_url'));
  assert.ok(match, `hls_url: ${text(xml, 'hls_url')}`);
  return match[1]!;
}

// ---------------------------------------------------------------------------------------
// Viewer tokens, from their definition: `<expiresMs>-<hex HMAC-SHA256(secret, "<streamId>:<expiresMs>")>`.

export function viewerToken(secret: string, streamId: string, expiresMs: number): string {
  return `${expiresMs}-${createHmac('sha256', secret).update(`${streamId}:${expiresMs}`, 'utf8').digest('hex')}`;
}

// ---------------------------------------------------------------------------------------
// The site's callback endpoint.

export interface ReceivedCallback {
  action: string;
  params: Record<string, string>;
  contentType: string;
  at: number;
  /** The HTTP status this server answered with. */
  answered: number;
}

export interface CallbackServer {
  url: string;
  received: ReceivedCallback[];
  /** Answer the next `times` callbacks with this action HTTP 500. */
  failNext(action: string, times?: number): void;
  /** Viewer keys the `login` callback admits (everything else gets code -1). */
  admitted: Set<string>;
  /** Every received callback with this action that the server answered 2xx. */
  delivered(action: string): ReceivedCallback[];
  waitFor(action: string, predicate?: (c: ReceivedCallback) => boolean, timeoutMs?: number): Promise<ReceivedCallback>;
  close(): Promise<void>;
}

export async function startCallbackServer(): Promise<CallbackServer> {
  const received: ReceivedCallback[] = [];
  const failures = new Map<string, number>();
  const admitted = new Set<string>();
  const server = createHttpServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const action = params.action ?? '';
      const left = failures.get(action) ?? 0;
      let status = 200;
      let body = '<?xml version="1.0" encoding="UTF-8"?>\n<response><code>0</code></response>\n';
      if (request.method !== 'POST') {
        status = 405;
      } else if (left > 0) {
        failures.set(action, left - 1);
        status = 500;
        body = 'try again later';
      } else if (action === 'login') {
        body = admitted.has(params.key ?? '')
          ? '<response><code>0</code></response>'
          : `<?xml version="1.0" encoding="UTF-8"?>\n<response><code>-1</code><message>Invalid key</message></response>\n`;
      }
      received.push({ action, params, contentType: request.headers['content-type'] ?? '', at: Date.now(), answered: status });
      response.writeHead(status, { 'content-type': status === 200 ? 'text/xml' : 'text/plain' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const delivered = (action: string) => received.filter((c) => c.action === action && c.answered === 200);
  return {
    url: `http://127.0.0.1:${port}/streamapi/callback`,
    received,
    admitted,
    failNext: (action, times = 1) => failures.set(action, times),
    delivered,
    waitFor: (action, predicate = () => true, timeoutMs = 10_000) =>
      waitFor(`a delivered ${action} callback`, () => delivered(action).find(predicate), timeoutMs),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------
// Media.

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
