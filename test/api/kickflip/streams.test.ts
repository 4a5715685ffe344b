/**
 * Kickflip streams: stream/start's HlsStream (upload credentials under <app>/<username>/<id>/,
 * a future aws_duration, the RTMP ingest URL), stream/info without a uuid, privacy, stream/change
 * as Android posts it and as iOS posts its whole model back, delete, pause/resume, stop, flag;
 * another user's stream and bad input change nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { accessToken, call, failed, newClient, newDevice, ok, parseKickflipDate, startStream, type ClientCredentials, type Device } from './support.js';

for (const kind of databaseKinds()) {
  describe(`Kickflip streams on ${kind}`, () => {
    let server: TestServer;
    let app: ClientCredentials;
    let alice: Device;
    let bob: Device;
    before(async () => {
      server = await startTestServer(kind, { publicUrl: 'http://media.example.com:8080', uploadRegion: 'eu-west-1' });
      app = await newClient(server, 'Kickflip Test');
      alice = await newDevice(server, app, { username: 'alice' });
      bob = await newDevice(server, app, { username: 'bob' });
    });
    after(() => server?.close());

    it('stream/start answers the full HlsStream: credentials for <app>/<username>/<stream_id>/, a future aws_duration, URLs and rtmp_url', async () => {
      const s = await startStream(server, alice, { title: 'First', description: 'hello', private: false, extra_info: '{"k":"v"}', lat: 37.42, lon: -122.08, city: 'Mountain View' });
      assert.match(s.stream_id, /^[0-9a-f-]{36}$/);
      assert.equal(s.stream_type, 'HLS');
      assert.equal(s.aws_prefix, `kickflip-test/alice/${s.stream_id}/`);
      assert.equal(s.aws_region, 'eu-west-1');
      assert.equal(s.bucket_name, server.running.core.uploads.bucket);
      assert.match(s.aws_access_key, /^ASIA/);
      assert.ok(s.aws_secret_key.length >= 40);
      assert.ok(s.aws_session_token.length > 0);
      assert.ok(parseKickflipDate(s.aws_duration) > Date.now(), `aws_duration ${s.aws_duration} is in the future`);
      assert.equal(s.upload_url, `http://media.example.com:8080/s3/${s.bucket_name}/kickflip-test/alice/${s.stream_id}/`);
      // The playlist of the broadcast the stream will be: the same URL live and after stop (stream-url.test.ts plays it).
      assert.match(s.stream_url, new RegExp(`^http://media\\.example\\.com:8080/hls/${s.stream_id}/[0-9a-f-]{36}/index\\.m3u8$`));
      assert.equal(s.kickflip_url, `http://media.example.com:8080/${s.stream_id}`);
      assert.equal(s.thumbnail_url, `${s.upload_url}thumb.jpg`);
      const key = (await server.running.core.streams.findById(s.stream_id))!.key;
      assert.equal(s.rtmp_url, `rtmp://media.example.com:${server.running.rtmpPort}/live/${key}`);
      assert.equal(s.user_username, 'alice');
      assert.equal(s.title, 'First');
      assert.equal(s.extra_info, '{"k":"v"}');
      assert.equal(s.lat, 37.42);
      assert.equal(s.lon, -122.08);
      assert.equal(s.private, false);
      assert.equal(s.deleted, false);
      assert.ok(!('time_finished' in s), 'no time_finished while live');
      assert.ok(Math.abs(parseKickflipDate(s.time_started) - Date.now()) < 5000);
    });

    it('stream/start with only a uuid (iOS) and as JSON with a trailing slash; bad values or an unknown uuid store nothing', async () => {
      const ios = await startStream(server, alice);
      assert.ok(!('lat' in ios) && !('title' in ios), 'unknown values are left out, never null');
      ok(await call(server, alice.token, 'stream/start', { uuid: alice.user.uuid, private: true, lat: 1.5, lon: 2.5 }, { json: true, slash: true }));
      const stranger = await accessToken(server, app);
      const before = await server.snapshot();
      failed(await call(server, stranger, 'stream/start', { uuid: '00000000-0000-4000-8000-000000000000' }), /uuid/);
      failed(await call(server, stranger, 'stream/start', {}), /uuid|username/);
      failed(await call(server, alice.token, 'stream/start', { uuid: alice.user.uuid, lat: 91, lon: 0 }), /lat/);
      failed(await call(server, alice.token, 'stream/start', { uuid: alice.user.uuid, lat: 'north', lon: 0 }), /lat/);
      failed(await call(server, alice.token, 'stream/start', { uuid: alice.user.uuid, lat: 10 }), /lon/);
      failed(await call(server, alice.token, 'stream/start', { uuid: alice.user.uuid, private: 'maybe' }), /private/);
      failed(await call(server, alice.token, 'stream/start', { uuid: alice.user.uuid, title: 'x'.repeat(300) }), /title/);
      assert.equal(await server.snapshot(), before);
    });

    it('stream/info works without a uuid for public streams; private streams only for their owner', async () => {
      const pub = await startStream(server, alice, { title: 'Public' });
      const priv = await startStream(server, alice, { title: 'Secret', private: true });
      const viewer = await accessToken(server, app);
      const info = ok(await call(server, viewer, 'stream/info', { stream_id: pub.stream_id }));
      assert.equal(info.title, 'Public');
      assert.ok(!('aws_secret_key' in info) && !('rtmp_url' in info), 'no credentials outside stream/start');
      failed(await call(server, viewer, 'stream/info', { stream_id: priv.stream_id }), /stream/i);
      failed(await call(server, bob.token, 'stream/info', { stream_id: priv.stream_id, uuid: bob.user.uuid }), /stream/i);
      assert.equal(ok(await call(server, alice.token, 'stream/info', { stream_id: priv.stream_id, uuid: alice.user.uuid })).private, true);
      failed(await call(server, viewer, 'stream/info', { stream_id: '00000000-0000-4000-8000-000000000000' }), /stream/i);
      failed(await call(server, viewer, 'stream/info', {}), /stream_id/);
      // Another client never sees it.
      const other = await newDevice(server, await newClient(server, 'Elsewhere'));
      failed(await call(server, other.token, 'stream/info', { stream_id: pub.stream_id }), /stream/i);
    });

    it('stream/change sets metadata from Android (lat/lon) and from iOS (its whole model back, empties and zeros ignored)', async () => {
      const s = await startStream(server, alice, { title: 'Before', description: 'desc', city: 'Paris', lat: 48.85, lon: 2.35 });
      const android = ok(await call(server, alice.token, 'stream/change', { stream_id: s.stream_id, uuid: alice.user.uuid, title: 'After', lat: 48.86, lon: 2.36, thumbnail_url: 'https://bucket.s3.amazonaws.com/x/thumb.jpg' }));
      assert.equal(android.title, 'After');
      assert.equal(android.description, 'desc');
      assert.equal(android.lat, 48.86);
      assert.equal(android.thumbnail_url, 'https://bucket.s3.amazonaws.com/x/thumb.jpg');
      // iOS: the model as it holds it, AWS fields and all, with unset fields empty and unset coordinates 0.
      // (KFStream carries start_lat/start_lon, not Android's lat/lon.)
      const { lat: _lat, lon: _lon, ...iosFields } = { ...s, ...android };
      const model = { ...iosFields, uuid: alice.user.uuid, title: 'From iOS', description: '', city: '', start_lat: 0, start_lon: 0, end_lat: 0, end_lon: 0, extra_info: '', state: 'IDF', private: false, deleted: false, unknown_field: 'x' };
      const ios = ok(await call(server, alice.token, 'stream/change', model));
      assert.equal(ios.title, 'From iOS');
      assert.equal(ios.description, 'desc');
      assert.equal(ios.city, 'Paris');
      assert.equal(ios.state, 'IDF');
      assert.equal(ios.lat, 48.86);
      assert.equal(ios.thumbnail_url, 'https://bucket.s3.amazonaws.com/x/thumb.jpg');
      assert.ok(!('end_lat' in ios));
      const moved = ok(await call(server, alice.token, 'stream/change', { stream_id: s.stream_id, uuid: alice.user.uuid, start_lat: -33.9, start_lon: 151.2, end_lat: -33.8, end_lon: 151.3 }, { json: true }));
      assert.deepEqual([moved.lat, moved.lon, moved.start_lat, moved.end_lat, moved.end_lon], [-33.9, 151.2, -33.9, -33.8, 151.3]);
    });

    it("another user's stream, an unknown stream and bad values: success false and nothing changes", async () => {
      const s = await startStream(server, alice, { title: 'Mine' });
      const before = await server.snapshot();
      for (const endpoint of ['stream/change', 'stream/stop', 'stream/pause', 'stream/resume']) {
        failed(await call(server, bob.token, endpoint, { stream_id: s.stream_id, uuid: bob.user.uuid, title: 'Taken' }), /stream/i);
      }
      failed(await call(server, alice.token, 'stream/change', { stream_id: '00000000-0000-4000-8000-000000000000', uuid: alice.user.uuid, title: 'x' }), /stream/i);
      failed(await call(server, alice.token, 'stream/change', { stream_id: s.stream_id, uuid: alice.user.uuid, title: 'Fine', thumbnail_url: 'javascript:alert(1)' }), /thumbnail_url/);
      failed(await call(server, alice.token, 'stream/change', { stream_id: s.stream_id, uuid: alice.user.uuid, title: 'Fine', lon: 200, lat: 0 }), /lon/);
      failed(await call(server, alice.token, 'stream/change', { stream_id: s.stream_id, uuid: alice.user.uuid, deleted: 'perhaps' }), /deleted/);
      failed(await call(server, alice.token, 'stream/change', { uuid: alice.user.uuid, title: 'x' }), /stream_id/);
      assert.equal(await server.snapshot(), before);
    });

    it('deleted streams vanish for everyone but their owner; the owner can bring one back', async () => {
      const s = await startStream(server, alice, { title: 'Doomed' });
      const gone = ok(await call(server, alice.token, 'stream/change', { stream_id: s.stream_id, uuid: alice.user.uuid, deleted: true }));
      assert.equal(gone.deleted, true);
      failed(await call(server, bob.token, 'stream/info', { stream_id: s.stream_id, uuid: bob.user.uuid }));
      assert.equal(ok(await call(server, alice.token, 'stream/info', { stream_id: s.stream_id, uuid: alice.user.uuid })).deleted, true);
      assert.equal(await server.running.core.streams.findById(s.stream_id), undefined, 'a deleted stream is gone for playback and ingest');
      const back = ok(await call(server, alice.token, 'stream/change', { stream_id: s.stream_id, uuid: alice.user.uuid, deleted: 'false' }));
      assert.equal(back.deleted, false);
      ok(await call(server, bob.token, 'stream/info', { stream_id: s.stream_id }));
    });

    it('pause and resume move the stream; stop finishes it: time_finished, the same stream_url, credentials released', async () => {
      const s = await startStream(server, alice);
      const paused = ok(await call(server, alice.token, 'stream/pause', { stream_id: s.stream_id, uuid: alice.user.uuid, lat: 10, lon: 20 }));
      assert.equal(paused.lat, 10);
      const resumed = ok(await call(server, alice.token, 'stream/resume/', { stream_id: s.stream_id, uuid: alice.user.uuid }));
      assert.equal(resumed.lat, 10);
      const stopped = ok(await call(server, alice.token, 'stream/stop', { stream_id: s.stream_id, uuid: alice.user.uuid, lat: 11, lon: 21 }));
      assert.equal(stopped.end_lat, 11);
      assert.equal(stopped.end_lon, 21);
      assert.match(stopped.time_finished, /^\d\d\/\d\d\/\d{4} /);
      assert.equal(stopped.stream_url, s.stream_url, 'the URL stream/start gave plays the recording after stop');
      assert.equal(typeof stopped.length, 'number');
      const credential = await server.running.core.uploads.credential(s.aws_access_key);
      assert.ok(credential && Date.parse(credential.expiresAt) < parseKickflipDate(s.aws_duration), 'the credentials now end after the grace period');
      // Stopping again is harmless and keeps the first finish time.
      const again = ok(await call(server, alice.token, 'stream/stop', { stream_id: s.stream_id, uuid: alice.user.uuid }));
      assert.equal(again.time_finished, stopped.time_finished);
    });

    it('stream/flag: once per user per stream, only streams the user can see', async () => {
      const s = await startStream(server, alice, { title: 'Flag me' });
      const priv = await startStream(server, alice, { private: true });
      const first = ok(await call(server, bob.token, 'stream/flag', { stream_id: s.stream_id, uuid: bob.user.uuid }));
      assert.equal(first.flag_count, 1);
      const before = await server.snapshot();
      failed(await call(server, bob.token, 'stream/flag', { stream_id: s.stream_id, uuid: bob.user.uuid }), /already/);
      failed(await call(server, bob.token, 'stream/flag', { stream_id: priv.stream_id, uuid: bob.user.uuid }), /stream/i);
      failed(await call(server, bob.token, 'stream/flag', { stream_id: '00000000-0000-4000-8000-000000000000', uuid: bob.user.uuid }), /stream/i);
      assert.equal(await server.snapshot(), before);
      assert.equal(ok(await call(server, alice.token, 'stream/flag', { stream_id: s.stream_id, uuid: alice.user.uuid })).flag_count, 2);
    });
  });
}
