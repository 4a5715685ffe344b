/** RTMP message type ids and the small protocol-control messages. */
export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  SharedObjectAmf3: 16,
  CommandAmf3: 17,
  DataAmf0: 18,
  SharedObjectAmf0: 19,
  CommandAmf0: 20,
  Aggregate: 22,
} as const;

export const UserControlEvent = {
  StreamBegin: 0,
  StreamEof: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;

/** Chunk stream ids this server sends on, as other servers do. */
export const ChunkStream = {
  Control: 2,
  Command: 3,
  Audio: 4,
  Video: 6,
  Data: 5,
} as const;

export interface RtmpMessage {
  /** The chunk stream the message arrived on or is sent on. */
  chunkStreamId: number;
  /** Milliseconds, 32-bit, wrapping. */
  timestamp: number;
  type: number;
  /** The message stream id (0 for control and connection commands). */
  streamId: number;
  payload: Buffer;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

function control(type: number, payload: Buffer): RtmpMessage {
  return { chunkStreamId: ChunkStream.Control, timestamp: 0, type, streamId: 0, payload };
}

export const controlMessages = {
  setChunkSize: (size: number) => control(MessageType.SetChunkSize, u32(size & 0x7fffffff)),
  windowAckSize: (size: number) => control(MessageType.WindowAckSize, u32(size)),
  acknowledgement: (bytes: number) => control(MessageType.Acknowledgement, u32(bytes)),
  /** limit type 2 = dynamic. */
  setPeerBandwidth: (size: number, limitType = 2) => control(MessageType.SetPeerBandwidth, Buffer.concat([u32(size), Buffer.from([limitType])])),
  userControl: (event: number, value: number) => {
    const b = Buffer.alloc(6);
    b.writeUInt16BE(event, 0);
    b.writeUInt32BE(value >>> 0, 2);
    return control(MessageType.UserControl, b);
  },
};
