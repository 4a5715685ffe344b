import { Socket } from 'node:net';

/**
 * One buffer that every RTMP connection reads into. Node's ordinary socket reads allocate a new
 * ArrayBuffer for each read (a publisher makes ~150 reads a second), and V8 answers that stream
 * of external memory with a full mark-compact every second or so at 20 publishers: a third of
 * the server's CPU went to the collector. The chunk decoder copies every byte it keeps before the
 * read callback returns, so one buffer serves all connections: JavaScript runs one read at a time.
 */
const SHARED_READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * Where the bytes of each read go; `data` is valid only during the call. Answers whether to read
 * again at once (true) or after the next pacing tick (false).
 */
export type ReadTarget = (data: Buffer) => boolean;

/**
 * How long a paced socket waits before its next read. A publisher sends a message every 10-30 ms
 * in small writes; reading each write as soon as it lands costs an event-loop turn per write
 * (~150 a second per stream). Read every 20 ms, the kernel gathers the writes between reads and
 * all paced sockets are read in the same turn, for at most 20 ms more delay (a few percent of
 * the time from a keyframe to its segment being listed, far below an RTMP viewer's write batch).
 */
export const READ_PACING_MS = 20;

const paced = new Set<Socket>();
let pacingTimer: NodeJS.Timeout | undefined;

function pace(socket: Socket): void {
  paced.add(socket);
  pacingTimer ??= setTimeout(resumePaced, READ_PACING_MS);
}

function resumePaced(): void {
  pacingTimer = undefined;
  for (const socket of paced) if (!socket.destroyed) socket.resume();
  paced.clear();
}

/**
 * Takes over an accepted socket (accepted paused, before any read) so that its reads land in the
 * shared buffer: a new Socket on the same handle with `onread`, since Node's server cannot give it
 * to accepted sockets itself. The accepted socket is let go without closing the handle, so the
 * server's connection count drops as it would on close.
 */
export function withSharedReadBuffer(accepted: Socket, target: ReadTarget): Socket {
  const internal = accepted as unknown as { _handle: unknown };
  const handle = internal._handle;
  internal._handle = null;
  accepted.destroy();
  const socket: Socket = new Socket({
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer: SHARED_READ_BUFFER,
      callback: (bytes: number, buffer: Uint8Array) => {
        if (target(Buffer.from(buffer.buffer, buffer.byteOffset, bytes))) return true;
        pace(socket);
        return false;
      },
    },
  } as ConstructorParameters<typeof Socket>[0]);
  socket.once('close', () => paced.delete(socket));
  return socket;
}
