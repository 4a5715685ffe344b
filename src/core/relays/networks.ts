import { destinationKeyProblem, type IngestServers } from './destinations.js';
import { parsePublishUrl, PublishUrlError } from './publish-url.js';

/**
 * The networks a stream can be relayed to through a network account, and what each asks for:
 * the account's own settings (where to push) and per-stream metadata fields (title, game...).
 * OAuth to Twitch and YouTube is out of reach of a self-hosted server, so their accounts are
 * made with the ingest key the network shows its user (and optionally another ingest server).
 */
export const NETWORKS = ['twitch', 'youtube', 'rtmp'] as const;
export type NetworkName = (typeof NETWORKS)[number];

export function isNetworkName(value: string): value is NetworkName {
  return (NETWORKS as readonly string[]).includes(value);
}

export interface FieldOption {
  value: string;
  label: string;
}

/** A setting of an account, or a metadata field of an account attached to a stream. */
export interface NetworkField {
  key: string;
  label: string;
  type: 'text' | 'textarea' | 'select';
  required: boolean;
  options?: FieldOption[];
  /** Write-only: stored and used, never shown back (the network's stream key). */
  secret?: boolean;
  /**
   * A publish URL that carries the owner's key (a custom RTMP account's `url`): shown whole to
   * the account's owner only, to anyone else with its stream name hidden.
   */
  keyBearing?: boolean;
  /** How a value is checked beyond being a string; a message when it is unusable. */
  check?: (value: string) => string | undefined;
}

export interface Network {
  name: NetworkName;
  displayName: string;
  accountFields: readonly NetworkField[];
  metadataFields: readonly NetworkField[];
  /** The full publish URL (with the key) of an account with these settings. */
  publishUrl(settings: Readonly<Record<string, string>>, servers: IngestServers): string;
  /** A page where people watch the account's streams, or null. */
  httpUrl(settings: Readonly<Record<string, string>>): string | null;
}

const FIELD_MAX_LENGTH = 2048;

function publishUrlProblem(value: string): string | undefined {
  try {
    parsePublishUrl(value);
    return undefined;
  } catch (err) {
    return err instanceof PublishUrlError ? err.message : 'must be an rtmp:// or rtmps:// URL';
  }
}

/** An ingest base (`rtmp://host/app`), to which the key is appended. */
function ingestBaseProblem(value: string): string | undefined {
  return publishUrlProblem(`${value.replace(/\/+$/, '')}/key`);
}

function httpUrlProblem(value: string): string | undefined {
  if (value === '') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'must be an http:// or https:// URL';
  } catch {
    return 'must be an http:// or https:// URL';
  }
}

const NAME: NetworkField = { key: 'name', label: 'Name', type: 'text', required: true };
const HTTP_URL: NetworkField = { key: 'http_url', label: 'Watch URL', type: 'text', required: false, check: httpUrlProblem };

function keyedNetwork(name: 'twitch' | 'youtube', displayName: string, service: 'Twitch' | 'YouTube', metadataFields: NetworkField[]): Network {
  return {
    name,
    displayName,
    accountFields: [
      NAME,
      { key: 'stream_key', label: 'Stream key', type: 'text', required: true, secret: true, check: (v) => destinationKeyProblem(service, v) },
      { key: 'ingest_url', label: 'Ingest server', type: 'text', required: false, check: ingestBaseProblem },
      HTTP_URL,
    ],
    metadataFields,
    publishUrl: (settings, servers) => `${(settings.ingest_url || servers[service]).replace(/\/+$/, '')}/${settings.stream_key ?? ''}`,
    httpUrl: (settings) => settings.http_url || null,
  };
}

const NETWORK_TABLE: Record<NetworkName, Network> = {
  twitch: keyedNetwork('twitch', 'Twitch', 'Twitch', [
    { key: 'title', label: 'Title', type: 'text', required: true },
    { key: 'game', label: 'Game', type: 'text', required: true },
  ]),
  youtube: keyedNetwork('youtube', 'YouTube', 'YouTube', [
    { key: 'title', label: 'Title', type: 'text', required: true },
    { key: 'description', label: 'Description', type: 'textarea', required: false },
    {
      key: 'privacy',
      label: 'Privacy',
      type: 'select',
      required: true,
      options: [
        { value: 'public', label: 'Public' },
        { value: 'unlisted', label: 'Unlisted' },
        { value: 'private', label: 'Private' },
      ],
    },
  ]),
  rtmp: {
    name: 'rtmp',
    displayName: 'Custom RTMP',
    accountFields: [NAME, { key: 'url', label: 'RTMP URL', type: 'text', required: true, keyBearing: true, check: publishUrlProblem }, HTTP_URL],
    metadataFields: [],
    publishUrl: (settings) => settings.url ?? '',
    httpUrl: (settings) => settings.http_url || null,
  },
};

export function network(name: NetworkName): Network {
  return NETWORK_TABLE[name];
}

/**
 * Why a value of a field is unusable, or undefined. Strings only: settings are text, as the
 * original's key/value store kept them.
 */
export function fieldValueProblem(field: NetworkField, value: unknown): string | undefined {
  if (typeof value !== 'string') return `${field.key} must be a string`;
  if (value.length > FIELD_MAX_LENGTH) return `${field.key} must be at most ${FIELD_MAX_LENGTH} characters`;
  if (field.required && value.trim() === '') return `missing required field ${field.key}`;
  if (field.options && !(value === '' && !field.required) && !field.options.some((o) => o.value === value)) {
    return `${field.key} must be one of ${field.options.map((o) => o.value).join(', ')}`;
  }
  const problem = value === '' ? undefined : field.check?.(value);
  return problem ? `${field.key} ${problem}` : undefined;
}
