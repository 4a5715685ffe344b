/**
 * The rules every user-written ffmpeg argument list obeys, in one place: a relay's
 * `ffmpeg_args` (ffmpeg-args.ts) and a puller's `ffmpeg_pull_args` (pull-args.ts) are both
 * split here, walked here, and refused here for the options that reach beyond the one stream
 * the server asked for: options that write files, options that read files or load code
 * (filter graphs, presets, encoder parameter lists), options that widen what ffmpeg may
 * connect to, and any word that is not an option or its value (ffmpeg would take it for
 * another output file and write it on the server).
 */

/**
 * ffmpeg's own options that take no value (its boolean options, each also as `-no<name>`).
 * This list must be complete: a valueless option missing here would make the next word its
 * "value", and that word could be a second output file.
 */
const VALUELESS = new Set([
  're', 'y', 'n', 'stdin', 'hide_banner', 'an', 'vn', 'sn', 'dn', 'shortest', 'copyts', 'start_at_zero',
  'benchmark', 'benchmark_all', 'stats', 'debug_ts', 'xerror', 'ignore_unknown', 'copy_unknown', 'recast_media',
  'copyinkf', 'copypriorss', 'bitexact', 'psnr', 'accurate_seek', 'autorotate', 'autoscale', 'find_stream_info',
  'fix_sub_duration', 'intra', 'qphist', 'dump', 'hex', 'auto_conversion_filters', 'isync', 'vstats', 'report',
]);

export function takesNoValue(name: string): boolean {
  return VALUELESS.has(name) || (name.startsWith('no') && VALUELESS.has(name.slice(2)));
}

/** Options whose value (or the option itself) makes ffmpeg write a file or URL. */
const WRITES_FILES = new Set(['progress', 'vstats', 'vstats_file', 'report', 'passlogfile', 'pass', 'dump_attachment', 'sdp_file']);

/**
 * Options that read files of the server or load code. Filter graphs are among them: filters
 * such as `movie`, `drawtext=textfile=` or `subtitles` read any file into the video, and
 * `ladspa`, `lv2` or `frei0r` load a shared library. Preset files, filter scripts and
 * attachments are files; encoder parameter lists (`-x264-params stats=…`) name files; TLS
 * `ca_file`/`cert_file`/`key_file` read them; `rtmp_swfverify` fetches a URL no check sees.
 */
const READS_FILES = new Set([
  'vf', 'af', 'filter', 'filter_complex', 'lavfi', 'filter_script', 'filter_complex_script',
  'fpre', 'vpre', 'apre', 'spre', 'pre', 'attach',
  'x264-params', 'x264opts', 'x265-params', 'svtav1-params', 'aom-params', 'kvazaar-params', 'rav1e-params',
  'ca_file', 'cafile', 'cert_file', 'key_file', 'rtmp_swfverify',
]);

/** Options that would widen what ffmpeg may connect to: the server sets the protocols, and no proxy. */
const WIDENS_NETWORK = new Set(['protocol_whitelist', 'protocol_blacklist', 'http_proxy']);

/** Why ffmpeg option `-name` may not be given by a user, or undefined when it may. */
export function optionRefusal(name: string): string | undefined {
  // `-/name value` makes newer ffmpeg read the option's value from the file `value`.
  if (name.startsWith('/')) return `-${name} reads its value from a file on the server and is not allowed`;
  if (WRITES_FILES.has(name)) return `-${name} writes files on the server and is not allowed`;
  if (READS_FILES.has(name)) return `-${name} reads files or loads code on the server and is not allowed`;
  if (WIDENS_NETWORK.has(name)) return `-${name} is set by the server and is not allowed`;
  return undefined;
}

/** One option of a walked argument list: `-name[:spec] [value]`. */
export interface FfmpegOption {
  /** The option's name, without the dash and any stream specifier (`c` for `-c:v`). */
  name: string;
  /** Its value, or undefined for a valueless option. */
  value: string | undefined;
  /** Where the option is in the list (its value, if any, is next). */
  index: number;
}

/**
 * Walks `args` as ffmpeg reads them, calling `refuse(problem)` (which throws) at the first
 * word that is not an option or its value, at a refused option, and at an option that lacks
 * its value. `extra` adds refusals of one caller (a relay may not add inputs).
 */
export function walkOptions(args: readonly string[], refuse: (problem: string) => never, extra?: (name: string) => string | undefined): FfmpegOption[] {
  const options: FfmpegOption[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    // A lone '-' and negative numbers are values, not options.
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      refuse(`"${arg.slice(0, 64)}" would be a second output file: only options and their values may be given`);
    }
    const name = arg.slice(1).split(':')[0]!;
    const problem = optionRefusal(name) ?? extra?.(name);
    if (problem) refuse(problem);
    if (takesNoValue(name)) {
      options.push({ name, value: undefined, index: i });
      continue;
    }
    if (i + 1 >= args.length) refuse(`-${name} needs a value`);
    options.push({ name, value: args[i + 1]!, index: i });
    i++;
  }
  return options;
}

/** Splits like a POSIX shell would (quotes and backslashes; no variables, globs or operators); null for an unterminated quote. */
export function splitShellWords(text: string): string[] | null {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 < text.length) word += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) return null;
  if (inWord) words.push(word);
  return words;
}

/** The words of a user's argument text, after the checks common to both kinds: length, NUL, quotes, count. */
export function splitArgumentText(text: string, limits: { maxLength: number; maxCount: number }, refuse: (problem: string) => never): string[] {
  if (text.length > limits.maxLength) refuse(`must be at most ${limits.maxLength} characters`);
  if (text.includes('\0')) refuse('must not contain NUL characters');
  const args = splitShellWords(text) ?? refuse('has an unterminated quote');
  if (args.length > limits.maxCount) refuse(`must be at most ${limits.maxCount} arguments`);
  return args;
}
