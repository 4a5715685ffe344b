/**
 * The callback outbox delivered by several nodes sharing one database: each callback is claimed
 * by the node that delivers it, so a receiver hears it once; a claim that lapses (its node died)
 * lets another node deliver it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryBus } from '../../src/bus/memory.js';
import { loadConfig } from '../../src/config.js';
import { EgressPolicy } from '../../src/core/egress/policy.js';
import type { CoreContext } from '../../src/core/kernel/context.js';
import type { DomainEvent } from '../../src/core/kernel/events.js';
import { CALLBACK_CLAIM_MS, CallbackOutbox } from '../../src/core/webhooks/outbox.js';
import { CallbackDispatcher } from '../../src/jobs/callback-dispatcher.js';
import { Store } from '../../src/store/store.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';

function contextOf(store: Store, now: () => string): CoreContext {
  return {
    store,
    bus: new MemoryBus<DomainEvent>(),
    now,
    onBackgroundError: (err) => {
      throw err;
    },
  };
}

const quietLog = { warn: () => {}, error: (obj: object, msg: string) => assert.fail(`${msg}: ${JSON.stringify(obj)}`) };

for (const kind of databaseKinds()) {
  describe(`callbacks delivered by two nodes on one ${kind} database`, () => {
    let database: TestDatabase;
    const stores: Store[] = [];
    let receiver: Server;
    let url: string;
    /** How many times the receiver heard each callback, by its body's `n`. */
    const heard = new Map<number, number>();

    before(async () => {
      database = await createTestDatabase(kind);
      for (let i = 0; i < 2; i++) {
        stores.push(Store.open(loadConfig({ databaseUrl: database.url }, {}).database));
      }
      await stores[0]!.migrate();
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        req.on('end', () => {
          const { n } = JSON.parse(body) as { n: number };
          heard.set(n, (heard.get(n) ?? 0) + 1);
          // Answered after a moment, as a real receiver is: both nodes are at work meanwhile.
          setTimeout(() => res.end('ok'), 20);
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    });

    after(async () => {
      await new Promise((resolve) => receiver.close(resolve));
      for (const store of stores) await store.close();
      await database.drop();
    });

    it('delivers each callback once, whichever node takes it', async () => {
      const outboxes = stores.map((store) => new CallbackOutbox(contextOf(store, () => new Date().toISOString())));
      const count = 40;
      for (let n = 0; n < count; n++) await outboxes[n % 2]!.enqueueJson(url, 'test.event', { n });
      const dispatchers = outboxes.map(
        (outbox) => new CallbackDispatcher(outbox, new EgressPolicy(true), quietLog, { startDelayMs: 0, sweepMs: 60_000, timeoutMs: 5000 }),
      );
      for (const d of dispatchers) d.start();
      const deadline = Date.now() + 20_000;
      while (heard.size < count && Date.now() < deadline) await sleep(20);
      // Time for a second delivery of anything, had a node taken what the other had.
      await sleep(300);
      for (const d of dispatchers) await d.stop();
      assert.equal(heard.size, count, 'every callback was delivered');
      const twice = [...heard].filter(([, times]) => times > 1).map(([n]) => n);
      assert.deepEqual(twice, [], 'no callback was delivered twice');
      for (const store of stores) {
        const left = await store.db.selectFrom('callbacks').select('id').where('delivered_at', 'is', null).execute();
        assert.equal(left.length, 0);
      }
    });

    it('leaves a claimed callback to its node until the claim lapses, then another node takes it', async () => {
      let clock = Date.parse('2030-01-01T00:00:00.000Z');
      const now = () => new Date(clock).toISOString();
      const [first, second] = stores.map((store) => new CallbackOutbox(contextOf(store, now)));
      await first!.enqueueJson(url, 'test.event', { n: 1000 });
      const taken = await first!.due(10);
      assert.equal(taken.length, 1);
      assert.deepEqual(await second!.due(10), [], 'held by the first node');
      assert.deepEqual(await first!.due(10), [], 'not handed out twice by the same node either');
      // The other node sleeps until the claim ends, not in a busy loop.
      assert.equal(await second!.msUntilNextDue(), CALLBACK_CLAIM_MS);
      // The first node dies without a word; its claim lapses.
      clock += CALLBACK_CLAIM_MS;
      const retaken = await second!.due(10);
      assert.deepEqual(
        retaken.map((c) => c.id),
        taken.map((c) => c.id),
      );
      await second!.delivered(retaken[0]!);
      assert.equal(await second!.msUntilNextDue(), undefined, 'nothing waits once delivered');
    });

    it('frees a claim when a delivery fails, for the retry to come due', async () => {
      let clock = Date.parse('2031-01-01T00:00:00.000Z');
      const now = () => new Date(clock).toISOString();
      const [first, second] = stores.map((store) => new CallbackOutbox(contextOf(store, now)));
      await first!.enqueueJson(url, 'test.event', { n: 2000 });
      const [callback] = await first!.due(10);
      await first!.failed(callback!, 'HTTP 500');
      // Due after the first backoff (2 s), no longer after the claim.
      assert.equal(await second!.msUntilNextDue(), 2000);
      clock += 2000;
      const [retry] = await second!.due(10);
      assert.equal(retry?.id, callback!.id);
      assert.equal(retry?.attempts, 1);
      await second!.delivered(retry!);
    });
  });
}
