import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentSegments } from '../../../src/media/hls/recent-segments.js';

describe('RecentSegments', () => {
  it('keeps each segment as given (the recorder hands over a buffer of its own) and joins one given in parts', () => {
    const cache = new RecentSegments(1024, 3);
    const data = Buffer.from('segment one');
    cache.add('s', 'hls/s/b/seg-00001.ts', 1, data);
    assert.equal(cache.get('hls/s/b/seg-00001.ts'), data);
    cache.add('s', 'hls/s/b/seg-00002.ts', 2, [Buffer.from('two '), Buffer.from('parts')]);
    assert.equal(cache.get('hls/s/b/seg-00002.ts')?.toString(), 'two parts');
  });

  it('holds only the newest few segments of each stream', () => {
    const cache = new RecentSegments(1024, 2);
    for (let i = 1; i <= 4; i++) cache.add('a', `a/${i}`, i, Buffer.alloc(10, i));
    cache.add('b', 'b/1', 1, Buffer.alloc(10));
    assert.deepEqual([1, 2, 3, 4].map((i) => cache.get(`a/${i}`) !== undefined), [false, false, true, true]);
    assert.ok(cache.get('b/1'));
    assert.equal(cache.size, 30);
  });

  it('stays within its byte budget, the oldest segments going first', () => {
    const cache = new RecentSegments(100, 10);
    cache.add('a', 'a/1', 1, Buffer.alloc(40));
    cache.add('b', 'b/1', 1, Buffer.alloc(40));
    cache.add('c', 'c/1', 1, Buffer.alloc(40));
    assert.equal(cache.get('a/1'), undefined);
    assert.ok(cache.get('b/1') && cache.get('c/1'));
    assert.ok(cache.size <= 100);
    // A segment larger than the whole budget is not kept at all.
    cache.add('d', 'd/1', 1, Buffer.alloc(101));
    assert.equal(cache.get('d/1'), undefined);
    assert.ok(cache.get('c/1'));
  });

  it('forgets a stream that is no longer live', () => {
    const cache = new RecentSegments(1024, 3);
    cache.add('a', 'a/1', 1, Buffer.alloc(10));
    cache.add('b', 'b/1', 1, Buffer.alloc(10));
    cache.forget('a');
    assert.equal(cache.get('a/1'), undefined);
    assert.ok(cache.get('b/1'));
    assert.equal(cache.size, 10);
  });

  it('holds the newest by sequence number, whatever order they came in', () => {
    // A segment read back from the store for a player may come after newer ones were stored.
    const cache = new RecentSegments(1024, 3);
    for (const i of [5, 6, 3, 7, 4]) cache.add('a', `a/${i}`, i, Buffer.alloc(10, i));
    assert.deepEqual([3, 4, 5, 6, 7].map((i) => cache.get(`a/${i}`) !== undefined), [false, false, true, true, true]);
    // One older than all held, with no room, is not kept; one newer pushes the oldest out.
    cache.add('a', 'a/2', 2, Buffer.alloc(10));
    assert.equal(cache.get('a/2'), undefined);
    cache.add('a', 'a/8', 8, Buffer.alloc(10));
    assert.deepEqual([5, 6, 7, 8].map((i) => cache.get(`a/${i}`) !== undefined), [false, true, true, true]);
    assert.equal(cache.size, 30);
  });
});
