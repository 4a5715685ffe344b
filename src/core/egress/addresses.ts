import { isIP } from 'node:net';

/**
 * Which IP addresses a server-side fetch of a user's URL may connect to. Anything that is not
 * plainly a public unicast address is refused: loopback, private and shared networks,
 * link-local (cloud metadata lives at 169.254.169.254), multicast, documentation and reserved
 * ranges, and IPv6 forms that carry such an IPv4 address (mapped, NAT64, 6to4).
 */
export interface AddressClass {
  public: boolean;
  /** What the address is, for a message: "a loopback address". */
  label: string;
}

type Range = [prefix: number[], bits: number, label: string];

const V4_RANGES: Range[] = [
  [[0], 8, 'a "this network" address'],
  [[10], 8, 'a private network address'],
  [[100, 64], 10, 'a shared (carrier-grade NAT) address'],
  [[127], 8, 'a loopback address'],
  [[169, 254], 16, 'a link-local address'],
  [[172, 16], 12, 'a private network address'],
  [[192, 0, 0], 24, 'a reserved address'],
  [[192, 0, 2], 24, 'a documentation address'],
  [[192, 88, 99], 24, 'a reserved address'],
  [[192, 168], 16, 'a private network address'],
  [[198, 18], 15, 'a benchmarking address'],
  [[198, 51, 100], 24, 'a documentation address'],
  [[203, 0, 113], 24, 'a documentation address'],
  [[224], 4, 'a multicast address'],
  [[240], 4, 'a reserved address'],
];

const V6_RANGES: Range[] = [
  [[], 128, 'the unspecified address'],
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128, 'a loopback address'],
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64, 'a discard address'],
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'a documentation address'],
  [[0x20, 0x01], 23, 'a reserved address'],
  [[0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48, 'a local NAT64 address'],
  [[0xfc], 7, 'a private network (unique local) address'],
  [[0xfe, 0x80], 10, 'a link-local address'],
  [[0xfe, 0xc0], 10, 'a site-local address'],
  [[0xff], 8, 'a multicast address'],
];

function inRange(bytes: number[], [prefix, bits]: Range): boolean {
  for (let i = 0; i < bits; i++) {
    const bit = (byte: number | undefined) => ((byte ?? 0) >> (7 - (i % 8))) & 1;
    if (bit(bytes[i >> 3]) !== bit(prefix[i >> 3])) return false;
  }
  return true;
}

function v4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/** The 16 bytes of a valid IPv6 address (`::` shorthand and a trailing dotted IPv4 allowed). */
function v6Bytes(address: string): number[] {
  let text = address.replace(/%.*$/, '').toLowerCase();
  let tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail = v4Bytes(dotted[1]!);
    text = text.slice(0, dotted.index);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const split = (part: string) => (part === '' ? [] : part.split(':'));
  const gap = text.indexOf('::');
  const before = split(gap < 0 ? text : text.slice(0, gap));
  const after = gap < 0 ? [] : split(text.slice(gap + 2));
  const zeros = gap < 0 ? 0 : 8 - tail.length / 2 - before.length - after.length;
  const groups = [...before, ...Array<string>(zeros).fill('0'), ...after];
  return [...groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]), ...tail];
}

function classifyV4(bytes: number[]): AddressClass {
  const range = V4_RANGES.find((r) => inRange(bytes, r));
  return range ? { public: false, label: range[2] } : { public: true, label: 'a public address' };
}

export function classifyAddress(address: string): AddressClass {
  const family = isIP(address.replace(/%.*$/, ''));
  if (family === 4) return classifyV4(v4Bytes(address));
  if (family !== 6) return { public: false, label: 'not an IP address' };
  const bytes = v6Bytes(address);
  // IPv6 forms that reach an IPv4 address are judged by that address.
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return classifyV4(bytes.slice(12));
  if (zeros(0, 12) && !zeros(12, 16) && !(zeros(12, 15) && bytes[15] === 1)) return classifyV4(bytes.slice(12));
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return classifyV4(bytes.slice(12));
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return classifyV4(bytes.slice(2, 6));
  const range = V6_RANGES.find((r) => inRange(bytes, r));
  return range ? { public: false, label: range[2] } : { public: true, label: 'a public address' };
}
