/**
 * Property lists in both forms: every value type, the quirks of real files (DOCTYPE, comments,
 * entities, CDATA, UTF-16, self-closing elements), binary plists from Python's plistlib as an
 * independent writer, and refusals: external entities, cycles, bad references, deep nesting.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { parseBinaryPlist, parsePlist, parseXmlPlist, PlistError, type PlistValue } from '../../src/bundles/plist.js';
import { binaryPlist, xmlPlist, type PlistInput } from './support.js';

/** A parsed plist as plain JSON-friendly data, for deep comparison. */
function plain(value: PlistValue): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, plain(v)]));
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Date) return { date: value.toISOString() };
  if (Buffer.isBuffer(value)) return { data: value.toString('hex') };
  return value;
}

function expected(value: PlistInput): unknown {
  if (Array.isArray(value)) return value.map(expected);
  if (value instanceof Date) return { date: value.toISOString() };
  if (Buffer.isBuffer(value)) return { data: value.toString('hex') };
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expected(v)]));
  return value;
}

const SAMPLE: PlistInput = {
  CFBundleIdentifier: 'com.example.demo',
  CFBundleShortVersionString: '1.2.4',
  CFBundleDisplayName: 'Démo & <Co> ✓',
  UIDeviceFamily: [1, 2],
  UIRequiresFullScreen: true,
  UIStatusBarHidden: false,
  Negative: -42,
  Big: 2 ** 40,
  Ratio: 1.5,
  Built: new Date('2013-02-03T10:08:13Z'),
  Blob: Buffer.from([0, 1, 2, 250, 255]),
  Empty: {},
  EmptyList: [],
  Nested: { CFBundlePrimaryIcon: { CFBundleIconFiles: ['AppIcon60x60', 'AppIcon76x76'] } },
  LongString: 'x'.repeat(300),
};

function refused(work: () => unknown, message: RegExp): void {
  assert.throws(work, (err: unknown) => {
    assert.ok(err instanceof PlistError, `expected a PlistError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('XML plists', () => {
  it('reads every value type as Xcode writes it', () => {
    assert.deepEqual(plain(parsePlist(Buffer.from(xmlPlist(SAMPLE)))), expected(SAMPLE));
  });

  it('handles comments, CDATA, numeric entities, self-closing elements, hex integers and a UTF-16 BOM', () => {
    const text = `<?xml version="1.0" encoding="UTF-8"?>
<!-- made by hand -->
<plist version="1.0"><dict>
  <key>a</key><string><![CDATA[<raw & text>]]></string>
  <key>b</key><string>caf&#233; &#x2713; &quot;q&quot; &apos;s&apos;</string>
  <key>c</key><string/>
  <key>d</key><array/>
  <key>e</key><dict/>
  <key>f</key><integer>0x1F</integer>
  <key>g</key><real>-2.5e3</real>
  <!-- a comment between entries -->
  <key>h</key><true></true>
  <key>i</key><data>
    AAEC
    /w==
  </data>
</dict></plist>`;
    const parsed = plain(parseXmlPlist(text));
    assert.deepEqual(parsed, { a: '<raw & text>', b: 'café ✓ "q" \'s\'', c: '', d: [], e: {}, f: 31, g: -2500, h: true, i: { data: '000102ff' } });
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xmlPlist({ name: 'ünïcode' }), 'utf16le')]);
    assert.deepEqual(plain(parsePlist(utf16)), { name: 'ünïcode' });
  });

  it('keeps a key named __proto__ as an ordinary key', () => {
    const parsed = parseXmlPlist('<plist><dict><key>__proto__</key><string>x</string></dict></plist>');
    assert.ok(parsed instanceof Map);
    assert.equal(parsed.get('__proto__'), 'x');
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  it('never expands entities a DOCTYPE declares (no XXE, no billion laughs)', () => {
    refused(
      () => parseXmlPlist('<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><plist><string>&xxe;</string></plist>'),
      /unknown entity &xxe;/,
    );
    refused(
      () => parseXmlPlist('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><plist><string>&lol2;</string></plist>'),
      /unknown entity/,
    );
  });

  const bad: [string, string, RegExp][] = [
    ['an unknown element', '<plist><dict><key>a</key><blob>1</blob></dict></plist>', /unknown element <blob>/],
    ['a dictionary value without a key', '<plist><dict><string>a</string></dict></plist>', /has no <key>/],
    ['a key without a value', '<plist><dict><key>a</key></dict></plist>', /has no value/],
    ['an integer that is not one', '<plist><integer>12abc</integer></plist>', /is not a number/],
    ['a date that is not ISO 8601', '<plist><date>yesterday</date></plist>', /not an ISO 8601/],
    ['data that is not base64', '<plist><data>!!!</data></plist>', /not base64/],
    ['markup inside a string', '<plist><string>a<b/>c</string></plist>', /markup inside <string>/],
    ['an unterminated document', '<plist><dict><key>a</key><string>x', /ends inside <string>/],
    ['two top-level values', '<plist><string>a</string><string>b</string></plist>', /more than one value/],
    ['a bare ampersand', '<plist><string>a & b</string></plist>', /bare &/],
    ['an empty document', '', /holds no value/],
    ['an unterminated comment', '<plist><!-- no end', /unterminated comment/],
    ['content in <true/>', '<plist><true>yes</true></plist>', /has content/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what}`, () => refused(() => parseXmlPlist(text), message));
  }

  it('refuses nesting deeper than the limit', () => {
    refused(() => parseXmlPlist(`<plist>${'<array>'.repeat(100)}${'</array>'.repeat(100)}</plist>`), /nested too deeply/);
    refused(() => parseXmlPlist(`<plist>${'<array>'.repeat(100000)}</plist>`), /nested too deeply/);
  });
});

describe('binary plists', () => {
  it('reads every value type', () => {
    assert.deepEqual(plain(parseBinaryPlist(binaryPlist(SAMPLE))), expected(SAMPLE));
    assert.deepEqual(plain(parsePlist(binaryPlist(SAMPLE))), expected(SAMPLE));
  });

  it('reads what Python\'s plistlib writes (an independent writer)', { skip: spawnSync('python3', ['-c', 'import plistlib']).status !== 0 && 'python3 is not installed' }, () => {
    const script = `
import plistlib, sys, datetime
value = {
  "CFBundleIdentifier": "com.example.python",
  "CFBundleDisplayName": "Pythön ✓",
  "UIDeviceFamily": [1, 2],
  "Small": 7, "Medium": 300, "Large": 70000, "Huge": 2**40, "Negative": -5,
  "Real": 0.25, "Yes": True, "No": False,
  "When": datetime.datetime(2013, 2, 3, 10, 8, 13),
  "Blob": bytes([0, 1, 2, 3]),
  "Many": list(range(20)),
  "Shared": ["same", "same", "same"],
  "Nested": {"CFBundlePrimaryIcon": {"CFBundleIconFiles": ["Icon", "Icon-72"]}},
}
sys.stdout.buffer.write(plistlib.dumps(value, fmt=plistlib.FMT_BINARY))
`;
    const result = spawnSync('python3', ['-c', script]);
    assert.equal(result.status, 0, String(result.stderr));
    assert.deepEqual(plain(parsePlist(result.stdout)), {
      CFBundleIdentifier: 'com.example.python',
      CFBundleDisplayName: 'Pythön ✓',
      UIDeviceFamily: [1, 2],
      Small: 7,
      Medium: 300,
      Large: 70000,
      Huge: 2 ** 40,
      Negative: -5,
      Real: 0.25,
      Yes: true,
      No: false,
      When: { date: '2013-02-03T10:08:13.000Z' },
      Blob: { data: '00010203' },
      Many: Array.from({ length: 20 }, (_, i) => i),
      Shared: ['same', 'same', 'same'],
      Nested: { CFBundlePrimaryIcon: { CFBundleIconFiles: ['Icon', 'Icon-72'] } },
    });
  });

  /** A bplist00 of hand-made objects (1-byte refs and offsets), for the shapes a writer never makes. */
  function rawBplist(objects: number[][], top = 0): Buffer {
    const body: number[] = [];
    const offsets: number[] = [];
    for (const o of objects) {
      offsets.push(8 + body.length);
      body.push(...o);
    }
    const tableAt = 8 + body.length;
    const trailer = Buffer.alloc(32);
    trailer[6] = 1;
    trailer[7] = 1;
    trailer.writeBigUInt64BE(BigInt(objects.length), 8);
    trailer.writeBigUInt64BE(BigInt(top), 16);
    trailer.writeBigUInt64BE(BigInt(tableAt), 24);
    return Buffer.concat([Buffer.from('bplist00'), Buffer.from(body), Buffer.from(offsets), trailer]);
  }

  it('refuses a reference cycle', () => {
    refused(() => parseBinaryPlist(rawBplist([[0xa1, 0]])), /reference cycle/);
    refused(() => parseBinaryPlist(rawBplist([[0xa1, 1], [0xa1, 0]])), /reference cycle/);
  });

  it('reads shared objects once and keeps them', () => {
    const shared = parseBinaryPlist(rawBplist([[0xa3, 1, 1, 1], [0x51, 0x78]]));
    assert.deepEqual(shared, ['x', 'x', 'x']);
  });

  it('refuses references to objects that do not exist, keys that are not strings, and unknown types', () => {
    refused(() => parseBinaryPlist(rawBplist([[0xa1, 9]])), /does not exist/);
    refused(() => parseBinaryPlist(rawBplist([[0xd1, 1, 1], [0x10, 5]])), /key is not a string/);
    refused(() => parseBinaryPlist(rawBplist([[0x00]])), /not supported/);
    refused(() => parseBinaryPlist(rawBplist([[0xf0]])), /not supported/);
    refused(() => parseBinaryPlist(rawBplist([[0x5f, 0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]])), /too large|runs past/);
    refused(() => parseBinaryPlist(rawBplist([[0xaf, 0x12, 0x7f, 0xff, 0xff, 0xff]])), /runs past/);
  });

  it('refuses a damaged trailer or offset table, and what is not a plist', () => {
    const good = binaryPlist({ a: 'b' });
    const badSizes = Buffer.from(good);
    badSizes[good.length - 26] = 0;
    refused(() => parseBinaryPlist(badSizes), /trailer is damaged/);
    const badTable = Buffer.from(good);
    badTable.writeBigUInt64BE(BigInt(good.length), good.length - 8);
    refused(() => parseBinaryPlist(badTable), /offset table/);
    const badTop = Buffer.from(good);
    badTop.writeBigUInt64BE(99n, good.length - 16);
    refused(() => parseBinaryPlist(badTop), /no top object/);
    refused(() => parseBinaryPlist(Buffer.from('bplist00')), /not a binary plist/);
    refused(() => parsePlist(Buffer.from('bplist00 but far too short')), /not a binary plist/);
  });

  it('refuses nesting deeper than the limit', () => {
    const objects = Array.from({ length: 100 }, (_, i) => (i < 99 ? [0xa1, i + 1] : [0xa0]));
    refused(() => parseBinaryPlist(rawBplist(objects)), /nested too deeply/);
  });
});
