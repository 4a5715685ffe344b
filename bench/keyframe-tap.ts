/**
 * A TCP relay between one RTMP publisher and the server it publishes to, which notes when each
 * H.264 keyframe passes on its way to the server. The media bench times "keyframe → segment
 * listed" from that moment rather than from the publisher's pacing (ffmpeg's -progress), which
 * drifts when the machine is loaded: the same origin for every server, taken where the bytes
 * leave for the server. Bytes are forwarded as they come, both ways; only the publisher's side is
 * decoded (the RTMP handshake skipped, then the chunk stream), with the project's own decoder.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { ChunkDecoder } from '../src/media/wire/rtmp/chunks.js';
import { HANDSHAKE_SIZE } from '../src/media/wire/rtmp/handshake.js';
import { MessageType } from '../src/media/wire/rtmp/messages.js';
import { now } from './support.js';

/** C0 (the version byte), C1 and C2: what a client sends before its first chunk. */
const CLIENT_HANDSHAKE_BYTES = 1 + 2 * HANDSHAKE_SIZE;

export interface KeyframeTap {
  /** The URL to publish to instead of the server's. */
  readonly url: string;
  /**
   * When the keyframe whose RTMP timestamp is within `toleranceMs` of `timestamp` (ms) was handed
   * to the server, on this process's clock (ms); undefined when none went through.
   */
  sentNear(timestamp: number, toleranceMs: number): number | undefined;
  /** The RTMP timestamp of the first keyframe that went through. */
  readonly firstKeyframe: number | undefined;
  close(): Promise<void>;
}

/** Starts a tap in front of `publishUrl` (rtmp://HOST:PORT/…); the tap's URL has the same path. */
export async function startKeyframeTap(publishUrl: string): Promise<KeyframeTap> {
  const target = new URL(publishUrl);
  const sent = new Map<number, number>();
  let first: number | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 1935), target.hostname);
    sockets.add(client).add(upstream);
    const decoder = new ChunkDecoder();
    let skip = CLIENT_HANDSHAKE_BYTES;
    let decoding = true;
    client.on('data', (data: Buffer) => {
      upstream.write(data);
      const at = now();
      if (!decoding) return;
      let rest = data;
      if (skip > 0) {
        const n = Math.min(skip, rest.length);
        skip -= n;
        rest = rest.subarray(n);
      }
      if (rest.length === 0) return;
      try {
        for (const message of decoder.push(rest)) {
          const p = message.payload;
          // FLV video: frame type 1 (keyframe), codec 7 (AVC), AVC packet type 1 (a picture, not the sequence header).
          if (message.type === MessageType.Video && p.length > 1 && p[0]! >> 4 === 1 && (p[0]! & 0x0f) === 7 && p[1] === 1) {
            if (!sent.has(message.timestamp)) sent.set(message.timestamp, at);
            first ??= message.timestamp;
          }
        }
      } catch {
        decoding = false;
      }
    });
    upstream.on('data', (data: Buffer) => client.write(data));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `rtmp://127.0.0.1:${port}${target.pathname}${target.search}`,
    sentNear: (timestamp, toleranceMs) => {
      let best: number | undefined;
      let bestDistance = toleranceMs;
      for (const [ts, at] of sent) {
        const distance = Math.abs(ts - timestamp);
        if (distance <= bestDistance) {
          best = at;
          bestDistance = distance;
        }
      }
      return best;
    },
    get firstKeyframe() {
      return first;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
