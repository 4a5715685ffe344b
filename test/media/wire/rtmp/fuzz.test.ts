import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Amf0EcmaArray, Amf0Error, decodeAmf0 } from '../../../../src/media/wire/amf0.js';
import { ChunkDecoder, ChunkEncoder, ChunkError, type ChunkLimits } from '../../../../src/media/wire/rtmp/chunks.js';
import { CommandError, commandMessage, dataMessage, decodeCommand, metadataOf } from '../../../../src/media/wire/rtmp/commands.js';
import { splitAggregate } from '../../../../src/media/rtmp/connection.js';
import { controlMessages, MessageType, type RtmpMessage } from '../../../../src/media/wire/rtmp/messages.js';

/**
 * Fuzzing of the chunk decoder and the AMF0 command decoding behind it. The seed is random per
 * run and printed with any failure; FUZZ_SEED=<n> replays a run.
 */
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;

/** xorshift32. */
class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }
  /** 0 <= n < max. */
  int(max: number): number {
    return max <= 0 ? 0 : this.next() % max;
  }
  bytes(length: number): Buffer {
    const b = Buffer.alloc(length);
    for (let i = 0; i < length; i++) b[i] = this.next() & 0xff;
    return b;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** Small enough that the fuzzed streams run into every limit, large enough for the valid session. */
const LIMITS: ChunkLimits = { maxMessageSize: 4096, maxBufferedBytes: 4096, maxChunkStreams: 8 };
/** The most bytes of an incomplete chunk: a 3-byte basic header, 11-byte header, extended timestamp. */
const MAX_HEADER = 18;
/** Generous: each case decodes a few kilobytes; this only catches a hang or a blow-up. */
const CASE_BUDGET_MS = 2000;

interface DecoderInternals {
  buffered: number;
  headerHeld: number;
}

/** What the decoder holds, read from its private fields (a rename must fail here, not pass). */
function held(decoder: ChunkDecoder): { buffered: number; unparsed: number } {
  const d = decoder as unknown as DecoderInternals;
  assert.equal(typeof d.buffered, 'number');
  assert.equal(typeof d.headerHeld, 'number');
  return { buffered: d.buffered, unparsed: d.headerHeld };
}

const allowed = (err: unknown): boolean => err instanceof ChunkError || err instanceof Amf0Error || err instanceof CommandError;

interface Outcome {
  messages: number;
  commands: number;
  error: string | undefined;
  message: string | undefined;
}

/** Everything the server would do with these bytes short of the socket, under the invariants. */
function runCase(bytes: Buffer, rng: Rng, label: string): Outcome {
  const started = performance.now();
  const decoder = new ChunkDecoder(LIMITS);
  const outcome: Outcome = { messages: 0, commands: 0, error: undefined, message: undefined };
  try {
    for (let at = 0; at < bytes.length; ) {
      const piece = 1 + rng.int(rng.int(4) === 0 ? 8 : 1500);
      const messages = decoder.push(bytes.subarray(at, at + piece));
      at += piece;
      const { buffered, unparsed } = held(decoder);
      assert.ok(buffered >= 0 && buffered <= LIMITS.maxBufferedBytes, `${label}: ${buffered} bytes of partial messages held`);
      assert.ok(unparsed < MAX_HEADER, `${label}: ${unparsed} unparsed bytes held`);
      for (const m of messages) {
        outcome.messages++;
        assert.ok(m.payload.length <= LIMITS.maxMessageSize, `${label}: message of ${m.payload.length} bytes`);
        if (m.type === MessageType.CommandAmf0 || m.type === MessageType.CommandAmf3) {
          try {
            const cmd = decodeCommand(m);
            assert.equal(typeof cmd.name, 'string');
            assert.equal(typeof cmd.transactionId, 'number');
            outcome.commands++;
          } catch (err) {
            if (!(err instanceof Amf0Error || err instanceof CommandError)) throw err;
          }
        } else if (m.type === MessageType.DataAmf0 || m.type === MessageType.DataAmf3) {
          try {
            metadataOf(m);
            decodeAmf0(m.payload);
          } catch (err) {
            if (!(err instanceof Amf0Error)) throw err;
          }
        } else if (m.type === MessageType.Aggregate) {
          for (const inner of splitAggregate(m)) assert.ok(inner.type === MessageType.Audio || inner.type === MessageType.Video);
        }
      }
    }
  } catch (err) {
    if (!allowed(err)) throw new Error(`${label}: ${String(err)}\n${(err as Error).stack ?? ''}`, { cause: err });
    outcome.error = (err as Error).name;
    outcome.message = (err as Error).message;
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < CASE_BUDGET_MS, `${label}: took ${elapsed.toFixed(0)} ms for ${bytes.length} bytes`);
  return outcome;
}

/** A publishing session as OBS sends it, over several chunk streams, in chunks of 100 bytes. */
function validSession(): { bytes: Buffer; messages: RtmpMessage[]; commandPayloads: Buffer[] } {
  const encoder = new ChunkEncoder();
  const parts: Buffer[] = [];
  const messages: RtmpMessage[] = [];
  const send = (m: RtmpMessage): void => {
    parts.push(encoder.encode(m));
    messages.push(m);
  };
  send(controlMessages.setChunkSize(100));
  encoder.setChunkSize(100);
  send(controlMessages.windowAckSize(2_500_000));
  send(
    commandMessage(0, 'connect', 1, {
      app: 'live',
      type: 'nonprivate',
      flashVer: 'FMLE/3.0 (compatible; FMSc/1.0)',
      swfUrl: 'rtmp://example.com/live',
      tcUrl: 'rtmp://example.com/live',
    }),
  );
  send(commandMessage(0, 'releaseStream', 2, null, 'stream-key'));
  send(commandMessage(0, 'FCPublish', 3, null, 'stream-key'));
  send(commandMessage(0, 'createStream', 4, null));
  send({ ...commandMessage(1, 'publish', 5, null, 'stream-key?token=t', 'live'), chunkStreamId: 8 });
  send(
    dataMessage(1, 0, '@setDataFrame', 'onMetaData', new Amf0EcmaArray({ width: 1280, height: 720, videocodecid: 7, audiocodecid: 10, encoder: 'obs-output module (libobs version 30.0.0)' })),
  );
  const video = (ts: number, body: number[], size: number): RtmpMessage => ({
    chunkStreamId: 6,
    timestamp: ts,
    type: MessageType.Video,
    streamId: 1,
    payload: Buffer.concat([Buffer.from(body), Buffer.alloc(size, ts & 0xff)]),
  });
  const audio = (ts: number, body: number[], size: number): RtmpMessage => ({
    chunkStreamId: 4,
    timestamp: ts,
    type: MessageType.Audio,
    streamId: 1,
    payload: Buffer.concat([Buffer.from(body), Buffer.alloc(size, 0x21)]),
  });
  send(video(0, [0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x1f, 0xff], 30));
  send(audio(0, [0xaf, 0x00, 0x12, 0x10], 0));
  send(video(0, [0x17, 0x01, 0, 0, 0x42], 700));
  send(audio(21, [0xaf, 0x01], 180));
  send(video(33, [0x27, 0x01, 0, 0, 0x42], 250));
  send(audio(42, [0xaf, 0x01], 170));
  send({ ...video(0xffffff + 10, [0x27, 0x01, 0, 0, 0], 220), chunkStreamId: 70 });
  send({ ...audio(0x1000000, [0xaf, 0x01], 90), chunkStreamId: 400 });
  send(commandMessage(1, 'FCUnpublish', 6, null, 'stream-key'));
  send(commandMessage(1, 'deleteStream', 7, null, 1));
  const commandPayloads = messages.filter((m) => m.type === MessageType.CommandAmf0 || m.type === MessageType.DataAmf0).map((m) => m.payload);
  return { bytes: Buffer.concat(parts), messages, commandPayloads };
}

function mutate(source: Buffer, rng: Rng): Buffer {
  let b = Buffer.from(source);
  const count = 1 + rng.int(4);
  for (let i = 0; i < count; i++) {
    switch (rng.int(7)) {
      case 0: {
        // Bit flips.
        for (let n = 1 + rng.int(8); n > 0 && b.length > 0; n--) b[rng.int(b.length)]! ^= 1 << rng.int(8);
        break;
      }
      case 1: {
        // Insert bytes (often a single interesting one).
        const at = rng.int(b.length + 1);
        const insert = rng.int(2) === 0 ? Buffer.from([rng.pick([0x00, 0x01, 0x02, 0x03, 0x09, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff])]) : rng.bytes(1 + rng.int(16));
        b = Buffer.concat([b.subarray(0, at), insert, b.subarray(at)]);
        break;
      }
      case 2: {
        // Delete bytes.
        const at = rng.int(b.length);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(8))]);
        break;
      }
      case 3:
        // Truncate.
        b = b.subarray(0, rng.int(b.length + 1));
        break;
      case 4: {
        // Splice: a range of the session copied elsewhere (replayed chunks, duplicated headers).
        const from = rng.int(source.length);
        const piece = source.subarray(from, from + 1 + rng.int(300));
        const at = rng.int(b.length + 1);
        b = Buffer.concat([b.subarray(0, at), piece, b.subarray(at + (rng.int(2) === 0 ? piece.length : 0))]);
        break;
      }
      case 5: {
        // Overwrite a 32-bit field with an extreme value (lengths, chunk sizes, timestamps).
        if (b.length >= 4) b.writeUInt32BE(rng.pick([0, 1, 0x7f, 0xffffff, 0x1000000, 0x7fffffff, 0x80000000, 0xffffffff, rng.next()]), rng.int(b.length - 3));
        break;
      }
      default: {
        // Overwrite a range with random bytes.
        const at = rng.int(b.length);
        rng.bytes(Math.min(1 + rng.int(32), b.length - at)).copy(b, at);
      }
    }
  }
  return b;
}

/**
 * Chunks with well-formed headers and random fields, mostly consistent with the chunk stream state
 * (lengths, chunk size, continuations) and now and then not: reaches deep into the state machine
 * instead of failing on the first byte. Payloads are random or mutated commands.
 */
function structuredRandom(rng: Rng, payloads: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  let chunkSize = 128;
  const streams = new Map<number, { length: number; remaining: number; extended: boolean }>();
  const basicHeader = (fmt: number, csid: number): Buffer =>
    csid < 64 ? Buffer.from([(fmt << 6) | csid]) : csid < 320 ? Buffer.from([fmt << 6, csid - 64]) : Buffer.from([(fmt << 6) | 1, (csid - 64) & 0xff, (csid - 64) >> 8]);
  const lie = (): boolean => rng.int(150) === 0;
  for (let n = 1 + rng.int(100); n > 0; n--) {
    // Eight chunk streams, the decoder's limit here, in all three basic header forms; rarely a ninth.
    const csid = rng.int(300) === 0 ? rng.pick([63, 319, 65599, 2 + rng.int(100)]) : rng.pick([2, 3, 4, 5, 6, 8, 64, 320]);
    const state = streams.get(csid);
    const midMessage = state !== undefined && state.remaining > 0;
    let fmt: number;
    if (lie()) fmt = rng.int(4);
    else if (midMessage) fmt = 3;
    else if (!state) fmt = 0;
    else fmt = rng.int(4);

    let type = rng.pick([8, 9, 9, 18, 20, 17, 22, 3, 4, 5, 6, rng.int(256)]);
    let payload: Buffer;
    if (csid === 2 && fmt <= 1 && rng.int(2) === 0) {
      // A SetChunkSize or an Abort on the control stream.
      type = rng.int(3) === 0 ? 2 : 1;
      const value = type === 1 ? rng.pick([1, 7, 100, 128, 4096, 65536, 0x7fffffff, rng.int(300)]) : rng.pick([3, 4, 6, rng.int(70)]);
      payload = Buffer.alloc(4);
      payload.writeUInt32BE(value >>> 0, 0);
    } else if (type === 18 || type === 20 || type === 17) {
      payload = rng.int(3) === 0 ? mutate(rng.pick(payloads), rng) : Buffer.from(rng.pick(payloads));
    } else {
      payload = rng.bytes(rng.pick([0, 1, 5, 127, 128, 129, 300, 1000, 2500, 3500, 4096, rng.int(4000)]));
    }

    const header = Buffer.alloc(fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0);
    const timestamp = rng.pick([0, 1, 40, 0xfffffe, 0xffffff, 0x1000000, rng.next()]);
    const extended = fmt <= 2 ? timestamp >= 0xffffff : (state?.extended ?? false);
    if (fmt <= 2) header.writeUIntBE(Math.min(timestamp, 0xffffff), 0, 3);
    let length = state?.length ?? 0;
    if (fmt <= 1) {
      length = lie() ? rng.int(0x1000000) : payload.length;
      header.writeUIntBE(length, 3, 3);
      header[6] = type;
    }
    if (fmt === 0) header.writeUInt32LE(rng.pick([0, 1, 1, rng.next()]), 7);
    parts.push(basicHeader(fmt, csid), header);
    if (extended) parts.push(Buffer.from(u32(lie() ? rng.next() : timestamp)));

    const remaining = midMessage && fmt === 3 ? state.remaining : length;
    const take = Math.min(remaining, chunkSize);
    // The chunk's data: the payload when it is a new message of its own length, filler otherwise.
    const data = fmt <= 1 && length === payload.length ? payload.subarray(0, take) : rng.bytes(Math.min(take, 4096));
    parts.push(lie() ? data.subarray(0, rng.int(data.length + 1)) : data);
    streams.set(csid, { length, remaining: remaining - take, extended });
    if (csid === 2 && type === 1 && take === 4 && remaining === 4 && fmt <= 1) {
      const size = data.readUInt32BE(0) & 0x7fffffff;
      if (size > 0) chunkSize = size;
    }
  }
  return Buffer.concat(parts);
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

describe(`RTMP chunk and command decoding under fuzzing (FUZZ_SEED=${SEED})`, () => {
  const session = validSession();

  it('decodes the unmutated session exactly (so the mutations start from something valid)', () => {
    assert.deepEqual(new ChunkDecoder(LIMITS).push(session.bytes), session.messages);
    const outcome = runCase(session.bytes, new Rng(SEED), 'valid session');
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.messages, session.messages.length);
    assert.equal(outcome.commands, 7);
  });

  it('2000 random byte strings raise only ChunkError, Amf0Error or CommandError', () => {
    const rng = new Rng(SEED ^ 0x1111);
    const errors = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const length = rng.pick([0, 1, 2, 3, 11, 12, 18, rng.int(64), rng.int(1024), rng.int(4096)]);
      const bytes = rng.bytes(length);
      // A quarter start like a full header on a low chunk stream, to get past the first byte.
      if (i % 4 === 0 && length > 0) bytes[0] = bytes[0]! & 0x3f;
      const outcome = runCase(bytes, rng, `seed ${SEED}, random case ${i}`);
      if (outcome.error) errors.set(outcome.error, (errors.get(outcome.error) ?? 0) + 1);
    }
    assert.ok((errors.get('ChunkError') ?? 0) > 1000, `seed ${SEED}: ${JSON.stringify([...errors])}`);
  });

  it('2000 mutations of a valid session raise only ChunkError, Amf0Error or CommandError', () => {
    const rng = new Rng(SEED ^ 0x2222);
    let commands = 0;
    let clean = 0;
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      const outcome = runCase(mutate(session.bytes, rng), rng, `seed ${SEED}, mutation case ${i}`);
      commands += outcome.commands;
      if (outcome.error) rejected++;
      else clean++;
    }
    // The mutations both break the stream and leave much of it decodable.
    assert.ok(commands > 2000, `seed ${SEED}: only ${commands} commands decoded`);
    assert.ok(clean > 100 && rejected > 100, `seed ${SEED}: ${clean} clean, ${rejected} rejected`);
  });

  it('1000 streams of well-formed chunk headers with random fields raise only the allowed errors', () => {
    const rng = new Rng(SEED ^ 0x3333);
    let messages = 0;
    let commands = 0;
    const limitsHit = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const outcome = runCase(structuredRandom(rng, session.commandPayloads), rng, `seed ${SEED}, structured case ${i}`);
      messages += outcome.messages;
      commands += outcome.commands;
      for (const limit of ['exceeds the limit', 'too many chunk streams', 'too much partial message data']) if (outcome.message?.includes(limit)) limitsHit.add(limit);
    }
    assert.equal(limitsHit.size, 3, `seed ${SEED}: only these limits were reached: ${[...limitsHit].join(', ')}`);
    assert.ok(messages > 4000 && commands > 100, `seed ${SEED}: only ${messages} messages and ${commands} commands decoded`);
  });

  it('2000 mutations of command and metadata payloads raise only Amf0Error or CommandError', () => {
    const rng = new Rng(SEED ^ 0x4444);
    for (let i = 0; i < 2000; i++) {
      const payload = mutate(rng.pick(session.commandPayloads), rng);
      const m: RtmpMessage = { chunkStreamId: 3, timestamp: 0, type: rng.pick([MessageType.CommandAmf0, MessageType.CommandAmf3]), streamId: 0, payload };
      for (const step of [() => decodeAmf0(payload), () => decodeCommand(m), () => metadataOf({ ...m, type: MessageType.DataAmf0 })]) {
        try {
          step();
        } catch (err) {
          if (!(err instanceof Amf0Error || err instanceof CommandError)) {
            throw new Error(`seed ${SEED}, payload case ${i} (${payload.toString('hex')}): ${String(err)}`, { cause: err });
          }
        }
      }
    }
  });
});
