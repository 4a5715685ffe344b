import type { ColumnType } from 'kysely';

/**
 * The database schema as Kysely sees it. Column types are chosen to behave the same on
 * SQLite and PostgreSQL: booleans are 0/1 integers, timestamps are ISO-8601 UTC text
 * (fixed width, so text order is time order), ids are UUID text.
 */
export type Flag = 0 | 1;

/** A column added to a table after its first rows: an insert may leave it to its default (null, or 0). */
export type Added<T> = ColumnType<T, T | undefined, T>;

export interface AccountsTable {
  id: string;
  /** '' for the platform's own accounts; an api client id for users scoped to one client. */
  tenant: string;
  username: string;
  email: string | null;
  /** Lower-cased email, the unique key (emails compare case-insensitively). */
  email_key: string | null;
  password_hash: string | null;
  is_active: Flag;
  /** The id a tenant knows the user by (StreamAPI's site_user_id). */
  external_id: string | null;
  /** Kickflip profile: shown name, the client's own JSON (a string), picture. */
  display_name: string | null;
  extra_info: string | null;
  avatar_url: string | null;
  /** Kickflip's `uuid`: the credential a client's user starts streams with (a secret). */
  device_uuid: string | null;
  /** Raised by every change of the password: tokens issued under an older version are refused. */
  credential_version: number;
  created_at: string;
  updated_at: string;
  /** Sees and changes every account's objects in the live API (and the dashboard). */
  is_admin: Added<Flag>;
}

export interface ApiClientsTable {
  id: string;
  /** 'oauth' (Kickflip apps) or 'site' (StreamAPI keys). */
  kind: string;
  name: string;
  client_id: string;
  secret_hash: string;
  /** A secret the server must know, not only check (StreamAPI signs requests with it). */
  secret: string | null;
  callback_url: string | null;
  /** Last accepted request id of a signed API, as a decimal string (a big integer). */
  last_rid: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface StreamsTable {
  id: string;
  owner_id: string;
  tenant: string;
  stream_key: string;
  /** sha256 of the key: the lookup index, so a lookup's timing says nothing about the key. */
  key_digest: string;
  title: string | null;
  description: string | null;
  is_private: Flag;
  enabled: Flag;
  latitude: number | null;
  longitude: number | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  /** StreamAPI: the viewers' numeric host id. */
  public_host_id: string | null;
  /** StreamAPI: the broadcaster's host id. */
  private_host_id: string | null;
  /** StreamAPI: the encoder key, `rtmp://host/hd_receiver/<public_host_id>-<fme_key>`. */
  fme_key: string | null;
  /** Kickflip metadata: where the stream ended, place names, the client's JSON, its picture. */
  end_latitude: number | null;
  end_longitude: number | null;
  city: string | null;
  state: string | null;
  country: string | null;
  extra_info: string | null;
  thumbnail_url: string | null;
  /** Where a Kickflip stream's uploads go (`<app>/<username>/<stream_id>/` in the bucket). */
  upload_bucket: string | null;
  upload_prefix: string | null;
  /** Kickflip's stream/stop: the stream is finished (time_finished). */
  stopped_at: string | null;
  /**
   * The id the stream's first broadcast takes, chosen when the stream is made so that a URL
   * naming that broadcast can be handed out before it starts (Kickflip's stream_url); null: the
   * first broadcast gets a fresh id when it starts.
   */
  first_broadcast_id: string | null;
  /** Live API settings; null where the server's default holds. Arbitrary text of the owner's (≤ 255). */
  passthrough: Added<string | null>;
  /** Seconds a broadcast waits for its publisher to come back; null: the server's `--reconnect-window`. */
  reconnect_window: Added<number | null>;
  /** Seconds a broadcast may run before it is ended; null: 43200 (12 h). */
  max_continuous_duration: Added<number | null>;
  /** 'standard' | 'reduced' | 'low'; null: standard. */
  latency_mode: Added<string | null>;
  audio_only: Added<Flag | null>;
  test: Added<Flag | null>;
  /** JSON: what the stream's recordings are made with (`playback_policy`, `passthrough`), or null. */
  new_asset_settings: Added<string | null>;
}

export interface BroadcastsTable {
  id: string;
  stream_id: string;
  started_at: string;
  ended_at: string | null;
  /** A publisher is connected now (0 during the reconnect window). */
  publishing: Flag;
  /** The media node that holds the publisher. */
  node_id: string | null;
  /** Its recording was deleted (the live API's asset delete): media gone, the row kept for history. */
  deleted_at: Added<string | null>;
  /** When its recording was final (its last segment stored), after the broadcast ended; null before. */
  recorded_at: Added<string | null>;
  /** The largest picture and the frame rate the publisher sent, or null before any video. */
  video_width: Added<number | null>;
  video_height: Added<number | null>;
  frame_rate: Added<number | null>;
}

export interface SegmentsTable {
  broadcast_id: string;
  sequence: number;
  duration_ms: number;
  /** The segment follows a publisher reconnect: timestamps may restart. */
  discontinuity: Flag;
  blob_key: string;
  size: number;
  created_at: string;
}

export interface DestinationsTable {
  id: string;
  /** The small integer id that rig and Multistreamer clients see. */
  number: number;
  stream_id: string;
  service: string;
  stream_key: string;
  /** Ingest URL for services without a fixed one (custom RTMP); null for YouTube/Twitch. */
  url: string | null;
  enabled: Flag;
  /** JSON array of ffmpeg arguments for a transcoding relay, or null. */
  ffmpeg_args: string | null;
  created_at: string;
  /**
   * Whose secret the key is, when the destination stands for a network account (which may
   * belong to someone other than the stream's owner); null: the stream owner's own key.
   */
  key_owner_id: string | null;
  /** Arbitrary text of the owner's (the live API's simulcast target passthrough). */
  passthrough: Added<string | null>;
}

export interface SiteThemesTable {
  id: number;
  api_client_id: string;
  name: string;
  width: number;
  height: number;
  layout_path: string;
  skin_path: string;
}

/** Outgoing HTTP callbacks, delivered with retries (the outbox survives restarts). */
export interface CallbacksTable {
  id: string;
  url: string;
  /** Form-encoded body. */
  body: string;
  event: string;
  attempts: number;
  next_attempt_at: string;
  delivered_at: string | null;
  failed_at: string | null;
  last_error: string | null;
  created_at: string;
  /** null: application/x-www-form-urlencoded; else the body's media type (application/json). */
  content_type: string | null;
  /** JSON object of extra request headers, or null. */
  headers: string | null;
  /** Key of the HMAC-SHA256 signature header made at each attempt (webhooks), or null. */
  signing_secret: string | null;
  /** Callbacks with one key are delivered one after another, in `order_seq` order. */
  ordering_key: string | null;
  order_seq: number | null;
  /** The webhook endpoint (live API) it is delivered to, or null. */
  endpoint_id: Added<string | null>;
  /** How attempts are signed: null for the streamdelta headers, 'mux' for Mux's `mux-signature`. */
  signature_scheme: Added<string | null>;
  /** Until when a node delivering it holds it (no other node takes it before), or null. */
  claimed_until: Added<string | null>;
}

/** One try at delivering a callback: what the receiver answered, or why it could not be reached. */
export interface CallbackAttemptsTable {
  id: string;
  callback_id: string;
  endpoint_id: string | null;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  at: string;
}

/** A dashboard session: a signed-in browser, known by the digest of its cookie. */
export interface SessionsTable {
  token_digest: string;
  account_id: string;
  /** The account's credential version when it signed in: a password change since ends the session. */
  credential_version: number;
  created_at: string;
  expires_at: string;
  /** Signed out (or ended by a password change); null while it lasts. */
  ended_at: string | null;
}

/** A playback id: what a player names to watch a stream (live) or one broadcast's recording. */
export interface PlaybackIdsTable {
  id: string;
  /** Set when it plays a stream. */
  stream_id: string | null;
  /** Set when it plays a recording (an asset). */
  broadcast_id: string | null;
  /** 'public' | 'signed'. */
  policy: string;
  /** Its place among the ids of its stream or recording (they are listed in the order they were made). */
  position: number;
  created_at: string;
}

/** A live API access token (HTTP Basic `id:secret`); only the secret's digest is kept. */
export interface AccessTokensTable {
  id: string;
  account_id: string;
  name: string | null;
  secret_digest: string;
  /** 'full' | 'read'. */
  permission: string;
  created_at: string;
  revoked_at: string | null;
}

/** A URL signing key: the public half (PEM); the private half was shown once. */
export interface SigningKeysTable {
  id: string;
  account_id: string;
  public_key: string;
  created_at: string;
}

/** Where an account's live API events are POSTed, signed as Mux signs them. */
export interface WebhookEndpointsTable {
  id: string;
  account_id: string;
  url: string;
  /** JSON array of event types it wants, or null for all. */
  events: string | null;
  /** The HMAC key of `mux-signature`; shown when made. */
  secret: string;
  /** Deliveries go out only while it is enabled. */
  enabled: Flag;
  created_at: string;
}

/** An account's live API events in the order they happened (webhooks and the event stream). */
export interface LiveEventsTable {
  /** Cluster-wide order; the event stream's `id:` and `Last-Event-ID`. */
  seq: number;
  /** The event's own id, the same on every delivery. */
  id: string;
  account_id: string;
  type: string;
  /** The event as JSON, as delivered. */
  body: string;
  created_at: string;
}

/** A stream's webhooks (Multistreamer): POSTed JSON on stream start/end and chat messages. */
export interface WebhooksTable {
  /** The integer id clients see. */
  id: number;
  stream_id: string;
  /** Order within the stream's list. */
  position: number;
  url: string;
  /** 'raw' | 'discord'. */
  type: string;
  /** JSON object: event name -> enabled. */
  events: string;
  notes: string | null;
  /** Signs every delivery (HMAC-SHA256); shown to the stream's owner. */
  secret: string;
  created_at: string;
}

/** An account's API token (Kickfolio's `auth_token`), kept only as its digest: it is shown once, when made. */
export interface ApiTokensTable {
  account_id: string;
  /** sha256 of the token: all the server keeps of it. */
  token_digest: string;
  created_at: string;
}

/** Kickfolio apps: what versions (iOS bundles) are uploaded to. */
export interface AppsTable {
  id: string;
  owner_id: string;
  name: string;
  /** Short slug for public URLs, usable in place of the id. */
  public_key: string;
  created_at: string;
  updated_at: string;
}

/** 'pending' | 'processing' | 'ready' | 'failed'. */
export type VersionStateColumn = string;

/**
 * A version of an app: a zipped .app fetched from bundle_url. The row is also its processing
 * job's queue entry: `state`, `generation` (raised whenever the bundle must be processed
 * again), `attempts`, and the node that claimed it.
 */
export interface AppVersionsTable {
  id: string;
  app_id: string;
  owner_id: string;
  state: VersionStateColumn;
  failure_reason: string | null;
  bundle_url: string;
  version_string: string | null;
  /** version_string was read from the bundle, not given by the user, so a new bundle replaces it. */
  version_string_from_bundle: Flag;
  bundle_identifier: string | null;
  display_name: string | null;
  device_type: string | null;
  default_to_landscape: Flag;
  icon_key: string | null;
  default_image_key: string | null;
  default_image_landscape_key: string | null;
  generation: number;
  attempts: number;
  claimed_by: string | null;
  claimed_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface AppCommentsTable {
  id: string;
  version_id: string;
  author_id: string;
  body: string;
  created_at: string;
  updated_at: string;
}

/** Recent login attempts of one account name or one client address (the throttle of failed logins). */
export interface LoginAttemptsTable {
  /** sha256 of what is counted: `account:<tenant>:<username>` or `address:<ip>`. */
  key_digest: string;
  attempts: number;
  last_attempt_at: string;
  next_allowed_at: string;
}

export interface SettingsTable {
  key: string;
  value: string;
}

/** An OAuth2 access token of an API client, kept only as its sha256 digest. */
export interface OauthTokensTable {
  token_digest: string;
  api_client_id: string;
  /** The user this token last created or logged in (the user a Kickflip call without identity means). */
  account_id: string | null;
  /** The credential version of that user when the token was bound to it: a password change since unbinds it. */
  account_version: number;
  created_at: string;
  expires_at: string;
}

/** A user's report of a stream (Kickflip stream/flag): one per user per stream. */
export interface StreamFlagsTable {
  stream_id: string;
  account_id: string;
  created_at: string;
}

/** An object a broadcaster uploaded (segment, playlist, thumbnail); its bytes are in the blob store. */
export interface UploadObjectsTable {
  /** The object's key in the upload bucket, '<prefix><name>'. */
  bucket_key: string;
  stream_id: string;
  /** The key relative to the stream's upload prefix ('index3.ts', 'index.m3u8', ...). */
  name: string;
  blob_key: string;
  content_type: string;
  cache_control: string | null;
  /** md5 of the bytes in hex, as S3 reports it (without quotes). */
  etag: string;
  size: number;
  /** Uploaded with the canned ACL public-read: anyone may GET it. */
  public_read: Flag;
  last_modified: string;
}

/** The broadcast a stream's segment uploads feed (started by its first uploaded playlist). */
export interface UploadBroadcastsTable {
  stream_id: string;
  broadcast_id: string;
  created_at: string;
}

export interface IdSequencesTable {
  name: string;
  value: number;
}

export interface Database {
  accounts: AccountsTable;
  api_clients: ApiClientsTable;
  streams: StreamsTable;
  broadcasts: BroadcastsTable;
  segments: SegmentsTable;
  destinations: DestinationsTable;
  site_themes: SiteThemesTable;
  callbacks: CallbacksTable;
  webhooks: WebhooksTable;
  api_tokens: ApiTokensTable;
  apps: AppsTable;
  app_versions: AppVersionsTable;
  app_comments: AppCommentsTable;
  settings: SettingsTable;
  id_sequences: IdSequencesTable;
  upload_objects: UploadObjectsTable;
  upload_broadcasts: UploadBroadcastsTable;
  ms_users: MsUsersTable;
  ms_streams: MsStreamsTable;
  network_accounts: NetworkAccountsTable;
  network_account_shares: NetworkAccountSharesTable;
  stream_accounts: StreamAccountsTable;
  stream_shares: StreamSharesTable;
  oauth_tokens: OauthTokensTable;
  stream_flags: StreamFlagsTable;
  upload_credentials: UploadCredentialsTable;
  multipart_uploads: MultipartUploadsTable;
  multipart_parts: MultipartPartsTable;
  chat_rooms: ChatRoomsTable;
  chat_messages: ChatMessagesTable;
  chat_mutes: ChatMutesTable;
  login_attempts: LoginAttemptsTable;
  callback_attempts: CallbackAttemptsTable;
  playback_ids: PlaybackIdsTable;
  access_tokens: AccessTokensTable;
  signing_keys: SigningKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  live_events: LiveEventsTable;
  sessions: SessionsTable;
}

/**
 * A temporary S3 credential of a stream's uploader. The secret access key is not stored (it is
 * derived from the access key id) and the session token only as its sha256 digest.
 */
export interface UploadCredentialsTable {
  access_key_id: string;
  stream_id: string;
  /** Object keys this credential may write start with it; ends with '/'. */
  prefix: string;
  session_token_digest: string;
  expires_at: string;
  created_at: string;
}

/** A multipart upload begun and neither completed nor aborted yet. */
export interface MultipartUploadsTable {
  id: string;
  stream_id: string;
  prefix: string;
  /** The whole object key in the bucket (prefix included). */
  object_key: string;
  content_type: string | null;
  cache_control: string | null;
  public_read: Flag;
  created_at: string;
}

/** A part of a multipart upload; its bytes are in the blob store under blob_key. */
export interface MultipartPartsTable {
  upload_id: string;
  part_number: number;
  /** The hex MD5 of the part's bytes, without the quotes S3 puts around an ETag. */
  etag: string;
  size: number;
  blob_key: string;
  created_at: string;
}

/** A stream's chat room: the number of its last message (raised under a row lock by each post). */
export interface ChatRoomsTable {
  stream_id: string;
  last_id: number;
}

/** A chat message: posted by an account, injected through an API, or a status line. */
export interface ChatMessagesTable {
  stream_id: string;
  /** Numbered per stream from 1, in commit order. */
  id: number;
  /** 'text' | 'emote' | 'status'. */
  kind: string;
  /** The account that posted it; null for injected and status messages. */
  author_id: string | null;
  from_name: string;
  from_picture: string | null;
  network: string;
  network_icon: string | null;
  network_icon_css: string | null;
  text: string;
  markdown: string | null;
  /** What a status message reports ('live', 'ended'); null for the other kinds. */
  status: string | null;
  created_at: string;
  /** Who wrote it: `account:<id>` or `guest:<digest of the guest's chatter id>`; null for injected and status messages (and those from before). */
  chatter: string | null;
  /** The digest of the address a guest posted from; null otherwise. */
  address_digest: string | null;
}

/** A chatter a stream's owner muted: their posts to the stream's chat are refused. */
export interface ChatMutesTable {
  stream_id: string;
  chatter: string;
  created_at: string;
}

/** A platform account as Multistreamer knows it: an integer id and its access token (kept as issued: `GET /auth` shows it again). */
export interface MsUsersTable {
  account_id: string;
  number: number;
  access_token: string;
  /** sha256 of the token: the lookup index. */
  token_digest: string;
  /** The account's credential version the token was made under: after a password change it is refused and replaced. */
  credential_version: number;
  created_at: string;
}

/** The fields of a stream that only Multistreamer has. */
export interface MsStreamsTable {
  stream_id: string;
  number: number;
  owner_id: string;
  name: string;
  /** Unique per owner. */
  slug: string;
  /** 1: publishing starts a preview only; relays start on "go live". */
  preview_required: Flag;
  /** Arguments of an ffmpeg puller feeding the stream, as the user wrote them; null for none. */
  ffmpeg_pull_args: string | null;
  updated_at: string;
}

/** A network account (Multistreamer's "account"): where a stream can be relayed to. */
export interface NetworkAccountsTable {
  id: number;
  owner_id: string;
  /** 'twitch' | 'youtube' | 'rtmp'. */
  network: string;
  name: string;
  slug: string;
  /** JSON object of the network's account settings (may hold the network's stream key: a secret). */
  settings: string;
  ffmpeg_args: string | null;
  created_at: string;
  updated_at: string;
}

export interface NetworkAccountSharesTable {
  network_account_id: number;
  user_id: string;
  created_at: string;
}

/** A network account attached to a stream; `destination_id` is the relay it amounts to. */
export interface StreamAccountsTable {
  stream_id: string;
  network_account_id: number;
  /** JSON object of the network's per-stream metadata (title, game...). */
  settings: string;
  ffmpeg_args: string | null;
  destination_id: string;
  created_at: string;
  updated_at: string;
}

export interface StreamSharesTable {
  stream_id: string;
  user_id: string;
  /** 0 none, 1 read, 2 read and write. */
  chat_level: number;
  metadata_level: number;
  created_at: string;
  updated_at: string;
}
