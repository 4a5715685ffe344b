/**
 * Multistreamer API v1: /auth with a rig login, profile, user list, and network accounts
 * (create, list, one, update, shares, delete or leave), each account attached to a stream being
 * a relay destination that follows the account's changes; errors in the original's style and
 * nothing changed by a refused request.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { assertError, basic, ms, msUser, newStream, PASSWORD, rtmpAccount, TIMESTAMP, type MsUser } from './support.js';

for (const kind of databaseKinds()) {
  describe(`multistreamer users and accounts on ${kind}`, () => {
    let server: TestServer;
    let owner: MsUser;
    let friend: MsUser;
    let stranger: MsUser;
    before(async () => {
      server = await startTestServer(kind, LOCAL_PEERS);
      owner = await msUser(server, 'owner');
      friend = await msUser(server, 'friend');
      stranger = await msUser(server, 'stranger');
    });
    after(() => server.close());

    describe('GET /auth', () => {
      it('gives a rig user (same username and password) a 20 upper-hex token, the same every time', async () => {
        assert.match(owner.token, /^[0-9A-F]{20}$/);
        const again = await server.request('GET', '/api/v1/auth', { headers: { authorization: basic(owner.username, PASSWORD) } });
        assert.deepEqual(again.json, { token: owner.token });
        const post = await server.request('POST', '/api/v1/auth', { headers: { authorization: basic(owner.username, PASSWORD) } });
        assert.deepEqual(post.json, { token: owner.token });
      });

      it('refuses a wrong password, an unknown user, a Bearer token and no credentials with 401', async () => {
        for (const authorization of [basic(owner.username, 'wrong password'), basic('nobody-here', PASSWORD), `Bearer ${owner.token}`, undefined]) {
          const r = await server.request('GET', '/api/v1/auth', { headers: authorization ? { authorization } : {} });
          assertError(r, 401, 'endpoint requires authorization');
        }
      });
    });

    describe('authentication of the other endpoints', () => {
      it('answers 401 without a token, with a bad one and with Basic credentials', async () => {
        const paths: [string, string][] = [['GET', '/profile'], ['GET', '/user'], ['GET', '/account'], ['GET', '/stream'], ['POST', '/stream'], ['PATCH', '/stream/1'], ['POST', '/stream/1/msg'], ['DELETE', '/account/1'], ['GET', '/no-such-endpoint']];
        for (const [method, path] of paths) {
          assertError(await ms(server, method, path, undefined, method === 'POST' ? { body: {} } : {}), 401, 'endpoint requires authorization');
          const bad = await server.request(method, `/api/v1${path}`, { token: '0123456789ABCDEF0123', ...(method === 'POST' ? { body: {} } : {}) });
          assertError(bad, 401, 'endpoint requires authorization');
          const basicAuth = await server.request(method, `/api/v1${path}`, { headers: { authorization: basic(owner.username, PASSWORD) } });
          assertError(basicAuth, 401, 'endpoint requires authorization');
        }
      });

      it('answers an unknown endpoint with a JSON 404 once authenticated', async () => {
        const r = await ms(server, 'GET', '/no-such-endpoint', owner);
        assert.equal(r.status, 404);
        assert.match(r.json.error, /no such endpoint/);
      });
    });

    describe('GET /profile, GET /user', () => {
      it('shows the caller with their token and timestamps', async () => {
        const r = await ms(server, 'GET', '/profile', owner);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'created_at', 'id', 'updated_at', 'username']);
        assert.equal(r.json.username, owner.username);
        assert.equal(r.json.access_token, owner.token);
        assert.equal(typeof r.json.id, 'number');
        assert.match(r.json.created_at, TIMESTAMP);
      });

      it('lists every user, the caller alone with a token, at /user and /users', async () => {
        for (const path of ['/user', '/users']) {
          const r = await ms(server, 'GET', path, friend);
          assert.equal(r.status, 200, r.text);
          const me = r.json.users.find((u: any) => u.username === friend.username);
          assert.deepEqual(me, { id: friend.id, username: friend.username, access_token: friend.token });
          const other = r.json.users.find((u: any) => u.username === owner.username);
          assert.deepEqual(other, { id: owner.id, username: owner.username });
          assert.ok(!r.text.includes(owner.token) && !r.text.includes(stranger.token));
        }
      });

      it('gives a user signed up later an id when the list is read', async () => {
        const created = await server.request('POST', '/accounts/', { body: { username: `late${process.pid}`, password: PASSWORD, email: `late${process.pid}@example.net` } });
        assert.equal(created.status, 200, created.text);
        const r = await ms(server, 'GET', '/user', owner);
        const late = r.json.users.find((u: any) => u.username === `late${process.pid}`);
        assert.equal(typeof late.id, 'number');
        assert.equal(late.access_token, undefined);
      });
    });

    describe('POST /account (create)', () => {
      it('creates a custom RTMP account, shown with its settings and (to its owner) its shares', async () => {
        const r = await ms(server, 'POST', '/account', owner, {
          body: { network: 'rtmp', settings: { name: 'My Relay', url: 'rtmp://127.0.0.1/live/key1', http_url: 'https://watch.example/me' }, ffmpeg_args: '-c:v copy -c:a aac' },
        });
        assert.equal(r.status, 200, r.text);
        const a = r.json.account;
        assert.equal(typeof a.id, 'number');
        assert.equal(a.user_id, owner.id);
        assert.equal(a.network, 'rtmp');
        assert.equal(a.name, 'My Relay');
        assert.equal(a.slug, 'my-relay');
        assert.equal(a.ffmpeg_args, '-c:v copy -c:a aac');
        assert.deepEqual(a.settings, { name: 'My Relay', url: 'rtmp://127.0.0.1/live/key1', http_url: 'https://watch.example/me' });
        assert.deepEqual(a.shares, []);
        assert.match(a.created_at, TIMESTAMP);
        assert.match(a.updated_at, TIMESTAMP);
      });

      it('creates Twitch and YouTube accounts from an ingest key, which is never shown back', async () => {
        const r = await ms(server, 'POST', '/account', owner, { body: { network: 'twitch', name: 'jprjrdev', settings: { stream_key: 'live_123_secretkey' } } });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json.account.settings, { name: 'jprjrdev' });
        assert.ok(!r.text.includes('live_123_secretkey'));
        const y = await ms(server, 'POST', '/account', owner, {
          body: { network: 'youtube', settings: { name: 'Tube', stream_key: 'abcd-efgh-ijkl', ingest_url: 'rtmp://b.rtmp.youtube.com/live2' } },
        });
        assert.equal(y.status, 200, y.text);
        assert.deepEqual(y.json.account.settings, { name: 'Tube', ingest_url: 'rtmp://b.rtmp.youtube.com/live2' });
        const list = await ms(server, 'GET', '/account', owner);
        assert.ok(!list.text.includes('live_123_secretkey') && !list.text.includes('abcd-efgh-ijkl'));
      });

      it('refuses bad input with 400 and changes nothing', async () => {
        await rtmpAccount(server, owner, 'Taken Name');
        const before = await server.snapshot();
        const cases: [unknown, string | RegExp][] = [
          [{ network: 'mixer', settings: { name: 'x' } }, /network must be one of twitch, youtube, rtmp/],
          [{ settings: { name: 'x' } }, 'missing parameter: network'],
          [{ network: 'rtmp', settings: { name: 'No URL' } }, 'missing required field url'],
          [{ network: 'rtmp', settings: { url: 'rtmp://h/app/key' } }, 'missing required field name'],
          [{ network: 'rtmp', settings: { name: 'Bad URL', url: 'http://example.com/x' } }, /^url must be an rtmp/],
          [{ network: 'rtmp', settings: { name: 'Extra', url: 'rtmp://h/app/key', color: 'red' } }, /unknown setting color/],
          [{ network: 'twitch', settings: { name: 'NoKey' } }, 'missing required field stream_key'],
          [{ network: 'twitch', settings: { name: 'BadKey', stream_key: 'a/b' } }, /^stream_key must be printable/],
          [{ network: 'rtmp', settings: { name: 'Taken-Name', url: 'rtmp://h/app/key' } }, 'Account name conflicts with "Taken-Name"'],
          [{ network: 'rtmp', settings: { name: 'Args', url: 'rtmp://h/app/key' }, ffmpeg_args: '-c copy /tmp/evil.flv' }, /second output file/],
          [{ network: 'rtmp', settings: { name: 'Args2', url: 'rtmp://h/app/key' }, ffmpeg_args: '-i /etc/passwd' }, /-i is not allowed/],
          [{ network: 'rtmp', settings: { name: 'Args3', url: 'rtmp://h/app/key' }, ffmpeg_args: "-metadata 'title" }, /unterminated quote/],
          [{ network: 'rtmp', settings: { name: 'Share', url: 'rtmp://h/app/key' }, shares: [{ user: { id: 999999 } }] }, 'user 999999 not found'],
          [{ network: 'rtmp', settings: { name: 7, url: 'rtmp://h/app/key' } }, 'name must be a string'],
          [[1, 2], 'request body must be a JSON object'],
        ];
        for (const [body, error] of cases) assertError(await ms(server, 'POST', '/account', owner, { body }), 400, error);
        assert.equal(await server.snapshot(), before);
      });

      it('needs exactly application/json and well-formed JSON', async () => {
        const before = await server.snapshot();
        const body = JSON.stringify({ network: 'rtmp', settings: { name: 'CT', url: 'rtmp://h/app/key' } });
        for (const contentType of ['application/json; charset=utf-8', 'text/plain', null]) {
          assertError(await ms(server, 'POST', '/account', owner, { rawBody: body, contentType }), 400, 'content-type must be application/json');
        }
        assertError(await ms(server, 'POST', '/account', owner, { rawBody: '{"network": "rtmp",', contentType: 'application/json' }), 400, 'request body is not valid JSON');
        assert.equal(await server.snapshot(), before);
      });
    });

    describe('GET, POST and DELETE /account/:id', () => {
      it('shows a shared account to its sharee (without shares) and to nobody else', async () => {
        const account = await rtmpAccount(server, owner, 'Shared One', 'rtmp://127.0.0.1/live/sharedkey', { shares: [{ user: { id: friend.id } }] });
        assert.deepEqual(account.shares, [{ user: { id: friend.id, username: friend.username } }]);
        const mine = await ms(server, 'GET', `/account/${account.id}`, owner);
        assert.deepEqual(mine.json.account.shares, [{ user: { id: friend.id, username: friend.username } }]);
        const theirs = await ms(server, 'GET', `/account/${account.id}`, friend);
        assert.equal(theirs.status, 200, theirs.text);
        assert.equal(theirs.json.account.shares, undefined);
        assert.equal(theirs.json.account.user_id, owner.id);
        // The URL carries the owner's key: the sharee sees it hidden (sharee-keys.test.ts tries every other place).
        assert.equal(theirs.json.account.settings.url, 'rtmp://127.0.0.1/live/[redacted]');
        assert.equal(mine.json.account.settings.url, 'rtmp://127.0.0.1/live/sharedkey');
        const list = await ms(server, 'GET', '/account', friend);
        assert.ok(list.json.accounts.some((a: any) => a.id === account.id));
        assertError(await ms(server, 'GET', `/account/${account.id}`, stranger), 400, 'unauthorized to access that account');
        assert.ok(!(await ms(server, 'GET', '/account', stranger)).json.accounts.some((a: any) => a.id === account.id));
        for (const id of ['999999', 'abc', '0', '-1']) assertError(await ms(server, 'GET', `/account/${id}`, owner), 400, 'unauthorized to access that account');
      });

      it('lets the owner alone change settings, ffmpeg_args and shares; the relays of attached streams follow', async () => {
        const account = await rtmpAccount(server, owner, 'Movable', 'rtmp://127.0.0.1/live/first');
        const stream = await newStream(server, owner, { name: 'Follows Account', accounts: [{ id: account.id }] });
        const streamId = (await server.running.core.multistreams.streamIdOf(stream.id))!;
        let [destination] = await server.running.core.streams.destinationsOf(streamId);
        assert.equal(destination!.rtmpUrl, 'rtmp://127.0.0.1/live/first');
        assert.equal(destination!.ffmpegArgs, null);

        const before = await server.snapshot();
        assertError(await ms(server, 'POST', `/account/${account.id}`, friend, { body: { ffmpeg_args: '-c copy' } }), 400, 'unauthorized to use that account');
        assertError(await ms(server, 'POST', `/account/${account.id}`, owner, { body: { settings: { url: null } } }), 400, 'missing required field url');
        assertError(await ms(server, 'POST', `/account/${account.id}`, owner, { body: { settings: { url: 'ftp://x/y/z' } } }), 400, /^url must be an rtmp/);
        assertError(await ms(server, 'POST', `/account/${account.id}`, owner, { body: { settings: { url: 5 } } }), 400, 'settings.url must be a string or null');
        assert.equal(await server.snapshot(), before);

        const r = await ms(server, 'POST', `/account/${account.id}`, owner, {
          body: { settings: { url: 'rtmps://127.0.0.1/live/second', http_url: 'https://w.example/x' }, ffmpeg_args: "-c:v copy -metadata 'title=a b'", shares: [{ user: { id: friend.id } }] },
        });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.account.settings.url, 'rtmps://127.0.0.1/live/second');
        assert.equal(r.json.account.ffmpeg_args, "-c:v copy -metadata 'title=a b'");
        assert.deepEqual(r.json.account.shares, [{ user: { id: friend.id, username: friend.username } }]);
        [destination] = await server.running.core.streams.destinationsOf(streamId);
        assert.equal(destination!.service, 'RTMP');
        assert.equal(destination!.rtmpUrl, 'rtmps://127.0.0.1/live/second');
        assert.deepEqual(destination!.ffmpegArgs, ['-c:v', 'copy', '-metadata', 'title=a b']);

        const cleared = await ms(server, 'POST', `/account/${account.id}`, owner, { body: { ffmpeg_args: null, shares: null, settings: { http_url: null } } });
        assert.equal(cleared.json.account.ffmpeg_args, undefined);
        assert.deepEqual(cleared.json.account.shares, []);
        assert.equal(cleared.json.account.settings.http_url, undefined);
        [destination] = await server.running.core.streams.destinationsOf(streamId);
        assert.equal(destination!.ffmpegArgs, null);
      });

      it('a sharee leaving a share takes the account off their own streams; the owner deleting it removes every relay', async () => {
        const account = await rtmpAccount(server, owner, 'Leaving', 'rtmp://127.0.0.1/live/leave', { shares: [{ user: { id: friend.id } }] });
        const friendStream = await newStream(server, friend, { name: 'Friend Uses Shared', accounts: [{ id: account.id }] });
        const ownerStream = await newStream(server, owner, { name: 'Owner Uses Own', accounts: [{ id: account.id }] });
        const friendStreamId = (await server.running.core.multistreams.streamIdOf(friendStream.id))!;
        const ownerStreamId = (await server.running.core.multistreams.streamIdOf(ownerStream.id))!;
        assert.equal((await server.running.core.streams.destinationsOf(friendStreamId)).length, 1);
        assert.deepEqual(
          (await server.running.core.networkAccounts.ofStream(friendStreamId)).map((a) => ({ id: a.id, network: a.network, networkDisplayName: a.networkDisplayName, httpUrl: a.httpUrl })),
          [{ id: account.id, network: 'rtmp', networkDisplayName: 'Custom RTMP', httpUrl: null }],
        );

        assertError(await ms(server, 'DELETE', `/account/${account.id}`, stranger), 400, 'unauthorized to use that account');
        const left = await ms(server, 'DELETE', `/account/${account.id}`, friend);
        assert.deepEqual(left.json, { status: 'success' });
        assertError(await ms(server, 'GET', `/account/${account.id}`, friend), 400, 'unauthorized to access that account');
        assert.equal((await server.running.core.streams.destinationsOf(friendStreamId)).length, 0);
        assert.equal((await server.running.core.streams.destinationsOf(ownerStreamId)).length, 1);
        assert.deepEqual((await ms(server, 'GET', `/account/${account.id}`, owner)).json.account.shares, []);

        assert.deepEqual((await ms(server, 'DELETE', `/account/${account.id}`, owner)).json, { status: 'success' });
        assertError(await ms(server, 'GET', `/account/${account.id}`, owner), 400, 'unauthorized to access that account');
        assert.equal((await server.running.core.streams.destinationsOf(ownerStreamId)).length, 0);
        assert.equal((await ms(server, 'GET', `/stream/${ownerStream.id}`, owner)).json.stream.accounts.length, 0);
      });

      it('builds Twitch and YouTube relays from the ingest server and key', async () => {
        const twitch = await ms(server, 'POST', '/account', owner, { body: { network: 'twitch', settings: { name: 'Twitchy', stream_key: 'live_1_abc' } } });
        const tube = await ms(server, 'POST', '/account', owner, { body: { network: 'youtube', settings: { name: 'Tuby', stream_key: 'yt-key', ingest_url: 'rtmp://127.0.0.1:1936/live2/' } } });
        const stream = await newStream(server, owner, {
          name: 'Both Networks',
          accounts: [
            { id: twitch.json.account.id, settings: { title: 'T', game: 'G' }, ffmpeg_args: '-c:v copy -c:a aac -b:a 96k' },
            { id: tube.json.account.id, settings: { title: 'Y', privacy: 'unlisted' } },
          ],
        });
        const streamId = (await server.running.core.multistreams.streamIdOf(stream.id))!;
        const destinations = await server.running.core.streams.destinationsOf(streamId);
        assert.deepEqual(
          destinations.map((d) => [d.rtmpUrl, d.ffmpegArgs]),
          [
            ['rtmp://live.twitch.tv/app/live_1_abc', ['-c:v', 'copy', '-c:a', 'aac', '-b:a', '96k']],
            ['rtmp://127.0.0.1:1936/live2/yt-key', null],
          ],
        );
      });
    });
  });
}
