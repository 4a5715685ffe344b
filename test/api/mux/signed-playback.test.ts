/**
 * Signed playback exactly as a Mux customer does it: a live stream made with a `signed` playback
 * id through the official SDK, a URL signing key from `mux.system.signingKeys.create()`, and
 * tokens from `mux.jwt.signPlaybackId`. A valid token plays the live playlist and every segment
 * in it (the playlist hands the token on); no token, an expired one, one for another playback id
 * or another audience, one of an unknown, deleted or other account's key, and a tampered one are
 * refused with 403, on the playlist and on the segments. A token with its key id in the JOSE
 * header (as other JWT libraries put it) plays too. A recording's signed playback id plays its
 * VOD only with a token; public ids need none. Signing keys show their private half only when
 * made, list across pages, and are another account's business only to that account.
 *
 * The recordings are made without ffmpeg: a broadcast is opened in the core, a few bytes are put
 * where the media plane keeps a segment, and the segments are recorded as the HLS recorder
 * records them. On every database of the suite.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, importPKCS8, SignJWT } from 'jose';
import { LocalBlobStore } from '../../../src/blob/local.js';
import type { BroadcastId, StreamId } from '../../../src/core/kernel/ids.js';
import { segmentBlobKey } from '../../../src/media/hls/recorder.js';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { failure, Mux, muxAccount, type MuxAccount } from './support.js';

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';

interface Recorded {
  broadcastId: BroadcastId;
  /** The bytes of each segment, in playlist order. */
  segments: Buffer[];
}

/**
 * Opens a broadcast of the stream and records `count` segments into it as the HLS recorder does
 * (the bytes where the media plane keeps them, then the segment in the core). The broadcast stays
 * open: with no media session on this node, the stream's live playlist is built from it.
 */
async function recordLive(server: TestServer, streamId: string, count = 2): Promise<Recorded> {
  const core = server.running.core;
  const blobs = new LocalBlobStore(join(server.running.config.dataDir, 'media'));
  const broadcast = await core.broadcasts.start(streamId as StreamId);
  const segments: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const sequence = await core.broadcasts.nextSegmentSequence(broadcast.id);
    const bytes = Buffer.concat([Buffer.from([0x47]), randomBytes(187), Buffer.from(`segment ${i}`)]);
    const blobKey = segmentBlobKey(streamId, broadcast.id, sequence);
    await blobs.put(blobKey, bytes);
    await core.broadcasts.recordSegment(broadcast.id, { sequence, duration: 2, discontinuity: false, blobKey, size: bytes.length });
    segments.push(bytes);
  }
  return { broadcastId: broadcast.id, segments };
}

async function get(url: string) {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

/** The URIs of a playlist's segments, resolved against the playlist's own URL. */
function segmentUrls(playlist: string, playlistUrl: string): URL[] {
  return playlist
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => new URL(line, playlistUrl));
}

/** The playlist at `url` plays, and so does every segment it lists, each carrying `token` (or none). */
async function playsEverything(url: string, token: string | undefined, expected: Buffer[]): Promise<string> {
  const playlist = await get(url);
  assert.equal(playlist.status, 200, `${url}: ${playlist.body.toString()}`);
  assert.equal(playlist.headers.get('content-type'), PLAYLIST_TYPE);
  const text = playlist.body.toString('utf8');
  assert.match(text, /^#EXTM3U/);
  const uris = segmentUrls(text, url);
  assert.equal(uris.length, expected.length, text);
  for (const [i, uri] of uris.entries()) {
    assert.equal(uri.searchParams.get('token'), token ?? null, `segment URI ${uri.pathname} carries ${token === undefined ? 'no' : 'the'} token`);
    const segment = await get(uri.href);
    assert.equal(segment.status, 200, `${uri.href}: ${segment.body.toString()}`);
    assert.equal(segment.headers.get('content-type'), 'video/mp2t');
    assert.deepEqual(segment.body, expected[i], 'the recorded bytes, as stored');
    if (token !== undefined) assert.doesNotMatch(segment.headers.get('cache-control') ?? '', /public/, 'a signed segment is not for shared caches');
  }
  return text;
}

async function statusOf(url: string): Promise<number> {
  const response = await fetch(url);
  await response.arrayBuffer();
  return response.status;
}

/** A PKCS#8 key for jose from the base64 PKCS#1 PEM a signing key's create answer holds. */
async function joseKey(privateKey: string) {
  const pem = createPrivateKey(Buffer.from(privateKey, 'base64').toString('utf8')).export({ type: 'pkcs8', format: 'pem' }).toString();
  return importPKCS8(pem, 'RS256');
}

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

for (const kind of databaseKinds()) {
  describe(`signed playback with the Mux SDK’s tokens (${kind})`, () => {
    let server: TestServer;
    let owner: MuxAccount;
    let key: { id: string; private_key: string };
    let streamId: string;
    let playbackId: string;
    let recorded: Recorded;

    /** A token for `id` as the SDK signs it, with the owner's key unless told otherwise. */
    const sign = (id: string, options: { keyId?: string; keySecret?: string; type?: 'video' | 'thumbnail' | 'storyboard'; expiration?: string } = {}) =>
      owner.mux.jwt.signPlaybackId(id, { keyId: key.id, keySecret: key.private_key, ...options });
    const playlistUrl = (id: string, token?: string) => `${server.url}/${id}.m3u8${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;
    const segmentUrl = (id: string, broadcastId: string, token?: string) =>
      `${server.url}/${id}/${broadcastId}/seg-00000.ts${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;

    before(async () => {
      server = await startTestServer(kind);
      owner = await muxAccount(server);
      const made = await owner.mux.system.signingKeys.create();
      key = { id: made.id, private_key: made.private_key! };
      const stream = await owner.mux.video.liveStreams.create({ playback_policy: ['signed'] });
      streamId = stream.id;
      assert.deepEqual(stream.playback_ids?.map((p) => p.policy), ['signed']);
      playbackId = stream.playback_ids![0]!.id;
      recorded = await recordLive(server, streamId);
    });

    after(async () => {
      await server?.close();
    });

    test('a token the SDK signs plays the live playlist and every segment in it; without it nothing plays', async () => {
      const token = await sign(playbackId);
      const claims = decodeJwt(token);
      assert.equal(claims.kid, key.id, 'the SDK puts the key id in the claims');
      const text = await playsEverything(playlistUrl(playbackId, token), token, recorded.segments);
      assert.doesNotMatch(text, /#EXT-X-ENDLIST/, 'a live playlist while the broadcast runs');
      for (const uri of segmentUrls(text, playlistUrl(playbackId, token))) {
        assert.equal(uri.pathname.split('/')[1], playbackId, 'segments are fetched under the playback id');
        assert.equal(uri.pathname.split('/')[2], recorded.broadcastId);
      }

      const bare = await get(playlistUrl(playbackId));
      assert.equal(bare.status, 403);
      assert.doesNotMatch(bare.body.toString(), /seg-/, 'a refused playlist lists nothing');
      assert.equal(await statusOf(segmentUrl(playbackId, recorded.broadcastId)), 403, 'a segment without the token');
      assert.equal(await statusOf(`${playlistUrl(playbackId)}?token=`), 403, 'an empty token');
    });

    test('expired, misdirected, unknown-key, other-account and tampered tokens are refused with 403', async () => {
      // What works, so that each refusal below is the token's fault alone.
      const good = await sign(playbackId);
      assert.equal(await statusOf(playlistUrl(playbackId, good)), 200);

      const otherStream = await owner.mux.video.liveStreams.create({ playback_policy: ['signed'] });
      const otherId = otherStream.playback_ids![0]!.id;
      await recordLive(server, otherStream.id, 1);
      const stranger = await muxAccount(server);
      const strangerKey = await stranger.mux.system.signingKeys.create();
      const [header, payload, signature] = good.split('.') as [string, string, string];
      const forever = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), exp: Math.floor(Date.now() / 1000) + 365 * 86400 };
      const flipped = signature.slice(0, 20) + (signature[20] === 'A' ? 'B' : 'A') + signature.slice(21);
      const publicPem = createPublicKey(createPrivateKey(Buffer.from(key.private_key, 'base64').toString())).export({ type: 'spki', format: 'pem' }).toString();

      const refused: [string, string][] = [
        ['expired a minute ago', await sign(playbackId, { expiration: '-60' })],
        ['for another playback id (wrong sub)', await sign(otherId)],
        ['for thumbnails (aud t)', await sign(playbackId, { type: 'thumbnail' })],
        ['for storyboards (aud s)', await sign(playbackId, { type: 'storyboard' })],
        ['an unknown key id', await sign(playbackId, { keyId: randomBytes(16).toString('hex') })],
        ['the owner’s key id, signed by another key', await sign(playbackId, { keySecret: strangerKey.private_key! })],
        ['another account’s signing key', await stranger.mux.jwt.signPlaybackId(playbackId, { keyId: strangerKey.id, keySecret: strangerKey.private_key! })],
        ['a longer life written into a signed token', `${header}.${b64url(forever)}.${signature}`],
        ['a flipped signature', `${header}.${payload}.${flipped}`],
        ['no signature', `${header}.${payload}.`],
        ['alg none', `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`],
        ['HS256 keyed with the public key', await new SignJWT({ kid: key.id }).setProtectedHeader({ alg: 'HS256' }).setSubject(playbackId).setAudience('v').setExpirationTime('1h').sign(new TextEncoder().encode(publicPem))],
        ['no expiry at all', await new SignJWT({ kid: key.id }).setProtectedHeader({ alg: 'RS256' }).setSubject(playbackId).setAudience('v').sign(await joseKey(key.private_key))],
        ['not a JWT', 'not-a-token'],
        ['far too long', `${good}${'A'.repeat(5000)}`],
      ];
      for (const [why, token] of refused) {
        assert.equal(await statusOf(playlistUrl(playbackId, token)), 403, `playlist: ${why}`);
        assert.equal(await statusOf(segmentUrl(playbackId, recorded.broadcastId, token)), 403, `segment: ${why}`);
      }
      // The token for the other id does play that id: it was refused above only for where it was used.
      assert.equal(await statusOf(playlistUrl(otherId, await sign(otherId))), 200);
      assert.equal(await statusOf(playlistUrl(playbackId, good)), 200, 'the good token still plays');
    });

    test('a deleted signing key’s tokens stop playing at once', async () => {
      const spare = await owner.mux.system.signingKeys.create();
      const token = await owner.mux.jwt.signPlaybackId(playbackId, { keyId: spare.id, keySecret: spare.private_key! });
      assert.equal(await statusOf(playlistUrl(playbackId, token)), 200);
      assert.equal(await statusOf(segmentUrl(playbackId, recorded.broadcastId, token)), 200);
      await owner.mux.system.signingKeys.delete(spare.id);
      assert.equal(await statusOf(playlistUrl(playbackId, token)), 403);
      assert.equal(await statusOf(segmentUrl(playbackId, recorded.broadcastId, token)), 403);
      assert.equal(await statusOf(playlistUrl(playbackId, await sign(playbackId))), 200, 'the other key still signs');
    });

    test('a token with its key id in the JOSE header, as other JWT libraries make it, plays', async () => {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: key.id, typ: 'JWT' })
        .setSubject(playbackId)
        .setAudience('v')
        .setExpirationTime('10m')
        .sign(await joseKey(key.private_key));
      assert.equal(decodeJwt(token).kid, undefined, 'no kid among the claims');
      await playsEverything(playlistUrl(playbackId, token), token, recorded.segments);
      const strangerHeader = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: randomBytes(16).toString('hex') })
        .setSubject(playbackId)
        .setAudience('v')
        .setExpirationTime('10m')
        .sign(await joseKey(key.private_key));
      assert.equal(await statusOf(playlistUrl(playbackId, strangerHeader)), 403, 'an unknown key id in the header');
    });

    test('a recording’s signed playback id plays its VOD with a token and nothing without', async () => {
      const stream = await owner.mux.video.liveStreams.create({ playback_policy: ['signed'] });
      const streamPid = stream.playback_ids![0]!.id;
      const rec = await recordLive(server, stream.id, 3);
      await server.running.core.broadcasts.end(stream.id as StreamId);
      assert.equal(await statusOf(playlistUrl(streamPid, await sign(streamPid))), 404, 'the live playlist ends with the broadcast');

      const assetPid = await owner.mux.video.assets.createPlaybackId(rec.broadcastId, { policy: 'signed' });
      assert.equal(assetPid.policy, 'signed');
      const asset = await owner.mux.video.assets.retrieve(rec.broadcastId);
      assert.equal(asset.status, 'ready');
      assert.equal(asset.live_stream_id, stream.id);
      assert.deepEqual(asset.playback_ids, [{ id: assetPid.id, policy: 'signed' }]);

      const token = await sign(assetPid.id);
      const text = await playsEverything(playlistUrl(assetPid.id, token), token, rec.segments);
      assert.match(text, /#EXT-X-ENDLIST/);
      assert.match(text, /#EXT-X-PLAYLIST-TYPE:VOD/);
      const vod = await get(playlistUrl(assetPid.id, token));
      assert.doesNotMatch(vod.headers.get('cache-control') ?? '', /public/, 'a signed VOD playlist is not for shared caches');

      assert.equal(await statusOf(playlistUrl(assetPid.id)), 403);
      assert.equal(await statusOf(segmentUrl(assetPid.id, rec.broadcastId)), 403);
      assert.equal(await statusOf(playlistUrl(assetPid.id, await sign(streamPid))), 403, 'the stream’s token is not the recording’s');
      assert.equal(await statusOf(segmentUrl(assetPid.id, rec.broadcastId, await sign(streamPid))), 403);
      assert.equal(await statusOf(segmentUrl(assetPid.id, recorded.broadcastId, token)), 404, 'a recording’s id plays its own segments only');
    });

    test('public playback ids play without a token, and their playlists carry none', async () => {
      const stream = await owner.mux.video.liveStreams.create({ playback_policy: ['public'] });
      const pid = stream.playback_ids![0]!.id;
      const rec = await recordLive(server, stream.id);
      await playsEverything(playlistUrl(pid), undefined, rec.segments);
      await server.running.core.broadcasts.end(stream.id as StreamId);
      const assetPid = await owner.mux.video.assets.createPlaybackId(rec.broadcastId, { policy: 'public' });
      const text = await playsEverything(playlistUrl(assetPid.id), undefined, rec.segments);
      assert.match(text, /#EXT-X-ENDLIST/);
    });

    test('the SDK says what a signed playback id plays: a live stream or an asset', async () => {
      assert.deepEqual(await owner.mux.video.playbackIds.retrieve(playbackId), { id: playbackId, policy: 'signed', object: { type: 'live_stream', id: streamId } });
      const stream = await owner.mux.video.liveStreams.create({});
      const rec = await recordLive(server, stream.id, 1);
      await server.running.core.broadcasts.end(stream.id as StreamId);
      const assetPid = await owner.mux.video.assets.createPlaybackId(rec.broadcastId, { policy: 'signed' });
      assert.deepEqual(await owner.mux.video.playbackIds.retrieve(assetPid.id), { id: assetPid.id, policy: 'signed', object: { type: 'asset', id: rec.broadcastId } });
      const stranger = await muxAccount(server);
      assert.ok((await failure(stranger.mux.video.playbackIds.retrieve(assetPid.id))) instanceof Mux.NotFoundError, 'another account’s playback id is not found');
    });

    test('a stream and a recording that play only by signed ids play by nothing else: not /hls by id, not the watch page', async () => {
      // The live playlist, the latest recording and the broadcast's own playlists by stream id.
      for (const path of [`/hls/${streamId}/index.m3u8`, `/hls/${streamId}/${recorded.broadcastId}/index.m3u8`, `/hls/${streamId}/${recorded.broadcastId}/seg-00000.ts`]) {
        assert.equal((await get(`${server.url}${path}`)).status, 403, path);
      }
      assert.equal((await get(`${server.url}/${streamId}`)).status, 404, 'no watch page');
      // A stream whose own id is public, with a recording whose ids are all signed: the recording
      // does not play through the stream's paths either.
      const open = await owner.mux.video.liveStreams.create({ playback_policy: ['public'], new_asset_settings: { playback_policy: ['signed'] } as never });
      const rec = await recordLive(server, open.id, 1);
      await server.running.core.broadcasts.end(open.id as StreamId);
      assert.equal((await get(`${server.url}/hls/${open.id}/vod.m3u8`)).status, 403, 'the latest recording');
      assert.equal((await get(`${server.url}/hls/${open.id}/${rec.broadcastId}/vod.m3u8`)).status, 403, 'that recording by id');
      const publicId = open.playback_ids![0]!.id;
      assert.equal((await get(`${server.url}/${publicId}/${rec.broadcastId}/seg-00000.ts`)).status, 404, 'the stream’s playback id plays only the broadcast on the air');
    });

    test('a signing key’s private half is in the create answer only; keys list across pages, delete, and stay their account’s', async () => {
      const a = await muxAccount(server);
      const made = [];
      for (let i = 0; i < 3; i++) made.push(await a.mux.system.signingKeys.create());
      for (const k of made) {
        assert.match(k.id, /^[0-9a-f]{32}$/);
        assert.match(k.created_at, /^\d{10}$/, 'created_at is Unix seconds in a string');
        const pem = Buffer.from(k.private_key!, 'base64').toString('utf8');
        assert.match(pem, /^-----BEGIN RSA PRIVATE KEY-----\n/, 'a base64 PKCS#1 PEM, as Mux hands it out');
        assert.equal(createPrivateKey(pem).asymmetricKeyDetails?.modulusLength, 2048);
      }
      const first = made[0]!;
      const shown = await a.mux.system.signingKeys.retrieve(first.id);
      assert.deepEqual(shown, { id: first.id, created_at: first.created_at }, 'retrieve shows no private key');

      const listed = [];
      for await (const k of a.mux.system.signingKeys.list({ limit: 1 })) listed.push(k);
      assert.deepEqual(listed.map((k) => k.id).sort(), made.map((k) => k.id).sort(), 'every key once, across three pages');
      assert.ok(listed.every((k) => !('private_key' in k)), 'the list shows no private key');

      const b = await muxAccount(server);
      assert.ok((await failure(b.mux.system.signingKeys.retrieve(first.id))) instanceof Mux.NotFoundError, 'another account’s key is not found');
      assert.ok((await failure(b.mux.system.signingKeys.delete(first.id))) instanceof Mux.NotFoundError);
      const bListed = [];
      for await (const k of b.mux.system.signingKeys.list()) bListed.push(k.id);
      assert.deepEqual(bListed, []);
      assert.equal((await a.mux.system.signingKeys.retrieve(first.id)).id, first.id, 'a stranger deleted nothing');

      await a.mux.system.signingKeys.delete(first.id);
      assert.ok((await failure(a.mux.system.signingKeys.retrieve(first.id))) instanceof Mux.NotFoundError);
      assert.ok((await failure(a.mux.system.signingKeys.delete(first.id))) instanceof Mux.NotFoundError, 'deleted once');
      const left = [];
      for await (const k of a.mux.system.signingKeys.list()) left.push(k.id);
      assert.deepEqual(left.sort(), made.slice(1).map((k) => k.id).sort());
    });
  });
}
