/**
 * Multistreamer API v1 streams: create, list, one, update (accounts with per-stream settings,
 * shares, webhooks), delete, go-live status and chat injection; every chat/metadata level
 * combination (what is hidden, what may be edited, who may post); errors in the original's style;
 * nothing changed by a refused request.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { assertError, basic, ms, msUser, newStream, PASSWORD, rtmpAccount, TIMESTAMP, type MsUser } from './support.js';

const LEVELS = [0, 1, 2] as const;

for (const kind of databaseKinds()) {
  describe(`multistreamer streams on ${kind}`, () => {
    let server: TestServer;
    let owner: MsUser;
    let friend: MsUser;
    let stranger: MsUser;
    const streamIdOf = async (id: number) => (await server.running.core.multistreams.streamIdOf(id))!;
    before(async () => {
      server = await startTestServer(kind, LOCAL_PEERS);
      owner = await msUser(server, 'owner');
      friend = await msUser(server, 'friend');
      stranger = await msUser(server, 'stranger');
    });
    after(() => server.close());

    describe('POST /stream (create) and GET', () => {
      it('creates a stream with accounts, shares and webhooks, shown to its owner in full', async () => {
        const relay = await rtmpAccount(server, owner, 'Create Relay', 'rtmp://127.0.0.1/live/createkey', { ffmpeg_args: '-c:v copy -c:a aac' });
        const twitch = (await ms(server, 'POST', '/account', owner, { body: { network: 'twitch', settings: { name: 'CreateTwitch', stream_key: 'live_9_k' } } })).json.account;
        const r = await ms(server, 'POST', '/stream', owner, {
          body: {
            name: 'Example Stream2',
            title: 'hrm',
            description: 'updating the desc',
            preview_required: 1,
            accounts: [{ id: relay.id }, { id: twitch.id, settings: { title: 'Just testing', game: 'Creative' }, ffmpeg_args: '-c copy' }],
            shares: [{ user: { id: friend.id }, chat_level: 1, metadata_level: 1 }],
            webhooks: [{ url: 'https://hooks.example/raw', type: 'raw', events: { 'stream:start': true }, notes: 'mine' }],
          },
        });
        assert.equal(r.status, 200, r.text);
        const s = r.json.stream;
        assert.equal(typeof s.id, 'number');
        assert.equal(s.user_id, owner.id);
        assert.equal(s.name, 'Example Stream2');
        assert.equal(s.slug, 'example-stream2');
        assert.equal(s.title, 'hrm');
        assert.equal(s.description, 'updating the desc');
        assert.equal(s.preview_required, 1);
        // The preview a user watches before going live: the stream's live HLS playlist.
        assert.match(s.preview_url, /^http:\/\/[^/]+\/hls\/[0-9a-f-]{36}\/index\.m3u8$/);
        assert.equal(s.live, false);
        assert.match(s.created_at, TIMESTAMP);
        assert.match(s.updated_at, TIMESTAMP);
        // The uuid is the RTMP key.
        const byKey = await server.running.core.streams.findByKey(s.uuid);
        assert.equal(byKey?.id, await streamIdOf(s.id));
        assert.equal(s.accounts.length, 2);
        const [a1, a2] = s.accounts;
        assert.deepEqual(a1.settings, {});
        assert.equal(a1.metadata_fields, undefined);
        assert.equal(a1.user_id, owner.id);
        assert.equal(a2.network, 'twitch');
        assert.deepEqual(a2.settings, { title: 'Just testing', game: 'Creative' });
        assert.equal(a2.ffmpeg_args, '-c copy');
        assert.deepEqual(a2.metadata_fields, [
          { key: 'title', label: 'Title', type: 'text', required: true, value: 'Just testing' },
          { key: 'game', label: 'Game', type: 'text', required: true, value: 'Creative' },
        ]);
        assert.equal(s.shares.length, 1);
        assert.deepEqual({ ...s.shares[0], created_at: undefined, updated_at: undefined }, { chat_level: 1, metadata_level: 1, user: { id: friend.id, username: friend.username }, created_at: undefined, updated_at: undefined });
        assert.match(s.shares[0].created_at, TIMESTAMP);
        assert.equal(s.webhooks.length, 1);
        assert.equal(s.webhooks[0].url, 'https://hooks.example/raw');
        assert.equal(s.webhooks[0].events['stream:start'], true);
        assert.match(s.webhooks[0].secret, /^[0-9a-f]{64}$/);

        // Each account is a relay destination: the account's URL, the stream's ffmpeg_args for it, else the account's.
        const destinations = await server.running.core.streams.destinationsOf(await streamIdOf(s.id));
        assert.deepEqual(
          destinations.map((d) => [d.service, d.rtmpUrl, d.ffmpegArgs, d.enabled]),
          [
            ['RTMP', 'rtmp://127.0.0.1/live/createkey', ['-c:v', 'copy', '-c:a', 'aac'], true],
            ['RTMP', 'rtmp://live.twitch.tv/app/live_9_k', ['-c', 'copy'], true],
          ],
        );
        const one = await ms(server, 'GET', `/stream/${s.id}`, owner);
        assert.deepEqual(one.json.stream, s);
        const list = await ms(server, 'GET', '/stream', owner);
        assert.deepEqual(list.json.streams.find((x: any) => x.id === s.id), s);
      });

      it('refuses bad streams with 400 and changes nothing', async () => {
        const twitch = (await ms(server, 'POST', '/account', owner, { body: { network: 'twitch', settings: { name: 'RefuseTwitch', stream_key: 'k1' } } })).json.account;
        const tube = (await ms(server, 'POST', '/account', owner, { body: { network: 'youtube', settings: { name: 'RefuseTube', stream_key: 'k2' } } })).json.account;
        const foreign = await rtmpAccount(server, stranger, 'Not Yours');
        await newStream(server, owner, { name: 'Taken Stream' });
        const before = await server.snapshot();
        const cases: [unknown, string | RegExp][] = [
          [{ title: 'no name' }, 'name needed when making new stream'],
          [{ name: 'taken stream' }, 'Stream name conflicts with "taken stream"'],
          [{ name: '   ' }, /must not be empty/],
          [{ name: 'Bad', accounts: [{ id: twitch.id, settings: { title: 'only title' } }] }, 'missing required field game'],
          [{ name: 'Bad', accounts: [{ id: twitch.id }] }, 'missing required field title'],
          [{ name: 'Bad', accounts: [{ id: tube.id, settings: { title: 't', privacy: 'secret' } }] }, /privacy must be one of public, unlisted, private/],
          [{ name: 'Bad', accounts: [{ id: twitch.id, settings: { title: 't', game: 'g', mood: 'x' } }] }, /unknown setting mood/],
          [{ name: 'Bad', accounts: [{ id: foreign.id }] }, 'unauthorized to use that account'],
          [{ name: 'Bad', accounts: [{ id: 999999 }] }, 'unauthorized to use that account'],
          [{ name: 'Bad', accounts: [{ id: '1' }] }, 'account id must be an integer'],
          [{ name: 'Bad', preview_required: 2 }, 'preview_required must be 0 or 1'],
          [{ name: 'Bad', shares: [{ user: { id: friend.id }, chat_level: 3, metadata_level: 0 }] }, 'chat_level must be 0, 1 or 2'],
          [{ name: 'Bad', shares: [{ user: { id: 999999 }, chat_level: 1 }] }, 'user 999999 not found'],
          [{ name: 'Bad', ffmpeg_pull_args: 'input.mp4' }, /^ffmpeg_pull_args /],
          [{ name: 'Bad', webhooks: [{ url: 'ftp://x', type: 'raw', events: {} }] }, /Invalid webhook/],
          [{ name: 'Bad', webhooks: [{ url: 'https://x.example', type: 'slack', events: {} }] }, /Invalid webhook/],
        ];
        for (const [body, error] of cases) assertError(await ms(server, 'POST', '/stream', owner, { body }), 400, error);
        assert.equal(await server.snapshot(), before);
      });

      it('needs exactly application/json and well-formed JSON', async () => {
        const before = await server.snapshot();
        assertError(await ms(server, 'POST', '/stream', owner, { rawBody: '{"name":"x"}', contentType: 'application/json; charset=utf-8' }), 400, 'content-type must be application/json');
        assertError(await ms(server, 'POST', '/stream', owner, { rawBody: '{"name":', contentType: 'application/json' }), 400, 'request body is not valid JSON');
        assertError(await ms(server, 'POST', '/stream', owner, { rawBody: '', contentType: 'application/json' }), 400, 'request body must be a JSON object');
        assert.equal(await server.snapshot(), before);
      });

      it('answers unknown and invisible streams with 400', async () => {
        const s = await newStream(server, owner, { name: 'Private Matter' });
        for (const id of [String(s.id), '999999', 'abc']) {
          assertError(await ms(server, 'GET', `/stream/${id}`, stranger), 400, 'unauthorized to access that stream');
          assertError(await ms(server, 'POST', `/stream/${id}`, stranger, { body: { title: 'x' } }), 400, 'unauthorized to use that stream');
          assertError(await ms(server, 'PATCH', `/stream/${id}`, stranger), 400, 'unauthorized to use that stream');
          assertError(await ms(server, 'DELETE', `/stream/${id}`, stranger), 400, 'unauthorized to use that stream');
          assertError(await ms(server, 'POST', `/stream/${id}/msg`, stranger, { body: { network: 'x', from: { name: 'x' }, type: 'text', text: 'x' } }), 400, 'unauthorized to use that stream');
        }
        assert.ok(!(await ms(server, 'GET', '/stream', stranger)).json.streams.some((x: any) => x.id === s.id));
      });
    });

    describe('sharing levels', () => {
      const sharees = new Map<string, MsUser>();
      let stream: any;
      let ownerAccount: any;
      before(async () => {
        ownerAccount = await rtmpAccount(server, owner, 'Levels Relay');
        const shares = [];
        for (const c of LEVELS) {
          for (const m of LEVELS) {
            const user = await msUser(server, `c${c}m${m}`);
            sharees.set(`${c}${m}`, user);
            shares.push({ user: { id: user.id }, chat_level: c, metadata_level: m });
          }
        }
        stream = await newStream(server, owner, { name: 'Levels', title: 'T', description: 'D', ffmpeg_pull_args: '-re -i https://8.8.8.8/in.mp4', accounts: [{ id: ownerAccount.id }], shares });
        assert.equal(stream.shares.length, 8, 'both levels 0 is no share');
      });

      it('shows each level what it may see, and hides the rest', async () => {
        for (const c of LEVELS) {
          for (const m of LEVELS) {
            const user = sharees.get(`${c}${m}`)!;
            const one = await ms(server, 'GET', `/stream/${stream.id}`, user);
            const listed = (await ms(server, 'GET', '/stream', user)).json.streams.find((x: any) => x.id === stream.id);
            if (c === 0 && m === 0) {
              assertError(one, 400, 'unauthorized to access that stream');
              assert.equal(listed, undefined);
              continue;
            }
            assert.equal(one.status, 200, one.text);
            const s = one.json.stream;
            assert.deepEqual(listed, s);
            const expected = ['created_at', 'id', 'live', 'name', 'slug', 'updated_at', 'user_id'];
            if (m >= 1) expected.push('accounts', 'description', 'ffmpeg_pull_args', 'preview_required', 'preview_url', 'title');
            if (m >= 2) expected.push('uuid');
            assert.deepEqual(Object.keys(s).sort(), expected.sort(), `chat ${c} metadata ${m}`);
            assert.equal(s.shares, undefined);
            if (m >= 1) assert.equal(s.accounts[0].id, ownerAccount.id);
            assert.ok(!one.text.includes(owner.token));
          }
        }
      });

      it('lets metadata level 2 edit (not the shares), and refuses lower levels with 401', async () => {
        for (const c of LEVELS) {
          for (const m of LEVELS) {
            const user = sharees.get(`${c}${m}`)!;
            const before = await server.snapshot();
            const r = await ms(server, 'POST', `/stream/${stream.id}`, user, { body: { title: `edited by ${c}${m}` } });
            if (c === 0 && m === 0) assertError(r, 400, 'unauthorized to use that stream');
            else if (m < 2) assertError(r, 401, 'unauthorized to edit stream');
            if (m < 2) {
              assert.equal(await server.snapshot(), before);
              continue;
            }
            assert.equal(r.status, 200, r.text);
            assert.equal(r.json.stream.title, `edited by ${c}${m}`);
            assert.equal(r.json.stream.shares, undefined);
            const shares = await ms(server, 'POST', `/stream/${stream.id}`, user, { body: { shares: null } });
            assertError(shares, 401, 'unauthorized to edit stream');
            assertError(await ms(server, 'DELETE', `/stream/${stream.id}`, user), 400, 'unauthorized to use that stream');
          }
        }
        assert.equal((await ms(server, 'GET', `/stream/${stream.id}`, owner)).json.stream.shares.length, 8);
      });

      it('lets a level-2 sharee keep the owner\'s account on the stream, and add only accounts they may use', async () => {
        const editor = sharees.get('02')!;
        const own = await rtmpAccount(server, editor, 'Editor Relay', 'rtmp://127.0.0.1/live/editor');
        const foreign = await rtmpAccount(server, stranger, 'Stranger Relay');
        const before = await server.snapshot();
        assertError(await ms(server, 'POST', `/stream/${stream.id}`, editor, { body: { accounts: [{ id: ownerAccount.id }, { id: foreign.id }] } }), 400, 'unauthorized to use that account');
        assert.equal(await server.snapshot(), before);
        const r = await ms(server, 'POST', `/stream/${stream.id}`, editor, { body: { accounts: [{ id: ownerAccount.id }, { id: own.id }] } });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json.stream.accounts.map((a: any) => a.id), [ownerAccount.id, own.id]);
        const urls = (await server.running.core.streams.destinationsOf(await streamIdOf(stream.id))).map((d) => d.rtmpUrl);
        assert.deepEqual(urls, ['rtmp://127.0.0.1:19350/live/somekey', 'rtmp://127.0.0.1/live/editor']);
      });

      it('answers PATCH to metadata level 2 only', async () => {
        for (const c of LEVELS) {
          for (const m of LEVELS) {
            const r = await ms(server, 'PATCH', `/stream/${stream.id}`, sharees.get(`${c}${m}`)!);
            if (m < 2) assertError(r, 400, 'unauthorized to use that stream');
            else assert.deepEqual(r.json, { status: { data_incoming: false, data_pushing: false, data_pulling: false } });
          }
        }
      });

      it('lets chat level 2 (and the owner) inject chat messages', async () => {
        const streamId = await streamIdOf(stream.id);
        const message = { network: 'discord', network_icon: '<svg></svg>', from: { name: 'Some guy', picture: 'https://example.com/p.png' }, type: 'text', text: 'hello' };
        for (const c of LEVELS) {
          for (const m of LEVELS) {
            const r = await ms(server, 'POST', `/stream/${stream.id}/msg`, sharees.get(`${c}${m}`)!, { body: { ...message, text: `from ${c}${m}` } });
            if (c < 2) assertError(r, 400, 'unauthorized to use that stream');
            else assert.deepEqual(r.json, { status: 'ok' }, r.text);
          }
        }
        assert.deepEqual((await ms(server, 'POST', `/stream/${stream.id}/msg`, owner, { body: message })).json, { status: 'ok' });
        const texts = (await server.running.core.chat.history(streamId, 50)).map((msg: any) => msg.text);
        assert.deepEqual(texts.sort(), ['from 20', 'from 21', 'from 22', 'hello'].sort());
        const bad = await ms(server, 'POST', `/stream/${stream.id}/msg`, owner, { body: { network: 'discord', type: 'text' } });
        assert.equal(bad.status, 400, bad.text);
      });

      it('lets the owner change levels and unshare', async () => {
        const user = sharees.get('11')!;
        const r = await ms(server, 'POST', `/stream/${stream.id}`, owner, { body: { shares: [{ user: { id: user.id }, chat_level: 2, metadata_level: 2 }] } });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json.stream.shares.map((s: any) => [s.user.id, s.chat_level, s.metadata_level]), [[user.id, 2, 2]]);
        assert.equal(typeof (await ms(server, 'GET', `/stream/${stream.id}`, user)).json.stream.uuid, 'string');
        assertError(await ms(server, 'GET', `/stream/${stream.id}`, sharees.get('12')!), 400, 'unauthorized to access that stream');
        const none = await ms(server, 'POST', `/stream/${stream.id}`, owner, { body: { shares: null } });
        assert.deepEqual(none.json.stream.shares, []);
        assertError(await ms(server, 'GET', `/stream/${stream.id}`, user), 400, 'unauthorized to access that stream');
      });
    });

    describe('POST /stream/:id (update)', () => {
      it('replaces the set of accounts, keeping each relay in step', async () => {
        const a = await rtmpAccount(server, owner, 'Set A', 'rtmp://127.0.0.1/live/a');
        const b = await rtmpAccount(server, owner, 'Set B', 'rtmp://127.0.0.1/live/b');
        const c = await rtmpAccount(server, owner, 'Set C', 'rtmp://127.0.0.1/live/c');
        const s = await newStream(server, owner, { name: 'Replace Set', accounts: [{ id: a.id }, { id: b.id, ffmpeg_args: '-c copy' }] });
        const streamId = await streamIdOf(s.id);
        const r = await ms(server, 'POST', `/stream/${s.id}`, owner, { body: { accounts: [{ id: b.id }, { id: c.id, ffmpeg_args: '-an' }] } });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json.stream.accounts.map((x: any) => [x.id, x.ffmpeg_args]), [[b.id, '-c copy'], [c.id, '-an']]);
        assert.deepEqual(
          (await server.running.core.streams.destinationsOf(streamId)).map((d) => [d.rtmpUrl, d.ffmpegArgs]),
          [['rtmp://127.0.0.1/live/b', ['-c', 'copy']], ['rtmp://127.0.0.1/live/c', ['-an']]],
        );
        const cleared = await ms(server, 'POST', `/stream/${s.id}`, owner, { body: { accounts: [{ id: b.id, ffmpeg_args: null }] } });
        assert.equal(cleared.json.stream.accounts[0].ffmpeg_args, undefined);
        assert.deepEqual((await server.running.core.streams.destinationsOf(streamId)).map((d) => d.ffmpegArgs), [null]);
        const none = await ms(server, 'POST', `/stream/${s.id}`, owner, { body: { accounts: [] } });
        assert.deepEqual(none.json.stream.accounts, []);
        assert.deepEqual(await server.running.core.streams.destinationsOf(streamId), []);
      });

      it('updates name, slug, title, description, preview and puller; keeps what is not named', async () => {
        const s = await newStream(server, owner, { name: 'Before Rename', title: 'Old', description: 'Desc' });
        const r = await ms(server, 'POST', `/stream/${s.id}`, owner, { body: { name: 'After Rename!', preview_required: 0, ffmpeg_pull_args: '-re -i https://8.8.8.8/in.mp4' } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.stream.name, 'After Rename!');
        assert.equal(r.json.stream.slug, 'after-rename');
        assert.equal(r.json.stream.title, 'Old');
        assert.equal(r.json.stream.description, 'Desc');
        assert.equal(r.json.stream.preview_required, 0);
        assert.equal(r.json.stream.ffmpeg_pull_args, '-re -i https://8.8.8.8/in.mp4');
        assert.equal(r.json.stream.uuid, s.uuid);
        const cleared = await ms(server, 'POST', `/stream/${s.id}`, owner, { body: { ffmpeg_pull_args: null, title: null } });
        assert.equal(cleared.json.stream.ffmpeg_pull_args, undefined);
        assert.equal(cleared.json.stream.title, undefined);
        await newStream(server, owner, { name: 'Other Name' });
        const before = await server.snapshot();
        assertError(await ms(server, 'POST', `/stream/${s.id}`, owner, { body: { name: 'other-name', title: 'x' } }), 400, 'Stream name conflicts with "other-name"');
        assert.equal(await server.snapshot(), before);
        // A stranger may use the same name: slugs are unique per user.
        assert.equal((await ms(server, 'POST', '/stream', stranger, { body: { name: 'Other Name' } })).status, 200);
      });

      it('changes nothing when any part of an update is refused (webhooks included)', async () => {
        const twitch = (await ms(server, 'POST', '/account', owner, { body: { network: 'twitch', settings: { name: 'AtomicTwitch', stream_key: 'k3' } } })).json.account;
        const s = await newStream(server, owner, { name: 'Atomic', webhooks: [{ url: 'https://hooks.example/a', type: 'discord', events: { 'stream:end': true }, notes: null }] });
        await newStream(server, owner, { name: 'Atomic Taken' });
        const before = await server.snapshot();
        const bodies = [
          // The name is taken: the hooks keep their ids and secrets.
          { name: 'Atomic Taken', webhooks: [{ url: 'https://hooks.example/d', type: 'raw', events: {} }] },
          { name: 'Atomic Renamed', title: 'new', accounts: [{ id: twitch.id, settings: { title: 'only' } }], webhooks: [{ url: 'https://hooks.example/b', type: 'raw', events: {} }] },
          { name: 'Atomic Renamed', shares: [{ user: { id: friend.id }, chat_level: 1, metadata_level: 1 }], webhooks: [{ url: 'not a url', type: 'raw', events: {} }] },
          { title: 'x', webhooks: [{ url: 'https://hooks.example/c', type: 'raw', events: { 'stream:nope': true } }] },
        ];
        for (const body of bodies) assert.equal((await ms(server, 'POST', `/stream/${s.id}`, owner, { body })).status, 400);
        assert.equal(await server.snapshot(), before);
        const ok = await ms(server, 'POST', `/stream/${s.id}`, owner, { body: { webhooks: null } });
        assert.equal(ok.json.stream.webhooks, undefined);
      });
    });

    describe('PATCH /stream/:id and DELETE /stream/:id', () => {
      it('reports the status, refuses to go live with nothing publishing, and checks the switches', async () => {
        const s = await newStream(server, owner, { name: 'Patchy' });
        assert.deepEqual((await ms(server, 'PATCH', `/stream/${s.id}`, owner)).json, { status: { data_incoming: false, data_pushing: false, data_pulling: false } });
        assert.deepEqual((await ms(server, 'PATCH', `/stream/${s.id}`, owner, { body: {} })).json, { status: { data_incoming: false, data_pushing: false, data_pulling: false } });
        assert.deepEqual((await ms(server, 'PATCH', `/stream/${s.id}`, owner, { body: { data_pushing: false } })).json, { status: { data_incoming: false, data_pushing: false, data_pulling: false } });
        const before = await server.snapshot();
        assert.equal((await ms(server, 'PATCH', `/stream/${s.id}`, owner, { body: { data_pushing: true } })).status, 400);
        assertError(await ms(server, 'PATCH', `/stream/${s.id}`, owner, { body: { data_pushing: 'yes' } }), 400, 'data_pushing must be true or false');
        assertError(await ms(server, 'PATCH', `/stream/${s.id}`, owner, { rawBody: '{', contentType: 'application/json' }), 400, 'request body is not valid JSON');
        assert.equal(await server.snapshot(), before);
      });

      it('lets the owner delete a stream: its key, relays and shares go', async () => {
        const relay = await rtmpAccount(server, owner, 'Doomed Relay');
        const s = await newStream(server, owner, { name: 'Doomed', accounts: [{ id: relay.id }], shares: [{ user: { id: friend.id }, chat_level: 2, metadata_level: 2 }] });
        const streamId = await streamIdOf(s.id);
        assertError(await ms(server, 'DELETE', `/stream/${s.id}`, friend), 400, 'unauthorized to use that stream');
        assert.deepEqual((await ms(server, 'DELETE', `/stream/${s.id}`, owner)).json, { status: 'success' });
        assertError(await ms(server, 'GET', `/stream/${s.id}`, owner), 400, 'unauthorized to access that stream');
        assertError(await ms(server, 'GET', `/stream/${s.id}`, friend), 400, 'unauthorized to access that stream');
        assert.equal(await server.running.core.streams.findByKey(s.uuid), undefined);
        assert.equal(await server.running.core.multistreams.streamIdOf(s.id), undefined);
        assert.deepEqual(await server.running.core.streams.destinationsOf(streamId), []);
        assert.equal(await server.running.core.streamAccess.of((await server.running.core.accessTokens.accountOf(friend.token))!, streamId), undefined);
        // The name is free again.
        assert.equal((await ms(server, 'POST', '/stream', owner, { body: { name: 'Doomed' } })).status, 200);
      });
    });

    describe('core.streamAccess', () => {
      it('gives the owner both levels 2 and a sharee their levels', async () => {
        const s = await newStream(server, owner, { name: 'Access Check', shares: [{ user: { id: friend.id }, chat_level: 2, metadata_level: 0 }] });
        const streamId = await streamIdOf(s.id);
        const core = server.running.core;
        assert.deepEqual(await core.streamAccess.of((await core.accessTokens.accountOf(owner.token))!, streamId), { owner: true, chatLevel: 2, metadataLevel: 2 });
        assert.deepEqual(await core.streamAccess.of((await core.accessTokens.accountOf(friend.token))!, streamId), { owner: false, chatLevel: 2, metadataLevel: 0 });
        assert.equal(await core.streamAccess.of((await core.accessTokens.accountOf(stranger.token))!, streamId), undefined);
      });
    });
  });
}

describe('the Multistreamer prefix setting', () => {
  it('serves the API and only there', async () => {
    const server = await startTestServer('sqlite', { ...LOCAL_PEERS, multistreamerPrefix: '/multistreamer' });
    try {
      const username = `prefixed${process.pid}`;
      assert.equal((await server.request('POST', '/accounts/', { body: { username, password: PASSWORD, email: `${username}@example.net` } })).status, 200);
      const auth = await server.request('GET', '/multistreamer/api/v1/auth', { headers: { authorization: basic(username, PASSWORD) } });
      assert.equal(auth.status, 200, auth.text);
      assert.match(auth.json.token, /^[0-9A-F]{20}$/);
      const profile = await server.request('GET', '/multistreamer/api/v1/profile', { token: auth.json.token });
      assert.equal(profile.json.username, username);
      // Without the prefix the path is not Multistreamer's (Kickfolio's /api answers it, in its own style).
      const unprefixed = await server.request('GET', '/api/v1/profile', { token: auth.json.token });
      assert.notEqual(unprefixed.status, 200);
      assert.notDeepEqual(unprefixed.json, { error: 'endpoint requires authorization' });
      assert.ok(!unprefixed.text.includes(username));
    } finally {
      await server.close();
    }
  });
});
