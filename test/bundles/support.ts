/**
 * Builders for the bundle tests: a small ZIP writer (stored and deflate entries, symlinks,
 * zip64 end records, and ways to lie about sizes and checksums), minimal valid PNGs, and
 * property lists in both the XML and the binary form, so every fixture is made in the test.
 */
import { deflateRawSync, deflateSync } from 'node:zlib';

/** CRC-32 written out independently of src/bundles/crc32.ts, so fixtures do not share its bugs. */
export function referenceCrc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export interface ZipInput {
  name: string;
  data?: Buffer | string;
  /** 0 stored, 8 deflate (the default for files with data). */
  method?: number;
  directory?: boolean;
  symlink?: boolean;
  /** Lies written into the central directory. */
  crc?: number;
  uncompressedSize?: number;
  encrypted?: boolean;
}

export interface ZipOptions {
  /** Writes zip64 end records (and 0xFFFF/0xFFFFFFFF in the classic one). */
  zip64?: boolean;
  comment?: string;
}

export function buildZip(inputs: ZipInput[], options: ZipOptions = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const input of inputs) {
    const name = Buffer.from(input.directory && !input.name.endsWith('/') ? `${input.name}/` : input.name, 'utf8');
    const data = Buffer.from(input.data ?? '');
    const method = input.method ?? (input.directory || data.length === 0 ? 0 : 8);
    const stored = method === 8 ? deflateRawSync(data) : data;
    const crc = input.crc ?? referenceCrc32(data);
    const size = input.uncompressedSize ?? data.length;
    const flags = 0x0800 | (input.encrypted ? 1 : 0);
    const mode = input.directory ? 0o040755 : input.symlink ? 0o120777 : 0o100644;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, stored);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + stored.length;
  }
  const directory = Buffer.concat(centrals);
  const comment = Buffer.from(options.comment ?? '', 'utf8');
  const tail: Buffer[] = [];
  const directoryOffset = offset;
  if (options.zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(inputs.length), 24);
    record.writeBigUInt64LE(BigInt(inputs.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(directoryOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(directoryOffset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(options.zip64 ? 0xffff : inputs.length, 8);
  end.writeUInt16LE(options.zip64 ? 0xffff : inputs.length, 10);
  end.writeUInt32LE(options.zip64 ? 0xffffffff : directory.length, 12);
  end.writeUInt32LE(options.zip64 ? 0xffffffff : directoryOffset, 16);
  end.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...locals, directory, ...tail, end, comment]);
}

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(referenceCrc32(Buffer.concat([head.subarray(4), body])));
  return Buffer.concat([head, body, crc]);
}

/** A valid RGBA PNG of one colour: signature, IHDR, one zlib IDAT of unfiltered rows, IEND. */
export function png(width: number, height: number, rgba: [number, number, number, number] = [40, 120, 200, 255]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const row = Buffer.alloc(1 + width * 4);
  for (let x = 0; x < width; x++) row.set(rgba, 1 + x * 4);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The same image as Xcode's crushed CgBI variant would begin: a CgBI chunk before IHDR. */
export function cgbiPng(width: number, height: number): Buffer {
  const normal = png(width, height);
  return Buffer.concat([normal.subarray(0, 8), chunk('CgBI', Buffer.from([0x50, 0x00, 0x20, 0x02])), normal.subarray(8)]);
}

export type PlistInput = string | number | boolean | Date | Buffer | PlistInput[] | { [key: string]: PlistInput };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function xmlValue(value: PlistInput, indent: string): string {
  if (typeof value === 'string') return `${indent}<string>${escapeXml(value)}</string>`;
  if (typeof value === 'number') return Number.isInteger(value) ? `${indent}<integer>${value}</integer>` : `${indent}<real>${value}</real>`;
  if (typeof value === 'boolean') return `${indent}<${value}/>`;
  if (value instanceof Date) return `${indent}<date>${value.toISOString().replace(/\.\d{3}Z$/, 'Z')}</date>`;
  if (Buffer.isBuffer(value)) return `${indent}<data>${value.toString('base64')}</data>`;
  if (Array.isArray(value)) return `${indent}<array>\n${value.map((v) => xmlValue(v, `${indent}\t`)).join('\n')}\n${indent}</array>`;
  const entries = Object.entries(value).map(([k, v]) => `${indent}\t<key>${escapeXml(k)}</key>\n${xmlValue(v, `${indent}\t`)}`);
  return `${indent}<dict>\n${entries.join('\n')}\n${indent}</dict>`;
}

/** The XML form as Xcode writes it, DOCTYPE included. */
export function xmlPlist(value: PlistInput): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
    `<plist version="1.0">\n${xmlValue(value, '')}\n</plist>\n`
  );
}

/** The binary form (`bplist00`): every object written once, 2-byte references, 4-byte offsets. */
export function binaryPlist(value: PlistInput): Buffer {
  const objects: Buffer[] = [];
  const lengthMarker = (kind: number, length: number): Buffer => {
    if (length < 15) return Buffer.from([(kind << 4) | length]);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(length);
    return Buffer.concat([Buffer.from([(kind << 4) | 0x0f, 0x12]), size]);
  };
  const ref = (n: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  };
  const add = (v: PlistInput): number => {
    const index = objects.length;
    objects.push(Buffer.alloc(0));
    let body: Buffer;
    if (typeof v === 'string') {
      // ASCII strings as 0x5n, anything else as UTF-16BE (0x6n), as CoreFoundation does.
      if (/^[\x00-\x7f]*$/.test(v)) body = Buffer.concat([lengthMarker(0x5, v.length), Buffer.from(v, 'latin1')]);
      else body = Buffer.concat([lengthMarker(0x6, v.length), Buffer.from(v, 'utf16le').swap16()]);
    } else if (typeof v === 'number') {
      if (Number.isInteger(v)) {
        const b = Buffer.alloc(8);
        b.writeBigInt64BE(BigInt(v));
        body = Buffer.concat([Buffer.from([0x13]), b]);
      } else {
        const b = Buffer.alloc(8);
        b.writeDoubleBE(v);
        body = Buffer.concat([Buffer.from([0x23]), b]);
      }
    } else if (typeof v === 'boolean') {
      body = Buffer.from([v ? 0x09 : 0x08]);
    } else if (v instanceof Date) {
      const b = Buffer.alloc(8);
      b.writeDoubleBE((v.getTime() - Date.UTC(2001, 0, 1)) / 1000);
      body = Buffer.concat([Buffer.from([0x33]), b]);
    } else if (Buffer.isBuffer(v)) {
      body = Buffer.concat([lengthMarker(0x4, v.length), v]);
    } else if (Array.isArray(v)) {
      const refs = v.map(add);
      body = Buffer.concat([lengthMarker(0xa, refs.length), ...refs.map(ref)]);
    } else {
      const entries = Object.entries(v);
      const keys = entries.map(([k]) => add(k));
      const values = entries.map(([, x]) => add(x));
      body = Buffer.concat([lengthMarker(0xd, entries.length), ...keys.map(ref), ...values.map(ref)]);
    }
    objects[index] = body;
    return index;
  };
  const top = add(value);
  const offsets: number[] = [];
  let at = 8;
  for (const o of objects) {
    offsets.push(at);
    at += o.length;
  }
  const table = Buffer.alloc(objects.length * 4);
  offsets.forEach((o, i) => table.writeUInt32BE(o, i * 4));
  const trailer = Buffer.alloc(32);
  trailer[6] = 4;
  trailer[7] = 2;
  trailer.writeBigUInt64BE(BigInt(objects.length), 8);
  trailer.writeBigUInt64BE(BigInt(top), 16);
  trailer.writeBigUInt64BE(BigInt(at), 24);
  return Buffer.concat([Buffer.from('bplist00', 'latin1'), ...objects, table, trailer]);
}

export interface AppZipOptions {
  /** The folder the app sits in: '' (as the App.io plugin zips it) or 'Payload' (an IPA). */
  folder?: string;
  appName?: string;
  plist?: Record<string, PlistInput>;
  plistFormat?: 'xml' | 'binary';
  /** Extra files inside the .app folder, by path relative to it. */
  files?: Record<string, Buffer | string>;
  /** Leave out the standard icons and launch images. */
  noImages?: boolean;
}

export const DEMO_PLIST: Record<string, PlistInput> = {
  CFBundleIdentifier: 'com.example.demo',
  CFBundleShortVersionString: '1.2.4',
  CFBundleVersion: '42',
  CFBundleDisplayName: 'Demo App',
  CFBundleName: 'Demo',
  CFBundleExecutable: 'Demo',
  UIDeviceFamily: [1],
  CFBundleIconFiles: ['Icon.png', 'Icon@2x.png'],
  UISupportedInterfaceOrientations: ['UIInterfaceOrientationPortrait', 'UIInterfaceOrientationLandscapeLeft'],
};

/** A zipped simulator build: `<App>.app/` with Info.plist, an executable, icons and launch images. */
export function appZip(options: AppZipOptions = {}): Buffer {
  const app = `${options.folder ? `${options.folder}/` : ''}${options.appName ?? 'Demo'}.app`;
  const plist = options.plist ?? DEMO_PLIST;
  const images: Record<string, Buffer> = options.noImages
    ? {}
    : {
        'Icon.png': png(57, 57, [255, 0, 0, 255]),
        'Icon@2x.png': png(114, 114, [0, 255, 0, 255]),
        'Default.png': png(32, 48, [0, 0, 255, 255]),
        'Default@2x.png': png(64, 96, [0, 0, 128, 255]),
        'Default-Landscape.png': png(48, 32, [128, 0, 128, 255]),
      };
  const inputs: ZipInput[] = [
    { name: app, directory: true },
    { name: `${app}/Info.plist`, data: options.plistFormat === 'binary' ? binaryPlist(plist) : xmlPlist(plist) },
    { name: `${app}/Demo`, data: Buffer.alloc(4096, 0xcf) },
    { name: `${app}/PkgInfo`, data: 'APPL????', method: 0 },
    ...Object.entries({ ...images, ...options.files }).map(([path, data]) => ({ name: `${app}/${path}`, data })),
  ];
  return buildZip(inputs);
}
