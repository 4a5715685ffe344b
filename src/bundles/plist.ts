/**
 * Property lists, as found in iOS bundles: the XML form (`<plist><dict>…`) and the binary form
 * (`bplist00`) that Xcode writes by default. Both parsers are strict and bounded: nesting depth,
 * object references and every offset are checked, no external entity or DTD is ever read, and
 * bad input ends in a PlistError, the only error this module throws for bad input.
 */

export type PlistValue = string | number | boolean | Date | Buffer | PlistValue[] | PlistDict;
/** A dictionary: a Map, so a key such as `__proto__` is just a key. */
export type PlistDict = Map<string, PlistValue>;

export class PlistError extends Error {
  override readonly name = 'PlistError';
}

/** Deeper nesting than any real Info.plist; keeps recursion far from the stack limit. */
export const MAX_PLIST_DEPTH = 64;

const BINARY_MAGIC = 'bplist0';

/** Parses either form, told apart by the binary form's magic. */
export function parsePlist(data: Uint8Array): PlistValue {
  if (data.length >= 8 && Buffer.from(data.subarray(0, 7)).toString('latin1') === BINARY_MAGIC) return parseBinaryPlist(data);
  return parseXmlPlist(decodeText(data));
}

export function isDict(value: PlistValue | undefined): value is PlistDict {
  return value instanceof Map;
}

function decodeText(data: Uint8Array): string {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2, bytes.length - (bytes.length % 2)));
    return swapped.swap16().toString('utf16le');
  }
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

// ---------------------------------------------------------------------------------------------
// Binary: https://opensource.apple.com/source/CF/CF-1153.18/CFBinaryPList.c

const APPLE_EPOCH_MS = Date.UTC(2001, 0, 1);

export function parseBinaryPlist(input: Uint8Array): PlistValue {
  const data = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (data.length < 8 + 32 || data.toString('latin1', 0, 7) !== BINARY_MAGIC) throw new PlistError('not a binary plist');
  const trailer = data.length - 32;
  const offsetSize = data[trailer + 6]!;
  const refSize = data[trailer + 7]!;
  if (offsetSize < 1 || offsetSize > 8 || refSize < 1 || refSize > 8) throw new PlistError('binary plist trailer is damaged');

  const uint = (at: number, size: number, what: string): number => {
    if (at < 0 || at + size > data.length) throw new PlistError(`binary plist ${what} lies outside the file`);
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + data[at + i]!;
    if (!Number.isSafeInteger(value)) throw new PlistError(`binary plist ${what} is too large`);
    return value;
  };

  const objectCount = uint(trailer + 8, 8, 'object count');
  const top = uint(trailer + 16, 8, 'top object');
  const tableAt = uint(trailer + 24, 8, 'offset table');
  if (objectCount < 1 || top >= objectCount) throw new PlistError('binary plist has no top object');
  if (tableAt < 8 || tableAt + objectCount * offsetSize > trailer) throw new PlistError('binary plist offset table lies outside the file');

  const offsetOf = (ref: number): number => {
    if (ref >= objectCount) throw new PlistError('binary plist refers to an object that does not exist');
    const at = uint(tableAt + ref * offsetSize, offsetSize, 'offset');
    if (at < 8 || at >= tableAt) throw new PlistError('binary plist object lies outside the object area');
    return at;
  };

  const parsed = new Map<number, PlistValue>();
  const open = new Set<number>();

  /** The length that follows a marker: in its low nibble, or as an int object after it when 0xF. */
  const lengthAt = (at: number): { length: number; start: number } => {
    const low = data[at]! & 0x0f;
    if (low !== 0x0f) return { length: low, start: at + 1 };
    const marker = data[at + 1];
    if (marker === undefined || (marker & 0xf0) !== 0x10 || (marker & 0x0f) > 3) throw new PlistError('binary plist length is damaged');
    const size = 1 << (marker & 0x0f);
    return { length: uint(at + 2, size, 'length'), start: at + 2 + size };
  };

  const bytesAt = (start: number, length: number): Buffer => {
    if (start + length > tableAt) throw new PlistError('binary plist object runs past the object area');
    return data.subarray(start, start + length);
  };

  const refsAt = (start: number, count: number): number[] => {
    if (start + count * refSize > tableAt) throw new PlistError('binary plist container runs past the object area');
    const refs: number[] = [];
    for (let i = 0; i < count; i++) refs.push(uint(start + i * refSize, refSize, 'reference'));
    return refs;
  };

  const parse = (ref: number, depth: number): PlistValue => {
    const done = parsed.get(ref);
    if (done !== undefined) return done;
    if (open.has(ref)) throw new PlistError('binary plist contains a reference cycle');
    if (depth > MAX_PLIST_DEPTH) throw new PlistError('binary plist is nested too deeply');
    const at = offsetOf(ref);
    const marker = data[at]!;
    const kind = marker >> 4;
    const low = marker & 0x0f;
    let value: PlistValue;
    open.add(ref);
    switch (kind) {
      case 0x0:
        if (marker === 0x08) value = false;
        else if (marker === 0x09) value = true;
        else throw new PlistError(`binary plist object type 0x${marker.toString(16).padStart(2, '0')} is not supported`);
        break;
      case 0x1: {
        if (low > 4) throw new PlistError('binary plist integer has a bad size');
        const size = 1 << low;
        const bytes = bytesAt(at + 1, size);
        // 8 bytes are signed; 16 bytes hold an unsigned 64-bit value in their low half.
        if (size === 8) value = Number(bytes.readBigInt64BE(0));
        else if (size === 16) value = Number(bytes.readBigUInt64BE(8));
        else value = bytes.readUIntBE(0, size);
        break;
      }
      case 0x2:
        if (low === 2) value = bytesAt(at + 1, 4).readFloatBE(0);
        else if (low === 3) value = bytesAt(at + 1, 8).readDoubleBE(0);
        else throw new PlistError('binary plist real has a bad size');
        break;
      case 0x3:
        if (marker !== 0x33) throw new PlistError('binary plist date is damaged');
        value = new Date(APPLE_EPOCH_MS + bytesAt(at + 1, 8).readDoubleBE(0) * 1000);
        break;
      case 0x4: {
        const { length, start } = lengthAt(at);
        value = Buffer.from(bytesAt(start, length));
        break;
      }
      case 0x5: {
        const { length, start } = lengthAt(at);
        value = bytesAt(start, length).toString('latin1');
        break;
      }
      case 0x6: {
        const { length, start } = lengthAt(at);
        value = Buffer.from(bytesAt(start, length * 2)).swap16().toString('utf16le');
        break;
      }
      case 0x7: {
        const { length, start } = lengthAt(at);
        value = bytesAt(start, length).toString('utf8');
        break;
      }
      case 0x8:
        value = bytesAt(at + 1, low + 1).readUIntBE(0, Math.min(low + 1, 6));
        break;
      case 0xa:
      case 0xc: {
        const { length, start } = lengthAt(at);
        value = refsAt(start, length).map((r) => parse(r, depth + 1));
        break;
      }
      case 0xd: {
        const { length, start } = lengthAt(at);
        const keys = refsAt(start, length);
        const values = refsAt(start + length * refSize, length);
        const dict: PlistDict = new Map();
        keys.forEach((keyRef, i) => {
          const key = parse(keyRef, depth + 1);
          if (typeof key !== 'string') throw new PlistError('binary plist dictionary key is not a string');
          dict.set(key, parse(values[i]!, depth + 1));
        });
        value = dict;
        break;
      }
      default:
        throw new PlistError(`binary plist object type 0x${marker.toString(16).padStart(2, '0')} is not supported`);
    }
    open.delete(ref);
    parsed.set(ref, value);
    return value;
  };

  return parse(top, 0);
}

// ---------------------------------------------------------------------------------------------
// XML

type XmlToken =
  | { kind: 'open'; name: string; selfClosing: boolean }
  | { kind: 'close'; name: string }
  | { kind: 'text'; text: string };

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(?:([^;&\s<]{1,10});)?/g, (_, name: string | undefined) => {
    if (name === undefined) throw new PlistError('XML plist has a bare & in its text');
    if (Object.hasOwn(ENTITIES, name)) return ENTITIES[name]!;
    const numeric = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(name);
    if (numeric) {
      const code = numeric[1] !== undefined ? parseInt(numeric[1], 16) : parseInt(numeric[2]!, 10);
      if (code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)) return String.fromCodePoint(code);
    }
    throw new PlistError(`XML plist uses an unknown entity &${name};`);
  });
}

/** The XML tokens of a plist: elements and text, with comments, processing instructions and the DOCTYPE skipped. */
class XmlTokens {
  private at = 0;

  constructor(private readonly text: string) {}

  private fail(why: string): never {
    throw new PlistError(`XML plist ${why} (at character ${this.at})`);
  }

  private skipPast(marker: string, what: string): void {
    const end = this.text.indexOf(marker, this.at);
    if (end < 0) this.fail(`has an unterminated ${what}`);
    this.at = end + marker.length;
  }

  next(): XmlToken | undefined {
    const t = this.text;
    for (;;) {
      if (this.at >= t.length) return undefined;
      if (t[this.at] !== '<') {
        const end = t.indexOf('<', this.at);
        const raw = t.slice(this.at, end < 0 ? t.length : end);
        this.at = end < 0 ? t.length : end;
        return { kind: 'text', text: decodeEntities(raw) };
      }
      if (t.startsWith('<?', this.at)) {
        this.skipPast('?>', 'processing instruction');
        continue;
      }
      if (t.startsWith('<!--', this.at)) {
        this.skipPast('-->', 'comment');
        continue;
      }
      if (t.startsWith('<![CDATA[', this.at)) {
        const start = this.at + 9;
        this.skipPast(']]>', 'CDATA section');
        return { kind: 'text', text: t.slice(start, this.at - 3) };
      }
      if (t.startsWith('<!DOCTYPE', this.at)) {
        // The DTD is never read: an internal subset is skipped whole, so no entity it declares is expanded.
        const bracket = t.indexOf('[', this.at);
        const close = t.indexOf('>', this.at);
        if (bracket >= 0 && (close < 0 || bracket < close)) {
          this.skipPast(']', 'DOCTYPE');
        }
        this.skipPast('>', 'DOCTYPE');
        continue;
      }
      const match = /^<(\/?)([A-Za-z_][\w.-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(t.slice(this.at, this.at + 512));
      if (!match) this.fail('has a malformed tag');
      this.at += match[0].length;
      const [, slash, name, , selfClose] = match;
      if (slash) {
        if (selfClose) this.fail('has a malformed closing tag');
        return { kind: 'close', name: name! };
      }
      return { kind: 'open', name: name!, selfClosing: selfClose === '/' };
    }
  }
}

class XmlPlistParser {
  private readonly tokens: XmlTokens;
  private pending: XmlToken | undefined;

  constructor(text: string) {
    this.tokens = new XmlTokens(text);
  }

  private take(): XmlToken | undefined {
    const token = this.pending ?? this.tokens.next();
    this.pending = undefined;
    return token;
  }

  /** The next token that is not whitespace text. */
  private element(): XmlToken | undefined {
    for (;;) {
      const token = this.take();
      if (token?.kind === 'text' && token.text.trim() === '') continue;
      return token;
    }
  }

  /** The text of a simple element up to its closing tag. */
  private textUntil(name: string): string {
    let text = '';
    for (;;) {
      const token = this.take();
      if (token === undefined) throw new PlistError(`XML plist ends inside <${name}>`);
      if (token.kind === 'text') text += token.text;
      else if (token.kind === 'close' && token.name === name) return text;
      else throw new PlistError(`XML plist has markup inside <${name}>`);
    }
  }

  document(): PlistValue {
    let first = this.element();
    let wrapped = false;
    if (first?.kind === 'open' && first.name === 'plist') {
      wrapped = true;
      if (first.selfClosing) throw new PlistError('XML plist is empty');
      first = this.element();
    }
    if (first?.kind !== 'open') throw new PlistError('XML plist holds no value');
    const value = this.value(first, 0);
    if (wrapped) {
      const close = this.element();
      if (close?.kind !== 'close' || close.name !== 'plist') throw new PlistError('XML plist holds more than one value');
    }
    if (this.element() !== undefined) throw new PlistError('XML plist has content after its end');
    return value;
  }

  private value(tag: XmlToken & { kind: 'open' }, depth: number): PlistValue {
    if (depth > MAX_PLIST_DEPTH) throw new PlistError('XML plist is nested too deeply');
    const text = (): string => (tag.selfClosing ? '' : this.textUntil(tag.name));
    switch (tag.name) {
      case 'dict': {
        const dict: PlistDict = new Map();
        if (tag.selfClosing) return dict;
        for (;;) {
          const key = this.element();
          if (key?.kind === 'close' && key.name === 'dict') return dict;
          if (key?.kind !== 'open' || key.name !== 'key') throw new PlistError('XML plist dictionary entry has no <key>');
          const name = key.selfClosing ? '' : this.textUntil('key');
          const next = this.element();
          if (next?.kind !== 'open') throw new PlistError(`XML plist key ${JSON.stringify(name)} has no value`);
          dict.set(name, this.value(next, depth + 1));
        }
      }
      case 'array': {
        const items: PlistValue[] = [];
        if (tag.selfClosing) return items;
        for (;;) {
          const next = this.element();
          if (next?.kind === 'close' && next.name === 'array') return items;
          if (next?.kind !== 'open') throw new PlistError('XML plist array is malformed');
          items.push(this.value(next, depth + 1));
        }
      }
      case 'string':
        return text();
      case 'integer': {
        const raw = text().trim();
        const match = /^([+-]?)(?:0x([0-9A-Fa-f]+)|(\d+))$/.exec(raw);
        if (!match) throw new PlistError(`XML plist integer ${JSON.stringify(raw.slice(0, 40))} is not a number`);
        const magnitude = match[2] !== undefined ? parseInt(match[2], 16) : Number(match[3]);
        return match[1] === '-' ? -magnitude : magnitude;
      }
      case 'real': {
        const raw = text().trim();
        const value = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw) ? Number(raw) : /^[+-]?inf(inity)?$/i.test(raw) ? (raw.startsWith('-') ? -Infinity : Infinity) : /^nan$/i.test(raw) ? NaN : undefined;
        if (value === undefined) throw new PlistError(`XML plist real ${JSON.stringify(raw.slice(0, 40))} is not a number`);
        return value;
      }
      case 'true':
      case 'false':
        if (text().trim() !== '') throw new PlistError(`XML plist <${tag.name}> has content`);
        return tag.name === 'true';
      case 'date': {
        const raw = text().trim();
        const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(raw) ? Date.parse(raw) : NaN;
        if (Number.isNaN(time)) throw new PlistError(`XML plist date ${JSON.stringify(raw.slice(0, 40))} is not an ISO 8601 UTC date`);
        return new Date(time);
      }
      case 'data': {
        const raw = text().replace(/\s+/g, '');
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw)) throw new PlistError('XML plist <data> is not base64');
        return Buffer.from(raw, 'base64');
      }
      default:
        throw new PlistError(`XML plist has an unknown element <${tag.name}>`);
    }
  }
}

export function parseXmlPlist(text: string): PlistValue {
  return new XmlPlistParser(text).document();
}
