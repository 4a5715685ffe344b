import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LocalBlobStore } from '../../src/blob/local.js';

describe('LocalBlobStore writers', () => {
  const root = mkdtempSync(join(tmpdir(), 'streamdelta-blob-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const blobs = new LocalBlobStore(root);

  it('shows an object written in parts only once it is committed, whole and in order', async () => {
    const writer = await blobs.createWriter('hls/s/b/seg-00001.ts');
    await writer.write([Buffer.from('one ')]);
    await writer.write([Buffer.from('two '), Buffer.from('three')]);
    assert.equal(await blobs.get('hls/s/b/seg-00001.ts'), undefined);
    await writer.commit();
    assert.equal((await blobs.get('hls/s/b/seg-00001.ts'))?.toString(), 'one two three');
  });

  it('leaves nothing behind when a writer is aborted', async () => {
    const writer = await blobs.createWriter('hls/s/b/seg-00002.ts');
    await writer.write([Buffer.from('partial')]);
    await writer.abort();
    assert.equal(await blobs.get('hls/s/b/seg-00002.ts'), undefined);
    assert.deepEqual(readdirSync(join(root, 'hls/s/b')), ['seg-00001.ts']);
  });

  it('refuses a key that climbs out of its root before writing anything', async () => {
    await assert.rejects(blobs.createWriter('../outside'), /invalid blob key/);
  });
});
