import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../src/bus/memory.js';
import { RedisBus } from '../../src/bus/redis.js';
import type { Bus, BusEvent } from '../../src/bus/bus.js';

interface TestEvent extends BusEvent {
  type: 'test.happened';
  n: number;
}

function nextEvents(bus: Bus<TestEvent>, count: number): Promise<TestEvent[]> {
  return new Promise((resolve, reject) => {
    const seen: TestEvent[] = [];
    const timer = setTimeout(() => reject(new Error(`heard ${seen.length} of ${count} events`)), 5000);
    const stop = bus.subscribe((event) => {
      seen.push(event);
      if (seen.length === count) {
        clearTimeout(timer);
        stop();
        resolve(seen);
      }
    });
  });
}

describe('in-process bus', () => {
  it('delivers each event to every subscriber, in order', async () => {
    const bus = new MemoryBus<TestEvent>();
    const a = nextEvents(bus, 2);
    const b = nextEvents(bus, 2);
    await bus.publish({ type: 'test.happened', n: 1 });
    await bus.publish({ type: 'test.happened', n: 2 });
    assert.deepEqual((await a).map((e) => e.n), [1, 2]);
    assert.deepEqual((await b).map((e) => e.n), [1, 2]);
    await bus.close();
  });

  it('keeps delivering to the others when one subscriber throws, and reports the error', async () => {
    const errors: unknown[] = [];
    const bus = new MemoryBus<TestEvent>((err) => errors.push(err));
    bus.subscribe(() => {
      throw new Error('subscriber failed');
    });
    const heard = nextEvents(bus, 1);
    await bus.publish({ type: 'test.happened', n: 7 });
    assert.equal((await heard)[0]?.n, 7);
    assert.equal(errors.length, 1);
    await bus.close();
  });

  it('stops delivering to a subscriber that unsubscribed', async () => {
    const bus = new MemoryBus<TestEvent>();
    const heard: number[] = [];
    const stop = bus.subscribe((e) => heard.push(e.n));
    await bus.publish({ type: 'test.happened', n: 1 });
    await new Promise((r) => setTimeout(r, 10));
    stop();
    await bus.publish({ type: 'test.happened', n: 2 });
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(heard, [1]);
    await bus.close();
  });
});

const redisUrl = process.env.TEST_REDIS_URL;

describe('Redis bus', { skip: redisUrl ? false : 'TEST_REDIS_URL is not set' }, () => {
  it('carries events between two nodes, each hearing its own too', async () => {
    const channel = `streamdelta:test:${process.pid}:${Date.now()}`;
    const nodeA = await RedisBus.connect<TestEvent>(redisUrl!, { channel });
    const nodeB = await RedisBus.connect<TestEvent>(redisUrl!, { channel });
    try {
      const atA = nextEvents(nodeA, 2);
      const atB = nextEvents(nodeB, 2);
      await nodeA.publish({ type: 'test.happened', n: 1 });
      await nodeB.publish({ type: 'test.happened', n: 2 });
      assert.deepEqual((await atA).map((e) => e.n).sort(), [1, 2]);
      assert.deepEqual((await atB).map((e) => e.n).sort(), [1, 2]);
    } finally {
      await nodeA.close();
      await nodeB.close();
    }
  });

  it('ignores a message on its channel that is not JSON, reporting it, and keeps working', async () => {
    const channel = `streamdelta:test:${process.pid}:${Date.now()}:garbage`;
    const errors: unknown[] = [];
    const bus = await RedisBus.connect<TestEvent>(redisUrl!, { channel, onError: (err) => errors.push(err) });
    const { Redis } = await import('ioredis');
    const raw = new Redis(redisUrl!);
    try {
      const heard = nextEvents(bus, 1);
      await raw.publish(channel, '{not json');
      await bus.publish({ type: 'test.happened', n: 3 });
      assert.equal((await heard)[0]?.n, 3);
      assert.equal(errors.length, 1);
    } finally {
      raw.disconnect();
      await bus.close();
    }
  });
});
