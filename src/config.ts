import { existsSync, realpathSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve, join } from 'node:path';
import type { DatabaseLocation } from './store/database.js';
import { DEFAULT_INGEST_SERVERS, type IngestServers } from './core/relays/destinations.js';
import { DEFAULT_CHAT_SETTINGS, MAX_HISTORY, type ChatSettings } from './core/chat/input.js';
import { parseChatRate } from './core/chat/rate.js';
import { isAwsRegion, type AwsRegion } from './core/uploads/aws-regions.js';
import { DEFAULT_ADMISSION_LIMITS, type AdmissionLimits } from './core/playback/admissions.js';
import { DEFAULT_LOGIN_THROTTLE, type LoginThrottleSettings } from './core/accounts/login-throttle.js';
import { DEFAULT_ACCOUNT_QUOTAS, type AccountQuotaLimits } from './core/accounts/quotas.js';

/**
 * One typed configuration, read from command-line flags, then environment variables, then
 * the embedded defaults, and checked before anything starts. Each setting is declared once
 * here; the README's configuration table lists the same names.
 */
export interface Config {
  httpHost: string;
  httpPort: number;
  rtmpPort: number;
  dataDir: string;
  /** The base of every URL the server hands out, without a trailing slash. */
  publicUrl: string;
  database: DatabaseLocation;
  redisUrl: string | undefined;
  logLevel: LogLevel;
  /** Explicit signing secret for rig's JWTs; when absent one is made and kept in the database. */
  jwtSecret: string | undefined;
  /** When set, GET /metrics asks for `Authorization: Bearer <token>`; else it answers anyone who reaches it. */
  metricsToken: string | undefined;
  rigPrefix: string;
  /** Path prefix of the Multistreamer API (`<prefix>/api/v1`) and its chat socket (`<prefix>/ws/:id`); '' for the root. */
  multistreamerPrefix: string;
  bodyLimit: number;
  ingestServers: IngestServers;
  /** The RTMP application publishers and viewers connect to (`rtmp://host/<app>/<key>`). */
  rtmpApp: string;
  /** Seconds a broadcast waits for its publisher to come back before it ends; 0 ends it at once. */
  reconnectWindow: number;
  /** Target HLS segment length in seconds; segments are cut on the first keyframe after it. */
  hlsSegmentDuration: number;
  /** Segments in the live playlist's sliding window. */
  hlsLiveWindow: number;
  /** Milliseconds live media may wait to be written to RTMP viewers and relays with what follows it. */
  rtmpWriteBatch: number;
  /** This node's name in a cluster: broadcasts it holds are tagged with it. */
  nodeId: string;
  /** Longest wait between attempts to reach a failing relay destination, in seconds. */
  relayRetryMax: number;
  /** Bytes a relay destination may fall behind before it is dropped and reconnected. */
  relayMaxBacklog: number;
  /** PEM file of extra certificate authorities trusted by rtmps:// relays (a private CA). */
  relayCaFile: string | undefined;
  /** The ffmpeg program for relays with custom arguments and for pullers. */
  ffmpegPath: string;
  /** Failed runs in a row after which a puller gives up (Multistreamer's ffmpeg_max_attempts). */
  pullMaxAttempts: number;
  /** Real path of the only directory pullers may read local files from; undefined: none (network sources only). */
  pullFileDir: string | undefined;
  /** Let bundle downloads and pullers reach loopback, private and link-local addresses (off: only public hosts). */
  allowPrivateFetch: boolean;
  /** Largest app bundle (zip) a version's processing downloads, in bytes. */
  bundleMaxBytes: number;
  /** Seconds a bundle download may take in all. */
  bundleFetchTimeout: number;
  /** Seconds a Kickflip OAuth2 access token lives (the Android SDK loses its user when one expires). */
  kickflipTokenTtl: number;
  /** The bucket name of the S3-compatible upload endpoint. */
  uploadBucket: string;
  /** The AWS region name upload credentials are scoped to (requests must be signed for it). */
  uploadRegion: AwsRegion;
  /** Seconds fresh upload credentials are valid. */
  uploadCredentialLifetime: number;
  /** Seconds upload credentials stay valid after their stream stops. */
  uploadGrace: number;
  /** Largest object (single or assembled multipart) the upload endpoint accepts, in bytes. */
  uploadMaxObjectSize: number;
  /** Most parts a multipart upload may have. */
  uploadMaxParts: number;
  /** Chat limits: message length, post rate, history on connect, viewer counts, slow sockets. */
  chat: ChatSettings;
  /** Viewer admission by a StreamAPI site (`?key=`): how long answers are reused, calls in flight per stream and per address. */
  admission: AdmissionLimits;
  /** How fast passwords may be tried, per account name and per client address (every dialect's logins). */
  login: LoginThrottleSettings;
  /** How many streams, apps and webhooks one account may hold (0: no limit). */
  quotas: AccountQuotaLimits;
  /** What one client may hold of the HTTP server: connections per address and timeouts, in seconds (0: none). */
  http: { maxConnectionsPerIp: number; headersTimeout: number; requestTimeout: number; keepAliveTimeout: number };
  /** Open RTMP connections one client address may hold (0: no limit). */
  rtmpMaxConnectionsPerIp: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

interface Setting {
  flag: string;
  env: string;
  meaning: string;
  default: string;
  /** A switch: the flag alone means on (`--name`), and it takes no separate value. */
  boolean?: true;
}

/** Every setting, in the order the README lists them. */
export const SETTINGS = {
  httpHost: { flag: '--http-host', env: 'STREAMDELTA_HTTP_HOST', default: '0.0.0.0', meaning: 'Address the HTTP server binds to' },
  httpPort: { flag: '--http-port', env: 'STREAMDELTA_HTTP_PORT', default: '8080', meaning: 'HTTP port (0 picks a free one)' },
  rtmpPort: { flag: '--rtmp-port', env: 'STREAMDELTA_RTMP_PORT', default: '1935', meaning: 'RTMP ingest port' },
  dataDir: { flag: '--data-dir', env: 'STREAMDELTA_DATA_DIR', default: './data', meaning: 'Directory for the SQLite database and media' },
  publicUrl: { flag: '--public-url', env: 'STREAMDELTA_PUBLIC_URL', default: 'http://localhost:<http-port>', meaning: 'Base of the URLs the server hands out' },
  databaseUrl: { flag: '--database-url', env: 'DATABASE_URL', default: 'sqlite:<data-dir>/streamdelta.db', meaning: 'sqlite:PATH or postgres://…' },
  redisUrl: { flag: '--redis-url', env: 'REDIS_URL', default: '(none: events stay in-process)', meaning: 'redis://… to share events between nodes' },
  logLevel: { flag: '--log-level', env: 'STREAMDELTA_LOG_LEVEL', default: 'info', meaning: LOG_LEVELS.join(', ') },
  jwtSecret: { flag: '--jwt-secret', env: 'STREAMDELTA_JWT_SECRET', default: '(made on first start, kept in the database)', meaning: 'HS256 secret of rig JWTs, at least 32 characters' },
  metricsToken: { flag: '--metrics-token', env: 'STREAMDELTA_METRICS_TOKEN', default: '(none: /metrics is open)', meaning: 'Bearer token GET /metrics asks for: at least 16 of A-Z a-z 0-9 . _ ~ + / -' },
  rigPrefix: { flag: '--rig-prefix', env: 'STREAMDELTA_RIG_PREFIX', default: '(empty: mounted at /)', meaning: 'Path prefix of the rig API, e.g. /rig' },
  multistreamerPrefix: { flag: '--multistreamer-prefix', env: 'STREAMDELTA_MULTISTREAMER_PREFIX', default: '(empty: /api/v1 and /ws at the root)', meaning: 'Path prefix of the Multistreamer API and chat socket, e.g. /multistreamer' },
  bodyLimit: { flag: '--body-limit', env: 'STREAMDELTA_BODY_LIMIT', default: '1048576', meaning: 'Largest accepted request body, in bytes' },
  youtubeIngest: { flag: '--youtube-ingest', env: 'STREAMDELTA_YOUTUBE_INGEST', default: DEFAULT_INGEST_SERVERS.YouTube, meaning: 'RTMP ingest base for YouTube destinations' },
  twitchIngest: { flag: '--twitch-ingest', env: 'STREAMDELTA_TWITCH_INGEST', default: DEFAULT_INGEST_SERVERS.Twitch, meaning: 'RTMP ingest base for Twitch destinations' },
  rtmpApp: { flag: '--rtmp-app', env: 'STREAMDELTA_RTMP_APP', default: 'live', meaning: 'RTMP application name: rtmp://host:port/<app>/<streamKey>' },
  reconnectWindow: { flag: '--reconnect-window', env: 'STREAMDELTA_RECONNECT_WINDOW', default: '30', meaning: 'Seconds a broadcast waits for its publisher to reconnect (0: ends at once)' },
  hlsSegmentDuration: { flag: '--hls-segment-duration', env: 'STREAMDELTA_HLS_SEGMENT_DURATION', default: '2', meaning: 'Target HLS segment length in seconds (cut on keyframes)' },
  hlsLiveWindow: { flag: '--hls-live-window', env: 'STREAMDELTA_HLS_LIVE_WINDOW', default: '6', meaning: 'Segments in the live playlist' },
  rtmpWriteBatch: { flag: '--rtmp-write-batch', env: 'STREAMDELTA_RTMP_WRITE_BATCH', default: '100', meaning: 'Milliseconds live media may wait to go to RTMP viewers and relays in one write with what follows (0: each message at once)' },
  relayRetryMax: { flag: '--relay-retry-max', env: 'STREAMDELTA_RELAY_RETRY_MAX', default: '30', meaning: 'Longest wait in seconds between attempts to reach a failing destination' },
  relayMaxBacklog: { flag: '--relay-max-backlog', env: 'STREAMDELTA_RELAY_MAX_BACKLOG', default: '8388608', meaning: 'Bytes a destination may fall behind before it is dropped and reconnected' },
  relayCaFile: { flag: '--relay-ca-file', env: 'STREAMDELTA_RELAY_CA_FILE', default: '(none: the system CAs)', meaning: 'PEM file of extra CAs trusted for rtmps:// destinations' },
  ffmpegPath: { flag: '--ffmpeg-path', env: 'STREAMDELTA_FFMPEG_PATH', default: 'ffmpeg', meaning: 'ffmpeg program for destinations with ffmpeg arguments' },
  pullMaxAttempts: { flag: '--pull-max-attempts', env: 'STREAMDELTA_PULL_MAX_ATTEMPTS', default: '3', meaning: 'Failed runs in a row after which a puller (ffmpeg_pull_args) gives up' },
  pullFileDir: { flag: '--pull-file-dir', env: 'STREAMDELTA_PULL_FILE_DIR', default: '(empty: local files refused)', meaning: 'The only directory pullers may read local files from' },
  nodeId: { flag: '--node-id', env: 'STREAMDELTA_NODE_ID', default: '(the host name)', meaning: 'This node\'s name; broadcasts it holds are tagged with it' },
  allowPrivateFetch: { flag: '--allow-private-fetch', env: 'STREAMDELTA_ALLOW_PRIVATE_FETCH', default: 'off', meaning: 'Let outbound connections made on a user\'s behalf (webhooks, callbacks, relays, pullers, bundle downloads) reach loopback and private addresses (1 or true; for tests and closed networks)', boolean: true },
  bundleMaxBytes: { flag: '--bundle-max-bytes', env: 'STREAMDELTA_BUNDLE_MAX_BYTES', default: '268435456', meaning: 'Largest app bundle (zip) a Kickfolio version may download, in bytes' },
  bundleFetchTimeout: { flag: '--bundle-fetch-timeout', env: 'STREAMDELTA_BUNDLE_FETCH_TIMEOUT', default: '300', meaning: 'Seconds a bundle download may take' },
  kickflipTokenTtl: { flag: '--kickflip-token-ttl', env: 'STREAMDELTA_KICKFLIP_TOKEN_TTL', default: '2592000', meaning: 'Seconds a Kickflip OAuth2 access token lives (30 days)' },
  uploadBucket: { flag: '--upload-bucket', env: 'STREAMDELTA_UPLOAD_BUCKET', default: 'streamdelta', meaning: 'Bucket name of the S3-compatible upload endpoint' },
  uploadRegion: { flag: '--upload-region', env: 'STREAMDELTA_UPLOAD_REGION', default: 'us-east-1', meaning: 'AWS region name upload credentials are signed for' },
  uploadCredentialLifetime: { flag: '--upload-credential-lifetime', env: 'STREAMDELTA_UPLOAD_CREDENTIAL_LIFETIME', default: '86400', meaning: 'Seconds fresh upload credentials are valid' },
  uploadGrace: { flag: '--upload-grace', env: 'STREAMDELTA_UPLOAD_GRACE', default: '600', meaning: 'Seconds upload credentials stay valid after their stream stops' },
  uploadMaxObjectSize: { flag: '--upload-max-object-size', env: 'STREAMDELTA_UPLOAD_MAX_OBJECT_SIZE', default: '104857600', meaning: 'Largest uploaded object, in bytes' },
  uploadMaxParts: { flag: '--upload-max-parts', env: 'STREAMDELTA_UPLOAD_MAX_PARTS', default: '10000', meaning: 'Most parts of a multipart upload' },
  chatMaxLength: { flag: '--chat-max-length', env: 'STREAMDELTA_CHAT_MAX_LENGTH', default: '500', meaning: 'Longest chat message, in characters' },
  chatRate: { flag: '--chat-rate', env: 'STREAMDELTA_CHAT_RATE', default: '5/10', meaning: 'Chat posts one user may make to one stream: N/S is N messages per S seconds' },
  chatHistory: { flag: '--chat-history', env: 'STREAMDELTA_CHAT_HISTORY', default: '50', meaning: 'Messages a chat socket is sent when it opens' },
  chatViewcountInterval: { flag: '--chat-viewcount-interval', env: 'STREAMDELTA_CHAT_VIEWCOUNT_INTERVAL', default: '15', meaning: 'Seconds between viewer-count chat messages of a live stream (0: none)' },
  chatSocketBuffer: { flag: '--chat-socket-buffer', env: 'STREAMDELTA_CHAT_SOCKET_BUFFER', default: '1048576', meaning: 'Bytes a chat socket may leave unsent before it is dropped as too slow' },
  admissionTtl: { flag: '--admission-ttl', env: 'STREAMDELTA_ADMISSION_TTL', default: String(DEFAULT_ADMISSION_LIMITS.admittedTtlSeconds), meaning: 'Seconds a StreamAPI site\'s admission of a viewer key is reused before the site is asked again' },
  admissionRefusalTtl: { flag: '--admission-refusal-ttl', env: 'STREAMDELTA_ADMISSION_REFUSAL_TTL', default: String(DEFAULT_ADMISSION_LIMITS.refusedTtlSeconds), meaning: 'Seconds a refused viewer key is refused again without asking the site' },
  admissionMaxPerStream: { flag: '--admission-max-per-stream', env: 'STREAMDELTA_ADMISSION_MAX_PER_STREAM', default: String(DEFAULT_ADMISSION_LIMITS.maxPerStream), meaning: 'Admission calls to a site in flight at once for one stream (more: 503, retry)' },
  admissionMaxPerIp: { flag: '--admission-max-per-ip', env: 'STREAMDELTA_ADMISSION_MAX_PER_IP', default: String(DEFAULT_ADMISSION_LIMITS.maxPerAddress), meaning: 'Admission calls in flight at once for one viewer address (more: 503, retry)' },
  loginMaxFailures: { flag: '--login-max-failures', env: 'STREAMDELTA_LOGIN_MAX_FAILURES', default: String(DEFAULT_LOGIN_THROTTLE.maxFailures), meaning: 'Failed logins to one account before each further attempt must wait (0: no limit per account)' },
  loginMaxFailuresPerIp: { flag: '--login-max-failures-per-ip', env: 'STREAMDELTA_LOGIN_MAX_FAILURES_PER_IP', default: String(DEFAULT_LOGIN_THROTTLE.maxFailuresPerAddress), meaning: 'Failed logins from one client address before each further attempt must wait (0: no limit per address)' },
  signupMaxPerIp: { flag: '--signup-max-per-ip', env: 'STREAMDELTA_SIGNUP_MAX_PER_IP', default: String(DEFAULT_LOGIN_THROTTLE.maxSignUpsPerAddress), meaning: 'Sign-ups (rig\'s open POST /accounts/) from one client address before each further one must wait, as throttled logins do (0: no limit per address)' },
  loginBackoff: { flag: '--login-backoff', env: 'STREAMDELTA_LOGIN_BACKOFF', default: String(DEFAULT_LOGIN_THROTTLE.backoffSeconds), meaning: 'Seconds the first throttled login attempt waits, doubled for each further one' },
  loginBackoffMax: { flag: '--login-backoff-max', env: 'STREAMDELTA_LOGIN_BACKOFF_MAX', default: String(DEFAULT_LOGIN_THROTTLE.backoffMaxSeconds), meaning: 'Longest wait in seconds between throttled login attempts' },
  loginFailureWindow: { flag: '--login-failure-window', env: 'STREAMDELTA_LOGIN_FAILURE_WINDOW', default: String(DEFAULT_LOGIN_THROTTLE.windowSeconds), meaning: 'Seconds without an attempt after which failed logins are forgotten' },
  accountMaxStreams: { flag: '--account-max-streams', env: 'STREAMDELTA_ACCOUNT_MAX_STREAMS', default: String(DEFAULT_ACCOUNT_QUOTAS.streams), meaning: 'Streams one account may have, deleted ones not counted (0: no limit)' },
  accountMaxApps: { flag: '--account-max-apps', env: 'STREAMDELTA_ACCOUNT_MAX_APPS', default: String(DEFAULT_ACCOUNT_QUOTAS.apps), meaning: 'Kickfolio apps one account may have (0: no limit)' },
  accountMaxWebhooks: { flag: '--account-max-webhooks', env: 'STREAMDELTA_ACCOUNT_MAX_WEBHOOKS', default: String(DEFAULT_ACCOUNT_QUOTAS.webhooks), meaning: 'Webhooks one account may have over all its streams, and live API webhook endpoints, each counted apart (0: no limit)' },
  httpMaxConnectionsPerIp: { flag: '--http-max-connections-per-ip', env: 'STREAMDELTA_HTTP_MAX_CONNECTIONS_PER_IP', default: '1024', meaning: 'Open HTTP connections (chat sockets included) one client address may hold (0: no limit)' },
  httpHeadersTimeout: { flag: '--http-headers-timeout', env: 'STREAMDELTA_HTTP_HEADERS_TIMEOUT', default: '30', meaning: 'Seconds a connection has to send a request\'s headers, silence included (0: no limit)' },
  httpRequestTimeout: { flag: '--http-request-timeout', env: 'STREAMDELTA_HTTP_REQUEST_TIMEOUT', default: '300', meaning: 'Seconds a client has to send a whole request, body included (0: no limit)' },
  httpKeepAliveTimeout: { flag: '--http-keep-alive-timeout', env: 'STREAMDELTA_HTTP_KEEP_ALIVE_TIMEOUT', default: '72', meaning: 'Seconds an idle connection is kept open between requests' },
  rtmpMaxConnectionsPerIp: { flag: '--rtmp-max-connections-per-ip', env: 'STREAMDELTA_RTMP_MAX_CONNECTIONS_PER_IP', default: '128', meaning: 'Open RTMP connections one client address may hold (0: no limit)' },
} as const satisfies Record<string, Setting>;

type SettingName = keyof typeof SETTINGS;

/** Raw values by setting name: flags win over the environment. */
export type RawSettings = Partial<Record<SettingName, string>>;

const FLAG_TO_NAME = new Map<string, SettingName>(
  (Object.entries(SETTINGS) as [SettingName, Setting][]).map(([name, s]) => [s.flag, name]),
);

/**
 * Splits `argv` into recognised setting flags (`--name value` or `--name=value`) and the
 * rest, which the CLI reads as its command and the command's own options.
 */
export function extractSettingFlags(argv: readonly string[]): { settings: RawSettings; rest: string[] } {
  const settings: RawSettings = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const name = FLAG_TO_NAME.get(flag);
    if (!name) {
      rest.push(arg);
      continue;
    }
    if (eq < 0 && (SETTINGS[name] as Setting).boolean) {
      settings[name] = '1';
    } else if (eq > 0) {
      settings[name] = arg.slice(eq + 1);
    } else {
      const value = argv[i + 1];
      if (value === undefined) throw new ConfigError(`${flag} needs a value`);
      settings[name] = value;
      i++;
    }
  }
  return { settings, rest };
}

function source(name: SettingName, flags: RawSettings): string {
  return name in flags ? SETTINGS[name].flag : SETTINGS[name].env;
}

export function loadConfig(flags: RawSettings, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const raw = (name: SettingName): string | undefined => {
    const value = flags[name] ?? env[SETTINGS[name].env];
    return value === undefined || value === '' ? undefined : value;
  };
  const fail = (name: SettingName, why: string, value: string): never => {
    throw new ConfigError(`${source(name, flags)} ${why} (got ${JSON.stringify(value)})`);
  };
  const integer = (name: SettingName, fallback: number, min: number, max: number): number => {
    const value = raw(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      fail(name, `must be a whole number from ${min} to ${max}`, value);
    }
    return Number(value);
  };
  const flag = (name: SettingName, fallback: boolean): boolean => {
    const value = raw(name);
    if (value === undefined) return fallback;
    if (/^(1|true)$/i.test(value)) return true;
    if (/^(0|false)$/i.test(value)) return false;
    return fail(name, 'must be 1 or true (on), 0 or false (off)', value);
  };
  const rtmpBase = (name: SettingName, fallback: string): string => {
    const value = raw(name) ?? fallback;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'rtmp:' && url.protocol !== 'rtmps:') || !url.hostname) {
      fail(name, 'must be an rtmp:// or rtmps:// URL', value);
    }
    return value.replace(/\/+$/, '');
  };

  const httpHost = raw('httpHost') ?? SETTINGS.httpHost.default;
  const httpPort = integer('httpPort', 8080, 0, 65535);
  const rtmpPort = integer('rtmpPort', 1935, 0, 65535);
  const dataDir = resolve(cwd, raw('dataDir') ?? SETTINGS.dataDir.default);

  const publicUrlRaw = raw('publicUrl') ?? `http://localhost:${httpPort}`;
  let publicUrl: string;
  try {
    const url = new URL(publicUrlRaw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    publicUrl = publicUrlRaw.replace(/\/+$/, '');
  } catch {
    publicUrl = fail('publicUrl', 'must be an http:// or https:// URL', publicUrlRaw);
  }

  const database = parseDatabaseUrl(raw('databaseUrl'), dataDir, cwd, (why, value) => fail('databaseUrl', why, value));

  const redisUrl = raw('redisUrl');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) fail('redisUrl', 'must be a redis:// or rediss:// URL', redisUrl);

  const logLevel = (raw('logLevel') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) fail('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`, logLevel);

  const jwtSecret = raw('jwtSecret');
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    // The value is a secret: say how long it is, never what it is.
    throw new ConfigError(`${source('jwtSecret', flags)} must be at least 32 characters (got ${jwtSecret.length})`);
  }

  const metricsToken = raw('metricsToken');
  if (metricsToken !== undefined && (metricsToken.length < 16 || !/^[A-Za-z0-9._~+/-]+=*$/.test(metricsToken))) {
    // A secret: its length is said, never its value.
    throw new ConfigError(`${source('metricsToken', flags)} must be at least 16 characters of A-Z a-z 0-9 . _ ~ + / - (a bearer token; got ${metricsToken.length} characters)`);
  }

  const rigPrefix = raw('rigPrefix') ?? '';
  if (rigPrefix !== '' && !/^(\/[A-Za-z0-9._~-]+)+$/.test(rigPrefix)) {
    fail('rigPrefix', 'must be empty or a path such as /rig (no trailing slash)', rigPrefix);
  }

  const multistreamerPrefix = raw('multistreamerPrefix') ?? '';
  if (multistreamerPrefix !== '' && !/^(\/[A-Za-z0-9._~-]+)+$/.test(multistreamerPrefix)) {
    fail('multistreamerPrefix', 'must be empty or a path such as /multistreamer (no trailing slash)', multistreamerPrefix);
  }

  const rtmpApp = raw('rtmpApp') ?? 'live';
  if (!/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(rtmpApp)) fail('rtmpApp', 'must be a name such as live', rtmpApp);

  const relayCaFile = raw('relayCaFile');
  if (relayCaFile !== undefined && !existsSync(resolve(cwd, relayCaFile))) fail('relayCaFile', 'must name an existing PEM file', relayCaFile);

  const pullFileDirRaw = raw('pullFileDir') || undefined;
  let pullFileDir: string | undefined;
  if (pullFileDirRaw !== undefined) {
    // Its real path: inputs are held inside it after their own symlinks are resolved.
    try {
      pullFileDir = realpathSync(resolve(cwd, pullFileDirRaw));
      if (!statSync(pullFileDir).isDirectory()) throw new Error('not a directory');
    } catch {
      pullFileDir = fail('pullFileDir', 'must name an existing directory', pullFileDirRaw);
    }
  }

  const chatRateRaw = raw('chatRate') ?? SETTINGS.chatRate.default;
  const chatRate = parseChatRate(chatRateRaw) ?? fail('chatRate', 'must be N/S: N messages per S seconds, both at least 1', chatRateRaw);

  const uploadBucket = raw('uploadBucket') ?? SETTINGS.uploadBucket.default;
  // S3's bucket naming rules, so that SDKs accept the name in both addressing styles.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(uploadBucket) || uploadBucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(uploadBucket)) {
    fail('uploadBucket', 'must be an S3 bucket name: 3 to 63 lower-case letters, digits, dots and dashes', uploadBucket);
  }
  const uploadRegion = raw('uploadRegion') ?? SETTINGS.uploadRegion.default;
  if (!isAwsRegion(uploadRegion)) fail('uploadRegion', 'must be an AWS region name such as us-east-1', uploadRegion);

  const loginThrottle = (): LoginThrottleSettings => {
    const backoffSeconds = integer('loginBackoff', DEFAULT_LOGIN_THROTTLE.backoffSeconds, 1, 86400);
    const backoffMaxSeconds = integer('loginBackoffMax', DEFAULT_LOGIN_THROTTLE.backoffMaxSeconds, 1, 7 * 86400);
    if (backoffMaxSeconds < backoffSeconds) fail('loginBackoffMax', `must be at least the login backoff (${backoffSeconds})`, String(backoffMaxSeconds));
    const windowSeconds = integer('loginFailureWindow', DEFAULT_LOGIN_THROTTLE.windowSeconds, 1, 30 * 86400);
    // A count forgotten before its wait is over would let the next attempt skip the wait.
    if (windowSeconds < backoffMaxSeconds) fail('loginFailureWindow', `must be at least the longest login backoff (${backoffMaxSeconds})`, String(windowSeconds));
    return {
      maxFailures: integer('loginMaxFailures', DEFAULT_LOGIN_THROTTLE.maxFailures, 0, 1_000_000),
      maxFailuresPerAddress: integer('loginMaxFailuresPerIp', DEFAULT_LOGIN_THROTTLE.maxFailuresPerAddress, 0, 1_000_000),
      maxSignUpsPerAddress: integer('signupMaxPerIp', DEFAULT_LOGIN_THROTTLE.maxSignUpsPerAddress, 0, 1_000_000),
      backoffSeconds,
      backoffMaxSeconds,
      windowSeconds,
    };
  };

  const httpLimits = (): Config['http'] => {
    const headersTimeout = integer('httpHeadersTimeout', 30, 0, 3600);
    const requestTimeout = integer('httpRequestTimeout', 300, 0, 86400);
    // Node refuses a header timeout longer than the request's: the headers are part of the request.
    if (requestTimeout > 0 && headersTimeout > requestTimeout) {
      fail('httpRequestTimeout', `must be 0 or at least the header timeout (${headersTimeout})`, String(requestTimeout));
    }
    return {
      maxConnectionsPerIp: integer('httpMaxConnectionsPerIp', 1024, 0, 1_000_000),
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: integer('httpKeepAliveTimeout', 72, 1, 3600),
    };
  };

  const nodeId = raw('nodeId') ?? (hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'node');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(nodeId)) fail('nodeId', 'must be 1 to 64 letters, digits, dots, dashes or underscores', nodeId);

  return {
    httpHost,
    httpPort,
    rtmpPort,
    dataDir,
    publicUrl,
    database,
    redisUrl,
    logLevel,
    jwtSecret,
    metricsToken,
    rigPrefix,
    multistreamerPrefix,
    bodyLimit: integer('bodyLimit', 1048576, 1024, 1024 * 1024 * 1024),
    ingestServers: {
      YouTube: rtmpBase('youtubeIngest', DEFAULT_INGEST_SERVERS.YouTube),
      Twitch: rtmpBase('twitchIngest', DEFAULT_INGEST_SERVERS.Twitch),
    },
    rtmpApp,
    reconnectWindow: integer('reconnectWindow', 30, 0, 86400),
    hlsSegmentDuration: integer('hlsSegmentDuration', 2, 1, 60),
    hlsLiveWindow: integer('hlsLiveWindow', 6, 2, 100),
    rtmpWriteBatch: integer('rtmpWriteBatch', 100, 0, 1000),
    nodeId,
    relayRetryMax: integer('relayRetryMax', 30, 1, 3600),
    relayMaxBacklog: integer('relayMaxBacklog', 8 * 1024 * 1024, 65536, 1024 * 1024 * 1024),
    relayCaFile: relayCaFile === undefined ? undefined : resolve(cwd, relayCaFile),
    ffmpegPath: raw('ffmpegPath') ?? 'ffmpeg',
    pullMaxAttempts: integer('pullMaxAttempts', 3, 1, 100),
    pullFileDir,
    allowPrivateFetch: flag('allowPrivateFetch', false),
    bundleMaxBytes: integer('bundleMaxBytes', 256 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    bundleFetchTimeout: integer('bundleFetchTimeout', 300, 1, 86400),
    kickflipTokenTtl: integer('kickflipTokenTtl', 30 * 24 * 3600, 60, 10 * 365 * 24 * 3600),
    uploadBucket,
    uploadRegion: uploadRegion as AwsRegion,
    uploadCredentialLifetime: integer('uploadCredentialLifetime', 86400, 60, 7 * 86400),
    uploadGrace: integer('uploadGrace', 600, 0, 86400),
    uploadMaxObjectSize: integer('uploadMaxObjectSize', 100 * 1024 * 1024, 1024, 5 * 1024 * 1024 * 1024),
    uploadMaxParts: integer('uploadMaxParts', 10000, 1, 10000),
    chat: {
      maxLength: integer('chatMaxLength', DEFAULT_CHAT_SETTINGS.maxLength, 1, 100000),
      rate: chatRate,
      historyLimit: integer('chatHistory', DEFAULT_CHAT_SETTINGS.historyLimit, 0, MAX_HISTORY),
      viewcountInterval: integer('chatViewcountInterval', DEFAULT_CHAT_SETTINGS.viewcountInterval, 0, 86400),
      socketBuffer: integer('chatSocketBuffer', DEFAULT_CHAT_SETTINGS.socketBuffer, 1024, 1024 * 1024 * 1024),
    },
    admission: {
      admittedTtlSeconds: integer('admissionTtl', DEFAULT_ADMISSION_LIMITS.admittedTtlSeconds, 0, 86400),
      refusedTtlSeconds: integer('admissionRefusalTtl', DEFAULT_ADMISSION_LIMITS.refusedTtlSeconds, 0, 86400),
      maxPerStream: integer('admissionMaxPerStream', DEFAULT_ADMISSION_LIMITS.maxPerStream, 1, 100000),
      maxPerAddress: integer('admissionMaxPerIp', DEFAULT_ADMISSION_LIMITS.maxPerAddress, 1, 100000),
    },
    login: loginThrottle(),
    quotas: {
      streams: integer('accountMaxStreams', DEFAULT_ACCOUNT_QUOTAS.streams, 0, 100_000_000),
      apps: integer('accountMaxApps', DEFAULT_ACCOUNT_QUOTAS.apps, 0, 100_000_000),
      webhooks: integer('accountMaxWebhooks', DEFAULT_ACCOUNT_QUOTAS.webhooks, 0, 100_000_000),
    },
    http: httpLimits(),
    rtmpMaxConnectionsPerIp: integer('rtmpMaxConnectionsPerIp', 128, 0, 1_000_000),
  };
}

/** `sqlite:PATH` (relative to the working directory), `sqlite::memory:`, or `postgres://…`. */
function parseDatabaseUrl(
  value: string | undefined,
  dataDir: string,
  cwd: string,
  fail: (why: string, value: string) => never,
): DatabaseLocation {
  if (value === undefined) return { kind: 'sqlite', file: join(dataDir, 'streamdelta.db') };
  if (/^postgres(ql)?:\/\//.test(value)) {
    try {
      new URL(value);
    } catch {
      fail('must be a valid postgres:// URL', redactUrlPassword(value));
    }
    return { kind: 'postgres', url: value };
  }
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/.exec(value);
  if (sqlite) {
    const path = sqlite[1]!;
    return { kind: 'sqlite', file: path === ':memory:' ? ':memory:' : resolve(cwd, path) };
  }
  return fail('must be sqlite:PATH or a postgres:// URL', redactUrlPassword(value));
}

/** A database URL fit to print: its password replaced. */
export function redactUrlPassword(value: string): string {
  return value.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** Where the database is, fit to print. */
export function describeDatabase(location: DatabaseLocation): string {
  return location.kind === 'sqlite' ? `sqlite:${location.file}` : redactUrlPassword(location.url);
}
