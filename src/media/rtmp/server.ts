import { createServer, type Server, type Socket } from 'node:net';
import { DEFAULT_CHUNK_LIMITS } from '../wire/rtmp/chunks.js';
import { withSharedReadBuffer } from './read-buffer.js';
import { RtmpConnection, type ConnectionLimits, type Logger, type RtmpHooks } from './connection.js';
import { AddressSlots } from '../../core/kernel/addresses.js';

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  ...DEFAULT_CHUNK_LIMITS,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxViewerBacklog: 16 * 1024 * 1024,
};

/**
 * The RTMP listener: one RtmpConnection per socket, all closed on stop. A connection beyond
 * `maxPerAddress` open ones from its address (0: no limit) is closed before a byte is read.
 */
export class RtmpServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Bytes read from and written to the connections that have closed. */
  private closedBytesRead = 0;
  private closedBytesWritten = 0;

  constructor(
    hooks: RtmpHooks,
    log: Logger,
    limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS,
    maxPerAddress = 0,
  ) {
    const slots = new AddressSlots(maxPerAddress);
    // Accepted paused: the socket is handed to the shared read buffer before its first read.
    this.server = createServer({ pauseOnConnect: true }, (accepted) => {
      let connection: RtmpConnection | undefined;
      const socket = withSharedReadBuffer(accepted, (data) => connection?.receive(data) ?? true);
      if (!slots.hold(socket)) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => {
        this.sockets.delete(socket);
        this.closedBytesRead += socket.bytesRead;
        this.closedBytesWritten += socket.bytesWritten;
      });
      connection = new RtmpConnection(socket, hooks, limits, log);
    });
  }

  /** Bytes read from and written to every connection since the start, counted when asked (for metrics). */
  traffic(): { bytesRead: number; bytesWritten: number } {
    let bytesRead = this.closedBytesRead;
    let bytesWritten = this.closedBytesWritten;
    for (const socket of this.sockets) {
      bytesRead += socket.bytesRead;
      bytesWritten += socket.bytesWritten;
    }
    return { bytesRead, bytesWritten };
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}
