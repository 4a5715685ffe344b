/**
 * Helpers for the upload tests: real HLS files made by ffmpeg's HLS muxer as the Kickflip SDKs
 * make them (`index<N>.ts`, `index.m3u8` rewritten after each segment, a final `vod.m3u8`), and
 * a stream to upload them to.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StreamId } from '../../../src/core/kernel/ids.js';
import type { UploadMeta, UploadScope } from '../../../src/media/upload/ingest.js';
import type { TestServer } from '../../helpers/server.js';
import { ffmpeg, SOURCE_ARGS } from '../support.js';

export interface SegmentFile {
  name: string;
  data: Buffer;
  /** Seconds, as the muxer's playlist gives it. */
  duration: number;
}

export interface HlsFiles {
  segments: SegmentFile[];
  /** The live playlist as the muxer had written it after `count` segments. */
  snapshot(count: number, options?: { discontinuityBefore?: number[] }): Buffer;
  /** The VOD playlist an SDK uploads last: every segment, then #EXT-X-ENDLIST. */
  vod(options?: { discontinuityBefore?: number[] }): Buffer;
  thumb: Buffer;
  totalDuration: number;
}

/** `ffmpeg -f hls -hls_time 1` over `seconds` of test pattern and tone, in `dir`. */
export function makeHlsFiles(dir: string, seconds = 5): HlsFiles {
  ffmpeg([
    ...SOURCE_ARGS.video,
    ...SOURCE_ARGS.audio,
    '-t',
    String(seconds),
    ...SOURCE_ARGS.videoCodec,
    ...SOURCE_ARGS.audioCodec,
    '-f',
    'hls',
    '-hls_time',
    '1',
    '-hls_list_size',
    '0',
    '-hls_segment_filename',
    join(dir, 'index%d.ts'),
    join(dir, 'index.m3u8'),
  ]);
  ffmpeg([...SOURCE_ARGS.video, '-frames:v', '1', join(dir, 'thumb.jpg')]);
  const lines = readFileSync(join(dir, 'index.m3u8'), 'utf8').split('\n');
  const segments: SegmentFile[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('#EXTINF:')) continue;
    const name = lines[i + 1]!.trim();
    segments.push({ name, data: readFileSync(join(dir, name)), duration: Number(line.slice(8).split(',')[0]) });
  }
  const target = Math.ceil(Math.max(...segments.map((s) => s.duration)));
  const render = (count: number, vod: boolean, discontinuityBefore: number[] = []) => {
    const out = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${vod ? target + 1 : target}`, '#EXT-X-MEDIA-SEQUENCE:0'];
    if (vod) out.push('#EXT-X-PLAYLIST-TYPE:VOD');
    segments.slice(0, count).forEach((s, i) => {
      if (discontinuityBefore.includes(i)) out.push('#EXT-X-DISCONTINUITY');
      out.push(`#EXTINF:${s.duration.toFixed(6)},`, s.name);
    });
    if (vod) out.push('#EXT-X-ENDLIST');
    return Buffer.from(out.join('\n') + '\n');
  };
  return {
    segments,
    snapshot: (count, options = {}) => render(count, false, options.discontinuityBefore),
    vod: (options = {}) => render(segments.length, true, options.discontinuityBefore),
    thumb: readFileSync(join(dir, 'thumb.jpg')),
    totalDuration: segments.reduce((sum, s) => sum + s.duration, 0),
  };
}

export const SEGMENT_META: UploadMeta = { contentType: 'video/mp2t', publicRead: true };
export const PLAYLIST_META: UploadMeta = { contentType: 'application/x-mpegURL', cacheControl: 'max-age=0', publicRead: true };
export const THUMB_META: UploadMeta = { contentType: 'image/jpeg', publicRead: true };

let counter = 0;

/** A platform account with a stream, and the upload scope a grant would give for it. */
export async function uploadStream(server: TestServer): Promise<{ streamId: StreamId; key: string; scope: UploadScope }> {
  const core = server.running.core;
  const account = await core.accounts.create({ username: `uploader${process.pid}x${++counter}`, password: 'correct horse battery' });
  const stream = await core.streams.create(account.id);
  return { streamId: stream.id, key: stream.key, scope: { streamId: stream.id, prefix: `app/${account.username}/${stream.id}/` } };
}

/** Uploads a segment then the snapshot naming it, for every segment: the SDKs' order. */
export async function uploadLive(server: TestServer, scope: UploadScope, files: HlsFiles, from = 0, to = files.segments.length): Promise<void> {
  const ingest = server.running.uploadIngest;
  for (let i = from; i < to; i++) {
    const segment = files.segments[i]!;
    await ingest.put(scope, segment.name, segment.data, SEGMENT_META);
    await ingest.put(scope, 'index.m3u8', files.snapshot(i + 1), PLAYLIST_META);
  }
}
