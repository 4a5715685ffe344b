/**
 * A relay's `ffmpeg_args` (of a network account, or of an account on a stream) may not read
 * server files: filter graphs (`movie`, `drawtext=textfile=`, `ladspa`…), preset files and
 * `-/option file` are refused like `-i`, and the refusal changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseFfmpegArgs } from '../../../src/core/relays/ffmpeg-args.js';
import { LOCAL_PEERS, startTestServer, type TestServer } from '../../helpers/server.js';
import { assertError, ms, msUser, newStream, rtmpAccount, type MsUser } from './support.js';

const FILE_READERS = [
  '-vf drawtext=textfile=/etc/passwd',
  '-filter_complex "movie=/etc/passwd[m];[0:v][m]overlay"',
  '-filter:v subtitles=/etc/passwd',
  '-af ladspa=file=/tmp/evil.so',
  '-lavfi movie=/etc/passwd',
  '-fpre /etc/passwd',
  '-/b:v /etc/passwd',
];

describe('relay ffmpeg_args', () => {
  it('refuses options that read files, keeps plain transcoding options', () => {
    for (const text of FILE_READERS) assert.throws(() => parseFfmpegArgs(text), /is not allowed/, text);
    assert.deepEqual(parseFfmpegArgs('-c:v libx264 -b:v 2500k -s 1280x720 -r 30 -c:a aac'), ['-c:v', 'libx264', '-b:v', '2500k', '-s', '1280x720', '-r', '30', '-c:a', 'aac']);
  });

  describe('through the API', () => {
    let server: TestServer;
    let owner: MsUser;
    before(async () => {
      server = await startTestServer('sqlite', LOCAL_PEERS);
      owner = await msUser(server, 'relayargs');
    });
    after(() => server.close());

    it('refuses them on accounts and on a stream’s accounts, changing nothing', async () => {
      const account = await rtmpAccount(server, owner, 'Args Relay');
      const stream = await newStream(server, owner, { name: 'Args Stream', accounts: [{ id: account.id }] });
      const before = await server.snapshot();
      for (const text of FILE_READERS) {
        assertError(await ms(server, 'POST', `/account/${account.id}`, owner, { body: { ffmpeg_args: text } }), 400, /ffmpeg_args .*is not allowed/);
        assertError(await ms(server, 'POST', `/stream/${stream.id}`, owner, { body: { accounts: [{ id: account.id, ffmpeg_args: text }] } }), 400, /ffmpeg_args .*is not allowed/);
      }
      assert.equal(await server.snapshot(), before);
    });
  });
});
