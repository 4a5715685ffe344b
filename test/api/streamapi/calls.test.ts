/**
 * StreamAPI calls: session/create, session/live, session/live/list, host/id/public,
 * host/id/private, video/list and theme/list; their XML elements; their codes; and users and
 * sessions scoped to the key that created them (code 201 for anyone else's).
 *
 * Broadcasts and recordings are made through the core here (no encoder), so these run on every
 * database; media.test.ts makes them with a real encoder.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { BroadcastId, StreamId } from '../../../src/core/kernel/ids.js';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import {
  assertCode,
  assertOk,
  call,
  child,
  Code,
  createSession,
  descendants,
  leafFields,
  newSite,
  sleep,
  streamIdOf,
  text,
  type SiteCredentials,
} from './support.js';

const PUBLIC_URL = 'http://media.example.test';
const LIVE_FIELDS = [
  'private_hostid',
  'public_hostid',
  'username',
  'start_time',
  'duration',
  'channel_id',
  'total_viewers',
  'total_chatters',
  'max_viewers',
  'max_chatters',
  'current_viewers',
  'current_chatters',
];
const VIDEO_FIELDS = ['public_hostid', 'duration', 'channel_id', 'creation_date', 'filename', 'size', 'url', 'embed_code'];

for (const kind of databaseKinds()) {
  describe(`StreamAPI calls on ${kind}`, () => {
    let server: TestServer;
    let site: SiteCredentials & { id: string };
    let otherSite: SiteCredentials & { id: string };
    before(async () => {
      server = await startTestServer(kind, { publicUrl: PUBLIC_URL });
      site = await newSite(server, 'calls');
      otherSite = await newSite(server, 'someone else');
    });
    after(() => server.close());

    /** A broadcast of the session made through the core; `segments` are seconds and bytes of its recording. */
    async function broadcast(site_: SiteCredentials, publicHostId: string, segments: [number, number][], end = true): Promise<{ streamId: string; broadcastId: BroadcastId }> {
      const streamId = (await streamIdOf(server, site_, publicHostId)) as StreamId;
      const core = server.running.core;
      const b = await core.broadcasts.start(streamId);
      let sequence = 0;
      for (const [seconds, bytes] of segments) {
        await core.broadcasts.recordSegment(b.id, { sequence, duration: seconds, discontinuity: false, blobKey: `hls/${streamId}/${b.id}/seg-${sequence}.ts`, size: bytes });
        sequence += 1;
      }
      if (end) await core.broadcasts.end(streamId);
      return { streamId, broadcastId: b.id };
    }

    describe('session/create', () => {
      it('returns a private host id for the broadcaster and a numeric public host id for viewers, new each time', async () => {
        const reply = await call(server, site, '/session/create', {}, { method: 'POST' });
        const xml = assertOk(reply);
        assert.deepEqual(xml.children.map((c) => c.name).filter((n) => n !== 'code').sort(), ['private_hostid', 'public_hostid']);
        const first = { publicHostId: text(xml, 'public_hostid'), privateHostId: text(xml, 'private_hostid') };
        assert.match(first.publicHostId, /^[0-9]+$/);
        assert.match(first.privateHostId, /^[A-Z0-9]{16,}$/, 'the private host id is [A-Z0-9] and long enough to be a secret');
        const second = await createSession(server, site);
        assert.notEqual(second.publicHostId, first.publicHostId);
        assert.notEqual(second.privateHostId, first.privateHostId);
      });

      it('takes username, site_user_id (the public host id), fme_key and is_video_private', async () => {
        const created = await createSession(server, site, { site_user_id: '4242', username: 'dave', fme_key: 'f1b8221d2b69', is_video_private: 'true' });
        assert.equal(created.publicHostId, '4242');
        const live = assertOk(await call(server, site, '/session/live', { public_hostid: '4242' }));
        assert.equal(text(live, 'username'), 'dave');
        assert.equal(text(live, 'private_hostid'), created.privateHostId);
        // The same site user again: the same session, not a second one.
        const again = await createSession(server, site, { site_user_id: '4242', username: 'dave2' });
        assert.deepEqual(again, created);
        assert.equal(text(assertOk(await call(server, site, '/session/live', { public_hostid: '4242' })), 'username'), 'dave2');
        const privacy = await server.running.core.viewing.isPrivate(await streamIdOf(server, site, '4242'));
        assert.equal(privacy, true);
      });

      it('is_video_private false (or absent) makes a public session', async () => {
        for (const params of [{ is_video_private: 'false' }, {}] as Record<string, string>[]) {
          const created = await createSession(server, site, params);
          assert.equal(await server.running.core.viewing.isPrivate(await streamIdOf(server, site, created.publicHostId)), false);
        }
      });

      it("a site_user_id that is another site's user gets code 201 and changes nothing", async () => {
        await createSession(server, otherSite, { site_user_id: '777001' });
        const before = await server.snapshot();
        assertCode(await call(server, site, '/session/create', { site_user_id: '777001', username: 'thief' }, { method: 'POST' }), Code.NotCreatedByCaller);
        const after = await server.snapshot();
        // Only the rid moved.
        const withoutRids = (s: string) => s.replace(/\\"last_rid\\":\\"\d+\\"/g, '');
        assert.equal(withoutRids(after), withoutRids(before));
      });

      it('malformed values are refused with a non-zero code and a message, creating nothing', async () => {
        for (const params of [{ site_user_id: 'abc' }, { username: 'no spaces' }, { fme_key: 'semi;colon' }, { is_video_private: 'maybe' }] as Record<string, string>[]) {
          const count = (await server.running.store.db.selectFrom('streams').select('id').execute()).length;
          const reply = await call(server, site, '/session/create', params, { method: 'POST' });
          assert.equal(reply.status, 200);
          assert.notEqual(reply.code, 0, `${JSON.stringify(params)}: ${reply.text}`);
          assert.ok(reply.msg, reply.text);
          assert.equal((await server.running.store.db.selectFrom('streams').select('id').execute()).length, count);
        }
      });
    });

    describe('session/live', () => {
      it('describes a session that is not live', async () => {
        const session = await createSession(server, site, { username: 'erin' });
        const xml = assertOk(await call(server, site, '/session/live', { public_hostid: session.publicHostId }));
        assert.match(text(xml, 'is_live'), /^(false|0)$/);
        assert.equal(text(xml, 'public_hostid'), session.publicHostId);
        assert.equal(text(xml, 'private_hostid'), session.privateHostId);
        assert.equal(text(xml, 'username'), 'erin');
        assert.equal(text(xml, 'duration'), '0');
        assert.equal(text(xml, 'start_time'), '');
        assert.equal(text(xml, 'channel_id'), '');
      });

      it('describes a live session: start time in milliseconds, duration in seconds, channel id', async () => {
        const session = await createSession(server, site, { username: 'frank' });
        const before = Date.now();
        const { streamId, broadcastId } = await broadcast(site, session.publicHostId, [], false);
        await sleep(1100);
        const xml = assertOk(await call(server, site, '/session/live', { public_host_id: session.publicHostId }));
        assert.match(text(xml, 'is_live'), /^(true|1)$/);
        const start = Number(text(xml, 'start_time'));
        assert.ok(start >= before - 5 && start <= Date.now(), `start_time ${start} is the start in ms`);
        const duration = Number(text(xml, 'duration'));
        assert.ok(duration >= 1 && duration <= 5, `duration ${duration} s`);
        assert.equal(text(xml, 'channel_id'), broadcastId);
        await server.running.core.broadcasts.end(streamId as StreamId);
        assert.match(text(assertOk(await call(server, site, '/session/live', { public_hostid: session.publicHostId })), 'is_live'), /^(false|0)$/);
      });

      it('codes: 1 without public_hostid, 8 for an unknown one, 201 for another site’s', async () => {
        assertCode(await call(server, site, '/session/live'), Code.MissingParameter);
        assertCode(await call(server, site, '/session/live', { public_hostid: '' }), Code.MissingParameter);
        assertCode(await call(server, site, '/session/live', { public_hostid: '99999999' }), Code.NoUser);
        assertCode(await call(server, site, '/session/live', { public_hostid: 'nonsense' }), Code.NoUser);
        const theirs = await createSession(server, otherSite);
        assertCode(await call(server, site, '/session/live', { public_hostid: theirs.publicHostId }), Code.NotCreatedByCaller);
        assertOk(await call(server, otherSite, '/session/live', { public_hostid: theirs.publicHostId }));
      });
    });

    describe('host/id/public and host/id/private', () => {
      it('map each host id of a session to the other', async () => {
        const session = await createSession(server, site);
        for (const [path, params] of [
          ['/host/id/public', { private_hostid: session.privateHostId }],
          ['/host/id/private', { public_hostid: session.publicHostId }],
        ] as const) {
          const xml = assertOk(await call(server, site, path, params));
          assert.equal(text(xml, 'public_hostid'), session.publicHostId, path);
          assert.equal(text(xml, 'private_hostid'), session.privateHostId, path);
        }
      });

      it('codes: 1 without the host id, 46 for an unknown one, 201 for another site’s', async () => {
        assertCode(await call(server, site, '/host/id/public'), Code.MissingParameter);
        assertCode(await call(server, site, '/host/id/private'), Code.MissingParameter);
        assertCode(await call(server, site, '/host/id/public', { private_hostid: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' }), Code.NoSession);
        assertCode(await call(server, site, '/host/id/public', { private_hostid: 'lower-case!' }), Code.NoSession);
        assertCode(await call(server, site, '/host/id/private', { public_hostid: '99999999' }), Code.NoSession);
        const theirs = await createSession(server, otherSite);
        const before = await server.snapshot();
        const publicReply = await call(server, site, '/host/id/public', { private_hostid: theirs.privateHostId });
        assertCode(publicReply, Code.NotCreatedByCaller);
        assert.ok(!publicReply.text.includes(theirs.publicHostId), "another site's host id is not disclosed");
        const privateReply = await call(server, site, '/host/id/private', { public_hostid: theirs.publicHostId });
        assertCode(privateReply, Code.NotCreatedByCaller);
        assert.ok(!privateReply.text.includes(theirs.privateHostId), "another site's private host id is not disclosed");
        assert.equal((await server.snapshot()).replace(/\\"last_rid\\":\\"\d+\\"/g, ''), before.replace(/\\"last_rid\\":\\"\d+\\"/g, ''));
      });
    });

    describe('session/live/list', () => {
      it("lists the site's live sessions with start time, duration, viewer and chatter counts; nothing else", async () => {
        const listSite = await newSite(server, 'live list');
        const empty = assertOk(await call(server, listSite, '/session/live/list'));
        assert.equal(descendants(empty, 'live_sessions').length, 1);
        assert.equal(descendants(empty, 'session').length, 0);

        const a = await createSession(server, listSite, { username: 'alpha' });
        const b = await createSession(server, listSite, { username: 'beta' });
        await createSession(server, listSite, { username: 'idle' });
        const theirs = await createSession(server, otherSite, { username: 'theirs' });
        const before = Date.now();
        const liveA = await broadcast(listSite, a.publicHostId, [], false);
        const liveB = await broadcast(listSite, b.publicHostId, [], false);
        const liveTheirs = await broadcast(otherSite, theirs.publicHostId, [], false);

        const xml = assertOk(await call(server, listSite, '/session/live/list'));
        const sessions = child(xml, 'live_sessions').children;
        assert.deepEqual(sessions.map((s) => s.name), ['session', 'session']);
        const byHost = new Map(sessions.map((s) => [text(s, 'public_hostid'), leafFields(s)]));
        assert.deepEqual([...byHost.keys()].sort(), [a.publicHostId, b.publicHostId].sort());
        for (const [session, live, name] of [[a, liveA, 'alpha'], [b, liveB, 'beta']] as const) {
          const fields = byHost.get(session.publicHostId)!;
          assert.deepEqual(Object.keys(fields).sort(), [...LIVE_FIELDS].sort());
          assert.equal(fields.private_hostid, session.privateHostId);
          assert.equal(fields.username, name);
          assert.equal(fields.channel_id, live.broadcastId);
          const start = Number(fields.start_time);
          assert.ok(start >= before - 5 && start <= Date.now(), `start_time ${fields.start_time}`);
          assert.match(fields.duration!, /^\d+$/);
          for (const count of ['total_viewers', 'total_chatters', 'max_viewers', 'max_chatters', 'current_viewers', 'current_chatters']) {
            assert.equal(fields[count], '0', `${count} with no viewers`);
          }
        }

        await server.running.core.broadcasts.end(liveA.streamId as StreamId);
        const after = assertOk(await call(server, listSite, '/session/live/list'));
        assert.deepEqual(descendants(after, 'session').map((s) => text(s, 'public_hostid')), [b.publicHostId]);
        await server.running.core.broadcasts.end(liveB.streamId as StreamId);
        await server.running.core.broadcasts.end(liveTheirs.streamId as StreamId);
        assert.equal(descendants(assertOk(await call(server, listSite, '/session/live/list')), 'session').length, 0);
      });
    });

    describe('video/list', () => {
      let videoSite: SiteCredentials & { id: string };
      let one: { publicHostId: string; privateHostId: string };
      let two: { publicHostId: string; privateHostId: string };
      const recordings: { streamId: string; broadcastId: string; host: string; start: number }[] = [];

      before(async () => {
        videoSite = await newSite(server, 'videos');
        one = await createSession(server, videoSite, { username: 'one' });
        two = await createSession(server, videoSite, { username: 'two' });
        await createSession(server, videoSite, { username: 'never' });
        // Three recordings, a few milliseconds apart: one, two, one. The last one of two stays live.
        for (const [host, segments] of [
          [one.publicHostId, [[4.0, 150_000], [3.4, 120_000]]],
          [two.publicHostId, [[2.0, 70_000]]],
          [one.publicHostId, [[6.0, 300_000]]],
        ] as const) {
          const before = Date.now();
          const made = await broadcast(videoSite, host, segments.map(([s, b]) => [s, b] as [number, number]));
          const xml = assertOk(await call(server, videoSite, '/session/live', { public_hostid: host }));
          assert.match(text(xml, 'is_live'), /^(false|0)$/);
          recordings.push({ ...made, host, start: before });
          await sleep(30);
        }
        await broadcast(videoSite, two.publicHostId, [[2.0, 1000]], false);
        // A recording of another site's session.
        const theirs = await createSession(server, otherSite);
        await broadcast(otherSite, theirs.publicHostId, [[5.0, 5000]]);
      });

      async function list(params: Record<string, string> = {}) {
        const xml = assertOk(await call(server, videoSite, '/video/list', params));
        return descendants(xml, 'video');
      }

      it("lists the site's finished recordings with duration, size, url and filename", async () => {
        const videos = await list();
        assert.equal(videos.length, 3, 'three finished recordings; the live one and other sites’ are not listed');
        const expected = [
          { rec: recordings[0]!, duration: '7', size: '270000' },
          { rec: recordings[1]!, duration: '2', size: '70000' },
          { rec: recordings[2]!, duration: '6', size: '300000' },
        ];
        const byId = new Map(videos.map((v) => [v.attributes.id, leafFields(v)]));
        for (const { rec, duration, size } of expected) {
          const fields = byId.get(rec.broadcastId);
          assert.ok(fields, `recording ${rec.broadcastId} is listed with id="${rec.broadcastId}"`);
          assert.deepEqual(Object.keys(fields).sort(), [...VIDEO_FIELDS].sort());
          assert.equal(fields.public_hostid, rec.host);
          assert.equal(fields.channel_id, rec.broadcastId);
          assert.equal(fields.duration, duration, 'duration in seconds');
          assert.equal(fields.size, size, 'size in bytes');
          assert.equal(fields.url, `${PUBLIC_URL}/hls/${rec.streamId}/${rec.broadcastId}/vod.m3u8`);
          assert.ok(fields.url!.endsWith(`/${fields.filename}`), `filename ${fields.filename} is the url's last part`);
          assert.match(fields.filename!, /\.m3u8$/);
          assert.ok(fields.embed_code!.includes(fields.url!), 'the embed code plays the url');
          const created = Number(fields.creation_date);
          assert.ok(created >= rec.start - 5 && created <= rec.start + 5000, `creation_date ${fields.creation_date} in ms`);
        }
      });

      it('the url serves the recording as a VOD playlist of its segments', async () => {
        const fields = leafFields((await list({ public_hostid: two.publicHostId }))[0]!);
        const response = await fetch(`${server.url}${new URL(fields.url!).pathname}`);
        assert.equal(response.status, 200);
        const playlist = await response.text();
        assert.match(playlist, /^#EXTM3U/);
        assert.match(playlist, /#EXT-X-ENDLIST/);
        assert.equal(playlist.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length, 1);
      });

      it('filters by host and by creation date in milliseconds (bounds included)', async () => {
        const ids = (videos: Awaited<ReturnType<typeof list>>) => videos.map((v) => v.attributes.id).sort();
        const all = new Map((await list()).map((v) => [v.attributes.id!, Number(text(v, 'creation_date'))]));
        const [r0, r1, r2] = recordings.map((r) => ({ id: r.broadcastId, at: all.get(r.broadcastId)! }));
        assert.ok(r0!.at < r1!.at && r1!.at < r2!.at, 'the recordings were made in order');

        assert.deepEqual(ids(await list({ public_hostid: one.publicHostId })), [r0!.id, r2!.id].sort());
        assert.deepEqual(ids(await list({ public_host_id: two.publicHostId })), [r1!.id]);
        assert.deepEqual(ids(await list({ start_date: String(r1!.at) })), [r1!.id, r2!.id].sort());
        assert.deepEqual(ids(await list({ start_date: String(r1!.at + 1) })), [r2!.id]);
        assert.deepEqual(ids(await list({ end_date: String(r1!.at) })), [r0!.id, r1!.id].sort());
        assert.deepEqual(ids(await list({ end_date: String(r1!.at - 1) })), [r0!.id]);
        assert.deepEqual(ids(await list({ start_date: String(r1!.at), end_date: String(r1!.at) })), [r1!.id]);
        assert.deepEqual(ids(await list({ start_date: String(r0!.at), end_date: String(r2!.at), public_hostid: one.publicHostId })), [r0!.id, r2!.id].sort());
        assert.deepEqual(ids(await list({ start_date: String(r2!.at + 1) })), []);
        assert.deepEqual(ids(await list({ end_date: String(r0!.at - 1) })), []);
      });

      it("codes: 8 for an unknown host, 201 for another site's; other sites see none of these recordings", async () => {
        assertCode(await call(server, videoSite, '/video/list', { public_hostid: '99999999' }), Code.NoUser);
        const theirs = await createSession(server, otherSite);
        assertCode(await call(server, videoSite, '/video/list', { public_hostid: theirs.publicHostId }), Code.NotCreatedByCaller);
        assertCode(await call(server, otherSite, '/video/list', { public_hostid: one.publicHostId }), Code.NotCreatedByCaller);
        const theirList = descendants(assertOk(await call(server, otherSite, '/video/list')), 'video');
        const ours = new Set(recordings.map((r) => r.broadcastId));
        assert.ok(theirList.length >= 1);
        for (const v of theirList) assert.ok(!ours.has(v.attributes.id!), 'no recording of another site');
      });
    });

    describe('theme/list', () => {
      it('lists the themes configured for the site, and only those', async () => {
        const themeSite = await newSite(server, 'themes');
        assert.equal(descendants(assertOk(await call(server, themeSite, '/theme/list')), 'theme').length, 0);
        const core = server.running.core;
        const first = await core.sites.addTheme(themeSite.key, {
          name: 'Dark & wide',
          width: 496,
          height: 469,
          layoutPath: '/themes/100/000/866/4/theme_8e4f1a2c.xml',
          skinPath: '/themes/100/000/866/4/skin_8e4f1a2c.xml',
        });
        const second = await core.sites.addTheme(themeSite.key, { name: 'Small', width: 320, height: 240, layoutPath: '/t/layout.xml', skinPath: '/t/skin.xml' });
        await core.sites.addTheme(otherSite.key, { name: 'Not yours', width: 1, height: 1, layoutPath: '/x', skinPath: '/y' });

        const themes = descendants(assertOk(await call(server, themeSite, '/theme/list')), 'theme');
        assert.deepEqual(
          themes.map((t) => ({ id: t.attributes.id, ...leafFields(t) })),
          [
            { id: String(first.id), name: 'Dark & wide', width: '496', height: '469', layout_path: '/themes/100/000/866/4/theme_8e4f1a2c.xml', skin_path: '/themes/100/000/866/4/skin_8e4f1a2c.xml' },
            { id: String(second.id), name: 'Small', width: '320', height: '240', layout_path: '/t/layout.xml', skin_path: '/t/skin.xml' },
          ],
        );
        assert.ok(!descendants(assertOk(await call(server, otherSite, '/theme/list')), 'theme').some((t) => text(t, 'name') !== 'Not yours'));
      });
    });
  });
}
