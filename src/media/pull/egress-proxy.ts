import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { EgressPolicy } from '../../core/egress/policy.js';

/** Headers that concern the hop to this proxy, not the request it forwards. */
const HOP_HEADERS = new Set(['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade']);

/** How long a forwarded connection may sit idle. */
const IDLE_MS = 30_000;

/**
 * An HTTP proxy on the loopback interface through which the pullers' ffmpeg children make
 * every HTTP and HTTPS connection (ffmpeg honours `http_proxy` for http, and tunnels https,
 * HLS segments and keys included, with CONNECT). ffmpeg resolves names by itself, so a check of
 * a source's host before the start cannot hold for what it connects to later (another host of
 * an HLS playlist, or the same name answering another address): here each connection is made
 * by this server, through the egress policy, at the moment ffmpeg asks for it. A refused one
 * answers 403, which ffmpeg reports as an HTTP error.
 */
export class EgressProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly egress: EgressPolicy) {}

  /** Listens on 127.0.0.1 (a port of the system's choosing); resolves with the proxy's URL. */
  async start(): Promise<string> {
    const server = createServer((request, response) => this.forward(request, response));
    server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => this.tunnel(request, client, head));
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** A plain http request in absolute form: `GET http://host/path`. */
  private forward(request: IncomingMessage, response: ServerResponse): void {
    let target: URL;
    try {
      target = new URL(request.url ?? '');
    } catch {
      return void response.writeHead(400).end('only absolute http:// URLs are proxied\n');
    }
    if (target.protocol !== 'http:') return void response.writeHead(400).end('only absolute http:// URLs are proxied\n');
    let guard;
    try {
      guard = this.egress.connectOptions(target.hostname);
    } catch (err) {
      return void response.writeHead(403).end(`${(err as Error).message}\n`);
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined && !HOP_HEADERS.has(name)) headers[name] = value;
    }
    const upstream = httpRequest(target, { method: request.method, headers, agent: false, ...guard, timeout: IDLE_MS }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    upstream.on('timeout', () => upstream.destroy(new Error('timed out')));
    upstream.on('error', (err) => {
      if (response.headersSent) response.destroy();
      else response.writeHead(err.name === 'EgressRefusedError' ? 403 : 502).end(`${err.message}\n`);
    });
    request.pipe(upstream);
  }

  /** `CONNECT host:port`: a tunnel for https, once the address is allowed. */
  private tunnel(request: IncomingMessage, client: Socket, head: Buffer): void {
    const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(request.url ?? '');
    const refuse = (status: string, text: string) => client.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    if (!match) return void refuse('400 Bad Request', 'CONNECT needs host:port\n');
    const [, host, port] = match;
    let guard;
    try {
      guard = this.egress.connectOptions(host!);
    } catch (err) {
      return void refuse('403 Forbidden', `${(err as Error).message}\n`);
    }
    const upstream = connect({ host: host!, port: Number(port), ...guard });
    upstream.setTimeout(IDLE_MS, () => upstream.destroy());
    client.setTimeout(IDLE_MS, () => client.destroy());
    let open = false;
    upstream.once('connect', () => {
      open = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', (err) => {
      if (open) client.destroy();
      else refuse(err.name === 'EgressRefusedError' ? '403 Forbidden' : '502 Bad Gateway', `${err.message}\n`);
    });
    client.once('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
