/**
 * StreamAPI requests: key, sig and rid on every call; the signature exactly as the document
 * and its clients compute it; request ids strictly increasing as big integers, even when
 * requests race; GET with a query string and POST with a form; XML replies with the
 * document's codes, HTTP 200 either way.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  assertCode,
  assertOk,
  call,
  Code,
  createSession,
  descendants,
  md5Hex,
  newSite,
  nextRid,
  parseXml,
  sendRaw,
  signedParams,
  streamApiSig,
  text,
  type SiteCredentials,
} from './support.js';

/*
 * Hand-computed vectors. Key and secret (32 hex digits each, like the ones sites get):
 *   key    = 5d41402abc4b2a76b9719d911017c592
 *   secret = 7d793037a0760186574b0282f2f435e7
 * Each signature is md5 over the values in the order of the parameter NAMES, then the secret,
 * then the rid, computed outside this code with `printf '%s' '…' | md5sum`:
 *
 * 1. session/create, fme_key=f1b8221d2b69, is_video_private=true, site_user_id=1000016132,
 *    username=alice, rid=1262304000000123. Names in order: fme_key, is_video_private, key,
 *    site_user_id, username:
 *      md5("f1b8221d2b69" + "true" + key + "1000016132" + "alice" + secret + "1262304000000123")
 *      = 720b1b9595e7943a8f010f1be84d427d
 * 2. video/list (MyBandStock's call), end_date=1262304000000, public_hostid=1000016132,
 *    start_date=1230768000000, rid=1262304000000124:
 *      md5(end_date + key + public_hostid + start_date + secret + rid)
 *      = md5("1262304000000" + key + "1000016132" + "1230768000000" + secret + "1262304000000124")
 *      = d547f3de20c9801e76393c480a71e7a6
 * 3. session/create (MyBandStock's call), is_video_private=true, rid=1262304000000125:
 *      md5(is_video_private + key + secret + rid) = 7e02cf4572ad40fe763a94f21a654efa
 * 4. session/live, public_hostid=1000016132, rid=1262304000000126:
 *      md5(key + public_hostid + secret + rid) = c388cf5b4ed81804160ee3cd90ca985c
 */
const VECTOR_KEY = '5d41402abc4b2a76b9719d911017c592';
const VECTOR_SECRET = '7d793037a0760186574b0282f2f435e7';
interface Vector {
  path: string;
  method: 'GET' | 'POST';
  params: Record<string, string>;
  rid: string;
  sig: string;
}
const VECTORS: Vector[] = [
  {
    path: '/session/create',
    method: 'POST',
    params: { fme_key: 'f1b8221d2b69', is_video_private: 'true', site_user_id: '1000016132', username: 'alice' },
    rid: '1262304000000123',
    sig: '720b1b9595e7943a8f010f1be84d427d',
  },
  {
    path: '/video/list',
    method: 'GET',
    params: { end_date: '1262304000000', public_hostid: '1000016132', start_date: '1230768000000' },
    rid: '1262304000000124',
    sig: 'd547f3de20c9801e76393c480a71e7a6',
  },
  { path: '/session/create', method: 'POST', params: { is_video_private: 'true' }, rid: '1262304000000125', sig: '7e02cf4572ad40fe763a94f21a654efa' },
  { path: '/session/live', method: 'GET', params: { public_hostid: '1000016132' }, rid: '1262304000000126', sig: 'c388cf5b4ed81804160ee3cd90ca985c' },
];

describe('the test signer', () => {
  it('reproduces the hand-computed vectors', () => {
    for (const v of VECTORS) {
      assert.equal(streamApiSig({ ...v.params, key: VECTOR_KEY }, VECTOR_SECRET, v.rid), v.sig, v.path);
    }
    // The concatenation spelled out for vector 2, so the order is visible here too.
    assert.equal(md5Hex(`1262304000000${VECTOR_KEY}10000161321230768000000${VECTOR_SECRET}1262304000000124`), VECTORS[1]!.sig);
  });
});

for (const kind of databaseKinds()) {
  describe(`StreamAPI signing and request ids on ${kind}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind, { publicUrl: 'http://media.example.test' });
    });
    after(() => server.close());

    /** The number of the site's sessions, read from the database. */
    async function sessionCount(siteId: string): Promise<number> {
      const rows = await server.running.store.db.selectFrom('streams').select('id').where('tenant', '=', siteId).execute();
      return rows.length;
    }

    describe('the document vectors', () => {
      it('a site with the example key and secret accepts the exact hand-signed requests', async () => {
        const site = await newSite(server, 'vector site');
        await server.running.store.db.updateTable('api_clients').set({ client_id: VECTOR_KEY, secret: VECTOR_SECRET }).where('id', '=', site.id).execute();
        const wire = (i: number) => ({ ...VECTORS[i]!.params, key: VECTOR_KEY, rid: VECTORS[i]!.rid, sig: VECTORS[i]!.sig });

        const created = assertOk(await sendRaw(server.url, VECTORS[0]!.path, wire(0), { method: 'POST' }));
        assert.equal(text(created, 'public_hostid'), '1000016132', 'site_user_id is the public host id');
        assert.match(text(created, 'private_hostid'), /^[A-Z0-9]+$/);

        const videos = assertOk(await sendRaw(server.url, VECTORS[1]!.path, wire(1), { method: 'GET' }));
        assert.equal(descendants(videos, 'video').length, 0);

        const second = assertOk(await sendRaw(server.url, VECTORS[2]!.path, wire(2), { method: 'POST' }));
        assert.match(text(second, 'public_hostid'), /^\d+$/);
        assert.notEqual(text(second, 'public_hostid'), '1000016132');

        const live = assertOk(await sendRaw(server.url, VECTORS[3]!.path, wire(3), { method: 'GET' }));
        assert.equal(text(live, 'public_hostid'), '1000016132');
        assert.equal(text(live, 'username'), 'alice');
        assert.equal(text(live, 'private_hostid'), text(created, 'private_hostid'));

        // The same requests again are replays.
        assertCode(await sendRaw(server.url, VECTORS[3]!.path, wire(3), { method: 'GET' }), Code.InvalidRid);
      });
    });

    describe('transport', () => {
      let site: SiteCredentials;
      before(async () => {
        site = await newSite(server, 'transport');
      });

      it('GET with a query string and POST with a form body both work, for every call', async () => {
        const session = await createSession(server, site, { username: 'carol' });
        const calls: [string, Record<string, string>][] = [
          ['/session/create', {}],
          ['/session/live', { public_hostid: session.publicHostId }],
          ['/session/live/list', {}],
          ['/host/id/public', { private_hostid: session.privateHostId }],
          ['/host/id/private', { public_hostid: session.publicHostId }],
          ['/video/list', {}],
          ['/theme/list', {}],
        ];
        for (const [path, params] of calls) {
          for (const method of ['GET', 'POST'] as const) {
            const reply = await call(server, site, path, params, { method });
            assertCode(reply, Code.Ok);
            assert.match(reply.text, /^<\?xml version="1\.0"/, `${method} ${path} starts with an XML declaration`);
          }
        }
      });

      it('a POST with its parameters in the query string and no body works', async () => {
        assertOk(await call(server, site, '/session/live/list', {}, { method: 'POST', postInQuery: true }));
      });

      it('the parameter names clients spell public_host_id / private_host_id are read too', async () => {
        const session = await createSession(server, site);
        const byPublic = assertOk(await call(server, site, '/host/id/private', { public_host_id: session.publicHostId }));
        assert.equal(text(byPublic, 'private_hostid'), session.privateHostId);
        const byPrivate = assertOk(await call(server, site, '/host/id/public', { private_host_id: session.privateHostId }));
        assert.equal(text(byPrivate, 'public_hostid'), session.publicHostId);
      });

      it('a parameter given twice (query and body) is refused, not guessed', async () => {
        const wire = signedParams(site, {});
        const response = await fetch(`${server.url}/service/session/live/list?key=${wire.key}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(wire).toString(),
        });
        assert.equal(response.status, 200);
        const body = await response.text();
        const code = Number(text(parseXml(body), 'code'));
        assert.notEqual(code, 0, body);
      });
    });

    describe('key and sig', () => {
      let site: SiteCredentials & { id: string };
      before(async () => {
        site = await newSite(server, 'signing');
      });

      it('a request without key, sig or rid gets code 1, HTTP 200', async () => {
        for (const missing of ['key', 'sig', 'rid']) {
          for (const method of ['GET', 'POST'] as const) {
            assertCode(await call(server, site, '/session/live/list', {}, { method, omit: [missing] }), Code.MissingParameter);
          }
        }
        // An empty value is as good as none.
        const wire = signedParams(site, {});
        assertCode(await sendRaw(server.url, '/session/live/list', { ...wire, sig: '' }), Code.MissingParameter);
        assertCode(await sendRaw(server.url, '/session/live/list', {}), Code.MissingParameter);
      });

      it('an unknown API key gets code 200', async () => {
        const stranger = { key: 'ffffffffffffffffffffffffffffffff', secret: site.secret };
        assertCode(await call(server, stranger, '/session/live/list'), Code.InvalidKey);
        assertCode(await call(server, { key: `${site.key}x`, secret: site.secret }, '/session/live/list'), Code.InvalidKey);
      });

      it('a revoked key gets code 200, even correctly signed', async () => {
        const revoked = await newSite(server, 'revoked');
        assertOk(await call(server, revoked, '/session/live/list'));
        await server.running.core.sites.revoke(revoked.key);
        assertCode(await call(server, revoked, '/session/live/list'), Code.InvalidKey);
        assertCode(await call(server, revoked, '/session/create', {}, { method: 'POST' }), Code.InvalidKey);
      });

      it('signatures computed any other way get code 202', async () => {
        const rid = nextRid();
        const params = { key: site.key, public_hostid: '999', end_date: '9', start_date: '1' };
        const values = (names: string[]) => names.map((n) => params[n as keyof typeof params]).join('');
        const wrong: Record<string, string> = {
          'another secret': streamApiSig(params, 'not-the-secret', rid),
          'names unsorted (as given)': md5Hex(values(['key', 'public_hostid', 'end_date', 'start_date']) + site.secret + rid),
          'ordered by value instead of name': md5Hex([...Object.values(params)].sort().join('') + site.secret + rid),
          'without the key': md5Hex(values(['end_date', 'public_hostid', 'start_date']) + site.secret + rid),
          'rid before the secret': md5Hex(values(['end_date', 'key', 'public_hostid', 'start_date']) + rid + site.secret),
          'rid among the sorted values': streamApiSig({ ...params, rjd: rid }, site.secret, ''),
          'without the rid': md5Hex(values(['end_date', 'key', 'public_hostid', 'start_date']) + site.secret),
          'the sha1 length': 'a'.repeat(40),
          'not hex': 'z'.repeat(32),
          'truncated': streamApiSig(params, site.secret, rid).slice(0, 31),
        };
        for (const [how, sig] of Object.entries(wrong)) {
          const reply = await sendRaw(server.url, '/video/list', { ...params, rid, sig });
          assert.equal(reply.code, Code.InvalidSig, `${how}: ${reply.text}`);
          assertCode(reply, Code.InvalidSig);
        }
        // The right signature with the same rid goes through (none of the above spent it): the
        // call itself then answers 8, as host 999 does not exist, and the rid is spent.
        const right = { ...params, rid, sig: streamApiSig(params, site.secret, rid) };
        assertCode(await sendRaw(server.url, '/video/list', right), Code.NoUser);
        assertCode(await sendRaw(server.url, '/video/list', right), Code.InvalidRid);
      });

      it('a changed parameter, an added one or a dropped one breaks the signature', async () => {
        const session = await createSession(server, site);
        const other = await createSession(server, site);
        const signed = signedParams(site, { public_hostid: session.publicHostId });
        assertCode(await sendRaw(server.url, '/host/id/private', { ...signed, public_hostid: other.publicHostId }), Code.InvalidSig);
        assertCode(await sendRaw(server.url, '/host/id/private', { ...signed, extra: 'x' }), Code.InvalidSig);
        const { public_hostid: _dropped, ...withoutHost } = signedParams(site, { public_hostid: session.publicHostId, foo: 'bar' });
        assertCode(await sendRaw(server.url, '/host/id/private', { ...withoutHost }), Code.InvalidSig);
        // Extra parameters are fine when they are signed.
        const extra = assertOk(await call(server, site, '/host/id/private', { public_hostid: session.publicHostId, foo: 'bar' }));
        assert.equal(text(extra, 'private_hostid'), session.privateHostId);
      });

      it('optional parameters left empty and unsent (MyBandStock signs them as empty strings) still match', async () => {
        const rid = nextRid();
        // md5(end_date + key + public_hostid + start_date + secret + rid) with three empty values.
        const sig = md5Hex(`${''}${site.key}${''}${''}${site.secret}${rid}`);
        assertOk(await sendRaw(server.url, '/video/list', { key: site.key, rid, sig }));
      });

      it('a refused request changes nothing and does not spend its rid', async () => {
        const before = await server.snapshot();
        const rid = nextRid();
        const forged = signedParams(site, { username: 'mallory' }, { rid, sig: md5Hex('forged') });
        assertCode(await sendRaw(server.url, '/session/create', forged, { method: 'POST' }), Code.InvalidSig);
        const unknownKey = signedParams({ key: 'f'.repeat(32), secret: 'x' }, { username: 'mallory' }, { rid });
        assertCode(await sendRaw(server.url, '/session/create', unknownKey, { method: 'POST' }), Code.InvalidKey);
        assertCode(await call(server, site, '/session/create', { username: 'mallory' }, { method: 'POST', omit: ['sig'] }), Code.MissingParameter);
        assert.equal(await server.snapshot(), before);
        // The forged request's rid is still free for the site.
        assertOk(await call(server, site, '/session/create', { username: 'mallory' }, { method: 'POST', rid }));
      });
    });

    describe('rid', () => {
      it('must be strictly greater than the last accepted one; a replay or an older one gets code 203', async () => {
        const site = await newSite(server, 'rid order');
        const base = BigInt(Date.now()) * 1000n;
        assertOk(await call(server, site, '/session/live/list', {}, { rid: base }));
        assertCode(await call(server, site, '/session/live/list', {}, { rid: base }), Code.InvalidRid);
        assertCode(await call(server, site, '/session/live/list', {}, { rid: base - 1n }), Code.InvalidRid);
        assertOk(await call(server, site, '/session/live/list', {}, { rid: base + 1n }));
        // Reordered: N+2 is accepted, then N+1 is late and refused, N+3 goes through.
        assertOk(await call(server, site, '/session/live/list', {}, { rid: base + 3n }));
        assertCode(await call(server, site, '/session/live/list', {}, { rid: base + 2n }), Code.InvalidRid);
        assertOk(await call(server, site, '/session/live/list', {}, { rid: base + 4n }));
      });

      it('is compared as a big integer: 1e15 then 1e15+1, 2^53 then 2^53+1, 13 digits then 20, never back', async () => {
        const site = await newSite(server, 'rid big');
        const accept = async (rid: string) => assertOk(await call(server, site, '/session/live/list', {}, { rid }));
        const refuse = async (rid: string) => assertCode(await call(server, site, '/session/live/list', {}, { rid }), Code.InvalidRid);
        await accept('1262304000000'); // milliseconds (Perl, PanosJee)
        await accept('1000000000000000'); // 1e15: microseconds (MyBandStock)
        await accept('1000000000000001');
        await refuse('1262304000001'); // back to milliseconds: smaller
        await accept('9007199254740992'); // 2^53
        await accept('9007199254740993'); // 2^53 + 1: equal to 2^53 as a double
        await refuse('9007199254740993');
        await accept('18446744073709551616'); // 2^64, 20 digits
        await accept('18446744073709551617');
        await refuse('9999999999999999999'); // 19 digits: smaller, though greater as a string
        await accept('99999999999999999999999999999999999999'); // 38 digits
        await refuse('99999999999999999999999999999999999998');
      });

      it('a rid given by a 13-digit clock and then a 20-digit one goes through; then the 13-digit clock is refused', async () => {
        const site = await newSite(server, 'rid clocks');
        const ms = BigInt(Date.now());
        assertOk(await call(server, site, '/session/live/list', {}, { rid: ms }));
        assertOk(await call(server, site, '/session/live/list', {}, { rid: ms * 10_000_000n })); // 20 digits
        assertCode(await call(server, site, '/session/live/list', {}, { rid: ms + 1000n }), Code.InvalidRid);
      });

      it('compares numbers, not strings: 0099 < 100 < 0200, and 0100 repeats 100', async () => {
        const site = await newSite(server, 'rid zeros');
        const accept = async (rid: string) => assertOk(await call(server, site, '/session/live/list', {}, { rid }));
        const refuse = async (rid: string) => assertCode(await call(server, site, '/session/live/list', {}, { rid }), Code.InvalidRid);
        await accept('0099');
        await refuse('99');
        await accept('100'); // "100" < "0099"? No: as strings "0099" sorts first; as numbers 99 < 100
        await refuse('0100');
        await refuse('0099');
        await accept('0200'); // as strings "0200" < "100"
        await refuse('199');
        await accept('000000000000000000000000000000000000000000201'); // leading zeros do not count
        await accept('202');
      });

      it('must be a whole number', async () => {
        const site = await newSite(server, 'rid junk');
        for (const rid of ['abc', '-5', '1e20', '12.5', '0x1F', ' 7', '+8', '１２３']) {
          assertCode(await call(server, site, '/session/live/list', {}, { rid }), Code.InvalidRid);
        }
        assertOk(await call(server, site, '/session/live/list', {}, { rid: '1' }));
      });

      it('is tracked per API key', async () => {
        const a = await newSite(server, 'rid a');
        const b = await newSite(server, 'rid b');
        assertOk(await call(server, a, '/session/live/list', {}, { rid: '5000000000000000' }));
        assertOk(await call(server, b, '/session/live/list', {}, { rid: '10' }));
        assertOk(await call(server, b, '/session/live/list', {}, { rid: '11' }));
        assertCode(await call(server, a, '/session/live/list', {}, { rid: '4999999999999999' }), Code.InvalidRid);
      });

      it('20 identical signed requests sent at once: exactly one is accepted, 19 get code 203, one session is made', async () => {
        const site = await newSite(server, 'rid race');
        const wire = signedParams(site, { username: 'racer' });
        const replies = await Promise.all(Array.from({ length: 20 }, () => sendRaw(server.url, '/session/create', wire, { method: 'POST' })));
        for (const reply of replies) assert.equal(reply.status, 200);
        const codes = replies.map((r) => r.code).sort((x, y) => x - y);
        assert.deepEqual(codes, [0, ...Array<number>(19).fill(Code.InvalidRid)], `codes: ${codes.join(',')}`);
        for (const reply of replies) assertCode(reply, reply.code);
        assert.equal(await sessionCount(site.id), 1);
      });

      it('20 different rids racing: every accepted one was greater than all accepted before it; the largest always wins', async () => {
        const site = await newSite(server, 'rid race 2');
        const base = BigInt(Date.now()) * 1000n;
        const rids = Array.from({ length: 20 }, (_, i) => base + BigInt(i));
        // Shuffled, sent at once.
        const order = [...rids].sort(() => Math.random() - 0.5);
        const replies = await Promise.all(order.map((rid) => call(server, site, '/session/live/list', {}, { rid })));
        for (const reply of replies) assert.ok(reply.code === 0 || reply.code === Code.InvalidRid, reply.text);
        const top = order.indexOf(base + 19n);
        assertCode(replies[top]!, Code.Ok);
        // Everything up to the largest is now spent.
        for (const rid of rids) assertCode(await call(server, site, '/session/live/list', {}, { rid }), Code.InvalidRid);
        assertOk(await call(server, site, '/session/live/list', {}, { rid: base + 20n }));
      });
    });
  });
}
