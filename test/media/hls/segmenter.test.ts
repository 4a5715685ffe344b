import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HlsSegmenter, type HlsSegment, type SegmenterOptions } from '../../../src/media/hls/segmenter.js';
import { renderVodPlaylist } from '../../../src/media/wire/hls/playlist.js';
import { parseAudioTag, parseVideoTag, FlvTagType, type AudioTag, type VideoTag } from '../../../src/media/wire/flv.js';
import { MediaFormatError } from '../../../src/media/wire/format-error.js';
import { assertContinuity, demuxTs, ffmpegMissing, ffprobeJson, makeFlv, readFlvFile, run, tempDir, type FlvFileTag } from '../support.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SPS = hex('6764000dacd94141fb0110000003001000000303c0f1429960');
const PPS = hex('68ebe3cb22c0');
const RECORD = Buffer.concat([hex('0164000dffe1'), hex('0019'), SPS, hex('01 0006'), PPS]);

// Hand-built tags: the segmenter never decodes a slice, so stand-in slices will do.
const avcHeader = (): VideoTag => parseVideoTag(Buffer.concat([hex('1700000000'), RECORD]));
const aacHeader = (): AudioTag => parseAudioTag(hex('af001210'));
function avcFrame(keyframe: boolean, compositionMs = 0, size = 500): VideoTag {
  const nal = Buffer.alloc(size, 0x5a);
  nal[0] = keyframe ? 0x65 : 0x41;
  const cts = compositionMs & 0xffffff;
  const head = Buffer.from([keyframe ? 0x17 : 0x27, 0x01, cts >> 16, (cts >> 8) & 0xff, cts & 0xff, 0, 0, size >> 8, size & 0xff]);
  return parseVideoTag(Buffer.concat([head, nal]));
}
const aacFrame = (size = 200): AudioTag => parseAudioTag(Buffer.concat([hex('af01'), Buffer.alloc(size, 0x21)]));

type Pushed = { kind: 'video'; ts: number; tag: VideoTag } | { kind: 'audio'; ts: number; tag: AudioTag };

/** A synthetic publish: headers, then 30 fps video with a keyframe every `gop` seconds and 44.1 kHz AAC, in time order. */
function synth(options: { from?: number; seconds: number; gop?: number; video?: boolean; audio?: boolean; headers?: boolean }): Pushed[] {
  const { from = 0, seconds, gop = 1, video = true, audio = true, headers = true } = options;
  const events: Pushed[] = [];
  if (headers && video) events.push({ kind: 'video', ts: from, tag: avcHeader() });
  if (headers && audio) events.push({ kind: 'audio', ts: from, tag: aacHeader() });
  const frames: Pushed[] = [];
  if (video) {
    for (let i = 0; i < seconds * 30; i++) frames.push({ kind: 'video', ts: from + Math.round((i * 1000) / 30), tag: avcFrame(i % (gop * 30) === 0) });
  }
  if (audio) {
    for (let j = 0; (j * 1024000) / 44100 < seconds * 1000; j++) frames.push({ kind: 'audio', ts: from + Math.round((j * 1024000) / 44100), tag: aacFrame() });
  }
  frames.sort((a, b) => a.ts - b.ts);
  return [...events, ...frames].map((e) => ({ ...e, ts: e.ts >>> 0 }) as Pushed);
}

function feed(segmenter: HlsSegmenter, events: Pushed[], flush = true): HlsSegment[] {
  const out: HlsSegment[] = [];
  for (const e of events) {
    const segment = e.kind === 'video' ? segmenter.pushVideo(e.tag, e.ts) : segmenter.pushAudio(e.tag, e.ts);
    if (segment) out.push(segment);
  }
  if (flush) {
    const last = segmenter.flush();
    if (last) out.push(last);
  }
  return out;
}

const near = (actual: number, expected: number, tolerance: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);

/** The video DTS (or audio PTS) of every PES across segments, in order, which must keep increasing. */
function assertTimestampsIncrease(segments: HlsSegment[]): void {
  const last = new Map<number, number>();
  for (const segment of segments) {
    for (const pes of demuxTs(segment.data).pes) {
      const t = pes.dts ?? pes.pts;
      const previous = last.get(pes.pid);
      if (previous !== undefined) assert.ok(t > previous, `PID ${pes.pid}: ${t} after ${previous} in segment ${segment.sequence}`);
      last.set(pes.pid, t);
    }
  }
}

function make(options: SegmenterOptions = {}): HlsSegmenter {
  return new HlsSegmenter({ targetDurationSeconds: 2, ...options });
}

describe('segmenter cutting', () => {
  it('cuts on the first keyframe after the target duration', () => {
    const segments = feed(make(), synth({ seconds: 6 }));
    assert.deepEqual(segments.map((s) => s.sequence), [0, 1, 2]);
    assert.deepEqual(segments.map((s) => s.startTime), [0, 2, 4]);
    assert.deepEqual(segments.slice(0, 2).map((s) => s.duration), [2, 2]);
    near(segments[2]!.duration, 2, 0.03, 'last segment, ending after its last frame');
    assert.ok(segments.every((s) => s.independent && !s.discontinuity));
  });

  it('starts every segment with PAT, PMT and a keyframe carrying SPS and PPS, and keeps counters running', () => {
    const segments = feed(make(), synth({ seconds: 6 }));
    for (const segment of segments) {
      const ts = demuxTs(segment.data);
      assert.deepEqual([segment.data[1]! & 0x1f, segment.data[2]], [0, 0], 'PAT first');
      assert.equal(ts.pmt[0]!.streams.length, 2);
      const firstVideo = ts.pes.find((p) => p.pid === 0x100)!;
      assert.equal(firstVideo.randomAccess, true);
      assert.ok(firstVideo.payload.includes(SPS) && firstVideo.payload.includes(PPS));
    }
    assertContinuity(demuxTs(Buffer.concat(segments.map((s) => s.data))).continuity);
    assertTimestampsIncrease(segments);
  });

  it('writes PTS = DTS + composition offset on the 90 kHz clock', () => {
    const segmenter = make();
    segmenter.pushVideo(avcHeader(), 1000);
    segmenter.pushVideo(avcFrame(true, 67), 1000);
    segmenter.pushVideo(avcFrame(false, 0), 1033);
    const [first, second] = demuxTs(segmenter.flush()!.data).pes;
    assert.equal(first!.pts - first!.dts!, 67 * 90);
    assert.equal(second!.pts - first!.pts, 33 * 90 - 67 * 90);
  });

  it('follows long GOPs: segments last as long as the keyframe interval', () => {
    const segments = feed(make(), synth({ seconds: 15, gop: 5 }));
    assert.deepEqual(segments.map((s) => s.startTime), [0, 5, 10]);
  });

  it('cuts anyway when a segment reaches the maximum duration without a keyframe', () => {
    const segments = feed(make({ maxSegmentDurationSeconds: 6 }), synth({ seconds: 14, gop: 30 }));
    assert.deepEqual(segments.map((s) => s.startTime), [0, 6, 12]);
    assert.deepEqual(segments.map((s) => s.independent), [true, false, false]);
  });

  it('cuts anyway when a segment reaches the byte limit, so memory stays bounded', () => {
    const limit = 40_000;
    const segments = feed(make({ maxSegmentBytes: limit }), synth({ seconds: 10, gop: 30 }));
    assert.ok(segments.length >= 5, `${segments.length} segments`);
    for (const s of segments) assert.ok(s.data.length < limit + 4000, `segment of ${s.data.length} bytes`);
    assertTimestampsIncrease(segments);
  });

  it('cuts audio alone on time', () => {
    const segments = feed(make(), synth({ seconds: 7, video: false }));
    assert.equal(segments.length, 4);
    for (const s of segments.slice(0, 3)) near(s.duration, 2.02, 0.03, 'audio segment');
    for (const s of segments) assert.deepEqual(demuxTs(s.data).pmt[0]!.streams, [{ type: 0x0f, pid: 0x101 }]);
    assertTimestampsIncrease(segments);
  });

  it('cuts video alone on keyframes', () => {
    const segments = feed(make(), synth({ seconds: 6, audio: false }));
    assert.deepEqual(segments.map((s) => s.startTime), [0, 2, 4]);
    for (const s of segments) assert.deepEqual(demuxTs(s.data).pmt[0]!.streams, [{ type: 0x1b, pid: 0x100 }]);
  });

  it('numbers segments from firstSequence', () => {
    const segments = feed(make({ firstSequence: 41 }), synth({ seconds: 4 }));
    assert.deepEqual(segments.map((s) => s.sequence), [41, 42]);
  });

  it('refuses nonsense options', () => {
    assert.throws(() => new HlsSegmenter({ targetDurationSeconds: 0 }), RangeError);
    assert.throws(() => new HlsSegmenter({ targetDurationSeconds: 4, maxSegmentDurationSeconds: 2 }), RangeError);
  });
});

describe('segmenter input handling', () => {
  it('drops frames that come before their sequence header, and video before the first keyframe', () => {
    const segmenter = make();
    assert.equal(segmenter.pushVideo(avcFrame(true), 0), undefined);
    assert.equal(segmenter.pushAudio(aacFrame(), 0), undefined);
    assert.equal(segmenter.flush(), undefined, 'nothing was packaged');
    segmenter.pushVideo(avcHeader(), 0);
    segmenter.pushVideo(avcFrame(false), 33);
    assert.equal(segmenter.flush(), undefined, 'an inter frame cannot start the stream');
    segmenter.pushVideo(avcFrame(true), 66);
    const segment = segmenter.flush()!;
    assert.equal(demuxTs(segment.data).pes.length, 1);
  });

  it('ignores codecs it does not package', () => {
    const segmenter = make();
    assert.equal(segmenter.pushVideo(parseVideoTag(hex('2200 84')), 0), undefined);
    assert.equal(segmenter.pushAudio(parseAudioTag(hex('2fff fb')), 0), undefined);
    assert.equal(segmenter.flush(), undefined);
  });

  it('reports what the SPS says', () => {
    const segmenter = make();
    segmenter.pushVideo(avcHeader(), 0);
    segmenter.pushAudio(aacHeader(), 0);
    assert.equal(segmenter.video?.sps?.width, 320);
    assert.equal(segmenter.video?.sps?.height, 240);
    assert.equal(segmenter.audio?.sampleRate, 44100);
  });

  it('raises the typed error for a malformed access unit or configuration, and carries on', () => {
    const segmenter = make();
    segmenter.pushVideo(avcHeader(), 0);
    segmenter.pushAudio(aacHeader(), 0);
    segmenter.pushVideo(avcFrame(true), 0);
    const truncated = avcFrame(false);
    assert.ok(truncated.kind === 'avc');
    assert.throws(() => segmenter.pushVideo({ ...truncated, payload: truncated.payload.subarray(0, 100) }, 33), MediaFormatError);
    assert.throws(() => segmenter.pushVideo(parseVideoTag(hex('1700000000 0164')), 33), MediaFormatError);
    // Channel configuration 0 (a program config element) cannot be written as ADTS.
    assert.throws(() => segmenter.pushAudio(parseAudioTag(hex('af00 1200')), 33), MediaFormatError);
    assert.equal(segmenter.audio?.channelConfiguration, 2, 'the previous configuration stays');
    segmenter.pushVideo(avcFrame(false), 33);
    segmenter.pushAudio(aacFrame(), 40);
    const ts = demuxTs(segmenter.flush()!.data);
    assert.equal(ts.pes.filter((p) => p.pid === 0x100).length, 2);
    assert.equal(ts.pes.filter((p) => p.pid === 0x101).length, 1);
  });

  it('adds a track that starts late at the next cut, with a new PMT version', () => {
    const events = synth({ seconds: 6 }).filter((e) => !(e.kind === 'audio' && e.ts < 3000));
    const late = events.findIndex((e) => e.kind === 'audio');
    events.splice(late, 0, { kind: 'audio', ts: 3000, tag: aacHeader() });
    const segments = feed(make(), events);
    const pmts = segments.map((s) => demuxTs(s.data).pmt[0]!);
    // Audio from 3 s waits for the cut at 4 s: a segment's streams are fixed by its PMT.
    assert.deepEqual(pmts.map((p) => p.streams.length), [1, 1, 2]);
    assert.deepEqual(pmts.map((p) => p.version), [0, 0, 1]);
  });

  it('batches consecutive audio frames into one PES, never across a gap', () => {
    const segmenter = make();
    segmenter.pushAudio(aacHeader(), 0);
    for (const ts of [0, 23, 46, 70, 93, 116, 139, 500, 523]) segmenter.pushAudio(aacFrame(), ts);
    const pes = demuxTs(segmenter.flush()!.data).pes;
    assert.deepEqual(pes.map((p) => (p.pts - pes[0]!.pts) / 90), [0, 116, 500]);
    assert.deepEqual(pes.map((p) => p.payload.length / 207), [5, 2, 2]);
  });

  it('copies each audio frame as it comes: the caller may reuse its memory before the PES is written', () => {
    const segmenter = make();
    segmenter.pushAudio(aacHeader(), 0);
    // One buffer for every frame, as a publisher's reused payload memory would be.
    const reused = Buffer.alloc(2 + 200);
    hex('af01').copy(reused);
    for (let i = 0; i < 4; i++) {
      reused.fill(0x30 + i, 2);
      segmenter.pushAudio(parseAudioTag(reused), i * 23);
    }
    reused.fill(0xee, 2);
    const [pes] = demuxTs(segmenter.flush()!.data).pes;
    const frames = [0, 1, 2, 3].map((i) => pes!.payload.subarray(i * 207 + 7, (i + 1) * 207));
    frames.forEach((frame, i) => assert.ok(frame.every((x) => x === 0x30 + i), `frame ${i} is as it was pushed`));
  });
});

describe('segmenter timestamps', () => {
  it('starts the timeline at 0 and crosses the 32-bit millisecond wrap without a jump', () => {
    const from = 2 ** 32 - 3000;
    const segments = feed(make(), synth({ from, seconds: 8 }));
    assert.deepEqual(segments.map((s) => s.startTime), [0, 2, 4, 6]);
    assert.ok(segments.every((s) => !s.discontinuity));
    assertTimestampsIncrease(segments);
  });

  it('takes a publisher clock that leaps backwards as a discontinuity and keeps output time going forward', () => {
    const segmenter = make();
    const segments = [...feed(segmenter, synth({ seconds: 4 }), false), ...feed(segmenter, synth({ seconds: 4, headers: false }))];
    assert.deepEqual(segments.map((s) => s.discontinuity), [false, false, true, false]);
    assert.deepEqual(segments.slice(0, 2).map((s) => s.startTime), [0, 2]);
    near(segments[2]!.startTime, segments[1]!.startTime + segments[1]!.duration, 0.001, 'resumes where the last segment ended');
    near(segments[3]!.startTime, segments[2]!.startTime + 2, 0.001, 'then cuts on keyframes again');
    assertTimestampsIncrease(segments);
  });

  it('takes a forward leap beyond maxTimestampJumpSeconds as a discontinuity too', () => {
    const segmenter = make();
    const segments = [...feed(segmenter, synth({ seconds: 3 }), false), ...feed(segmenter, synth({ from: 60_000, seconds: 2, headers: false }))];
    assert.deepEqual(segments.map((s) => s.discontinuity), [false, false, true]);
    near(segments[2]!.startTime, segments[1]!.startTime + segments[1]!.duration, 0.001, 'no 57-second hole in the timeline');
    assertTimestampsIncrease(segments);
  });

  it('keeps a track that starts a little before the first frame seen above zero, PCR included', () => {
    const segmenter = make();
    segmenter.pushAudio(aacHeader(), 5000);
    segmenter.pushVideo(avcHeader(), 5000);
    segmenter.pushAudio(aacFrame(), 5000);
    segmenter.pushVideo(avcFrame(true), 4000);
    const segment = segmenter.flush()!;
    assert.equal(segment.startTime, 0);
    const video = demuxTs(segment.data).pes.find((p) => p.pid === 0x100)!;
    const audio = demuxTs(segment.data).pes.find((p) => p.pid === 0x101)!;
    assert.equal(video.dts, undefined, 'no composition offset: PTS alone');
    assert.equal(audio.pts - video.pts, 1000 * 90);
    assert.ok(video.pcr! < video.pts && video.pcr! > 0, `PCR ${video.pcr} has not wrapped`);
  });

  it('continues after markDiscontinuity() with the new publisher’s headers and its own clock', () => {
    const segmenter = make();
    const first = feed(segmenter, synth({ from: 50_000, seconds: 3 }), false);
    const cut = segmenter.markDiscontinuity();
    assert.ok(cut, 'the open segment is finished');
    assert.equal(segmenter.video, undefined, 'codec configurations are forgotten');
    // Frames before the new publisher's headers cannot be packaged.
    assert.equal(segmenter.pushVideo(avcFrame(true), 0), undefined);
    const second = feed(segmenter, synth({ from: 0, seconds: 4 }));
    const segments = [...first, cut, ...second];
    assert.deepEqual(segments.map((s) => s.sequence), [0, 1, 2, 3]);
    assert.deepEqual(segments.map((s) => s.discontinuity), [false, false, true, false]);
    near(segments[2]!.startTime, segments[1]!.startTime + segments[1]!.duration, 0.001, 'resumes where the last segment ended');
    assertTimestampsIncrease(segments);
  });

  it('marks the first segment when a resumed broadcast starts with markDiscontinuity()', () => {
    const segmenter = make();
    assert.equal(segmenter.markDiscontinuity(), undefined);
    const segments = feed(segmenter, synth({ seconds: 2 }));
    assert.deepEqual(segments.map((s) => s.discontinuity), [true]);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end: ffmpeg writes the FLV, the segmenter packages it, ffprobe and ffmpeg read the result.

interface Packaged {
  dir: string;
  segments: HlsSegment[];
  playlist: string;
}

function pushFileTags(segmenter: HlsSegmenter, tags: FlvFileTag[], out: HlsSegment[]): void {
  for (const t of tags) {
    let segment: HlsSegment | undefined;
    if (t.type === FlvTagType.Video) segment = segmenter.pushVideo(parseVideoTag(t.body), t.timestamp);
    else if (t.type === FlvTagType.Audio) segment = segmenter.pushAudio(parseAudioTag(t.body), t.timestamp);
    if (segment) out.push(segment);
  }
}

function writeHls(dir: string, segments: HlsSegment[]): Packaged {
  mkdirSync(dir, { recursive: true });
  const entries = segments.map((s) => {
    const uri = `seg-${String(s.sequence).padStart(5, '0')}.ts`;
    writeFileSync(join(dir, uri), s.data);
    return { sequence: s.sequence, uri, duration: s.duration, discontinuity: s.discontinuity };
  });
  const playlist = join(dir, 'vod.m3u8');
  writeFileSync(playlist, renderVodPlaylist(entries));
  return { dir, segments, playlist };
}

function packageFile(dir: string, runs: FlvFileTag[][]): Packaged {
  const segmenter = new HlsSegmenter({ targetDurationSeconds: 2 });
  const segments: HlsSegment[] = [];
  runs.forEach((tags, i) => {
    if (i > 0) {
      const cut = segmenter.markDiscontinuity();
      if (cut) segments.push(cut);
    }
    pushFileTags(segmenter, tags, segments);
  });
  const last = segmenter.flush();
  if (last) segments.push(last);
  return writeHls(dir, segments);
}

function segmentFile(p: Packaged, s: HlsSegment): string {
  return join(p.dir, `seg-${String(s.sequence).padStart(5, '0')}.ts`);
}

/** ffprobe -v error on each segment prints nothing; returns what each holds. */
function probeSegments(p: Packaged): { codecs: string[]; start: number; duration: number; firstVideoKey: boolean | undefined }[] {
  return p.segments.map((s) => {
    const file = segmentFile(p, s);
    const silent = run('ffprobe', ['-v', 'error', file]);
    assert.equal(silent.status, 0);
    assert.equal(silent.stdout + silent.stderr, '', `ffprobe -v error ${file} printed something`);
    const info = ffprobeJson(['-show_entries', 'stream=codec_name:format=start_time,duration', file]);
    const firstVideo = ffprobeJson(['-select_streams', 'v', '-show_entries', 'packet=flags', '-read_intervals', '%+#1', file]).packets?.[0];
    return {
      codecs: info.streams.map((st: { codec_name: string }) => st.codec_name).sort(),
      start: Number(info.format.start_time),
      duration: Number(info.format.duration),
      firstVideoKey: firstVideo === undefined ? undefined : String(firstVideo.flags).startsWith('K'),
    };
  });
}

/**
 * Reading the VOD playlist (demuxing, then decoding) prints no warning or error, and each stream's
 * DTS never goes back; returns packet counts and the duration. (Through the HLS demuxer ffprobe
 * gives the first two AAC frames of a multi-frame PES the same DTS, for ffmpeg's own HLS output
 * too, so equal DTS are allowed here; our own PES timestamps are checked strictly.)
 */
function readPlaylist(p: Packaged): { packets: Map<string, number>; duration: number } {
  for (const args of [['-c', 'copy'], []]) {
    const result = run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'warning', '-i', p.playlist, ...args, '-f', 'null', '-']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '', `ffmpeg -v warning -i vod.m3u8 ${args.join(' ')} printed:\n${result.stderr}`);
  }
  const probed = ffprobeJson(['-show_entries', 'packet=codec_type,dts_time:format=duration', p.playlist]);
  const packets = new Map<string, number>();
  const lastDts = new Map<string, number>();
  for (const packet of probed.packets as { codec_type: string; dts_time: string }[]) {
    packets.set(packet.codec_type, (packets.get(packet.codec_type) ?? 0) + 1);
    const dts = Number(packet.dts_time);
    const previous = lastDts.get(packet.codec_type);
    if (previous !== undefined) assert.ok(dts >= previous, `${packet.codec_type} DTS ${dts} after ${previous}`);
    lastDts.set(packet.codec_type, dts);
  }
  assertTimestampsIncrease(p.segments);
  return { packets, duration: Number(probed.format.duration) };
}

function countFrames(tags: FlvFileTag[]): { video: number; audio: number } {
  let video = 0;
  let audio = 0;
  for (const t of tags) {
    if (t.type === FlvTagType.Video) {
      const tag = parseVideoTag(t.body);
      if (tag.kind === 'avc' && tag.packetType === 'nalu') video++;
    } else if (t.type === FlvTagType.Audio) {
      const tag = parseAudioTag(t.body);
      if (tag.kind === 'aac' && tag.packetType === 'raw') audio++;
    }
  }
  return { video, audio };
}

/** Segment start times follow on from each other: each starts where the previous one ended. */
function assertContiguous(probes: { start: number }[], segments: HlsSegment[]): void {
  for (let i = 1; i < probes.length; i++) {
    near(probes[i]!.start - probes[i - 1]!.start, segments[i - 1]!.duration, 0.05, `start of segment ${i} after segment ${i - 1}`);
  }
}

describe('packaging ffmpeg output into HLS', { skip: ffmpegMissing }, () => {
  const tmp = tempDir('hls');
  const tags: Record<'av' | 'audio' | 'video', FlvFileTag[]> = { av: [], audio: [], video: [] };
  before(() => {
    for (const content of ['av', 'audio', 'video'] as const) {
      const file = join(tmp.path, `${content}.flv`);
      makeFlv(file, content, 6);
      tags[content] = readFlvFile(readFileSync(file));
    }
  });
  after(() => tmp.remove());

  it('H.264 + AAC: 2-second segments that ffprobe reads cleanly, and a VOD playlist ffmpeg plays without a warning', () => {
    const p = packageFile(join(tmp.path, 'av'), [tags.av]);
    assert.equal(p.segments.length, 3);
    const probes = probeSegments(p);
    for (const [i, probe] of probes.entries()) {
      assert.deepEqual(probe.codecs, ['aac', 'h264'], `segment ${i}`);
      assert.equal(probe.firstVideoKey, true, `segment ${i} starts with a keyframe`);
      // The last segment ends with the longer track: ffmpeg's AAC encoder pads the audio by ~80 ms.
      near(p.segments[i]!.duration, 2, i === 2 ? 0.1 : 0.05, `segment ${i} duration`);
      near(probe.duration, 2, 0.1, `segment ${i} duration as ffprobe sees it`);
    }
    assertContiguous(probes, p.segments);
    const read = readPlaylist(p);
    const frames = countFrames(tags.av);
    assert.equal(read.packets.get('video'), frames.video);
    assert.equal(read.packets.get('audio'), frames.audio);
    near(read.duration, 6, 0.1, 'playlist duration');
    near(p.segments.reduce((sum, s) => sum + s.duration, 0), read.duration, 0.05, 'sum of segment durations');
  });

  it('audio only: segments cut on time hold AAC alone', () => {
    const p = packageFile(join(tmp.path, 'audio'), [tags.audio]);
    assert.equal(p.segments.length, 3);
    const probes = probeSegments(p);
    for (const [i, probe] of probes.entries()) {
      assert.deepEqual(probe.codecs, ['aac']);
      near(p.segments[i]!.duration, 2, 0.05, `segment ${i} duration`);
    }
    assertContiguous(probes, p.segments);
    const read = readPlaylist(p);
    assert.equal(read.packets.get('audio'), countFrames(tags.audio).audio);
    assert.equal(read.packets.get('video'), undefined);
    near(read.duration, 6, 0.1, 'playlist duration');
  });

  it('video only: segments cut on keyframes hold H.264 alone', () => {
    const p = packageFile(join(tmp.path, 'video'), [tags.video]);
    assert.equal(p.segments.length, 3);
    const probes = probeSegments(p);
    for (const [i, probe] of probes.entries()) {
      assert.deepEqual(probe.codecs, ['h264']);
      assert.equal(probe.firstVideoKey, true);
      near(p.segments[i]!.duration, 2, 0.05, `segment ${i} duration`);
    }
    assertContiguous(probes, p.segments);
    const read = readPlaylist(p);
    assert.equal(read.packets.get('video'), countFrames(tags.video).video);
    near(read.duration, 6, 0.1, 'playlist duration');
  });

  it('a reconnect: the same file published twice with markDiscontinuity() between plays through', () => {
    const p = packageFile(join(tmp.path, 'twice'), [tags.av, tags.av]);
    assert.deepEqual(p.segments.map((s) => s.discontinuity), [false, false, false, true, false, false]);
    assert.match(readFileSync(p.playlist, 'utf8'), /#EXTINF:[\d.]+,\nseg-00002.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:[\d.]+,\nseg-00003.ts\n/);
    const probes = probeSegments(p);
    for (const probe of probes) assert.deepEqual(probe.codecs, ['aac', 'h264']);
    assertContiguous(probes, p.segments);
    const read = readPlaylist(p);
    const frames = countFrames(tags.av);
    assert.equal(read.packets.get('video'), 2 * frames.video);
    assert.equal(read.packets.get('audio'), 2 * frames.audio);
    near(read.duration, 12, 0.2, 'playlist duration');
  });

  it('raises the typed error for truncated and garbage tag bodies, and still packages the rest cleanly', () => {
    const segmenter = new HlsSegmenter({ targetDurationSeconds: 2 });
    const headers = tags.av.filter((t) => t.type !== FlvTagType.Script).slice(0, 2);
    const segments: HlsSegment[] = [];
    pushFileTags(segmenter, headers, segments);
    const keyframe = tags.av.find((t) => t.type === FlvTagType.Video && parseVideoTag(t.body).keyframe && t.body[1] === 1)!;
    const audioFrame = tags.av.find((t) => t.type === FlvTagType.Audio && t.body[1] === 1)!;
    const rejected = (t: FlvFileTag, length: number): boolean => {
      try {
        const body = t.body.subarray(0, length);
        if (t.type === FlvTagType.Video) segmenter.pushVideo(parseVideoTag(body), t.timestamp);
        else segmenter.pushAudio(parseAudioTag(body), t.timestamp);
        return false;
      } catch (err) {
        assert.ok(err instanceof MediaFormatError, `${String(err)}`);
        return true;
      }
    };
    // Inside the tag header, the length prefix, the first NAL unit, and one byte short of the end.
    for (const length of [0, 1, 4, 6, 9, 20, keyframe.body.length - 1]) assert.ok(rejected(keyframe, length), `video truncated to ${length}`);
    for (const length of [0, 1]) assert.ok(rejected(audioFrame, length), `audio truncated to ${length}`);
    assert.throws(() => segmenter.pushAudio(parseAudioTag(Buffer.from([0xaf, 0x00, 0x12])), 0), MediaFormatError);
    // Random bodies behind valid headers: either they are rejected or they are taken, never another error.
    const scratch = new HlsSegmenter();
    pushFileTags(scratch, headers, []);
    for (let i = 0; i < 2000; i++) {
      const body = Buffer.concat([Buffer.from(i % 2 ? [0x17, 0x01, 0, 0, 0] : [0xaf, 0x01]), randomBytes(i % 64)]);
      try {
        if (i % 2) scratch.pushVideo(parseVideoTag(body), i * 10);
        else scratch.pushAudio(parseAudioTag(body), i * 10);
      } catch (err) {
        assert.ok(err instanceof MediaFormatError, String(err));
      }
    }
    pushFileTags(segmenter, tags.av, segments);
    const last = segmenter.flush();
    if (last) segments.push(last);
    const p = writeHls(join(tmp.path, 'garbage'), segments);
    for (const probe of probeSegments(p)) assert.deepEqual(probe.codecs, ['aac', 'h264']);
    assert.equal(readPlaylist(p).packets.get('video'), countFrames(tags.av).video);
  });
});
