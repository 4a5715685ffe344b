/**
 * The dashboard's state logic (web/src/state.ts): what the badge says, how an event from the
 * event stream changes the list and a stream's page, the app's routes, the connect
 * instructions and the settings form's checks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  accountProblem,
  applyToList,
  applyToStream,
  badgeText,
  ffmpegCommand,
  masked,
  parseReconnectWindow,
  pathOf,
  publishUrl,
  routeOf,
  settingsBody,
  shellWord,
  streamChangeOf,
  streamTitle,
  type LiveStream,
} from '../../web/src/state.js';

const stream = (id: string, status = 'idle', title?: string): LiveStream => ({ id, status, stream_key: `key-${id}`, reconnect_window: 60, meta: title === undefined ? {} : { title } });
const event = (type: string, data: unknown) => ({ type, id: 'e1', object: { type: 'live', id: (data as { id?: string }).id }, data });

describe('the status badge', () => {
  test('says Live, Idle or Disabled for the Mux statuses', () => {
    assert.equal(badgeText('active'), 'Live');
    assert.equal(badgeText('idle'), 'Idle');
    assert.equal(badgeText('disabled'), 'Disabled');
  });
  test('says Idle for a status it does not know', () => {
    assert.equal(badgeText('mystery'), 'Idle');
  });
});

describe('a stream title', () => {
  test('is meta.title, or "Untitled stream" when there is none or it is blank', () => {
    assert.equal(streamTitle(stream('a', 'idle', 'Friday show')), 'Friday show');
    assert.equal(streamTitle(stream('a')), 'Untitled stream');
    assert.equal(streamTitle(stream('a', 'idle', '   ')), 'Untitled stream');
    assert.equal(streamTitle({}), 'Untitled stream');
  });
});

describe('events from /system/v1/events', () => {
  test('a live stream event carries the stream as it is now', () => {
    const change = streamChangeOf('video.live_stream.active', event('video.live_stream.active', { ...stream('a', 'active'), connected: true }));
    assert.equal(change?.kind, 'upsert');
    assert.equal(change?.kind === 'upsert' && change.stream.status, 'active');
  });
  test('a deleted event removes the stream', () => {
    assert.deepEqual(streamChangeOf('video.live_stream.deleted', event('video.live_stream.deleted', stream('a'))), { kind: 'remove', id: 'a' });
  });
  test('asset and simulcast target events, and unreadable ones, change no stream', () => {
    assert.equal(streamChangeOf('video.asset.ready', event('video.asset.ready', { id: 'x', status: 'ready' })), null);
    assert.equal(streamChangeOf('video.live_stream.simulcast_target.broadcasting', event('video.live_stream.simulcast_target.broadcasting', { id: 't', status: 'broadcasting', live_stream_id: 'a' })), null);
    assert.equal(streamChangeOf('video.live_stream.active', null), null);
    assert.equal(streamChangeOf('video.live_stream.active', { data: 'nope' }), null);
    assert.equal(streamChangeOf('video.live_stream.active', { data: { status: 'active' } }), null, 'no id');
    assert.equal(streamChangeOf('video.live_stream.active', { data: { id: 'a' } }), null, 'no status');
  });

  test('update the listed stream in place and keep the others', () => {
    const list = [stream('b', 'idle', 'B'), stream('a', 'idle', 'A')];
    const change = streamChangeOf('video.live_stream.active', event('video.live_stream.active', { id: 'a', status: 'active', stream_key: 'key-a', reconnect_window: 60, meta: { title: 'A' } }))!;
    const next = applyToList(list, change);
    assert.deepEqual(
      next.map((s) => [s.id, badgeText(s.status)]),
      [
        ['b', 'Idle'],
        ['a', 'Live'],
      ],
    );
    assert.equal(list[1]!.status, 'idle', 'the old list is left as it was');
    assert.equal(next[0], list[0], 'an unchanged stream is the same object');
  });
  test('put a stream made elsewhere first (the list is newest first), and drop a deleted one', () => {
    const list = [stream('a')];
    const added = applyToList(list, streamChangeOf('video.live_stream.created', event('video.live_stream.created', stream('n')))!);
    assert.deepEqual(
      added.map((s) => s.id),
      ['n', 'a'],
    );
    const removed = applyToList(added, streamChangeOf('video.live_stream.deleted', event('video.live_stream.deleted', stream('a')))!);
    assert.deepEqual(
      removed.map((s) => s.id),
      ['n'],
    );
  });
  test("keep fields the event leaves out (an event's fields win)", () => {
    const shown = { ...stream('a', 'idle', 'A'), extra: 1 };
    const next = applyToStream(shown, { kind: 'upsert', stream: { id: 'a', status: 'disabled', stream_key: 'key-a', reconnect_window: 30 } });
    assert.equal(next?.status, 'disabled');
    assert.equal(next?.reconnect_window, 30);
    assert.equal(next?.extra, 1);
    assert.equal(next?.meta?.title, 'A');
  });
  test("leave a stream's page alone when the event is about another stream; a deleted stream is gone", () => {
    const shown = stream('a');
    assert.equal(applyToStream(shown, { kind: 'upsert', stream: stream('b', 'active') }), shown);
    assert.equal(applyToStream(shown, { kind: 'remove', id: 'b' }), shown);
    assert.equal(applyToStream(shown, { kind: 'remove', id: 'a' }), null);
  });
});

describe('routes under /app/', () => {
  test('the list, a stream, anything else', () => {
    assert.deepEqual(routeOf('/app/'), { name: 'streams' });
    assert.deepEqual(routeOf('/app'), { name: 'streams' });
    assert.deepEqual(routeOf('/'), { name: 'streams' });
    assert.deepEqual(routeOf('/app/streams/abc-123'), { name: 'stream', id: 'abc-123' });
    assert.deepEqual(routeOf('/app/streams/abc-123/'), { name: 'stream', id: 'abc-123' });
    assert.deepEqual(routeOf('/app/streams/'), { name: 'not-found' });
    assert.deepEqual(routeOf('/app/streams/%E0%A4%A'), { name: 'not-found' });
    assert.deepEqual(routeOf('/app/nowhere'), { name: 'not-found' });
  });
  test('paths round-trip', () => {
    assert.equal(pathOf({ name: 'streams' }), '/app/');
    assert.equal(pathOf({ name: 'stream', id: 'a b' }), '/app/streams/a%20b');
    assert.deepEqual(routeOf(pathOf({ name: 'stream', id: 'a b' })), { name: 'stream', id: 'a b' });
  });
});

describe('connect instructions', () => {
  test('the publish URL is the server and the key', () => {
    assert.equal(publishUrl('rtmp://example.org:1935/live', 'k1'), 'rtmp://example.org:1935/live/k1');
    assert.equal(publishUrl('rtmp://example.org:1935/live/', 'k1'), 'rtmp://example.org:1935/live/k1');
  });
  test('the ffmpeg command publishes H.264 and AAC in FLV to that URL, one option group a line', () => {
    const command = ffmpegCommand('rtmp://example.org:1935/live', 'abc123');
    const lines = command.split('\n');
    assert.equal(lines[0], 'ffmpeg -re -i input.mp4 \\');
    assert.ok(lines.slice(0, -1).every((line) => line.endsWith(' \\')), 'each line but the last continues');
    assert.match(command, /-c:v libx264 /);
    assert.match(command, /-c:a aac /);
    assert.equal(lines.at(-1), '  -f flv rtmp://example.org:1935/live/abc123');
  });
  test('the ffmpeg command can show something else where the key goes', () => {
    const command = ffmpegCommand('rtmp://example.org:1935/live', 'abc123', { shownKey: '••••' });
    assert.ok(!command.includes('abc123'));
    assert.ok(command.endsWith(' -f flv rtmp://example.org:1935/live/••••'));
    assert.match(ffmpegCommand('rtmp://h/live', 'k', { input: 'my show.mp4' }), /^ffmpeg -re -i 'my show\.mp4' /);
  });
  test('words the shell would split or expand are quoted', () => {
    assert.equal(shellWord('rtmp://h:1935/live/abc'), 'rtmp://h:1935/live/abc');
    assert.equal(shellWord('my file.mp4'), "'my file.mp4'");
    assert.equal(shellWord("it's"), "'it'\\''s'");
    assert.equal(shellWord('$HOME'), "'$HOME'");
  });
  test('a hidden key shows as dots, never its characters', () => {
    const dots = masked('secret-key-1234567890');
    assert.ok(!/[a-z0-9]/.test(dots));
    assert.equal(masked('short').length, 8);
    assert.equal(masked('x'.repeat(100)).length, 32);
  });
});

describe('the settings form', () => {
  test('a reconnect window is whole seconds from 0 to 1800', () => {
    assert.deepEqual(parseReconnectWindow('60'), { value: 60 });
    assert.deepEqual(parseReconnectWindow(' 0 '), { value: 0 });
    assert.deepEqual(parseReconnectWindow('1800'), { value: 1800 });
    for (const bad of ['', '-1', '1801', '1.5', 'abc', '1e3']) assert.ok('error' in parseReconnectWindow(bad), bad);
  });
  test('a blank title clears it; a title is sent trimmed', () => {
    assert.deepEqual(settingsBody('  ', 30), { meta: {}, reconnect_window: 30 });
    assert.deepEqual(settingsBody(' Show ', 60), { meta: { title: 'Show' }, reconnect_window: 60 });
  });
  test('the first account follows the server rules, told in words', () => {
    assert.equal(accountProblem('admin', 'long enough'), null);
    assert.match(accountProblem('ad', 'long enough') ?? '', /3 to 32/);
    assert.match(accountProblem('bad name', 'long enough') ?? '', /letters, digits/);
    assert.match(accountProblem('admin', 'short') ?? '', /at least 8/);
  });
});
