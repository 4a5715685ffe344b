/**
 * The bounded ZIP reader: stored and deflate entries, archives written by the real `zip`
 * program (with and without data descriptors), zip64 end records, and every refusal: unsafe
 * paths, duplicates, checksums, lies about sizes, zip bombs, encryption, unknown methods.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/bundles/crc32.js';
import { bufferSource, DEFAULT_ZIP_LIMITS, ZipArchive, ZipError, type ZipLimits } from '../../src/bundles/zip.js';
import { buildZip, referenceCrc32, type ZipInput } from './support.js';

const open = (data: Buffer, limits?: Partial<ZipLimits>) => ZipArchive.open(bufferSource(data), { ...DEFAULT_ZIP_LIMITS, ...limits });

async function refused(work: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof ZipError, `expected a ZipError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

const hasTool = (name: string) => spawnSync(name, ['-v'], { stdio: 'ignore' }).error === undefined;

describe('crc32', () => {
  it('matches the standard check value and a bitwise reference', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.alloc(0)), 0);
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) & 0xff));
    assert.equal(crc32(data), referenceCrc32(data));
    assert.equal(crc32(data.subarray(1000), crc32(data.subarray(0, 1000))), crc32(data));
  });
});

describe('ZipArchive', () => {
  it('lists entries and reads stored and deflated files, directories and empty files', async () => {
    const text = 'hello '.repeat(1000);
    const zip = buildZip([
      { name: 'Demo.app', directory: true },
      { name: 'Demo.app/readme.txt', data: text },
      { name: 'Demo.app/raw.bin', data: Buffer.from([1, 2, 3, 4]), method: 0 },
      { name: 'Demo.app/empty', data: '' },
      { name: 'Demo.app/ünïcödé.txt', data: 'utf-8 names' },
    ]);
    const archive = await open(zip);
    assert.deepEqual(
      archive.entries.map((e) => [e.name, e.isDirectory]),
      [
        ['Demo.app', true],
        ['Demo.app/readme.txt', false],
        ['Demo.app/raw.bin', false],
        ['Demo.app/empty', false],
        ['Demo.app/ünïcödé.txt', false],
      ],
    );
    assert.equal((await archive.read(archive.get('Demo.app/readme.txt')!)).toString(), text);
    assert.equal(archive.get('Demo.app/readme.txt')!.method, 8);
    assert.deepEqual([...(await archive.read(archive.get('Demo.app/raw.bin')!))], [1, 2, 3, 4]);
    assert.equal((await archive.read(archive.get('Demo.app/empty')!)).length, 0);
    assert.equal((await archive.read(archive.get('Demo.app/ünïcödé.txt')!)).toString(), 'utf-8 names');
    await refused(archive.read(archive.get('Demo.app')!), /not a regular file/);
  });

  it('writes fixtures that the real unzip accepts', { skip: !hasTool('unzip') && 'unzip is not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'zip-test-'));
    try {
      const file = join(dir, 'fixture.zip');
      writeFileSync(file, buildZip([{ name: 'a/b.txt', data: 'x'.repeat(500) }, { name: 'a/c.bin', data: Buffer.alloc(10, 7), method: 0 }], { comment: 'made in a test' }));
      const result = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /No errors detected/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads archives made by the real zip program, including streamed ones with data descriptors', { skip: !hasTool('zip') && 'zip is not installed' }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zip-test-'));
    try {
      const app = join(dir, 'Real.app');
      mkdirSync(join(app, 'en.lproj'), { recursive: true });
      const files: Record<string, Buffer> = {
        'Real.app/Info.plist': Buffer.from('<plist/>'.repeat(50)),
        'Real.app/en.lproj/InfoPlist.strings': Buffer.from('"CFBundleName" = "Real";'),
        'Real.app/Real': Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 31) & 0xff)),
      };
      for (const [path, data] of Object.entries(files)) writeFileSync(join(dir, path), data);

      const made = spawnSync('zip', ['-r', '-q', join(dir, 'real.zip'), 'Real.app'], { cwd: dir });
      assert.equal(made.status, 0, String(made.stderr));
      const streamed = spawnSync('sh', ['-c', 'zip -q -r - Real.app | cat > streamed.zip'], { cwd: dir });
      assert.equal(streamed.status, 0, String(streamed.stderr));

      for (const name of ['real.zip', 'streamed.zip']) {
        const archive = await open(readFileSync(join(dir, name)));
        for (const [path, data] of Object.entries(files)) {
          const entry = archive.get(path);
          assert.ok(entry, `${name} lists ${path}`);
          assert.deepEqual(await archive.read(entry), data, `${name}: ${path}`);
        }
        assert.ok(archive.get('Real.app/en.lproj')?.isDirectory);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads zip64 end records', async () => {
    const archive = await open(buildZip([{ name: 'x.txt', data: 'sixty-four' }], { zip64: true }));
    assert.equal((await archive.read(archive.get('x.txt')!)).toString(), 'sixty-four');
  });

  it('normalises ./ and doubled slashes in names', async () => {
    const archive = await open(buildZip([{ name: './Demo.app//Info.plist', data: 'x' }, { name: './', directory: true }]));
    assert.deepEqual(archive.entries.map((e) => e.name), ['Demo.app/Info.plist']);
  });

  for (const name of ['../evil.txt', 'Demo.app/../../evil.txt', '/etc/passwd', 'C:/Windows/evil.dll', 'Demo.app\\..\\evil', 'a/..', 'nul\0byte']) {
    it(`refuses the whole archive for the entry path ${JSON.stringify(name)}`, async () => {
      await refused(open(buildZip([{ name: 'Demo.app/Info.plist', data: 'ok' }, { name, data: 'bad' }])), /unsafe entry path/);
    });
  }

  it('refuses an archive that holds the same file twice', async () => {
    await refused(open(buildZip([{ name: 'a.txt', data: '1' }, { name: 'a.txt', data: '2' }])), /more than once/);
  });

  it('marks symbolic links and never reads them as files', async () => {
    const archive = await open(buildZip([{ name: 'Demo.app/Info.plist', data: '/etc/passwd', symlink: true, method: 0 }]));
    assert.equal(archive.get('Demo.app/Info.plist')!.isSymlink, true);
    await refused(archive.read(archive.get('Demo.app/Info.plist')!), /not a regular file/);
  });

  it('refuses an entry whose CRC-32 does not match', async () => {
    const archive = await open(buildZip([{ name: 'a.txt', data: 'checked', crc: 0x12345678 }]));
    await refused(archive.read(archive.get('a.txt')!), /CRC-32/);
  });

  it('refuses an entry that inflates to more, or less, than it declares', async () => {
    const more = await open(buildZip([{ name: 'a.txt', data: 'x'.repeat(10000), uncompressedSize: 100 }]));
    await refused(more.read(more.get('a.txt')!), /more than its declared size/);
    const less = await open(buildZip([{ name: 'a.txt', data: 'x'.repeat(100), uncompressedSize: 200 }]));
    await refused(less.read(less.get('a.txt')!), /not the declared 200/);
    const stored = await open(buildZip([{ name: 'a.bin', data: 'abc', method: 0, uncompressedSize: 4 }]));
    await refused(stored.read(stored.get('a.bin')!), /inconsistent sizes/);
  });

  it('refuses zip bombs: an entry beyond the byte limit, a ratio beyond the limit, a total beyond the limit', async () => {
    const zeros = Buffer.alloc(20 * 1024 * 1024);
    const bomb = await open(buildZip([{ name: 'bomb.bin', data: zeros }]));
    assert.ok(bomb.get('bomb.bin')!.compressedSize < 100_000);
    await refused(bomb.read(bomb.get('bomb.bin')!), /larger than the limit/);
    const roomy = await open(buildZip([{ name: 'bomb.bin', data: zeros }]), { maxEntryBytes: 64 * 1024 * 1024 });
    await refused(roomy.read(roomy.get('bomb.bin')!), /compressed more than 200:1/);
    const smallAsked = await open(buildZip([{ name: 'a.txt', data: 'y'.repeat(5000) }]));
    await refused(smallAsked.read(smallAsked.get('a.txt')!, 1000), /larger than the limit of 1000 bytes/);
    await refused(
      open(buildZip([{ name: 'a', data: 'x', method: 0, uncompressedSize: 0xfffffff0 }, { name: 'b', data: 'y', method: 0, uncompressedSize: 0xfffffff0 }])),
      /unpack to more than the limit/,
    );
  });

  it('refuses more entries than the limit', async () => {
    const inputs: ZipInput[] = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, data: 'x' }));
    await refused(open(buildZip(inputs), { maxEntries: 10 }), /11 entries, more than the limit of 10/);
    await open(buildZip(inputs.slice(0, 10)), { maxEntries: 10 });
  });

  it('refuses encrypted entries and compression methods other than stored and deflate', async () => {
    const archive = await open(buildZip([{ name: 'secret', data: 'x', encrypted: true }, { name: 'bzip2', data: 'y', method: 12 }]));
    await refused(archive.read(archive.get('secret')!), /encrypted/);
    await refused(archive.read(archive.get('bzip2')!), /compression method 12/);
  });

  it('refuses what is not a zip, and truncated or damaged archives, with a ZipError', async () => {
    await refused(open(Buffer.from('this is not a zip file at all, just some text')), /not a zip file/);
    await refused(open(Buffer.alloc(5)), /too short/);
    const zip = buildZip([{ name: 'a.txt', data: 'abc'.repeat(100) }]);
    await refused(open(zip.subarray(0, zip.length - 30)), /ZipError|not a zip|central directory|outside/);
    const damaged = Buffer.from(zip);
    damaged.writeUInt32LE(0xdeadbeef, zip.length - 22 - 46 - 'a.txt'.length);
    await refused(open(damaged), /central directory is damaged/);
    const badData = Buffer.from(zip);
    badData.fill(0xff, 30 + 5, 30 + 5 + 8);
    const archive = await open(badData);
    await refused(archive.read(archive.get('a.txt')!), /corrupt|CRC-32|inflates/);
  });

  it('refuses deflate data that is cut short', async () => {
    const data = deflateRawSync(Buffer.from('z'.repeat(3000)));
    const zip = buildZip([{ name: 'a.txt', data: 'z'.repeat(3000) }]);
    // Same archive, but the entry claims the deflate stream ends early.
    const short = Buffer.from(zip);
    short.writeUInt32LE(data.length - 3, zip.length - 22 - 46 - 5 + 20);
    const archive = await open(short);
    await refused(archive.read(archive.get('a.txt')!), /corrupt|CRC-32/);
  });
});
