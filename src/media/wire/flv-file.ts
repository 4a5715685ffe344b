/**
 * The FLV file layout, for feeding live tags to an ffmpeg child on a pipe: a 9-byte header,
 * then each tag as an 11-byte tag header, its body, and the 4-byte size of what came before.
 */
export function flvFileHeader(hasAudio: boolean, hasVideo: boolean): Buffer {
  const header = Buffer.from([0x46, 0x4c, 0x56, 0x01, (hasAudio ? 0x04 : 0) | (hasVideo ? 0x01 : 0), 0, 0, 0, 9, 0, 0, 0, 0]);
  return header;
}

/** One FLV tag (type 8 audio, 9 video, 18 script data) followed by its PreviousTagSize. */
export function flvTag(type: number, timestampMs: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(11 + body.length + 4);
  const ts = timestampMs >>> 0;
  out[0] = type;
  out.writeUIntBE(body.length, 1, 3);
  out.writeUIntBE(ts & 0xffffff, 4, 3);
  out[7] = (ts >>> 24) & 0xff;
  out.writeUIntBE(0, 8, 3);
  body.copy(out, 11);
  out.writeUInt32BE(11 + body.length, 11 + body.length);
  return out;
}
