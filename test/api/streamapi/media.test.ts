/**
 * StreamAPI sessions with a real encoder (ffmpeg), on SQLite: FME-style ingest at
 * rtmp://HOST:PORT/hd_receiver/<public_hostid>-<fme_key> goes live and is in session/live/list
 * at once; a wrong fme_key is refused; a private session (is_video_private) plays only with a
 * viewer token signed with the site's secret or a viewer key the site's login callback admits,
 * a public one plays freely; every broadcast is recorded, listed by video/list with a url that
 * plays; and the site hears start_live, end_live and end_record.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainEvent } from '../../../src/core/kernel/events.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { assertPublished, assertRefused, ffmpegMissing, parsePlaylist, publish, run } from '../../media/e2e/support.js';
import {
  assertCode,
  assertOk,
  call,
  child,
  Code,
  createSession,
  descendants,
  freePort,
  leafFields,
  newSite,
  startCallbackServer,
  streamIdOf,
  text,
  viewerToken,
  waitFor,
  type ApiReply,
  type CallbackServer,
  type SiteCredentials,
} from './support.js';

const SECONDS = 5;

const fmeUrl = (server: TestServer, name: string) => `rtmp://127.0.0.1:${server.running.rtmpPort}/hd_receiver/${name}`;

async function get(url: string): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(url);
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
}

/** The segment URIs of a playlist. */
const segmentsOf = (playlist: string) => parsePlaylist(playlist).entries.map((e) => e.uri);

/** ffprobe (run asynchronously: the server is in this process) of a URL: its streams and duration. */
async function probe(url: string): Promise<{ code: number | null; stderr: string; codecs: string[]; duration: number }> {
  const result = await run('ffprobe', ['-v', 'error', '-of', 'json', '-show_entries', 'stream=codec_type,codec_name:format=duration', url]);
  if (result.code !== 0) return { code: result.code, stderr: result.stderr, codecs: [], duration: 0 };
  const json = JSON.parse(result.stdout) as { streams: { codec_type: string; codec_name: string }[]; format: { duration?: string } };
  return {
    code: result.code,
    stderr: result.stderr,
    codecs: json.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(),
    duration: Number(json.format.duration ?? 0),
  };
}

describe('StreamAPI sessions with a real encoder (sqlite)', { skip: ffmpegMissing }, () => {
  let server: TestServer;
  let callbacks: CallbackServer;
  let site: SiteCredentials & { id: string };
  let publicUrl: string;

  before(async () => {
    callbacks = await startCallbackServer();
    // The server hands out URLs under publicUrl; with a known port they are the real ones.
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    server = await startTestServer('sqlite', { ...LOCAL_PEERS, httpPort: String(port), publicUrl, reconnectWindow: '1' });
    site = await newSite(server, 'media site', callbacks.url);
  });
  after(async () => {
    await server?.close();
    await callbacks?.close();
  });

  it('a wrong fme_key, a session without one, or a malformed name is refused and changes nothing', async () => {
    const withKey = await createSession(server, site, { fme_key: 'Right1key' });
    const withoutKey = await createSession(server, site);
    const before = await server.snapshot();
    const attempts: [string, string][] = [
      ['a wrong fme_key', `${withKey.publicHostId}-Wrong1key`],
      ['the fme_key in another case', `${withKey.publicHostId}-right1key`],
      ['no fme_key', withKey.publicHostId],
      ['the private host id as the host', `${withKey.privateHostId}-Right1key`],
      ['a session that has no fme_key', `${withoutKey.publicHostId}-Right1key`],
      ['an unknown host', `99999999-Right1key`],
    ];
    for (const [label, name] of attempts) await assertRefused(label, publish(fmeUrl(server, name), 4));
    assert.equal(await server.snapshot(), before, 'no broadcast, no segment');
    assert.equal(descendants(assertOk(await call(server, site, '/session/live/list')), 'session').length, 0);
    for (const host of [withKey.publicHostId, withoutKey.publicHostId]) {
      assert.match(text(assertOk(await call(server, site, '/session/live', { public_hostid: host })), 'is_live'), /^(false|0)$/);
      assert.deepEqual(callbacks.received.filter((c) => c.params.public_hostid === host), [], 'no callback');
    }
  });

  it('FME ingest goes live at once; private sessions need a token or an admitted key, public ones play freely; both are recorded and called back', async () => {
    const open = await createSession(server, site, { username: 'openhouse', fme_key: 'Pub1key' });
    const closed = await createSession(server, site, { username: 'backstage', fme_key: 'Priv1key', is_video_private: 'true' });
    const openStream = await streamIdOf(server, site, open.publicHostId);
    const closedStream = await streamIdOf(server, site, closed.publicHostId);
    const hostOf = new Map([
      [openStream, open.publicHostId],
      [closedStream, closed.publicHostId],
    ]);

    // The moment a broadcast starts, session/live/list is asked: the session must be in it.
    const listedAtStart = new Map<string, Promise<ApiReply>>();
    const unsubscribe = server.running.core.ctx.bus.subscribe((event: DomainEvent) => {
      if (event.type === 'broadcast.started' && hostOf.has(event.streamId)) {
        listedAtStart.set(event.streamId, call(server, site, '/session/live/list'));
      }
    });

    const publishers = [publish(fmeUrl(server, `${open.publicHostId}-Pub1key`), SECONDS), publish(fmeUrl(server, `${closed.publicHostId}-Priv1key`), SECONDS)];
    try {
      await waitFor('both broadcasts to start', () => listedAtStart.size === 2, 10_000);
      for (const [streamId, reply] of listedAtStart) {
        const hosts = descendants(assertOk(await reply), 'session').map((s) => text(s, 'public_hostid'));
        assert.ok(hosts.includes(hostOf.get(streamId)!), `session/live/list right at the start lists ${hostOf.get(streamId)}: ${hosts.join(',')}`);
      }
    } finally {
      unsubscribe();
    }

    for (const host of [open.publicHostId, closed.publicHostId]) {
      const started = await callbacks.waitFor('start_live', (c) => c.params.public_hostid === host);
      assert.deepEqual(started.params, { action: 'start_live', public_hostid: host });
    }
    const liveXml = assertOk(await call(server, site, '/session/live', { public_hostid: closed.publicHostId }));
    assert.match(text(liveXml, 'is_live'), /^(true|1)$/);
    assert.equal(text(liveXml, 'hls_url'), `${publicUrl}/hls/${closedStream}/index.m3u8`);

    // --- Playback while live.
    const liveUrl = (streamId: string) => `${publicUrl}/hls/${streamId}/index.m3u8`;
    const token = viewerToken(site.secret, closedStream, Date.now() + 10 * 60_000);
    const withSegments = (url: string) =>
      waitFor(`segments in ${url}`, async () => {
        const r = await get(url);
        return r.status === 200 && segmentsOf(r.text).length > 0 ? r : undefined;
      }, 10_000);

    // Public: no token needed, segments play.
    const openPlaylist = await withSegments(liveUrl(openStream));
    assert.match(openPlaylist.type, /^application\/vnd\.apple\.mpegurl/);
    const openSegment = segmentsOf(openPlaylist.text)[0]!;
    assert.ok(!openSegment.includes('token='), openSegment);
    const openSegmentReply = await fetch(new URL(openSegment, liveUrl(openStream)));
    assert.equal(openSegmentReply.status, 200);
    assert.match(openSegmentReply.headers.get('content-type') ?? '', /^video\/mp2t/);
    await openSegmentReply.arrayBuffer();

    // Private, with a token signed here with the site's secret: the segments carry it.
    const closedPlaylist = await withSegments(`${liveUrl(closedStream)}?token=${token}`);
    const closedSegment = segmentsOf(closedPlaylist.text)[0]!;
    assert.ok(closedSegment.endsWith(`?token=${encodeURIComponent(token)}`), `segment URI ${closedSegment}`);
    const segmentUrl = new URL(closedSegment, liveUrl(closedStream));
    const segmentReply = await fetch(segmentUrl);
    assert.equal(segmentReply.status, 200);
    assert.ok((await segmentReply.arrayBuffer()).byteLength > 1000);

    // Private, without a valid token: refused, playlist and segment alike.
    const bareSegment = `${segmentUrl.origin}${segmentUrl.pathname}`;
    const other = await newSite(server, 'another site');
    const refusals: [string, string][] = [
      ['no token', liveUrl(closedStream)],
      ['an expired token', `${liveUrl(closedStream)}?token=${viewerToken(site.secret, closedStream, Date.now() - 1000)}`],
      ['a token signed with another secret', `${liveUrl(closedStream)}?token=${viewerToken(other.secret, closedStream, Date.now() + 60_000)}`],
      ['a token for another stream', `${liveUrl(closedStream)}?token=${viewerToken(site.secret, openStream, Date.now() + 60_000)}`],
      ['a tampered token', `${liveUrl(closedStream)}?token=${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`],
      ['a token with a later expiry than it was signed for', `${liveUrl(closedStream)}?token=${Number(token.split('-')[0]) + 1}-${token.split('-')[1]}`],
      ['garbage', `${liveUrl(closedStream)}?token=garbage`],
      ['a segment without a token', bareSegment],
    ];
    for (const [label, url] of refusals) {
      const r = await get(url);
      assert.equal(r.status, 403, `${label}: ${r.status} ${r.text}`);
      assert.ok(!r.text.includes('#EXTM3U'), label);
    }

    // Private, with a viewer key: the site's login callback decides.
    callbacks.admitted.add('goodviewer');
    const admitted = await get(`${liveUrl(closedStream)}?key=goodviewer`);
    assert.equal(admitted.status, 200, admitted.text);
    const login = await callbacks.waitFor('login', (c) => c.params.key === 'goodviewer');
    assert.deepEqual(Object.keys(login.params).sort(), ['action', 'key', 'public_hostid', 'userip']);
    assert.equal(login.params.public_hostid, closed.publicHostId);
    assert.match(login.params.userip!, /127\.0\.0\.1/);
    // The segments carry a token the server minted for the viewer, signed with the site's secret.
    const minted = decodeURIComponent(/\?token=([^\s]+)$/.exec(segmentsOf(admitted.text)[0]!)![1]!);
    const expires = Number(minted.split('-')[0]);
    assert.ok(expires > Date.now(), 'the minted token has not expired');
    assert.equal(minted, viewerToken(site.secret, closedStream, expires));
    assert.equal((await fetch(new URL(segmentsOf(admitted.text)[0]!, liveUrl(closedStream)))).status, 200);

    const refusedKey = await get(`${liveUrl(closedStream)}?key=badviewer`);
    assert.equal(refusedKey.status, 403);
    const denied = await callbacks.waitFor('login', (c) => c.params.key === 'badviewer');
    assert.equal(denied.params.public_hostid, closed.publicHostId);

    // session/live/list while live: both, with their viewers counted.
    const listXml = assertOk(await call(server, site, '/session/live/list'));
    const live = new Map(child(listXml, 'live_sessions').children.map((s) => [text(s, 'public_hostid'), leafFields(s)]));
    assert.deepEqual([...live.keys()].sort(), [open.publicHostId, closed.publicHostId].sort());
    for (const host of [open.publicHostId, closed.publicHostId]) {
      const fields = live.get(host)!;
      for (const count of ['current_viewers', 'max_viewers', 'total_viewers']) assert.ok(Number(fields[count]) >= 1, `${host} ${count} = ${fields[count]}`);
      assert.ok(Number(fields.start_time) <= Date.now() && Number(fields.start_time) > Date.now() - 30_000, `start_time ${fields.start_time}`);
    }
    assert.equal(live.get(closed.publicHostId)!.username, 'backstage');

    // --- The end: every broadcast is recorded and called back.
    for (const publisher of publishers) await assertPublished('FME publisher', publisher);
    const ends = new Map<string, { live: Record<string, string>; record: Record<string, string> }>();
    for (const host of [open.publicHostId, closed.publicHostId]) {
      const endLive = await callbacks.waitFor('end_live', (c) => c.params.public_hostid === host, 15_000);
      const endRecord = await callbacks.waitFor('end_record', (c) => c.params.public_hostid === host, 15_000);
      assert.deepEqual(Object.keys(endLive.params).sort(), ['action', 'channel_id', 'duration', 'max_viewers', 'public_hostid', 'viewers']);
      assert.equal(endLive.params.duration, '0', 'a 5 s broadcast lasts 0 minutes');
      assert.ok(Number(endLive.params.viewers) >= 1, `viewers ${endLive.params.viewers}`);
      assert.ok(Number(endLive.params.max_viewers) >= 1, `max_viewers ${endLive.params.max_viewers}`);
      assert.deepEqual(Object.keys(endRecord.params).sort(), ['action', 'duration', 'filename', 'public_hostid', 'url']);
      const seconds = Number(endRecord.params.duration);
      assert.ok(seconds >= SECONDS - 1 && seconds <= SECONDS + 1, `end_record duration ${seconds} s`);
      ends.set(host, { live: endLive.params, record: endRecord.params });
    }
    assert.equal(descendants(assertOk(await call(server, site, '/session/live/list')), 'session').length, 0);

    const videos = descendants(assertOk(await call(server, site, '/video/list')), 'video').map((v): Record<string, string> => ({ id: v.attributes.id ?? '', ...leafFields(v) }));
    assert.equal(videos.length, 2);
    for (const [host, streamId] of [
      [open.publicHostId, openStream],
      [closed.publicHostId, closedStream],
    ] as const) {
      const video = videos.find((v) => v.public_hostid === host);
      assert.ok(video, `a recording of ${host}`);
      const end = ends.get(host)!;
      assert.equal(video.channel_id, end.live.channel_id);
      assert.equal(video.id, end.live.channel_id);
      assert.equal(video.url, end.record.url);
      assert.equal(video.filename, end.record.filename);
      assert.ok(video.url!.startsWith(`${publicUrl}/hls/${streamId}/`), video.url);
      assert.ok(Math.abs(Number(video.duration) - SECONDS) <= 1, `duration ${video.duration}`);
      assert.ok(Number(video.size) > 20_000, `size ${video.size}`);
      const filtered = descendants(assertOk(await call(server, site, '/video/list', { public_hostid: host })), 'video');
      assert.deepEqual(filtered.map((v) => v.attributes.id), [video.id]);
      const created = Number(video.creation_date);
      assert.deepEqual(descendants(assertOk(await call(server, site, '/video/list', { public_hostid: host, start_date: String(created), end_date: String(created) })), 'video').length, 1);
      assert.deepEqual(descendants(assertOk(await call(server, site, '/video/list', { public_hostid: host, start_date: String(created + 1) })), 'video').length, 0);
    }

    // The public recording plays from its url as given.
    const openVideo = videos.find((v) => v.public_hostid === open.publicHostId)!;
    const openProbe = await probe(openVideo.url!);
    assert.equal(openProbe.code, 0, openProbe.stderr);
    assert.deepEqual(openProbe.codecs, ['audio:aac', 'video:h264']);
    assert.ok(Math.abs(openProbe.duration - SECONDS) <= 1, `ffprobe duration ${openProbe.duration}`);

    // The private one only with a token.
    const closedVideo = videos.find((v) => v.public_hostid === closed.publicHostId)!;
    assert.equal((await get(closedVideo.url!)).status, 403);
    assert.notEqual((await probe(closedVideo.url!)).code, 0, 'ffprobe without a token is refused');
    const closedProbe = await probe(`${closedVideo.url!}?token=${viewerToken(site.secret, closedStream, Date.now() + 60_000)}`);
    assert.equal(closedProbe.code, 0, closedProbe.stderr);
    assert.deepEqual(closedProbe.codecs, ['audio:aac', 'video:h264']);
    assert.ok(Math.abs(closedProbe.duration - SECONDS) <= 1, `ffprobe duration ${closedProbe.duration}`);

    // Another site sees none of it.
    assertCode(await call(server, other, '/video/list', { public_hostid: open.publicHostId }), Code.NotCreatedByCaller);
    assert.equal(descendants(assertOk(await call(server, other, '/video/list')), 'video').length, 0);
  });
});
