/**
 * Just enough PNG to choose between images: the signature and the IHDR chunk's size. Xcode's
 * device builds "crush" PNGs into Apple's CgBI variant (a CgBI chunk before IHDR, BGRA, no
 * zlib header), which browsers cannot show; those are reported so the caller can pass them over.
 */
export interface PngInfo {
  width: number;
  height: number;
  /** Apple's CgBI variant: not displayable outside iOS. */
  appleOptimized: boolean;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Wider or taller than any screen or icon; also keeps width × height a safe integer. */
const MAX_SIDE = 32768;

/** The image's size, or undefined when the bytes are not a PNG with a sane IHDR. */
export function pngInfo(data: Uint8Array): PngInfo | undefined {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(SIGNATURE)) return undefined;
  let at = 8;
  let appleOptimized = false;
  if (bytes.toString('latin1', at + 4, at + 8) === 'CgBI') {
    appleOptimized = true;
    at += 12 + bytes.readUInt32BE(at);
  }
  if (at + 8 + 13 > bytes.length || bytes.readUInt32BE(at) !== 13 || bytes.toString('latin1', at + 4, at + 8) !== 'IHDR') return undefined;
  const width = bytes.readUInt32BE(at + 8);
  const height = bytes.readUInt32BE(at + 12);
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) return undefined;
  return { width, height, appleOptimized };
}
