import type { NetworkAccountChanges, NewNetworkAccount } from '../../core/dialects/multistreamer/network-accounts.js';
import type { AttachmentInput, ShareInput, StreamInput } from '../../core/dialects/multistreamer/multistreams.js';
import type { NewWebhook } from '../../core/dialects/multistreamer/webhooks.js';
import { isLevel } from '../../core/streams/sharing.js';
import { badRequest } from './errors.js';

/**
 * Request bodies of the Multistreamer API, read into the core's inputs. Types are checked
 * here (the wire's business); the domain's rules (names, levels' meaning, required metadata
 * fields, URLs) are the core's.
 */
type Json = Record<string, unknown>;

export function object(value: unknown, what = 'request body'): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(`${what} must be a JSON object`);
  return value as Json;
}

function optionalString(body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`${key} must be a string`);
  return value;
}

function nullableString(body: Json, key: string): string | null | undefined {
  const value = body[key];
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') throw badRequest(`${key} must be a string or null`);
  return value;
}

function id(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw badRequest(`${what} must be an integer`);
  return value;
}

function list(body: Json, key: string): unknown[] | null | undefined {
  const value = body[key];
  if (value === undefined || value === null) return value;
  if (!Array.isArray(value)) throw badRequest(`${key} must be a list or null`);
  return value;
}

/** `[{user: {id}}]`: the users to share with. */
function userIds(entries: unknown[]): number[] {
  return entries.map((entry) => id(object(object(entry, 'each share').user, 'share.user').id, 'share.user.id'));
}

function level(entry: Json, key: string): 0 | 1 | 2 {
  const value = entry[key] ?? 0;
  if (!isLevel(value)) throw badRequest(`${key} must be 0, 1 or 2`);
  return value;
}

function settings(value: unknown, what: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  return object(value, what);
}

export function accountCreation(raw: unknown): NewNetworkAccount {
  const body = object(raw);
  const network = optionalString(body, 'network');
  if (network === undefined) throw badRequest('missing parameter: network');
  const shares = list(body, 'shares');
  const name = optionalString(body, 'name');
  const ffmpegArgs = nullableString(body, 'ffmpeg_args');
  return {
    network,
    ...(name !== undefined ? { name } : {}),
    settings: settings(body.settings, 'settings') ?? {},
    ...(ffmpegArgs !== undefined ? { ffmpegArgs } : {}),
    ...(shares ? { shares: userIds(shares) } : {}),
  };
}

export function accountChanges(raw: unknown): NetworkAccountChanges {
  const body = object(raw);
  const out: NetworkAccountChanges = {};
  const given = settings(body.settings, 'settings');
  if (given !== undefined) {
    for (const [key, value] of Object.entries(given)) {
      if (value !== null && typeof value !== 'string') throw badRequest(`settings.${key} must be a string or null`);
    }
    out.settings = given;
  }
  const ffmpegArgs = nullableString(body, 'ffmpeg_args');
  if (ffmpegArgs !== undefined) out.ffmpegArgs = ffmpegArgs;
  if (body.shares !== undefined) {
    const shares = list(body, 'shares');
    out.shares = shares ? userIds(shares) : null;
  }
  return out;
}

function attachments(entries: unknown[]): AttachmentInput[] {
  return entries.map((entry) => {
    const account = object(entry, 'each account');
    const ffmpegArgs = nullableString(account, 'ffmpeg_args');
    const given = settings(account.settings, 'account settings');
    return {
      id: id(account.id, 'account id'),
      ...(given !== undefined ? { settings: given } : {}),
      ...(ffmpegArgs !== undefined ? { ffmpegArgs } : {}),
    };
  });
}

function shares(entries: unknown[]): ShareInput[] {
  return entries.map((entry) => {
    const share = object(entry, 'each share');
    return {
      userId: id(object(share.user, 'share.user').id, 'share.user.id'),
      chatLevel: level(share, 'chat_level'),
      metadataLevel: level(share, 'metadata_level'),
    };
  });
}

function webhooks(entries: unknown[]): NewWebhook[] {
  return entries.map((entry) => {
    const hook = object(entry, 'each webhook');
    // Types and values are the webhook service's to check; only the shape is read here.
    return { url: hook.url, type: hook.type, events: hook.events ?? {}, notes: hook.notes ?? null } as NewWebhook;
  });
}

export function streamInput(raw: unknown): StreamInput {
  const body = object(raw);
  const out: StreamInput = {};
  const name = optionalString(body, 'name');
  if (name !== undefined) out.name = name;
  const title = nullableString(body, 'title');
  if (title !== undefined) out.title = title;
  const description = nullableString(body, 'description');
  if (description !== undefined) out.description = description;
  const preview = body.preview_required;
  if (preview !== undefined) {
    if (preview !== 0 && preview !== 1 && preview !== true && preview !== false) throw badRequest('preview_required must be 0 or 1');
    out.previewRequired = preview === 1 || preview === true;
  }
  const pull = nullableString(body, 'ffmpeg_pull_args');
  if (pull !== undefined) out.ffmpegPullArgs = pull;
  // `accounts: null` detaches every account, like an empty list.
  if (body.accounts !== undefined) out.accounts = attachments(list(body, 'accounts') ?? []);
  if (body.shares !== undefined) {
    const given = list(body, 'shares');
    out.shares = given ? shares(given) : null;
  }
  if (body.webhooks !== undefined) {
    const given = list(body, 'webhooks');
    out.webhooks = given ? webhooks(given) : null;
  }
  return out;
}

/** `PATCH /stream/:id`: `{data_pushing?, data_pulling?}`, each true or false; an empty body asks for the status. */
export function liveSwitches(raw: unknown): { pushing?: boolean; pulling?: boolean } {
  if (raw === undefined) return {};
  const body = object(raw);
  const out: { pushing?: boolean; pulling?: boolean } = {};
  for (const [key, field] of [['data_pushing', 'pushing'], ['data_pulling', 'pulling']] as const) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'boolean') throw badRequest(`${key} must be true or false`);
    out[field] = value;
  }
  return out;
}
