/**
 * A network account's key belongs to its owner: a user it is shared with relays to it without
 * ever reading it. The attack: a sharee (and whoever they share their stream with) reads every
 * place an account or a stream's relays are shown (Multistreamer accounts and streams, rig's
 * stream list and detail, the rig agent config of their own stream key) looking for the owner's
 * custom RTMP URL (which carries its key) and Twitch key. The owner still sees them, and the
 * relays still push to the real URLs.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { databaseKinds } from '../../helpers/databases.js';
import { startTestServer, type Reply, type TestServer } from '../../helpers/server.js';
import { ms, msUser, newStream, rtmpAccount, type MsUser } from './support.js';

const RTMP_KEY = 'owners-rtmp-secret-4f1d';
const TWITCH_KEY = 'live_123_ownerstwitchsecret';

async function rigLogin(server: TestServer, user: MsUser): Promise<string> {
  const login = await server.request('POST', '/accounts/auth/local', { body: { username: user.username, password: user.password } });
  assert.equal(login.status, 200, login.text);
  return login.json.payload.token as string;
}

function assertNoKey(reply: Reply, where: string): void {
  assert.equal(reply.status, 200, `${where}: ${reply.text}`);
  for (const key of [RTMP_KEY, TWITCH_KEY]) assert.ok(!reply.text.includes(key), `${where} shows the owner's key:\n${reply.text}`);
}

for (const kind of databaseKinds()) {
  describe(`a sharee never sees another person's keys (${kind})`, () => {
    let server: TestServer;
    let owner: MsUser;
    let sharee: MsUser;
    let third: MsUser;
    before(async () => {
      server = await startTestServer(kind);
      owner = await msUser(server, 'keyowner');
      sharee = await msUser(server, 'keysharee');
      third = await msUser(server, 'keythird');
    });
    after(() => server.close());

    it('masks the owner\'s RTMP URL and leaves out their keys everywhere else, while the relays use them', async () => {
      const rtmp = await rtmpAccount(server, owner, 'Owner Mirror', `rtmp://mirror.example.com:1935/app/${RTMP_KEY}?token=x`, { shares: [{ user: { id: sharee.id } }] });
      const twitchReply = await ms(server, 'POST', '/account', owner, {
        body: { network: 'twitch', settings: { name: 'Owner Twitch', stream_key: TWITCH_KEY }, shares: [{ user: { id: sharee.id } }] },
      });
      assert.equal(twitchReply.status, 200, twitchReply.text);
      const twitch = twitchReply.json.account;

      // The owner sees the URL they typed.
      const own = await ms(server, 'GET', `/account/${rtmp.id}`, owner);
      assert.equal(own.json.account.settings.url, `rtmp://mirror.example.com:1935/app/${RTMP_KEY}?token=x`);

      // The sharee: the account with its key hidden, in the list and alone.
      const one = await ms(server, 'GET', `/account/${rtmp.id}`, sharee);
      assertNoKey(one, 'GET /account/:id');
      assert.equal(one.json.account.settings.url, 'rtmp://mirror.example.com:1935/app/[redacted]');
      assertNoKey(await ms(server, 'GET', '/account', sharee), 'GET /account');

      // The sharee relays their own stream to both, and shares that stream with a third user.
      const stream = await newStream(server, sharee, {
        name: 'Sharee Restream',
        accounts: [{ id: rtmp.id }, { id: twitch.id, settings: { title: 'T', game: 'G' } }],
        shares: [{ user: { id: third.id }, chat_level: 2, metadata_level: 2 }],
      });
      for (const user of [sharee, third]) {
        assertNoKey(await ms(server, 'GET', `/stream/${stream.id}`, user), `GET /stream/:id as ${user.username}`);
        assertNoKey(await ms(server, 'GET', '/stream', user), `GET /stream as ${user.username}`);
      }

      // rig shows the same stream (the same platform account) with its relay destinations.
      const rigToken = await rigLogin(server, sharee);
      const streamId = (await server.running.core.multistreams.streamIdOf(stream.id))!;
      const detail = await server.request('GET', `/streams/${streamId}`, { token: rigToken });
      assertNoKey(detail, 'rig GET /streams/{id}');
      assert.equal(detail.json.payload.destinations.length, 2, 'the destinations are listed, their keys hidden');
      for (const d of detail.json.payload.destinations) {
        assert.match(d.streamKey, /\[redacted\]$/, JSON.stringify(d));
        assert.match(d.rtmpUrl, /\[redacted\]$/, JSON.stringify(d));
      }
      assertNoKey(await server.request('GET', '/streams/', { token: rigToken }), 'rig GET /streams/');
      // An edge agent asking with the stream's key is given no destination holding another person's key.
      const key = stream.uuid as string;
      const agent = await server.request('GET', `/agents/config/${key}`);
      assertNoKey(agent, 'rig GET /agents/config/{key}');
      assert.deepEqual(agent.json.payload, []);

      // The server's own relays still push to the real URLs.
      const relayed = (await server.running.core.streams.destinationsOf(streamId)).map((d) => d.rtmpUrl).sort();
      assert.deepEqual(relayed, [`rtmp://live.twitch.tv/app/${TWITCH_KEY}`, `rtmp://mirror.example.com:1935/app/${RTMP_KEY}?token=x`]);

      // The owner relaying their own stream to their own accounts sees their keys wherever they look.
      const ownStream = await newStream(server, owner, { name: 'Owner Restream', accounts: [{ id: rtmp.id }] });
      const ownStreamId = (await server.running.core.multistreams.streamIdOf(ownStream.id))!;
      const ownDetail = await server.request('GET', `/streams/${ownStreamId}`, { token: await rigLogin(server, owner) });
      assert.equal(ownDetail.json.payload.destinations[0].streamKey, `rtmp://mirror.example.com:1935/app/${RTMP_KEY}?token=x`);
      const ownAgent = await server.request('GET', `/agents/config/${ownStream.uuid}`);
      assert.equal(ownAgent.json.payload[0].rtmpUrl, `rtmp://mirror.example.com:1935/app/${RTMP_KEY}?token=x`);
    });
  });
}
