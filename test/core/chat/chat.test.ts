/**
 * core.chat: posting (levels, trimming, length, rate limit across concurrent posts), injected
 * messages (every field checked), history order and bounds, status lines on broadcast start and
 * end, viewer counts from the node holding the stream, the bus event, and survival of a restart.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RateLimitedError } from '../../../src/core/chat/rate.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../../../src/core/kernel/errors.js';
import type { DomainEvent } from '../../../src/core/kernel/events.js';
import type { AccountId, StreamId } from '../../../src/core/kernel/ids.js';
import { createTestDatabase, databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const UNKNOWN_STREAM = '7217b0b6-d735-4ba9-bda8-419b1b397ede' as StreamId;

async function account(server: TestServer, username: string): Promise<AccountId> {
  return (await server.running.core.accounts.create({ username, password: 'correct horse battery' })).id;
}

async function stream(server: TestServer, owner: AccountId): Promise<StreamId> {
  return (await server.running.core.streams.create(owner)).id;
}

async function chatRows(server: TestServer): Promise<string> {
  const db = server.running.store.db;
  return JSON.stringify([await db.selectFrom('chat_messages').selectAll().execute(), await db.selectFrom('chat_rooms').selectAll().execute()]);
}

/** Resolves with the first bus event that `match` accepts, or fails after `ms`. */
function nextEvent(server: TestServer, match: (e: DomainEvent) => boolean, ms = 5000): Promise<DomainEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error('no matching event'));
    }, ms);
    const stop = server.running.core.ctx.bus.subscribe((event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      stop();
      resolve(event);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const kind of databaseKinds()) {
  describe(`core.chat on ${kind}`, () => {
    let server: TestServer;
    let owner: AccountId;
    let stranger: AccountId;
    before(async () => {
      server = await startTestServer(kind, { chatMaxLength: '20', chatRate: '3/2', nodeId: 'chat-node-a', chatViewcountInterval: '1' });
      owner = await account(server, 'chatowner');
      stranger = await account(server, 'chatstranger');
    });
    after(() => server.close());

    it('stores an owner\'s post trimmed, numbers it, publishes it, and history returns it', async () => {
      const { chat } = server.running.core;
      const id = await stream(server, owner);
      const heard = nextEvent(server, (e) => e.type === 'chat.message' && e.streamId === id);
      const message = await chat.post(id, owner, { type: 'text', text: '  hello there \n' });
      assert.equal(message.id, 1);
      assert.equal(message.kind, 'text');
      assert.equal(message.text, 'hello there');
      assert.deepEqual(message.from, { name: 'chatowner', accountId: owner, picture: null });
      assert.equal(message.network.name, 'streamdelta');
      assert.match(message.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const event = await heard;
      assert.deepEqual(event, { type: 'chat.message', streamId: id, message });
      const emote = await chat.post(id, owner, { type: 'emote', text: 'waves' });
      assert.equal(emote.id, 2);
      assert.deepEqual(await chat.history(id, 10), [message, emote]);
    });

    it('refuses posts from a user without chat level 2, an unknown stream, and bad input, storing nothing', async () => {
      const { chat } = server.running.core;
      const id = await stream(server, owner);
      const before = await chatRows(server);
      await assert.rejects(chat.post(id, stranger, { type: 'text', text: 'hi' }), ForbiddenError);
      await assert.rejects(chat.post(UNKNOWN_STREAM, owner, { type: 'text', text: 'hi' }), ForbiddenError);
      const bad: [unknown, string][] = [
        [{ type: 'text', text: '   ' }, 'text'],
        [{ type: 'text', text: '' }, 'text'],
        [{ type: 'text', text: 'x'.repeat(21) }, 'text'],
        [{ type: 'text', text: 42 }, 'text'],
        [{ type: 'text' }, 'text'],
        [{ type: 'shout', text: 'hi' }, 'type'],
        [{ text: 'hi' }, 'type'],
      ];
      for (const [input, field] of bad) {
        await assert.rejects(chat.post(id, owner, input as never), (err: unknown) => {
          assert.ok(err instanceof ValidationError, String(err));
          assert.ok(field in err.fields, `${JSON.stringify(input)}: ${JSON.stringify(err.fields)}`);
          assert.match(err.message, new RegExp(`^Invalid chat message: .*${field} `));
          return true;
        });
      }
      assert.equal(await chatRows(server), before);
      // The limit counts characters, not UTF-16 units: 20 emoji fit.
      const emoji = await chat.post(id, owner, { type: 'text', text: '😀'.repeat(20) });
      assert.equal(emoji.text, '😀'.repeat(20));
    });

    it('lets one user post 3 messages per 2 s to a stream, even when posts race, then again after the span', async () => {
      const { chat } = server.running.core;
      const id = await stream(server, owner);
      const other = await stream(server, owner);
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => chat.post(id, owner, { type: 'text', text: `m${i}` })));
      const accepted = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(accepted.length, 3);
      assert.equal(refused.length, 3);
      for (const r of refused) {
        assert.ok(r.reason instanceof RateLimitedError, String(r.reason));
        assert.ok(r.reason.retryAfter >= 1 && r.reason.retryAfter <= 2, String(r.reason.retryAfter));
        assert.match(r.reason.message, /at most 3 in 2 s/);
      }
      // Numbers have no gaps: refused posts took none.
      assert.deepEqual((await chat.history(id, 10)).map((m) => m.id), [1, 2, 3]);
      // The limit is per stream, and injected messages do not count.
      await chat.post(other, owner, { type: 'text', text: 'elsewhere' });
      await chat.inject(id, { network: 'discord', from: { name: 'bot' }, type: 'text', text: 'bridged' });
      await assert.rejects(chat.post(id, owner, { type: 'text', text: 'again' }), RateLimitedError);
      await sleep(2100);
      const later = await chat.post(id, owner, { type: 'text', text: 'later' });
      assert.equal(later.id, 5);
    });

    it('stores an injected message with every optional field', async () => {
      const { chat } = server.running.core;
      const id = await stream(server, owner);
      const message = await chat.inject(id, {
        network: 'discord',
        network_icon: '<svg></svg>',
        network_icon_css: 'background-color:#000;',
        from: { name: ' Some guy ', picture: 'https://example.com/profile.png' },
        type: 'emote',
        text: 'dances',
        markdown: '*dances*',
        extra: 'ignored',
      });
      assert.deepEqual(
        { ...message, at: undefined },
        {
          streamId: id,
          id: 1,
          kind: 'emote',
          from: { name: 'Some guy', accountId: null, picture: 'https://example.com/profile.png' },
          network: { name: 'discord', icon: '<svg></svg>', iconCss: 'background-color:#000;' },
          text: 'dances',
          markdown: '*dances*',
          status: null,
          at: undefined,
        },
      );
      const minimal = await chat.inject(id, { network: 'irc', from: { name: 'x', picture: null }, type: 'text', text: 'hi', markdown: null });
      assert.equal(minimal.markdown, null);
      assert.equal(minimal.from.picture, null);
      assert.deepEqual(await chat.history(id, 5), [message, minimal]);
    });

    it('refuses injected messages field by field, storing nothing', async () => {
      const { chat } = server.running.core;
      const id = await stream(server, owner);
      const good = { network: 'discord', from: { name: 'guy' }, type: 'text', text: 'hi' };
      const bad: [unknown, string][] = [
        [null, 'body'],
        [[good], 'body'],
        ['text', 'body'],
        [{ ...good, network: undefined }, 'network'],
        [{ ...good, network: 7 }, 'network'],
        [{ ...good, network: 'n'.repeat(65) }, 'network'],
        [{ ...good, from: undefined }, 'from'],
        [{ ...good, from: 'guy' }, 'from'],
        [{ ...good, from: {} }, 'from.name'],
        [{ ...good, from: { name: ' ' } }, 'from.name'],
        [{ ...good, from: { name: 'g'.repeat(129) } }, 'from.name'],
        [{ ...good, from: { name: 'guy', picture: 'javascript:alert(1)' } }, 'from.picture'],
        [{ ...good, from: { name: 'guy', picture: 5 } }, 'from.picture'],
        [{ ...good, type: 'shout' }, 'type'],
        [{ ...good, type: undefined }, 'type'],
        [{ ...good, text: undefined }, 'text'],
        [{ ...good, text: 'x'.repeat(21) }, 'text'],
        [{ ...good, text: ['hi'] }, 'text'],
        [{ ...good, network_icon: 'i'.repeat(16385) }, 'network_icon'],
        [{ ...good, network_icon_css: 'c'.repeat(1025) }, 'network_icon_css'],
        [{ ...good, markdown: 'm'.repeat(81) }, 'markdown'],
        [{ ...good, markdown: {} }, 'markdown'],
      ];
      const before = await chatRows(server);
      for (const [body, field] of bad) {
        await assert.rejects(chat.inject(id, body), (err: unknown) => {
          assert.ok(err instanceof ValidationError, String(err));
          assert.ok(field in err.fields, `${JSON.stringify(body)?.slice(0, 80)}: ${JSON.stringify(err.fields)}`);
          assert.match(err.message, /^Invalid message: /);
          return true;
        });
      }
      // Every problem is named at once.
      await assert.rejects(chat.inject(id, {}), (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.deepEqual(Object.keys(err.fields).sort(), ['from', 'network', 'text', 'type']);
        return true;
      });
      await assert.rejects(chat.inject(UNKNOWN_STREAM, good), NotFoundError);
      await assert.rejects(chat.inject('not-a-uuid' as StreamId, good), NotFoundError);
      assert.equal(await chatRows(server), before);
    });

    it('returns the last messages oldest first, bounded', async () => {
      const { chat } = server.running.core;
      const id = await stream(server, owner);
      for (let i = 1; i <= 7; i++) await chat.inject(id, { network: 'irc', from: { name: 'n' }, type: 'text', text: `t${i}` });
      assert.deepEqual((await chat.history(id, 5)).map((m) => m.text), ['t3', 't4', 't5', 't6', 't7']);
      assert.deepEqual((await chat.history(id, 1000)).map((m) => m.id), [1, 2, 3, 4, 5, 6, 7]);
      assert.deepEqual(await chat.history(UNKNOWN_STREAM, 5), []);
      for (const limit of [0, -1, 1.5, 1001]) await assert.rejects(chat.history(id, limit), ValidationError);
    });

    it('writes status lines when a broadcast starts and ends, once', async () => {
      const { chat, broadcasts } = server.running.core;
      const id = await stream(server, owner);
      await broadcasts.start(id);
      await broadcasts.end(id);
      const history = await chat.history(id, 10);
      assert.deepEqual(
        history.map((m) => [m.id, m.kind, m.status, m.text]),
        [
          [1, 'status', 'live', 'The stream is live.'],
          [2, 'status', 'ended', 'The stream has ended.'],
        ],
      );
    });

    it('sends viewer counts of streams live on this node only', async () => {
      const { broadcasts } = server.running.core;
      const here = await stream(server, owner);
      const elsewhere = await stream(server, owner);
      await broadcasts.start(here, 'chat-node-a');
      await broadcasts.start(elsewhere, 'chat-node-b');
      const counts: DomainEvent[] = [];
      const stop = server.running.core.ctx.bus.subscribe((e) => {
        if (e.type === 'chat.viewcount' && (e.streamId === here || e.streamId === elsewhere)) counts.push(e);
      });
      await sleep(2500);
      stop();
      await broadcasts.end(here);
      await broadcasts.end(elsewhere);
      assert.ok(counts.length >= 1, 'no viewer count');
      for (const e of counts) {
        assert.ok(e.type === 'chat.viewcount');
        assert.equal(e.streamId, here);
        assert.equal(e.viewers, 0);
      }
      // Counts are not stored: the history has the two status lines only.
      assert.deepEqual((await server.running.core.chat.history(here, 10)).map((m) => m.kind), ['status', 'status']);
    });
  });

  describe(`chat across a restart on ${kind}`, () => {
    it('keeps the messages and goes on numbering', async () => {
      const database = await createTestDatabase(kind);
      const dataDir = mkdtempSync(join(tmpdir(), 'streamdelta-chat-'));
      try {
        let server = await startTestServer(kind, {}, { database, dataDir });
        const owner = await account(server, 'restartowner');
        const id = await stream(server, owner);
        const first = await server.running.core.chat.post(id, owner, { type: 'text', text: 'before' });
        await server.close();
        server = await startTestServer(kind, {}, { database, dataDir });
        try {
          assert.deepEqual(await server.running.core.chat.history(id, 10), [first]);
          const second = await server.running.core.chat.post(id, owner, { type: 'text', text: 'after' });
          assert.equal(second.id, 2);
        } finally {
          await server.close();
        }
      } finally {
        await database.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
