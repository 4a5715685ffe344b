import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Amf0EcmaArray, Amf0Error, decodeAmf0, encodeAmf0, type Amf0Value } from '../../../src/media/wire/amf0.js';
import { CommandError, decodeCommand, metadataOf } from '../../../src/media/wire/rtmp/commands.js';
import { MessageType, type RtmpMessage } from '../../../src/media/wire/rtmp/messages.js';

/**
 * AMF0 written by hand from the spec (AMF0 File Format Specification, section 2), independent of
 * the encoder under test, so the decoder is checked against bytes real encoders send.
 */
const amf = {
  number(n: number): Buffer {
    const b = Buffer.alloc(9);
    b[0] = 0x00;
    b.writeDoubleBE(n, 1);
    return b;
  },
  boolean: (v: boolean): Buffer => Buffer.from([0x01, v ? 1 : 0]),
  /** UTF-8 with a 16-bit length, no marker: a property name. */
  key(s: string): Buffer {
    const bytes = Buffer.from(s, 'utf8');
    const b = Buffer.alloc(2);
    b.writeUInt16BE(bytes.length, 0);
    return Buffer.concat([b, bytes]);
  },
  string: (s: string): Buffer => Buffer.concat([Buffer.from([0x02]), amf.key(s)]),
  null: (): Buffer => Buffer.from([0x05]),
  objectStart: (): Buffer => Buffer.from([0x03]),
  objectEnd: (): Buffer => Buffer.from([0x00, 0x00, 0x09]),
  ecmaArrayStart(count: number): Buffer {
    const b = Buffer.alloc(5);
    b[0] = 0x08;
    b.writeUInt32BE(count, 1);
    return b;
  },
  /** An object (or ECMA array body) from name/value pairs, values already encoded. */
  properties: (pairs: [string, Buffer][]): Buffer => Buffer.concat([...pairs.flatMap(([k, v]) => [amf.key(k), v]), amf.objectEnd()]),
};

/** Decoded objects have a null prototype; compare them by content. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

function roundTrip(value: Amf0Value): void {
  const decoded = decodeAmf0(encodeAmf0(value));
  assert.equal(decoded.length, 1);
  assert.deepEqual(plain(decoded[0]), plain(value));
}

/** The call throws Amf0Error, and nothing else (a RangeError would mean a read out of bounds). */
function assertAmf0Error(fn: () => unknown, what: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof Amf0Error, `${what}: expected Amf0Error, got ${String(err)}`);
    return true;
  });
}

function command(payload: Buffer, type: number = MessageType.CommandAmf0): RtmpMessage {
  return { chunkStreamId: 3, timestamp: 0, type, streamId: 0, payload };
}

describe('AMF0 round trips', () => {
  it('numbers, including -0, NaN, infinities and the extremes of a double', () => {
    for (const n of [0, -0, 1, -1, 1.5, 3.141592653589793, 2 ** 53 - 1, -(2 ** 53), 1e300, -1e-300, Number.MIN_VALUE, Infinity, -Infinity, NaN]) {
      const bytes = encodeAmf0(n);
      assert.equal(bytes.length, 9);
      assert.equal(bytes[0], 0x00);
      assert.ok(Object.is(decodeAmf0(bytes)[0], n), `number ${n}`);
    }
  });

  it('booleans', () => {
    assert.deepEqual([...encodeAmf0(true, false)], [0x01, 0x01, 0x01, 0x00]);
    assert.deepEqual(decodeAmf0(encodeAmf0(true, false)), [true, false]);
    // Any non-zero byte is true.
    assert.deepEqual(decodeAmf0(Buffer.from([0x01, 0x7f])), [true]);
  });

  it('short strings: empty, ASCII, multi-byte UTF-8, and 65535 bytes at the boundary', () => {
    for (const s of ['', 'connect', 'héllo ✓ 🎥 世界']) roundTrip(s);
    assert.deepEqual([...encodeAmf0('ab')], [0x02, 0x00, 0x02, 0x61, 0x62]);
    const max = 'x'.repeat(0xffff);
    const bytes = encodeAmf0(max);
    assert.equal(bytes[0], 0x02, 'a 65535-byte string still fits a short string');
    assert.equal(bytes.length, 3 + 0xffff);
    assert.equal(decodeAmf0(bytes)[0], max);
  });

  it('long strings over 65535 bytes, counted in bytes not characters', () => {
    const ascii = 'y'.repeat(0x10000);
    const bytes = encodeAmf0(ascii);
    assert.equal(bytes[0], 0x0c);
    assert.equal(bytes.readUInt32BE(1), 0x10000);
    assert.equal(decodeAmf0(bytes)[0], ascii);

    // 40 000 characters, 80 000 bytes: a short string's 16-bit length would wrap.
    const wide = 'é'.repeat(40_000);
    const wideBytes = encodeAmf0(wide);
    assert.equal(wideBytes[0], 0x0c);
    assert.equal(wideBytes.readUInt32BE(1), 80_000);
    assert.equal(decodeAmf0(wideBytes)[0], wide);
  });

  it('null and undefined', () => {
    assert.deepEqual([...encodeAmf0(null, undefined)], [0x05, 0x06]);
    assert.deepEqual(decodeAmf0(Buffer.from([0x05, 0x06])), [null, undefined]);
    // "unsupported" (0x0d) reads as undefined too.
    assert.deepEqual(decodeAmf0(Buffer.from([0x0d])), [undefined]);
  });

  it('objects, with their end marker, and properties left out when undefined', () => {
    roundTrip({});
    roundTrip({ app: 'live', capabilities: 15, fpad: false, nothing: null });
    assert.deepEqual([...encodeAmf0({})], [0x03, 0x00, 0x00, 0x09]);
    assert.deepEqual([...encodeAmf0({ a: 1 })], [...amf.objectStart(), ...amf.properties([['a', amf.number(1)]])]);
    assert.deepEqual(plain(decodeAmf0(encodeAmf0({ kept: 1, dropped: undefined }))[0]), { kept: 1 });
  });

  it('a property named __proto__ is a plain property, not a prototype', () => {
    const bytes = Buffer.concat([amf.objectStart(), amf.properties([['__proto__', amf.number(1)], ['x', amf.number(2)]])]);
    const decoded = decodeAmf0(bytes)[0] as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(decoded), null);
    assert.equal(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value, 1);
    assert.equal(decoded.x, 2);
  });

  it('strict arrays: empty, mixed and nested', () => {
    roundTrip([]);
    roundTrip([1, 'two', true, null, undefined, { three: 3 }, [4, [5]]]);
    const bytes = encodeAmf0([1, 2]);
    assert.equal(bytes[0], 0x0a);
    assert.equal(bytes.readUInt32BE(1), 2);
  });

  it('ECMA arrays encode with their count and decode to an object', () => {
    const bytes = encodeAmf0(new Amf0EcmaArray({ width: 1280, height: 720, encoder: 'obs-output module' }));
    assert.equal(bytes[0], 0x08);
    assert.equal(bytes.readUInt32BE(1), 3);
    assert.deepEqual([...bytes.subarray(-3)], [0x00, 0x00, 0x09]);
    assert.deepEqual(plain(decodeAmf0(bytes)[0]), { width: 1280, height: 720, encoder: 'obs-output module' });
    assert.deepEqual(plain(decodeAmf0(encodeAmf0(new Amf0EcmaArray({})))[0]), {});
  });

  it('dates, to the millisecond, with the time zone field written as zero', () => {
    const date = new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789));
    const bytes = encodeAmf0(date);
    assert.equal(bytes.length, 11);
    assert.equal(bytes[0], 0x0b);
    assert.equal(bytes.readUInt16BE(9), 0);
    const decoded = decodeAmf0(bytes)[0];
    assert.ok(decoded instanceof Date);
    assert.equal(decoded.getTime(), date.getTime());
    // A non-zero time zone field is read past, not misread as the next value.
    const withZone = Buffer.concat([bytes.subarray(0, 9), Buffer.from([0x01, 0xe0]), amf.number(7)]);
    assert.deepEqual(plain(decodeAmf0(withZone)), [date, 7]);
  });

  it('nested values of every type, and several values in a row', () => {
    const nested: Amf0Value = {
      level: 'status',
      numbers: [0, -1.25, 1e9],
      deep: { deeper: { deepest: [{ at: new Date(0) }, null, undefined, 'é'.repeat(33_000)] } },
      flag: true,
    };
    roundTrip(nested);
    const values: Amf0Value[] = ['_result', 1, null, nested, [], 'end'];
    assert.deepEqual(plain(decodeAmf0(encodeAmf0(...values))), plain(values));
  });

  it('refuses a property name longer than 65535 bytes', () => {
    assertAmf0Error(() => encodeAmf0({ ['k'.repeat(0x10000)]: 1 }), 'long key');
  });
});

describe('AMF0 from real encoders (bytes written by hand)', () => {
  it('decodes OBS’s connect command (librtmp)', () => {
    const payload = Buffer.concat([
      amf.string('connect'),
      amf.number(1),
      amf.objectStart(),
      amf.properties([
        ['app', amf.string('live')],
        ['type', amf.string('nonprivate')],
        ['flashVer', amf.string('FMLE/3.0 (compatible; FMSc/1.0)')],
        ['swfUrl', amf.string('rtmp://example.com/live')],
        ['tcUrl', amf.string('rtmp://example.com/live')],
      ]),
    ]);
    const cmd = decodeCommand(command(payload));
    assert.equal(cmd.name, 'connect');
    assert.equal(cmd.transactionId, 1);
    assert.deepEqual(plain(cmd.object), {
      app: 'live',
      type: 'nonprivate',
      flashVer: 'FMLE/3.0 (compatible; FMSc/1.0)',
      swfUrl: 'rtmp://example.com/live',
      tcUrl: 'rtmp://example.com/live',
    });
    assert.deepEqual(cmd.args, []);
  });

  it('decodes ffmpeg’s connect command for playing, with booleans and numbers', () => {
    const payload = Buffer.concat([
      amf.string('connect'),
      amf.number(1),
      amf.objectStart(),
      amf.properties([
        ['app', amf.string('live/')],
        ['flashVer', amf.string('LNX 9,0,124,2')],
        ['tcUrl', amf.string('rtmp://127.0.0.1:1935/live/')],
        ['fpad', amf.boolean(false)],
        ['capabilities', amf.number(15)],
        ['audioCodecs', amf.number(4071)],
        ['videoCodecs', amf.number(252)],
        ['videoFunction', amf.number(1)],
      ]),
    ]);
    const cmd = decodeCommand(command(payload));
    assert.equal(cmd.name, 'connect');
    assert.equal(cmd.transactionId, 1);
    assert.deepEqual(plain(cmd.object), {
      app: 'live/',
      flashVer: 'LNX 9,0,124,2',
      tcUrl: 'rtmp://127.0.0.1:1935/live/',
      fpad: false,
      capabilities: 15,
      audioCodecs: 4071,
      videoCodecs: 252,
      videoFunction: 1,
    });
  });

  it('decodes a publish command and the AMF3 form of a command (one format byte first)', () => {
    const payload = Buffer.concat([amf.string('publish'), amf.number(5), amf.null(), amf.string('key?token=abc'), amf.string('live')]);
    const cmd = decodeCommand(command(payload));
    assert.deepEqual({ ...cmd, object: cmd.object }, { name: 'publish', transactionId: 5, object: null, args: ['key?token=abc', 'live'] });
    const amf3 = decodeCommand(command(Buffer.concat([Buffer.from([0x00]), payload]), MessageType.CommandAmf3));
    assert.equal(amf3.name, 'publish');
    assert.deepEqual(amf3.args, ['key?token=abc', 'live']);
  });

  it('decodes @setDataFrame onMetaData whose ECMA array count is wrong, trusting the end marker', () => {
    const entries: [string, Buffer][] = [
      ['duration', amf.number(0)],
      ['width', amf.number(1920)],
      ['height', amf.number(1080)],
      ['videodatarate', amf.number(2500)],
      ['framerate', amf.number(30)],
      ['videocodecid', amf.number(7)],
      ['audiodatarate', amf.number(160)],
      ['audiosamplerate', amf.number(48000)],
      ['audiosamplesize', amf.number(16)],
      ['stereo', amf.boolean(true)],
      ['audiocodecid', amf.number(10)],
      ['encoder', amf.string('Lavf61.7.100')],
      ['filesize', amf.number(0)],
    ];
    const expected = {
      duration: 0,
      width: 1920,
      height: 1080,
      videodatarate: 2500,
      framerate: 30,
      videocodecid: 7,
      audiodatarate: 160,
      audiosamplerate: 48000,
      audiosamplesize: 16,
      stereo: true,
      audiocodecid: 10,
      encoder: 'Lavf61.7.100',
      filesize: 0,
    };
    for (const count of [0, 1, 13, 1000, 0xffffffff]) {
      const payload = Buffer.concat([amf.string('@setDataFrame'), amf.string('onMetaData'), amf.ecmaArrayStart(count), amf.properties(entries)]);
      const values = decodeAmf0(payload);
      assert.equal(values.length, 3, `count ${count}`);
      assert.equal(values[0], '@setDataFrame');
      assert.equal(values[1], 'onMetaData');
      assert.deepEqual(plain(values[2]), expected);
      const meta = metadataOf({ chunkStreamId: 5, timestamp: 0, type: MessageType.DataAmf0, streamId: 1, payload });
      assert.deepEqual(plain(meta), expected);
    }
  });
});

describe('AMF0 malformed input raises Amf0Error, never reads out of bounds', () => {
  const single = encodeAmf0({
    app: 'live',
    n: 1.5,
    b: true,
    nil: null,
    undef: undefined,
    list: [1, 'two', { three: [3] }, new Date(5)],
    ecma: null,
    when: new Date(1_700_000_000_000),
    text: 'héllo',
    deep: { a: { b: { c: [] } } },
  });
  const ecma = encodeAmf0(new Amf0EcmaArray({ width: 640, name: 'x', inner: { y: [true] } }));
  const long = encodeAmf0('z'.repeat(0x10005));

  it('every proper prefix of a single encoded value is an error', () => {
    for (const whole of [single, ecma, long]) {
      assert.doesNotThrow(() => decodeAmf0(whole));
      for (let end = 1; end < whole.length; end++) {
        assertAmf0Error(() => decodeAmf0(whole.subarray(0, end)), `prefix of ${end} of ${whole.length} bytes`);
      }
    }
  });

  it('every prefix of a command either decodes to its first values or is an error', () => {
    const values: Amf0Value[] = ['connect', 1, { app: 'live', tcUrl: 'rtmp://h/live' }, null, 'extra'];
    const whole = encodeAmf0(...values);
    let decodedPrefixes = 0;
    for (let end = 0; end < whole.length; end++) {
      let got: Amf0Value[];
      try {
        got = decodeAmf0(whole.subarray(0, end));
      } catch (err) {
        assert.ok(err instanceof Amf0Error, `prefix ${end}: ${String(err)}`);
        continue;
      }
      decodedPrefixes++;
      assert.ok(got.length < values.length, `prefix ${end} decoded too much`);
      assert.deepEqual(plain(got), plain(values.slice(0, got.length)));
    }
    // Cut exactly between values: the empty prefix and four value boundaries.
    assert.equal(decodedPrefixes, 5);
  });

  it('unknown and unsupported markers', () => {
    // 0x04 movie clip, 0x07 reference, 0x0e record set, 0x11 AVM+ (AMF3 switch), and unassigned ones.
    for (const marker of [0x04, 0x07, 0x0e, 0x11, 0x12, 0x7f, 0xff]) {
      assertAmf0Error(() => decodeAmf0(Buffer.from([marker, 0, 0, 0, 0, 0, 0, 0, 0])), `marker 0x${marker.toString(16)}`);
      // Inside an object too.
      assertAmf0Error(() => decodeAmf0(Buffer.concat([amf.objectStart(), amf.key('k'), Buffer.from([marker]), amf.objectEnd()])), `nested marker 0x${marker.toString(16)}`);
    }
    // A lone object-end marker is not a value.
    assertAmf0Error(() => decodeAmf0(Buffer.from([0x09])), 'bare object end');
  });

  it('an object without its end marker', () => {
    // Ends after a property.
    assertAmf0Error(() => decodeAmf0(Buffer.concat([amf.objectStart(), amf.key('a'), amf.null()])), 'no end at all');
    // The empty key is followed by something other than 0x09.
    assertAmf0Error(() => decodeAmf0(Buffer.concat([amf.objectStart(), amf.key('a'), amf.null(), Buffer.from([0x00, 0x00, 0x05])])), 'wrong end marker');
    assertAmf0Error(() => decodeAmf0(Buffer.concat([amf.ecmaArrayStart(1), amf.key('a'), amf.null(), Buffer.from([0x00, 0x00])])), 'ECMA array cut before its end marker');
  });

  it('nesting deeper than the limit, in objects and in arrays, at any depth', () => {
    const nestedArrays = (depth: number): Buffer => Buffer.concat([...Array.from({ length: depth }, () => Buffer.from([0x0a, 0, 0, 0, 1])), amf.null()]);
    const nestedObjects = (depth: number): Buffer =>
      Buffer.concat([...Array.from({ length: depth }, () => Buffer.concat([amf.objectStart(), amf.key('a')])), amf.null(), ...Array.from({ length: depth }, () => amf.objectEnd())]);
    // 32 containers deep is the most accepted.
    assert.equal(decodeAmf0(nestedArrays(32)).length, 1);
    assert.equal(decodeAmf0(nestedObjects(32)).length, 1);
    for (const depth of [33, 100, 100_000]) {
      assertAmf0Error(() => decodeAmf0(nestedArrays(depth)), `arrays ${depth} deep`);
      assertAmf0Error(() => decodeAmf0(nestedObjects(depth)), `objects ${depth} deep`);
    }
    // The encoder writes what it is given; the decoder still refuses it.
    let deep: Amf0Value = 'leaf';
    for (let i = 0; i < 40; i++) deep = { next: deep };
    assertAmf0Error(() => decodeAmf0(encodeAmf0(deep)), 'encoded deep object');
  });

  it('huge declared lengths: strict array, long string, XML document', () => {
    for (const count of [0xffffffff, 0x7fffffff, 0x10001]) {
      const head = Buffer.alloc(5);
      head[0] = 0x0a;
      head.writeUInt32BE(count, 1);
      assertAmf0Error(() => decodeAmf0(Buffer.concat([head, amf.null()])), `strict array of ${count}`);
    }
    // Within the entry limit but with nothing behind it: truncated, quickly.
    assertAmf0Error(() => decodeAmf0(Buffer.from([0x0a, 0x00, 0x01, 0x00, 0x00, 0x05])), 'strict array of 65536 with one item');
    assertAmf0Error(() => decodeAmf0(Buffer.from([0x0c, 0xff, 0xff, 0xff, 0xff, 0x61])), 'long string of 4 GiB');
    assertAmf0Error(() => decodeAmf0(Buffer.from([0x0f, 0xff, 0xff, 0xff, 0xff])), 'XML document of 4 GiB');
    assertAmf0Error(() => decodeAmf0(Buffer.from([0x02, 0xff, 0xff, 0x61])), 'string of 65535 with one byte');
  });

  it('a strict array with more entries than the limit, even when they are all there', () => {
    const array = (count: number): Buffer => {
      const head = Buffer.from([0x0a, 0, 0, 0, 0]);
      head.writeUInt32BE(count, 1);
      return Buffer.concat([head, Buffer.alloc(count, 0x05)]);
    };
    assert.equal((decodeAmf0(array(65536))[0] as Amf0Value[]).length, 65536);
    assertAmf0Error(() => decodeAmf0(array(65537)), '65537 nulls');
  });

  it('an object with more properties than the limit', () => {
    const property = Buffer.concat([amf.key('k'), amf.null()]);
    const bytes = Buffer.concat([amf.objectStart(), Buffer.alloc(property.length * 70_000, property), amf.objectEnd()]);
    assertAmf0Error(() => decodeAmf0(bytes), '70 000 properties');
  });

  it('a command without a name is a CommandError, not a crash', () => {
    for (const payload of [Buffer.alloc(0), amf.number(1), amf.null(), Buffer.from([0x00])]) {
      assert.throws(
        () => decodeCommand(command(payload, MessageType.CommandAmf3)),
        (err: unknown) => err instanceof CommandError || err instanceof Amf0Error,
      );
    }
    assert.throws(() => decodeCommand(command(amf.number(1))), CommandError);
  });
});
