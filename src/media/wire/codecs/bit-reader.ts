/**
 * A most-significant-bit-first reader over bytes, with the Exp-Golomb codes of H.264 syntax.
 * Reading past the end raises MediaFormatError for the format named at construction, so a
 * truncated parameter set is an error, never a silent zero.
 */
import { MediaFormatError, type MediaFormat } from '../format-error.js';

/** Exp-Golomb codes longer than this cannot be a valid H.264 syntax element (values < 2^32). */
const MAX_LEADING_ZEROS = 31;

export class BitReader {
  private bit = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly format: MediaFormat,
    private readonly what: string,
  ) {}

  get bitsLeft(): number {
    return this.bytes.length * 8 - this.bit;
  }

  /** Reads up to 32 bits as an unsigned integer. */
  bits(count: number): number {
    if (count > this.bitsLeft) {
      throw new MediaFormatError(this.format, `${this.what} ends early (needed ${count} more bits, ${this.bitsLeft} left)`);
    }
    let value = 0;
    for (let i = 0; i < count; i++) {
      const byte = this.bytes[this.bit >> 3]!;
      value = value * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return value;
  }

  flag(): boolean {
    return this.bits(1) === 1;
  }

  skip(count: number): void {
    if (count > this.bitsLeft) throw new MediaFormatError(this.format, `${this.what} ends early`);
    this.bit += count;
  }

  /** ue(v): unsigned Exp-Golomb. */
  ue(): number {
    let zeros = 0;
    while (this.bits(1) === 0) {
      zeros++;
      if (zeros > MAX_LEADING_ZEROS) throw new MediaFormatError(this.format, `${this.what} has an Exp-Golomb code out of range`);
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  /** se(v): signed Exp-Golomb (1, -1, 2, -2, ... for codes 1, 2, 3, 4, ...). */
  se(): number {
    const code = this.ue();
    return code % 2 === 1 ? (code + 1) / 2 : -(code / 2);
  }
}
