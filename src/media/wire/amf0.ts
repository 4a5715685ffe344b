/**
 * AMF0, the value encoding of RTMP commands and metadata. Decoding is strict and bounded:
 * malformed or truncated input, or nesting deeper than MAX_DEPTH, raises Amf0Error and never
 * reads outside the buffer.
 */
export type Amf0Value =
  | number
  | boolean
  | string
  | null
  | undefined
  | Date
  | Amf0Value[]
  | Amf0Object;

export interface Amf0Object {
  [key: string]: Amf0Value;
}

/** An ECMA array decodes to a plain object too; this marks one to encode as such (onMetaData). */
export class Amf0EcmaArray {
  constructor(readonly entries: Amf0Object) {}
}

export class Amf0Error extends Error {
  override readonly name = 'Amf0Error';
}

const enum Marker {
  Number = 0x00,
  Boolean = 0x01,
  String = 0x02,
  Object = 0x03,
  MovieClip = 0x04,
  Null = 0x05,
  Undefined = 0x06,
  Reference = 0x07,
  EcmaArray = 0x08,
  ObjectEnd = 0x09,
  StrictArray = 0x0a,
  Date = 0x0b,
  LongString = 0x0c,
  Unsupported = 0x0d,
  XmlDocument = 0x0f,
  TypedObject = 0x10,
  AvmPlus = 0x11,
}

const MAX_DEPTH = 32;
/** More entries than any real command or metadata object has; bounds the work per message. */
const MAX_ENTRIES = 65536;

class Reader {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  need(n: number): void {
    if (this.offset + n > this.buf.length) throw new Amf0Error('truncated AMF0 data');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }
  utf8(length: number): string {
    this.need(length);
    const s = this.buf.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return s;
  }
}

function readProperties(r: Reader, depth: number): Amf0Object {
  const out: Amf0Object = Object.create(null) as Amf0Object;
  for (let i = 0; ; i++) {
    if (i > MAX_ENTRIES) throw new Amf0Error('AMF0 object has too many properties');
    const key = r.utf8(r.u16());
    if (key === '') {
      // An empty key ends the object when the object-end marker follows.
      if (r.u8() !== Marker.ObjectEnd) throw new Amf0Error('AMF0 object end marker missing');
      return out;
    }
    out[key] = readValue(r, depth + 1);
  }
}

function readValue(r: Reader, depth: number): Amf0Value {
  if (depth > MAX_DEPTH) throw new Amf0Error('AMF0 nesting is too deep');
  const marker = r.u8();
  switch (marker) {
    case Marker.Number:
      return r.f64();
    case Marker.Boolean:
      return r.u8() !== 0;
    case Marker.String:
      return r.utf8(r.u16());
    case Marker.LongString:
      return r.utf8(r.u32());
    case Marker.Object:
      return readProperties(r, depth);
    case Marker.EcmaArray:
      r.u32(); // the count is a hint only; encoders get it wrong, so the end marker decides
      return readProperties(r, depth);
    case Marker.StrictArray: {
      const count = r.u32();
      if (count > MAX_ENTRIES) throw new Amf0Error('AMF0 array is too long');
      const items: Amf0Value[] = [];
      for (let i = 0; i < count; i++) items.push(readValue(r, depth + 1));
      return items;
    }
    case Marker.Date: {
      const ms = r.f64();
      r.u16(); // time zone, unused by the format in practice
      return new Date(ms);
    }
    case Marker.TypedObject:
      r.utf8(r.u16()); // class name
      return readProperties(r, depth);
    case Marker.Null:
      return null;
    case Marker.Undefined:
    case Marker.Unsupported:
      return undefined;
    case Marker.XmlDocument:
      return r.utf8(r.u32());
    default:
      throw new Amf0Error(`unsupported AMF0 marker 0x${marker.toString(16)}`);
  }
}

/** Every value in `buf`, in order. */
export function decodeAmf0(buf: Buffer): Amf0Value[] {
  const r = new Reader(buf);
  const values: Amf0Value[] = [];
  while (r.offset < buf.length) values.push(readValue(r, 0));
  return values;
}

function writeString(parts: Buffer[], s: string): void {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length > 0xffff) {
    const head = Buffer.alloc(5);
    head[0] = Marker.LongString;
    head.writeUInt32BE(bytes.length, 1);
    parts.push(head, bytes);
  } else {
    const head = Buffer.alloc(3);
    head[0] = Marker.String;
    head.writeUInt16BE(bytes.length, 1);
    parts.push(head, bytes);
  }
}

function writeKey(parts: Buffer[], key: string): void {
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length > 0xffff) throw new Amf0Error('AMF0 property name is too long');
  const head = Buffer.alloc(2);
  head.writeUInt16BE(bytes.length, 0);
  parts.push(head, bytes);
}

function writeProperties(parts: Buffer[], object: Amf0Object): void {
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined) continue;
    writeKey(parts, key);
    writeValue(parts, value);
  }
  parts.push(Buffer.from([0x00, 0x00, Marker.ObjectEnd]));
}

function writeValue(parts: Buffer[], value: Amf0Value | Amf0EcmaArray): void {
  if (typeof value === 'number') {
    const b = Buffer.alloc(9);
    b[0] = Marker.Number;
    b.writeDoubleBE(value, 1);
    parts.push(b);
  } else if (typeof value === 'boolean') {
    parts.push(Buffer.from([Marker.Boolean, value ? 1 : 0]));
  } else if (typeof value === 'string') {
    writeString(parts, value);
  } else if (value === null) {
    parts.push(Buffer.from([Marker.Null]));
  } else if (value === undefined) {
    parts.push(Buffer.from([Marker.Undefined]));
  } else if (value instanceof Date) {
    const b = Buffer.alloc(11);
    b[0] = Marker.Date;
    b.writeDoubleBE(value.getTime(), 1);
    parts.push(b);
  } else if (Array.isArray(value)) {
    const head = Buffer.alloc(5);
    head[0] = Marker.StrictArray;
    head.writeUInt32BE(value.length, 1);
    parts.push(head);
    for (const item of value) writeValue(parts, item);
  } else if (value instanceof Amf0EcmaArray) {
    const head = Buffer.alloc(5);
    head[0] = Marker.EcmaArray;
    head.writeUInt32BE(Object.keys(value.entries).length, 1);
    parts.push(head);
    writeProperties(parts, value.entries);
  } else {
    parts.push(Buffer.from([Marker.Object]));
    writeProperties(parts, value);
  }
}

export function encodeAmf0(...values: (Amf0Value | Amf0EcmaArray)[]): Buffer {
  const parts: Buffer[] = [];
  for (const value of values) writeValue(parts, value);
  return Buffer.concat(parts);
}
