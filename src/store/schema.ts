/**
 * The database schema as Kysely sees it. Column types are chosen to behave the same on
 * SQLite and PostgreSQL: booleans are 0/1 integers, timestamps are ISO-8601 UTC text
 * (fixed width, so text order is time order), ids are UUID text.
 */
export type Flag = 0 | 1;

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
  created_at: string;
  updated_at: string;
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
}

export interface SharesTable {
  id: string;
  account_id: string;
  stream_id: string | null;
  destination_id: string | null;
  chat_level: number;
  metadata_level: number;
  created_at: string;
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
}

/** An account's API token (Kickfolio's `auth_token`), kept as issued so an operator can show it again. */
export interface ApiTokensTable {
  account_id: string;
  token: string;
  /** sha256 of the token: the lookup index. */
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

export interface SettingsTable {
  key: string;
  value: string;
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
  shares: SharesTable;
  site_themes: SiteThemesTable;
  callbacks: CallbacksTable;
  api_tokens: ApiTokensTable;
  apps: AppsTable;
  app_versions: AppVersionsTable;
  app_comments: AppCommentsTable;
  settings: SettingsTable;
  id_sequences: IdSequencesTable;
}
