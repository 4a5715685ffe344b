import { DomainError } from '../kernel/errors.js';
import { splitArgumentText, walkOptions } from '../ffmpeg/options.js';

/**
 * A relay's ffmpeg arguments (Multistreamer's `ffmpeg_args` of an account or of an account on
 * a stream), as users write them: one string, split like a shell splits words into the argv
 * that goes between the relay's input and its one output
 * (`ffmpeg -f flv -i pipe:0 <args> -f flv <destination>`). The rules common to every user's
 * ffmpeg arguments are in ffmpeg-options.ts; a relay may in addition add no input.
 */
export const FFMPEG_ARGS_MAX_LENGTH = 4096;
export const FFMPEG_ARGS_MAX_COUNT = 128;

/**
 * A relay's own refusals: another input (`-i`) would be read from the server, and `-stdin`
 * would make ffmpeg read commands from its standard input, which carries the relayed FLV.
 */
function relayRefusal(name: string): string | undefined {
  return name === 'i' || name === 'stdin' ? `-${name} is not allowed` : undefined;
}

export class FfmpegArgsError extends DomainError {
  override readonly name = 'FfmpegArgsError';
}

/** The argv of `text`, or null for a blank text (a plain relay); FfmpegArgsError says what is wrong. */
export function parseFfmpegArgs(text: string): string[] | null {
  const refuse = (problem: string): never => {
    throw new FfmpegArgsError(problem);
  };
  const args = splitArgumentText(text, { maxLength: FFMPEG_ARGS_MAX_LENGTH, maxCount: FFMPEG_ARGS_MAX_COUNT }, refuse);
  if (args.length === 0) return null;
  walkOptions(args, refuse, relayRefusal);
  return args;
}
