import type { Readable } from 'node:stream';
import { encodeAmf0 } from '../wire/amf0.js';
import { FlvFileReader } from '../wire/flv-file.js';
import { MediaFormatError } from '../wire/format-error.js';
import { MessageType, type RtmpMessage } from '../wire/rtmp/messages.js';

/** `@setDataFrame` as AMF0, the prefix encoders put before onMetaData when they publish it. */
const SET_DATA_FRAME = encodeAmf0('@setDataFrame');

/**
 * An ffmpeg child's FLV output (`-f flv pipe:1`) as the media messages a publisher sends:
 * audio and video as they are, script data (onMetaData) behind `@setDataFrame`. ffmpeg writes
 * to a pipe and this server publishes what it reads, so no URL ffmpeg would need (a
 * destination's key, this server's ingest key) is ever in its arguments, where every local user
 * can read it (`ps`). `onEnd` hears once why the output ended: its end, or bytes that are not
 * FLV.
 */
export function readFlvOutput(stdout: Readable, onMessage: (message: RtmpMessage) => void, onEnd: (reason: string | undefined) => void): void {
  const reader = new FlvFileReader();
  let ended = false;
  const end = (reason: string | undefined) => {
    if (ended) return;
    ended = true;
    onEnd(reason);
  };
  stdout.on('data', (chunk: Buffer) => {
    if (ended) return;
    let tags;
    try {
      tags = reader.push(chunk);
    } catch (err) {
      if (!(err instanceof MediaFormatError)) throw err;
      stdout.destroy();
      end(`ffmpeg wrote what is not FLV: ${err.message}`);
      return;
    }
    for (const tag of tags) {
      if (tag.type === MessageType.Audio || tag.type === MessageType.Video) {
        onMessage({ type: tag.type, timestamp: tag.timestampMs, payload: tag.body, streamId: 0, chunkStreamId: 0 });
      } else if (tag.type === MessageType.DataAmf0) {
        onMessage({ type: MessageType.DataAmf0, timestamp: tag.timestampMs, payload: Buffer.concat([SET_DATA_FRAME, tag.body]), streamId: 0, chunkStreamId: 0 });
      }
    }
  });
  stdout.once('end', () => end(undefined));
  stdout.once('error', (err) => end(`reading ffmpeg's output failed: ${err.message}`));
}
