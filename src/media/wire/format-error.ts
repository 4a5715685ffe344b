/**
 * The one error the media packaging code raises for bytes it cannot make sense of: a truncated
 * FLV tag body, a malformed decoder configuration, an AAC configuration that ADTS cannot carry.
 * Callers catch this one type and decide (drop the tag, end the publish); the parsers never read
 * outside their input, so anything else thrown is a bug.
 */
export type MediaFormat = 'flv' | 'h264' | 'aac' | 'mpegts';

export class MediaFormatError extends Error {
  override readonly name = 'MediaFormatError';
  constructor(
    readonly format: MediaFormat,
    message: string,
  ) {
    super(`${format}: ${message}`);
  }
}
