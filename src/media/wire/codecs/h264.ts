/**
 * H.264 as carried in FLV/RTMP (AVCC: an AVCDecoderConfigurationRecord, then access units of
 * length-prefixed NAL units) and as MPEG-TS wants it (Annex B: start-code-prefixed NAL units).
 * Also reads the sequence parameter set for picture size, profile and level (logs, metadata).
 */
import { MediaFormatError } from '../format-error.js';
import { BitReader } from './bit-reader.js';

/** nal_unit_type values this code cares about (ITU-T H.264 table 7-1). */
export const NalUnitType = {
  NonIdrSlice: 1,
  IdrSlice: 5,
  Sei: 6,
  Sps: 7,
  Pps: 8,
  AccessUnitDelimiter: 9,
  EndOfSequence: 10,
  EndOfStream: 11,
  Filler: 12,
} as const;

/** The type of a NAL unit (without start code or length prefix). */
export function nalUnitType(nal: Uint8Array): number {
  if (nal.length === 0) throw new MediaFormatError('h264', 'empty NAL unit');
  return nal[0]! & 0x1f;
}

/** The bytes of a NAL unit length prefix in AVCC: lengthSizeMinusOne + 1. */
export type NaluLengthSize = 1 | 2 | 4;

/** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1): what an AVC sequence header holds. */
export interface AvcDecoderConfig {
  profileIdc: number;
  profileCompatibility: number;
  levelIdc: number;
  naluLengthSize: NaluLengthSize;
  /** Sequence parameter set NAL units, each with its NAL header byte. */
  sps: Buffer[];
  /** Picture parameter set NAL units. */
  pps: Buffer[];
}

export function parseAvcDecoderConfig(record: Uint8Array): AvcDecoderConfig {
  const b = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  const fail = (why: string): never => {
    throw new MediaFormatError('h264', `AVCDecoderConfigurationRecord ${why}`);
  };
  if (b.length < 7) fail(`is ${b.length} bytes, at least 7 needed`);
  if (b[0] !== 1) fail(`has configurationVersion ${b[0]}, expected 1`);
  const lengthSize = (b[4]! & 0x03) + 1;
  // A 3-byte length is reserved by the spec; nothing produces it.
  if (lengthSize === 3) fail('has a NAL unit length size of 3');
  let p = 6;
  const readList = (count: number, what: string): Buffer[] => {
    const list: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      if (p + 2 > b.length) fail(`ends inside the ${what} list`);
      const length = b.readUInt16BE(p);
      p += 2;
      if (p + length > b.length) fail(`ends inside ${what} ${i} (${length} bytes declared)`);
      if (length === 0) fail(`has an empty ${what}`);
      list.push(b.subarray(p, p + length));
      p += length;
    }
    return list;
  };
  const sps = readList(b[5]! & 0x1f, 'SPS');
  if (p + 1 > b.length) fail('ends before the PPS count');
  const ppsCount = b[p]!;
  p += 1;
  const pps = readList(ppsCount, 'PPS');
  // High profiles may append chroma format and bit depth fields; the SPS says the same, so they are not read.
  return {
    profileIdc: b[1]!,
    profileCompatibility: b[2]!,
    levelIdc: b[3]!,
    naluLengthSize: lengthSize as NaluLengthSize,
    sps,
    pps,
  };
}

/** Splits an AVCC access unit into its NAL units (views, no copy). Empty NAL units are dropped. */
export function splitAvcc(data: Uint8Array, naluLengthSize: NaluLengthSize): Buffer[] {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const nalus: Buffer[] = [];
  let p = 0;
  while (p < b.length) {
    if (p + naluLengthSize > b.length) {
      throw new MediaFormatError('h264', `access unit ends inside a NAL unit length prefix at byte ${p}`);
    }
    const length = b.readUIntBE(p, naluLengthSize);
    p += naluLengthSize;
    if (p + length > b.length) {
      throw new MediaFormatError('h264', `NAL unit of ${length} bytes at byte ${p} runs past the access unit (${b.length} bytes)`);
    }
    if (length > 0) nalus.push(b.subarray(p, p + length));
    p += length;
  }
  return nalus;
}

/**
 * The NAL units of one AVCC access unit as offsets into its bytes, found without a view per unit:
 * what the live path keeps per frame. One instance is reused from frame to frame; a scan that
 * fails leaves it empty.
 */
export class AvccNalUnits {
  /** The access unit the offsets point into. */
  data: Uint8Array = new Uint8Array(0);
  count = 0;
  /** Where unit i starts (after its length prefix) and ends, in `data`. */
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  /** An IDR slice: decoding can start here. */
  idr = false;
  sps = false;

  /**
   * Reads the units of `data`, skipping empty ones. Throws MediaFormatError, as splitAvcc does,
   * for a length prefix or unit that runs past the end.
   */
  scan(data: Uint8Array, naluLengthSize: NaluLengthSize): this {
    this.count = 0;
    this.idr = false;
    this.sps = false;
    this.data = data;
    const length = data.length;
    let p = 0;
    while (p < length) {
      if (p + naluLengthSize > length) {
        this.count = 0;
        throw new MediaFormatError('h264', `access unit ends inside a NAL unit length prefix at byte ${p}`);
      }
      let size = 0;
      for (let i = 0; i < naluLengthSize; i++) size = size * 256 + data[p + i]!;
      p += naluLengthSize;
      if (p + size > length) {
        this.count = 0;
        throw new MediaFormatError('h264', `NAL unit of ${size} bytes at byte ${p} runs past the access unit (${length} bytes)`);
      }
      if (size > 0) {
        const type = data[p]! & 0x1f;
        if (type === NalUnitType.IdrSlice) this.idr = true;
        else if (type === NalUnitType.Sps) this.sps = true;
        this.starts[this.count] = p;
        this.ends[this.count] = p + size;
        this.count++;
      }
      p += size;
    }
    return this;
  }

  /** nal_unit_type of unit i. */
  type(i: number): number {
    return this.data[this.starts[i]!]! & 0x1f;
  }
}

const START_CODE = Buffer.from([0, 0, 0, 1]);

/** Joins NAL units into an Annex B byte stream, each behind a 4-byte start code. */
export function annexB(nalus: readonly Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const nal of nalus) parts.push(START_CODE, nal);
  return Buffer.concat(parts);
}

export function avccToAnnexB(data: Uint8Array, naluLengthSize: NaluLengthSize): Buffer {
  return annexB(splitAvcc(data, naluLengthSize));
}

/** What kinds of NAL units an access unit holds. */
export interface AccessUnitSummary {
  /** An IDR slice: decoding can start here. */
  idr: boolean;
  sps: boolean;
  pps: boolean;
  accessUnitDelimiter: boolean;
}

export function summarizeAccessUnit(nalus: readonly Uint8Array[]): AccessUnitSummary {
  const summary: AccessUnitSummary = { idr: false, sps: false, pps: false, accessUnitDelimiter: false };
  for (const nal of nalus) {
    switch (nalUnitType(nal)) {
      case NalUnitType.IdrSlice:
        summary.idr = true;
        break;
      case NalUnitType.Sps:
        summary.sps = true;
        break;
      case NalUnitType.Pps:
        summary.pps = true;
        break;
      case NalUnitType.AccessUnitDelimiter:
        summary.accessUnitDelimiter = true;
        break;
    }
  }
  return summary;
}

/**
 * NAL unit payload to RBSP: drops the emulation prevention byte of every 00 00 03 sequence (the
 * encoder inserts it so that payload bytes never look like a start code).
 */
export function removeEmulationPrevention(nal: Uint8Array): Buffer {
  const out = Buffer.alloc(nal.length);
  let n = 0;
  let zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const byte = nal[i]!;
    if (zeros >= 2 && byte === 0x03) {
      zeros = 0;
      continue;
    }
    out[n++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

/** What the sequence parameter set says about the picture. */
export interface SpsInfo {
  profileIdc: number;
  /** constraint_set0..5 flags and reserved bits, as the byte after profile_idc. */
  constraintFlags: number;
  levelIdc: number;
  /** e.g. 'High', 'Constrained Baseline'. */
  profile: string;
  /** e.g. 3.1 for level_idc 31. */
  level: number;
  /** RFC 6381 codecs parameter, e.g. 'avc1.64001f'. */
  codecString: string;
  spsId: number;
  /** 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** false for interlaced coding (field or MBAFF). */
  frameMbsOnly: boolean;
  /** Display size in pixels, after cropping. */
  width: number;
  height: number;
  /** Frames per second from the VUI timing info when present (time_scale / 2 / num_units_in_tick). */
  frameRate?: number;
}

/** Profiles whose SPS carries chroma format, bit depth and scaling matrices (H.264 7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function profileName(profileIdc: number, constraintFlags: number): string {
  const constraintSet1 = (constraintFlags & 0x40) !== 0;
  const constraintSet3 = (constraintFlags & 0x10) !== 0;
  switch (profileIdc) {
    case 66:
      return constraintSet1 ? 'Constrained Baseline' : 'Baseline';
    case 77:
      return 'Main';
    case 88:
      return 'Extended';
    case 100:
      return 'High';
    case 110:
      return constraintSet3 ? 'High 10 Intra' : 'High 10';
    case 122:
      return constraintSet3 ? 'High 4:2:2 Intra' : 'High 4:2:2';
    case 244:
      return constraintSet3 ? 'High 4:4:4 Intra' : 'High 4:4:4 Predictive';
    case 44:
      return 'CAVLC 4:4:4 Intra';
    default:
      return `profile_idc ${profileIdc}`;
  }
}

function skipScalingList(r: BitReader, size: number): void {
  let lastScale = 8;
  let nextScale = 8;
  for (let j = 0; j < size; j++) {
    if (nextScale !== 0) nextScale = (lastScale + r.se() + 256) % 256;
    lastScale = nextScale === 0 ? lastScale : nextScale;
  }
}

/** Parses a sequence parameter set NAL unit (with its header byte, emulation prevention still in). */
export function parseSps(nal: Uint8Array): SpsInfo {
  if (nal.length < 4 || nalUnitType(nal) !== NalUnitType.Sps) {
    throw new MediaFormatError('h264', 'not a sequence parameter set NAL unit');
  }
  const r = new BitReader(removeEmulationPrevention(nal.subarray(1)), 'h264', 'sequence parameter set');
  const profileIdc = r.bits(8);
  const constraintFlags = r.bits(8);
  const levelIdc = r.bits(8);
  const spsId = r.ue();
  if (spsId > 31) throw new MediaFormatError('h264', `seq_parameter_set_id ${spsId} out of range`);
  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc > 3) throw new MediaFormatError('h264', `chroma_format_idc ${chromaFormatIdc} out of range`);
    if (chromaFormatIdc === 3) separateColourPlane = r.flag();
    bitDepthLuma = r.ue() + 8;
    bitDepthChroma = r.ue() + 8;
    r.skip(1); // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) {
      // seq_scaling_matrix_present_flag: six 4x4 lists, then two (or six for 4:4:4) 8x8 lists.
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) {
        if (r.flag()) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const picOrderCntType = r.ue();
  if (picOrderCntType === 0) {
    r.ue(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (picOrderCntType === 1) {
    r.skip(1); // delta_pic_order_always_zero_flag
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = r.ue();
    if (cycle > 255) throw new MediaFormatError('h264', `num_ref_frames_in_pic_order_cnt_cycle ${cycle} out of range`);
    for (let i = 0; i < cycle; i++) r.se();
  } else if (picOrderCntType !== 2) {
    throw new MediaFormatError('h264', `pic_order_cnt_type ${picOrderCntType} out of range`);
  }
  r.ue(); // max_num_ref_frames
  r.skip(1); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = r.ue() + 1;
  const heightInMapUnits = r.ue() + 1;
  const frameMbsOnly = r.flag();
  if (!frameMbsOnly) r.skip(1); // mb_adaptive_frame_field_flag
  r.skip(1); // direct_8x8_inference_flag
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.flag()) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
  // Crop offsets count in chroma samples (H.264 7.4.2.1.1, CropUnitX/CropUnitY).
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidthC = chromaArrayType === 3 ? 1 : 2;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const frameHeightFactor = frameMbsOnly ? 1 : 2;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * frameHeightFactor;
  const width = widthInMbs * 16 - cropUnitX * (crop.left + crop.right);
  const height = heightInMapUnits * 16 * frameHeightFactor - cropUnitY * (crop.top + crop.bottom);
  if (width <= 0 || height <= 0) throw new MediaFormatError('h264', `cropping leaves a ${width}x${height} picture`);

  const info: SpsInfo = {
    profileIdc,
    constraintFlags,
    levelIdc,
    profile: profileName(profileIdc, constraintFlags),
    // level_idc 9 with constraint_set3 is level 1b; it is reported as 1.
    level: levelIdc / 10,
    codecString: `avc1.${[profileIdc, constraintFlags, levelIdc].map((v) => v.toString(16).padStart(2, '0')).join('')}`,
    spsId,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    frameMbsOnly,
    width,
    height,
  };
  if (r.bitsLeft > 0 && r.flag()) {
    const frameRate = readVuiFrameRate(r);
    if (frameRate !== undefined) info.frameRate = frameRate;
  }
  return info;
}

/** Reads the VUI up to its timing info (H.264 E.1.1). */
function readVuiFrameRate(r: BitReader): number | undefined {
  if (r.flag()) {
    // aspect_ratio_info_present_flag; 255 is Extended_SAR with explicit width and height.
    if (r.bits(8) === 255) r.skip(32);
  }
  if (r.flag()) r.skip(1); // overscan_info_present_flag, overscan_appropriate_flag
  if (r.flag()) {
    r.skip(4); // video_format, video_full_range_flag
    if (r.flag()) r.skip(24); // colour_description_present_flag: primaries, transfer, matrix
  }
  if (r.flag()) {
    r.ue(); // chroma_sample_loc_type_top_field
    r.ue(); // chroma_sample_loc_type_bottom_field
  }
  if (!r.flag()) return undefined;
  const numUnitsInTick = r.bits(32);
  const timeScale = r.bits(32);
  if (numUnitsInTick === 0 || timeScale === 0) return undefined;
  return timeScale / (2 * numUnitsInTick);
}
