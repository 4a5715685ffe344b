import { realpath } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';
import { EgressPolicy } from '../egress/policy.js';
import { ValidationError } from '../kernel/errors.js';
import { splitArgumentText, walkOptions } from './options.js';

/**
 * A puller's ffmpeg arguments (Multistreamer's `ffmpeg_pull_args`), checked here for every
 * caller. The server runs `ffmpeg -v error <args> -f flv rtmp://127.0.0.1/<app>/<key>`: the
 * arguments choose and shape the inputs (`-re -i https://…`) and may set options of our one
 * output (`-c copy`). Any Multistreamer user may set them, so beyond the rules of every user's
 * ffmpeg arguments (ffmpeg-options.ts) the inputs are confined:
 * - a network input (http, https, rtmp, rtmps, rtsp, srt, udp, rtp, tcp, tls) must be a plain
 *   URL (no backslash, no user name or password, no control or non-ASCII character: the
 *   URL parser here and ffmpeg's must not read two different hosts out of one text) naming a
 *   host the egress policy allows, checked when the arguments are set and again right before
 *   each ffmpeg start; ffmpeg gets the URL as parsed here, never the text as written. An http(s)
 *   input keeps its host name (the puller routes ffmpeg's HTTP through the egress policy at
 *   connect time); any other input gets the checked address in place of the name, so ffmpeg
 *   connects to exactly what was checked;
 * - a local file only inside `--pull-file-dir` (its real path: no `..` or symlink out), and
 *   none at all when that is not set;
 * - ffmpeg itself holds each input to its kind: the puller puts `-protocol_whitelist` before
 *   every `-i` (network protocols for a URL, `file` alone for a local file), and ffmpeg applies
 *   it to everything that input opens in turn (HLS segments, keys, DASH fragments), so a remote
 *   playlist cannot name `file:` segments and a local file cannot reach the network;
 * - input formats that open things by themselves are refused: `lavfi` (its `movie` source
 *   opens any file and ignores the whitelist, and its filters read files or load libraries),
 *   `concat` (a list may set the whitelist of what it opens once `-safe 0` is given; `-safe`
 *   is refused too), and capture devices (screen, camera, sound card, framebuffer).
 */
export const PULL_ARGS_MAX_LENGTH = 4096;
export const PULL_ARGS_MAX_COUNT = 128;

/** Where pull inputs may come from: the server's settings. */
export interface PullSourcePolicy {
  /** Real path of the only directory local files may be pulled from (`--pull-file-dir`); null: no local files. */
  fileDir: string | null;
  /** Which addresses network inputs may reach. */
  egress: EgressPolicy;
}

export const NO_LOCAL_FILES: PullSourcePolicy = { fileDir: null, egress: new EgressPolicy(false) };

/** URL schemes an input may start with. */
const INPUT_SCHEMES = new Set(['http', 'https', 'rtmp', 'rtmps', 'rtsp', 'srt', 'udp', 'rtp', 'tcp', 'tls']);

/**
 * ffmpeg 5's protocol names a network input may use, itself and for what it opens in turn:
 * `rtsp` is a demuxer that opens tcp, udp, rtp and tls; `crypto` decrypts AES-128 HLS segments
 * (its nested URL is held to this same list); `httpproxy` is how ffmpeg tunnels https through
 * the puller's proxy. No `file`, `pipe`, `data`, `subfile`, `concat`…
 */
export const NETWORK_PROTOCOLS = ['http', 'https', 'httpproxy', 'tcp', 'tls', 'rtmp', 'rtmps', 'srt', 'udp', 'rtp', 'crypto'] as const;

/** Inputs whose connections the puller routes through the egress policy (an HTTP proxy ffmpeg is given). */
export const PROXIED_SCHEMES = new Set(['http', 'https']);

/** Characters no URL handed to ffmpeg may hold: backslashes, controls and anything beyond ASCII. */
const UNSAFE_URL_CHARACTER = /[\\\x00-\x1f\x7f-\uffff]/;
/** The protocol a local file input may use, for itself and what it opens (a local playlist's segments). */
export const FILE_PROTOCOLS = ['file'] as const;

/** `-f` values refused: they open files, devices or other inputs without the whitelist's say. */
const REFUSED_FORMATS = new Set([
  'lavfi', 'concat',
  'alsa', 'fbdev', 'iec61883', 'jack', 'kmsgrab', 'libcdio', 'libdc1394', 'openal', 'oss', 'pulse',
  'video4linux2', 'v4l2', 'x11grab', 'xcbgrab', 'decklink', 'sndio', 'dv1394', 'bktr',
]);

/** Options of a puller refused beyond the common ones. */
function pullRefusal(name: string): string | undefined {
  if (name === 'safe') return '-safe is not allowed (concat lists are not pulled)';
  return undefined;
}

/** One `-i` of the arguments, judged without touching the disk or the network. */
type Input =
  | { kind: 'network'; index: number; url: URL }
  | { kind: 'file'; index: number; path: string };

function refuser(): (problem: string) => never {
  return (problem) => {
    throw new ValidationError(`ffmpeg_pull_args ${problem}`, { ffmpeg_pull_args: problem });
  };
}

/** What `-i value` is: a network URL of an allowed scheme, or a local path; refused otherwise. */
function classifyInput(value: string, index: number, policy: PullSourcePolicy, refuse: (problem: string) => never): Input {
  const shown = JSON.stringify(value.slice(0, 100));
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'file') {
    if (!INPUT_SCHEMES.has(scheme)) refuse(`input ${shown}: ${scheme}: inputs are not allowed (only ${[...INPUT_SCHEMES].join(', ')} URLs${policy.fileDir ? ' and files of the pull directory' : ''})`);
    // ffmpeg follows an RTSP server's redirect to any address, which no check here can see.
    if (scheme === 'rtsp' && !policy.egress.allowPrivate) {
      refuse(`input ${shown}: rtsp inputs are refused, as ffmpeg follows an RTSP server's redirects to any address (they are allowed with --allow-private-fetch)`);
    }
    if (UNSAFE_URL_CHARACTER.test(value)) refuse(`input ${shown} holds a backslash, a control or a non-ASCII character`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return refuse(`input ${shown} is not a valid URL`);
    }
    if (!value.slice(scheme.length + 1).startsWith('//')) refuse(`input ${shown} is not a valid URL`);
    if (url.username !== '' || url.password !== '' || /^[^/?#]*@/.test(value.slice(scheme.length + 3))) {
      refuse(`input ${JSON.stringify(redactUrls(value).slice(0, 100))}: a user name or password in the URL is not allowed`);
    }
    if (url.hostname === '') refuse(`input ${shown} names no host`);
    return { kind: 'network', index, url };
  }
  const path = scheme === 'file' ? value.slice('file:'.length) : value;
  if (!policy.fileDir) refuse(`input ${shown}: local files are not allowed on this server (only ${[...INPUT_SCHEMES].join(', ')} URLs)`);
  if (path === '') refuse(`input ${shown} names no file`);
  return { kind: 'file', index, path };
}

/**
 * The checks that need neither the disk nor the network: the common rules, the refused
 * formats and options, at least one input, each input's scheme, and local files only when a
 * pull directory is set. Returns the words and the inputs found.
 */
function checkWords(text: string, policy: PullSourcePolicy): { args: string[]; inputs: Input[] } {
  const refuse = refuser();
  const args = splitArgumentText(text, { maxLength: PULL_ARGS_MAX_LENGTH, maxCount: PULL_ARGS_MAX_COUNT }, refuse);
  if (args.length === 0) refuse('must not be empty');
  const inputs: Input[] = [];
  for (const option of walkOptions(args, refuse, pullRefusal)) {
    if (option.name === 'f' && REFUSED_FORMATS.has(option.value!.toLowerCase())) {
      refuse(`-f ${option.value} is not allowed: it opens files or devices of the server by itself`);
    }
    if (option.name === 'i') inputs.push(classifyInput(option.value!, option.index, policy, refuse));
  }
  if (inputs.length === 0) refuse('must name an input with -i');
  return { args, inputs };
}

/**
 * The words of `text` after the checks that need neither the disk nor the network (a quick
 * answer; `preparePullArgs` does every check). Without a policy, local files are refused.
 */
export function parsePullArgs(text: string, policy: PullSourcePolicy = NO_LOCAL_FILES): string[] {
  return checkWords(text, policy).args;
}

/** The real path of a local input, which must be a file inside the pull directory. */
async function localFile(path: string, fileDir: string, refuse: (problem: string) => never): Promise<string> {
  const shown = JSON.stringify(path.slice(0, 100));
  let real: string;
  try {
    real = await realpath(isAbsolute(path) ? path : resolve(fileDir, path));
  } catch {
    return refuse(`input ${shown} does not exist in the pull directory`);
  }
  // The real path, symlinks resolved: `..` and links pointing out of the directory land outside.
  if (!real.startsWith(fileDir.endsWith(sep) ? fileDir : fileDir + sep)) refuse(`input ${shown} is outside the pull directory`);
  return real;
}

/**
 * Every check, and the argv the puller runs: each network input replaced by its URL as parsed
 * here (the checked address in place of the name, but for http and https), each local input
 * by `file:<real path>` (so ffmpeg opens exactly what was checked, and reads no `x:` prefix as
 * a protocol), each `-i` preceded by `-protocol_whitelist` for its kind. Called when the arguments are set and
 * again right before each ffmpeg start. ValidationError says what is refused.
 */
export async function preparePullArgs(text: string, policy: PullSourcePolicy): Promise<string[]> {
  const refuse = refuser();
  const { args, inputs } = checkWords(text, policy);
  const out = [...args];
  // From the last input back, so inserting words does not move the ones still to do.
  for (const input of [...inputs].reverse()) {
    let whitelist: readonly string[];
    if (input.kind === 'network') {
      const shown = JSON.stringify(redactUrls(input.url.href));
      const problem = await policy.egress.hostRefusal(input.url.hostname);
      if (problem) refuse(`input ${shown}: ${problem}`);
      const url = new URL(input.url.href);
      if (!PROXIED_SCHEMES.has(url.protocol.slice(0, -1))) {
        let address: string;
        try {
          address = await policy.egress.pin(url.hostname);
        } catch (err) {
          return refuse(`input ${shown}: ${(err as Error).message}`);
        }
        url.hostname = address.includes(':') ? `[${address}]` : address;
      }
      out[input.index + 1] = url.href;
      whitelist = NETWORK_PROTOCOLS;
    } else {
      out[input.index + 1] = `file:${await localFile(input.path, policy.fileDir!, refuse)}`;
      whitelist = FILE_PROTOCOLS;
    }
    out.splice(input.index, 0, '-protocol_whitelist', whitelist.join(','));
  }
  return out;
}

/**
 * `text` with every URL's credentials and query removed (`rtmp://u:p@host/app?token=x` reads
 * `rtmp://host/app?…`): source URLs may carry them, and ffmpeg repeats URLs in its errors.
 */
export function redactUrls(text: string): string {
  return text.replace(/\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^\s/?#'"]*@)?([^\s?#'"]*)(\?[^\s#'"]*)?/g, (_m, scheme: string, _user, rest: string, query: string | undefined) =>
    // ffmpeg writes "<url>: <error>": the colon after a query is its, not the query's.
    `${scheme}${rest}${query ? (query.endsWith(':') ? '?…:' : '?…') : ''}`,
  );
}
