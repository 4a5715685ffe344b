/**
 * Helpers for the media tests: running the real ffmpeg/ffprobe, reading FLV files they write,
 * and a small MPEG-TS demuxer that checks the packet layer while it reassembles PES packets.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { crc32Mpeg2 } from '../../src/media/wire/mpegts/crc.js';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: readonly string[]): RunResult {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function available(command: string): boolean {
  const result = spawnSync(command, ['-version'], { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

/** The reason to skip an ffmpeg test, or false when ffmpeg and ffprobe are on PATH. */
export const ffmpegMissing: string | false =
  available('ffmpeg') && available('ffprobe') ? false : 'ffmpeg/ffprobe are not on PATH (install ffmpeg to run the end-to-end media tests)';

/** Runs ffmpeg and fails the test with its output when it fails. */
export function ffmpeg(args: readonly string[]): void {
  const result = run('ffmpeg', ['-hide_banner', '-nostdin', '-y', '-v', 'error', ...args]);
  assert.equal(result.status, 0, `ffmpeg ${args.join(' ')} failed:\n${result.stderr}`);
}

export function ffprobeJson(args: readonly string[]): any {
  const result = run('ffprobe', ['-v', 'error', '-of', 'json', ...args]);
  assert.equal(result.status, 0, `ffprobe ${args.join(' ')} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** A temporary directory, made on first use (so a skipped suite leaves nothing behind). */
/** Whether the process with this id (an ffmpeg the server started) still runs. */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function tempDir(prefix: string): { readonly path: string; remove(): void } {
  let path: string | undefined;
  return {
    get path(): string {
      path ??= mkdtempSync(join(tmpdir(), `streamdelta-${prefix}-`));
      return path;
    },
    remove: () => {
      if (path !== undefined) rmSync(path, { recursive: true, force: true });
    },
  };
}

/** The ffmpeg inputs of the end-to-end tests: 6 s of 320x240 test pattern (1 s GOP) and a 440 Hz tone. */
export const SOURCE_ARGS = {
  video: ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=30'],
  audio: ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'],
  videoCodec: ['-c:v', 'libx264', '-g', '30', '-pix_fmt', 'yuv420p'],
  audioCodec: ['-c:a', 'aac'],
} as const;

/** Writes an FLV with ffmpeg: 'av' (H.264 + AAC), 'audio' (AAC only) or 'video' (H.264 only). */
export function makeFlv(path: string, content: 'av' | 'audio' | 'video', seconds = 6): void {
  const args: string[] = [];
  if (content !== 'audio') args.push(...SOURCE_ARGS.video);
  if (content !== 'video') args.push(...SOURCE_ARGS.audio);
  args.push('-t', String(seconds));
  if (content !== 'audio') args.push(...SOURCE_ARGS.videoCodec);
  if (content !== 'video') args.push(...SOURCE_ARGS.audioCodec);
  args.push('-f', 'flv', path);
  ffmpeg(args);
}

export interface FlvFileTag {
  type: number;
  /** Milliseconds, 32-bit (24 bits plus the extended byte). */
  timestamp: number;
  body: Buffer;
}

/** Reads an FLV file: a 9-byte header, then PreviousTagSize and an 11-byte header before each tag. */
export function readFlvFile(file: Buffer): FlvFileTag[] {
  assert.equal(file.subarray(0, 3).toString('latin1'), 'FLV', 'not an FLV file');
  let p = file.readUInt32BE(5); // DataOffset: the header size
  const tags: FlvFileTag[] = [];
  while (p + 4 + 11 <= file.length) {
    p += 4; // PreviousTagSize
    const type = file[p]! & 0x1f;
    const size = file.readUIntBE(p + 1, 3);
    const timestamp = (file.readUIntBE(p + 4, 3) | (file[p + 7]! << 24)) >>> 0;
    const start = p + 11;
    assert.ok(start + size <= file.length, 'FLV tag runs past the end of the file');
    tags.push({ type, timestamp, body: file.subarray(start, start + size) });
    p = start + size;
  }
  return tags;
}

/** One reassembled PES packet and what the packets that carried it said. */
export interface DemuxedPes {
  pid: number;
  streamId: number;
  pts: number;
  dts: number | undefined;
  /** PES_packet_length as written (0 = unbounded). */
  declaredLength: number;
  dataAlignment: boolean;
  payload: Buffer;
  randomAccess: boolean;
  pcr: number | undefined;
  packets: number;
}

export interface DemuxedTs {
  pat: { programNumber: number; pmtPid: number }[];
  pmt: { pcrPid: number; version: number; streams: { type: number; pid: number }[] }[];
  pes: DemuxedPes[];
  /** Continuity counters in packet order, per PID. */
  continuity: Map<number, number[]>;
}

function readTimestamp(b: Buffer, at: number): number {
  return (
    ((b[at]! >> 1) & 0x07) * 2 ** 30 +
    (b[at + 1]! << 22) +
    ((b[at + 2]! >> 1) << 15) +
    (b[at + 3]! << 7) +
    (b[at + 4]! >> 1)
  );
}

function readSection(payload: Buffer): Buffer {
  const pointer = payload[0]!;
  const section = payload.subarray(1 + pointer);
  const length = ((section[1]! & 0x0f) << 8) | section[2]!;
  const whole = section.subarray(0, 3 + length);
  assert.equal(crc32Mpeg2(whole.subarray(0, whole.length - 4)), whole.readUInt32BE(whole.length - 4), 'PSI CRC32 mismatch');
  return whole;
}

/**
 * Demuxes a transport stream, asserting the packet layer: 188-byte packets with the sync byte,
 * continuity counters that step by one per PID, adaptation fields whose lengths add up, and PES
 * packets that end exactly at a packet end.
 */
export function demuxTs(ts: Buffer, pmtPid = 0x1000): DemuxedTs {
  assert.equal(ts.length % 188, 0, 'not a whole number of 188-byte packets');
  const out: DemuxedTs = { pat: [], pmt: [], pes: [], continuity: new Map() };
  const open = new Map<number, { chunks: Buffer[]; randomAccess: boolean; pcr: number | undefined; packets: number }>();
  const close = (pid: number): void => {
    const pes = open.get(pid);
    if (!pes) return;
    open.delete(pid);
    const data = Buffer.concat(pes.chunks);
    assert.deepEqual([...data.subarray(0, 3)], [0, 0, 1], 'PES start code');
    const declaredLength = data.readUInt16BE(4);
    if (declaredLength !== 0) assert.equal(data.length, 6 + declaredLength, 'PES_packet_length matches the data');
    const flags = data[7]!;
    const headerLength = data[8]!;
    const pts = readTimestamp(data, 9);
    const dts = (flags & 0xc0) === 0xc0 ? readTimestamp(data, 14) : undefined;
    out.pes.push({
      pid,
      streamId: data[3]!,
      pts,
      dts,
      declaredLength,
      dataAlignment: (data[6]! & 0x04) !== 0,
      payload: data.subarray(9 + headerLength),
      randomAccess: pes.randomAccess,
      pcr: pes.pcr,
      packets: pes.packets,
    });
  };
  for (let p = 0; p < ts.length; p += 188) {
    const packet = ts.subarray(p, p + 188);
    assert.equal(packet[0], 0x47, `sync byte of packet ${p / 188}`);
    const pusi = (packet[1]! & 0x40) !== 0;
    const pid = ((packet[1]! & 0x1f) << 8) | packet[2]!;
    const control = (packet[3]! >> 4) & 0x03;
    const cc = packet[3]! & 0x0f;
    const counters = out.continuity.get(pid) ?? [];
    counters.push(cc);
    out.continuity.set(pid, counters);
    let offset = 4;
    let randomAccess = false;
    let pcr: number | undefined;
    if (control & 0x02) {
      const length = packet[4]!;
      assert.ok(length <= 183, 'adaptation field fits the packet');
      if (length > 0) {
        const flags = packet[5]!;
        randomAccess = (flags & 0x40) !== 0;
        if (flags & 0x10) {
          pcr = packet[6]! * 2 ** 25 + (packet[7]! << 17) + (packet[8]! << 9) + (packet[9]! << 1) + (packet[10]! >> 7);
        }
        const stuffingFrom = 6 + (flags & 0x10 ? 6 : 0);
        for (let i = stuffingFrom; i < 5 + length; i++) assert.equal(packet[i], 0xff, 'stuffing bytes are 0xFF');
      }
      offset = 5 + length;
    }
    assert.ok(control & 0x01, 'every packet carries payload');
    const payload = packet.subarray(offset);
    if (pid === 0) {
      const section = readSection(payload);
      for (let i = 8; i < section.length - 4; i += 4) {
        out.pat.push({ programNumber: section.readUInt16BE(i), pmtPid: section.readUInt16BE(i + 2) & 0x1fff });
      }
    } else if (pid === pmtPid) {
      const section = readSection(payload);
      const pcrPid = section.readUInt16BE(8) & 0x1fff;
      const infoLength = section.readUInt16BE(10) & 0x0fff;
      const streams: { type: number; pid: number }[] = [];
      for (let i = 12 + infoLength; i < section.length - 4; ) {
        streams.push({ type: section[i]!, pid: section.readUInt16BE(i + 1) & 0x1fff });
        i += 5 + (section.readUInt16BE(i + 3) & 0x0fff);
      }
      out.pmt.push({ pcrPid, version: (section[5]! >> 1) & 0x1f, streams });
    } else {
      if (pusi) {
        close(pid);
        open.set(pid, { chunks: [], randomAccess, pcr, packets: 0 });
      }
      const pes = open.get(pid);
      assert.ok(pes, `payload on PID ${pid} before any payload_unit_start_indicator`);
      assert.ok(pusi || (!randomAccess && pcr === undefined), 'RAI and PCR only on the first packet of a PES');
      pes.chunks.push(payload);
      pes.packets++;
    }
  }
  for (const pid of [...open.keys()]) close(pid);
  return out;
}

/** Asserts that each PID's continuity counters step by one modulo 16, starting from `first`. */
export function assertContinuity(continuity: Map<number, number[]>, first: Map<number, number> = new Map()): void {
  for (const [pid, counters] of continuity) {
    let expected = first.get(pid) ?? counters[0]!;
    for (const cc of counters) {
      assert.equal(cc, expected, `continuity counter on PID ${pid}`);
      expected = (expected + 1) & 0x0f;
    }
  }
}
