import { Amf0EcmaArray, decodeAmf0, encodeAmf0, type Amf0Object, type Amf0Value } from '../amf0.js';
import { ChunkStream, MessageType, type RtmpMessage } from './messages.js';

/** An AMF command as RTMP carries it: a name, a transaction id, a command object, then arguments. */
export interface Command {
  name: string;
  transactionId: number;
  object: Amf0Value;
  args: Amf0Value[];
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
}

/** Decodes an AMF0 command (type 20) or an AMF3 command (type 17, one format byte then AMF0). */
export function decodeCommand(message: RtmpMessage): Command {
  const payload = message.type === MessageType.CommandAmf3 ? message.payload.subarray(1) : message.payload;
  const [name, transactionId, object, ...args] = decodeAmf0(payload);
  if (typeof name !== 'string') throw new CommandError('command without a name');
  return { name, transactionId: typeof transactionId === 'number' ? transactionId : 0, object: object ?? null, args };
}

export function commandMessage(streamId: number, name: string, transactionId: number, object: Amf0Value, ...args: Amf0Value[]): RtmpMessage {
  return {
    chunkStreamId: ChunkStream.Command,
    timestamp: 0,
    type: MessageType.CommandAmf0,
    streamId,
    payload: encodeAmf0(name, transactionId, object, ...args),
  };
}

export type StatusLevel = 'status' | 'warning' | 'error';

export function onStatus(streamId: number, level: StatusLevel, code: string, description: string, extra: Amf0Object = {}): RtmpMessage {
  return commandMessage(streamId, 'onStatus', 0, null, { level, code, description, ...extra });
}

/** A data message (type 18), such as onMetaData or |RtmpSampleAccess. */
export function dataMessage(streamId: number, timestamp: number, ...values: (Amf0Value | Amf0EcmaArray)[]): RtmpMessage {
  return { chunkStreamId: ChunkStream.Data, timestamp, type: MessageType.DataAmf0, streamId, payload: encodeAmf0(...values) };
}

/**
 * The metadata of a data message, normalised to `onMetaData`: encoders send
 * `@setDataFrame, onMetaData, {…}`; viewers expect `onMetaData, {…}`. Undefined for other data.
 */
export function metadataOf(message: RtmpMessage): Amf0Object | undefined {
  const payload = message.type === MessageType.DataAmf3 ? message.payload.subarray(1) : message.payload;
  const values = decodeAmf0(payload);
  const start = values[0] === '@setDataFrame' ? 1 : 0;
  if (values[start] !== 'onMetaData') return undefined;
  const meta = values[start + 1];
  return meta !== null && typeof meta === 'object' && !Array.isArray(meta) && !(meta instanceof Date) ? meta : {};
}

export function metadataMessage(streamId: number, metadata: Amf0Object): RtmpMessage {
  return dataMessage(streamId, 0, 'onMetaData', new Amf0EcmaArray(metadata));
}
