import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MediaArena } from '../../../src/media/wire/arena.js';

const KiB = 1024;

/** Allocates `length` bytes filled with `value`. */
function filled(arena: MediaArena, length: number, value: number): Buffer {
  return arena.allocate(length).fill(value);
}

describe('MediaArena', () => {
  it('hands out separate buffers, in order, that keep their bytes until recycled', () => {
    const arena = new MediaArena();
    const buffers = Array.from({ length: 40 }, (_, i) => filled(arena, 10 * KiB + i, i));
    buffers.forEach((b, i) => {
      assert.equal(b.length, 10 * KiB + i);
      assert.ok(b.every((x) => x === i), `buffer ${i} kept its bytes`);
    });
  });

  it('reuses the memory of what came before the earliest buffer still read, and never that buffer’s', () => {
    const arena = new MediaArena();
    const early = Array.from({ length: 30 }, (_, i) => filled(arena, 20 * KiB, i));
    const kept = filled(arena, 20 * KiB, 200);
    const later = filled(arena, 20 * KiB, 201);
    const before = arena.size;
    arena.recycleBefore([later, kept]);
    const again = Array.from({ length: 30 }, (_, i) => filled(arena, 20 * KiB, 100 + i));
    assert.equal(arena.size, before, 'the new buffers took recycled memory, nothing new');
    assert.ok(
      again.some((b) => early.some((e) => e.buffer === b.buffer)),
      'memory of the early buffers was handed out again',
    );
    assert.ok(kept.every((x) => x === 200), 'the kept buffer was not written over');
    assert.ok(later.every((x) => x === 201), 'nor the one after it');
  });

  it('recycles nothing when none of the kept buffers is its own', () => {
    const arena = new MediaArena();
    const first = filled(arena, 100 * KiB, 1);
    filled(arena, 100 * KiB, 2);
    const size = arena.size;
    arena.recycleBefore([Buffer.alloc(10)]);
    filled(arena, 100 * KiB, 3);
    assert.ok(arena.size > size, 'a new region was needed: nothing had been freed');
    assert.ok(first.every((x) => x === 1));
  });

  it('gives a payload larger than a region its own memory, dropped once passed', () => {
    const arena = new MediaArena();
    const big = filled(arena, 600 * KiB, 7);
    const small = filled(arena, 1 * KiB, 8);
    assert.notEqual(big.buffer, small.buffer);
    assert.ok(arena.size >= 600 * KiB);
    arena.recycleBefore([small]);
    assert.ok(arena.size < 600 * KiB, 'the large payload’s memory is no longer held');
    assert.ok(small.every((x) => x === 8));
  });

  it('holds about one GOP in the steady state, however many GOPs pass', () => {
    const arena = new MediaArena();
    const gopBytes = 600 * KiB;
    let peak = 0;
    for (let gop = 0; gop < 200; gop++) {
      const keyframe = filled(arena, 60 * KiB, gop & 0xff);
      arena.recycleBefore([keyframe]);
      for (let used = 60 * KiB; used < gopBytes; used += 9 * KiB) filled(arena, 9 * KiB, 1);
      peak = Math.max(peak, arena.size);
      assert.ok(keyframe.every((x) => x === (gop & 0xff)), `GOP ${gop}'s keyframe kept its bytes`);
    }
    // 200 GOPs are 117 MiB; the arena holds one and a few regions of slack.
    assert.ok(peak <= gopBytes + 512 * KiB, `peak ${peak} bytes`);
  });
});
