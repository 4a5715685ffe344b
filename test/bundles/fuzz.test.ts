/**
 * Random and mutated input for the ZIP reader, the plist parsers and the bundle reader: they
 * may refuse it only with their own typed errors (never a RangeError, a TypeError or a hang),
 * whatever the bytes. A fixed seed keeps failures reproducible; FUZZ_SEED picks another.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BundleError, readAppBundle } from '../../src/bundles/app-bundle.js';
import { parsePlist, PlistError } from '../../src/bundles/plist.js';
import { bufferSource, ZipArchive, ZipError } from '../../src/bundles/zip.js';
import { appZip, binaryPlist, DEMO_PLIST, xmlPlist } from './support.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20130203);

/** mulberry32: small, fast and good enough to drive mutations. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(input: Buffer, rand: () => number): Buffer {
  const data = Buffer.from(input);
  const int = (n: number) => Math.floor(rand() * n);
  const kind = int(6);
  const edits = 1 + int(8);
  if (kind === 0) return data.subarray(0, int(data.length));
  if (kind === 1) return Buffer.concat([data.subarray(0, int(data.length)), data.subarray(int(data.length))]);
  if (data.length < 4) return data;
  for (let i = 0; i < edits; i++) {
    const at = int(data.length);
    if (kind === 2) data[at] = int(256);
    else if (kind === 3) data[at] = data[at]! ^ (1 << int(8));
    else if (kind === 4) data.fill(0xff, at, Math.min(data.length, at + 1 + int(8)));
    else data.writeUInt32LE(int(2 ** 32), Math.min(at, data.length - 4));
  }
  return data;
}

function randomBytes(rand: () => number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => Math.floor(rand() * 256)));
}

async function expectOnly(work: () => Promise<unknown>, allowed: (new (...args: never[]) => Error)[], input: Buffer): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (allowed.some((type) => err instanceof type)) return;
    assert.fail(`unexpected ${String(err)} for input ${input.toString('base64').slice(0, 200)}…\n${(err as Error).stack}`);
  }
}

const ZIP_ERRORS = [ZipError, PlistError, BundleError];

describe(`fuzzing the bundle readers (seed ${SEED})`, () => {
  it('the ZIP and bundle readers refuse mutated app zips only with their typed errors', async () => {
    const rand = random(SEED);
    const seeds = [appZip(), appZip({ plistFormat: 'binary', folder: 'Payload' })];
    for (let i = 0; i < 1500; i++) {
      const input = mutate(seeds[i % seeds.length]!, rand);
      await expectOnly(
        async () => {
          const archive = await ZipArchive.open(bufferSource(input));
          for (const entry of archive.entries) await archive.read(entry).catch((err: unknown) => {
            if (!(err instanceof ZipError)) throw err;
          });
          await readAppBundle(archive);
        },
        ZIP_ERRORS,
        input,
      );
    }
  });

  it('the ZIP reader refuses random bytes, with and without a zip tail, only with ZipError', async () => {
    const rand = random(SEED + 1);
    const tail = appZip().subarray(-22);
    for (let i = 0; i < 1500; i++) {
      const body = randomBytes(rand, Math.floor(rand() * 400));
      const input = i % 2 === 0 ? body : Buffer.concat([body, mutate(tail, rand)]);
      await expectOnly(async () => {
        const archive = await ZipArchive.open(bufferSource(input));
        for (const entry of archive.entries) await archive.read(entry);
      }, [ZipError], input);
    }
  });

  it('the plist parsers refuse mutated and random input only with PlistError', async () => {
    const rand = random(SEED + 2);
    const seeds = [binaryPlist(DEMO_PLIST), Buffer.from(xmlPlist(DEMO_PLIST)), binaryPlist({ a: [1, 2.5, true, new Date(0), Buffer.from('x'), { b: 'ü' }] })];
    for (let i = 0; i < 4000; i++) {
      const input = i % 10 === 9 ? Buffer.concat([Buffer.from('bplist00'), randomBytes(rand, 40 + Math.floor(rand() * 100))]) : mutate(seeds[i % seeds.length]!, rand);
      await expectOnly(async () => parsePlist(input), [PlistError], input);
    }
  });
});
