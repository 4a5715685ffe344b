/**
 * The rules of a puller's `ffmpeg_pull_args` (and the shared rules of every user's ffmpeg
 * arguments): what is refused and why, what passes, the `-protocol_whitelist` put before every
 * input, local files held to the real path of `--pull-file-dir` (`..`, symlinks), network hosts
 * held to public addresses unless private networks are allowed, and URL secrets kept out of text.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ValidationError } from '../../../src/core/kernel/errors.js';
import { parseFfmpegArgs } from '../../../src/core/relays/ffmpeg-args.js';
import { optionRefusal } from '../../../src/core/ffmpeg/options.js';
import { EgressPolicy } from '../../../src/core/egress/policy.js';
import { NETWORK_PROTOCOLS, parsePullArgs, preparePullArgs, redactUrls, type PullSourcePolicy } from '../../../src/core/ffmpeg/pull-args.js';

const NET = NETWORK_PROTOCOLS.join(',');
const PUBLIC_ONLY: PullSourcePolicy = { fileDir: null, egress: new EgressPolicy(false) };

function problemOf(err: unknown): string {
  assert.ok(err instanceof ValidationError, `a ValidationError, not ${String(err)}`);
  return err.fields.ffmpeg_pull_args ?? '';
}

async function refused(text: string, policy: PullSourcePolicy, pattern: RegExp): Promise<void> {
  await assert.rejects(preparePullArgs(text, policy), (err: unknown) => {
    assert.match(problemOf(err), pattern, text);
    return true;
  }, text);
}

describe('puller arguments: words and options', () => {
  test('shell-like words, with quotes and escapes', () => {
    assert.deepEqual(parsePullArgs(`-re -i "https://example.com/my file.flv" -c copy`), ['-re', '-i', 'https://example.com/my file.flv', '-c', 'copy']);
    assert.deepEqual(parsePullArgs(`-i 'rtmp://example.com/a b' -stream_loop -1`), ['-i', 'rtmp://example.com/a b', '-stream_loop', '-1']);
    assert.deepEqual(parsePullArgs(`-i https://example.com/x\\ y -an`), ['-i', 'https://example.com/x y', '-an']);
  });

  test('refused: empty, no input, a second output, writing and file-reading options, too long, unterminated quotes', () => {
    const refusedNow = (text: string, pattern: RegExp) => assert.throws(() => parsePullArgs(text), (err: unknown) => pattern.test(problemOf(err)), text);
    refusedNow('', /must not be empty/);
    refusedNow('   ', /must not be empty/);
    refusedNow('-re -c copy', /-i/);
    refusedNow('-i https://example.com/in.mp4 -c copy out.mp4', /second output/);
    refusedNow('-i https://example.com/in.mp4 -an out.mp4', /second output/);
    refusedNow('-i https://example.com/in.mp4 -vstats_file x', /writes files/);
    refusedNow('-progress p -i https://example.com/in.mp4', /writes files/);
    refusedNow('-i https://example.com/in.mp4 -pass 1', /writes files/);
    refusedNow('-dump_attachment:t a -i https://example.com/in.mkv', /writes files/);
    for (const text of [
      '-i https://example.com/in.mp4 -vf drawtext=textfile=/etc/passwd',
      '-i https://example.com/in.mp4 -filter_complex "movie=/etc/passwd[m];[0:v][m]overlay"',
      '-i https://example.com/in.mp4 -af ladspa=file=evil.so',
      '-i https://example.com/in.mp4 -filter:v frei0r=x',
      '-i https://example.com/in.mp4 -lavfi lv2=p=x',
      '-i https://example.com/in.mp4 -fpre /etc/passwd',
      '-i https://example.com/in.mp4 -x264-params stats=/etc/x',
      '-cert_file /etc/ssl/key.pem -i https://example.com/in.mp4',
      '-/headers /etc/passwd -i https://example.com/in.mp4',
    ]) {
      refusedNow(text, /not allowed/);
    }
    refusedNow(`-protocol_whitelist file,http -i https://example.com/x`, /set by the server/);
    refusedNow(`-protocol_blacklist x -i https://example.com/x`, /set by the server/);
    refusedNow(`-http_proxy http://127.0.0.1:3128 -i https://example.com/x`, /set by the server/);
    refusedNow('-i', /needs a value/);
    refusedNow(`-i "unterminated`, /unterminated/);
    refusedNow(`-i ${'x'.repeat(5000)}`, /at most 4096/);
  });

  test('formats that open files or devices by themselves, and -safe, are refused', () => {
    const refusedNow = (text: string, pattern: RegExp) => assert.throws(() => parsePullArgs(text), (err: unknown) => pattern.test(problemOf(err)), text);
    refusedNow('-f lavfi -i movie=/etc/passwd', /-f lavfi is not allowed/);
    refusedNow('-f lavfi -i testsrc', /-f lavfi is not allowed/);
    refusedNow('-f LAVFI -i testsrc', /not allowed/);
    refusedNow('-f concat -i https://example.com/list.txt', /-f concat is not allowed/);
    refusedNow('-safe 0 -i https://example.com/list.txt', /-safe is not allowed/);
    refusedNow('-f x11grab -i https://example.com/x', /-f x11grab is not allowed/);
    refusedNow('-f v4l2 -i https://example.com/x', /not allowed/);
  });

  test('input schemes: network URLs pass, others and local files (without a pull directory) are refused', () => {
    for (const url of ['http://example.com/a.flv', 'https://example.com/live.m3u8', 'rtmp://example.com/app/key', 'rtmps://example.com/app/key', 'srt://example.com:9000', 'udp://example.com:1234', 'tcp://example.com:1234']) {
      assert.deepEqual(parsePullArgs(`-i ${url}`), ['-i', url]);
    }
    assert.deepEqual(parsePullArgs('-i rtsp://example.com/cam', { fileDir: null, egress: new EgressPolicy(true) }), ['-i', 'rtsp://example.com/cam']);
    const refusedNow = (text: string, pattern: RegExp) => assert.throws(() => parsePullArgs(text), (err: unknown) => pattern.test(problemOf(err)), text);
    refusedNow('-i /etc/passwd', /local files are not allowed/);
    refusedNow('-f rawvideo -s 64x64 -pix_fmt gray -i streamdelta.db', /local files are not allowed/);
    refusedNow('-i file:/etc/passwd', /local files are not allowed/);
    refusedNow('-i pipe:0', /pipe: inputs are not allowed/);
    refusedNow('-i data:text/plain,hi', /data: inputs are not allowed/);
    refusedNow('-i concat:/etc/passwd|/etc/group', /concat: inputs are not allowed/);
    refusedNow('-i subfile:,start,0,end,9,:/etc/passwd', /subfile: inputs are not allowed/);
    refusedNow('-i crypto:file:/etc/passwd', /crypto: inputs are not allowed/);
    refusedNow('-i http:example.com', /not a valid URL/);
  });

  test('relays share the option rules (and refuse any input)', () => {
    assert.match(optionRefusal('vf') ?? '', /not allowed/);
    assert.equal(optionRefusal('c'), undefined);
    assert.throws(() => parseFfmpegArgs('-x264-params stats=/etc/x'), /not allowed/);
    assert.throws(() => parseFfmpegArgs('-protocol_whitelist file'), /not allowed/);
    assert.throws(() => parseFfmpegArgs('-i /etc/passwd'), /-i is not allowed/);
    assert.deepEqual(parseFfmpegArgs('-c:v libx264 -an'), ['-c:v', 'libx264', '-an']);
  });
});

describe('puller arguments: local files and hosts', () => {
  let root: string;
  let dir: string;
  let policy: PullSourcePolicy;
  before(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'streamdelta-pullargs-')));
    dir = join(root, 'pull');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'show.flv'), 'x');
    writeFileSync(join(dir, 'sub', 'my show.flv'), 'x');
    writeFileSync(join(root, 'secret.db'), 'secret');
    symlinkSync(join(root, 'secret.db'), join(dir, 'link-out.flv'));
    symlinkSync(join(dir, 'show.flv'), join(dir, 'link-in.flv'));
    symlinkSync(root, join(dir, 'up'));
    policy = { fileDir: dir, egress: new EgressPolicy(false) };
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('files inside the pull directory pass, as file:<real path> with a file-only whitelist', async () => {
    assert.deepEqual(await preparePullArgs('-re -i show.flv -c copy', policy), ['-re', '-protocol_whitelist', 'file', '-i', `file:${dir}/show.flv`, '-c', 'copy']);
    assert.deepEqual(await preparePullArgs(`-i '${dir}/sub/my show.flv'`, policy), ['-protocol_whitelist', 'file', '-i', `file:${dir}/sub/my show.flv`]);
    assert.deepEqual(await preparePullArgs(`-i file:${dir}/sub/../show.flv`, policy), ['-protocol_whitelist', 'file', '-i', `file:${dir}/show.flv`]);
    assert.deepEqual(await preparePullArgs('-i link-in.flv', policy), ['-protocol_whitelist', 'file', '-i', `file:${dir}/show.flv`], 'a link inside stays inside');
  });

  test('paths out of the directory are refused: .., absolute, symlinks, missing', async () => {
    await refused('-i ../secret.db', policy, /outside the pull directory/);
    await refused(`-i ${dir}/../secret.db`, policy, /outside the pull directory/);
    await refused(`-i file:${root}/secret.db`, policy, /outside the pull directory/);
    await refused('-f rawvideo -s 64x64 -pix_fmt gray -i link-out.flv', policy, /outside the pull directory/);
    await refused('-i up/secret.db', policy, /outside the pull directory/);
    await refused('-i /etc/passwd', policy, /outside the pull directory/);
    await refused(`-i ${dir}`, policy, /outside the pull directory/);
    await refused('-i missing.flv', policy, /does not exist/);
    await refused('-i show.flv', PUBLIC_ONLY, /local files are not allowed/);
  });

  test('every input gets its own whitelist: network protocols for a URL, file for a file', async () => {
    const open = { fileDir: dir, egress: new EgressPolicy(true) };
    assert.deepEqual(await preparePullArgs('-re -i http://127.0.0.1:9/a.m3u8 -i show.flv -map 0:v -map 1:a', open), [
      '-re', '-protocol_whitelist', NET, '-i', 'http://127.0.0.1:9/a.m3u8', '-protocol_whitelist', 'file', '-i', `file:${dir}/show.flv`, '-map', '0:v', '-map', '1:a',
    ]);
    assert.equal(NET.split(',').includes('file'), false);
  });

  test('hosts: private, loopback, link-local refused unless allowed; names are resolved', async () => {
    await refused('-i http://127.0.0.1:8080/', PUBLIC_ONLY, /127\.0\.0\.1 is a loopback address; .*--allow-private-fetch/);
    await refused('-f rawvideo -i http://169.254.169.254/latest/meta-data/', PUBLIC_ONLY, /link-local/);
    await refused('-i rtmp://10.1.2.3/app/key', PUBLIC_ONLY, /private network/);
    await refused('-i http://[::1]:8080/', PUBLIC_ONLY, /loopback/);
    await refused('-i http://[::ffff:127.0.0.1]/', PUBLIC_ONLY, /loopback/);
    await refused('-i udp://0.0.0.0:1234', PUBLIC_ONLY, /this network/);
    await refused('-i http://localhost:8080/', PUBLIC_ONLY, /localhost resolves to .*loopback/);
    await refused('-i http://no-such-host.invalid/x', PUBLIC_ONLY, /could not be resolved/);
    const allowed = { fileDir: null, egress: new EgressPolicy(true) };
    assert.deepEqual(await preparePullArgs('-i http://127.0.0.1:8080/', allowed), ['-protocol_whitelist', NET, '-i', 'http://127.0.0.1:8080/']);
    assert.deepEqual(await preparePullArgs('-i http://8.8.8.8/x.flv', PUBLIC_ONLY), ['-protocol_whitelist', NET, '-i', 'http://8.8.8.8/x.flv']);
  });

  test('a refusal names the URL without its credentials or query', async () => {
    await refused('-i http://127.0.0.1/x?token=abc', PUBLIC_ONLY, /^input "http:\/\/127\.0\.0\.1\/x\?…": /);
    await refused('-i http://user:hunter2@8.8.8.8/x?token=abc', PUBLIC_ONLY, /^input "http:\/\/8\.8\.8\.8\/x\?…": a user name or password/);
  });

  test('rtsp inputs only with private networks open: ffmpeg follows RTSP redirects anywhere', async () => {
    await refused('-i rtsp://8.8.8.8/cam', PUBLIC_ONLY, /rtsp inputs are refused, as ffmpeg follows an RTSP server's redirects/);
    const [, , , input] = await preparePullArgs('-i rtsp://127.0.0.1:554/cam', { fileDir: null, egress: new EgressPolicy(true) });
    assert.equal(input, 'rtsp://127.0.0.1:554/cam');
  });

  test('decimal, hex and octal address literals are judged by the address they name', async () => {
    await refused('-i http://2130706433/x', PUBLIC_ONLY, /127\.0\.0\.1 is a loopback address/);
    await refused('-i http://0x7f.1/x', PUBLIC_ONLY, /127\.0\.0\.1 is a loopback address/);
    await refused('-i http://0177.0.0.1/x', PUBLIC_ONLY, /127\.0\.0\.1 is a loopback address/);
    await refused('-i rtmp://2130706433/live/x', PUBLIC_ONLY, /loopback address/);
    await refused('-i rtmp://0x7f.0.0.1/live/x', PUBLIC_ONLY, /loopback address/);
    await refused('-i http://0.0.0.0:8080/', PUBLIC_ONLY, /this network/);
  });

  test('ffmpeg gets the URL as parsed here: no backslash, user info, control or non-ASCII character gets through', async () => {
    // Node's parser reads host 1.1.1.1 here, ffmpeg's would connect to 127.0.0.1.
    await refused("-i 'http://1.1.1.1\\@127.0.0.1:8080/x'", PUBLIC_ONLY, /backslash/);
    await refused('-i http://8.8.8.8/\u00e9', PUBLIC_ONLY, /non-ASCII/);
    await refused('-i http://8.8.8.8/\x01', PUBLIC_ONLY, /control/);
    await refused('-i http://a@8.8.8.8/x', PUBLIC_ONLY, /a user name or password in the URL is not allowed/);
    await refused('-i rtmp://:x@8.8.8.8/live/k', PUBLIC_ONLY, /a user name or password in the URL is not allowed/);
    // Normalised: the scheme lower-cased, the default port and dot segments gone, a space escaped.
    assert.deepEqual(await preparePullArgs('-i "HTTP://8.8.8.8:80/a/../my show.m3u8"', PUBLIC_ONLY), ['-protocol_whitelist', NET, '-i', 'http://8.8.8.8/my%20show.m3u8']);
  });

  test('an input other than http(s) gets the checked address in place of its name', async () => {
    const open = { fileDir: null, egress: new EgressPolicy(true) };
    const [, , , input] = await preparePullArgs('-i rtmp://localhost:1935/live/show', open);
    assert.match(input!, /^rtmp:\/\/(127\.0\.0\.1|\[::1\]):1935\/live\/show$/);
    // http(s) keeps its name: the puller's proxy checks each connection ffmpeg makes.
    assert.deepEqual(await preparePullArgs('-i http://localhost:8080/a.m3u8', open), ['-protocol_whitelist', NET, '-i', 'http://localhost:8080/a.m3u8']);
  });
});

describe('URL redaction', () => {
  test('credentials and queries are removed, the rest kept', () => {
    assert.equal(redactUrls('http://user:pass@host:8080/a/b.m3u8?token=abc: Server returned 403'), 'http://host:8080/a/b.m3u8?…: Server returned 403');
    assert.equal(redactUrls("[https @ 0x1] 'rtmps://u:p@w@x.example/app/k?auth=1#f' failed"), "[https @ 0x1] 'rtmps://x.example/app/k?…#f' failed");
    assert.equal(redactUrls('srt://h:9000?passphrase=longsecret&mode=caller and tcp://h:1'), 'srt://h:9000?… and tcp://h:1');
    assert.equal(redactUrls('No such file or directory'), 'No such file or directory');
  });
});
